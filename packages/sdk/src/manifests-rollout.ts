/**
 * Rollout waits, decided as `kubectl rollout status` decides (kubectl
 * polymorphichelpers/rollout_status.go): Deployments, StatefulSets and DaemonSets once their
 * controller has observed the current generation and the updated pods are available; Jobs once
 * Complete (Failed → an error carrying the log of the job's last pod). Other kinds are not waited
 * for. Each object is re-read (GET) until done or the deadline: the answer names the object and
 * what it was still waiting for.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { K3tsError } from "@k3ts/core";
import { KubeApi, describeObject, pause, toMs, type KubeObject } from "./manifests-api.js";

export interface RolloutOptions {
  /** Give up after this long (a duration such as `5m`, or milliseconds). Default 5m. */
  timeout?: string | number;
  signal?: AbortSignal;
  /** Called whenever an object's state changes ("2/3 updated replicas"). */
  onStatus?: (object: string, status: string) => void;
  /** Between two reads of an object (default 1000 ms). */
  intervalMs?: number;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

type WorkloadStatus = Record<string, unknown> & { observedGeneration?: number; conditions?: Condition[] };

/** What one read says: done, failed (with why), or still waiting (with what for). */
export type RolloutState = { done: true } | { done: false; waiting: string } | { done: false; failed: string };

const num = (v: unknown): number => (typeof v === "number" ? v : 0);

/** The rollout state of a Deployment, StatefulSet, DaemonSet or Job as the server reports it; undefined for other kinds. */
export function rolloutState(o: KubeObject): RolloutState | undefined {
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  const status = (o.status ?? {}) as WorkloadStatus;
  const generation = o.metadata.generation ?? 0;
  const observed = status.observedGeneration ?? 0;
  const group = o.apiVersion.split("/")[0];
  const stale = { done: false as const, waiting: `waiting for the controller to observe generation ${generation} (observed ${observed})` };
  if (group === "apps" && o.kind === "Deployment") {
    if (generation > observed) return stale;
    const progressing = status.conditions?.find((c) => c.type === "Progressing");
    if (progressing?.reason === "ProgressDeadlineExceeded") return { done: false, failed: `progress deadline exceeded: ${progressing.message ?? ""}` };
    const replicas = typeof spec.replicas === "number" ? spec.replicas : 1;
    const updated = num(status.updatedReplicas);
    if (updated < replicas) return { done: false, waiting: `${updated} of ${replicas} replicas updated` };
    if (num(status.replicas) > updated) return { done: false, waiting: `${num(status.replicas) - updated} old replicas pending termination` };
    if (num(status.availableReplicas) < updated) return { done: false, waiting: `${num(status.availableReplicas)} of ${updated} updated replicas available` };
    return { done: true };
  }
  if (group === "apps" && o.kind === "StatefulSet") {
    const strategy = (spec.updateStrategy ?? {}) as { type?: string; rollingUpdate?: { partition?: number } };
    if (strategy.type && strategy.type !== "RollingUpdate") return { done: false, failed: `rollout status is only available for the RollingUpdate strategy type (it is ${strategy.type})` };
    if (observed === 0 || generation > observed) return stale;
    const replicas = typeof spec.replicas === "number" ? spec.replicas : 1;
    if (num(status.readyReplicas) < replicas) return { done: false, waiting: `${num(status.readyReplicas)} of ${replicas} pods ready` };
    if (strategy.rollingUpdate) {
      const partitioned = replicas - num(strategy.rollingUpdate.partition);
      if (num(status.updatedReplicas) < partitioned) return { done: false, waiting: `${num(status.updatedReplicas)} of ${partitioned} new pods updated` };
      return { done: true };
    }
    if (status.updateRevision !== status.currentRevision) return { done: false, waiting: `${num(status.updatedReplicas)} pods at revision ${String(status.updateRevision)}` };
    return { done: true };
  }
  if (group === "apps" && o.kind === "DaemonSet") {
    const strategy = (spec.updateStrategy ?? {}) as { type?: string };
    if (strategy.type && strategy.type !== "RollingUpdate") return { done: false, failed: `rollout status is only available for the RollingUpdate strategy type (it is ${strategy.type})` };
    if (generation > observed) return stale;
    const desired = num(status.desiredNumberScheduled);
    if (num(status.updatedNumberScheduled) < desired) return { done: false, waiting: `${num(status.updatedNumberScheduled)} of ${desired} updated pods scheduled` };
    if (num(status.numberAvailable) < desired) return { done: false, waiting: `${num(status.numberAvailable)} of ${desired} updated pods available` };
    return { done: true };
  }
  if (group === "batch" && o.kind === "Job") {
    const conditions = status.conditions ?? [];
    if (conditions.some((c) => c.type === "Complete" && c.status === "True")) return { done: true };
    const failed = conditions.find((c) => c.type === "Failed" && c.status === "True");
    if (failed) return { done: false, failed: `${failed.reason ?? "Failed"}: ${failed.message ?? ""}`.trim() };
    return { done: false, waiting: `${num(status.active)} active, ${num(status.succeeded)} succeeded, ${num(status.failed)} failed pods` };
  }
  return undefined;
}

const WORKLOADS = new Set(["apps/Deployment", "apps/StatefulSet", "apps/DaemonSet", "batch/Job"]);

export function isWorkload(o: Pick<KubeObject, "apiVersion" | "kind">): boolean {
  return WORKLOADS.has(`${o.apiVersion.split("/")[0]}/${o.kind}`);
}

/** The log of a Job's newest pod (the previous container's too when it restarted), or undefined when there is none to read. */
export async function jobPodLog(api: KubeApi, namespace: string, job: string, signal?: AbortSignal, container?: string): Promise<string | undefined> {
  const selector = encodeURIComponent(`job-name=${job}`);
  const res = await api.request(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${selector}`, signal ? { signal } : {});
  if (res.status !== 200) return undefined;
  const pods = (JSON.parse(res.body) as { items?: Array<KubeObject & { status?: { containerStatuses?: Array<{ name: string; restartCount?: number }> } }> }).items ?? [];
  const pod = pods.sort((a, b) => String(b.metadata.creationTimestamp ?? "").localeCompare(String(a.metadata.creationTimestamp ?? "")))[0];
  if (!pod) return undefined;
  const name = pod.metadata.name!;
  const cs = pod.status?.containerStatuses?.find((c) => !container || c.name === container);
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/log?tailLines=40${container ? `&container=${encodeURIComponent(container)}` : ""}`;
  const parts: string[] = [];
  if ((cs?.restartCount ?? 0) > 0) {
    const prev = await api.request(`${base}&previous=true`, signal ? { signal } : {});
    if (prev.status === 200 && prev.body.trim()) parts.push(`--- pod ${name} (previous run) ---\n${prev.body.trimEnd()}`);
  }
  const cur = await api.request(base, signal ? { signal } : {});
  if (cur.status === 200 && cur.body.trim()) parts.push(`--- pod ${name} ---\n${cur.body.trimEnd()}`);
  return parts.length ? parts.join("\n") : undefined;
}

async function objectPath(api: KubeApi, o: KubeObject, signal?: AbortSignal): Promise<string> {
  const resource = await api.resource(o.apiVersion, o.kind, signal);
  if (!resource) throw new K3tsError("KUBE_API_ERROR", `${describeObject(o)}: the cluster serves no ${o.kind} in ${o.apiVersion}`, { meta: { object: describeObject(o), reason: "NotFound" } });
  return KubeApi.objectPath(o.apiVersion, resource, o.metadata.namespace, o.metadata.name!);
}

/**
 * Waits until every Deployment, StatefulSet, DaemonSet and Job among `objects` has rolled out (other
 * kinds are skipped). TIMEOUT names the objects still waiting and what for; a failed rollout or Job is
 * COMMAND_FAILED with the reason (and, for a Job, its pod's log when the cluster has one).
 */
export async function waitForRollout(kubeConfig: KubeConfig, objects: KubeObject[], options: RolloutOptions = {}): Promise<void> {
  const api = new KubeApi(kubeConfig);
  const timeoutMs = toMs(options.timeout, "timeout", 5 * 60_000);
  const deadline = Date.now() + timeoutMs;
  const interval = options.intervalMs ?? 1000;
  const pending = objects.filter(isWorkload).map((o) => ({
    o: { ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace || api.defaultNamespace } },
    last: "",
  }));
  while (pending.length) {
    for (let i = pending.length - 1; i >= 0; i--) {
      const p = pending[i]!;
      const label = describeObject(p.o);
      const path = await objectPath(api, p.o, options.signal);
      const { body } = await api.json<KubeObject>(path, { signal: options.signal, what: `reading ${label}`, meta: { object: label } });
      const state = rolloutState(body!)!;
      if (state.done) {
        pending.splice(i, 1);
        options.onStatus?.(label, "rolled out");
        continue;
      }
      if ("failed" in state) {
        const log = p.o.kind === "Job" ? await jobPodLog(api, p.o.metadata.namespace!, p.o.metadata.name!, options.signal).catch(() => undefined) : undefined;
        throw new K3tsError("COMMAND_FAILED", `${label} failed: ${state.failed}${log ? `\n${log}` : ""}`, { meta: { object: label, reason: state.failed, ...(log ? { log } : {}) } });
      }
      if (state.waiting !== p.last) options.onStatus?.(label, state.waiting);
      p.last = state.waiting;
    }
    if (!pending.length) return;
    if (Date.now() >= deadline) {
      throw new K3tsError("TIMEOUT", `not rolled out within ${timeoutMs} ms: ${pending.map((p) => `${describeObject(p.o)} (${p.last})`).join("; ")}`, {
        meta: { timeoutMs, objects: pending.map((p) => describeObject(p.o)), waiting: pending.map((p) => p.last) },
      });
    }
    await pause(Math.min(interval, Math.max(0, deadline - Date.now())), options.signal);
  }
}
