import { getCluster, listClusters, type ClusterSummary } from "@k3ts/core";
import type { CommandContext } from "../../context.js";
import { formatTable } from "../../output.js";
import { parseFormat, printValue } from "../../print.js";
import { hostImagesOf } from "../../hostimages/cluster.js";

const count = (nodes: Array<{ state: string }>) => `${nodes.filter((n) => n.state === "running").length}/${nodes.length}`;

export function clusterTable(clusters: ClusterSummary[], noHeaders = false): string {
  const table = formatTable(
    ["name", "servers", "agents", "loadbalancer", "api"],
    clusters.map((c) => [c.name, count(c.servers), count(c.agents), c.loadBalancer ? c.loadBalancer.state : "none", c.apiServerUrl]),
  );
  return noHeaders ? table.split("\n").slice(1).join("\n") : table;
}

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  const runtime = await ctx.runtime();
  const clusters = args.length ? await Promise.all(args.map((n) => getCluster(n, { runtime, signal: ctx.signal }))) : await listClusters({ runtime, signal: ctx.signal });
  // For scripts (json, yaml): each cluster's host-images process too.
  const shown = parseFormat(options.output) === "table" ? clusters : await Promise.all(clusters.map(async (c) => ({ ...c, hostImages: await hostImagesOf(ctx, c.name) })));
  printValue(ctx, options.output, shown, () => (clusters.length ? clusterTable(clusters, options.headers === false) : "No clusters."));
  return 0;
}
