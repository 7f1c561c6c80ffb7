import { defineConfig } from "tsup";
import { baseConfig } from "../../tsup.base.ts";

export default defineConfig({ ...baseConfig({ main: "src/main.ts" }), dts: false });
