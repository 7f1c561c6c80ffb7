import { readdir } from "node:fs/promises";
import { dirname } from "node:path";
import { K3tsError, listClusters } from "@k3ts/core";
import { formatBytes, pruneHostImageCache, validateClusterName } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";
import { formatTable } from "../../output.js";
import { printValue } from "../../print.js";
import { resumeHostImages } from "../../hostimages/cluster.js";
import { hostImagesFiles, hostImagesProcess, stopHostImagesProcess } from "../../hostimages/process.js";

interface Pruned {
  cluster: string;
  cache: string;
  bytes: number;
  /** The cluster's host process was running: stopped for the prune and started again. */
  restarted: boolean;
}

/** The clusters that have a host-images cache on this host. */
async function cachedClusters(env: Record<string, string | undefined>): Promise<string[]> {
  const entries = await readdir(dirname(hostImagesFiles("x", env).cacheDir), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  const all = options.all === true;
  if (all && args.length) throw new K3tsError("INVALID_ARGUMENT", "give cluster names or --all, not both", { meta: { flag: "--all" } });
  args.forEach((a) => validateClusterName(a, "CLUSTER"));
  const cached = await cachedClusters(ctx.env);
  const runtime = await ctx.runtime();
  // Without names: the caches no cluster of this engine owns any more (a cluster removed some other way, a program that crashed).
  const existing = new Set((await listClusters({ runtime, signal: ctx.signal })).map((c) => c.name));
  const targets = args.length ? args : all ? cached : cached.filter((c) => !existing.has(c));
  const done: Pruned[] = [];
  for (const cluster of targets) {
    const cache = hostImagesFiles(cluster, ctx.env).cacheDir;
    const running = (await hostImagesProcess(cluster, ctx.env))?.running === true;
    // The cache may not be pruned under a running registry: its host process stops for it and starts again.
    if (running) await stopHostImagesProcess(cluster, ctx.env);
    const bytes = await pruneHostImageCache(cache);
    if (running) await resumeHostImages(ctx, runtime, cluster);
    done.push({ cluster, cache, bytes, restarted: running });
  }
  printValue(ctx, options.output, done, () =>
    done.length
      ? `${formatTable(["cluster", "freed", "host process"], done.map((p) => [p.cluster, formatBytes(p.bytes), p.restarted ? "restarted" : "-"]))}\nFreed ${formatBytes(done.reduce((n, p) => n + p.bytes, 0))}.`
      : "No host-images cache to prune.",
  );
  return 0;
}
