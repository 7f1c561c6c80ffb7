/**
 * Planning: ClusterSpec → the nodes to create, as runtime NodeSpecs. Pure: every rule about how k3s
 * is wired (roles, join URL, TLS SANs, node filters, load-balancer ports) is here and table-tested.
 */
import { createHash } from "node:crypto";
import { K3tsError } from "../errors.js";
import { LABELS, baseLabels } from "../labels.js";
import type { RuntimeInfo } from "../runtime.js";
import type { HostAlias, NodeSpec, PortMapping, VolumeMount } from "../types.js";
import { selectNodes } from "./filters.js";
import { NODE_ENTRYPOINT, NODE_ENTRYPOINT_SCRIPT, NODE_MEMINFO, fakeMeminfo } from "./entrypoint.js";
import { switchedNodeSettings } from "./options.js";
import { keptSelect, loadBalancerConfig as renderLoadBalancerConfig, loadBalancerNodeSpec, type LoadBalancerState, type ProxiedPort } from "./loadbalancer/index.js";
import {
  HOST_ALIAS,
  K3S_API_PORT,
  KUBECONFIG_IN_NODE,
  names,
  type ClusterSpec,
  type Filtered,
  type NodeFilter,
  type PortSpec,
} from "./spec.js";

export type PlannedRole = "server" | "agent" | "loadbalancer";

export interface PlannedNode {
  role: PlannedRole;
  index: number;
  spec: NodeSpec;
  /** Files written into the node before it starts (k3d's `files`), by index into spec.files. */
  files: number[];
}

/** Where k3ts puts the cluster token inside k3s nodes (read by k3s through K3S_TOKEN_FILE). */
export const TOKEN_FILE_IN_NODE = "/etc/rancher/k3ts/token";

export interface PlanContext {
  /** The host port the API is published on (resolved before planning). */
  apiHostPort: number;
  /** The cluster network's name. */
  network: string;
  networkExternal: boolean;
  /** The cluster network's gateway: where nodes reach the host on rootful Linux. */
  gateway?: string;
  /**
   * What host.k3ts.internal maps to in the nodes' /etc/hosts: an IP, or `host-gateway` for the
   * engine to fill in (see hostAddressFor). Default: the gateway.
   */
  hostAddress?: string;
  token: string;
  k3tsVersion: string;
  /** The server that joining servers and agents reach (K3S_URL); default server-0. */
  joinServer?: string;
  /** Fixed addresses of servers on the cluster network, by server index (see addresses.ts). */
  serverAddresses?: ReadonlyMap<number, string>;
  /** The create making the nodes (LABELS.createId on each: its rollback removes only those). */
  createId?: string;
}

export interface ClusterPlan {
  network: string;
  servers: PlannedNode[];
  agents: PlannedNode[];
  loadBalancer?: PlannedNode;
  /** The generated nginx.conf for the load balancer (absent without one). */
  loadBalancerConfig?: string;
  /** The port table behind it (written beside it as LB_STATE_PATH). */
  loadBalancerState?: LoadBalancerState;
  /** The URL the kubeconfig points at. */
  apiServerUrl: string;
  /** Host ports the load balancer publishes, as PORT.PROTO → targets. */
  proxiedPorts: ProxiedPort[];
}

/**
 * The host of an engine reached over the network (`tcp://`, `http(s)://`, `ssh://` endpoints, as in
 * DOCKER_HOST or a docker context), or undefined for a local one (a socket, a CLI, localhost).
 */
export function remoteEngineHost(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return undefined;
  }
  if (!["tcp:", "http:", "https:", "ssh:"].includes(url.protocol)) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!host || host === "localhost" || host === "::1" || /^127\./.test(host)) return undefined;
  return host;
}

/**
 * The API's address for an engine on another machine: its published port is on that machine, so
 * the default (127.0.0.1 here) would point the kubeconfig at nothing. Unless the user chose where
 * (a host name or a bind address other than the default), the port is published on the engine's
 * 0.0.0.0 and the kubeconfig and TLS SAN name the engine's host, as k3d does. Unchanged for local engines.
 */
export function apiForEngine(api: ClusterSpec["api"], endpoint: string): ClusterSpec["api"] {
  const remote = remoteEngineHost(endpoint);
  if (!remote || api.host || api.hostIP !== "127.0.0.1") return api;
  return { ...api, host: remote, hostIP: "0.0.0.0" };
}

/** The name the kubeconfig and TLS SAN use for the API: never 0.0.0.0. */
export function apiHostName(spec: ClusterSpec): string {
  if (spec.api.host) return spec.api.host;
  return spec.api.hostIP === "0.0.0.0" || spec.api.hostIP === "" ? "127.0.0.1" : spec.api.hostIP;
}

type Slot = { role: PlannedRole; index: number; name: string };

function select<T>(items: Array<Filtered<T>>, slots: Slot[], where: string, defaultAll: boolean): Array<{ value: T; nodes: Set<string> }> {
  const multiNode = slots.filter((s) => s.role !== "loadbalancer").length > 1;
  return items.map((item, i) => {
    if (item.filters.length === 0) {
      if (!defaultAll && multiNode) {
        throw new K3tsError("INVALID_ARGUMENT", `${where}[${i}]: a node filter is needed when the cluster has more than one node (e.g. @server:0 or @agent:*)`, {
          meta: { where, index: i },
        });
      }
      return { value: item.value, nodes: new Set(slots.filter((s) => s.role !== "loadbalancer").map((s) => s.name)) };
    }
    return { value: item.value, nodes: new Set(selectNodes(item.filters, slots, `${where}[${i}]`).map((s) => s.name)) };
  });
}

function isDirect(filters: NodeFilter[]): boolean {
  return filters.some((f) => f.suffix === "direct");
}

/** k3d's port rule: no filter or `@loadbalancer` proxies through the LB to every server and agent. */
function planPorts(spec: ClusterSpec, slots: Slot[]): { proxied: ProxiedPort[]; direct: Map<string, PortMapping[]> } {
  const proxied = new Map<string, ProxiedPort>();
  const direct = new Map<string, PortMapping[]>();
  const k3sNodes = slots.filter((s) => s.role !== "loadbalancer");
  spec.ports.forEach((item, i) => {
    const where = `ports[${i}]`;
    const p: PortSpec = item.value;
    const mapping: PortMapping = {
      containerPort: p.containerPort,
      protocol: p.protocol,
      ...(p.hostIP ? { hostIP: p.hostIP } : {}),
      ...(p.hostPort ? { hostPort: p.hostPort } : {}),
    };
    if (isDirect(item.filters)) {
      const chosen = selectNodes(item.filters, slots, where);
      if (chosen.length !== 1) {
        throw new K3tsError("INVALID_ARGUMENT", `${where}: a :direct port maps to exactly one node, but the filter selects ${chosen.length}`, { meta: { where } });
      }
      const name = chosen[0]!.name;
      direct.set(name, [...(direct.get(name) ?? []), mapping]);
      return;
    }
    const toLb = item.filters.length === 0 || item.filters.every((f) => f.group === "loadbalancer");
    if (!spec.loadBalancer.enabled) {
      if (item.filters.length === 0 && k3sNodes.length === 1) {
        direct.set(k3sNodes[0]!.name, [...(direct.get(k3sNodes[0]!.name) ?? []), mapping]);
        return;
      }
      throw new K3tsError("INVALID_ARGUMENT", `${where}: proxied ports need the load balancer, which is disabled; add :direct to the node filter (e.g. @server:0:direct)`, {
        meta: { where },
      });
    }
    const targets = toLb ? k3sNodes : selectNodes(item.filters, slots, where).filter((s) => s.role !== "loadbalancer");
    const key = `${p.containerPort}/${p.protocol}`;
    const existing = proxied.get(key);
    if (existing && (existing.hostPort !== p.hostPort || existing.hostIP !== p.hostIP)) {
      throw new K3tsError("INVALID_ARGUMENT", `${where}: container port ${key} is already proxied by another port mapping`, { meta: { where } });
    }
    if (existing) {
      for (const t of targets) if (!existing.targets.includes(t.name)) existing.targets.push(t.name);
      return;
    }
    proxied.set(key, {
      port: p.containerPort,
      protocol: p.protocol,
      targets: targets.map((t) => t.name),
      select: keptSelect(item.filters),
      ...(p.hostIP ? { hostIP: p.hostIP } : {}),
      ...(p.hostPort ? { hostPort: p.hostPort } : {}),
    });
  });
  return { proxied: [...proxied.values()].sort((a, b) => a.port - b.port), direct };
}

/** host.k3ts.internal and the --host-alias entries: what nodes get in /etc/hosts and pods in CoreDNS NodeHosts. */
export function hostAliases(spec: ClusterSpec, hostAddress: string | undefined): HostAlias[] {
  return [...(hostAddress ? [{ ip: hostAddress, hostnames: [HOST_ALIAS] }] : []), ...spec.hostAliases];
}

/**
 * Where nodes reach the user's host. On rootful Linux the cluster network's gateway is the host (as
 * k3d does it). Where the engine runs in a VM (k3ts itself not on Linux: Docker Desktop, Colima,
 * Podman machine, Rancher Desktop; or Docker Desktop on Linux) or rootless (the gateway is inside
 * RootlessKit's or Podman's network namespace), the gateway is not the host: the engine's
 * `host-gateway` is, where it supports it (Docker >= 20.10, Podman >= 4.7). Engines without it
 * keep the gateway.
 */
export function hostAddressFor(info: Pick<RuntimeInfo, "os" | "capabilities">, gateway: string | undefined, platform: string = process.platform): string | undefined {
  const behindVm = platform !== "linux" || /docker desktop/i.test(info.os);
  if ((behindVm || info.capabilities.rootless) && info.capabilities.hostGateway) return "host-gateway";
  return gateway;
}

/** The slots of a cluster with these counts (and its load balancer). */
function slotsOf(cluster: string, servers: number, agents: number, loadBalancer: boolean): Slot[] {
  return [
    ...Array.from({ length: servers }, (_, i) => ({ role: "server" as const, index: i, name: names.server(cluster, i) })),
    ...Array.from({ length: agents }, (_, i) => ({ role: "agent" as const, index: i, name: names.agent(cluster, i) })),
    ...(loadBalancer ? [{ role: "loadbalancer" as const, index: 0, name: names.loadBalancer(cluster) }] : []),
  ];
}

/**
 * The one builder of node specs: every node a cluster ever gets (at create, added later, the load
 * balancer recreated by a port edit) is built here from the cluster's spec, so an added server runs
 * with the same k3s arguments, env, volumes, limits and host aliases as the first ones (k3s refuses
 * a joining server whose critical arguments differ). Node filters select among `slots`.
 */
function nodePlanner(spec: ClusterSpec, ctx: PlanContext, slots: Slot[]) {
  const c = spec.name;
  const envSel = select(spec.env, slots, "env", false);
  const argSel = select(spec.k3sArgs, slots, "k3sArgs", false);
  const labelSel = select(spec.nodeLabels, slots, "nodeLabels", false);
  const runtimeLabelSel = select(spec.runtimeLabels, slots, "runtimeLabels", true);
  const volumeSel = select(spec.volumes, slots, "volumes", true);
  const fileSel = select((spec.files ?? []).map((f, i) => ({ value: i, filters: f.filters })), slots, "files", true);
  const { proxied, direct } = planPorts(spec, slots);
  const host = apiHostName(spec);
  const joinUrl = `https://${ctx.joinServer ?? names.server(c, 0)}:${K3S_API_PORT}`;
  const common = {
    [LABELS.cluster]: c,
    [LABELS.network]: ctx.network,
    [LABELS.networkExternal]: String(ctx.networkExternal),
    ...(ctx.createId ? { [LABELS.createId]: ctx.createId } : {}),
    [LABELS.apiHost]: host,
    [LABELS.apiHostIP]: spec.api.hostIP,
    [LABELS.apiPort]: String(ctx.apiHostPort),
    ...(spec.hostAliases.length ? { [LABELS.hostAliases]: JSON.stringify(spec.hostAliases) } : {}),
  };
  const apiMapping: PortMapping = { containerPort: K3S_API_PORT, protocol: "tcp", hostIP: spec.api.hostIP, hostPort: ctx.apiHostPort };

  const forNode = <T>(sel: Array<{ value: T; nodes: Set<string> }>, name: string) => sel.filter((s) => s.nodes.has(name)).map((s) => s.value);
  const volumesFor = (name: string): VolumeMount[] =>
    forNode(volumeSel, name).map((v) => ({
      type: v.source && v.source.startsWith("/") ? "bind" : "volume",
      source: v.source ?? `${names.network(c)}-anon-${createHash("sha256").update(v.target).digest("hex").slice(0, 8)}`,
      target: v.target,
      readOnly: v.readOnly,
    }));
  const runtimeLabelsFor = (name: string) => Object.fromEntries(forNode(runtimeLabelSel, name).map((kv) => [kv.key, kv.value]));
  const capAddSel = select(spec.capAdd ?? [], slots, "capAdd", true);
  const capAddFor = (name: string): { capAdd?: string[] } => {
    const caps = [...new Set(forNode(capAddSel, name))];
    return caps.length ? { capAdd: caps } : {};
  };

  const k3sNode = (slot: Slot): PlannedNode => {
    const isServer = slot.role === "server";
    const args: string[] = [isServer ? "server" : "agent"];
    if (isServer) {
      if (slot.index === 0 && spec.servers > 1) args.push("--cluster-init");
      args.push("--tls-san", host);
      if (spec.loadBalancer.enabled) args.push("--tls-san", names.loadBalancer(c));
    }
    for (const kv of forNode(labelSel, slot.name)) args.push("--node-label", nodeLabelArg(kv));
    args.push(...forNode(argSel, slot.name));
    const env: Record<string, string> = {
      K3S_TOKEN_FILE: TOKEN_FILE_IN_NODE,
      ...(isServer ? { K3S_KUBECONFIG_OUTPUT: KUBECONFIG_IN_NODE } : {}),
      ...(slot.role === "agent" || slot.index > 0 ? { K3S_URL: joinUrl } : {}),
      ...Object.fromEntries(forNode(envSel, slot.name).map((kv) => [kv.key, kv.value])),
    };
    const ports = [...(!spec.loadBalancer.enabled && isServer && slot.index === 0 ? [apiMapping] : []), ...(direct.get(slot.name) ?? [])];
    const memory = isServer ? spec.memory.servers : spec.memory.agents;
    const fixed = isServer ? ctx.serverAddresses?.get(slot.index) : undefined;
    return {
      role: slot.role,
      index: slot.index,
      files: forNode(fileSel, slot.name),
      spec: {
        name: slot.name,
        hostname: slot.name,
        image: spec.image,
        entrypoint: [NODE_ENTRYPOINT],
        command: args,
        env,
        labels: {
          ...runtimeLabelsFor(slot.name),
          ...baseLabels(ctx.k3tsVersion, common),
          [LABELS.role]: slot.role,
          [LABELS.nodeIndex]: String(slot.index),
          ...(isServer && slot.index === 0 && spec.servers > 1 ? { [LABELS.serverInit]: "true" } : {}),
          ...(fixed ? { [LABELS.staticIP]: fixed } : {}),
        },
        network: { name: ctx.network, ...(fixed ? { ipv4: fixed } : {}) },
        ports,
        volumes: volumesFor(slot.name),
        tmpfs: { "/run": "", "/var/run": "" },
        privileged: spec.privileged,
        ...switchedNodeSettings(spec),
        ...capAddFor(slot.name),
        init: true,
        restart: "unless-stopped",
        extraHosts: hostAliases(spec, ctx.hostAddress ?? ctx.gateway),
        ...(memory ? { memoryBytes: memory } : {}),
        ...(spec.ulimits?.length ? { ulimits: spec.ulimits } : {}),
      },
    };
  };

  /** The load balancer, publishing the API and `published` (the proxied ports; by default the spec's). */
  const loadBalancer = (published: PortMapping[] = proxied.map(mappingOf)): PlannedNode => {
    const name = names.loadBalancer(c);
    return {
      role: "loadbalancer",
      index: 0,
      files: forNode(fileSel, name),
      spec: loadBalancerNodeSpec({
        name,
        image: spec.loadBalancer.image,
        network: ctx.network,
        labels: { ...runtimeLabelsFor(name), ...baseLabels(ctx.k3tsVersion, common) },
        api: apiMapping,
        published,
        volumes: volumesFor(name),
        ...capAddFor(name),
        extraHosts: hostAliases(spec, ctx.hostAddress ?? ctx.gateway),
      }),
    };
  };
  return { k3sNode, loadBalancer, proxied, apiServerUrl: `https://${host}:${ctx.apiHostPort}` };
}

const mappingOf = (p: ProxiedPort): PortMapping => ({
  containerPort: p.port,
  protocol: p.protocol,
  ...(p.hostIP ? { hostIP: p.hostIP } : {}),
  ...(p.hostPort ? { hostPort: p.hostPort } : {}),
});

/** k3s passes node labels to the kubelet's --node-labels, which refuses a KEY without `=` (k3d writes KEY=VALUE too). */
export function nodeLabelArg(kv: { key: string; value: string }): string {
  return `${kv.key}=${kv.value}`;
}

/** Do the cluster's servers run embedded etcd (several servers, or --cluster-init asked for)? */
export function hasEmbeddedEtcd(spec: Pick<ClusterSpec, "servers" | "k3sArgs">): boolean {
  return spec.servers > 1 || spec.k3sArgs.some((a) => a.value === "--cluster-init");
}

/**
 * The most nodes of a role k3ts makes in one cluster: far past what a machine runs (and etcd, whose
 * members past 7 only slow it), so a typo (`--agents 10000000`) is refused before anything is planned.
 */
export const MAX_NODES = { servers: 99, agents: 999 } as const;

/** Server and agent counts k3ts can make: at least one server, none negative, within MAX_NODES. */
export function checkNodeCounts(spec: Pick<ClusterSpec, "servers" | "agents">): void {
  for (const role of ["servers", "agents"] as const) {
    if (!Number.isInteger(spec[role])) throw new K3tsError("INVALID_ARGUMENT", `${role}: want a whole number (got ${spec[role]})`, { meta: { where: role, value: spec[role] } });
  }
  if (spec.servers < 1) throw new K3tsError("INVALID_ARGUMENT", `servers: a cluster needs at least one server (got ${spec.servers})`, { meta: { where: "servers" } });
  if (spec.agents < 0) throw new K3tsError("INVALID_ARGUMENT", `agents: cannot be negative (got ${spec.agents})`, { meta: { where: "agents" } });
  for (const role of ["servers", "agents"] as const) {
    if (spec[role] > MAX_NODES[role]) {
      throw new K3tsError("INVALID_ARGUMENT", `${role}: ${spec[role]} is more than k3ts makes (at most ${MAX_NODES[role]} ${role} in a cluster)`, { meta: { where: role, value: spec[role], max: MAX_NODES[role] } });
    }
  }
}

/** Plans every node of a cluster. Throws INVALID_ARGUMENT (with where) for filters that do not fit. */
export function planCluster(spec: ClusterSpec, ctx: PlanContext): ClusterPlan {
  checkNodeCounts(spec);
  const slots = slotsOf(spec.name, spec.servers, spec.agents, spec.loadBalancer.enabled);
  const planner = nodePlanner(spec, ctx, slots);
  const { k3sNode, proxied, apiServerUrl } = planner;
  const servers = slots.filter((s) => s.role === "server").map(k3sNode);
  const agents = slots.filter((s) => s.role === "agent").map(k3sNode);
  let loadBalancer: PlannedNode | undefined;
  let loadBalancerConfig: string | undefined;
  let loadBalancerState: LoadBalancerState | undefined;
  if (spec.loadBalancer.enabled) {
    loadBalancerState = {
      ports: [{ port: K3S_API_PORT, protocol: "tcp", targets: servers.map((s) => s.spec.name), hostIP: spec.api.hostIP, hostPort: ctx.apiHostPort }, ...proxied],
    };
    loadBalancerConfig = renderLoadBalancerConfig(loadBalancerState, servers.length);
    loadBalancer = planner.loadBalancer();
  }
  return {
    network: ctx.network,
    servers,
    agents,
    ...(loadBalancer ? { loadBalancer } : {}),
    ...(loadBalancerConfig ? { loadBalancerConfig } : {}),
    ...(loadBalancerState ? { loadBalancerState } : {}),
    apiServerUrl,
    proxiedPorts: proxied,
  };
}

/**
 * Where k3ts keeps, in every k3s node, the spec later nodes are built from (0600: the env it holds
 * may carry secrets, so it goes in no label). Read back by `node create` and `cluster edit`.
 */
export const CLUSTER_SPEC_IN_NODE = "/etc/rancher/k3ts/cluster.json";

/** What shapes a cluster's nodes; what one create did once (token, files, registries, waits) is not kept. */
export type NodeShapingSpec = Omit<ClusterSpec, "token" | "files" | "registries" | "wait" | "timeoutMs" | "rollback" | "kubeconfig">;

const ALL_SERVERS: NodeFilter[] = [{ group: "server", subset: "*", source: "server:*" }];

/** The spec as kept in the nodes (JSON). */
export function recordClusterSpec(spec: ClusterSpec): string {
  const { token: _token, files: _files, registries: _registries, wait: _wait, timeoutMs: _timeout, rollback: _rollback, kubeconfig: _kubeconfig, ...kept } = spec;
  // Unfiltered env, k3s args and node labels are allowed only while the cluster has one k3s node, its
  // server-0; they are kept as the servers' so that later nodes read them so (an added server needs the
  // first one's k3s arguments, an agent must not get server-only ones).
  const single = spec.servers + spec.agents === 1;
  const pin = <T>(items: Array<Filtered<T>>): Array<Filtered<T>> => (single ? items.map((i) => (i.filters.length ? i : { ...i, filters: ALL_SERVERS })) : items);
  const record: NodeShapingSpec = { ...kept, env: pin(kept.env), k3sArgs: pin(kept.k3sArgs), nodeLabels: pin(kept.nodeLabels) };
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** A file k3ts writes into a node before it starts. */
export interface NodeFile {
  path: string;
  content: string | Uint8Array;
  mode: number;
}

/** What every k3s node gets before it starts, besides its token: the entrypoint it runs and the cluster's spec. */
export function k3sNodeFiles(spec: ClusterSpec, node?: Pick<NodeSpec, "memoryBytes">): NodeFile[] {
  return [
    { path: NODE_ENTRYPOINT, content: NODE_ENTRYPOINT_SCRIPT, mode: 0o755 },
    { path: CLUSTER_SPEC_IN_NODE, content: recordClusterSpec(spec), mode: 0o600 },
    ...(node?.memoryBytes ? [{ path: NODE_MEMINFO, content: fakeMeminfo(node.memoryBytes), mode: 0o444 }] : []),
  ];
}

/** A kept spec as a ClusterSpec again (the create-only fields as a create that waits would have them). */
export function readClusterSpecRecord(text: string): ClusterSpec {
  const kept = JSON.parse(text) as NodeShapingSpec;
  return { ...kept, wait: true, timeoutMs: 0, rollback: true, kubeconfig: { update: false, switchContext: false } };
}

/**
 * Nodes added to a running cluster, built as create builds them: the same k3s arguments, env,
 * labels, volumes, limits and host aliases, by the same node filters (indices beyond the cluster's
 * first size select nothing new: filters name the nodes of that size). They publish no ports of
 * their own (direct ports belong to the nodes named at create).
 */
export function planAddedNodes(
  spec: ClusterSpec,
  ctx: PlanContext,
  role: "server" | "agent",
  indices: number[],
  existing: { servers: number[]; agents: number[] },
  /** Container names for the new nodes, by position in `indices` (k3d's `node create NAME`); default k3ts-CLUSTER-ROLE-N. */
  nodeNames?: string[],
): PlannedNode[] {
  const top = (first: number, more: number[]) => Math.max(first - 1, ...more) + 1;
  const servers = top(spec.servers, [...existing.servers, ...(role === "server" ? indices : [])]);
  const agents = top(spec.agents, [...existing.agents, ...(role === "agent" ? indices : [])]);
  const slots = slotsOf(spec.name, servers, agents, spec.loadBalancer.enabled).map((s) => {
    const at = s.role === role ? indices.indexOf(s.index) : -1;
    return at >= 0 && nodeNames?.[at] ? { ...s, name: nodeNames[at]! } : s;
  });
  const planner = nodePlanner({ ...spec, ports: [] }, ctx, slots);
  return indices.map((i) => planner.k3sNode(slots.find((s) => s.role === role && s.index === i)!));
}

/** The load balancer built anew (a port edit recreates it): the API and `published`, as create builds it otherwise. */
export function planLoadBalancer(spec: ClusterSpec, ctx: PlanContext, published: PortMapping[]): PlannedNode {
  const slots = slotsOf(spec.name, spec.servers, spec.agents, true);
  return nodePlanner({ ...spec, ports: [] }, ctx, slots).loadBalancer(published);
}
