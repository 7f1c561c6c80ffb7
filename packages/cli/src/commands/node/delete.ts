import { K3tsError, deleteNodes } from "@k3ts/core";
import type { CommandContext } from "../../context.js";

export async function run(ctx: CommandContext, args: string[]): Promise<number> {
  if (!args.length) throw new K3tsError("INVALID_ARGUMENT", "name the node(s) to delete", { meta: { flag: "NAME" } });
  const runtime = await ctx.runtime();
  const removed = await deleteNodes(args, { runtime, progress: ctx.progress, signal: ctx.signal, logger: ctx.out });
  for (const n of args.filter((a) => !removed.includes(a))) ctx.out.info(`node ${n} does not exist: nothing to delete`);
  return 0;
}
