import { K3tsError, listClusters, startCluster, stopCluster, type ClusterSummary } from "@k3ts/core";
import { parseDuration } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";
import { printValue } from "../../print.js";
import { clusterTable } from "./list.js";
import { bool, one } from "../../flags.js";
import { resumeHostImages, stopHostImages } from "../../hostimages/cluster.js";

async function targets(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<string[]> {
  if (options.all === true) {
    if (args.length) throw new K3tsError("INVALID_ARGUMENT", "give cluster names or --all, not both", { meta: { flag: "--all" } });
    return (await listClusters({ runtime: await ctx.runtime() })).map((c) => c.name);
  }
  return args.length ? args : ["k3s-default"];
}

export async function start(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  const runtime = await ctx.runtime();
  const timeout = one(options.timeout, "--timeout");
  const done: ClusterSummary[] = [];
  for (const name of await targets(ctx, args, options)) {
    // Before the nodes: k3s reads registries.yaml (and finds the host images there) when it starts.
    await resumeHostImages(ctx, runtime, name);
    done.push(
      await startCluster(name, {
        runtime,
        progress: ctx.progress,
        signal: ctx.signal,
        wait: bool(options.wait, "--wait", true),
        ...(timeout ? { timeoutMs: parseDuration(timeout, "--timeout") } : {}),
      }),
    );
  }
  printValue(ctx, options.output, done, () => clusterTable(done));
  return 0;
}

export async function stop(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  const runtime = await ctx.runtime();
  const done: ClusterSummary[] = [];
  for (const name of await targets(ctx, args, options)) {
    done.push(await stopCluster(name, { runtime, progress: ctx.progress, signal: ctx.signal }));
    await stopHostImages(ctx, name);
  }
  printValue(ctx, options.output, done, () => clusterTable(done));
  return 0;
}
