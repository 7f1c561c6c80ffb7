/**
 * `up` converges an environment (k3ts.yaml, kind Environment): the cluster (made, or attached to
 * when an earlier `up` made it from the same options, or an existing one through a kubeconfig),
 * then Helm releases, manifests and endpoints in dependency order. Everything is applied with
 * server-side apply, so a second `up` changes nothing, and each step says what changed. `down`
 * removes it in reverse: endpoints closed, manifests deleted, releases uninstalled, then the
 * cluster when the environment made it (its nodes carry the label `k3ts.io/environment`).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { K3tsError, LABELS, isK3tsError, type Runtime } from "@k3ts/core";
import { createCluster, getCluster, resolveRuntime, type Cluster } from "./cluster.js";
import { withSdkLabels } from "./options.js";
import { forwardService, type Endpoint } from "./endpoint.js";
import { environmentSteps, loadEnvironment, type Environment, type EnvironmentStep } from "./environment.js";
import { installHelmChart, uninstallHelmChart } from "./helm.js";
import { applyManifests, deleteManifests } from "./manifests.js";

/** The runtime label that marks a cluster as made by an environment (its value: the environment's name). */
export const ENVIRONMENT_LABEL = "k3ts.io/environment";

export type UpEvent =
  | { type: "cluster"; name: string; created: boolean }
  /** The engine's images imported into the nodes (`spec.cluster.images`); warnings say what will keep one from being used as named. */
  | { type: "images"; imported: string[]; skipped: string[]; warnings: string[] }
  | { type: "step"; step: string; kind: EnvironmentStep["type"]; status: string }
  | { type: "step-done"; step: string; kind: EnvironmentStep["type"]; changed: number; unchanged: number }
  | { type: "endpoint"; step: string; url: string };

/** The existing cluster an environment names (`spec.cluster.kubeconfig` / `context`), as `up` and `down` are about to act on it. */
export interface EnvironmentTarget {
  context: string;
  server: string;
  /** The context is one k3ts made (`k3ts-<cluster>`), not a cluster someone else runs. */
  k3ts: boolean;
}

export interface TargetOptions {
  /**
   * Asked before `up`/`down` touch an existing cluster whose context k3ts did not make (a production
   * one, say): false (the default when absent) stops with ABORTED before anything is changed.
   */
  confirmTarget?: (target: EnvironmentTarget) => boolean | Promise<boolean>;
  /** Told which context and server an existing cluster is, before anything is changed. */
  onTarget?: (target: EnvironmentTarget) => void;
}

export interface UpOptions extends TargetOptions {
  /** The runtime for a cluster the environment makes (instance or name; default K3TS_RUNTIME). */
  runtime?: Runtime | string;
  /** Open the endpoints (default true). */
  endpoints?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: UpEvent) => void;
  /** Where K3TS_RUNTIME, K3TS_IMAGE, KUBECONFIG are read (default process.env). */
  environment?: Record<string, string | undefined>;
}

export interface UpStepResult {
  name: string;
  kind: EnvironmentStep["type"];
  changed: number;
  unchanged: number;
}

export interface UpResult extends AsyncDisposable {
  environment: Environment;
  /** The cluster handle when the environment names one k3ts makes (kept: it outlives the process). */
  cluster?: Cluster;
  kubeConfig: KubeConfig;
  steps: UpStepResult[];
  /** Open endpoints by step name. */
  endpoints: Map<string, Endpoint>;
  /** Objects (and releases) changed across every step; 0 on a second `up`. */
  changed: number;
  /** Closes the endpoints (the cluster and what was deployed stay). */
  close(): Promise<void>;
}

async function existingKubeConfig(env: Environment, cluster: { kubeconfig: string; context?: string }, vars: Record<string, string | undefined>): Promise<KubeConfig> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  try {
    if (cluster.kubeconfig) {
      const { resolve } = await import("node:path");
      const { homedir } = await import("node:os");
      kc.loadFromFile(resolve(env.dir, cluster.kubeconfig.replace(/^~(?=\/|$)/, homedir())));
    } else if (vars.KUBECONFIG) kc.loadFromDefault({}, true);
    else kc.loadFromDefault();
  } catch (err) {
    throw new K3tsError("INVALID_ARGUMENT", `${env.file}: spec.cluster.kubeconfig: cannot load ${cluster.kubeconfig || "the default kubeconfig"}: ${(err as Error).message}`, { meta: { file: env.file }, cause: err });
  }
  if (cluster.context) {
    if (!kc.getContextObject(cluster.context)) {
      throw new K3tsError("INVALID_ARGUMENT", `${env.file}: spec.cluster.context: no context ${cluster.context} (there are: ${kc.getContexts().map((c) => c.name).join(", ") || "none"})`, { meta: { file: env.file } });
    }
    kc.setCurrentContext(cluster.context);
  }
  return kc;
}

/** The existing cluster, said and (unless its context is k3ts's own) confirmed before anything changes. */
async function confirmedTarget(env: Environment, kc: KubeConfig, options: TargetOptions): Promise<void> {
  const context = kc.getCurrentContext();
  const target: EnvironmentTarget = { context, server: kc.getCurrentCluster()?.server ?? "", k3ts: context.startsWith("k3ts-") };
  options.onTarget?.(target);
  if (target.k3ts || (await options.confirmTarget?.(target))) return;
  throw new K3tsError("ABORTED", `${env.file}: context ${context} (${target.server}) was not made by k3ts; nothing was changed there`, {
    meta: { file: env.file, context, server: target.server },
    hint: "confirm that this cluster is the one to change (k3ts up/down --yes)",
  });
}

async function connect(env: Environment, options: UpOptions, create: boolean): Promise<{ kc: KubeConfig; cluster?: Cluster }> {
  const vars = options.environment ?? process.env;
  if ("kubeconfig" in env.cluster) {
    const kc = await existingKubeConfig(env, env.cluster, vars);
    await confirmedTarget(env, kc, options);
    return { kc };
  }
  const spec = env.cluster.create;
  if (!create) {
    const cluster = await getCluster(spec.name, { ...(options.runtime ? { runtime: options.runtime } : {}), environment: vars, ...(options.signal ? { signal: options.signal } : {}) });
    return { kc: await cluster.kubeConfig(), cluster };
  }
  let cluster: Cluster;
  try {
    cluster = await createCluster(withSdkLabels({
      ...spec,
      reuse: true,
      keep: true,
      ...(options.runtime ? { runtime: options.runtime } : {}),
      environment: vars,
      ...(options.signal ? { signal: options.signal } : {}),
    }, { [ENVIRONMENT_LABEL]: env.name }));
  } catch (err) {
    if (isK3tsError(err, "INVALID_ARGUMENT") && !String(err.message).startsWith(env.file)) {
      throw new K3tsError("INVALID_ARGUMENT", `${env.file}: spec.cluster.${err.message}`, { meta: { ...err.meta, file: env.file }, cause: err, ...(err.hint ? { hint: err.hint } : {}) });
    }
    throw err;
  }
  options.onEvent?.({ type: "cluster", name: cluster.name, created: cluster.created });
  if (env.cluster.images.length) {
    const r = await cluster.importImages(env.cluster.images, options.signal ? { signal: options.signal } : {});
    const sources = (status: string) => [...new Set(r.nodes.flatMap((n) => n.images.filter((i) => i.status === status).map((i) => i.source)))];
    options.onEvent?.({ type: "images", imported: sources("imported"), skipped: sources("skipped"), warnings: r.warnings });
  }
  return { kc: await cluster.kubeConfig(), cluster };
}

/** Converges the environment in `envFile` (or an already-loaded one). */
export async function up(envFile: string | Environment, options: UpOptions = {}): Promise<UpResult> {
  const env = typeof envFile === "string" ? await loadEnvironment(envFile) : envFile;
  const { kc, cluster } = await connect(env, options, true);
  const endpoints = new Map<string, Endpoint>();
  const steps: UpStepResult[] = [];
  const close = async () => {
    for (const e of endpoints.values()) await e.close();
    endpoints.clear();
  };
  const say = options.onEvent ?? (() => undefined);
  try {
    for (const step of environmentSteps(env)) {
      const signal = options.signal ? { signal: options.signal } : {};
      if (step.type === "helm") {
        const r = await installHelmChart(kc, {
          name: step.name,
          chart: step.chart,
          ...(step.namespace ? { namespace: step.namespace } : {}),
          ...(step.targetNamespace ? { targetNamespace: step.targetNamespace } : {}),
          ...(step.repo ? { repo: step.repo } : {}),
          ...(step.version ? { version: step.version } : {}),
          ...(step.values?.length ? { values: step.values } : {}),
          ...(step.set ? { set: step.set } : {}),
          ...(step.timeout ? { timeout: step.timeout } : {}),
          ...step.chartFields,
          cwd: env.dir,
          onStatus: (status) => say({ type: "step", step: step.name, kind: "helm", status }),
          ...signal,
        });
        const changed = r.change === "unchanged" ? 0 : 1;
        steps.push({ name: step.name, kind: "helm", changed, unchanged: 1 - changed });
      } else if (step.type === "manifests") {
        const r = await applyManifests(kc, step.sources, {
          cwd: env.dir,
          ...(step.namespace ? { namespace: step.namespace } : {}),
          ...(step.wait ? { wait: { ...(step.timeout ? { timeout: step.timeout } : {}), onStatus: (o, s) => say({ type: "step", step: step.name, kind: "manifests", status: `${o}: ${s}` }) } } : {}),
          onApplied: (a) => say({ type: "step", step: step.name, kind: "manifests", status: `${a.kind}/${a.namespace ? `${a.namespace}/` : ""}${a.name} ${a.change}` }),
          ...signal,
        });
        steps.push({ name: step.name, kind: "manifests", changed: r.changed, unchanged: r.unchanged });
      } else {
        if (options.endpoints === false) continue;
        const e = await forwardService(kc, {
          service: step.service,
          port: step.port,
          ...(step.namespace ? { namespace: step.namespace } : {}),
          ...(step.localPort !== undefined ? { localPort: step.localPort } : {}),
          ...signal,
        });
        endpoints.set(step.name, e);
        say({ type: "endpoint", step: step.name, url: e.url });
        steps.push({ name: step.name, kind: "endpoint", changed: 0, unchanged: 0 });
        continue;
      }
      const last = steps[steps.length - 1]!;
      say({ type: "step-done", step: last.name, kind: last.kind, changed: last.changed, unchanged: last.unchanged });
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    environment: env,
    ...(cluster ? { cluster } : {}),
    kubeConfig: kc,
    steps,
    endpoints,
    changed: steps.reduce((n, s) => n + s.changed, 0),
    close,
    [Symbol.asyncDispose]: close,
  };
}

export interface DownOptions extends TargetOptions {
  runtime?: Runtime | string;
  signal?: AbortSignal;
  onEvent?: (event: { type: "step" | "cluster"; name: string; status: string }) => void;
  /** Delete the cluster the environment made (default true). */
  deleteCluster?: boolean;
  environment?: Record<string, string | undefined>;
}

export interface DownResult {
  steps: Array<{ name: string; kind: EnvironmentStep["type"]; removed: number }>;
  /** True when the environment's cluster was deleted. */
  clusterDeleted: boolean;
}

/** Removes what `up` made: manifests and Helm releases in reverse dependency order, then the cluster if the environment made it. */
export async function down(envFile: string | Environment, options: DownOptions = {}): Promise<DownResult> {
  const env = typeof envFile === "string" ? await loadEnvironment(envFile) : envFile;
  const vars = options.environment ?? process.env;
  let connected: { kc: KubeConfig; cluster?: Cluster };
  try {
    const { onEvent: _events, ...rest } = options;
    connected = await connect(env, { ...rest, environment: vars }, false);
  } catch (err) {
    // No cluster: nothing of the environment is left.
    if (isK3tsError(err, "CLUSTER_NOT_FOUND")) return { steps: [], clusterDeleted: false };
    throw err;
  }
  const { kc, cluster } = connected;
  const steps: DownResult["steps"] = [];
  const say = options.onEvent ?? (() => undefined);
  const signal = options.signal ? { signal: options.signal } : {};
  for (const step of environmentSteps(env).reverse()) {
    if (step.type === "manifests") {
      const r = await deleteManifests(kc, step.sources, { cwd: env.dir, ...(step.namespace ? { namespace: step.namespace } : {}), ...signal });
      steps.push({ name: step.name, kind: "manifests", removed: r.deleted.length });
      say({ type: "step", name: step.name, status: `${r.deleted.length} deleted, ${r.missing.length} not there` });
    } else if (step.type === "helm") {
      const r = await uninstallHelmChart(kc, { name: step.name, ...(step.namespace ? { namespace: step.namespace } : {}), ...(step.timeout ? { timeout: step.timeout } : {}), ...signal });
      steps.push({ name: step.name, kind: "helm", removed: r.deleted ? 1 : 0 });
      say({ type: "step", name: step.name, status: r.deleted ? "uninstalled" : "not there" });
    }
  }
  let clusterDeleted = false;
  if (cluster && options.deleteCluster !== false) {
    const { runtime } = await resolveRuntime(cluster.runtime, vars);
    const made = await runtime.nodes.list({ labels: { [LABELS.cluster]: cluster.name, [ENVIRONMENT_LABEL]: env.name } }, signal);
    if (made.length) {
      await cluster.delete();
      clusterDeleted = true;
      say({ type: "cluster", name: cluster.name, status: "deleted" });
    } else {
      say({ type: "cluster", name: cluster.name, status: "kept (the environment did not make it)" });
      await cluster[Symbol.asyncDispose]();
    }
  } else if (cluster) await cluster[Symbol.asyncDispose]();
  return { steps, clusterDeleted };
}
