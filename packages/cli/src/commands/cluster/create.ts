import { K3tsError, createCluster, isK3tsError } from "@k3ts/core";
import { names } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";
import { printValue } from "../../print.js";
import { readConfig } from "../config/read.js";
import { many } from "../../flags.js";
import { specFromConfig } from "./spec.js";
import { createHostImages, hostImagesOf } from "../../hostimages/cluster.js";

/** The flags behind the spec's lists, so that a refusal found while planning (`ports[0]: …`) names what was typed. */
const LIST_FLAGS: Record<string, [flag: string, key: string]> = {
  ports: ["--port", "port"],
  volumes: ["--volume", "volume"],
  env: ["--env", "env"],
  k3sArgs: ["--k3s-arg", "k3sArg"],
  nodeLabels: ["--k3s-node-label", "k3sNodeLabel"],
  runtimeLabels: ["--runtime-label", "runtimeLabel"],
  capAdd: ["--runtime-cap-add", "runtimeCapAdd"],
};

function namedByFlag(err: unknown, options: Record<string, unknown>): unknown {
  if (!isK3tsError(err, "INVALID_ARGUMENT")) return err;
  const m = /^(\w+)\[(\d+)\]: ([\s\S]*)$/.exec(err.message);
  const [flag, key] = (m && LIST_FLAGS[m[1]!]) ?? [];
  const value = flag && key ? many(options[key])[Number(m![2])] : undefined;
  if (value === undefined) return err;
  return new K3tsError("INVALID_ARGUMENT", `${flag} ${value}: ${m![3]}`, { meta: { ...err.meta, flag, value }, cause: err, ...(err.hint ? { hint: err.hint } : {}) });
}

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  // A bad file stops here (exit 2), before a runtime is picked or anything is created.
  const file = typeof options.config === "string" ? readConfig(ctx, options.config).spec : undefined;
  const spec = specFromConfig(args[0], options, ctx.env, file);
  // On unless the flags or the file say otherwise: asked for, they must be served; by default, an engine that cannot turns them off.
  const asked = options.hostImages !== undefined || options.hostImagesMirror !== undefined || file?.hostImages !== undefined;
  if (!asked) spec.hostImages = { mirrors: [], optional: true };
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
    ...(spec.hostImages ? { hostImages: createHostImages(ctx, runtime, asked) } : {}),
  }).catch((err: unknown) => {
    // With a config file the lists mix its entries and the flags': the spec's own names stay.
    throw file ? err : namedByFlag(err, options);
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const served = spec.hostImages ? await hostImagesOf(ctx, spec.name) : null;
  printValue(ctx, options.output, { ...result.cluster, kubeconfigPath: result.kubeconfigPath ?? null, hostImages: served, nodes: result.nodes }, () => {
    const lines = [`Cluster ${spec.name} is ready (${result.cluster.servers.length} server(s), ${result.cluster.agents.length} agent(s), ${seconds}s). API: ${result.cluster.apiServerUrl}`];
    if (!result.kubeconfigPath) lines.push(`  export KUBECONFIG=$(k3ts kubeconfig write ${spec.name})`);
    else if (!spec.kubeconfig.switchContext) lines.push(`  kubectl config use-context ${names.context(spec.name)}`);
    lines.push("  kubectl get nodes");
    if (served) lines.push(`Images of the engine run in the cluster with no import (served on ${served.url}): docker build -t app:dev . && kubectl create deployment app --image app:dev`);
    return lines.join("\n");
  });
  return 0;
}
