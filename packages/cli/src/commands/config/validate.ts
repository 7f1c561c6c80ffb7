import type { CommandContext } from "../../context.js";
import { readConfig } from "./read.js";

export async function run(ctx: CommandContext, args: string[]): Promise<number> {
  const file = args[0]!;
  const loaded = readConfig(ctx, file);
  ctx.out.print(`${file}: valid (${loaded.format})`);
  return 0;
}
