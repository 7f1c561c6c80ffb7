/**
 * Clusters in programs: {@link createCluster} and {@link getCluster} return a {@link Cluster} handle
 * over core's lifecycle (create with rollback, start, stop, delete, kubeconfig), with the Kubernetes
 * client from @kubernetes/client-node (loaded on first use).
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { K3tsError, LABELS, VERSION, isK3tsError, createCluster as coreCreateCluster, deleteCluster, getCluster as coreGetCluster, getKubeconfig, importImages as coreImportImages, selectRuntime, silentLogger, startCluster, stopCluster, type ClusterSpec, type ClusterSummary, type HostImagesServer, type DeleteResult, type ImageSource, type ImportImagesResult, type Logger, type Node, type NodeSummary, type Progress, type Runtime } from "@k3ts/core";
import { K3S_API_PORT, hostImagesCacheDir, recordedHostImagesEndpoint, rewriteKubeconfig, startClusterHostImages, TOKEN_FILE_IN_NODE } from "@k3ts/core/internal";
import { deleteOnExit, processEndingBySignal } from "./cleanup.js";
import { isReaped, reapOnCrash, reapTargetFor, reaperEnabled, type ReapTarget } from "./reaper-client.js";
import { forwardService, type Endpoint, type EndpointOptions } from "./endpoint.js";
import { installHelmChart, uninstallHelmChart, type HelmChartOptions, type HelmChartResult, type UninstallHelmChartOptions } from "./helm.js";
import { applyManifests, type ApplyManifestsOptions, type ApplyResult, type KubeObject, type ManifestSource } from "./manifests.js";
import { waitForRollout, type RolloutOptions } from "./manifests-rollout.js";
import { clusterSpec, type ClusterOptions } from "./options.js";
import { differingFields, hashSpec, specLabels, type SpecField } from "./spec-hash.js";

export interface KubeconfigOptions {
  /**
   * The variant for containers on the cluster's network: server `https://<load balancer or
   * server-0>:6443` (both are in the API certificate) instead of the port published on the host.
   */
  network?: boolean;
}

export interface WriteKubeconfigOptions extends KubeconfigOptions {
  /** Where to write it (mode 0600). Default: a new temporary directory, removed when the cluster is deleted. */
  path?: string;
}

export interface GetClusterOptions {
  /** As {@link ClusterOptions.runtime}. */
  runtime?: Runtime | string;
  /** Delete the cluster when the process exits and when the handle is disposed. Default true (an attached cluster is kept). */
  keep?: boolean;
  /** As {@link ClusterOptions.reaper} (only matters with `keep: false`). */
  reaper?: boolean;
  signal?: AbortSignal;
  logger?: Logger;
  progress?: Progress;
  environment?: Record<string, string | undefined>;
}

/** The cluster's host-images registry, as {@link Cluster.hostImages} shows it. */
export interface HostImagesInfo {
  /** The endpoint the nodes pull through (`http://GATEWAY:PORT`). */
  url: string;
  /** What it sent so far: manifests and blobs, and the blobs' bytes (what entered the nodes through it). */
  served: { manifests: number; blobs: number; blobBytes: number };
}

/** The host-images registry a handle runs, and its cache directory (removed with the cluster). */
interface HostImagesState {
  url: string;
  served(): HostImagesInfo["served"];
  close(): Promise<void>;
  cacheDir: string;
}

/**
 * The SDK's host-images server: the registry in this process (it does not keep the process alive), its cache
 * in `cacheDir`. `started` holds it once it runs.
 */
function inProcessHostImages(
  runtime: Runtime,
  cacheDir: string,
  logger: Logger,
): { serve: HostImagesServer; resume: (endpoint: string) => Promise<void>; started: () => HostImagesState | undefined } {
  let state: HostImagesState | undefined;
  const start = async (address: string, port?: number) => {
    // Not the create's signal: the registry outlives the create, until the handle is disposed.
    const registry = await startClusterHostImages({ runtime, cacheDir, address, logger, unref: true, ...(port ? { port } : {}) });
    state = { url: registry.url, served: () => registry.served, close: () => registry.close(), cacheDir };
    return registry;
  };
  const serve: HostImagesServer = async ({ address }) => {
    const registry = await start(address);
    return { endpoint: registry.url, close: () => registry.close() };
  };
  // A reused cluster's nodes read the endpoint they were made with: the registry listens there again.
  const resume = async (endpoint: string) => {
    const url = new URL(endpoint);
    await start(url.hostname, Number(url.port)).catch((err: unknown) => {
      if (!isK3tsError(err, "PORT_IN_USE")) throw err;
      logger.warn(`host images: ${endpoint} is taken (another program serves this cluster's host images?); this one serves none`);
    });
  };
  return { serve, resume, started: () => state };
}

/** Stops a host-images registry and, with `removeCache`, removes its cache. */
async function stopHostImages(state: HostImagesState | undefined, removeCache: boolean): Promise<void> {
  if (!state) return;
  await state.close();
  if (removeCache) await rm(state.cacheDir, { recursive: true, force: true });
}

interface ResolvedRuntime {
  runtime: Runtime;
  /** Made here from a name: closed with the handle. */
  owned: boolean;
}

/**
 * The runtime the caller asked for: an instance, a name for core's plugin loader, or K3TS_RUNTIME.
 * The sdk never auto-detects one (only the CLI picks runtimes); without one it says how to pass it.
 */
export async function resolveRuntime(runtime: Runtime | string | undefined, env: Record<string, string | undefined>): Promise<ResolvedRuntime> {
  if (runtime !== undefined && typeof runtime !== "string") {
    if (typeof runtime !== "object" || runtime === null || typeof runtime.nodes !== "object") {
      throw new K3tsError("INVALID_ARGUMENT", "runtime: not a k3ts Runtime (want an instance from a runtime plugin, or a runtime name)", { meta: { where: "runtime" } });
    }
    return { runtime, owned: false };
  }
  const name = runtime ?? env.K3TS_RUNTIME;
  if (!name) {
    throw new K3tsError("INVALID_ARGUMENT", "runtime: no container runtime given (the sdk never guesses one)", {
      meta: { where: "runtime" },
      hint: 'pass runtime: "docker" or "podman" (a plugin name or path), a Runtime instance, or set K3TS_RUNTIME',
    });
  }
  // Resolved from the program's directory first (where its runtime plugin is installed), then from here.
  const { runtime: created } = await selectRuntime({ name, env, resolveFrom: [import.meta.url], context: { env, k3tsVersion: VERSION } });
  return { runtime: created, owned: true };
}

interface HandleState {
  name: string;
  runtime: Runtime;
  ownsRuntime: boolean;
  keep: boolean;
  created: boolean;
  /** The create that made the cluster, when this handle did: delete removes only what it made. */
  createId?: string;
  /** The kubeconfig file this handle merged the cluster into (cleaned on delete). */
  kubeconfigPath: string | undefined;
  logger: Logger;
  progress: Progress | undefined;
  /** How the reaper deletes the cluster should the process end without doing so; undefined: no reaper. */
  reap: ReapTarget | undefined;
  /** The host-images registry this handle runs (created with `hostImages`). */
  hostImages?: HostImagesState;
}

/** A k3s cluster made or found by the sdk. */
export class Cluster implements AsyncDisposable {
  readonly #s: HandleState;
  readonly #tempDirs = new Set<string>();
  #deleted = false;
  /** Forgets the delete-at-exit registration (set unless the cluster is kept). */
  #forgetExit: (() => void) | undefined;
  /** Forgets the reaper's registration (set unless the cluster is kept or there is no reaper). */
  #forgetReaper: (() => void) | undefined;

  /** @internal Use {@link createCluster} or {@link getCluster}. */
  constructor(state: HandleState) {
    this.#s = state;
    if (!state.keep) {
      const name = state.name;
      this.#forgetReaper = state.reap ? reapOnCrash(name, { ...state.reap, ...(state.createId ? { createId: state.createId } : {}) }) : undefined;
      this.#forgetExit = deleteOnExit({ name, controller: new AbortController(), logger: state.logger, dispose: () => this.delete(), reaped: () => isReaped(name) });
    }
  }

  get name(): string {
    return this.#s.name;
  }

  /** The runtime the cluster's nodes run on. */
  get runtime(): Runtime {
    return this.#s.runtime;
  }

  /** True when this handle created the cluster; false when it attached to one that was there (`reuse`, {@link getCluster}). */
  get created(): boolean {
    return this.#s.created;
  }

  /** The host-images registry this handle runs for the cluster (created with `hostImages: true`); undefined otherwise. */
  get hostImages(): HostImagesInfo | undefined {
    const h = this.#s.hostImages;
    return h ? { url: h.url, served: h.served() } : undefined;
  }

  /** True when the cluster outlives the handle (not deleted on dispose or at exit). */
  get keep(): boolean {
    return this.#s.keep;
  }

  #lifecycle() {
    return { runtime: this.#s.runtime, logger: this.#s.logger, ...(this.#s.progress ? { progress: this.#s.progress } : {}) };
  }

  /** Servers, agents, load balancer and API endpoint, as the engine reports them now. */
  info(): Promise<ClusterSummary> {
    return coreGetCluster(this.#s.name, { runtime: this.#s.runtime });
  }

  /** Every node: servers, agents, then the load balancer. */
  async nodes(): Promise<NodeSummary[]> {
    const c = await this.info();
    return [...c.servers, ...c.agents, ...(c.loadBalancer ? [c.loadBalancer] : [])];
  }

  /** The kubeconfig (context `k3ts-NAME`): server on the host (`https://127.0.0.1:PORT`), or with `network` the in-network address. */
  async kubeconfig(options: KubeconfigOptions = {}): Promise<string> {
    const host = await getKubeconfig(this.#s.name, { runtime: this.#s.runtime });
    if (!options.network) return host;
    const c = await this.info();
    const target = c.loadBalancer?.name ?? c.servers[0]?.name;
    if (!target) throw new K3tsError("CLUSTER_NOT_READY", `cluster ${this.#s.name} has no server node`, { meta: { cluster: this.#s.name } });
    return rewriteKubeconfig(host, { cluster: this.#s.name, server: `https://${target}:${K3S_API_PORT}` });
  }

  /** Writes the kubeconfig to a file (0600) and returns its path. */
  async writeKubeconfig(options: WriteKubeconfigOptions = {}): Promise<string> {
    const content = await this.kubeconfig(options);
    let path = options.path;
    if (!path) {
      const dir = await mkdtemp(join(tmpdir(), `k3ts-${this.#s.name}-`));
      this.#tempDirs.add(dir);
      path = join(dir, options.network ? "kubeconfig-network.yaml" : "kubeconfig.yaml");
    }
    await writeFile(path, content, { mode: 0o600 });
    await chmod(path, 0o600);
    return path;
  }

  /**
   * A @kubernetes/client-node KubeConfig for the cluster (`kc.makeApiClient(CoreV1Api)`), loaded
   * from {@link kubeconfig} (which gives the same as YAML text).
   */
  async kubeConfig(options: KubeconfigOptions = {}): Promise<KubeConfig> {
    const [text, { KubeConfig }] = await Promise.all([this.kubeconfig(options), import("@kubernetes/client-node")]);
    const kc = new KubeConfig();
    kc.loadFromString(text);
    return kc;
  }

  #kubeConfig?: Promise<KubeConfig>;

  /** The host's KubeConfig, loaded once for the handle's own calls (a failed load is tried again next time). */
  #hostKubeConfig(): Promise<KubeConfig> {
    return (this.#kubeConfig ??= this.kubeConfig().catch((err: unknown) => {
      this.#kubeConfig = undefined;
      throw err;
    }));
  }

  /** @deprecated Renamed {@link kubeConfig} (it returns a KubeConfig, not a client); kept as an alias. */
  kubeClient(options: KubeconfigOptions = {}): Promise<KubeConfig> {
    return this.kubeConfig(options);
  }

  /**
   * A local port forwarded to a Service (by its port's name or number), resolved to a ready pod and
   * re-resolved when that pod is replaced: `await using web = await cluster.endpoint("web", 80)`,
   * then `await web.ready` and `fetch(web.url)`. See {@link forwardService}.
   */
  async endpoint(service: string, port: number | string, options: EndpointOptions = {}): Promise<Endpoint> {
    return forwardService(await this.#hostKubeConfig(), { ...options, service, port });
  }

  /**
   * Applies manifests to the cluster with server-side apply: {@link applyManifests} with this
   * cluster's KubeConfig (files, directories, kustomizations, URLs and objects; `wait` for rollouts).
   *
   * @example
   * const applied = await cluster.apply(["k8s/"]);
   */
  async apply(sources: ManifestSource | ManifestSource[], options: ApplyManifestsOptions = {}): Promise<ApplyResult> {
    return applyManifests(await this.#hostKubeConfig(), sources, options);
  }

  /**
   * Installs or upgrades a Helm release through k3s's helm-controller: {@link installHelmChart} with
   * this cluster's KubeConfig.
   *
   * @example
   * await cluster.helm({ name: "redis", chart: "redis", repo: "https://charts.bitnami.com/bitnami" });
   */
  async helm(options: HelmChartOptions): Promise<HelmChartResult> {
    return installHelmChart(await this.#hostKubeConfig(), options);
  }

  /** Uninstalls a Helm release {@link helm} installed: {@link uninstallHelmChart} with this cluster's KubeConfig. */
  async uninstallHelm(options: UninstallHelmChartOptions): Promise<{ deleted: boolean }> {
    return uninstallHelmChart(await this.#hostKubeConfig(), options);
  }

  /**
   * Waits for workloads to roll out as `kubectl rollout status` decides (Jobs: until Complete):
   * {@link waitForRollout} with this cluster's KubeConfig. Takes objects (only kind, name and
   * namespace are read) or what {@link apply} returned.
   *
   * @example
   * await cluster.rollout(await cluster.apply(["k8s/"]), { timeout: "2m" });
   */
  async rollout(objects: KubeObject | KubeObject[] | ApplyResult, options: RolloutOptions = {}): Promise<void> {
    const list = Array.isArray(objects) ? objects : "kind" in objects ? [objects] : objects.objects.map((a) => a.object);
    return waitForRollout(await this.#hostKubeConfig(), list, options);
  }

  /**
   * Copies images into the nodes' containerd, as `k3ts image import` does: image references are read
   * from the engine (`docker save` / `podman save`), `{ kind: "file", path }` are archives; every
   * server and agent unless `nodeFilters` (k3d's, e.g. `["agent:*"]`) says otherwise. Images a node
   * holds already are skipped. `warnings` says when an image will not be used as named (a `:latest`
   * reference is pulled by the kubelet, not taken from the node). Throws COMMAND_FAILED, with every
   * node's failure, when a node could not import.
   *
   * @example
   * await cluster.importImages(["my-app:dev"]);
   */
  importImages(images: ReadonlyArray<string | ImageSource>, options: { nodeFilters?: string[]; signal?: AbortSignal } = {}): Promise<ImportImagesResult> {
    const { runtime, progress } = this.#lifecycle();
    return coreImportImages(this.#s.name, images, { runtime, ...(progress ? { progress } : {}), ...options });
  }

  /** Stops every node (load balancer, agents, servers). */
  async stop(): Promise<ClusterSummary> {
    return stopCluster(this.#s.name, this.#lifecycle());
  }

  /** Starts the nodes again and (unless `wait: false`) waits for the API and every node to be Ready. */
  async start(options: { wait?: boolean; timeoutMs?: number } = {}): Promise<ClusterSummary> {
    return startCluster(this.#s.name, { ...this.#lifecycle(), ...options });
  }

  /**
   * Deletes the cluster: nodes, network, volumes, the kubeconfig entries this handle merged, and the
   * kubeconfig files it wrote to temporary directories. Idempotent.
   */
  async delete(): Promise<DeleteResult> {
    this.#forgetExit?.();
    this.#forgetExit = undefined;
    const result = await deleteCluster(this.#s.name, {
      ...this.#lifecycle(),
      ...(this.#s.createId ? { createId: this.#s.createId } : {}),
      updateKubeconfig: this.#s.kubeconfigPath !== undefined,
      ...(this.#s.kubeconfigPath ? { kubeconfigPath: this.#s.kubeconfigPath } : {}),
    });
    // Forgotten by the reaper only once it is gone: a process killed during the delete still has it reaped.
    this.#forgetReaper?.();
    this.#forgetReaper = undefined;
    // The host images' cache goes with the cluster.
    await stopHostImages(this.#s.hostImages, true);
    await this.#release();
    this.#deleted = true;
    return result;
  }

  async #release(): Promise<void> {
    // The registry lives as long as the handle; a kept cluster keeps its cache for the next program.
    await stopHostImages(this.#s.hostImages, false);
    for (const dir of this.#tempDirs) await rm(dir, { recursive: true, force: true });
    this.#tempDirs.clear();
    if (this.#s.ownsRuntime) await this.#s.runtime.close?.();
  }

  /** `await using cluster = await createCluster(…)`: deletes the cluster unless it is kept. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#deleted) return;
    if (this.#s.keep) {
      await this.#release();
      return;
    }
    await this.delete();
  }
}

/** Thrown by `reuse` when the existing cluster was made from another spec. */
function mismatch(name: string, differ: string[], nodes: Node[], spec: ClusterSpec): K3tsError<"CLUSTER_ALREADY_EXISTS"> {
  const servers = nodes.filter((n) => n.labels[LABELS.role] === "server");
  const agents = nodes.filter((n) => n.labels[LABELS.role] === "agent");
  const seen: Partial<Record<SpecField | "token", string>> = {
    servers: `${servers.length} there, ${spec.servers} asked`,
    agents: `${agents.length} there, ${spec.agents} asked`,
    image: `${servers[0]?.image ?? "?"} there, ${spec.image} asked`,
  };
  const detail = differ.map((f) => (seen[f as SpecField] ? `${f} (${seen[f as SpecField]})` : f));
  return new K3tsError("CLUSTER_ALREADY_EXISTS", `cluster ${name} exists with another spec; differs: ${detail.join(", ")}`, {
    meta: { cluster: name, differs: differ },
    hint: `delete it, pick another name, or attach to it as it is with getCluster("${name}")`,
  });
}

/**
 * Checks that the cluster's nodes were made from this spec, and, when a token is given, that it is the
 * cluster's: read from server-0's token file (no digest of it is kept in labels, where anyone who can list
 * containers could test guesses against it offline).
 */
async function checkReuse(runtime: Runtime, name: string, nodes: Node[], spec: ClusterSpec, signal?: AbortSignal): Promise<void> {
  const server0 = nodes.find((n) => n.labels[LABELS.role] === "server" && n.labels[LABELS.nodeIndex] === "0") ?? nodes[0]!;
  const labels = server0.labels;
  if (labels[LABELS.specHash] === undefined) {
    throw new K3tsError("CLUSTER_ALREADY_EXISTS", `cluster ${name} exists but records no spec (it was not created by the sdk), so reuse cannot tell whether it matches`, {
      meta: { cluster: name, differs: [] },
      hint: `attach to it as it is with getCluster("${name}"), or pick another name`,
    });
  }
  const hash = hashSpec(spec);
  const differ: string[] = differingFields(labels, hash);
  if (spec.token !== undefined) {
    const there = await runtime.nodes.readFile(server0.name, TOKEN_FILE_IN_NODE, signal ? { signal } : {}).then(
      (b) => b.toString("utf8").trim(),
      () => undefined,
    );
    if (there !== spec.token) differ.push("token");
  }
  if (differ.length === 0 && labels[LABELS.specHash] !== hash.hash) differ.push("(a field this version of k3ts does not know; recreate the cluster)");
  if (differ.length) throw mismatch(name, differ, nodes, spec);
}

/**
 * Creates a k3s cluster (or, with `reuse`, attaches to the same one made earlier) and returns its
 * handle. Unless `keep` (or `reuse`) is set, the cluster is deleted when the handle is disposed and
 * when the process ends (signals and `beforeExit`; see the README for what cannot be covered).
 */
export async function createCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const env = options.environment ?? process.env;
  const reuse = options.reuse === true;
  const spec = clusterSpec(options, reuse ? (s) => `sdk-${hashSpec(s).hash.slice(0, 8)}` : undefined);
  const { runtime, owned } = await resolveRuntime(options.runtime, env);
  const logger = options.logger ?? silentLogger;
  const keep = options.keep ?? reuse;
  const reap = !keep && reaperEnabled(options.reaper, env) ? await reapTargetFor(options.runtime, runtime, env) : undefined;
  // This create's id, known before it starts: the reaper and the exit clean-up delete only what it made.
  const createId = randomBytes(8).toString("hex");
  const hostImages = spec.hostImages ? inProcessHostImages(runtime, hostImagesCacheDir(spec.name, env), logger) : undefined;
  const handle = (created: boolean, kubeconfigPath: string | undefined) => {
    const served = hostImages?.started();
    return new Cluster({ name: spec.name, runtime, ownsRuntime: owned, keep, created, kubeconfigPath, logger, progress: options.progress, reap, ...(created ? { createId } : {}), ...(served ? { hostImages: served } : {}) });
  };
  try {
    // Checked here, before core's create (which refuses a taken name too): with reuse, a taken name is attached to.
    const nodes = await runtime.nodes.list({ labels: { [LABELS.managed]: "true", [LABELS.cluster]: spec.name } }, options.signal ? { signal: options.signal } : {});
    if (nodes.length > 0 && !reuse) {
      throw new K3tsError("CLUSTER_ALREADY_EXISTS", `cluster ${spec.name} already exists`, {
        meta: { cluster: spec.name },
        hint: `pick another name, pass reuse: true to attach to it when its spec matches, or getCluster("${spec.name}")`,
      });
    }
    if (nodes.length > 0) {
      await checkReuse(runtime, spec.name, nodes, spec, options.signal);
      logger.info(`reusing cluster ${spec.name}`);
      if (hostImages) {
        const server0 = nodes.find((n) => n.labels[LABELS.role] === "server" && n.labels[LABELS.nodeIndex] === "0") ?? nodes[0]!;
        const endpoint = await recordedHostImagesEndpoint(runtime, server0.name, options.signal);
        if (endpoint) await hostImages.resume(endpoint);
        else logger.warn(`host images: the nodes of cluster ${spec.name} name no host-images endpoint; none is served`);
      }
      const cluster = handle(false, undefined);
      if (nodes.some((n) => n.state !== "running")) await cluster.start({ wait: spec.wait, timeoutMs: spec.timeoutMs });
      return cluster;
    }
    const withLabels: ClusterSpec = { ...spec, runtimeLabels: [...spec.runtimeLabels, ...specLabels(hashSpec(spec))] };
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    let made = false;
    const creating = coreCreateCluster(withLabels, {
      runtime,
      logger,
      signal,
      createId,
      env,
      ...(options.progress ? { progress: options.progress } : {}),
      ...(options.kubeconfigPath ? { kubeconfigPath: options.kubeconfigPath } : {}),
      ...(hostImages ? { hostImages: hostImages.serve } : {}),
    }).then((r) => {
      made = true;
      return r;
    });
    // Registered before the create starts, so a program killed while it creates has what it made reaped.
    const forgetReaper = reap ? reapOnCrash(spec.name, { ...reap, createId }) : undefined;
    const forget = keep
      ? undefined
      : deleteOnExit({
          name: spec.name,
          controller,
          pending: creating,
          logger,
          // Only what this create made: a failed create has rolled back, and a name that was taken is someone else's.
          dispose: async () => {
            const deleted = made ? await deleteCluster(spec.name, { runtime, createId, updateKubeconfig: spec.kubeconfig.update, ...(options.kubeconfigPath ? { kubeconfigPath: options.kubeconfigPath } : {}) }) : undefined;
            await stopHostImages(hostImages?.started(), true);
            return deleted;
          },
          reaped: () => isReaped(spec.name),
        });
    try {
      const result = await creating;
      // From here the handle's own registration (which also removes the kubeconfig files it writes) takes over.
      return handle(true, result.kubeconfigPath);
    } catch (err) {
      // The rollback stopped the registry; its cache goes too.
      await stopHostImages(hostImages?.started(), true);
      // Rolled back because a signal ends the process: the signal, re-raised, ends it as it would have; the program sees nothing.
      if (controller.signal.aborted && processEndingBySignal()) await new Promise<never>(() => {});
      throw err;
    } finally {
      forget?.();
      forgetReaper?.();
    }
  } catch (err) {
    if (owned) await runtime.close?.();
    throw err;
  }
}

/** A handle on an existing cluster (CLUSTER_NOT_FOUND when there is none). It is kept unless `keep: false`. */
export async function getCluster(name: string, options: GetClusterOptions = {}): Promise<Cluster> {
  const env = options.environment ?? process.env;
  const { runtime, owned } = await resolveRuntime(options.runtime, env);
  const logger = options.logger ?? silentLogger;
  try {
    await coreGetCluster(name, { runtime, signal: options.signal });
  } catch (err) {
    if (owned) await runtime.close?.();
    throw err;
  }
  const keep = options.keep ?? true;
  const reap = !keep && reaperEnabled(options.reaper, env) ? await reapTargetFor(options.runtime, runtime, env) : undefined;
  return new Cluster({ name, runtime, ownsRuntime: owned, keep, created: false, kubeconfigPath: undefined, logger, progress: options.progress, reap });
}
