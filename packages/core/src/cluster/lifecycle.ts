/**
 * The cluster lifecycle on any Runtime: create (with rollback), list, get, start, stop, delete.
 * Every long step is reported through Progress; Ctrl-C arrives as the AbortSignal.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { K3tsError, abortedError, isK3tsError, throwIfAborted } from "../errors.js";
import { LABELS, baseLabels } from "../labels.js";
import { silentLogger, silentProgress, withStep, type Logger, type Progress } from "../logger.js";
import type { Runtime } from "../runtime.js";
import type { Node, PublishedPort } from "../types.js";
import { VERSION } from "../version.js";
import { accessFromKubeconfig, waitForReady, type NodeReadiness } from "./kubeapi.js";
import {
  kubeconfigPath as defaultKubeconfigPath,
  mergeKubeconfig,
  removeFromKubeconfig,
  restoreKubeconfigFile,
  rewriteKubeconfig,
  updateKubeconfigFile,
} from "./kubeconfig.js";
import { corednsDisabled, publishHostNames, resolveHostGateway, runningClusterHostNames } from "./nodehosts.js";
import { apiForEngine, hostAddressFor, hostAliases, k3sNodeFiles, planCluster, TOKEN_FILE_IN_NODE, type ClusterPlan, type NodeFile, type PlannedNode } from "./plan.js";
import { KUBECONFIG_IN_NODE, LB_CONFIG_PATH, LB_STATE_PATH, REGISTRIES_YAML, names, type ClusterSpec } from "./spec.js";
import { validateClusterName } from "./parse.js";
import { crashCheck, lastWords } from "./crash.js";
import { KUBELET_IN_USERNS_ARG, adaptToEngine, preflight } from "./preflight.js";
import { ensureImages } from "./pull.js";
import { renderRegistriesYaml } from "../registry/config.js";
import { resolveClusterRegistries } from "../registry/cluster.js";
import { advertiseRegistry, createRegistry, listRegistries, registryEndpoint, type RegistrySummary } from "../registry/lifecycle.js";

export interface LifecycleOptions {
  runtime: Runtime;
  logger?: Logger;
  progress?: Progress;
  signal?: AbortSignal;
  k3tsVersion?: string;
  env?: Record<string, string | undefined>;
  /** The kubeconfig file to merge into / clean up (default: $KUBECONFIG's first file or ~/.kube/config). */
  kubeconfigPath?: string;
}

export interface NodeSummary {
  name: string;
  role: string;
  index: number;
  state: Node["state"];
  ports: PublishedPort[];
  image: string;
}

export interface ClusterSummary {
  name: string;
  network: string;
  networkExternal: boolean;
  apiServerUrl: string;
  servers: NodeSummary[];
  agents: NodeSummary[];
  loadBalancer?: NodeSummary;
}

export interface CreateResult {
  cluster: ClusterSummary;
  /** The cluster's kubeconfig (context k3ts-NAME, server on the host). */
  kubeconfig: string;
  /** The file it was merged into, when it was. */
  kubeconfigPath?: string;
  nodes: NodeReadiness[];
}

function kubeconfigFile(opts: LifecycleOptions): string {
  return opts.kubeconfigPath ?? defaultKubeconfigPath(opts.env ?? process.env, homedir());
}

/** A free TCP port on `host` (the engine then binds it; the window in between is small). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", (err) =>
      reject(new K3tsError("PORT_IN_USE", `cannot find a free port on ${host}: ${err.message}`, { meta: { host }, cause: err })),
    );
    srv.listen(0, host === "0.0.0.0" ? undefined : host, () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/** A cluster token from the CSPRNG (k3s accepts any string; 32 random bytes as hex). */
export function generateToken(): string {
  return randomBytes(32).toString("hex");
}

function summarize(name: string, nodes: Node[]): ClusterSummary {
  const toSummary = (n: Node): NodeSummary => ({
    name: n.name,
    role: n.labels[LABELS.role] ?? "unknown",
    index: Number(n.labels[LABELS.nodeIndex] ?? 0),
    state: n.state,
    ports: n.ports,
    image: n.image,
  });
  const byIndex = (a: NodeSummary, b: NodeSummary) => a.index - b.index;
  const servers = nodes.filter((n) => n.labels[LABELS.role] === "server").map(toSummary).sort(byIndex);
  const agents = nodes.filter((n) => n.labels[LABELS.role] === "agent").map(toSummary).sort(byIndex);
  const lb = nodes.find((n) => n.labels[LABELS.role] === "loadbalancer");
  const any = nodes[0]?.labels ?? {};
  return {
    name,
    network: any[LABELS.network] ?? names.network(name),
    networkExternal: any[LABELS.networkExternal] === "true",
    apiServerUrl: `https://${any[LABELS.apiHost] ?? "127.0.0.1"}:${any[LABELS.apiPort] ?? "?"}`,
    servers,
    agents,
    ...(lb ? { loadBalancer: toSummary(lb) } : {}),
  };
}

async function clusterNodes(runtime: Runtime, name: string, signal?: AbortSignal): Promise<Node[]> {
  return runtime.nodes.list({ labels: { [LABELS.managed]: "true", [LABELS.cluster]: name } }, signal ? { signal } : {});
}

/** Every cluster k3ts manages on this runtime, by name. */
export async function listClusters(runtime: Runtime, options: { signal?: AbortSignal } = {}): Promise<ClusterSummary[]> {
  const nodes = await runtime.nodes.list({ labels: { [LABELS.managed]: "true", [LABELS.cluster]: "" } }, options);
  const groups = new Map<string, Node[]>();
  for (const n of nodes) {
    const c = n.labels[LABELS.cluster]!;
    groups.set(c, [...(groups.get(c) ?? []), n]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, ns]) => summarize(name, ns));
}

export async function getCluster(runtime: Runtime, name: string, options: { signal?: AbortSignal } = {}): Promise<ClusterSummary> {
  const nodes = await clusterNodes(runtime, name, options.signal);
  if (nodes.length === 0) {
    throw new K3tsError("CLUSTER_NOT_FOUND", `cluster ${name} does not exist`, { meta: { cluster: name }, hint: "k3ts cluster list shows the clusters there are" });
  }
  return summarize(name, nodes);
}

type Undo = { what: string; run: () => Promise<void> };

/**
 * Creates, seeds and starts one node. The engine calls themselves are not aborted half-way (an
 * aborted request can still complete in the engine after rollback looked for it); the signal is
 * checked between them instead.
 */

async function startK3sNode(runtime: Runtime, node: PlannedNode, token: string, signal: AbortSignal | undefined, files: NodeFile[]): Promise<void> {
  throwIfAborted(signal, "cluster create");
  await runtime.nodes.create(node.spec);
  await runtime.nodes.writeFile(node.spec.name, TOKEN_FILE_IN_NODE, `${token}\n`, { mode: 0o600 });
  for (const f of files) await runtime.nodes.writeFile(node.spec.name, f.path, f.content, { mode: f.mode });
  throwIfAborted(signal, "cluster create");
  await runtime.nodes.start(node.spec.name);
}

/** The contents of k3d's `files[]`, read before anything is created (a missing source fails first). */
async function readUserFiles(spec: ClusterSpec): Promise<NodeFile[]> {
  const { readFile } = await import("node:fs/promises");
  return Promise.all(
    (spec.files ?? []).map(async (f, i) => {
      if ("content" in f.value.source) return { path: f.value.destination, content: f.value.source.content, mode: 0o644 };
      const path = f.value.source.path;
      try {
        return { path: f.value.destination, content: await readFile(path), mode: 0o644 };
      } catch (err) {
        throw new K3tsError("INVALID_ARGUMENT", `files[${i}].source: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
          meta: { where: `files[${i}]`, path },
        });
      }
    }),
  );
}

/** Waits until a server has written its kubeconfig (its supervisor and certificates exist); fails at once when it crashes. */
async function waitForKubeconfig(runtime: Runtime, cluster: string, server: string, deadline: number | undefined, signal?: AbortSignal): Promise<string> {
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
 * Creates a cluster: network, server-0, the other servers and the agents in parallel, the load
 * balancer, readiness through the published API port, then the kubeconfig. On failure, timeout or
 * abort, removes everything it made (unless spec.rollback is false) and rethrows.
 */
export async function createCluster(specIn: ClusterSpec, opts: LifecycleOptions): Promise<CreateResult> {
  const { runtime, signal } = opts;
  const progress = opts.progress ?? silentProgress;
  const logger = opts.logger ?? silentLogger;
  const version = opts.k3tsVersion ?? VERSION;
  const o = signal ? { signal } : {};
  validateClusterName(specIn.name, "name");
  // Checked before the try: a create that finds the name taken must not roll back (it would delete the cluster there).
  if ((await clusterNodes(runtime, specIn.name, signal)).length > 0) {
    throw new K3tsError("CLUSTER_ALREADY_EXISTS", `cluster ${specIn.name} already exists`, {
      meta: { cluster: specIn.name },
      hint: `delete it first (k3ts cluster delete ${specIn.name}) or pick another name`,
    });
  }
  const info = await preflight(specIn, runtime, o);
  // An engine on another machine publishes the API there (see apiForEngine).
  const api = apiForEngine(specIn.api, info.endpoint);
  const spec: ClusterSpec = adaptToEngine(api === specIn.api ? specIn : { ...specIn, api }, info);
  if (spec.k3sArgs.length > specIn.k3sArgs.length) logger.info(`${info.runtime} is rootless: k3s nodes run with ${KUBELET_IN_USERNS_ARG}`);
  if (api !== specIn.api) logger.info(`the engine is on ${api.host}: the API is published on its port ${api.hostPort ?? "(a free one)"} on all its addresses, and the kubeconfig points at ${api.host}`);
  const undo: Undo[] = [];
  try {
    const registries = await resolveClusterRegistries(spec, runtime, opts.env ?? process.env, signal);
    const userFiles = await readUserFiles(spec);
    if (registries.use.length || registries.create || registries.userConfig) {
      if (spec.volumes.some((v) => v.value.target === REGISTRIES_YAML)) {
        logger.warn(`a volume is mounted at ${REGISTRIES_YAML} while registries are configured: the mount hides the file k3ts writes`);
      }
    }
    await ensureImages(runtime, [spec.image, ...(spec.loadBalancer.enabled ? [spec.loadBalancer.image] : []), ...(registries.create ? [registries.create.image] : [])], {
      progress,
      ...o,
    });
    // The limit is for k3s coming up: pulling images takes as long as the network makes it.
    const deadline = spec.timeoutMs > 0 ? Date.now() + spec.timeoutMs : undefined;
    const networkName = spec.network ?? names.network(spec.name);
    const network = await withStep(progress, `Preparing network ${networkName}`, async () => {
      throwIfAborted(signal, "cluster create");
      const { network, created } = await runtime.networks.ensure({
        name: networkName,
        labels: baseLabels(version, { [LABELS.cluster]: spec.name }),
        ...(spec.subnet ? { subnet: spec.subnet } : {}),
      });
      // A network labelled as this cluster's (left by a crashed create) is owned, not external.
      const owned = created || (network.labels[LABELS.managed] === "true" && network.labels[LABELS.cluster] === spec.name);
      if (owned) undo.push({ what: `network ${networkName}`, run: () => runtime.networks.delete(networkName) });
      else logger.info(`using existing network ${networkName}; it stays when the cluster is deleted`);
      return { info: network, external: !owned };
    });
    const apiHostPort = spec.api.hostPort ?? (await freePort(spec.api.hostIP));
    const hostAddress = hostAddressFor(info, network.info.gateway);
    const token = spec.token ?? generateToken();
    const plan: ClusterPlan = planCluster(spec, {
      apiHostPort,
      network: networkName,
      networkExternal: network.external,
      ...(network.info.gateway ? { gateway: network.info.gateway } : {}),
      ...(hostAddress ? { hostAddress } : {}),
      token,
      k3tsVersion: version,
    });
    const track = (name: string) => undo.push({ what: `node ${name}`, run: () => runtime.nodes.delete(name, { force: true }) });
    const clusterRegistries: RegistrySummary[] = [];
    if (registries.create) {
      const create = registries.create;
      undo.push({ what: `registry ${create.name}`, run: () => runtime.nodes.delete(create.name, { force: true }) });
      clusterRegistries.push(await createRegistry(create, { ...opts, progress, network: networkName, owner: spec.name }));
    }
    for (const r of registries.use) {
      if (!r.networks.includes(networkName)) {
        await withStep(progress, `Connecting registry ${r.name} to ${networkName}`, () => runtime.networks.connect(networkName, r.name, o));
        undo.push({ what: `registry ${r.name} on ${networkName}`, run: () => runtime.networks.disconnect(networkName, r.name) });
      }
      clusterRegistries.push(r);
    }
    const registriesYaml = renderRegistriesYaml(clusterRegistries.map(registryEndpoint), registries.userConfig);
    // registries.yaml first: a user's file for the same path (k3d's files[]) then wins, as it would in k3d.
    const filesFor = (n: PlannedNode): NodeFile[] => [
      ...(n.role !== "loadbalancer" ? k3sNodeFiles(spec, n.spec) : []),
      ...(registriesYaml && n.role !== "loadbalancer" ? [{ path: REGISTRIES_YAML, content: registriesYaml, mode: 0o644 }] : []),
      ...n.files.map((i) => userFiles[i]!),
    ];
    const [first, ...otherServers] = plan.servers;
    await withStep(progress, `Starting server ${first!.spec.name}`, async () => {
      track(first!.spec.name);
      await startK3sNode(runtime, first!, token, signal, filesFor(first!));
      await waitForKubeconfig(runtime, spec.name, first!.spec.name, deadline, signal);
    });
    const rest = [...otherServers, ...plan.agents];
    if (rest.length > 0) {
      const what = [otherServers.length ? `${otherServers.length} server(s)` : "", plan.agents.length ? `${plan.agents.length} agent(s)` : ""].filter(Boolean).join(" and ");
      await withStep(progress, `Starting ${what}`, async () => {
        for (const n of rest) track(n.spec.name);
        const results = await Promise.allSettled(rest.map((n) => startK3sNode(runtime, n, token, signal, filesFor(n))));
        const failed = results.flatMap((r, i) => (r.status === "rejected" ? [{ node: rest[i]!.spec.name, error: r.reason as Error }] : []));
        if (failed.length) {
          if (signal?.aborted) throw abortedError(signal, "cluster create");
          throw failed.length === 1 ? failed[0]!.error : new AggregateError(failed.map((f) => f.error), `${failed.length} nodes failed: ${failed.map((f) => `${f.node}: ${f.error.message}`).join("; ")}`);
        }
      });
    }
    if (plan.loadBalancer) {
      const lb = plan.loadBalancer;
      await withStep(progress, `Starting load balancer ${lb.spec.name}`, async () => {
        track(lb.spec.name);
        throwIfAborted(signal, "cluster create");
        await runtime.nodes.create(lb.spec);
        await runtime.nodes.writeFile(lb.spec.name, LB_STATE_PATH, `${JSON.stringify(plan.loadBalancerState, null, 2)}\n`);
        await runtime.nodes.writeFile(lb.spec.name, LB_CONFIG_PATH, plan.loadBalancerConfig!);
        for (const f of filesFor(lb)) await runtime.nodes.writeFile(lb.spec.name, f.path, f.content, { mode: f.mode });
        throwIfAborted(signal, "cluster create");
        await runtime.nodes.start(lb.spec.name);
      });
    }
    const raw = (await runtime.nodes.readFile(first!.spec.name, KUBECONFIG_IN_NODE, o)).toString("utf8");
    const kubeconfig = rewriteKubeconfig(raw, { cluster: spec.name, server: plan.apiServerUrl });
    let nodes: NodeReadiness[] = [];
    if (spec.wait) {
      const expected = [...plan.servers, ...plan.agents].map((n) => n.spec.name);
      nodes = await withStep(progress, `Waiting for the API and ${expected.length} node(s) to be Ready`, async (step) => {
        try {
          const check = crashCheck(runtime, expected, { cluster: spec.name, ...o });
          return await waitForReady(accessFromKubeconfig(kubeconfig), expected, { ...o, ...(deadline ? { deadline } : {}), onStatus: (s) => step.update(s), check });
        } catch (err) {
          // A crash is reported with its node's words already; a timeout quotes every node still missing.
          if (!isK3tsError(err, "CLUSTER_NOT_READY") || (err.meta as { node?: string }).node) throw err;
          const missing = (err.meta as { missing?: string[] }).missing ?? [];
          const words = await Promise.all((missing.length ? missing : [first!.spec.name]).map((n) => lastWords(runtime, n)));
          throw new K3tsError("CLUSTER_NOT_READY", `${err.message}\nwhat the nodes said last:\n${words.join("\n")}`, { meta: err.meta, cause: err });
        }
      });
    }
    if (spec.wait && !corednsDisabled(spec.k3sArgs.map((a) => a.value))) {
      const aliases = await resolveHostGateway(runtime, first!.spec.name, hostAliases(spec, hostAddress), o);
      const source = { network: networkName, nodes: [...plan.servers, ...plan.agents].map((n) => n.spec.name), aliases };
      await withStep(progress, "Adding host.k3ts.internal, host aliases and the network's containers to CoreDNS (NodeHosts)", () =>
        publishHostNames(runtime, accessFromKubeconfig(kubeconfig), source, o),
      );
    }
    if (clusterRegistries[0]) {
      const advertised = clusterRegistries[0];
      if (spec.wait) {
        await withStep(progress, `Advertising registry ${advertised.name} (kube-public/local-registry-hosting)`, () =>
          advertiseRegistry(accessFromKubeconfig(kubeconfig), registryEndpoint(advertised), o),
        );
      } else {
        logger.info(`the LocalRegistryHosting ConfigMap is written only when create waits for the cluster (--wait)`);
      }
    }
    let mergedInto: string | undefined;
    if (spec.kubeconfig.update) {
      const path = kubeconfigFile(opts);
      await withStep(progress, `Merging kubeconfig into ${path}`, async () => {
        let written = "";
        const { previous, changed } = await updateKubeconfigFile(path, (current) => {
          written = mergeKubeconfig(current, kubeconfig, { switchContext: spec.kubeconfig.switchContext });
          return written;
        });
        if (changed) undo.push({ what: `kubeconfig ${path}`, run: async () => void (await restoreKubeconfigFile(path, previous, written)) });
        mergedInto = path;
      });
      if (signal?.aborted) throw abortedError(signal, "cluster create");
    }
    const cluster = await getCluster(runtime, spec.name);
    return { cluster, kubeconfig, nodes, ...(mergedInto ? { kubeconfigPath: mergedInto } : {}) };
  } catch (err) {
    if (!spec.rollback) {
      logger.warn(`leaving the partly created cluster ${spec.name} in place (rollback is off)`);
      throw err;
    }
    await withStep(progress, `Rolling back cluster ${spec.name}`, async () => {
      const failures: string[] = [];
      for (const step of undo.reverse()) {
        try {
          await step.run();
        } catch (e) {
          if (!isK3tsError(e, "NODE_NOT_FOUND", "NETWORK_NOT_FOUND", "VOLUME_NOT_FOUND")) failures.push(`${step.what}: ${(e as Error).message}`);
        }
      }
      // Anything else labelled with this cluster is this create's too (the name was free when it began).
      for (const n of await clusterNodes(runtime, spec.name)) await runtime.nodes.delete(n.name, { force: true }).catch(() => {});
      for (const r of await runtime.nodes.list({ labels: { [LABELS.managed]: "true", [LABELS.registryOwner]: spec.name } }).catch(() => [])) {
        await runtime.nodes.delete(r.name, { force: true }).catch(() => {});
      }
      await deleteOwnedVolumes(runtime, spec.name);
      if (!spec.network) {
        const net = await runtime.networks.inspect(names.network(spec.name)).catch(() => undefined);
        if (net && net.labels[LABELS.cluster] === spec.name && net.labels[LABELS.managed] === "true") await runtime.networks.delete(net.name).catch(() => {});
      }
      if (failures.length) logger.warn(`rollback could not remove: ${failures.join("; ")}`);
    }).catch(() => {});
    throw err;
  }
}

/**
 * Registries on a cluster's network as the cluster goes: one created with this cluster is deleted
 * unless another cluster uses it too; any other is only disconnected (so the network can go).
 */
async function releaseRegistries(runtime: Runtime, cluster: string, network: string, progress: Progress): Promise<string[]> {
  const removed: string[] = [];
  for (const r of await listRegistries(runtime)) {
    const owned = r.owner === cluster;
    const onNetwork = r.networks.includes(network);
    if (!owned && !onNetwork) continue;
    const others = r.clusters.filter((c) => c !== cluster);
    if (owned && others.length === 0) {
      await withStep(progress, `Deleting registry ${r.name}`, () => runtime.nodes.delete(r.name, { force: true }));
      removed.push(`registry ${r.name}`);
    } else if (onNetwork) {
      await withStep(progress, `Disconnecting registry ${r.name} from ${network}`, () => runtime.networks.disconnect(network, r.name)).catch((e: unknown) => {
        if (!isK3tsError(e, "NODE_NOT_FOUND", "NETWORK_NOT_FOUND")) throw e;
      });
    }
  }
  return removed;
}

async function deleteOwnedVolumes(runtime: Runtime, cluster: string): Promise<void> {
  for (const v of await runtime.volumes.list({ labels: { [LABELS.managed]: "true", [LABELS.cluster]: cluster } })) {
    await runtime.volumes.delete(v.name).catch(() => {});
  }
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
  const nodes = await clusterNodes(runtime, name, opts.signal);
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
  removed.push(...(await releaseRegistries(runtime, name, networkName, progress)));
  if (!external) {
    try {
      const net = await runtime.networks.inspect(networkName);
      if (net.labels[LABELS.cluster] === name && net.labels[LABELS.managed] === "true") {
        await withStep(progress, `Deleting network ${networkName}`, () => runtime.networks.delete(networkName));
        removed.push(`network ${networkName}`);
      }
    } catch (e) {
      if (!isK3tsError(e, "NETWORK_NOT_FOUND")) throw e;
    }
  }
  const volumes = await runtime.volumes.list({ labels: { [LABELS.managed]: "true", [LABELS.cluster]: name } });
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
  const cluster = await getCluster(runtime, name, opts.signal ? { signal: opts.signal } : {});
  const o = opts.signal ? { signal: opts.signal } : {};
  await withStep(progress, `Stopping cluster ${name}`, async () => {
    if (cluster.loadBalancer) await runtime.nodes.stop(cluster.loadBalancer.name, o);
    await Promise.all(cluster.agents.map((a) => runtime.nodes.stop(a.name, o)));
    await Promise.all(cluster.servers.map((s) => runtime.nodes.stop(s.name, o)));
  });
  return getCluster(runtime, name);
}

/** Starts a stopped cluster: servers first, then agents, then the load balancer; waits for readiness again. */
export async function startCluster(name: string, opts: LifecycleOptions & { wait?: boolean; timeoutMs?: number }): Promise<ClusterSummary> {
  const { runtime, signal } = opts;
  const progress = opts.progress ?? silentProgress;
  const o = signal ? { signal } : {};
  const cluster = await getCluster(runtime, name, o);
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
  return getCluster(runtime, name);
}

/** The cluster's kubeconfig, read from its first server and pointed at the published API port. */
export async function getKubeconfig(name: string, opts: { runtime: Runtime; signal?: AbortSignal }): Promise<string> {
  const cluster = await getCluster(opts.runtime, name, opts.signal ? { signal: opts.signal } : {});
  const server = cluster.servers[0];
  if (!server) throw new K3tsError("CLUSTER_NOT_READY", `cluster ${name} has no server node`, { meta: { cluster: name } });
  const raw = (await opts.runtime.nodes.readFile(server.name, KUBECONFIG_IN_NODE, opts.signal ? { signal: opts.signal } : {})).toString("utf8");
  return rewriteKubeconfig(raw, { cluster: name, server: cluster.apiServerUrl });
}

