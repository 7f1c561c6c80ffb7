import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { K3tsError } from "@k3ts/core";
import { STARTER_CONFIG } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";

export async function run(ctx: CommandContext, _args: string[], options: Record<string, unknown>): Promise<number> {
  const target = typeof options.output === "string" ? options.output : "k3ts.yaml";
  if (target === "-") {
    ctx.out.print(STARTER_CONFIG.trimEnd());
    return 0;
  }
  const path = resolve(ctx.cwd, target);
  if (existsSync(path) && options.force !== true) {
    throw new K3tsError("INVALID_ARGUMENT", `${target} already exists; not overwriting it`, { meta: { file: target }, hint: "pass --force to replace it, or -o - to print the starter" });
  }
  writeFileSync(path, STARTER_CONFIG);
  ctx.out.info(`Wrote ${target}: edit it, then k3ts cluster create --config ${target}`);
  return 0;
}
