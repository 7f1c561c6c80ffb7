import { defineConfig } from "tsup";
import { baseConfig } from "../../tsup.base.ts";

export default defineConfig({ ...baseConfig({ main: "src/main.ts", "version-line": "src/version-line.ts", "host-images": "src/host-images.ts" }), dts: false });
