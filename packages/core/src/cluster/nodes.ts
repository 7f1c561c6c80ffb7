/**
 * Changing a running cluster: adding and removing nodes, and adding or removing load-balancer ports.
 * New nodes are built from what the cluster records about itself (labels on its nodes, the token file
 * in server-0, the load balancer's port table), never from a stored copy of the create flags.
 */
import { K3tsError, isK3tsError } from "../errors.js";
import { LABELS } from "../labels.js";
import { silentProgress, withStep } from "../logger.js";
import type { Runtime } from "../runtime.js";
import type { Node, NodeSpec } from "../types.js";
import { crashCheck } from "./crash.js";
import { accessFromKubeconfig, kubeRequest, waitForReady, type KubeAccess } from "./kubeapi.js";
import { getCluster, getKubeconfig, readKeptSpec, type ClusterSummary, type LifecycleOptions } from "./query.js";
import { CLUSTER_SPEC_IN_NODE, nodeLabelArg, planAddedNodes, planLoadBalancer, hasEmbeddedEtcd, MAX_NODES, k3sNodeFiles, TOKEN_FILE_IN_NODE, type PlanContext } from "./plan.js";
import {
  addTargets,
  applyLoadBalancerState,
  editPorts,
  publishedPorts,
  readLoadBalancerState,
  recreateLoadBalancer,
  removeTarget,
  type LoadBalancerState,
} from "./loadbalancer/index.js";
import { serverAddresses } from "./addresses.js";
import { validateDnsLabel } from "./parse.js";
import { addressInNode } from "./nodehosts.js";
import { HOST_ALIAS, REGISTRIES_YAML, names, type ClusterSpec, type Filtered, type PortSpec } from "./spec.js";
import { VERSION } from "../version.js";
import { ensureImages } from "./pull.js";

export interface AddNodesOptions extends LifecycleOptions {
  role: "server" | "agent";
  count?: number;
  /**
   * k3d's `node create NAME`: the new nodes are named k3ts-NAME-0 … (k3d's k3d-NAME-N) instead of
   * k3ts-CLUSTER-ROLE-N. Their role and index labels place them in the cluster as usual.
   */
  name?: string;
  /** Default: the image of the cluster's nodes of that role (else server-0's). */
  image?: string;
  memoryBytes?: number;
  nodeLabels?: Array<{ key: string; value: string }>;
  k3sArgs?: string[];
  runtimeLabels?: Record<string, string>;
  wait?: boolean;
  timeoutMs?: number;
}

/** The spec the cluster's nodes were built from, as its servers keep it (the first that has it answers). */
async function readClusterSpec(runtime: Runtime, cluster: ClusterSummary, o: { signal?: AbortSignal }): Promise<ClusterSpec> {
  const spec = await readKeptSpec(runtime, cluster.servers, o);
  if (spec) return spec;
  throw new K3tsError("INVALID_ARGUMENT", `cluster ${cluster.name} keeps no spec (${CLUSTER_SPEC_IN_NODE}): it was made by an older k3ts, whose nodes cannot be copied`, {
    meta: { cluster: cluster.name },
    hint: `recreate it with this k3ts (k3ts cluster delete ${cluster.name}, then create)`,
  });
}

/** What planning needs of a running cluster: its labels, its network's gateway, its token; nodes join its first server. */
async function planContextOf(runtime: Runtime, cluster: ClusterSummary, k3tsVersion: string, o: { signal?: AbortSignal }): Promise<PlanContext> {
  const first = await runtime.nodes.inspect(cluster.servers[0]!.name, o);
  const token = (await runtime.nodes.readFile(first.name, TOKEN_FILE_IN_NODE, o)).toString("utf8").trim();
  const network = first.labels[LABELS.network] ?? names.network(cluster.name);
  const gateway = (await runtime.networks.inspect(network, o)).gateway;
  // New nodes reach the host where the first ones do (the engine resolved host-gateway there, if used).
  const hostAddress = await addressInNode(runtime, first.name, HOST_ALIAS, o).catch(() => undefined);
  return {
    apiHostPort: Number(first.labels[LABELS.apiPort]),
    network,
    networkExternal: first.labels[LABELS.networkExternal] === "true",
    ...(gateway ? { gateway } : {}),
    ...(hostAddress ? { hostAddress } : {}),
    token,
    k3tsVersion,
    joinServer: first.name,
  };
}

/** Fixed addresses for added servers when the cluster's servers have them (create gave them: see addresses.ts). */
async function addedServerAddresses(runtime: Runtime, cluster: ClusterSummary, network: string, indices: number[], o: { signal?: AbortSignal }): Promise<Map<number, string> | undefined> {
  const fixed = await Promise.all(cluster.servers.map(async (s) => (await runtime.nodes.inspect(s.name, o)).labels[LABELS.staticIP]));
  if (!fixed.some(Boolean)) return undefined;
  const net = await runtime.networks.inspect(network, o);
  if (!net.subnet) return undefined;
  const addresses = serverAddresses(net.subnet, indices.length, [net.gateway, ...net.members.map((m) => m.ipv4), ...fixed]);
  return new Map(indices.map((index, i) => [index, addresses[i]!]));
}

/**
 * Adds servers or agents to a running cluster, built by create's own planner from the spec the
 * cluster keeps (an added server gets the first ones' k3s arguments, env, volumes and limits, minus
 * --cluster-init, as k3d copies a server); servers are added to the load balancer in place.
 */
export async function addNodes(clusterName: string, opts: AddNodesOptions): Promise<string[]> {
  const { runtime, signal } = opts;
  const o = signal ? { signal } : {};
  const progress = opts.progress ?? silentProgress;
  const count = opts.count ?? 1;
  const max = MAX_NODES[opts.role === "server" ? "servers" : "agents"];
  if (!Number.isInteger(count) || count < 1 || count > max) {
    throw new K3tsError("INVALID_ARGUMENT", `count: ${count} is not a number of nodes k3ts adds (1 to ${max} ${opts.role}s)`, { meta: { where: "count", value: count, max } });
  }
  const cluster = await getCluster(clusterName, { runtime, signal });
  if (cluster.servers.length === 0) throw new K3tsError("CLUSTER_NOT_READY", `cluster ${clusterName} has no server`, { meta: { cluster: clusterName } });
  const spec = await readClusterSpec(runtime, cluster, o);
  if (opts.role === "server" && !hasEmbeddedEtcd(spec)) {
    throw new K3tsError("INVALID_ARGUMENT", `cluster ${clusterName} runs a single server without embedded etcd; servers can only join clusters created with --servers 2 or more`, {
      meta: { cluster: clusterName, role: opts.role },
    });
  }
  const ctx = await planContextOf(runtime, cluster, opts.k3tsVersion ?? VERSION, o);
  const existing = { servers: cluster.servers.map((n) => n.index), agents: cluster.agents.map((n) => n.index) };
  const next = Math.max(-1, ...(opts.role === "server" ? existing.servers : existing.agents)) + 1;
  const indices = Array.from({ length: count }, (_, i) => next + i);
  if (opts.role === "server") ctx.serverAddresses = await addedServerAddresses(runtime, cluster, ctx.network, indices, o);
  let nodeNames: string[] | undefined;
  if (opts.name) {
    // It becomes the k3s node name too: a DNS label (the kubelet refuses others).
    validateDnsLabel(opts.name, "NAME", "node name", 50);
    nodeNames = indices.map((_, i) => `k3ts-${opts.name}-${i}`);
    const taken = (await runtime.nodes.list({}, o)).map((n) => n.name).filter((n) => nodeNames!.includes(n));
    if (taken.length) throw new K3tsError("INVALID_ARGUMENT", `NAME ${opts.name}: ${taken.join(", ")} already exist${taken.length === 1 ? "s" : ""}`, { meta: { flag: "NAME", taken }, hint: "pick another name" });
  }
  const specs: NodeSpec[] = planAddedNodes(spec, ctx, opts.role, indices, existing, nodeNames).map(({ spec: planned }) => ({
    ...planned,
    image: opts.image ?? planned.image,
    command: [...(planned.command ?? []), ...(opts.nodeLabels ?? []).flatMap((l) => ["--node-label", nodeLabelArg(l)]), ...(opts.k3sArgs ?? [])],
    labels: { ...opts.runtimeLabels, ...planned.labels },
    ...((opts.memoryBytes ?? planned.memoryBytes) ? { memoryBytes: opts.memoryBytes ?? planned.memoryBytes } : {}),
  }));
  const lbName = cluster.loadBalancer?.name;
  // New nodes use the cluster's registries as the others do (k3d copies the file from a node too).
  let registriesYaml: Buffer | undefined;
  try {
    registriesYaml = await runtime.nodes.readFile(ctx.joinServer!, REGISTRIES_YAML, o);
  } catch (err) {
    if (!isK3tsError(err, "FILE_NOT_FOUND")) throw err;
  }
  await ensureImages(runtime, specs.map((s) => s.image), { progress, ...o });
  const made: string[] = [];
  // The load balancer's state as it was, once this add began to change it: put back if the add fails.
  let lbBefore: LoadBalancerState | undefined;
  try {
    await withStep(progress, `Adding ${specs.length} ${opts.role}(s) to ${clusterName}`, async () => {
      for (const node of specs) {
        await runtime.nodes.create(node, o);
        made.push(node.name);
        await runtime.nodes.writeFile(node.name, TOKEN_FILE_IN_NODE, `${ctx.token}\n`, { mode: 0o600, ...o });
        for (const f of k3sNodeFiles(spec, node)) await runtime.nodes.writeFile(node.name, f.path, f.content, { mode: f.mode, ...o });
        if (registriesYaml) await runtime.nodes.writeFile(node.name, REGISTRIES_YAML, registriesYaml, { mode: 0o644, ...o });
        await runtime.nodes.start(node.name, o);
      }
    });
    if (opts.wait !== false) {
      const access = accessFromKubeconfig(await getKubeconfig(clusterName, { runtime }));
      const expected = [...cluster.servers, ...cluster.agents].map((n) => n.name).concat(made);
      await withStep(progress, `Waiting for ${made.join(", ")} to be Ready`, (step) =>
        waitForReady(access, expected, {
          ...o,
          ...(opts.timeoutMs ? { deadline: Date.now() + opts.timeoutMs } : {}),
          onStatus: (s) => step.update(s),
          check: crashCheck(runtime, made, { cluster: clusterName, ...o }),
        }),
      );
    }
    if (lbName) {
      const state = await readLoadBalancerState(runtime, lbName, signal);
      const added = indices.map((index, i) => ({ name: made[i]!, index }));
      const before = structuredClone(state);
      if (addTargets(state, opts.role, added, [...cluster.servers, ...cluster.agents].map((n) => n.name))) {
        lbBefore = before;
        await withStep(progress, `Adding ${made.join(", ")} to load balancer ${lbName}`, () =>
          applyLoadBalancerState(runtime, lbName, state, cluster.servers.length + (opts.role === "server" ? made.length : 0), signal),
        );
      }
    }
    return made;
  } catch (err) {
    for (const name of made) {
      await runtime.nodes.delete(name, { force: true }).catch((e: unknown) => {
        if (!isK3tsError(e, "NODE_NOT_FOUND")) opts.logger?.warn(`node ${name} could not be removed after the failed add (${(e as Error).message}); remove it with k3ts node delete ${name}`);
      });
    }
    // A server that joined stays an etcd member until its Node is deleted (k3s' etcd member controller):
    // without this, a rollback after the join leaves a member that never comes back (one loss closer to no quorum).
    if (made.length) {
      const access = await accessIfReachable(runtime, clusterName);
      for (const name of made) await deleteNodeObject(access, name, opts.logger);
    }
    // A state written with the new nodes in it would name nodes that are gone: nginx refuses every later reload.
    if (lbName && lbBefore) {
      await applyLoadBalancerState(runtime, lbName, lbBefore, cluster.servers.length).catch((e: unknown) =>
        opts.logger?.warn(`the load balancer ${lbName} could not be put back as it was (${(e as Error).message}): its upstreams may name ${made.join(", ")}, which are gone, and nginx refuses to reload until they are taken out`),
      );
    }
    throw err;
  }
}

/** The cluster's API access from its kubeconfig, or undefined when it cannot be had (a stopped cluster): for best-effort calls. */
function accessIfReachable(runtime: Runtime, cluster: string): Promise<KubeAccess | undefined> {
  return getKubeconfig(cluster, { runtime })
    .then((k) => accessFromKubeconfig(k))
    .catch(() => undefined);
}

/** Deletes a node's Kubernetes Node object (gone already is fine); says so when it could not. */
async function deleteNodeObject(access: KubeAccess | undefined, name: string, logger: LifecycleOptions["logger"]): Promise<void> {
  const res = access ? await kubeRequest(access, `/api/v1/nodes/${encodeURIComponent(name.toLowerCase())}`, { method: "DELETE" }).catch((e: Error) => ({ status: 0, body: e.message })) : undefined;
  if (!res || (res.status >= 300 && res.status !== 404)) {
    logger?.warn(`the Kubernetes Node ${name} could not be deleted (${res ? `HTTP ${res.status}` : "API not reachable"}); remove it with kubectl delete node ${name}`);
  }
}

/** Removes nodes from their cluster (never the last server); servers leave the load balancer first. */
export async function deleteNodes(nodeNames: string[], opts: LifecycleOptions): Promise<string[]> {
  const { runtime } = opts;
  const progress = opts.progress ?? silentProgress;
  const removed: string[] = [];
  for (const name of nodeNames) {
    let node: Node;
    try {
      node = await runtime.nodes.inspect(name);
    } catch (err) {
      if (isK3tsError(err, "NODE_NOT_FOUND")) continue;
      throw err;
    }
    const clusterName = node.labels[LABELS.cluster];
    if (node.labels[LABELS.managed] !== "true" || !clusterName) {
      throw new K3tsError("INVALID_ARGUMENT", `${name} is not a k3ts node`, { meta: { node: name } });
    }
    const cluster = await getCluster(clusterName, { runtime });
    const role = node.labels[LABELS.role];
    if (role === "loadbalancer") throw new K3tsError("INVALID_ARGUMENT", `${name} is the load balancer of ${clusterName}; delete the cluster instead`, { meta: { node: name } });
    if (role === "server" && cluster.servers.length === 1) {
      throw new K3tsError("INVALID_ARGUMENT", `${name} is the last server of ${clusterName}; delete the cluster instead`, { meta: { node: name } });
    }
    // The Node object goes too (k3d leaves it NotReady forever; for a server, k3s also drops its etcd member when
    // its Node is deleted). Best effort: a stopped cluster keeps the object, and says so.
    const access = await accessIfReachable(runtime, clusterName);
    await withStep(progress, `Deleting node ${name}`, async () => {
      // Out of the load balancer's upstreams first (servers: the API; any node: proxied ports): nginx
      // refuses to reload while an upstream name no longer resolves.
      if (cluster.loadBalancer) {
        const state = await readLoadBalancerState(runtime, cluster.loadBalancer.name);
        if (removeTarget(state, name)) await applyLoadBalancerState(runtime, cluster.loadBalancer.name, state, cluster.servers.length - (role === "server" ? 1 : 0));
      }
      await runtime.nodes.delete(name, { force: true });
      await deleteNodeObject(access, name, opts.logger);
    });
    removed.push(name);
  }
  return removed;
}

export interface EditPortsOptions extends LifecycleOptions {
  add?: Array<Filtered<PortSpec>>;
  /** Ports to stop forwarding, matched by container port and protocol. */
  remove?: PortSpec[];
}

/**
 * Adds or removes ports forwarded by the load balancer. Published host ports are fixed when a
 * container is created, so the load balancer alone is recreated (its nodes keep running); if the new
 * one fails to start, the old one is put back.
 */
export async function editClusterPorts(clusterName: string, opts: EditPortsOptions): Promise<ClusterSummary> {
  const { runtime } = opts;
  const progress = opts.progress ?? silentProgress;
  const cluster = await getCluster(clusterName, { runtime });
  const lbName = cluster.loadBalancer?.name;
  if (!lbName) throw new K3tsError("INVALID_ARGUMENT", `cluster ${clusterName} has no load balancer; ports can only be edited on clusters with one`, { meta: { cluster: clusterName } });
  const lb = await runtime.nodes.inspect(lbName);
  const oldState = await readLoadBalancerState(runtime, lbName);
  const state = structuredClone(oldState);
  const slots = [
    ...cluster.servers.map((n) => ({ role: "server" as const, index: n.index, name: n.name })),
    ...cluster.agents.map((n) => ({ role: "agent" as const, index: n.index, name: n.name })),
    { role: "loadbalancer" as const, index: 0, name: lbName },
  ];
  editPorts(state, slots, { ...(opts.add ? { add: opts.add } : {}), ...(opts.remove ? { remove: opts.remove } : {}) });
  // Built by create's planner from the spec the cluster keeps: its host aliases, volumes and labels stay.
  const clusterSpec = await readClusterSpec(runtime, cluster, {});
  const ctx = await planContextOf(runtime, cluster, opts.k3tsVersion ?? VERSION, {});
  const next = { spec: planLoadBalancer(clusterSpec, ctx, publishedPorts(state, lb.ports)).spec, state };
  const old = { spec: planLoadBalancer(clusterSpec, ctx, lb.ports.map((p) => ({ containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIP, hostPort: p.hostPort }))).spec, state: oldState };
  await withStep(progress, `Recreating load balancer ${lbName} with the new ports`, () => recreateLoadBalancer(runtime, next, old, cluster.servers.length, opts.logger));
  return getCluster(clusterName, { runtime });
}
