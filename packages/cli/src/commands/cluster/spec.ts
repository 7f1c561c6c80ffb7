import {
  DEFAULT_CLUSTER_NAME,
  DEFAULT_K3S_IMAGE,
  DEFAULT_LB_IMAGE,
  parseApiPort,
  parseDuration,
  parseHostAlias,
  parseKeyValue,
  parseMemory,
  parseNodeFilter,
  parsePortSpec,
  parseVolumeSpec,
  splitFilters,
  validateClusterName,
  type ClusterSpec,
  type Filtered,
} from "@k3ts/core";
import { bool, integer, many, one } from "../../flags.js";

/** `VALUE@FILTER;FILTER` flags → Filtered values, every error naming the flag and the value. */
function filtered<T>(values: unknown, flag: string, parse: (text: string, where: string) => T, suffixes?: readonly string[]): Array<Filtered<T>> {
  return many(values).map((raw) => {
    const where = `${flag} ${raw}`;
    const { value, filters } = splitFilters(raw, where);
    return { value: parse(value, where), filters: filters.map((f) => parseNodeFilter(f, where, suffixes ? { suffixes } : {})) };
  });
}

/** The ClusterSpec `k3ts cluster create` flags describe (k3d's flag names and meanings). */
export function specFromFlags(name: string | undefined, o: Record<string, unknown>, env: Record<string, string | undefined>): ClusterSpec {
  const clusterName = name ?? DEFAULT_CLUSTER_NAME;
  validateClusterName(clusterName, "NAME");
  const timeout = one(o.timeout, "--timeout");
  const serversMemory = one(o.serversMemory, "--servers-memory");
  const agentsMemory = one(o.agentsMemory, "--agents-memory");
  const apiPort = one(o.apiPort, "--api-port");
  const network = one(o.network, "--network");
  const subnet = one(o.subnet, "--subnet");
  const token = one(o.token, "--token");
  return {
    name: clusterName,
    servers: integer(o.servers, "--servers", 1) ?? 1,
    agents: integer(o.agents, "--agents", 0) ?? 0,
    image: one(o.image, "--image") ?? env.K3TS_IMAGE ?? DEFAULT_K3S_IMAGE,
    api: apiPort ? parseApiPort(apiPort, "--api-port") : { hostIP: "127.0.0.1" },
    ports: filtered(o.port, "--port", parsePortSpec, ["proxy", "direct"]),
    volumes: filtered(o.volume, "--volume", parseVolumeSpec),
    env: filtered(o.env, "--env", (t, w) => parseKeyValue(t, w)),
    k3sArgs: filtered(o.k3sArg, "--k3s-arg", (t) => t),
    nodeLabels: filtered(o.k3sNodeLabel, "--k3s-node-label", (t, w) => parseKeyValue(t, w)),
    runtimeLabels: filtered(o.runtimeLabel, "--runtime-label", (t, w) => parseKeyValue(t, w)),
    ...(network ? { network } : {}),
    ...(subnet ? { subnet } : {}),
    ...(token ? { token } : {}),
    wait: bool(o.wait, "--wait", true),
    timeoutMs: timeout ? parseDuration(timeout, "--timeout") : 0,
    loadBalancer: { enabled: !bool(o.noLb, "--no-lb", false) && bool(o.lb, "--lb", true), image: one(o.lbImage, "--lb-image") ?? env.K3TS_LB_IMAGE ?? DEFAULT_LB_IMAGE },
    rollback: bool(o.rollback, "--rollback", true),
    memory: {
      ...(serversMemory ? { servers: parseMemory(serversMemory, "--servers-memory") } : {}),
      ...(agentsMemory ? { agents: parseMemory(agentsMemory, "--agents-memory") } : {}),
    },
    hostAliases: many(o.hostAlias).map((h) => parseHostAlias(h, `--host-alias ${h}`)),
    privileged: bool(o.privileged, "--privileged", true),
    kubeconfig: {
      update: bool(o.kubeconfigUpdateDefault, "--kubeconfig-update-default", true),
      switchContext: bool(o.kubeconfigSwitchContext, "--kubeconfig-switch-context", true),
    },
  };
}
