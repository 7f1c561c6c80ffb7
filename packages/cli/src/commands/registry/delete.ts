import { K3tsError, deleteRegistry, disconnectRegistry, getRegistry, listRegistries, type DeleteRegistryResult } from "@k3ts/core";
import type { CommandContext } from "../../context.js";
import { printValue } from "../../print.js";

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  const all = options.all === true;
  if (all && args.length) throw new K3tsError("INVALID_ARGUMENT", "give registry names or --all, not both", { meta: { flag: "--all" } });
  if (!all && !args.length) throw new K3tsError("INVALID_ARGUMENT", "name the registries to delete, or pass --all", { meta: { flag: "NAME" } });
  const runtime = await ctx.runtime();
  const opts = { runtime, progress: ctx.progress, signal: ctx.signal, env: ctx.env, logger: ctx.out };
  // Look every name up first: a typo deletes nothing.
  const targets = all ? await listRegistries({ runtime }) : await Promise.all(args.map((a) => getRegistry(a, { runtime })));
  const results: DeleteRegistryResult[] = [];
  for (const r of targets) {
    // Clusters drop its mirrors first (without a restart: the nodes fall back to the registry's own endpoint).
    for (const cluster of r.clusters) await disconnectRegistry(r.name, cluster, { ...opts, restart: false });
    results.push(await deleteRegistry(r.name, opts));
  }
  printValue(ctx, options.output, results, () => (results.length ? results.map((r) => `Deleted registry ${r.name}`).join("\n") : "No registries."));
  return 0;
}
