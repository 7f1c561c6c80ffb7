/** loadConfig: text → the ClusterSpecInput it describes and the notices of what k3ts does not honour, or one error with every problem. */
import { K3tsError } from "../errors.js";
import { Collector, rec } from "./common.js";
import { migrateK3d, readK3d, relocate, type K3dVersion } from "./k3d.js";
import { readK3ts } from "./k3ts.js";
import { K3TS_API_VERSION, K3TS_CONFIG_SCHEMA, K3TS_ENVIRONMENT_KIND, K3TS_KIND, k3dSchema } from "./schema.js";
import type { ConfigFormat, ConfigProblem, LoadConfigOptions, LoadedConfig } from "./types.js";
import { schemaProblems } from "./validate.js";
import { readYaml, type ParsedYaml } from "./yaml.js";

const K3D_VERSIONS: Readonly<Record<string, K3dVersion>> = {
  "k3d.io/v1alpha5": 5,
  "k3d.io/v1alpha4": 4,
  "k3d.io/v1alpha3": 3,
  "k3d.io/v1alpha2": 2,
};

/** What loadConfig reads, apiVersion → kind. */
export const SUPPORTED_CONFIGS: ReadonlyArray<{ apiVersion: ConfigFormat; kind: string }> = [
  { apiVersion: K3TS_API_VERSION, kind: K3TS_KIND },
  ...Object.keys(K3D_VERSIONS).map((apiVersion) => ({ apiVersion: apiVersion as ConfigFormat, kind: "Simple" })),
];

const SUPPORTED_TEXT = `${K3TS_API_VERSION} (kind ${K3TS_KIND}) or k3d.io/v1alpha5, v1alpha4, v1alpha3, v1alpha2 (kind Simple)`;

/** One line per problem: `FILE:LINE:COL: path: message`. */
export function formatProblem(file: string, p: ConfigProblem): string {
  return `${file}:${p.line}:${p.column}: ${p.path || "/"}: ${p.message}`;
}

/** The INVALID_ARGUMENT error for a bad config file: every problem in `meta.problems` and in the message. */
export function configError(file: string, problems: ConfigProblem[], what: "cluster config" | "environment" = "cluster config"): K3tsError<"INVALID_ARGUMENT"> {
  const sorted = sortProblems(problems);
  const head = `${file} is not a valid ${what} (${sorted.length} problem${sorted.length === 1 ? "" : "s"}):`;
  return new K3tsError("INVALID_ARGUMENT", [head, ...sorted.map((p) => `  ${formatProblem(file, p)}`)].join("\n"), {
    meta: { file, problems: sorted },
    hint: what === "environment" ? `k3ts config validate ${file} checks a file` : `k3ts config validate ${file} checks a file; k3ts config init writes a starter`,
  });
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems
    .filter((p) => {
      const key = `${p.path}\u0000${p.message}`;
      return seen.has(key) ? false : (seen.add(key), true);
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

/** apiVersion and kind, checked before anything else (a wrong one names the supported ones). */
function identify(value: unknown, parsed: ParsedYaml): { format?: ConfigFormat; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const place = (path: string) => ({ path, ...parsed.locate(path) });
  if (value === null || value === undefined) return { problems: [{ ...place(""), message: `the file is empty (want apiVersion: ${SUPPORTED_TEXT})` }] };
  if (typeof value !== "object" || Array.isArray(value)) return { problems: [{ ...place(""), message: `want a mapping with apiVersion and kind (${SUPPORTED_TEXT})` }] };
  const { apiVersion, kind } = rec(value);
  const known = SUPPORTED_CONFIGS.find((c) => c.apiVersion === apiVersion);
  if (apiVersion === undefined) problems.push({ ...place("/apiVersion"), message: `missing apiVersion (want ${SUPPORTED_TEXT})` });
  else if (!known) problems.push({ ...place("/apiVersion"), message: `unsupported apiVersion ${JSON.stringify(apiVersion)} (want ${SUPPORTED_TEXT})` });
  if (kind === undefined) problems.push({ ...place("/kind"), message: `missing kind (want ${known ? known.kind : `${K3TS_KIND} or Simple`})` });
  else if (known && kind !== known.kind) problems.push({ ...place("/kind"), message: `unsupported kind ${JSON.stringify(kind)} for ${known.apiVersion} (want ${known.kind})${kind === K3TS_ENVIRONMENT_KIND ? "; an Environment file is for k3ts up -f or k3ts config validate" : ""}` });
  else if (!known && kind !== K3TS_KIND && kind !== "Simple") problems.push({ ...place("/kind"), message: `unsupported kind ${JSON.stringify(kind)} (want ${K3TS_KIND} or Simple)` });
  return problems.length ? { problems } : { format: known!.apiVersion, problems };
}

/**
 * Reads a config file's text: k3ts's format or k3d's (v1alpha2–5, migrated as k3d migrates them).
 * Throws one INVALID_ARGUMENT K3tsError listing every problem (YAML syntax, duplicate keys, unknown
 * fields, wrong types, bad values, node filters that do not fit the cluster) with line and column.
 */
export function loadConfig(text: string, options: LoadConfigOptions = {}): LoadedConfig {
  const file = options.file ?? "config";
  const parsed = readYaml(text, {
    env: options.env ?? {},
    pickExpansion: (doc) => (String(doc.get("apiVersion") ?? "").startsWith("k3d.io/") ? "go" : "braces"),
  });
  if (parsed.value === undefined && parsed.problems.length) throw configError(file, parsed.problems);
  const { format, problems } = identify(parsed.value, parsed);
  if (!format) throw configError(file, [...parsed.problems, ...problems]);
  const data = rec(parsed.value);
  const version = K3D_VERSIONS[format];
  if (version === undefined) {
    const c = new Collector(parsed);
    const schema = schemaProblems(K3TS_CONFIG_SCHEMA, data, parsed);
    const spec = readK3ts(c, data, options.file);
    const all = [...parsed.problems, ...schema, ...c.problems];
    if (all.length) throw configError(file, all);
    return { format, spec, notices: c.notices };
  }
  const schema = schemaProblems(k3dSchema(version), data, parsed);
  const migrated = migrateK3d(data, version);
  const c = new Collector(parsed, (p) => relocate(migrated.relocations, p));
  for (const d of migrated.dropped) c.notices.push({ path: d.path, reason: d.reason });
  const spec = readK3d(c, migrated.data, options.file);
  const all = [...parsed.problems, ...schema, ...c.problems];
  if (all.length) throw configError(file, all);
  return { format, spec, notices: c.notices };
}
