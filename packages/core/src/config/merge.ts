/** Precedence: flags > environment > file > defaults (k3d's, through viper). Lists add up; everything else the later source wins. */
import { DEFAULT_CLUSTER_NAME, DEFAULT_CREATE_TIMEOUT_MS, DEFAULT_K3S_IMAGE, DEFAULT_LB_IMAGE, type ClusterSpec } from "../cluster/spec.js";
import { FILTERED_OPTION_NAMES, SWITCH_OPTION_NAMES } from "../cluster/options.js";
import { VALUE_OPTION_NAMES, specField, valueRow, type ObjectOption } from "../cluster/value-options.js";
import type { ClusterSpecInput } from "./types.js";

/** The spec of `k3ts cluster create` with no flags, no file and no environment. */
export function defaultClusterSpec(): ClusterSpec {
  return {
    name: DEFAULT_CLUSTER_NAME,
    servers: 1,
    agents: 0,
    image: DEFAULT_K3S_IMAGE,
    api: { hostIP: "127.0.0.1" },
    ports: [],
    volumes: [],
    env: [],
    k3sArgs: [],
    nodeLabels: [],
    runtimeLabels: [],
    wait: true,
    timeoutMs: DEFAULT_CREATE_TIMEOUT_MS,
    loadBalancer: { enabled: true, image: DEFAULT_LB_IMAGE },
    rollback: true,
    memory: {},
    hostAliases: [],
    privileged: true,
    kubeconfig: { update: true, switchContext: true },
  };
}

/** The K3TS_* variables that say something about a cluster (the same ones the flags fall back to). */
export const SPEC_ENVIRONMENT: Readonly<Record<string, string>> = {
  K3TS_IMAGE: "spec.image (--image)",
  K3TS_LB_IMAGE: "spec.loadBalancer.image (--lb-image)",
};

/** What the environment says about a cluster (empty values are ignored). */
export function specFromEnvironment(env: Record<string, string | undefined>): ClusterSpecInput {
  const spec: ClusterSpecInput = {};
  if (env.K3TS_IMAGE) spec.image = env.K3TS_IMAGE;
  if (env.K3TS_LB_IMAGE) spec.loadBalancer = { image: env.K3TS_LB_IMAGE };
  // The token from the environment: out of `ps` and the shell's history, unlike --token.
  if (env.K3TS_TOKEN) spec.token = env.K3TS_TOKEN;
  return spec;
}

/** Lists add up: the filtered options of core's table, and the other lists. */
const LISTS = [...FILTERED_OPTION_NAMES, "hostAliases", "files", "ulimits"] as const;
/** A later source's value wins: the one-value options of core's table, and the others. */
const SCALARS = ["name", ...VALUE_OPTION_NAMES.filter((o) => valueRow(o).kind !== "object").map(specField), "hostImages", ...SWITCH_OPTION_NAMES] as ReadonlyArray<keyof ClusterSpecInput>;
/** Merged field by field, a later source's fields winning: the object options of core's table. */
const OBJECTS = VALUE_OPTION_NAMES.filter((o) => valueRow(o).kind === "object") as ObjectOption[];

function defined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function mergeOne(spec: ClusterSpec, layer: ClusterSpecInput): ClusterSpec {
  const out: ClusterSpec = { ...spec };
  const o = out as unknown as Record<string, unknown>;
  for (const key of SCALARS) if (layer[key] !== undefined) o[key] = layer[key];
  // Host images said off by a later source: absent from the spec, as off is.
  if (layer.hostImages === false) delete out.hostImages;
  for (const key of LISTS) {
    const more = layer[key];
    if (more?.length) o[key] = [...((spec[key] as unknown[] | undefined) ?? []), ...more];
  }
  // An API endpoint is replaced as a whole (as --api-port replaces k3d's kubeAPI); its address defaults to 127.0.0.1.
  if (layer.api && Object.keys(defined(layer.api)).length) out.api = { hostIP: "127.0.0.1", ...defined(layer.api) };
  for (const key of OBJECTS) o[key] = { ...spec[key], ...defined(layer[key]) };
  // Registries merge per field (--registry-create replaces the file's create, keeps its use and config); use lists add up.
  if (layer.registries) {
    const r = layer.registries;
    const merged = { ...spec.registries, ...defined({ create: r.create, config: r.config }) };
    if (r.use?.length) merged.use = [...(spec.registries?.use ?? []), ...r.use.filter((u) => !(spec.registries?.use ?? []).includes(u))];
    out.registries = merged;
  }
  return out;
}

/**
 * Merges sources in rising precedence, e.g. `mergeSpec(defaultClusterSpec(), file, environment, flags)`:
 * a later source's value wins; lists (ports, volumes, env, args, labels, host aliases, files, ulimits) add up,
 * as k3d appends repeated flags to the file's lists.
 */
export function mergeSpec(defaults: ClusterSpec, ...layers: Array<ClusterSpecInput | undefined>): ClusterSpec {
  return layers.reduce<ClusterSpec>((spec, layer) => (layer ? mergeOne(spec, layer) : spec), defaults);
}
