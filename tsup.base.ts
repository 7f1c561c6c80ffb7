import type { Options } from "tsup";

/** One build shape for every package: ESM for Node, .d.ts beside it, nothing else. */
export function baseConfig(entry: Record<string, string> = { index: "src/index.ts" }): Options {
  return {
    entry,
    format: ["esm"],
    platform: "node",
    target: "node22",
    dts: true,
    clean: true,
    sourcemap: false,
    splitting: true,
    treeshake: true,
  };
}
