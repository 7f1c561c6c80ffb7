import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { toK3tsYaml } from "@k3ts/core";
import type { CommandContext } from "../../context.js";
import { readConfig } from "./read.js";

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  const file = args[0]!;
  const loaded = readConfig(ctx, file);
  const yaml = toK3tsYaml(loaded.spec, { from: `${file} (${loaded.format})`, notices: loaded.notices });
  const target = typeof options.output === "string" ? options.output : "-";
  if (target === "-") ctx.out.print(yaml.trimEnd());
  else {
    writeFileSync(resolve(ctx.cwd, target), yaml);
    ctx.out.info(`Wrote ${target}`);
  }
  return 0;
}
