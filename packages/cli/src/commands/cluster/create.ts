import { createCluster, names } from "@k3ts/core";
import type { CommandContext } from "../../context.js";
import { printValue } from "../../print.js";
import { readConfig } from "../config/read.js";
import { specFromConfig } from "./spec.js";

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  // A bad file stops here (exit 2), before a runtime is picked or anything is created.
  const file = typeof options.config === "string" ? readConfig(ctx, options.config).spec : undefined;
  const spec = specFromConfig(args[0], options, ctx.env, file);
  const runtime = await ctx.runtime();
  const kubeconfigPath = options.kubeconfig as string | undefined;
  const started = performance.now();
  const result = await createCluster(spec, {
    runtime,
    progress: ctx.progress,
    logger: ctx.out,
    signal: ctx.signal,
    env: ctx.env,
    k3tsVersion: ctx.version,
    ...(kubeconfigPath ? { kubeconfigPath } : {}),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  printValue(ctx, options.output, { ...result.cluster, kubeconfigPath: result.kubeconfigPath ?? null, nodes: result.nodes }, () => {
    const lines = [`Cluster ${spec.name} is ready (${result.cluster.servers.length} server(s), ${result.cluster.agents.length} agent(s), ${seconds}s). API: ${result.cluster.apiServerUrl}`];
    if (!result.kubeconfigPath) lines.push(`  export KUBECONFIG=$(k3ts kubeconfig write ${spec.name})`);
    else if (!spec.kubeconfig.switchContext) lines.push(`  kubectl config use-context ${names.context(spec.name)}`);
    lines.push("  kubectl get nodes");
    return lines.join("\n");
  });
  return 0;
}
