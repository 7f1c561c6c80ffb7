import { K3tsError, deleteCluster, listClusters, type DeleteResult } from "@k3ts/core";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { CommandContext } from "../../context.js";
import { configDir } from "../kubeconfig/merge.js";
import { printValue } from "../../print.js";
import { readConfig } from "../config/read.js";
import { deleteHostImages } from "../../hostimages/cluster.js";

/** The cluster a config file names (`metadata.name`, else k3s-default). */
function nameFromConfig(ctx: CommandContext, options: Record<string, unknown>, args: string[]): string | undefined {
  if (typeof options.config !== "string") return undefined;
  if (args.length || options.all === true) {
    throw new K3tsError("INVALID_ARGUMENT", "give cluster names, --all or --config, not several", { meta: { flag: "--config" } });
  }
  return readConfig(ctx, options.config, { quiet: true }).spec.name ?? "k3s-default";
}

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  const fromFile = nameFromConfig(ctx, options, args);
  const runtime = await ctx.runtime();
  const all = options.all === true;
  if (all && args.length) throw new K3tsError("INVALID_ARGUMENT", "give cluster names or --all, not both", { meta: { flag: "--all" } });
  const targets = fromFile ? [fromFile] : all ? (await listClusters({ runtime })).map((c) => c.name) : args.length ? args : ["k3s-default"];
  const kubeconfigPath = options.kubeconfig as string | undefined;
  const results: DeleteResult[] = [];
  for (const name of targets) {
    const r = await deleteCluster(name, { runtime, progress: ctx.progress, signal: ctx.signal, env: ctx.env, ...(kubeconfigPath ? { kubeconfigPath } : {}) });
    // The file `kubeconfig write` made for this cluster goes with it (as in k3d).
    const own = join(configDir(ctx.env), `kubeconfig-${name}.yaml`);
    if (existsSync(own)) {
      rmSync(own);
      r.removed.push(`kubeconfig file ${own}`);
    }
    // Its host process, cache and log (a cluster's name is its cache's: one left by a cluster gone some other way goes too).
    r.removed.push(...(await deleteHostImages(ctx, name)));
    if (!r.found) ctx.out.info(`cluster ${name} does not exist: nothing to delete`);
    results.push(r);
  }
  printValue(ctx, options.output, results, () => results.filter((r) => r.found).map((r) => `Deleted cluster ${r.name}`).join("\n"));
  return 0;
}
