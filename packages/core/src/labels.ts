/**
 * Label keys k3ts puts on every container, network and volume it makes. All state is recoverable
 * from these labels; none of them ever holds a secret in clear text.
 */
export const LABEL_PREFIX = "k3ts.io/";

export const LABELS = {
  /** "true" on everything k3ts created. */
  managed: "k3ts.io/managed",
  /** The k3ts version that created the object. */
  version: "k3ts.io/version",
  cluster: "k3ts.io/cluster",
  role: "k3ts.io/role",
  /** Index of a server or agent within its role. */
  nodeIndex: "k3ts.io/node-index",
  network: "k3ts.io/network",
  /** "true" when the cluster joined a network it did not create (not deleted with the cluster). */
  networkExternal: "k3ts.io/network-external",
  serverInit: "k3ts.io/server-init",
  /** A server's fixed address on the cluster network (embedded etcd's peers are addressed by IP). */
  staticIP: "k3ts.io/static-ip",
  apiHost: "k3ts.io/api-host",
  apiHostIP: "k3ts.io/api-host-ip",
  apiPort: "k3ts.io/api-port",
  imageVolume: "k3ts.io/image-volume",
  /** The one create that made an object: its rollback removes only what carries its id. */
  createId: "k3ts.io/create-id",
  /** Registries: where the port is published, the port inside, the remote of a pull-through cache. */
  registryHostIP: "k3ts.io/registry-host-ip",
  registryHostPort: "k3ts.io/registry-host-port",
  registryPort: "k3ts.io/registry-port",
  registryProxy: "k3ts.io/registry-proxy",
  /** The cluster a registry was created with (it is deleted with that cluster unless another uses it). */
  registryOwner: "k3ts.io/registry-owner",
  /** The network a standalone registry made for itself (deleted with it). */
  registryNetwork: "k3ts.io/registry-network",
  /** JSON of the user's host aliases, re-applied to nodes added later. */
  hostAliases: "k3ts.io/host-aliases",
  /** SHA-256 of the canonical spec a cluster was created from (the sdk's `reuse` compares it; never the token in clear). */
  specHash: "k3ts.io/spec-hash",
  /** `field=digest,…`: a short digest per spec field, so a mismatch can name the fields that differ. */
  specFields: "k3ts.io/spec-fields",
} as const;

export type LabelKey = (typeof LABELS)[keyof typeof LABELS];

/** The labels every k3ts object carries. */
export function baseLabels(version: string, extra: Record<string, string> = {}): Record<string, string> {
  return { [LABELS.managed]: "true", [LABELS.version]: version, ...extra };
}

/** True when `labels` contains every pair of `filter` (an empty filter value matches any value). */
export function matchesLabels(labels: Record<string, string>, filter: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(filter)) {
    if (!(k in labels)) return false;
    if (v !== "" && labels[k] !== v) return false;
  }
  return true;
}
