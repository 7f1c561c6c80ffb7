import { startRegistry, stopRegistry, type RegistrySummary } from "@k3ts/core";
import type { CommandContext } from "../../context.js";
import { printValue } from "../../print.js";
import { registryTable } from "./list.js";

async function each(ctx: CommandContext, args: string[], options: Record<string, unknown>, fn: typeof startRegistry): Promise<number> {
  const runtime = await ctx.runtime();
  const done: RegistrySummary[] = [];
  for (const name of args) done.push(await fn(name, { runtime, progress: ctx.progress, signal: ctx.signal, env: ctx.env }));
  printValue(ctx, options.output, done, () => registryTable(done));
  return 0;
}

export const start = (ctx: CommandContext, args: string[], options: Record<string, unknown>) => each(ctx, args, options, startRegistry);
export const stop = (ctx: CommandContext, args: string[], options: Record<string, unknown>) => each(ctx, args, options, stopRegistry);
