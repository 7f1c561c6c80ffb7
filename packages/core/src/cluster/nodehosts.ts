/**
 * Names pods resolve through CoreDNS. Pods do not see a node's /etc/hosts: k3s's CoreDNS answers
 * from `hosts /etc/coredns/NodeHosts`, the `NodeHosts` key of `kube-system/coredns`, which k3s's node
 * controller fills with the nodes (pkg/node/controller.go) and otherwise leaves alone. k3ts adds
 * `host.k3ts.internal`, every `--host-alias`, and the registries and load balancer on the cluster
 * network there (what k3d does by rewriting coredns.yaml), so `host.k3ts.internal`, an alias or
 * `k3ts-REGISTRY` resolve in pods as on the nodes.
 *
 * The text keeps k3s's own rules, since its node controller rewrites it on every node change: one
 * line per address (`IP NAME…`; a second line for the same address would replace the first), no
 * comments (dropped), lines sorted by address. The names k3ts wrote are listed in an annotation of
 * the ConfigMap, so a later sync removes what is no longer there (a deleted registry) and never
 * touches the nodes' lines.
 */
import { K3tsError } from "../errors.js";
import type { Runtime } from "../runtime.js";
import type { HostAlias, NetworkInfo } from "../types.js";
import { kubeRequest, listNodeReadiness, type KubeAccess } from "./kubeapi.js";
import { readKeptSpec } from "./query.js";
import { HOST_ALIAS } from "./spec.js";

export const NODE_HOSTS_ANNOTATION = "k3ts.io/node-hosts";
const PATH = "/api/v1/namespaces/kube-system/configmaps/coredns";

function ipKey(ip: string): number[] {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...ip.split(".").map(Number)];
  const [head = "", tail = ""] = ip.split("::");
  const split = (s: string) => (s ? s.split(":") : []);
  const h = split(head);
  const t = split(tail);
  const groups = ip.includes("::") ? [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t] : h;
  return groups.flatMap((g) => {
    const n = parseInt(g, 16) || 0;
    return [n >> 8, n & 0xff];
  });
}

function compareIPs(a: string, b: string): number {
  const x = ipKey(a);
  const y = ipKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? -1) !== (y[i] ?? -1)) return (x[i] ?? -1) - (y[i] ?? -1);
  return 0;
}

/**
 * NodeHosts with `entries` merged in: names listed in `managedBefore` are first taken out of every
 * line (lines left without names go), then each entry's names join its address's line. Returns the
 * text and the names k3ts now manages.
 */
export function mergeNodeHosts(
  current: string,
  entries: HostAlias[],
  managedBefore: readonly string[] = [],
  /** The k3s nodes' current addresses: a node's line at another address is stale (k3s drops it, with every name on it, when it catches up). */
  nodeAddresses: ReadonlyMap<string, string | undefined> = new Map(),
): { text: string; managed: string[] } {
  const drop = new Set(managedBefore.map((n) => n.toLowerCase()));
  const byIP = new Map<string, string[]>();
  for (const raw of current.split("\n")) {
    const fields = (raw.split("#")[0] ?? "").trim().split(/\s+/).filter(Boolean);
    if (fields.length < 2) continue;
    const [ip, ...names] = fields as [string, ...string[]];
    const nodeIP = nodeAddresses.get(names[0]!);
    if (nodeIP && nodeIP !== ip) continue;
    const kept = names.filter((n) => !drop.has(n.toLowerCase()));
    if (kept.length) byIP.set(ip, kept); // a later line for the same address replaces the first, as k3s reads it
  }
  const managed: string[] = [];
  for (const e of entries) {
    const names = byIP.get(e.ip) ?? [];
    for (const h of e.hostnames) {
      if (!names.some((n) => n.toLowerCase() === h.toLowerCase())) names.push(h);
      if (!managed.includes(h)) managed.push(h);
    }
    byIP.set(e.ip, names);
  }
  const text = [...byIP.keys()]
    .sort(compareIPs)
    .map((ip) => `${ip} ${byIP.get(ip)!.join(" ")}\n`)
    .join("");
  return { text, managed };
}

interface ConfigMap {
  metadata: { resourceVersion?: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

export interface SyncNodeHostsOptions {
  signal?: AbortSignal;
  /** The k3s nodes' current addresses (see mergeNodeHosts). */
  nodeAddresses?: ReadonlyMap<string, string | undefined>;
  /** How long to wait for k3s to create the ConfigMap (default 60 s; 0 = do not wait). */
  waitMs?: number;
}

/**
 * Writes k3ts's entries into `kube-system/coredns` NodeHosts (an update with the read
 * resourceVersion, again on a conflict with k3s's node controller). Returns false when the cluster
 * has no CoreDNS (`--disable coredns`: the ConfigMap never appears), true once written or already right.
 */
export async function syncNodeHosts(access: KubeAccess, entries: HostAlias[], options: SyncNodeHostsOptions = {}): Promise<boolean> {
  const deadline = Date.now() + (options.waitMs ?? 60_000);
  const o = options.signal ? { signal: options.signal } : {};
  for (let attempt = 0; ; attempt++) {
    const res = await kubeRequest(access, PATH, o);
    if (res.status === 404) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    if (res.status !== 200) throw new K3tsError("KUBE_API_ERROR", `reading kube-system/coredns: HTTP ${res.status}: ${res.body.slice(0, 300)}`, { meta: { status: res.status } });
    const cm = JSON.parse(res.body) as ConfigMap;
    const before = (cm.metadata.annotations?.[NODE_HOSTS_ANNOTATION] ?? "").split(",").filter(Boolean);
    const { text, managed } = mergeNodeHosts(cm.data?.NodeHosts ?? "", entries, before, options.nodeAddresses);
    if (text === (cm.data?.NodeHosts ?? "") && managed.join(",") === before.join(",")) return true;
    const next = {
      ...cm,
      metadata: { ...cm.metadata, annotations: { ...cm.metadata.annotations, [NODE_HOSTS_ANNOTATION]: managed.join(",") } },
      data: { ...cm.data, NodeHosts: text },
    };
    const put = await kubeRequest(access, PATH, { ...o, method: "PUT", body: next });
    if (put.status === 200) return true;
    if (put.status === 409 && attempt < 10) continue; // k3s's node controller wrote in between
    throw new K3tsError("KUBE_API_ERROR", `writing NodeHosts into kube-system/coredns: HTTP ${put.status}: ${put.body.slice(0, 300)}`, { meta: { status: put.status } });
  }
}

/** Whether k3s runs without CoreDNS (`--disable coredns`, `--disable=traefik,coredns`, …). */
export function corednsDisabled(k3sArgs: readonly string[]): boolean {
  for (let i = 0; i < k3sArgs.length; i++) {
    const a = k3sArgs[i]!;
    const m = /^--?disable(?:=(.*))?$/.exec(a);
    if (!m) continue;
    const value = m[1] ?? k3sArgs[i + 1] ?? "";
    if (value.split(",").map((v) => v.trim()).includes("coredns")) return true;
  }
  return false;
}

/** What k3ts knows of a cluster for its NodeHosts entries. */
export interface HostNamesSource {
  /** The cluster network, whose other members (load balancer, registries, containers) get entries. */
  network: string;
  /** The k3s nodes: k3s writes their lines itself. */
  nodes: string[];
  /** host.k3ts.internal and the --host-alias entries. */
  aliases: HostAlias[];
}

/** The entries: the aliases, then every other running container on the cluster network by name (as k3d adds them). */
export function hostNameEntries(source: HostNamesSource, members: NetworkInfo["members"]): HostAlias[] {
  const others = members.filter((m) => m.ipv4 && !source.nodes.includes(m.name)).map((m) => ({ ip: m.ipv4!, hostnames: [m.name] }));
  return [...source.aliases, ...others.sort((a, b) => a.hostnames[0]!.localeCompare(b.hostnames[0]!))];
}

/**
 * The NodeHosts source of a running cluster, from the spec its servers keep (a cluster made before
 * k3ts kept one gets host.k3ts.internal only); undefined when its k3s runs without CoreDNS.
 */
export async function runningClusterHostNames(
  runtime: Runtime,
  cluster: { name: string; network: string; servers: Array<{ name: string }>; agents: Array<{ name: string }> },
  options: { signal?: AbortSignal } = {},
): Promise<HostNamesSource | undefined> {
  const spec = await readKeptSpec(runtime, cluster.servers, options);
  if (spec && corednsDisabled(spec.k3sArgs.map((a) => a.value))) return undefined;
  const gateway = (await runtime.networks.inspect(cluster.network, options)).gateway;
  return {
    network: cluster.network,
    nodes: [...cluster.servers, ...cluster.agents].map((n) => n.name),
    aliases: await hostAliasesInNodes(runtime, cluster.servers[0]!.name, spec?.hostAliases ?? [], gateway, options),
  };
}

/** The address a node's /etc/hosts gives `name` (what the engine made of `host-gateway`), if any. */
export async function addressInNode(runtime: Runtime, node: string, name: string, options: { signal?: AbortSignal } = {}): Promise<string | undefined> {
  const text = (await runtime.nodes.readFile(node, "/etc/hosts", options)).toString("utf8");
  for (const line of text.split("\n")) {
    const [ip, ...names] = (line.split("#")[0] ?? "").trim().split(/\s+/);
    if (ip && names.includes(name)) return ip;
  }
  return undefined;
}

/**
 * host.k3ts.internal and the host aliases as the nodes have them: host.k3ts.internal at the address
 * `node`'s /etc/hosts gives it (the gateway, or what the engine made of `host-gateway`), else the gateway.
 */
export async function hostAliasesInNodes(runtime: Runtime, node: string, aliases: HostAlias[], gateway: string | undefined, options: { signal?: AbortSignal } = {}): Promise<HostAlias[]> {
  const host = (await addressInNode(runtime, node, HOST_ALIAS, options).catch(() => undefined)) ?? gateway;
  return [...(host ? [{ ip: host, hostnames: [HOST_ALIAS] }] : []), ...aliases];
}

/**
 * Waits until every k3s node's Node object names the address its container has now (up to
 * `timeoutMs`; true when they agree). After a restart a container may come back with another
 * container's old address (Podman and Docker both reuse them); until its kubelet re-registers, k3s
 * still keeps the node's line at the old address, and when it moves that line it drops the whole
 * line, with any name k3ts had put on that address. Writing only once the addresses agree avoids it.
 */
export async function waitForNodeAddresses(runtime: Runtime, access: KubeAccess, source: HostNamesSource, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<NetworkInfo["members"]> {
  const o = options.signal ? { signal: options.signal } : {};
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const members = (await runtime.networks.inspect(source.network, o)).members;
    const registered = new Map((await listNodeReadiness(access, o).catch(() => [])).map((n) => [n.name, n.internalIP]));
    const current = (n: string) => members.find((m) => m.name === n)?.ipv4;
    if (source.nodes.every((n) => !current(n) || registered.get(n) === current(n)) || Date.now() >= deadline) return members;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Writes a cluster's host names into CoreDNS's NodeHosts (see syncNodeHosts), once k3s knows the nodes' current addresses. */
export async function publishHostNames(runtime: Runtime, access: KubeAccess, source: HostNamesSource, options: SyncNodeHostsOptions = {}): Promise<boolean> {
  const members = await waitForNodeAddresses(runtime, access, source, options.signal ? { signal: options.signal } : {});
  const nodeAddresses = new Map(source.nodes.map((n) => [n, members.find((m) => m.name === n)?.ipv4]));
  return syncNodeHosts(access, hostNameEntries(source, members), { ...options, nodeAddresses });
}
