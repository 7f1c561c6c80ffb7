/**
 * `createCluster` as named steps over one undo stack:
 *
 *   preflight  → the name is free, the engine can run the cluster; the spec adapted to the engine
 *   prepare    → registries and files read, images present, the network, the plan, the registries
 *   provision  → server-0 (until it wrote its kubeconfig), the other servers and agents, the load balancer
 *   ready      → the API and every node Ready; CoreDNS's NodeHosts; LocalRegistryHosting
 *   publish    → the kubeconfig merged into the user's file
 *
 * Each step pushes what it made onto `run.undo` as it makes it; on a failure, a timeout or an abort,
 * `rollback` unwinds that stack (last made, first removed) and then sweeps anything else labelled
 * with the cluster, so nothing is left and the kubeconfig file is as it was.
 */
import { randomBytes } from "node:crypto";
import { K3tsError, abortedError, isK3tsError, throwIfAborted } from "../errors.js";
import { LABELS, baseLabels } from "../labels.js";
import { silentLogger, silentProgress, withStep, type Logger, type Progress } from "../logger.js";
import type { Runtime, RuntimeInfo } from "../runtime.js";
import type { NetworkInfo } from "../types.js";
import { VERSION } from "../version.js";
import { hostImagesAddress, hostImagesMirrorKeys } from "../hostimages/cluster.js";
import { renderRegistriesYaml, type HostImagesMirror } from "../registry/config.js";
import { resolveClusterRegistries } from "../registry/cluster.js";
import { advertiseRegistry, createRegistry, registryEndpoint, type RegistrySummary } from "../registry/lifecycle.js";
import { crashCheck, lastWords } from "./crash.js";
import { accessFromKubeconfig, waitForReady, type NodeReadiness } from "./kubeapi.js";
import { checkKubeconfigFile, mergeKubeconfig, restoreKubeconfigFile, rewriteKubeconfig, updateKubeconfigFile } from "./kubeconfig.js";
import { waitForKubeconfig } from "./lifecycle.js";
import { clusterNodes, freePort, generateToken, getCluster, kubeconfigFile, type CreateResult, type LifecycleOptions } from "./query.js";
import { corednsDisabled, hostAliasesInNodes, publishHostNames } from "./nodehosts.js";
import { validateClusterName } from "./parse.js";
import { apiForEngine, checkNodeCounts, hasEmbeddedEtcd, hostAddressFor, k3sNodeFiles, planCluster, TOKEN_FILE_IN_NODE, type ClusterPlan, type NodeFile, type PlannedNode } from "./plan.js";
import { serverAddresses as serverAddresses_ } from "./addresses.js";
import { KUBELET_IN_USERNS_ARG, adaptToEngine, preflight } from "./preflight.js";
import { ensureImages } from "./pull.js";
import { KUBECONFIG_IN_NODE, REGISTRIES_YAML, names, type ClusterSpec } from "./spec.js";
import { startLoadBalancer } from "./loadbalancer/index.js";

/** One thing a create made, and how to remove it. */
export interface Undo {
  what: string;
  run: () => Promise<void>;
}

/** What every step of one create shares: the spec as adapted to the engine, and the one undo stack. */
export interface CreateRun {
  spec: ClusterSpec;
  runtime: Runtime;
  opts: LifecycleOptions;
  progress: Progress;
  logger: Logger;
  version: string;
  signal?: AbortSignal;
  undo: Undo[];
  /** This create's id: on everything it makes (LABELS.createId), so its rollback removes only that. */
  createId: string;
}

/** What prepare leaves for the later steps. */
export interface Prepared {
  info: RuntimeInfo;
  networkName: string;
  network: NetworkInfo;
  plan: ClusterPlan;
  token: string;
  /** The registries the cluster uses, the first one advertised. */
  registries: RegistrySummary[];
  /** Files written into a node before it starts. */
  filesFor: (n: PlannedNode) => NodeFile[];
  /** The limit for k3s coming up (after the images are there). */
  deadline?: number;
}

const callOpts = (run: Pick<CreateRun, "signal">) => (run.signal ? { signal: run.signal } : {});

/**
 * Creates, seeds and starts one node. The engine calls themselves are not aborted half-way (an
 * aborted request can still complete in the engine after rollback looked for it); the signal is
 * checked between them instead.
 */
async function startK3sNode(runtime: Runtime, node: PlannedNode, token: string, signal: AbortSignal | undefined, files: NodeFile[], made: (name: string) => void): Promise<void> {
  throwIfAborted(signal, "cluster create");
  await runtime.nodes.create(node.spec);
  // Tracked once made: a name taken by another create's node must not be deleted by this one's rollback.
  made(node.spec.name);
  await writeFiles(runtime, node.spec.name, [{ path: TOKEN_FILE_IN_NODE, content: `${token}\n`, mode: 0o600 }, ...files]);
  throwIfAborted(signal, "cluster create");
  await runtime.nodes.start(node.spec.name);
}

/** A created node's files, one after the other (side by side measured no faster: the engine takes them in turn). */
async function writeFiles(runtime: Runtime, node: string, files: NodeFile[]): Promise<void> {
  for (const f of files) await runtime.nodes.writeFile(node, f.path, f.content, { mode: f.mode });
}

/** Settles every start, then throws what failed (one error, or all of them together); the signal's abort wins. */
async function allStarted(starts: Array<{ node: string; started: Promise<void> }>, signal: AbortSignal | undefined): Promise<void> {
  const results = await Promise.allSettled(starts.map((s) => s.started));
  const failed = results.flatMap((r, i) => (r.status === "rejected" ? [{ node: starts[i]!.node, error: r.reason as Error }] : []));
  if (!failed.length) return;
  if (signal?.aborted) throw abortedError(signal, "cluster create");
  if (failed.length === 1) throw failed[0]!.error;
  // Several: one coded error (their common code, else RUNTIME_ERROR) carrying each node's as its cause.
  const codes = new Set(failed.map((f) => (isK3tsError(f.error) ? f.error.code : "RUNTIME_ERROR")));
  const code = codes.size === 1 ? [...codes][0]! : "RUNTIME_ERROR";
  throw new K3tsError(code, `${failed.length} nodes failed: ${failed.map((f) => `${f.node}: ${f.error.message}`).join("; ")}`, {
    meta: { nodes: failed.map((f) => f.node) },
    cause: new AggregateError(failed.map((f) => f.error), "node starts failed"),
  });
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

/**
 * Step 1, before anything is made (nothing to undo): the name is free and the engine can run the
 * cluster (see preflight.ts). Returns the run, its spec adapted to the engine: an engine on another
 * machine publishes the API there (apiForEngine); a rootless one gets the kubelet's user-namespace gate.
 */
export async function createPreflight(specIn: ClusterSpec, opts: LifecycleOptions): Promise<{ run: CreateRun; info: RuntimeInfo }> {
  const { runtime, signal } = opts;
  const logger = opts.logger ?? silentLogger;
  validateClusterName(specIn.name, "name");
  checkNodeCounts(specIn);
  // A kubeconfig k3ts could not merge into is said now, not after the cluster came up (and was rolled back).
  if (specIn.kubeconfig.update) await checkKubeconfigFile(kubeconfigFile(opts));
  // Checked before anything is made: a create that finds the name taken must not roll back (it would delete the cluster there).
  if ((await clusterNodes(runtime, specIn.name, signal)).length > 0) {
    throw new K3tsError("CLUSTER_ALREADY_EXISTS", `cluster ${specIn.name} already exists`, {
      meta: { cluster: specIn.name },
      hint: `delete it first (k3ts cluster delete ${specIn.name}) or pick another name`,
    });
  }
  const info = await preflight(specIn, runtime, signal ? { signal } : {});
  const api = apiForEngine(specIn.api, info.endpoint);
  const spec = adaptToEngine(api === specIn.api ? specIn : { ...specIn, api }, info);
  // The plan's own checks (node filters that select no node, ports that clash) before anything is made:
  // planned once with stand-in values for what only the engine can tell.
  planCluster(spec, { apiHostPort: spec.api.hostPort ?? 6443, network: spec.network ?? names.network(spec.name), networkExternal: spec.network !== undefined, token: "preflight", k3tsVersion: opts.k3tsVersion ?? VERSION });
  if (spec.k3sArgs.length > specIn.k3sArgs.length) logger.info(`${info.runtime} is rootless: k3s nodes run with ${KUBELET_IN_USERNS_ARG}`);
  if (api !== specIn.api) logger.info(`the engine is on ${api.host}: the API is published on its port ${api.hostPort ?? "(a free one)"} on all its addresses, and the kubeconfig points at ${api.host}`);
  const run: CreateRun = {
    spec,
    runtime,
    opts,
    progress: opts.progress ?? silentProgress,
    logger,
    version: opts.k3tsVersion ?? VERSION,
    ...(signal ? { signal } : {}),
    undo: [],
    createId: opts.createId ?? randomBytes(8).toString("hex"),
  };
  return { run, info };
}

async function networkExists(runtime: Runtime, name: string, o: { signal?: AbortSignal }): Promise<boolean> {
  try {
    await runtime.networks.inspect(name, o);
    return true;
  } catch (err) {
    if (isK3tsError(err, "NETWORK_NOT_FOUND")) return false;
    throw err;
  }
}

/** The subnet the engine gives a new network (k3d's `--subnet auto`): a probe network is made, read and removed. */
async function freeSubnet(runtime: Runtime, probe: string, labels: Record<string, string>, o: { signal?: AbortSignal }): Promise<string | undefined> {
  const { network } = await runtime.networks.ensure({ name: probe, labels }, o);
  try {
    return network.subnet;
  } finally {
    await runtime.networks.delete(probe, o);
  }
}

/** CLUSTER_ALREADY_EXISTS for a name another create holds (one running now, or one that crashed). */
function beingCreated(cluster: string, why: string, cause?: unknown): K3tsError<"CLUSTER_ALREADY_EXISTS"> {
  return new K3tsError("CLUSTER_ALREADY_EXISTS", `cluster ${cluster} is being created by another k3ts (${why})`, {
    meta: { cluster },
    ...(cause ? { cause } : {}),
    hint: `if no other create of ${cluster} is running, k3ts cluster delete ${cluster} removes what a crashed one left`,
  });
}

/**
 * Runs `make` holding the cluster name's claim: a container named names.claim(cluster), created (never
 * started) and removed around it. A create that finds the claim taken is CLUSTER_ALREADY_EXISTS: another
 * create of the name is making its network right now (or crashed doing so: cluster delete removes it).
 * A cluster that joins an existing network takes no claim (its server-0's name is its claim).
 */
async function claimName<T>(run: CreateRun, make: () => Promise<T>): Promise<T> {
  const { spec, runtime, signal } = run;
  if (spec.network) return make();
  const claim = names.claim(spec.name);
  const o = signal ? { signal } : {};
  try {
    await runtime.nodes.create(
      { name: claim, image: spec.image, labels: baseLabels(run.version, { [LABELS.cluster]: spec.name, [LABELS.createId]: run.createId, [LABELS.role]: "claim" }), command: ["claim"] },
      o,
    );
  } catch (err) {
    if (!isK3tsError(err, "NODE_ALREADY_EXISTS")) throw err;
    throw beingCreated(spec.name, `it holds ${claim}`, err);
  }
  try {
    return await make();
  } finally {
    await runtime.nodes.delete(claim, { force: true }).catch((e: unknown) => {
      if (!isK3tsError(e, "NODE_NOT_FOUND")) run.logger.warn(`could not remove ${claim}, the claim on the name ${spec.name} (${(e as Error).message}): until it goes, a create of ${spec.name} is refused; remove it with k3ts cluster delete ${spec.name}`);
    });
  }
}

/**
 * The host-images registry of a cluster with `hostImages`, started by the caller's server on the address
 * the nodes reach the host at, once the network is there and before any node starts (k3s reads
 * registries.yaml once, at its start); stopped by the rollback.
 */
async function serveHostImages(run: CreateRun, info: RuntimeInfo, network: NetworkInfo): Promise<HostImagesMirror | undefined> {
  const { spec, opts, progress, signal, undo, logger } = run;
  const serve = opts.hostImages!;
  let address: string;
  try {
    address = hostImagesAddress(info, network.gateway);
  } catch (err) {
    if (!spec.hostImages?.optional || !isK3tsError(err, "RUNTIME_CAPABILITY_MISSING")) throw err;
    logger.info("host images off: the nodes reach the host through the engine's host-gateway (rootless, or in a VM), where k3ts cannot serve them yet; import images with k3ts image import");
    return undefined;
  }
  const service = await withStep(progress, `Serving the engine's images to the nodes on ${address}`, () => serve({ cluster: spec.name, address, network, ...(signal ? { signal } : {}) }));
  if (!service) return undefined;
  undo.push({ what: `host images registry ${service.endpoint}`, run: () => service.close() });
  return { endpoint: service.endpoint, keys: hostImagesMirrorKeys(spec.image, spec.hostImages?.mirrors) };
}

/** Step 2: what the nodes need before any of them is made: registries, files, images, the network, the plan. */
export async function prepareCluster(run: CreateRun, info: RuntimeInfo): Promise<Prepared> {
  const { spec, runtime, progress, logger, signal, undo, opts } = run;
  const o = callOpts(run);
  if (spec.hostImages && !opts.hostImages) {
    throw new K3tsError("INVALID_ARGUMENT", "hostImages: the cluster asks for the host's images, but nothing serves them (pass LifecycleOptions.hostImages)", { meta: { where: "hostImages" } });
  }
  const registries = await resolveClusterRegistries(spec, runtime, opts.env ?? process.env, signal);
  const userFiles = await readUserFiles(spec);
  if ((registries.use.length || registries.create || registries.userConfig || spec.hostImages) && spec.volumes.some((v) => v.value.target === REGISTRIES_YAML)) {
    logger.warn(`a volume is mounted at ${REGISTRIES_YAML} while registries are configured: the mount hides the file k3ts writes`);
  }
  await ensureImages(runtime, [spec.image, ...(spec.loadBalancer.enabled ? [spec.loadBalancer.image] : []), ...(registries.create ? [registries.create.image] : [])], { progress, ...o });
  // The limit is for k3s coming up: pulling images takes as long as the network makes it.
  const deadline = spec.timeoutMs > 0 ? Date.now() + spec.timeoutMs : undefined;
  const networkName = spec.network ?? names.network(spec.name);
  const etcd = hasEmbeddedEtcd(spec);
  const network = await withStep(progress, `Preparing network ${networkName}`, async () => {
    throwIfAborted(signal, "cluster create");
    const labels = baseLabels(run.version, { [LABELS.cluster]: spec.name, [LABELS.createId]: run.createId });
    // Servers with embedded etcd get fixed addresses, which the engine allows only on a network whose
    // subnet was given: when k3ts makes the network, it gives the one the engine would have picked.
    // The cluster's network is its name's claim. Not every engine makes a network for one caller only
    // (Docker's CheckDuplicate loses races, and then every name-based call is ambiguous), but every engine
    // gives a container name to one: a claim container serializes the network's making, its subnet probe included.
    const { network, created, subnet } = await claimName(run, async () => {
      const subnet = spec.subnet ?? (etcd && !(await networkExists(runtime, networkName, o)) ? await freeSubnet(runtime, `${networkName}-subnet-probe`, labels, o) : undefined);
      return { ...(await runtime.networks.ensure({ name: networkName, labels, ...(subnet ? { subnet } : {}) })), subnet };
    });
    if (created) undo.push({ what: `network ${networkName}`, run: () => runtime.networks.delete(networkName) });
    // A network of the name made by another create of it (one running now, or one that crashed).
    else if (!spec.network && network.labels[LABELS.managed] === "true" && network.labels[LABELS.cluster] === spec.name) throw beingCreated(spec.name, `its network ${networkName} is there`);
    else logger.info(`using existing network ${networkName}; it stays when the cluster is deleted`);
    return { info: network, external: !created, subnetGiven: !!subnet };
  });
  let serverAddresses: Map<number, string> | undefined;
  if (etcd && network.subnetGiven && network.info.subnet) {
    const taken = [network.info.gateway, ...network.info.members.map((m) => m.ipv4)];
    serverAddresses = new Map(serverAddresses_(network.info.subnet, spec.servers, taken).map((ip, i) => [i, ip]));
  } else if (etcd) {
    logger.warn(`network ${networkName} has no subnet k3ts may give addresses from: the servers keep no fixed addresses, and if the engine gives them others after a stop/start their etcd cannot reach quorum (pass --subnet)`);
  }
  const apiHostPort = spec.api.hostPort ?? (await freePort(spec.api.hostIP));
  const hostAddress = hostAddressFor(info, network.info.gateway);
  const token = spec.token ?? generateToken();
  const plan = planCluster(spec, {
    apiHostPort,
    network: networkName,
    networkExternal: network.external,
    ...(network.info.gateway ? { gateway: network.info.gateway } : {}),
    ...(hostAddress ? { hostAddress } : {}),
    token,
    k3tsVersion: run.version,
    createId: run.createId,
    ...(serverAddresses ? { serverAddresses } : {}),
  });
  const clusterRegistries: RegistrySummary[] = [];
  if (registries.create) {
    const create = registries.create;
    // Undone once made (a failed create of it cleans up after itself): a taken name is someone else's registry.
    clusterRegistries.push(await createRegistry(create, { ...opts, progress, network: networkName, owner: spec.name, createId: run.createId }));
    undo.push({ what: `registry ${create.name}`, run: () => runtime.nodes.delete(create.name, { force: true }) });
  }
  for (const r of registries.use) {
    if (!r.networks.includes(networkName)) {
      await withStep(progress, `Connecting registry ${r.name} to ${networkName}`, () => runtime.networks.connect(networkName, r.name, o));
      undo.push({ what: `registry ${r.name} on ${networkName}`, run: () => runtime.networks.disconnect(networkName, r.name) });
    }
    clusterRegistries.push(r);
  }
  const hostImages = spec.hostImages ? await serveHostImages(run, info, network.info) : undefined;
  const registriesYaml = renderRegistriesYaml(clusterRegistries.map(registryEndpoint), registries.userConfig, hostImages);
  // registries.yaml first: a user's file for the same path (k3d's files[]) then wins, as it would in k3d.
  const filesFor = (n: PlannedNode): NodeFile[] => [
    ...(n.role !== "loadbalancer" ? k3sNodeFiles(spec, n.spec) : []),
    ...(registriesYaml && n.role !== "loadbalancer" ? [{ path: REGISTRIES_YAML, content: registriesYaml, mode: 0o644 }] : []),
    ...n.files.map((i) => userFiles[i]!),
  ];
  return {
    info,
    networkName,
    network: network.info,
    plan,
    token,
    registries: clusterRegistries,
    filesFor,
    ...(deadline !== undefined ? { deadline } : {}),
  };
}

/**
 * Step 3: server-0 first; then at once its agents (a k3s agent waits for its server itself, retrying
 * /cacerts every 2 s, as kind starts all its nodes together), the wait for server-0's kubeconfig, and the
 * load balancer, started as soon as every node its configuration names runs (nginx resolves its
 * upstreams when it starts). Joining servers start once server-0 wrote its kubeconfig (a server that
 * joins before the first one initialized its datastore fails in k3s' bootstrap). Returns the kubeconfig
 * for the host.
 */
export async function provisionNodes(run: CreateRun, prep: Prepared): Promise<string> {
  const { spec, runtime, progress, signal, undo } = run;
  const { plan, token, filesFor } = prep;
  const track = (name: string) => undo.push({ what: `node ${name}`, run: () => runtime.nodes.delete(name, { force: true }) });
  const [first, ...otherServers] = plan.servers;
  await withStep(progress, `Starting server ${first!.spec.name}`, () =>
    startK3sNode(runtime, first!, token, signal, filesFor(first!), track).catch((err: unknown) => {
      // server-0's name is taken: another create of this cluster (on a network it joined) got there first.
      if (isK3tsError(err, "NODE_ALREADY_EXISTS")) throw beingCreated(spec.name, `${first!.spec.name} is there`, err);
      throw err;
    }),
  );
  const startOf = (n: PlannedNode) => {
    const started = startK3sNode(runtime, n, token, signal, filesFor(n), track);
    started.catch(() => undefined); // reported by allStarted
    return { node: n.spec.name, started };
  };
  const agentStarts = plan.agents.map(startOf);
  const kubeconfigStep = withStep(progress, `Waiting for ${first!.spec.name} to write its kubeconfig`, () => waitForKubeconfig(runtime, spec.name, first!.spec.name, prep.deadline, signal));
  const serversStep = kubeconfigStep.then(() =>
    otherServers.length ? withStep(progress, `Starting ${otherServers.length} server(s)`, () => allStarted(otherServers.map(startOf), signal)) : undefined,
  );
  const agentsStep = agentStarts.length ? withStep(progress, `Starting ${agentStarts.length} agent(s)`, () => allStarted(agentStarts, signal)) : undefined;
  const steps: Array<Promise<unknown>> = [kubeconfigStep, serversStep, ...(agentsStep ? [agentsStep] : [])];
  if (plan.loadBalancer) {
    const lb = plan.loadBalancer;
    const upstreams = new Set((plan.loadBalancerState?.ports ?? []).flatMap((p) => p.targets));
    const before = [...(otherServers.some((n) => upstreams.has(n.spec.name)) ? [serversStep] : []), ...agentStarts.filter((a) => upstreams.has(a.node)).map((a) => a.started)];
    steps.push(
      withStep(progress, `Starting load balancer ${lb.spec.name}`, () =>
        startLoadBalancer(runtime, { spec: lb.spec, state: plan.loadBalancerState!, servers: plan.servers.length, files: filesFor(lb), made: track, upstreams: Promise.allSettled(before), signal }),
      ),
    );
  }
  // Every step ends (and every made node is tracked for rollback) before the first failure is thrown.
  const failure = (await Promise.allSettled(steps)).find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
  const raw = (await runtime.nodes.readFile(first!.spec.name, KUBECONFIG_IN_NODE, callOpts(run))).toString("utf8");
  return rewriteKubeconfig(raw, { cluster: spec.name, server: plan.apiServerUrl });
}

/**
 * Step 4 (when the create waits): the API and every node Ready (a node that crashes fails it at once,
 * quoted), then what pods and tools read from the API: NodeHosts, LocalRegistryHosting.
 */
export async function awaitReady(run: CreateRun, prep: Prepared, kubeconfig: string): Promise<NodeReadiness[]> {
  const { spec, runtime, progress, logger } = run;
  const o = callOpts(run);
  const { plan } = prep;
  const first = plan.servers[0]!;
  if (!spec.wait) {
    if (prep.registries[0]) logger.info(`the LocalRegistryHosting ConfigMap is written only when create waits for the cluster (--wait)`);
    return [];
  }
  const access = accessFromKubeconfig(kubeconfig);
  const expected = [...plan.servers, ...plan.agents].map((n) => n.spec.name);
  const nodes = await withStep(progress, `Waiting for the API and ${expected.length} node(s) to be Ready`, async (step) => {
    try {
      const check = crashCheck(runtime, expected, { cluster: spec.name, ...o });
      return await waitForReady(access, expected, { ...o, ...(prep.deadline ? { deadline: prep.deadline } : {}), onStatus: (s) => step.update(s), check });
    } catch (err) {
      // A crash is reported with its node's words already; a timeout quotes every node still missing.
      if (!isK3tsError(err, "CLUSTER_NOT_READY") || (err.meta as { node?: string }).node) throw err;
      const missing = (err.meta as { missing?: string[] }).missing ?? [];
      const words = await Promise.all((missing.length ? missing : [first.spec.name]).map((n) => lastWords(runtime, n)));
      throw new K3tsError("CLUSTER_NOT_READY", `${err.message}\nwhat the nodes said last:\n${words.join("\n")}`, { meta: err.meta, cause: err });
    }
  });
  if (!corednsDisabled(spec.k3sArgs.map((a) => a.value))) {
    const aliases = await hostAliasesInNodes(runtime, first.spec.name, spec.hostAliases, prep.network.gateway, o);
    const source = { network: prep.networkName, nodes: expected, aliases };
    await withStep(progress, "Adding host.k3ts.internal, host aliases and the network's containers to CoreDNS (NodeHosts)", () => publishHostNames(runtime, access, source, o));
  }
  const advertised = prep.registries[0];
  if (advertised) {
    await withStep(progress, `Advertising registry ${advertised.name} (kube-public/local-registry-hosting)`, () => advertiseRegistry(access, registryEndpoint(advertised), o));
  }
  return nodes;
}

/** Step 5: the kubeconfig merged into the user's file (undone by restoring the file as it was). Returns the path when written. */
export async function publishKubeconfig(run: CreateRun, kubeconfig: string): Promise<string | undefined> {
  const { spec, progress, signal, undo } = run;
  if (!spec.kubeconfig.update) return undefined;
  const path = kubeconfigFile(run.opts);
  await withStep(progress, `Merging kubeconfig into ${path}`, async () => {
    let written = "";
    const { previous, changed } = await updateKubeconfigFile(path, (current) => {
      written = mergeKubeconfig(current, kubeconfig, { switchContext: spec.kubeconfig.switchContext });
      return written;
    });
    if (changed) undo.push({ what: `kubeconfig ${path}`, run: async () => void (await restoreKubeconfigFile(path, previous, written)) });
  });
  if (signal?.aborted) throw abortedError(signal, "cluster create");
  return path;
}

/**
 * Unwinds the undo stack (last made, first removed), then removes anything else this create made (its
 * id's label): nodes, registries, volumes and networks. What cannot be removed is logged as a warning
 * that says how to remove it; the rollback itself never throws (the create's own error is the one to report).
 */
export async function rollbackCreate(run: CreateRun): Promise<void> {
  const { spec, runtime, progress, logger } = run;
  const failures: string[] = [];
  const gone = (e: unknown) => isK3tsError(e, "NODE_NOT_FOUND", "NETWORK_NOT_FOUND", "VOLUME_NOT_FOUND");
  const remove = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      if (!gone(e)) failures.push(`${what} (${(e as Error).message})`);
    }
  };
  const found = <T>(what: string, fn: () => Promise<T[]>): Promise<T[]> =>
    fn().catch((e: unknown) => {
      failures.push(`the ${what} this create made (listing them failed: ${(e as Error).message})`);
      return [];
    });
  await withStep(progress, `Rolling back cluster ${spec.name}`, async () => {
    for (const step of [...run.undo].reverse()) await remove(step.what, step.run);
    run.undo.length = 0;
    // What a request in flight made after the stack was unwound: found by this create's id, never by the
    // cluster's name (another create of the name, or the cluster that has it, is not this create's to remove;
    // a network the user named that was there before carries no id of this create, so it stays).
    const mine = { labels: { [LABELS.managed]: "true", [LABELS.createId]: run.createId } };
    for (const n of await found("nodes", () => runtime.nodes.list(mine))) await remove(`node ${n.name}`, () => runtime.nodes.delete(n.name, { force: true }));
    for (const v of await found("volumes", () => runtime.volumes.list(mine))) await remove(`volume ${v.name}`, () => runtime.volumes.delete(v.name));
    for (const net of await found("networks", () => runtime.networks.list(mine))) await remove(`network ${net.name}`, () => runtime.networks.delete(net.name));
  }).catch((e: unknown) => failures.push(`the rest (${(e as Error).message})`));
  if (failures.length) {
    logger.warn(`rollback of cluster ${spec.name} could not remove: ${failures.join("; ")}; remove what is left with k3ts cluster delete ${spec.name} (it finds the cluster's nodes, volumes and networks by their labels)`);
  }
}

/**
 * Creates a cluster: preflight, prepare, provision, ready, publish (see above). On failure, timeout
 * or abort, removes everything it made (unless spec.rollback is false) and rethrows.
 */
export async function createCluster(specIn: ClusterSpec, opts: LifecycleOptions): Promise<CreateResult> {
  const { run, info } = await createPreflight(specIn, opts);
  try {
    const prep = await prepareCluster(run, info);
    const kubeconfig = await provisionNodes(run, prep);
    const nodes = await awaitReady(run, prep, kubeconfig);
    const mergedInto = await publishKubeconfig(run, kubeconfig);
    const cluster = await getCluster(run.spec.name, { runtime: run.runtime });
    return { cluster, kubeconfig, nodes, createId: run.createId, ...(mergedInto ? { kubeconfigPath: mergedInto } : {}) };
  } catch (err) {
    if (!run.spec.rollback) {
      run.logger.warn(`leaving the partly created cluster ${run.spec.name} in place (rollback is off)`);
      throw err;
    }
    await rollbackCreate(run);
    throw err;
  }
}
