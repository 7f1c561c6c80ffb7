/**
 * Helm releases through k3s's helm-controller (HelmChart, helm.cattle.io/v1): no helm binary. The
 * HelmChart is written with server-side apply; the controller runs the Job `helm-install-NAME`
 * (named in `status.jobName`) and, when the chart is deleted, `helm-delete-NAME` behind its
 * finalizer.
 *
 * Which Job is the current one: the Job's name never changes, and when the spec changes the
 * controller deletes the old Job (foreground) and creates a new one. Its pod-template annotation
 * `helmcharts.helm.cattle.io/configHash` hashes only the values Secret and the chart-content
 * ConfigMap, not the version, repo or `set`, so it cannot tell a stale Job from the current one on
 * its own. So: the Job's uid is read before the apply; when the apply moved the HelmChart's
 * `metadata.generation`, a Job with that uid (or one being deleted) is stale and the wait goes on
 * until a Job with another uid completes; when the apply changed nothing, the Job there is current.
 *
 * A failed helm run: klipper-helm's Job has `backoffLimit: 1000` and `restartPolicy: OnFailure`, so a
 * chart that cannot install (an unreachable repo, a template error) restarts the `helm` container in
 * CrashLoopBackOff for hours and the Job never turns Failed. So the wait also reads the current Job's
 * pods: once its helm container is not running and its last run ended with a non-zero exit code (or
 * it waits in CrashLoopBackOff, or the pod Failed), the install is COMMAND_FAILED with that pod's log
 * at once, as `helm install` itself would fail. A retry that is running (the container restarted
 * and is at it again) is still waited for.
 */
import { resolve } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { K3tsError } from "@k3ts/core";
import { KubeApi, pause, toMs, type KubeObject } from "./manifests-api.js";
import type { ApplyChange } from "./manifests.js";
import { jobPodLog, rolloutState } from "./manifests-rollout.js";
import { isChartDirectory, loadValues, packageChart, setValues, valuesContent, type HelmValues } from "./helm-chart.js";

export type { HelmValues } from "./helm-chart.js";

export interface HelmChartOptions {
  /** The release (and HelmChart) name. */
  name: string;
  /** Where the HelmChart lives (default `kube-system`, the namespace k3s's helm-controller watches in every setup). */
  namespace?: string;
  /** Where the release's objects go (default: the HelmChart's namespace). */
  targetNamespace?: string;
  /** Create the target namespace (`--create-namespace`). Default true when targetNamespace is set. */
  createNamespace?: boolean;
  /** A chart name in `repo`, an OCI reference (`oci://…`), or a local chart directory (a path with a Chart.yaml: packaged into `spec.chartContent`). */
  chart: string;
  repo?: string;
  version?: string;
  /** Values objects and values files (paths), merged in order into `spec.valuesContent`. */
  values?: ReadonlyArray<HelmValues | string>;
  /** `--set` values (`spec.set`). */
  set?: Record<string, string | number | boolean>;
  /** The repository's CA certificate (PEM) for an https repository with a private CA (`spec.repoCA`). */
  repoCA?: string;
  /** A ConfigMap (in the HelmChart's namespace) holding the repository's CA (`spec.repoCAConfigMap`). */
  repoCAConfigMap?: string;
  /** A Secret with `username`/`password` for the repository (`spec.authSecret`). */
  authSecret?: string;
  /** Send those credentials to other hosts the repository points at too (`spec.authPassCredentials`). */
  authPassCredentials?: boolean;
  /** A `kubernetes.io/dockerconfigjson` Secret for an `oci://` chart's registry (`spec.dockerRegistrySecret`). */
  dockerRegistrySecret?: string;
  /** Skip TLS verification of the repository or registry (`spec.insecureSkipTLSVerify`). */
  insecureSkipTLSVerify?: boolean;
  /** Plain HTTP to the chart's registry, e.g. a k3ts registry for `oci://` charts (`spec.plainHTTP`). */
  plainHTTP?: boolean;
  /** The klipper-helm image the Job runs (`spec.jobImage`), e.g. for an air-gapped mirror. */
  jobImage?: string;
  /** helm's own `--timeout` for the install or upgrade (`spec.timeout`, a Go duration such as 10m); `timeout` is how long this call waits. */
  helmTimeout?: string;
  /** The helm Job's backoffLimit (`spec.backOffLimit`; the controller's default is 1000). */
  backOffLimit?: number;
  /** After a failed install: `reinstall` (the controller's default: uninstall, then install again) or `abort` (`spec.failurePolicy`). */
  failurePolicy?: "reinstall" | "abort";
  /** How long to wait for the helm Job (a duration such as `5m`, or milliseconds). Default 5m. */
  timeout?: string | number;
  /** Wait for the Job to succeed (default true). */
  wait?: boolean;
  /** Relative chart directories and values files resolve against this (default process.cwd()). */
  cwd?: string;
  signal?: AbortSignal;
  onStatus?: (status: string) => void;
  /** Between two reads of the chart and its Job (default 1000 ms). */
  intervalMs?: number;
}

export interface HelmChartResult {
  name: string;
  namespace: string;
  /** The Job that installed the current spec (undefined with `wait: false`). */
  jobName?: string;
  /** created, configured (the spec changed: the release was upgraded) or unchanged. */
  change: ApplyChange;
}

export interface UninstallHelmChartOptions {
  name: string;
  namespace?: string;
  timeout?: string | number;
  signal?: AbortSignal;
  intervalMs?: number;
}

const DEFAULT_NAMESPACE = "kube-system";
const API_VERSION = "helm.cattle.io/v1";

function invalid(where: string, message: string): K3tsError<"INVALID_ARGUMENT"> {
  return new K3tsError("INVALID_ARGUMENT", `${where}: ${message}`, { meta: { where } });
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** 63 (a label value: the Job's job-name) minus "helm-install-". */
const MAX_RELEASE_NAME = 63 - "helm-install-".length;
/** core.MaxSecretSize: what the chart-content ConfigMap may hold. */
const CONFIGMAP_MAX_BYTES = 1024 * 1024;

/** The options of a chart beyond chart, values and set: each sets one field of the HelmChart's spec. */
export type HelmChartFieldOption =
  | "repoCA"
  | "repoCAConfigMap"
  | "authSecret"
  | "authPassCredentials"
  | "dockerRegistrySecret"
  | "insecureSkipTLSVerify"
  | "plainHTTP"
  | "jobImage"
  | "helmTimeout"
  | "backOffLimit"
  | "failurePolicy";

/** The HelmChart fields of options beyond chart, values and set, by option name: its spec key and type. */
export const HELMCHART_FIELDS = {
  repoCA: { key: "repoCA", type: "string" },
  repoCAConfigMap: { key: "repoCAConfigMap", type: "reference" },
  authSecret: { key: "authSecret", type: "reference" },
  authPassCredentials: { key: "authPassCredentials", type: "boolean" },
  dockerRegistrySecret: { key: "dockerRegistrySecret", type: "reference" },
  insecureSkipTLSVerify: { key: "insecureSkipTLSVerify", type: "boolean" },
  plainHTTP: { key: "plainHTTP", type: "boolean" },
  jobImage: { key: "jobImage", type: "string" },
  helmTimeout: { key: "timeout", type: "duration" },
  backOffLimit: { key: "backOffLimit", type: "integer" },
  failurePolicy: { key: "failurePolicy", type: "policy" },
} as const satisfies Record<HelmChartFieldOption, { key: string; type: string }>;

/** Go's time.ParseDuration forms (metav1.Duration in the CRD): 90s, 10m, 1h30m, 500ms. */
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/** The spec fields of HELMCHART_FIELDS that options set, checked (INVALID_ARGUMENT naming the option). */
function helmChartFields(options: HelmChartOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [option, { key, type }] of Object.entries(HELMCHART_FIELDS)) {
    const v = (options as unknown as Record<string, unknown>)[option];
    if (v === undefined) continue;
    const bad = (want: string) => invalid(option, `${JSON.stringify(v)} is not ${want}`);
    switch (type) {
      case "boolean":
        if (typeof v !== "boolean") throw bad("true or false");
        out[key] = v;
        break;
      case "integer":
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= 2 ** 31) throw bad("a whole number from 0");
        out[key] = v;
        break;
      case "duration":
        if (typeof v !== "string" || !GO_DURATION.test(v)) throw bad("a duration such as 90s, 10m or 1h30m");
        out[key] = v;
        break;
      case "policy":
        if (v !== "reinstall" && v !== "abort") throw bad("reinstall or abort");
        out[key] = v;
        break;
      case "reference":
        if (typeof v !== "string" || v.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v)) throw bad("the name of an object in the HelmChart's namespace");
        out[key] = { name: v };
        break;
      default:
        if (typeof v !== "string" || !v) throw bad("a non-empty string");
        out[key] = v;
    }
  }
  return out;
}

/** The HelmChart object for the options (a local chart is packaged here). */
export async function helmChartObject(options: HelmChartOptions): Promise<KubeObject> {
  if (typeof options !== "object" || options === null) throw invalid("options", "want { name, chart, … }");
  const { name, chart } = options;
  // The helm-controller runs the release as Job helm-install-NAME, whose job-name label holds at most 63 characters.
  if (typeof name !== "string" || !NAME.test(name) || name.length > MAX_RELEASE_NAME) {
    throw invalid("name", `${JSON.stringify(name)} is not a release name (lowercase letters, digits and -, at most ${MAX_RELEASE_NAME}: the helm-controller's Job helm-install-NAME must fit 63 characters)`);
  }
  if (typeof chart !== "string" || !chart) throw invalid("chart", "a chart name, an oci:// reference or a chart directory is required");
  const cwd = options.cwd ?? process.cwd();
  const spec: Record<string, unknown> = {};
  const local = !chart.startsWith("oci://") && !options.repo && (chart.startsWith(".") || chart.startsWith("/") || (await isChartDirectory(resolve(cwd, chart))));
  if (local) {
    const dir = resolve(cwd, chart);
    if (!(await isChartDirectory(dir))) throw new K3tsError("FILE_NOT_FOUND", `chart: ${chart} is not a chart directory (no Chart.yaml)`, { meta: { where: "chart", path: dir } });
    const packaged = await packageChart(dir);
    spec.chartContent = packaged.tgz.toString("base64");
    // hc copies chartContent into ConfigMap chart-content-NAME (key NAME.tgz.base64), which holds at most 1 MiB.
    const room = CONFIGMAP_MAX_BYTES - `${name}.tgz.base64`.length;
    if ((spec.chartContent as string).length > room) {
      throw invalid("chart", `${chart} packages to ${packaged.tgz.length} bytes (${(spec.chartContent as string).length} as base64), more than the ${room} the helm-controller's chart-content ConfigMap can hold (1 MiB); publish it to a chart repository or an OCI registry, or leave large files out with .helmignore`);
    }
  } else {
    spec.chart = chart;
    if (options.repo) spec.repo = options.repo;
  }
  if (options.version) spec.version = options.version;
  if (options.targetNamespace) {
    spec.targetNamespace = options.targetNamespace;
    if (options.createNamespace !== false) spec.createNamespace = true;
  } else if (options.createNamespace) spec.createNamespace = true;
  const values = await loadValues(options.values ?? [], cwd);
  if (Object.keys(values).length) spec.valuesContent = await valuesContent(values);
  const set = setValues(options.set);
  if (set && Object.keys(set).length) spec.set = set;
  Object.assign(spec, helmChartFields(options));
  return { apiVersion: API_VERSION, kind: "HelmChart", metadata: { name, namespace: options.namespace ?? DEFAULT_NAMESPACE }, spec };
}

interface HelmChartStatus {
  jobName?: string;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

async function chartPath(api: KubeApi, namespace: string, name: string, signal?: AbortSignal): Promise<string> {
  const resource = await api.resource(API_VERSION, "HelmChart", signal);
  if (!resource) {
    throw new K3tsError("KUBE_API_ERROR", `the cluster serves no HelmChart (${API_VERSION}): is k3s's helm-controller running (not --disable-helm-controller)?`, {
      meta: { apiVersion: API_VERSION, kind: "HelmChart", reason: "NotFound" },
    });
  }
  return KubeApi.objectPath(API_VERSION, resource, namespace, name);
}

interface ContainerState {
  running?: object;
  waiting?: { reason?: string; message?: string };
  terminated?: { exitCode?: number; reason?: string };
}

interface PodShape {
  metadata: KubeObject["metadata"] & { ownerReferences?: Array<{ uid?: string }>; deletionTimestamp?: string };
  status?: { phase?: string; containerStatuses?: Array<{ name: string; restartCount?: number; state?: ContainerState; lastState?: ContainerState }> };
}

/**
 * How often the same helm failure (the same error line) may come back before install gives up. The
 * helm-controller retries for ever (backoffLimit 1000, restartPolicy OnFailure, uninstall and reinstall
 * on the next run), so a chart that failed because the cluster was not ready yet (CoreDNS, a CRD
 * applied beside it, a repository hiccup) finishes on a later run; one that fails the same way three
 * times will not.
 */
export const SAME_HELM_FAILURE_LIMIT = 3;

/** Waiting reasons of a container that cannot start at all (reported at once: nothing will change by itself). */
const STUCK = new Set(["ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);

interface HelmRuns {
  /** One failed helm run, keyed so that each run counts once (pod and its restart count). */
  failure?: { key: string; description: string };
  /** A helm container that cannot start (ImagePullBackOff …): pod, reason, message. */
  stuck?: string;
}

/** What the Job's own pods (by ownerReference uid) show of its helm runs. */
async function helmRuns(api: KubeApi, job: KubeObject, signal?: AbortSignal): Promise<HelmRuns> {
  const namespace = job.metadata.namespace!;
  const selector = encodeURIComponent(`job-name=${job.metadata.name!}`);
  const res = await api.request(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${selector}`, signal ? { signal } : {});
  if (res.status !== 200) return {};
  const pods = (JSON.parse(res.body) as { items?: PodShape[] }).items ?? [];
  const out: HelmRuns = {};
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp || !(pod.metadata.ownerReferences ?? []).some((o) => o.uid === job.metadata.uid)) continue;
    const statuses = pod.status?.containerStatuses ?? [];
    const cs = statuses.find((c) => c.name === "helm") ?? statuses[0];
    const name = pod.metadata.name!;
    if (pod.status?.phase === "Failed") {
      out.failure = { key: name, description: `pod ${name} failed${cs?.state?.terminated?.exitCode !== undefined ? ` (helm exited with code ${cs.state.terminated.exitCode})` : ""}` };
      continue;
    }
    if (!cs || cs.state?.running) continue;
    const waiting = cs.state?.waiting;
    if (waiting?.reason && STUCK.has(waiting.reason)) out.stuck = `pod ${name}: ${cs.name} ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`;
    const last = cs.state?.terminated ?? (waiting ? cs.lastState?.terminated : undefined);
    if (waiting?.reason === "CrashLoopBackOff" || (last && last.exitCode !== undefined && last.exitCode !== 0)) {
      const runs = (cs.restartCount ?? 0) + (cs.state?.terminated ? 1 : 0);
      out.failure = { key: `${name}/${runs}`, description: `pod ${name}: ${cs.name} exited with code ${last?.exitCode ?? "?"}${waiting?.reason ? ` (${waiting.reason})` : last?.reason ? ` (${last.reason})` : ""}` };
    }
  }
  return out;
}

/** What identifies a helm failure across runs: its last `Error:` line (helm's own), else its last line. */
function failureSignature(log: string | undefined, description: string): string {
  const lines = (log ?? "").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("--- pod "));
  return [...lines].reverse().find((l) => l.startsWith("Error")) ?? lines.at(-1) ?? description.replace(/^pod \S+: /, "");
}

const jobPath = (namespace: string, job: string) => `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs/${encodeURIComponent(job)}`;

/**
 * Installs or upgrades a release: applies the HelmChart (server-side apply, field manager `k3ts`) and
 * waits until the helm Job for this spec succeeds, through the helm-controller's retries. A failed Job,
 * the chart's Failed condition, or the same helm failure {@link SAME_HELM_FAILURE_LIMIT} times is
 * COMMAND_FAILED, and TIMEOUT when the Job never succeeds; both carry the log of every distinct failure.
 * A helm pod that cannot start (ImagePullBackOff …) is reported in the status at once and in the error.
 */
export async function installHelmChart(kubeConfig: KubeConfig, options: HelmChartOptions): Promise<HelmChartResult> {
  const object = await helmChartObject(options);
  const api = new KubeApi(kubeConfig);
  const namespace = object.metadata.namespace!;
  const name = object.metadata.name!;
  const label = `HelmChart/${namespace}/${name}`;
  const signal = options.signal;
  const timeoutMs = toMs(options.timeout, "timeout", 5 * 60_000);
  const path = await chartPath(api, namespace, name, signal);
  const before = await api.json<KubeObject>(path, { signal, allow: [404], what: `reading ${label}`, meta: { object: label } });
  const defaultJob = `helm-install-${name}`;
  const jobBefore = await api.json<KubeObject>(jobPath(namespace, (before.body?.status as HelmChartStatus | undefined)?.jobName ?? defaultJob), { signal, allow: [404], what: `reading the helm job of ${label}` });
  const { body: after } = await api.json<KubeObject>(`${path}?fieldManager=k3ts&force=true&fieldValidation=Strict`, {
    method: "PATCH",
    body: object,
    contentType: "application/apply-patch+yaml",
    signal,
    what: `applying ${label}`,
    meta: { object: label },
  });
  const change: ApplyChange = before.status === 404 ? "created" : before.body?.metadata.generation === after!.metadata.generation ? "unchanged" : "configured";
  if (options.wait === false) return { name, namespace, change };
  // After a spec change, the Job that was there belongs to the previous generation.
  const staleUid = change === "configured" ? jobBefore.body?.metadata.uid : undefined;
  const deadline = Date.now() + timeoutMs;
  let last = "";
  const say = (s: string) => {
    if (s !== last) options.onStatus?.(s);
    last = s;
  };
  // Every failed helm run seen (by run), its log and signature; the distinct ones go into the error.
  const failures = new Map<string, { description: string; log?: string; signature: string }>();
  const distinctLogs = () => {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const f of failures.values()) {
      if (seen.has(f.signature)) continue;
      seen.add(f.signature);
      out.push(f.log ?? f.description);
    }
    return out.join("\n");
  };
  let stuck: string | undefined;
  for (;;) {
    const { body: chart } = await api.json<KubeObject>(path, { signal, what: `reading ${label}`, meta: { object: label } });
    const status = (chart!.status ?? {}) as HelmChartStatus;
    const failed = status.conditions?.find((c) => c.type === "Failed" && c.status === "True");
    const jobName = status.jobName ?? defaultJob;
    if (failed) {
      const log = await jobPodLog(api, namespace, jobName, signal, "helm").catch(() => undefined);
      throw new K3tsError("COMMAND_FAILED", `${label}: ${failed.reason ?? "Failed"}: ${failed.message ?? ""}${log ? `\n${log}` : ""}`, { meta: { object: label, job: jobName, reason: failed.reason, ...(log ? { log } : {}) } });
    }
    const job = await api.json<KubeObject>(jobPath(namespace, jobName), { signal, allow: [404], what: `reading job ${namespace}/${jobName}` });
    if (job.status === 404) say(status.jobName ? `waiting for job ${jobName}` : "waiting for the helm-controller to pick the chart up");
    else if (job.body!.metadata.uid === staleUid || job.body!.metadata.deletionTimestamp) say(`waiting for the helm-controller to replace job ${jobName} of the previous spec`);
    else {
      const state = rolloutState(job.body!)!;
      if (state.done) return { name, namespace, jobName, change };
      if ("failed" in state) {
        const log = await jobPodLog(api, namespace, jobName, signal, "helm").catch(() => undefined);
        throw new K3tsError("COMMAND_FAILED", `${label}: job ${jobName} failed: ${state.failed}${log ? `\n${log}` : ""}`, { meta: { object: label, job: jobName, reason: state.failed, ...(log ? { log } : {}) } });
      }
      const runs = await helmRuns(api, job.body!, signal);
      stuck = runs.stuck;
      if (runs.failure && !failures.has(runs.failure.key)) {
        const log = await jobPodLog(api, namespace, jobName, signal, "helm").catch(() => undefined);
        const signature = failureSignature(log, runs.failure.description);
        failures.set(runs.failure.key, { description: runs.failure.description, ...(log ? { log } : {}), signature });
        const same = [...failures.values()].filter((f) => f.signature === signature).length;
        if (same >= SAME_HELM_FAILURE_LIMIT) {
          const logs = distinctLogs();
          throw new K3tsError("COMMAND_FAILED", `${label}: job ${jobName}: helm failed ${same} times the same way (${runs.failure.description}): ${signature}; the helm-controller keeps retrying it${logs ? `\n${logs}` : ""}`, {
            meta: { object: label, job: jobName, reason: signature, failures: failures.size, ...(logs ? { log: logs } : {}) },
            hint: "fix the chart or its values and install again (a new spec replaces the job)",
          });
        }
      }
      const failedRuns = failures.size ? `; helm failed ${failures.size} time(s), last: ${[...failures.values()].at(-1)!.signature}` : "";
      say(stuck ? `job ${jobName}: ${stuck}` : `job ${jobName}: ${state.waiting}${failedRuns}`);
    }
    if (Date.now() >= deadline) {
      const log = failures.size ? distinctLogs() : await jobPodLog(api, namespace, jobName, signal, "helm").catch(() => undefined);
      throw new K3tsError("TIMEOUT", `${label} was not installed within ${timeoutMs} ms (${last})${log ? `\n${log}` : ""}`, {
        meta: { object: label, job: jobName, timeoutMs, waiting: last, ...(stuck ? { stuck } : {}), ...(log ? { log } : {}) },
      });
    }
    await pause(Math.min(options.intervalMs ?? 1000, Math.max(0, deadline - Date.now())), signal);
  }
}

/**
 * Uninstalls a release: deletes the HelmChart and waits until it is gone (its finalizer runs
 * `helm-delete-NAME`). A chart that is not there is not an error (`deleted: false`).
 */
export async function uninstallHelmChart(kubeConfig: KubeConfig, options: UninstallHelmChartOptions): Promise<{ deleted: boolean }> {
  const api = new KubeApi(kubeConfig);
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const { name, signal } = options;
  if (typeof name !== "string" || !NAME.test(name)) throw invalid("name", `${JSON.stringify(name)} is not a release name`);
  const label = `HelmChart/${namespace}/${name}`;
  const timeoutMs = toMs(options.timeout, "timeout", 5 * 60_000);
  const resource = await api.resource(API_VERSION, "HelmChart", signal);
  if (!resource) return { deleted: false };
  const path = KubeApi.objectPath(API_VERSION, resource, namespace, name);
  const { status } = await api.json(path, { method: "DELETE", signal, allow: [404], what: `deleting ${label}`, meta: { object: label } });
  if (status === 404) return { deleted: false };
  const deadline = Date.now() + timeoutMs;
  while ((await api.request(path, signal ? { signal } : {})).status !== 404) {
    if (Date.now() >= deadline) {
      const job = `helm-delete-${name}`;
      const log = await jobPodLog(api, namespace, job, signal, "helm").catch(() => undefined);
      throw new K3tsError("TIMEOUT", `${label} was still there ${timeoutMs} ms after it was deleted (the helm-controller runs job ${job} first)${log ? `\n${log}` : ""}`, {
        meta: { object: label, job, timeoutMs, ...(log ? { log } : {}) },
      });
    }
    await pause(Math.min(options.intervalMs ?? 1000, Math.max(0, deadline - Date.now())), signal);
  }
  return { deleted: true };
}
