/**
 * k3ts's environment, `apiVersion: k3ts.io/v1alpha1`, `kind: Environment`: schema-checked like a
 * Cluster file, then the rules a schema cannot say (an existing cluster takes no cluster options, step
 * names are unique, every dependsOn names a step, no cycles), every problem placed in the file.
 */
import { Collector, arr, rec, str } from "./common.js";
import { configError } from "./load.js";
import { K3TS_API_VERSION, K3TS_ENVIRONMENT_KIND, K3TS_ENVIRONMENT_SCHEMA, K3TS_KIND } from "./schema.js";
import type { ConfigProblem } from "./types.js";
import { schemaProblems } from "./validate.js";
import { childPointer, readYaml, type ParsedYaml } from "./yaml.js";

/** An Environment document as written (plain data, already checked). The sdk turns it into its Environment. */
export interface EnvironmentDocument {
  apiVersion: typeof K3TS_API_VERSION;
  kind: typeof K3TS_ENVIRONMENT_KIND;
  metadata: { name: string };
  spec: {
    cluster: Record<string, unknown> & { name?: string; kubeconfig?: string; context?: string };
    helm?: Array<Record<string, unknown> & { name: string; chart: string; dependsOn?: string[] }>;
    manifests?: Array<Record<string, unknown> & { name: string; sources: string[]; dependsOn?: string[] }>;
    endpoints?: Array<Record<string, unknown> & { name: string; service: string; port: number | string; dependsOn?: string[] }>;
  };
}

export interface LoadEnvironmentOptions {
  /** Shown in messages (`k3ts.yaml:12:5: …`). Default `k3ts.yaml`. */
  file?: string;
}

const STEP_LISTS = ["helm", "manifests", "endpoints"] as const;

/** apiVersion and kind first: a wrong one is the only thing worth saying. */
function identify(value: unknown, parsed: ParsedYaml): ConfigProblem[] {
  const place = (path: string) => ({ path, ...parsed.locate(path) });
  const want = `apiVersion: ${K3TS_API_VERSION}, kind: ${K3TS_ENVIRONMENT_KIND}`;
  if (value === null || value === undefined) return [{ ...place(""), message: `the file is empty (want ${want})` }];
  if (typeof value !== "object" || Array.isArray(value)) return [{ ...place(""), message: `want a mapping with ${want}` }];
  const { apiVersion, kind } = rec(value);
  const problems: ConfigProblem[] = [];
  if (apiVersion !== K3TS_API_VERSION) problems.push({ ...place("/apiVersion"), message: apiVersion === undefined ? `missing apiVersion (want ${K3TS_API_VERSION})` : `want ${K3TS_API_VERSION}, got ${JSON.stringify(apiVersion)}` });
  if (kind !== K3TS_ENVIRONMENT_KIND) {
    const why = kind === K3TS_KIND ? " (a Cluster file is for k3ts cluster create --config)" : "";
    problems.push({ ...place("/kind"), message: kind === undefined ? `missing kind (want ${K3TS_ENVIRONMENT_KIND})` : `want ${K3TS_ENVIRONMENT_KIND}, got ${JSON.stringify(kind)}${why}` });
  }
  return problems;
}

/** The rules past the schema, on data the schema may have found wrong (only what is well-formed is looked at). */
function checkEnvironment(c: Collector, data: Record<string, unknown>): void {
  const spec = rec(data.spec);
  if (spec.cluster !== undefined && rec(spec.cluster) === spec.cluster) {
    const cluster = rec(spec.cluster);
    if (cluster.kubeconfig !== undefined || cluster.context !== undefined) {
      for (const key of Object.keys(cluster)) {
        if (key !== "kubeconfig" && key !== "context") c.problem(`/spec/cluster/${key}`, "an existing cluster (kubeconfig/context) takes no cluster options", true);
      }
    } else if (cluster.name === undefined) {
      c.problem("/spec/cluster/name", 'missing required field "name" (or kubeconfig/context for an existing cluster)');
    }
  }
  // Step names are unique across the three lists, and every dependsOn names one; then no cycles.
  const steps: Array<{ pointer: string; name: string; dependsOn: string[] }> = [];
  for (const list of STEP_LISTS) {
    arr(spec[list]).forEach((raw, i) => {
      const name = str(rec(raw).name);
      if (name !== undefined) steps.push({ pointer: `/spec/${list}/${i}`, name, dependsOn: arr(rec(raw).dependsOn).filter((d): d is string => typeof d === "string") });
    });
  }
  const seen = new Map<string, string>();
  let sound = true;
  for (const s of steps) {
    const first = seen.get(s.name);
    if (first !== undefined) {
      c.problem(childPointer(s.pointer, "name"), `${s.name} is already the name of ${first}`);
      sound = false;
    } else seen.set(s.name, s.pointer);
  }
  for (const s of steps) {
    arr(rec(pointed(spec, s.pointer)).dependsOn).forEach((d, i) => {
      if (typeof d === "string" && !seen.has(d)) {
        c.problem(childPointer(childPointer(s.pointer, "dependsOn"), i), `no helm release, manifests or endpoint is named ${d}`);
        sound = false;
      }
    });
  }
  if (!sound) return;
  const done = new Set<string>();
  for (;;) {
    const next = steps.find((s) => !done.has(s.name) && s.dependsOn.every((d) => done.has(d)));
    if (!next) break;
    done.add(next.name);
  }
  const stuck = steps.filter((s) => !done.has(s.name));
  if (stuck.length) c.problem(childPointer(stuck[0]!.pointer, "dependsOn"), `dependsOn has a cycle among ${stuck.map((s) => s.name).join(", ")}`);
}

/** `/spec/helm/0` in `spec` (only the two levels checkEnvironment uses). */
function pointed(spec: Record<string, unknown>, pointer: string): unknown {
  const [, , list, index] = pointer.split("/");
  return arr(spec[list!])[Number(index)];
}

/** Every problem with an Environment document's text, placed (empty: valid). */
export function environmentProblems(text: string): { data?: EnvironmentDocument; problems: ConfigProblem[] } {
  const parsed = readYaml(text, { expansion: "none" });
  if (parsed.value === undefined && parsed.problems.length) return { problems: parsed.problems };
  const wrong = identify(parsed.value, parsed);
  if (wrong.length) return { problems: [...parsed.problems, ...wrong] };
  const data = rec(parsed.value);
  const c = new Collector(parsed);
  const schema = schemaProblems(K3TS_ENVIRONMENT_SCHEMA, data, parsed);
  checkEnvironment(c, data);
  const problems = [...parsed.problems, ...schema, ...c.problems];
  return problems.length ? { problems } : { data: data as unknown as EnvironmentDocument, problems };
}

/**
 * Reads an Environment document's text. Throws one INVALID_ARGUMENT K3tsError listing every problem
 * (YAML syntax, unknown fields, wrong types, bad names, duplicate or unknown steps, cycles) with line and column.
 */
export function loadEnvironmentConfig(text: string, options: LoadEnvironmentOptions = {}): EnvironmentDocument {
  const file = options.file ?? "k3ts.yaml";
  const { data, problems } = environmentProblems(text);
  if (!data) throw configError(file, problems, "environment");
  return data;
}

/** The apiVersion and kind a config file declares (undefined where it declares none or is not YAML), to pick a reader. */
export function configKind(text: string): { apiVersion?: string; kind?: string } {
  const value = rec(readYaml(text, { expansion: "none" }).value);
  return { ...(typeof value.apiVersion === "string" ? { apiVersion: value.apiVersion } : {}), ...(typeof value.kind === "string" ? { kind: value.kind } : {}) };
}
