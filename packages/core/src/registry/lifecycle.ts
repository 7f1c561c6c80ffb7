/**
 * Registries on any Runtime: create (registry:2 on a network, published on the host), list, get,
 * start, stop, delete, and connect/disconnect to a running cluster (network, registries.yaml in
 * every node, a rolling restart because k3s reads that file only when it starts, and the
 * LocalRegistryHosting ConfigMap).
 */
import { K3tsError, isK3tsError, throwIfAborted } from "../errors.js";
import { LABELS, baseLabels } from "../labels.js";
import { silentLogger, silentProgress, withStep, type Progress } from "../logger.js";
import type { Runtime } from "../runtime.js";
import type { Node, NodeSpec, VolumeMount } from "../types.js";
import { VERSION } from "../version.js";
import { crashCheck, lastWords } from "../cluster/crash.js";
import { accessFromKubeconfig, kubeApply, kubeRequest, waitForReady, type KubeAccess } from "../cluster/kubeapi.js";
import { freePort, getCluster, getKubeconfig, listClusters, type ClusterSummary, type LifecycleOptions, type QueryOptions } from "../cluster/query.js";
import { parseVolumeSpec } from "../cluster/parse.js";
import { reloadLoadBalancer } from "../cluster/loadbalancer/index.js";
import { publishHostNames, runningClusterHostNames } from "../cluster/nodehosts.js";
import { ensureImages } from "../cluster/pull.js";
import { REGISTRIES_YAML } from "../cluster/spec.js";
import {
  REGISTRY_INTERNAL_PORT,
  hostAddress,
  localRegistryHostingConfigMap,
  mirrorKeyForRemote,
  registryContainerName,
  registryEnv,
  registrySecretConfig,
  REGISTRY_SECRET_CONFIG_PATH,
  updateRegistriesYaml,
  validateRegistryName,
  type RegistryEndpoint,
  type RegistrySpec,
} from "./config.js";

export interface RegistrySummary {
  name: string;
  state: Node["state"];
  image: string;
  hostIP: string;
  hostPort?: number;
  /** Port inside the container (what nodes use). */
  port: number;
  /** The remote registry of a pull-through cache. */
  proxyRemoteURL?: string;
  /** The cluster it was created with, if any. */
  owner?: string;
  networks: string[];
  /** Clusters whose network it is attached to. */
  clusters: string[];
}

export interface CreateRegistryOptions extends LifecycleOptions {
  /** Live on this existing network (a cluster's, or `--default-network`) instead of a network of its own; deleting the registry keeps it. */
  network?: string;
  /** The cluster this registry is created with (it goes when that cluster is deleted). */
  owner?: string;
  /** The cluster create that makes it (LABELS.createId: that create's rollback removes it). */
  createId?: string;
  /** Further networks to join before it starts (a pull-through cache must reach its remote as it starts). */
  extraNetworks?: string[];
  /** How long to wait for the registry to answer on the host (default 30 s). */
  timeoutMs?: number;
}

const registryHelp = "k3ts registry list shows the registries there are";

/** The registry's nodes-facing endpoint (from its labels). */
export function registryEndpoint(r: RegistrySummary): RegistryEndpoint {
  return {
    name: r.name,
    port: r.port,
    ...(r.hostPort ? { hostPort: r.hostPort } : {}),
    hostIP: r.hostIP,
    ...(r.proxyRemoteURL ? { proxyRemoteURL: r.proxyRemoteURL } : {}),
  };
}

function summarize(n: Node, clusters: ClusterSummary[]): RegistrySummary {
  const l = n.labels;
  const hostPort = Number(l[LABELS.registryHostPort] ?? n.ports[0]?.hostPort ?? 0);
  const networks = n.networks.map((x) => x.name);
  return {
    name: n.name,
    state: n.state,
    image: n.image,
    hostIP: l[LABELS.registryHostIP] ?? "127.0.0.1",
    ...(hostPort ? { hostPort } : {}),
    port: Number(l[LABELS.registryPort] ?? REGISTRY_INTERNAL_PORT),
    ...(l[LABELS.registryProxy] ? { proxyRemoteURL: l[LABELS.registryProxy] } : {}),
    ...(l[LABELS.registryOwner] ? { owner: l[LABELS.registryOwner] } : {}),
    networks,
    clusters: clusters.filter((c) => networks.includes(c.network)).map((c) => c.name),
  };
}

const REGISTRY_FILTER = { [LABELS.managed]: "true", [LABELS.role]: "registry" };

/** Every registry k3ts made on this runtime. */
export async function listRegistries({ runtime, signal }: QueryOptions): Promise<RegistrySummary[]> {
  const [nodes, clusters] = await Promise.all([runtime.nodes.list({ labels: REGISTRY_FILTER }, signal ? { signal } : {}), listClusters({ runtime, signal })]);
  return nodes.map((n) => summarize(n, clusters)).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * A registry by name: the container name, or the name given to `registry create` (k3ts- added), or a
 * reference `[proto://]NAME[:PORT]` as k3d's `registries.use` takes.
 */
export async function getRegistry(ref: string, { runtime, signal }: QueryOptions): Promise<RegistrySummary> {
  const name = ref.replace(/^[a-z]+:\/\//, "").split(":")[0]!.split("/")[0]!;
  const all = await listRegistries({ runtime, signal });
  const found = all.find((r) => r.name === name) ?? all.find((r) => r.name === registryContainerName(name));
  if (!found) {
    throw new K3tsError("REGISTRY_NOT_FOUND", `registry ${name} does not exist`, { meta: { registry: name }, hint: `create it with k3ts registry create ${name.replace(/^k3ts-/, "")}, or: ${registryHelp}` });
  }
  return found;
}

/** Waits until the registry answers `GET /v2/` on the host (200, or 401 when it asks for credentials). */
async function waitForRegistry(runtime: Runtime, name: string, url: string, deadline: number, signal?: AbortSignal): Promise<void> {
  let last: string;
  for (;;) {
    throwIfAborted(signal, "waiting for the registry");
    try {
      const res = await fetch(url, { signal: AbortSignal.any([AbortSignal.timeout(2000), ...(signal ? [signal] : [])]) });
      if (res.status === 200 || res.status === 401) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    const node = await runtime.nodes.inspect(name);
    if (node.state !== "running" || Date.now() >= deadline) {
      throw new K3tsError("TIMEOUT", `registry ${name} does not answer on ${url} (last: ${last}):\n${await lastWords(runtime, name)}`, {
        meta: { registry: name, url },
        hint: `its whole log: ${runtime.name} logs ${name}`,
      });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function mounts(volumes: string[], where: string): VolumeMount[] {
  return volumes.map((v, i) => {
    const m = parseVolumeSpec(v, `${where}[${i}]`);
    if (!m.source) throw new K3tsError("INVALID_ARGUMENT", `${where}[${i}]: ${JSON.stringify(v)} needs a source (a host path or a volume name)`, { meta: { where } });
    return { type: m.source.startsWith("/") ? "bind" : "volume", source: m.source, target: m.target, readOnly: m.readOnly };
  });
}

/**
 * Creates and starts a registry and waits until it answers on the host. A failure removes what this
 * call made.
 */
export async function createRegistry(spec: RegistrySpec, opts: CreateRegistryOptions): Promise<RegistrySummary> {
  const { runtime, signal } = opts;
  const progress = opts.progress ?? silentProgress;
  const version = opts.k3tsVersion ?? VERSION;
  validateRegistryName(spec.name, "name");
  if (spec.proxy) mirrorKeyForRemote(spec.proxy.remoteURL, "proxy remote URL"); // a bad URL fails before anything is made
  const volumes = mounts(spec.volumes, "volumes");
  try {
    await runtime.nodes.inspect(spec.name);
    throw new K3tsError("REGISTRY_ALREADY_EXISTS", `a container named ${spec.name} already exists`, { meta: { registry: spec.name }, hint: "pick another name or delete it first" });
  } catch (err) {
    if (!isK3tsError(err, "NODE_NOT_FOUND")) throw err;
  }
  await ensureImages(runtime, [spec.image], { progress, ...(signal ? { signal } : {}) });
  const undo: Array<{ what: string; how: string; run: () => Promise<void> }> = [];
  try {
    let network = opts.network;
    if (!network) {
      network = spec.name;
      const { created } = await runtime.networks.ensure({ name: network, labels: baseLabels(version, { [LABELS.role]: "registry", [LABELS.registryNetwork]: spec.name }) });
      if (created) undo.push({ what: `network ${network}`, how: `${runtime.name} network rm ${network}`, run: () => runtime.networks.delete(network!) });
    }
    const hostPort = spec.hostPort ?? (await freePort(spec.hostIP));
    const port = spec.enforcePortMatch ? hostPort : REGISTRY_INTERNAL_PORT;
    const nodeSpec: NodeSpec = {
      name: spec.name,
      hostname: spec.name,
      image: spec.image,
      env: registryEnv(spec, hostPort),
      labels: baseLabels(version, {
        [LABELS.role]: "registry",
        [LABELS.registryHostIP]: spec.hostIP,
        [LABELS.registryHostPort]: String(hostPort),
        [LABELS.registryPort]: String(port),
        ...(spec.proxy ? { [LABELS.registryProxy]: spec.proxy.remoteURL } : {}),
        ...(opts.owner ? { [LABELS.registryOwner]: opts.owner } : {}),
        ...(opts.createId ? { [LABELS.createId]: opts.createId } : {}),
        ...(opts.network ? {} : { [LABELS.registryNetwork]: network }),
      }),
      network: { name: network },
      ports: [{ containerPort: port, protocol: "tcp", hostIP: spec.hostIP, hostPort }],
      volumes,
      restart: "unless-stopped",
    };
    const secretConfig = registrySecretConfig(spec);
    // registry:2's entrypoint serves the *.yml it is given: the one with the proxy's password in it.
    if (secretConfig) nodeSpec.command = [REGISTRY_SECRET_CONFIG_PATH];
    await withStep(progress, `Creating registry ${spec.name} on ${hostAddress(spec.hostIP)}:${hostPort}`, async () => {
      throwIfAborted(signal, "registry create");
      undo.push({ what: `registry ${spec.name}`, how: `k3ts registry delete ${spec.name}`, run: () => runtime.nodes.delete(spec.name, { force: true }) });
      await runtime.nodes.create(nodeSpec);
      if (secretConfig) await runtime.nodes.writeFile(spec.name, REGISTRY_SECRET_CONFIG_PATH, secretConfig, { mode: 0o600 });
      for (const extra of opts.extraNetworks ?? []) if (extra !== network) await runtime.networks.connect(extra, spec.name);
      await runtime.nodes.start(spec.name);
      const host = spec.hostIP === "0.0.0.0" || spec.hostIP === "" ? "127.0.0.1" : spec.hostIP;
      await waitForRegistry(runtime, spec.name, `http://${host.includes(":") ? `[${host}]` : host}:${hostPort}/v2/`, Date.now() + (opts.timeoutMs ?? 30_000), signal);
    });
    return await getRegistry(spec.name, { runtime });
  } catch (err) {
    for (const step of undo.reverse()) {
      await step.run().catch((e: unknown) => {
        if (!isK3tsError(e, "NODE_NOT_FOUND", "NETWORK_NOT_FOUND")) opts.logger?.warn(`${step.what} could not be removed after the failed registry create (${(e as Error).message}); remove it with ${step.how}`);
      });
    }
    throw err;
  }
}

export interface DeleteRegistryResult {
  name: string;
  removed: string[];
}

/** Deletes a registry and the network it made for itself. Its data goes with it unless it was on a named volume. */
export async function deleteRegistry(ref: string, opts: LifecycleOptions): Promise<DeleteRegistryResult> {
  const { runtime } = opts;
  const r = await getRegistry(ref, { runtime, signal: opts.signal });
  const node = await runtime.nodes.inspect(r.name);
  const removed: string[] = [];
  await runtime.nodes.delete(r.name, { force: true });
  removed.push(`registry ${r.name}`);
  const own = node.labels[LABELS.registryNetwork];
  if (own) {
    try {
      await runtime.networks.delete(own);
      removed.push(`network ${own}`);
    } catch (err) {
      if (!isK3tsError(err, "NETWORK_NOT_FOUND")) opts.logger?.warn(`network ${own} was kept: ${(err as Error).message}`);
    }
  }
  return { name: r.name, removed };
}

/** Starts a stopped registry (k3d registers `registry start` but it does nothing). */
export async function startRegistry(ref: string, opts: LifecycleOptions): Promise<RegistrySummary> {
  const r = await getRegistry(ref, { runtime: opts.runtime });
  await opts.runtime.nodes.start(r.name, opts.signal ? { signal: opts.signal } : {});
  return getRegistry(r.name, { runtime: opts.runtime });
}

/** Stops a registry (its data stays). */
export async function stopRegistry(ref: string, opts: LifecycleOptions): Promise<RegistrySummary> {
  const r = await getRegistry(ref, { runtime: opts.runtime });
  await opts.runtime.nodes.stop(r.name, opts.signal ? { signal: opts.signal } : {});
  return getRegistry(r.name, { runtime: opts.runtime });
}

export interface ConnectOptions extends LifecycleOptions {
  /** Restart the k3s nodes so they read the new registries.yaml (default true: k3s reads it only at start). */
  restart?: boolean;
  timeoutMs?: number;
}

async function readRegistriesYaml(runtime: Runtime, node: string): Promise<string | undefined> {
  try {
    return (await runtime.nodes.readFile(node, REGISTRIES_YAML)).toString("utf8");
  } catch (err) {
    if (isK3tsError(err, "FILE_NOT_FOUND")) return undefined;
    throw err;
  }
}

/** Rewrites registries.yaml in every k3s node of a cluster, from each node's own current file. */
async function rewriteInNodes(runtime: Runtime, cluster: ClusterSummary, registry: RegistryEndpoint, action: "add" | "remove"): Promise<boolean> {
  let changed = false;
  for (const n of [...cluster.servers, ...cluster.agents]) {
    const current = await readRegistriesYaml(runtime, n.name);
    const next = updateRegistriesYaml(current, registry, action);
    if (next === current) continue;
    await runtime.nodes.writeFile(n.name, REGISTRIES_YAML, next, { mode: 0o644 });
    changed = true;
  }
  return changed;
}

/** Restarts the k3s nodes one by one (servers first), then waits for the API and every node to be Ready. */
async function rollingRestart(cluster: ClusterSummary, opts: ConnectOptions): Promise<void> {
  const { runtime, signal } = opts;
  const progress = opts.progress ?? silentProgress;
  const o = signal ? { signal } : {};
  const nodes = [...cluster.servers, ...cluster.agents].filter((n) => n.state === "running");
  // Read before the restarts: the credentials stay valid, and a restarting server rewrites the file.
  const access = accessFromKubeconfig(await getKubeconfig(cluster.name, { runtime }));
  for (const n of nodes) {
    throwIfAborted(signal, "registry connect");
    await withStep(progress, `Restarting ${n.name} (k3s reads registries.yaml when it starts)`, async () => {
      // Stopped, then started again whatever the signal says: an abort between the two would leave the node down.
      await runtime.nodes.stop(n.name);
      await runtime.nodes.start(n.name).catch((err: unknown) => {
        throw new K3tsError(isK3tsError(err) ? err.code : "RUNTIME_ERROR", `${n.name} was stopped to read the new registries.yaml and did not start again: ${(err as Error).message}`, {
          meta: { node: n.name },
          hint: `start it with k3ts node start ${n.name}`,
          cause: err,
        });
      });
    });
  }
  // nginx resolved the servers' addresses when it loaded its config; a restarted node may have a new one (Podman).
  if (cluster.loadBalancer) await reloadLoadBalancer(runtime, cluster.loadBalancer.name, signal);
  const expected = nodes.map((n) => n.name);
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  await withStep(progress, `Waiting for the API and ${expected.length} node(s) to be Ready`, (step) =>
    waitForReady(access, expected, { ...o, deadline, onStatus: (s) => step.update(s), check: crashCheck(runtime, expected, { cluster: cluster.name, ...o }) }),
  );
}

const HOSTING_PATH = "/api/v1/namespaces/kube-public/configmaps/local-registry-hosting";

/** Applies the LocalRegistryHosting ConfigMap for a registry (KEP-1755 advertises one registry). */
export async function advertiseRegistry(access: KubeAccess, registry: RegistryEndpoint, options: { signal?: AbortSignal; onlyIfAbsent?: boolean } = {}): Promise<boolean> {
  if (options.onlyIfAbsent) {
    const res = await kubeRequest(access, HOSTING_PATH, options.signal ? { signal: options.signal } : {});
    if (res.status === 200) return false;
  }
  await kubeApply(access, HOSTING_PATH, localRegistryHostingConfigMap(registry), options.signal ? { signal: options.signal } : {});
  return true;
}

export interface ConnectResult {
  registry: string;
  cluster: string;
  /** Nodes whose registries.yaml changed. */
  changed: boolean;
  restarted: boolean;
  /** The LocalRegistryHosting ConfigMap now names this registry. */
  advertised: boolean;
}

/** Pods resolve the registry by name through CoreDNS's NodeHosts (nodes through the engine's DNS). */
async function updateNodeHosts(runtime: Runtime, access: KubeAccess, cluster: ClusterSummary, progress: Progress, o: { signal?: AbortSignal }): Promise<void> {
  const source = await runningClusterHostNames(runtime, cluster, o);
  if (source) await withStep(progress, `Updating CoreDNS's NodeHosts in ${cluster.name}`, () => publishHostNames(runtime, access, source, o));
}

/**
 * Connects a registry to a running cluster (k3d never shipped this): joins the cluster network, adds
 * the registry's mirrors to registries.yaml in every k3s node, restarts the nodes one by one so k3s
 * reads it, and advertises the registry in LocalRegistryHosting when no registry is advertised yet.
 */
export async function connectRegistry(registryRef: string, clusterName: string, opts: ConnectOptions): Promise<ConnectResult> {
  const { runtime, signal } = opts;
  const progress = opts.progress ?? silentProgress;
  const o = signal ? { signal } : {};
  const registry = await getRegistry(registryRef, { runtime, signal });
  const cluster = await getCluster(clusterName, { runtime, signal });
  if (!registry.networks.includes(cluster.network)) {
    await withStep(progress, `Connecting ${registry.name} to network ${cluster.network}`, () => runtime.networks.connect(cluster.network, registry.name, o));
  }
  const endpoint = registryEndpoint(registry);
  const changed = await withStep(progress, `Writing ${REGISTRIES_YAML} in the nodes of ${clusterName}`, () => rewriteInNodes(runtime, cluster, endpoint, "add"));
  const restart = changed && opts.restart !== false && cluster.servers.some((s) => s.state === "running");
  if (restart) await rollingRestart(cluster, opts);
  else if (changed) (opts.logger ?? silentLogger).info(`the nodes of ${clusterName} use ${registry.name} from their next start (k3s reads registries.yaml when it starts)`);
  let advertised = false;
  if (cluster.servers.some((s) => s.state === "running")) {
    const access = accessFromKubeconfig(await getKubeconfig(clusterName, { runtime }));
    advertised = await advertiseRegistry(access, endpoint, { ...o, onlyIfAbsent: true });
    await updateNodeHosts(runtime, access, cluster, progress, o);
  }
  return { registry: registry.name, cluster: clusterName, changed, restarted: restart, advertised };
}

/** Undoes connectRegistry: mirrors out of registries.yaml (restarting the nodes), the ConfigMap if it named this registry, off the network. */
export async function disconnectRegistry(registryRef: string, clusterName: string, opts: ConnectOptions): Promise<ConnectResult> {
  const { runtime, signal } = opts;
  const progress = opts.progress ?? silentProgress;
  const o = signal ? { signal } : {};
  const registry = await getRegistry(registryRef, { runtime, signal });
  const cluster = await getCluster(clusterName, { runtime, signal });
  const endpoint = registryEndpoint(registry);
  const changed = await withStep(progress, `Removing ${registry.name} from ${REGISTRIES_YAML} in the nodes of ${clusterName}`, () => rewriteInNodes(runtime, cluster, endpoint, "remove"));
  const running = cluster.servers.some((s) => s.state === "running");
  const restart = changed && opts.restart !== false && running;
  if (restart) await rollingRestart(cluster, opts);
  const access = running ? accessFromKubeconfig(await getKubeconfig(clusterName, { runtime })) : undefined;
  if (access) {
    const res = await kubeRequest(access, HOSTING_PATH, o);
    if (res.status === 200 && res.body.includes(`"${registry.name}:${registry.port}`)) await kubeRequest(access, HOSTING_PATH, { ...o, method: "DELETE" });
  }
  if (registry.networks.includes(cluster.network)) {
    await withStep(progress, `Disconnecting ${registry.name} from network ${cluster.network}`, () => runtime.networks.disconnect(cluster.network, registry.name, o));
  }
  if (access) await updateNodeHosts(runtime, access, cluster, progress, o);
  return { registry: registry.name, cluster: clusterName, changed, restarted: restart, advertised: false };
}
