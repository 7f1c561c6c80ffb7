import { defineConfig } from "tsup";
import { baseConfig } from "../../tsup.base.ts";

export default defineConfig(baseConfig({ index: "src/index.ts", vitest: "src/vitest.ts", reaper: "src/reaper.ts" }));
