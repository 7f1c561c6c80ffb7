/**
 * Checks made before a create makes anything: what the cluster needs of the engine, read from the
 * runtime's declared capabilities (never from its name). A refusal names what is missing and, when
 * the runtime knows it, how to get it.
 */
import { K3tsError } from "../errors.js";
import type { Runtime, RuntimeCapabilities, RuntimeInfo } from "../runtime.js";
import { parseNodeFilter } from "./filters.js";
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
  if (caps.rootless && caps.cgroupVersion === 1) {
    problems.push({
      capability: "rootless",
      reason: `${info.runtime} runs rootless on cgroup v1, where no cgroup is delegated to the user, and k3s's kubelet needs its own`,
      hint: "boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1), or run the engine rootful",
    });
  } else if (caps.rootless && info.cgroupControllers) {
    const missing = ROOTLESS_CONTROLLERS.filter((c) => !info.cgroupControllers!.includes(c));
    if (missing.length) {
      problems.push({
        capability: "rootless",
        reason: `the cgroup controller${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not delegated to the user ${info.runtime} runs as, and k3s's kubelet needs ${missing.length > 1 ? "them" : "it"}`,
        hint: 'delegate them: /etc/systemd/system/user@.service.d/delegate.conf with "[Service]" and "Delegate=cpu cpuset io memory pids", then systemctl daemon-reload and log in again',
      });
    }
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

/** The controllers the kubelet needs in its cgroup (k3s rootless docs: Delegate=cpu cpuset io memory pids). */
export const ROOTLESS_CONTROLLERS = ["cpu", "memory", "pids"] as const;

/** The kubelet flag k3s needs in a user namespace (what k3d's docs have users add by hand). */
export const KUBELET_IN_USERNS_ARG = "--kubelet-arg=feature-gates=KubeletInUserNamespace=true";

/**
 * The spec with what k3s needs on this engine added: on a rootless engine, the kubelet's
 * KubeletInUserNamespace gate on every k3s node (unless the user's own args set that gate).
 */
export function adaptToEngine(spec: ClusterSpec, info: Pick<RuntimeInfo, "capabilities">): ClusterSpec {
  if (!info.capabilities.rootless) return spec;
  if (spec.k3sArgs.some((a) => a.value.includes("KubeletInUserNamespace"))) return spec;
  const everyK3sNode = ["server:*", "agent:*"].map((f) => parseNodeFilter(f, "rootless"));
  return { ...spec, k3sArgs: [...spec.k3sArgs, { value: KUBELET_IN_USERNS_ARG, filters: everyK3sNode }] };
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
