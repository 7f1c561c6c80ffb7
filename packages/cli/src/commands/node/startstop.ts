import { K3tsError, LABELS } from "@k3ts/core";
import type { CommandContext } from "../../context.js";

async function managed(ctx: CommandContext, name: string) {
  const runtime = await ctx.runtime();
  const node = await runtime.nodes.inspect(name, { signal: ctx.signal });
  if (node.labels[LABELS.managed] !== "true") throw new K3tsError("INVALID_ARGUMENT", `${name} is not a k3ts node`, { meta: { node: name } });
  return runtime;
}

export async function start(ctx: CommandContext, args: string[]): Promise<number> {
  if (args.length !== 1) throw new K3tsError("INVALID_ARGUMENT", "name one node", { meta: { flag: "NAME" } });
  await (await managed(ctx, args[0]!)).nodes.start(args[0]!, { signal: ctx.signal });
  return 0;
}

export async function stop(ctx: CommandContext, args: string[]): Promise<number> {
  if (args.length !== 1) throw new K3tsError("INVALID_ARGUMENT", "name one node", { meta: { flag: "NAME" } });
  await (await managed(ctx, args[0]!)).nodes.stop(args[0]!, { signal: ctx.signal });
  return 0;
}
