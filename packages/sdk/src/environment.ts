/**
 * Declarative environments: `k3ts.yaml` with `apiVersion: k3ts.io/v1alpha1`, `kind: Environment`
 * (the same apiVersion as the `Cluster` kind of `k3ts cluster create --config`). `spec.cluster` is
 * either a cluster k3ts makes (its `name` and the sdk's cluster options, in the CLI's string forms:
 * `ports: ["8080:80@loadbalancer"]`) or an existing cluster (`kubeconfig` and `context`); then Helm
 * releases, manifests and endpoints, each with a `name` and `dependsOn`. Every error is
 * INVALID_ARGUMENT naming `FILE:LINE: path`.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { K3tsError } from "@k3ts/core";
import type { ClusterSpecOptions } from "./options.js";
import type { HelmValues } from "./helm-chart.js";

export const ENVIRONMENT_API_VERSION = "k3ts.io/v1alpha1";
export const ENVIRONMENT_KIND = "Environment";

export interface EnvironmentHelm {
  name: string;
  namespace?: string;
  targetNamespace?: string;
  chart: string;
  repo?: string;
  version?: string;
  values?: Array<HelmValues | string>;
  set?: Record<string, string | number | boolean>;
  timeout?: string;
  dependsOn: string[];
}

export interface EnvironmentManifests {
  name: string;
  sources: string[];
  namespace?: string;
  /** Wait for Deployments/StatefulSets/DaemonSets/Jobs to roll out (default true). */
  wait: boolean;
  timeout?: string;
  dependsOn: string[];
}

export interface EnvironmentEndpoint {
  name: string;
  service: string;
  namespace?: string;
  port: number | string;
  localPort?: number;
  dependsOn: string[];
}

export type EnvironmentCluster = { create: ClusterSpecOptions & { name: string } } | { kubeconfig: string; context?: string };

export interface Environment {
  name: string;
  /** The file it was read from; relative paths inside resolve against its directory. */
  file: string;
  dir: string;
  cluster: EnvironmentCluster;
  helm: EnvironmentHelm[];
  manifests: EnvironmentManifests[];
  endpoints: EnvironmentEndpoint[];
}

/** One step of an environment, in the order `up` runs them. */
export type EnvironmentStep = ({ type: "helm" } & EnvironmentHelm) | ({ type: "manifests" } & EnvironmentManifests) | ({ type: "endpoint" } & EnvironmentEndpoint);

const CLUSTER_KEYS = new Set(["name", "servers", "agents", "image", "api", "ports", "volumes", "env", "k3sArgs", "nodeLabels", "runtimeLabels", "hostAliases", "network", "subnet", "token", "memory", "loadBalancer", "privileged", "wait", "timeout", "rollback"]);
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

type Place = (path: Array<string | number>) => string;

class Reader {
  constructor(
    readonly file: string,
    readonly place: Place,
  ) {}

  fail(path: Array<string | number>, message: string): never {
    const pointer = path.map(String).join(".");
    throw new K3tsError("INVALID_ARGUMENT", `${this.place(path)}: ${pointer || "/"}: ${message}`, { meta: { file: this.file, path: pointer } });
  }

  map(v: unknown, path: Array<string | number>, known: readonly string[]): Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(path, "want a mapping");
    for (const k of Object.keys(v)) if (!known.includes(k)) this.fail([...path, k], `unknown field (known: ${known.join(", ")})`);
    return v as Record<string, unknown>;
  }

  str(v: unknown, path: Array<string | number>, required = false): string | undefined {
    if (v === undefined && !required) return undefined;
    if (typeof v !== "string" || !v) this.fail(path, required && v === undefined ? "required" : "want a non-empty string");
    return v;
  }

  list<T>(v: unknown, path: Array<string | number>, item: (x: unknown, p: Array<string | number>) => T): T[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(path, "want a list");
    return v.map((x, i) => item(x, [...path, i]));
  }

  name(v: unknown, path: Array<string | number>): string {
    const s = this.str(v, path, true)!;
    if (!NAME.test(s)) this.fail(path, `${JSON.stringify(s)} is not a name (lowercase letters, digits and -)`);
    return s;
  }

  port(v: unknown, path: Array<string | number>): number | string {
    if (typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 65535) return v;
    if (typeof v === "string" && v) return v;
    this.fail(path, "want a port number or name");
  }
}

/** Parses an Environment document (text) read from `file`. */
export async function parseEnvironment(text: string, file: string): Promise<Environment> {
  const { parseDocument, LineCounter, isNode } = await import("yaml");
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new K3tsError("INVALID_ARGUMENT", `${file}:${e.linePos?.[0]?.line ?? 1}: not valid YAML: ${e.message.split("\n")[0]}`, { meta: { file } });
  }
  const place: Place = (path) => {
    for (let p = path; ; p = p.slice(0, -1)) {
      const node = p.length ? doc.getIn(p, true) : doc.contents;
      if (isNode(node) && node.range) return `${file}:${lines.linePos(node.range[0]).line}`;
      if (!p.length) return file;
    }
  };
  const r = new Reader(file, place);
  const top = r.map(doc.toJS(), [], ["apiVersion", "kind", "metadata", "spec"]);
  if (top.apiVersion !== ENVIRONMENT_API_VERSION) r.fail(["apiVersion"], `want ${ENVIRONMENT_API_VERSION}`);
  if (top.kind !== ENVIRONMENT_KIND) r.fail(["kind"], `want ${ENVIRONMENT_KIND}${top.kind === "Cluster" ? " (a Cluster file is for k3ts cluster create --config)" : ""}`);
  const name = r.name(r.map(top.metadata ?? {}, ["metadata"], ["name"]).name, ["metadata", "name"]);
  const spec = r.map(top.spec ?? {}, ["spec"], ["cluster", "helm", "manifests", "endpoints"]);
  const dir = dirname(resolve(file));

  const c = spec.cluster;
  if (c === undefined) r.fail(["spec", "cluster"], "required: { name, …cluster options } or { kubeconfig, context }");
  let cluster: EnvironmentCluster;
  const cm = r.map(c, ["spec", "cluster"], [...CLUSTER_KEYS, "kubeconfig", "context"]);
  if (cm.kubeconfig !== undefined || cm.context !== undefined) {
    const extra = Object.keys(cm).filter((k) => k !== "kubeconfig" && k !== "context");
    if (extra.length) r.fail(["spec", "cluster", extra[0]!], "an existing cluster (kubeconfig/context) takes no cluster options");
    const kubeconfig = r.str(cm.kubeconfig, ["spec", "cluster", "kubeconfig"]) ?? "";
    cluster = { kubeconfig, ...(cm.context !== undefined ? { context: r.str(cm.context, ["spec", "cluster", "context"])! } : {}) };
  } else {
    r.name(cm.name, ["spec", "cluster", "name"]);
    cluster = { create: cm as unknown as ClusterSpecOptions & { name: string } };
  }

  const deps = (v: unknown, path: Array<string | number>) => r.list(v, path, (x, p) => r.name(x, p));
  const helm = r.list(spec.helm, ["spec", "helm"], (x, p): EnvironmentHelm => {
    const h = r.map(x, p, ["name", "namespace", "targetNamespace", "chart", "repo", "version", "values", "set", "timeout", "dependsOn"]);
    const values = r.list(h.values, [...p, "values"], (v, vp) => {
      if (typeof v === "string") return resolve(dir, v);
      if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as HelmValues;
      return r.fail(vp, "want a values mapping or a values file path");
    });
    const chart = r.str(h.chart, [...p, "chart"], true)!;
    const out: EnvironmentHelm = { name: r.name(h.name, [...p, "name"]), chart: chart.startsWith(".") ? resolve(dir, chart) : chart, values, dependsOn: deps(h.dependsOn, [...p, "dependsOn"]) };
    for (const k of ["namespace", "targetNamespace", "repo", "version", "timeout"] as const) {
      const s = r.str(h[k], [...p, k]);
      if (s !== undefined) out[k] = s;
    }
    if (h.set !== undefined) out.set = r.map(h.set, [...p, "set"], Object.keys(h.set as object)) as EnvironmentHelm["set"];
    return out;
  });
  const manifests = r.list(spec.manifests, ["spec", "manifests"], (x, p): EnvironmentManifests => {
    const m = r.map(x, p, ["name", "sources", "namespace", "wait", "timeout", "dependsOn"]);
    const sources = r.list(m.sources, [...p, "sources"], (s, sp) => {
      const t = r.str(s, sp, true)!;
      return /^https?:\/\//i.test(t) ? t : resolve(dir, t);
    });
    if (!sources.length) r.fail([...p, "sources"], "want at least one file, directory or URL");
    if (m.wait !== undefined && typeof m.wait !== "boolean") r.fail([...p, "wait"], "want true or false");
    const out: EnvironmentManifests = { name: r.name(m.name, [...p, "name"]), sources, wait: m.wait !== false, dependsOn: deps(m.dependsOn, [...p, "dependsOn"]) };
    const ns = r.str(m.namespace, [...p, "namespace"]);
    if (ns) out.namespace = ns;
    const t = r.str(m.timeout, [...p, "timeout"]);
    if (t) out.timeout = t;
    return out;
  });
  const endpoints = r.list(spec.endpoints, ["spec", "endpoints"], (x, p): EnvironmentEndpoint => {
    const e = r.map(x, p, ["name", "service", "namespace", "port", "localPort", "dependsOn"]);
    const out: EnvironmentEndpoint = { name: r.name(e.name, [...p, "name"]), service: r.str(e.service, [...p, "service"], true)!, port: r.port(e.port, [...p, "port"]), dependsOn: deps(e.dependsOn, [...p, "dependsOn"]) };
    const ns = r.str(e.namespace, [...p, "namespace"]);
    if (ns) out.namespace = ns;
    if (e.localPort !== undefined) {
      if (typeof e.localPort !== "number" || !Number.isInteger(e.localPort) || e.localPort < 0 || e.localPort > 65535) r.fail([...p, "localPort"], "want a port number");
      out.localPort = e.localPort as number;
    }
    return out;
  });

  const env: Environment = { name, file, dir, cluster, helm, manifests, endpoints };
  // Names are unique across kinds, and every dependency names one; no cycles (checked by ordering).
  const seen = new Map<string, Array<string | number>>();
  const all: Array<[Array<string | number>, { name: string; dependsOn: string[] }]> = [
    ...helm.map((h, i) => [["spec", "helm", i], h] as [Array<string | number>, EnvironmentHelm]),
    ...manifests.map((m, i) => [["spec", "manifests", i], m] as [Array<string | number>, EnvironmentManifests]),
    ...endpoints.map((e, i) => [["spec", "endpoints", i], e] as [Array<string | number>, EnvironmentEndpoint]),
  ];
  for (const [p, s] of all) {
    if (seen.has(s.name)) r.fail([...p, "name"], `${s.name} is already the name of ${seen.get(s.name)!.join(".")}`);
    seen.set(s.name, p);
  }
  for (const [p, s] of all) s.dependsOn.forEach((d, i) => (seen.has(d) ? undefined : r.fail([...p, "dependsOn", i], `no helm release, manifests or endpoint is named ${d}`)));
  try {
    environmentSteps(env);
  } catch (err) {
    if (err instanceof K3tsError) throw new K3tsError("INVALID_ARGUMENT", `${file}: ${err.message}`, { meta: { file } });
    throw err;
  }
  return env;
}

/** Reads and parses an environment file. */
export async function loadEnvironment(file: string): Promise<Environment> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new K3tsError("FILE_NOT_FOUND", `${file}: cannot read the environment file: ${(err as Error).message}`, { meta: { file }, cause: err, hint: "k3ts up -f FILE names another file" });
  }
  return parseEnvironment(text, file);
}

/** The steps in dependency order (each after what it depends on; otherwise in file order: helm, manifests, endpoints). */
export function environmentSteps(env: Pick<Environment, "helm" | "manifests" | "endpoints">): EnvironmentStep[] {
  const steps: EnvironmentStep[] = [
    ...env.helm.map((h) => ({ type: "helm" as const, ...h })),
    ...env.manifests.map((m) => ({ type: "manifests" as const, ...m })),
    ...env.endpoints.map((e) => ({ type: "endpoint" as const, ...e })),
  ];
  const done = new Set<string>();
  const out: EnvironmentStep[] = [];
  while (out.length < steps.length) {
    const next = steps.find((s) => !done.has(s.name) && s.dependsOn.every((d) => done.has(d)));
    if (!next) {
      const stuck = steps.filter((s) => !done.has(s.name)).map((s) => s.name);
      throw new K3tsError("INVALID_ARGUMENT", `dependsOn has a cycle among ${stuck.join(", ")}`, { meta: { cycle: stuck } });
    }
    done.add(next.name);
    out.push(next);
  }
  return out;
}
