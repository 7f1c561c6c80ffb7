/**
 * A cluster's identity for `reuse`: a SHA-256 over the canonical form of what shapes the cluster
 * (nodes, image, ports, mounts, env, args, labels, network, load balancer, limits), stored in the
 * `k3ts.io/spec-hash` label, with a short digest per field in `k3ts.io/spec-fields` so that a
 * mismatch can name the fields that differ. What only steers the create (name, token, wait, timeout,
 * rollback, kubeconfig) is left out; the token is compared through core's `k3ts.io/token-sha256`.
 * Labels hold digests only, never a value in clear.
 */
import { createHash } from "node:crypto";
import { LABELS, type ClusterSpec, type Filtered } from "@k3ts/core";
import { SWITCH_OPTION_NAMES, VALUE_OPTION_NAMES, parseNodeFilter, specField, valueRow, type VALUE_OPTIONS, type ValueOption } from "@k3ts/core/internal";

/**
 * The fields the first hashes were made of, in the order they were hashed. Fixed for good: a kept cluster's
 * hash was made of them in this order (whether a value option counts is its row's `hash` in core's table).
 */
export const FIRST_SPEC_FIELDS = [
  "servers",
  "agents",
  "image",
  "api",
  "ports",
  "volumes",
  "env",
  "k3sArgs",
  "nodeLabels",
  "runtimeLabels",
  "capAdd",
  "hostAliases",
  "network",
  "subnet",
  "loadBalancer",
  "memory",
  "privileged",
  "registries",
  "files",
  "ulimits",
] as const satisfies ReadonlyArray<keyof ClusterSpec>;

/**
 * Fields the hash took in after clusters were first kept with it (core's switch options, hostImages, then the value options
 * of core's table that count and came later): each counts only when it is on, so a cluster kept before it existed, or without
 * it, keeps the hash it had.
 */
const LATER_FIELDS: ReadonlyArray<SpecField> = [
  ...SWITCH_OPTION_NAMES,
  "hostImages",
  ...VALUE_OPTION_NAMES.filter((o) => valueRow(o).hash).map((o) => specField(o) as SpecField).filter((f) => !(FIRST_SPEC_FIELDS as ReadonlyArray<string>).includes(f)),
];

/** The fields that make two clusters the same, in a fixed order. */
export const SPEC_FIELDS: ReadonlyArray<SpecField> = [...FIRST_SPEC_FIELDS, ...LATER_FIELDS];
const LATER: ReadonlySet<SpecField> = new Set(LATER_FIELDS);

/** The value options of core's table that count for the hash. */
type HashedOption = { [K in ValueOption]: (typeof VALUE_OPTIONS)[K] extends { hash: true } ? K : never }[ValueOption];

export type SpecField = (typeof FIRST_SPEC_FIELDS)[number] | (typeof SWITCH_OPTION_NAMES)[number] | "hostImages" | HashedOption;

export interface SpecHash {
  hash: string;
  fields: Record<SpecField, string>;
}

/** JSON with sorted keys and no undefined, so equal specs give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Node filters without the text they were parsed from (`servers:0` and `server:0` are one filter). */
function withoutSource(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((item: unknown) => {
    const f = item as Partial<Filtered<unknown>>;
    if (!f || typeof f !== "object" || !Array.isArray(f.filters)) return item;
    return { ...f, filters: f.filters.map(({ source: _source, ...rest }) => rest) };
  });
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The spec's hash and per-field digests. `runtimeLabels` the sdk adds itself are not counted. */
export function hashSpec(spec: ClusterSpec): SpecHash {
  const fields = {} as Record<SpecField, string>;
  const parts: string[] = [];
  for (const field of SPEC_FIELDS) {
    if (LATER.has(field) && !spec[field]) {
      fields[field] = "";
      continue;
    }
    let value: unknown = spec[field];
    if (field === "runtimeLabels") value = spec.runtimeLabels.filter((l) => l.value.key !== LABELS.specHash && l.value.key !== LABELS.specFields);
    const text = canonical(withoutSource(value) ?? null);
    fields[field] = sha256(`${field}=${text}`).slice(0, 8);
    parts.push(`${JSON.stringify(field)}:${text}`);
  }
  return { hash: sha256(`{${parts.join(",")}}`), fields };
}

/** The labels that record a spec on every node of the cluster (load balancer included). */
export function specLabels(hash: SpecHash): Array<Filtered<{ key: string; value: string }>> {
  const all = parseNodeFilter("all", "spec labels");
  return [
    { value: { key: LABELS.specHash, value: hash.hash }, filters: [all] },
    { value: { key: LABELS.specFields, value: SPEC_FIELDS.filter((f) => hash.fields[f]).map((f) => `${f}=${hash.fields[f]}`).join(",") }, filters: [all] },
  ];
}

/**
 * The fields whose digests differ between a node's labels and a spec: none when the hashes match,
 * every field when the labels hold no digests. (Another hash with the same digests means fields
 * this version does not know; the caller says so.)
 */
export function differingFields(labels: Record<string, string>, hash: SpecHash): SpecField[] {
  if (labels[LABELS.specHash] === hash.hash) return [];
  const stored = new Map(
    (labels[LABELS.specFields] ?? "")
      .split(",")
      .filter(Boolean)
      .map((pair) => pair.split("=", 2) as [string, string]),
  );
  return SPEC_FIELDS.filter((f) => (stored.get(f) ?? "") !== hash.fields[f]);
}
