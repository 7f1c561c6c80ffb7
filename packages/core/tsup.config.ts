import { defineConfig } from "tsup";
import { baseConfig } from "../../tsup.base.ts";

export default defineConfig(baseConfig({ index: "src/index.ts", internal: "src/internal.ts", testing: "src/testing/index.ts" }));
