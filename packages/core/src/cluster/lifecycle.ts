/**
 * Changing a cluster on any Runtime: start, stop, delete (create, with its rollback, is create.ts;
 * what is read of clusters is query.ts). Every long step is reported through Progress; Ctrl-C
 * arrives as the AbortSignal.
 */
import { existsSync } from "node:fs";
import { K3tsError, abortedError, isK3tsError } from "../errors.js";
import { LABELS } from "../labels.js";
import { silentProgress, withStep, type Progress } from "../logger.js";
import type { Runtime } from "../runtime.js";
import { accessFromKubeconfig, waitForReady } from "./kubeapi.js";
import { removeFromKubeconfig, rewriteKubeconfig, updateKubeconfigFile } from "./kubeconfig.js";
import { publishHostNames, runningClusterHostNames } from "./nodehosts.js";
import { KUBECONFIG_IN_NODE, names } from "./spec.js";
import { crashCheck, lastWords } from "./crash.js";
import { listRegistries } from "../registry/lifecycle.js";
import { clusterNodes, getCluster, kubeconfigFile, type ClusterSummary, type LifecycleOptions } from "./query.js";

/** Waits until a server has written its kubeconfig (its supervisor and certificates exist); fails at once when it crashes. */
export async function waitForKubeconfig(runtime: Runtime, cluster: string, server: string, deadline: number | undefined, signal?: AbortSignal): Promise<string> {
  const crashed = crashCheck(runtime, [server], { cluster, intervalMs: 1000, ...(signal ? { signal } : {}) });
  for (;;) {
    if (signal?.aborted) throw abortedError(signal, "waiting for the first server");
    try {
      const content = (await runtime.nodes.readFile(server, KUBECONFIG_IN_NODE, signal ? { signal } : {})).toString("utf8");
      if (content.includes("certificate-authority-data")) return content;
    } catch (err) {
      if (!isK3tsError(err, "FILE_NOT_FOUND")) throw err;
    }
    await crashed();
    if (deadline !== undefined && Date.now() >= deadline) {
      throw new K3tsError("CLUSTER_NOT_READY", `server ${server} did not write its kubeconfig in time:\n${await lastWords(runtime, server)}`, {
        meta: { node: server },
      });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Registries on a cluster's network as the cluster goes: one created with this cluster is deleted
 * unless another cluster uses it too; any other is only disconnected (so the network can go).
 */
/**
 * The registries a deleted cluster leaves: those it created go unless another cluster uses them; the
 * others are disconnected from its network, unless that network is not its own (it joined another's) and
 * another cluster uses the registry there.
 */
async function releaseRegistries(runtime: Runtime, cluster: string, network: string, external: boolean, progress: Progress, createId?: string): Promise<string[]> {
  const removed: string[] = [];
  // With a create id, a registry the cluster's name owns is this create's only if it carries the id.
  const ids = createId ? new Map((await runtime.nodes.list({ labels: { [LABELS.managed]: "true", [LABELS.role]: "registry" } })).map((n) => [n.name, n.labels[LABELS.createId]])) : undefined;
  for (const r of await listRegistries({ runtime })) {
    const owned = r.owner === cluster && (!ids || ids.get(r.name) === createId);
    const onNetwork = r.networks.includes(network);
    if (!owned && !onNetwork) continue;
    const others = r.clusters.filter((c) => c !== cluster);
    if (owned && others.length === 0) {
      await withStep(progress, `Deleting registry ${r.name}`, () => runtime.nodes.delete(r.name, { force: true }));
      removed.push(`registry ${r.name}`);
    } else if (onNetwork && !(external && others.length > 0)) {
      await withStep(progress, `Disconnecting registry ${r.name} from ${network}`, () => runtime.networks.disconnect(network, r.name)).catch((e: unknown) => {
        if (!isK3tsError(e, "NODE_NOT_FOUND", "NETWORK_NOT_FOUND")) throw e;
      });
    }
  }
  return removed;
}

export interface DeleteResult {
  name: string;
  found: boolean;
  removed: string[];
}

/** Deletes a cluster: its nodes, its network (unless it joined an existing one), its volumes, its kubeconfig entries. Idempotent. */
export async function deleteCluster(name: string, opts: LifecycleOptions & { updateKubeconfig?: boolean }): Promise<DeleteResult> {
  const { runtime } = opts;
  const progress = opts.progress ?? silentProgress;
  const all = await clusterNodes(runtime, name, opts.signal);
  // Only what one create made, when asked (the sdk's handle and reaper): the name may be another create's by now.
  const mine = (labels: Record<string, string>) => !opts.createId || labels[LABELS.createId] === opts.createId;
  const nodes = all.filter((n) => mine(n.labels));
  if (all.length > 0 && nodes.length === 0) return { name, found: false, removed: [] };
  const removed: string[] = [];
  if (nodes.length) {
    await withStep(progress, `Deleting ${nodes.length} node(s) of ${name}`, async () => {
      await Promise.all(nodes.map((n) => runtime.nodes.delete(n.name, { force: true }).catch((e: unknown) => {
        if (!isK3tsError(e, "NODE_NOT_FOUND")) throw e;
      })));
      removed.push(...nodes.map((n) => `node ${n.name}`));
    });
  }
  const networkName = nodes[0]?.labels[LABELS.network] ?? names.network(name);
  const external = nodes[0]?.labels[LABELS.networkExternal] === "true";
  removed.push(...(await releaseRegistries(runtime, name, networkName, external, progress, opts.createId)));
  // The networks the cluster made, found by their labels (whatever their names); one it joined stays.
  if (!external) {
    const networks = (await runtime.networks.list({ labels: { [LABELS.managed]: "true", [LABELS.cluster]: name } })).filter((n) => mine(n.labels));
    for (const net of networks) {
      try {
        await withStep(progress, `Deleting network ${net.name}`, () => runtime.networks.delete(net.name));
        removed.push(`network ${net.name}`);
      } catch (e) {
        if (!isK3tsError(e, "NETWORK_NOT_FOUND")) throw e;
      }
    }
  }
  const volumes = (await runtime.volumes.list({ labels: { [LABELS.managed]: "true", [LABELS.cluster]: name } })).filter((v) => mine(v.labels));
  for (const v of volumes) {
    await runtime.volumes.delete(v.name);
    removed.push(`volume ${v.name}`);
  }
  const path = kubeconfigFile(opts);
  // No kubeconfig file: nothing to clean up, and nothing (not even ~/.kube) to create.
  if (opts.updateKubeconfig !== false && existsSync(path)) {
    const { changed } = await updateKubeconfigFile(path, (current) => {
      if (current === undefined) return undefined;
      const r = removeFromKubeconfig(current, name);
      return r.changed ? r.content : undefined;
    });
    if (changed) removed.push(`kubeconfig context ${names.context(name)} in ${path}`);
  }
  return { name, found: nodes.length > 0 || removed.length > 0, removed };
}

/** Stops a cluster: load balancer, agents, then servers. */
export async function stopCluster(name: string, opts: LifecycleOptions): Promise<ClusterSummary> {
  const { runtime } = opts;
  const progress = opts.progress ?? silentProgress;
  const cluster = await getCluster(name, { runtime, signal: opts.signal });
  const o = opts.signal ? { signal: opts.signal } : {};
  await withStep(progress, `Stopping cluster ${name}`, async () => {
    if (cluster.loadBalancer) await runtime.nodes.stop(cluster.loadBalancer.name, o);
    await Promise.all(cluster.agents.map((a) => runtime.nodes.stop(a.name, o)));
    await Promise.all(cluster.servers.map((s) => runtime.nodes.stop(s.name, o)));
  });
  return getCluster(name, { runtime });
}

/** Starts a stopped cluster: servers first, then agents, then the load balancer; waits for readiness again. */
export async function startCluster(name: string, opts: LifecycleOptions & { wait?: boolean; timeoutMs?: number }): Promise<ClusterSummary> {
  const { runtime, signal } = opts;
  const progress = opts.progress ?? silentProgress;
  const o = signal ? { signal } : {};
  const cluster = await getCluster(name, { runtime, signal });
  const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : undefined;
  const [first, ...others] = cluster.servers;
  if (!first) throw new K3tsError("CLUSTER_NOT_READY", `cluster ${name} has no server node`, { meta: { cluster: name } });
  await withStep(progress, `Starting servers of ${name}`, async () => {
    await runtime.nodes.start(first.name, o);
    await Promise.all(others.map((s) => runtime.nodes.start(s.name, o)));
  });
  if (cluster.agents.length) await withStep(progress, `Starting agents of ${name}`, () => Promise.all(cluster.agents.map((a) => runtime.nodes.start(a.name, o))).then(() => {}));
  if (cluster.loadBalancer) await withStep(progress, `Starting load balancer`, () => runtime.nodes.start(cluster.loadBalancer!.name, o));
  if (opts.wait !== false) {
    const raw = await waitForKubeconfig(runtime, name, first.name, deadline, signal);
    const access = accessFromKubeconfig(rewriteKubeconfig(raw, { cluster: name, server: cluster.apiServerUrl }));
    const expected = [...cluster.servers, ...cluster.agents].map((n) => n.name);
    await withStep(progress, `Waiting for the API and ${expected.length} node(s) to be Ready`, (step) =>
      waitForReady(access, expected, { ...o, ...(deadline ? { deadline } : {}), onStatus: (s) => step.update(s), check: crashCheck(runtime, expected, { cluster: name, ...o }) }),
    );
    // Addresses may have changed with the restart (Podman gives new ones).
    const source = await runningClusterHostNames(runtime, cluster, o);
    if (source) await withStep(progress, "Updating CoreDNS's NodeHosts", () => publishHostNames(runtime, access, source, o));
  }
  return getCluster(name, { runtime });
}

