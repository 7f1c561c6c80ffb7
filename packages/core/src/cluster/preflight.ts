/**
 * Checks made before a create makes anything: what the cluster needs of the engine, read from the
 * runtime's declared capabilities (never from its name). A refusal names what is missing and, when
 * the runtime knows it, how to get it.
 */
import { K3tsError } from "../errors.js";
import type { Runtime, RuntimeCapabilities, RuntimeInfo } from "../runtime.js";
import type { ClusterSpec } from "./spec.js";

export interface PreflightProblem {
  capability: keyof RuntimeCapabilities;
  /** Why this cluster needs it. */
  reason: string;
  /** How to get it, from the runtime, else a generic next step. */
  hint: string;
}

/**
 * Why the nodes of this cluster must resolve each other by name, or undefined when nothing does:
 * agents and joining servers reach server-0 as `k3ts-NAME-server-0`, the load balancer's nginx
 * resolves its upstreams by name, and containerd reaches registries by their container names.
 */
export function needsNetworkDns(spec: Pick<ClusterSpec, "servers" | "agents" | "loadBalancer" | "registries">): string | undefined {
  if (spec.agents > 0 || spec.servers > 1) return "agents and joining servers reach the first server by its container name";
  if (spec.loadBalancer.enabled) return "the load balancer reaches the servers by their container names";
  const r = spec.registries;
  if (r?.create || r?.use?.length) return "the nodes reach registries by their container names";
  return undefined;
}

/** Every capability this cluster needs and the engine lacks (empty when it can run). */
export function preflightProblems(spec: ClusterSpec, info: RuntimeInfo): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  const { capabilities: caps, hints = {} } = info;
  const dnsReason = needsNetworkDns(spec);
  if (dnsReason && !caps.networkDns) {
    problems.push({
      capability: "networkDns",
      reason: `containers on a ${info.runtime} network cannot resolve each other by name, and ${dnsReason}`,
      hint: hints.networkDns ?? `enable DNS on ${info.runtime}'s user networks`,
    });
  }
  if (spec.privileged && !caps.privileged) {
    problems.push({
      capability: "privileged",
      reason: `${info.runtime} cannot run privileged containers, and k3s nodes need them`,
      hint: hints.privileged ?? `run ${info.runtime} where privileged containers are allowed`,
    });
  }
  return problems;
}

/** Refuses with `RUNTIME_CAPABILITY_MISSING` when the engine cannot run this cluster; returns what it read. */
export async function preflight(spec: ClusterSpec, runtime: Runtime, options: { signal?: AbortSignal } = {}): Promise<RuntimeInfo> {
  const info = await runtime.info(options.signal ? { signal: options.signal } : {});
  const problems = preflightProblems(spec, info);
  if (problems.length > 0) {
    throw new K3tsError("RUNTIME_CAPABILITY_MISSING", `cluster ${spec.name} cannot run on ${info.runtime} (${info.endpoint}): ${problems.map((p) => p.reason).join("; ")}`, {
      meta: { cluster: spec.name, runtime: info.runtime, endpoint: info.endpoint, missing: problems.map((p) => p.capability) },
      hint: problems.map((p) => p.hint).join("; "),
    });
  }
  return info;
}
