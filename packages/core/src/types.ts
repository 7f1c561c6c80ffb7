/** Domain types shared by core, runtimes, sdk and cli. No engine type appears here. */

export type Role = "server" | "agent" | "loadbalancer" | "registry" | "helper";
export const ROLES: readonly Role[] = ["server", "agent", "loadbalancer", "registry", "helper"];

export type Protocol = "tcp" | "udp";

/** A container port published on the host. */
export interface PortMapping {
  containerPort: number;
  protocol?: Protocol;
  /** Address on the host; default 127.0.0.1 (k3ts never binds all interfaces unless told to). */
  hostIP?: string;
  /** Port on the host; 0 or absent lets the engine pick a free one. */
  hostPort?: number;
}

/** A published port as the engine reports it after start. */
export interface PublishedPort {
  containerPort: number;
  protocol: Protocol;
  hostIP: string;
  hostPort: number;
}

export interface VolumeMount {
  /** `volume`: a named volume (created when missing); `bind`: a host path. */
  type: "volume" | "bind";
  source: string;
  target: string;
  readOnly?: boolean;
}

export interface NetworkAttachment {
  name: string;
  aliases?: string[];
  /** Static IPv4 on that network (needs a network with a subnet). */
  ipv4?: string;
}

export interface HostAlias {
  ip: string;
  hostnames: string[];
}

export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

export type RestartPolicy = "no" | "always" | "unless-stopped" | "on-failure";

/** What a node (one container) should be. */
export interface NodeSpec {
  name: string;
  image: string;
  hostname?: string;
  /** Replaces the image's entrypoint. */
  entrypoint?: string[];
  /** Replaces the image's command. */
  command?: string[];
  env?: Record<string, string>;
  /**
   * Runtime labels. Keys follow Kubernetes label-key syntax (`[prefix/]name`, no `=` or `,`); values
   * may hold any text and come back exactly as given.
   */
  labels?: Record<string, string>;
  /** The first network the node joins (more can be connected later). */
  network?: NetworkAttachment;
  ports?: PortMapping[];
  volumes?: VolumeMount[];
  /** tmpfs mounts: path -> options ("" for defaults). */
  tmpfs?: Record<string, string>;
  /** Real k3s needs privileged nodes; the default is left to the caller (lifecycle sets true). */
  privileged?: boolean;
  /** Linux capabilities added to the engine's default set, without the CAP_ prefix (e.g. "SYS_ADMIN"). */
  capAdd?: string[];
  /** Share the host's PID namespace (`docker run --pid host`): the node sees the host's processes, and PID 1 is the host's. */
  hostPid?: boolean;
  /** Run an init process as PID 1 (reaps zombies, forwards signals). */
  init?: boolean;
  restart?: RestartPolicy;
  /** Memory limit in bytes. */
  memoryBytes?: number;
  extraHosts?: HostAlias[];
  ulimits?: Ulimit[];
  workdir?: string;
  user?: string;
  /** Seconds the engine waits after SIGTERM before SIGKILL on stop. */
  stopTimeoutSeconds?: number;
}

export type NodeState = "created" | "running" | "restarting" | "paused" | "stopped" | "dead" | "unknown";

/** A node as the engine reports it. */
export interface Node {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  state: NodeState;
  /** Set once the node has exited. */
  exitCode?: number;
  startedAt?: string;
  createdAt?: string;
  ports: PublishedPort[];
  networks: Array<{ name: string; ipv4?: string; aliases: string[] }>;
  /** The command the node runs (entrypoint + command). */
  command: string[];
  privileged: boolean;
  /** Whether it shares the host's PID namespace (NodeSpec.hostPid). */
  hostPid: boolean;
  /** Capabilities added to the default set, as created (without the CAP_ prefix), when the runtime reports them. */
  capAdd?: string[];
  memoryBytes?: number;
}

export interface NetworkSpec {
  name: string;
  labels?: Record<string, string>;
  /** IPv4 CIDR, e.g. 172.28.0.0/16. The gateway becomes the first address. */
  subnet?: string;
}

export interface NetworkInfo {
  id: string;
  name: string;
  labels: Record<string, string>;
  subnet?: string;
  gateway?: string;
  /** Running nodes attached to the network (created or stopped ones are not members). */
  members: Array<{ name: string; ipv4?: string }>;
}

export interface VolumeSpec {
  name: string;
  labels?: Record<string, string>;
}

export interface VolumeInfo {
  name: string;
  labels: Record<string, string>;
  createdAt?: string;
}

export interface LabelFilter {
  /** Every pair must match; an empty string value matches any value of that key. */
  labels?: Record<string, string>;
}
