/**
 * Declarative environments: `k3ts.yaml` with `apiVersion: k3ts.io/v1alpha1`, `kind: Environment`
 * (the same apiVersion as the `Cluster` kind of `k3ts cluster create --config`). `spec.cluster` is
 * either a cluster k3ts makes (its `name` and the sdk's cluster options, in the CLI's string forms:
 * `ports: ["8080:80@loadbalancer"]`) or an existing cluster (`kubeconfig` and `context`); then Helm
 * releases, manifests and endpoints, each with a `name` and `dependsOn`. The document is checked by
 * @k3ts/core (its JSON schema, published as `@k3ts/core/schema/k3ts-environment.schema.json`, and the
 * rules past it): one INVALID_ARGUMENT listing every problem as `FILE:LINE:COL: /pointer: message`.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { K3tsError, K3TS_API_VERSION, K3TS_ENVIRONMENT_KIND, loadEnvironmentConfig } from "@k3ts/core";
import type { ClusterSpecOptions } from "./options.js";
import type { HelmValues } from "./helm-chart.js";
import { HELMCHART_FIELDS, type HelmChartFieldOption, type HelmChartOptions } from "./helm.js";

export const ENVIRONMENT_API_VERSION = K3TS_API_VERSION;
export const ENVIRONMENT_KIND = K3TS_ENVIRONMENT_KIND;

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
  /** The other HelmChart fields (HELMCHART_FIELDS), as the file gives them. */
  chartFields: Partial<Pick<HelmChartOptions, HelmChartFieldOption>>;
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

/** The cluster k3ts makes (with the engine's images to import into it first) or an existing one. */
export type EnvironmentCluster = { create: ClusterSpecOptions & { name: string }; images: string[] } | { kubeconfig: string; context?: string };

function createCluster(c: Record<string, unknown>): EnvironmentCluster {
  const { images, ...options } = c;
  return { create: options as unknown as ClusterSpecOptions & { name: string }, images: (images as string[] | undefined) ?? [] };
}

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

/**
 * Parses an Environment document (text) read from `file`: checked by core's schema and rules
 * (loadEnvironmentConfig), every problem at once as `FILE:LINE:COL: /pointer: message`.
 */
export async function parseEnvironment(text: string, file: string): Promise<Environment> {
  const doc = loadEnvironmentConfig(text, { file });
  const dir = dirname(resolve(file));
  const { cluster: c, helm = [], manifests = [], endpoints = [] } = doc.spec;
  const cluster: EnvironmentCluster =
    c.kubeconfig !== undefined || c.context !== undefined
      ? { kubeconfig: c.kubeconfig ?? "", ...(c.context !== undefined ? { context: c.context } : {}) }
      : createCluster(c);
  const env: Environment = {
    name: doc.metadata.name,
    file,
    dir,
    cluster,
    helm: helm.map((h): EnvironmentHelm => {
      const out: EnvironmentHelm = {
        name: h.name,
        chart: h.chart.startsWith(".") ? resolve(dir, h.chart) : h.chart,
        values: ((h.values ?? []) as Array<HelmValues | string>).map((v) => (typeof v === "string" ? resolve(dir, v) : v)),
        dependsOn: h.dependsOn ?? [],
        chartFields: Object.fromEntries(Object.keys(HELMCHART_FIELDS).flatMap((k) => (h[k] === undefined ? [] : [[k, h[k]]]))),
      };
      for (const k of ["namespace", "targetNamespace", "repo", "version", "timeout"] as const) if (typeof h[k] === "string") out[k] = h[k];
      if (h.set !== undefined) out.set = h.set as EnvironmentHelm["set"];
      return out;
    }),
    manifests: manifests.map((m): EnvironmentManifests => {
      const out: EnvironmentManifests = {
        name: m.name,
        sources: m.sources.map((t) => (/^https?:\/\//i.test(t) ? t : resolve(dir, t))),
        wait: m.wait !== false,
        dependsOn: m.dependsOn ?? [],
      };
      if (typeof m.namespace === "string") out.namespace = m.namespace;
      if (typeof m.timeout === "string") out.timeout = m.timeout;
      return out;
    }),
    endpoints: endpoints.map((e): EnvironmentEndpoint => {
      const out: EnvironmentEndpoint = { name: e.name, service: e.service, port: e.port, dependsOn: e.dependsOn ?? [] };
      if (typeof e.namespace === "string") out.namespace = e.namespace;
      if (typeof e.localPort === "number") out.localPort = e.localPort;
      return out;
    }),
  };
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
