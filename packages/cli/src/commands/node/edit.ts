import { K3tsError, LABELS, editClusterPorts, isK3tsError } from "@k3ts/core";
import type { CommandContext } from "../../context.js";
import { printValue } from "../../print.js";
import { portEdits } from "../cluster/edit.js";
import { clusterTable } from "../cluster/list.js";

/** k3d's `node edit NODE --port-add/--port-delete`: ports change on a cluster's load balancer, named as a node. */
export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  if (args.length !== 1) throw new K3tsError("INVALID_ARGUMENT", "name one node to edit", { meta: { flag: "NODE" } });
  const name = args[0]!;
  const edits = portEdits(options);
  const runtime = await ctx.runtime();
  const node = await runtime.nodes.inspect(name, { signal: ctx.signal }).catch((err: unknown) => {
    throw isK3tsError(err, "NODE_NOT_FOUND") ? new K3tsError("INVALID_ARGUMENT", `node ${name} does not exist`, { meta: { flag: "NODE" }, hint: "k3ts node list shows the nodes there are" }) : err;
  });
  const cluster = node.labels[LABELS.cluster];
  if (node.labels[LABELS.managed] !== "true" || !cluster) throw new K3tsError("INVALID_ARGUMENT", `${name} is not a k3ts node`, { meta: { flag: "NODE" } });
  if (node.labels[LABELS.role] !== "loadbalancer") {
    throw new K3tsError("INVALID_ARGUMENT", `${name} is not a load balancer (its role: ${node.labels[LABELS.role] ?? "unknown"}): ports are edited on the load balancer, ${cluster}'s is k3ts-${cluster}-serverlb`, {
      meta: { flag: "NODE" },
      hint: `k3ts node edit k3ts-${cluster}-serverlb …, or k3ts cluster edit ${cluster} …`,
    });
  }
  const result = await editClusterPorts(cluster, { runtime, progress: ctx.progress, signal: ctx.signal, ...edits });
  printValue(ctx, options.output, result, () => clusterTable([result]));
  return 0;
}
