/**
 * The cluster model: what `cluster create` can say, in parsed form. Flags and config files are
 * turned into a ClusterSpec; the lifecycle plans nodes from it.
 */
import type { HostAlias, Protocol, Ulimit } from "../types.js";

/** k3d's node-filter groups. `all` selects every node, the load balancer included. */
export type NodeGroup = "server" | "agent" | "loadbalancer" | "all";

/**
 * One parsed node filter, `GROUP[:SUBSET][:SUFFIX]` (k3d's grammar): `server:0`, `agent:*`,
 * `agents:1,3-5`, `loadbalancer`, `server:0:direct`.
 */
export interface NodeFilter {
  group: NodeGroup;
  /** Indices within the group, or "*" for all of it (the load balancer and `all` take none). */
  subset: "*" | number[];
  /** Open-ended range start (`1-`): also selects every index >= from. */
  from?: number;
  /** e.g. `proxy` / `direct` for ports; only where the caller allows suffixes. */
  suffix?: string;
  /** The text it was parsed from (for messages). */
  source: string;
}

/** A value given with node filters (`VALUE@FILTER[;FILTER]` on the command line). */
export interface Filtered<T> {
  value: T;
  /** Empty when no filter was given (the default depends on the setting). */
  filters: NodeFilter[];
}

/** `[HOST:][HOSTPORT:]CONTAINERPORT[/PROTOCOL]`. */
export interface PortSpec {
  hostIP?: string;
  hostPort?: number;
  containerPort: number;
  protocol: Protocol;
}

/** `[SOURCE:]DEST[:ro|rw]`: a host path (absolute), a named volume, or an anonymous volume. */
export interface MountSpec {
  source?: string;
  target: string;
  readOnly: boolean;
}

export interface KeyValue {
  key: string;
  value: string;
}

/** The API server endpoint on the host: `[HOST:]PORT`. */
export interface ApiSpec {
  /** The name written into the kubeconfig and added as a TLS SAN; default: hostIP (0.0.0.0 → 127.0.0.1). */
  host?: string;
  /** Address the port is published on; default 127.0.0.1. */
  hostIP: string;
  /** Port on the host; absent = a free port picked at create time. */
  hostPort?: number;
}

/** Registries for the cluster (k3d's `registries`): one to create with it, existing ones to use, and a registries.yaml. */
export interface RegistriesSpec {
  /** A registry created with the cluster. */
  create?: {
    name?: string;
    host?: string;
    hostPort?: string;
    image?: string;
    proxy?: { remoteURL?: string; username?: string; password?: string };
    volumes?: string[];
    enforcePortMatch?: boolean;
  };
  /** Existing registries to connect (`[proto://]host[:port]`). */
  use?: string[];
  /** k3s registries.yaml: its content, or a path to it. */
  config?: { content: string } | { path: string };
}

/**
 * The host engine's images served to the nodes (issue 18): a pull-only registry on the host, listed in
 * registries.yaml as the first mirror of docker.io, `localhost`, `mirrors` and (where k3s reads it) `*`.
 * Whoever creates the cluster serves it (LifecycleOptions.hostImages).
 */
export interface HostImagesSpec {
  /** Registry hosts mirrored too (`ghcr.io`, `registry.local:5000`), besides docker.io and localhost. */
  mirrors: string[];
  /**
   * On by default rather than asked for (the CLI's create): where the nodes cannot reach a registry on the host
   * (a rootless engine, one in a VM), the create goes on without host images and says so, instead of failing.
   */
  optional?: boolean;
}

/** A file put into nodes before they start (k3d's `files`); carried, not yet applied by create. */
export interface FileSpec {
  /** Inline content, or a path to read it from (resolved against the config file's directory). */
  source: { content: string } | { path: string };
  /** Absolute path in the node (k3d's shortcuts already expanded). */
  destination: string;
  description?: string;
}

export interface ClusterSpec {
  name: string;
  servers: number;
  agents: number;
  /** The k3s image (e.g. rancher/k3s:v1.33.5-k3s1). */
  image: string;
  api: ApiSpec;
  ports: Array<Filtered<PortSpec>>;
  volumes: Array<Filtered<MountSpec>>;
  env: Array<Filtered<KeyValue>>;
  k3sArgs: Array<Filtered<string>>;
  nodeLabels: Array<Filtered<KeyValue>>;
  runtimeLabels: Array<Filtered<KeyValue>>;
  /** Linux capabilities added to nodes' default set (without CAP_), by node filter (none: every k3s node). */
  capAdd?: Array<Filtered<string>>;
  /** Servers and agents share the host's PID namespace (k3d's `--host-pid-mode`). One of cluster/options.ts's switches. */
  hostPidMode?: boolean;
  /** Join this existing network instead of creating `k3ts-NAME` (it is then not deleted with the cluster). */
  network?: string;
  /** IPv4 CIDR for the created network. */
  subnet?: string;
  /** Cluster token; generated from a CSPRNG when absent. */
  token?: string;
  /** Wait for the API and every node to be Ready (default true). */
  wait: boolean;
  /** Give up (and roll back) after this many ms; 0 = no limit. */
  timeoutMs: number;
  loadBalancer: { enabled: boolean; image: string };
  /** Remove everything this create made when it fails (default true). */
  rollback: boolean;
  memory: { servers?: number; agents?: number };
  hostAliases: HostAlias[];
  /** Nodes run privileged (real k3s needs it). Default true. */
  privileged: boolean;
  kubeconfig: { update: boolean; switchContext: boolean };
  /** Registries to create or connect, and the user's registries.yaml (merged over k3ts's mirrors). */
  registries?: RegistriesSpec;
  /** The host engine's images as the nodes' first mirror; absent: off. */
  hostImages?: HostImagesSpec;
  /** From config files: files to put into nodes (not yet applied by create). */
  files?: Array<Filtered<FileSpec>>;
  /** From config files: ulimits for every node (not yet applied by create). */
  ulimits?: Ulimit[];
}

export const DEFAULT_CLUSTER_NAME = "k3s-default";
/**
 * How long create waits for k3s (after the images are there) before it rolls back: a node that
 * never comes up fails the create rather than leave "0/N nodes Ready" on screen forever. 0 = no limit.
 */
export const DEFAULT_CREATE_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_K3S_IMAGE = "rancher/k3s:v1.33.5-k3s1";
export const DEFAULT_LB_IMAGE = "nginx:1.29-alpine";
/** Port of the Kubernetes API inside server nodes (and on the load balancer). */
export const K3S_API_PORT = 6443;
/** Where k3ts asks k3s to write its admin kubeconfig inside server nodes. */
export const KUBECONFIG_IN_NODE = "/output/kubeconfig.yaml";
export const REGISTRIES_YAML = "/etc/rancher/k3s/registries.yaml";
export const HOST_ALIAS = "host.k3ts.internal";

/** Object names: containers k3ts-<c>-server-<i>, -agent-<i>, -serverlb; network k3ts-<c>; context k3ts-<c>. */
export const names = {
  prefix: "k3ts",
  network: (cluster: string) => `k3ts-${cluster}`,
  server: (cluster: string, i: number) => `k3ts-${cluster}-server-${i}`,
  agent: (cluster: string, i: number) => `k3ts-${cluster}-agent-${i}`,
  loadBalancer: (cluster: string) => `k3ts-${cluster}-serverlb`,
  imageVolume: (cluster: string) => `k3ts-${cluster}-images`,
  /** The container that holds a create's claim on the name while it makes the network (`_`: no cluster or registry has it). */
  claim: (cluster: string) => `k3ts-${cluster}_claim`,
  context: (cluster: string) => `k3ts-${cluster}`,
  user: (cluster: string) => `admin@k3ts-${cluster}`,
} as const;
