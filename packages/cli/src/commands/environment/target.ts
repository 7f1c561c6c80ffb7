/**
 * `up`/`down` on an existing cluster (an Environment's `kubeconfig`/`context`): the context and server
 * are printed before anything changes, and a context k3ts did not make is changed only with `--yes` or
 * a "y" typed at a terminal.
 */
import { createInterface } from "node:readline/promises";
import type { EnvironmentTarget, TargetOptions } from "@k3ts/sdk";
import type { CommandContext } from "../../context.js";
import { bool } from "../../flags.js";

export function targetOptions(ctx: CommandContext, options: Record<string, unknown>): TargetOptions {
  const yes = bool(options.yes, "--yes", false);
  return {
    onTarget: (t) => ctx.out.print(`cluster: context ${t.context}, server ${t.server}${t.k3ts ? "" : " (not made by k3ts)"}`),
    confirmTarget: async (t) => yes || ((ctx.stdin as { isTTY?: boolean }).isTTY === true && (await ask(ctx, t))),
  };
}

async function ask(ctx: CommandContext, t: EnvironmentTarget): Promise<boolean> {
  const rl = createInterface({ input: ctx.stdin, output: ctx.out.stderr });
  try {
    const answer = await rl.question(`Change the cluster of context ${t.context} (${t.server}), which k3ts did not make? [y/N] `, { signal: ctx.signal });
    return /^y(es)?$/i.test(answer.trim());
  } catch {
    return false;
  } finally {
    rl.close();
  }
}
