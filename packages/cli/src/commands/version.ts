import { RUNTIME_API_VERSION } from "@k3ts/core";
import type { CommandContext } from "../context.js";
import { printValue } from "../print.js";

export async function run(ctx: CommandContext, _args: string[], options: Record<string, unknown>): Promise<number> {
  const value = { k3ts: ctx.version, runtimeApi: RUNTIME_API_VERSION, node: process.versions.node };
  printValue(ctx, options.output, value, () => `k3ts version ${value.k3ts}\nruntime API v${value.runtimeApi}\nnode ${value.node}`);
  return 0;
}
