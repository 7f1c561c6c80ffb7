/**
 * Registries, the pure part: names, `--registry-create NAME[:HOST][:PORT]`, the registries.yaml k3s
 * reads (rancher/wharfie's shape: mirrors and configs) and the LocalRegistryHosting ConfigMap
 * (KEP-1755) that tells tools where to push. Table-tested; no engine, no I/O.
 */
import { K3tsError } from "../errors.js";
import { yaml } from "../cluster/deps.js";
import { isHostname, isIPv4 } from "../cluster/parse.js";

/** The registry:2 image (CNCF distribution), as k3d uses it. */
export const DEFAULT_REGISTRY_IMAGE = "docker.io/library/registry:2";
/** The port the registry listens on inside its container (unless the host port is enforced). */
export const REGISTRY_INTERNAL_PORT = 5000;
/** Where registry:2 keeps its data. */
export const REGISTRY_DATA_PATH = "/var/lib/registry";
/** Where tools are told to read about using the registry (the ConfigMap's `help`). */
export const REGISTRY_HELP_URL = "https://github.com/k3ts/k3ts/blob/main/docs/registries.md";

/** What `registry create` / `--registry-create` / a config's `registries.create` says. */
export interface RegistrySpec {
  /** Container name, also the name nodes reach it by. */
  name: string;
  image: string;
  /** Address the port is published on (default 127.0.0.1). */
  hostIP: string;
  /** Host port; absent = a free one. */
  hostPort?: number;
  /** Pull-through cache of a remote registry (registry:2's proxy mode). */
  proxy?: { remoteURL: string; username?: string; password?: string };
  /** `[SOURCE:]DEST` mounts (SOURCE a host path or a named volume). */
  volumes: string[];
  /** Listen inside on the host port too (REGISTRY_HTTP_ADDR=:PORT), so NAME:PORT works everywhere. */
  enforcePortMatch: boolean;
  /** Allow DELETE of manifests (REGISTRY_STORAGE_DELETE_ENABLED). */
  deleteEnabled: boolean;
}

/** What the nodes need to know about one registry. */
export interface RegistryEndpoint {
  /** Container name (reachable by that name on the cluster network). */
  name: string;
  /** Port inside the container. */
  port: number;
  /** Port published on the host (absent when not published). */
  hostPort?: number;
  hostIP?: string;
  /** Remote registry URL when this is a pull-through cache. */
  proxyRemoteURL?: string;
}

/** `k3ts registry create dev` → `k3ts-dev` (k3d: `k3d-dev`); a name already prefixed is kept. */
export function registryContainerName(name: string): string {
  return name.startsWith("k3ts-") ? name : `k3ts-${name}`;
}

/** The registry `--registry-create` makes when given no name (k3d: `k3d-<cluster>-registry`). */
export function defaultClusterRegistryName(cluster: string): string {
  return `k3ts-${cluster}-registry`;
}

/** A container name that is also a DNS name nodes can resolve and the domain of the image references that name it. */
export function validateRegistryName(name: string, where: string): string {
  // A hostname's labels are also the domain-components of an image reference (distribution's grammar: no '_').
  if (!isHostname(name) || name.endsWith(".")) {
    throw new K3tsError("INVALID_ARGUMENT", `${where}: ${JSON.stringify(name)} is not a valid registry name (letters, digits, '-' and '.'; it becomes the host of image references, NAME:PORT/app:1, where '_' is not allowed)`, {
      meta: { where, value: name },
    });
  }
  return name;
}

/** A registry host port: a number from 1 to 65535, or `random` / empty for a free one. */
export function parseRegistryPort(text: string, where: string): number | undefined {
  if (text === "random" || text === "") return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) {
    throw new K3tsError("INVALID_ARGUMENT", `${where}: port ${JSON.stringify(text)} must be a number from 1 to 65535 (or "random")`, { meta: { where, value: text } });
  }
  return n;
}

/**
 * `NAME[:HOST][:HOSTPORT]` (k3d's `--registry-create`): `reg`, `reg:5050`, `reg:0.0.0.0:5050`,
 * `reg:0.0.0.0`. The name is used as it is (no prefix), as in k3d.
 */
export function parseRegistryCreate(text: string, where: string): { name: string; hostIP?: string; hostPort?: number } {
  const [name = "", ...rest] = text.split(":");
  validateRegistryName(name, where);
  if (rest.length === 0) return { name };
  if (rest.length === 1) {
    const only = rest[0]!;
    if (/^\d+$/.test(only) || only === "random") {
      const hostPort = parseRegistryPort(only, where);
      return { name, ...(hostPort ? { hostPort } : {}) };
    }
    if (!isIPv4(only) && !isHostname(only)) throw new K3tsError("INVALID_ARGUMENT", `${where}: ${JSON.stringify(only)} is neither a host address nor a port`, { meta: { where } });
    return { name, hostIP: only };
  }
  if (rest.length === 2) {
    const [host, port] = rest as [string, string];
    if (!isIPv4(host) && !isHostname(host)) throw new K3tsError("INVALID_ARGUMENT", `${where}: ${JSON.stringify(host)} is not a host address`, { meta: { where } });
    const hostPort = parseRegistryPort(port, where);
    return { name, hostIP: host, ...(hostPort ? { hostPort } : {}) };
  }
  throw new K3tsError("INVALID_ARGUMENT", `${where}: expected NAME[:HOST][:HOSTPORT], got ${JSON.stringify(text)}`, { meta: { where } });
}

/** The mirror key a remote registry URL stands for in registries.yaml (Docker Hub is `docker.io`). */
export function mirrorKeyForRemote(url: string, where = "proxy remote URL"): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new K3tsError("INVALID_ARGUMENT", `${where}: ${JSON.stringify(url)} is not a URL (e.g. https://registry-1.docker.io)`, { meta: { where } });
  }
  if (parsed.username || parsed.password) {
    // Not echoed: the URL holds a password.
    throw new K3tsError("INVALID_ARGUMENT", `${where}: the URL carries credentials (user:password@), which would be kept in the registry's labels and shown by registry list`, {
      meta: { where },
      hint: "give them as the proxy's username and password (--proxy-username / --proxy-password, or proxy.username / proxy.password in a config file)",
    });
  }
  const host = parsed.host;
  return host === "registry-1.docker.io" || host === "index.docker.io" || host === "registry.hub.docker.com" ? "docker.io" : host;
}

/** rancher/wharfie's registries.yaml shape (what k3s reads from /etc/rancher/k3s/registries.yaml). */
export interface RegistriesConfig {
  mirrors?: Record<string, { endpoint?: string[]; rewrite?: Record<string, string> }>;
  configs?: Record<string, { auth?: Record<string, string>; tls?: Record<string, unknown> }>;
}

/**
 * The mirrors k3ts adds for one registry: `NAME:PORT` (and `NAME:HOSTPORT`, as k3d does) point at
 * `http://NAME:PORT`, and so do `localhost:HOSTPORT` / `127.0.0.1:HOSTPORT` (what you push to from
 * the host, so the same image reference works in a pod). A pull-through cache also mirrors its
 * remote (`docker.io` for Docker Hub).
 */
export function registryMirrors(r: RegistryEndpoint): Record<string, { endpoint: string[] }> {
  const endpoint = [`http://${r.name}:${r.port}`];
  const keys = new Set<string>([`${r.name}:${r.port}`]);
  if (r.hostPort) {
    keys.add(`${r.name}:${r.hostPort}`);
    keys.add(`localhost:${r.hostPort}`);
    keys.add(`127.0.0.1:${r.hostPort}`);
  }
  if (r.proxyRemoteURL) keys.add(mirrorKeyForRemote(r.proxyRemoteURL));
  return Object.fromEntries([...keys].map((k) => [k, { endpoint }]));
}

/** Parses a user's registries.yaml, naming the file (or "inline") on error. */
export function parseRegistriesConfig(text: string, where: string): RegistriesConfig {
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (err) {
    throw new K3tsError("INVALID_ARGUMENT", `${where}: not valid YAML: ${(err as Error).message.split("\n")[0]}`, { meta: { where } });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new K3tsError("INVALID_ARGUMENT", `${where}: a registries.yaml is a mapping with mirrors and configs`, { meta: { where } });
  const d = doc as Record<string, unknown>;
  for (const key of Object.keys(d)) {
    if (key !== "mirrors" && key !== "configs") {
      throw new K3tsError("INVALID_ARGUMENT", `${where}: unknown key ${JSON.stringify(key)} (k3s reads only mirrors and configs)`, { meta: { where, key } });
    }
  }
  for (const section of ["mirrors", "configs"] as const) {
    const v = d[section];
    if (v !== undefined && v !== null && (typeof v !== "object" || Array.isArray(v))) {
      throw new K3tsError("INVALID_ARGUMENT", `${where}: ${section} must be a mapping of registry host to settings`, { meta: { where, key: section } });
    }
  }
  const mirrors = (d.mirrors ?? {}) as Record<string, unknown>;
  for (const [host, m] of Object.entries(mirrors)) {
    const endpoint = (m as { endpoint?: unknown } | null)?.endpoint;
    if (endpoint !== undefined && (!Array.isArray(endpoint) || endpoint.some((e) => typeof e !== "string"))) {
      throw new K3tsError("INVALID_ARGUMENT", `${where}: mirrors.${host}.endpoint must be a list of URLs`, { meta: { where, key: `mirrors.${host}` } });
    }
  }
  return d as RegistriesConfig;
}

/** The host-images registry as the nodes see it: its endpoint, and the mirror keys it goes ahead of. */
export interface HostImagesMirror {
  /** `http://ADDRESS:PORT`. */
  endpoint: string;
  /** Mirror keys (`docker.io`, `localhost`, `*`, …). */
  keys: readonly string[];
}

/**
 * The registries.yaml for a cluster: k3ts's mirrors for its registries, then the user's file on top
 * (the user's entry for a host wins, as in k3d), then the host images ahead of every endpoint of the
 * keys they mirror (the entry's other endpoints and settings kept, in their order; the registry's own
 * endpoint stays the last one containerd tries).
 */
export function renderRegistriesYaml(registries: RegistryEndpoint[], user?: RegistriesConfig, hostImages?: HostImagesMirror): string | undefined {
  const mirrors: Record<string, { endpoint?: string[]; rewrite?: Record<string, string> }> = {};
  for (const r of registries) Object.assign(mirrors, registryMirrors(r));
  Object.assign(mirrors, user?.mirrors ?? {});
  for (const key of hostImages?.keys ?? []) {
    const entry = mirrors[key] ?? {};
    mirrors[key] = { ...entry, endpoint: [hostImages!.endpoint, ...(entry.endpoint ?? []).filter((e) => e !== hostImages!.endpoint)] };
  }
  const configs = { ...(user?.configs ?? {}) };
  if (Object.keys(mirrors).length === 0 && Object.keys(configs).length === 0) return undefined;
  const doc: RegistriesConfig = {
    ...(Object.keys(mirrors).length ? { mirrors } : {}),
    ...(Object.keys(configs).length ? { configs } : {}),
  };
  return `# Written by k3ts: mirrors for the cluster's registries, then the user's registries.yaml.\n# k3s reads this file when it starts.\n${yaml().stringify(doc)}`;
}

/**
 * Adds (or removes) one registry's mirrors in an existing registries.yaml, keeping everything else
 * (the user's entries included) as it is.
 */
export function updateRegistriesYaml(current: string | undefined, registry: RegistryEndpoint, action: "add" | "remove"): string {
  const doc = current ? parseRegistriesConfig(current, "registries.yaml in the nodes") : {};
  const mirrors = { ...(doc.mirrors ?? {}) };
  const ours = registryMirrors(registry);
  for (const [key, value] of Object.entries(ours)) {
    if (action === "add") {
      if (!mirrors[key]) mirrors[key] = value;
    } else if (JSON.stringify(mirrors[key]?.endpoint) === JSON.stringify(value.endpoint)) {
      delete mirrors[key];
    }
  }
  const next: RegistriesConfig = { ...doc, mirrors };
  if (Object.keys(mirrors).length === 0) delete next.mirrors;
  return `# Written by k3ts: mirrors for the cluster's registries, then the user's registries.yaml.\n# k3s reads this file when it starts.\n${yaml().stringify(next)}`;
}

/** The address the host reaches a published port on (0.0.0.0 and empty mean every address → localhost). */
export function hostAddress(hostIP: string | undefined): string {
  return !hostIP || hostIP === "0.0.0.0" || hostIP === "127.0.0.1" || hostIP === "::" ? "localhost" : hostIP;
}

/** The LocalRegistryHosting ConfigMap (KEP-1755): kube-public/local-registry-hosting. */
export function localRegistryHostingConfigMap(r: RegistryEndpoint): { apiVersion: "v1"; kind: "ConfigMap"; metadata: { name: string; namespace: string }; data: Record<string, string> } {
  const inCluster = `${r.name}:${r.port}`;
  const body = [
    ...(r.hostPort ? [`host: "${hostAddress(r.hostIP)}:${r.hostPort}"`] : []),
    `hostFromContainerRuntime: "${inCluster}"`,
    `hostFromClusterNetwork: "${inCluster}"`,
    `help: "${REGISTRY_HELP_URL}"`,
  ].join("\n");
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "local-registry-hosting", namespace: "kube-public" },
    data: { "localRegistryHosting.v1": `${body}\n` },
  };
}

/**
 * The container environment registry:2 reads (its REGISTRY_* overrides of config.yml). Never the proxy
 * password: a container's environment is shown by inspect and, for Podman, passed on its command line.
 */
export function registryEnv(spec: RegistrySpec, hostPort: number): Record<string, string> {
  return {
    ...(spec.enforcePortMatch ? { REGISTRY_HTTP_ADDR: `:${hostPort}` } : {}),
    ...(spec.deleteEnabled ? { REGISTRY_STORAGE_DELETE_ENABLED: "true" } : {}),
    ...(spec.proxy ? { REGISTRY_PROXY_REMOTEURL: spec.proxy.remoteURL } : {}),
    ...(spec.proxy?.username ? { REGISTRY_PROXY_USERNAME: spec.proxy.username } : {}),
  };
}

/** Where a registry whose proxy has a password reads its configuration (written 0600 before it starts). */
export const REGISTRY_SECRET_CONFIG_PATH = "/etc/docker/registry/k3ts-config.yml";

/**
 * For a pull-through cache with a password: registry:2's own config.yml (docker-library/docker-registry)
 * with the proxy's credentials in it, which the registry is started on instead (its environment still
 * overrides it), so the password is in a 0600 file and nowhere an engine shows. Undefined otherwise.
 */
export function registrySecretConfig(spec: RegistrySpec): string | undefined {
  if (!spec.proxy?.password) return undefined;
  const config = {
    version: 0.1,
    log: { fields: { service: "registry" } },
    storage: { cache: { blobdescriptor: "inmemory" }, filesystem: { rootdirectory: "/var/lib/registry" } },
    http: { addr: ":5000", headers: { "X-Content-Type-Options": ["nosniff"] } },
    health: { storagedriver: { enabled: true, interval: "10s", threshold: 3 } },
    proxy: { remoteurl: spec.proxy.remoteURL, ...(spec.proxy.username ? { username: spec.proxy.username } : {}), password: spec.proxy.password },
  };
  // JSON is YAML: no quoting rule of YAML can change a password written this way.
  return `${JSON.stringify(config, null, 2)}\n`;
}
