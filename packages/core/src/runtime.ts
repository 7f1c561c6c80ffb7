import type { Readable, Writable } from "node:stream";
import type { Logger } from "./logger.js";
import type {
  LabelFilter,
  NetworkInfo,
  NetworkSpec,
  Node,
  NodeSpec,
  VolumeInfo,
  VolumeSpec,
} from "./types.js";

/**
 * The version of the {@link Runtime} contract. A plugin declares the version it implements; the
 * loader refuses a plugin whose version differs (`PLUGIN_API_MISMATCH`, naming what the newer version
 * added). Any change to the interfaces in this file bumps it (and is a major changeset for @k3ts/core).
 *
 * - v1: the first contract.
 * - v2: `networks.list(filter)` and `volumes.inspect(name)`; core finds the networks it made by their
 *   labels (rollback, delete). A v1 plugin lacks both, so it is refused, never half-used.
 * - v3: `images.inspect(ref)`, the engine's image ID; the host-images registry keys what it exported by it,
 *   so a second name of one image, or the same tag asked again, is not saved again. And `NodeSpec.hostPid`
 *   (`Node.hostPid` in inspect): k3d's `--host-pid-mode`.
 */
export const RUNTIME_API_VERSION = 3;

/** What each {@link RUNTIME_API_VERSION} added, for the loader's message to a plugin of an older one. */
export const RUNTIME_API_CHANGES: Readonly<Record<number, string>> = {
  2: "networks.list(filter) and volumes.inspect(name)",
  3: "images.inspect(ref) and NodeSpec.hostPid",
};

/**
 * Every runtime call takes one options object; `signal` aborts it with an `ABORTED` error. A signal
 * that already fired rejects the call with `ABORTED` before it changes anything, on every call.
 */
export interface CallOptions {
  signal?: AbortSignal;
}

/** What the engine can do. Callers branch on these, never on the runtime's name. */
export interface RuntimeCapabilities {
  /** Containers can run privileged. (False only where the engine says so up front; a sandbox may still refuse.) */
  privileged: boolean;
  rootless: boolean;
  cgroupVersion: 1 | 2 | undefined;
  memoryLimit: boolean;
  /** Nodes on a user network resolve each other by name. */
  networkDns: boolean;
  /** The engine supports `host-gateway` as an extra-hosts address. */
  hostGateway: boolean;
}

export interface RuntimeInfo {
  /** The runtime's own name ("docker", "podman", "nerdctl" ...). */
  runtime: string;
  /** Engine name and version as the engine reports them. */
  engine: { name: string; version: string; apiVersion?: string };
  /** Where the engine was reached (socket path, URL, or the CLI binary). */
  endpoint: string;
  /** The engine's OS as Go's GOOS names it: `linux` (not the distribution's name). */
  os: string;
  /** The engine's architecture as Go's GOARCH names it: `amd64`, `arm64` (not uname's `x86_64`, `aarch64`). */
  arch: string;
  capabilities: RuntimeCapabilities;
  /**
   * The cgroup controllers the engine's containers can use, when the engine says (Podman's
   * `host.cgroupControllers`; on a rootless engine, those delegated to the user). Absent: unknown.
   */
  cgroupControllers?: string[];
  /**
   * For a capability that is false, how the user gets it on this engine, in the engine's own terms
   * ("install the dnsname CNI plugin …"). Callers show it when they refuse; absent means no known fix.
   */
  hints?: Partial<Record<keyof RuntimeCapabilities, string>>;
}

export interface ExecOptions extends CallOptions {
  /** Data for the process's standard input; the process's stdin is closed after it. */
  stdin?: string | Uint8Array | Readable;
  /**
   * When given, stdout is streamed here (all of it, with backpressure) instead of collected into the
   * result. The runtime never ends or destroys the caller's stream: the caller may pass
   * `process.stdout`, or one sink to several calls.
   */
  stdout?: Writable;
  /** As {@link stdout}, for stderr. */
  stderr?: Writable;
  /** Added to the node's environment for this process. */
  env?: Record<string, string>;
  /** Default: the node's workdir ({@link NodeSpec.workdir}), else the image's. */
  workdir?: string;
  user?: string;
}

export interface ExecResult {
  exitCode: number;
  /** Collected stdout, whole however large (empty when streamed to `ExecOptions.stdout`). */
  stdout: Buffer;
  /** Collected stderr (empty when streamed to `ExecOptions.stderr`). */
  stderr: Buffer;
}

export interface LogOptions extends CallOptions {
  /** Keep streaming until the node stops or the signal fires. */
  follow?: boolean;
  /** Only lines after this time (ISO string or Date). */
  since?: string | Date;
  /** Only the last N lines. */
  tail?: number;
}

/**
 * A piece of a node's output, tagged with the stream it was written to. Each stream's chunks come in
 * the order they were written; between stdout and stderr no order is promised (an engine that keeps
 * the streams in separate pipes cannot tell it).
 */
export interface LogChunk {
  stream: "stdout" | "stderr";
  data: Buffer;
}

export interface WriteFileOptions extends CallOptions {
  /** File mode, default 0o644. */
  mode?: number;
}

export interface StopOptions extends CallOptions {
  /** Seconds between SIGTERM and SIGKILL (default: the node's own setting, else 10). */
  timeoutSeconds?: number;
}

export interface DeleteOptions extends CallOptions {
  /**
   * Remove a running node (kills it). Default true. With `false`, deleting a running node rejects
   * with a K3tsError (the code is the engine's: `RUNTIME_ERROR` for Docker, `COMMAND_FAILED` for
   * Podman) and the node stays, still running; a node that is not running is removed.
   */
  force?: boolean;
}

export interface PullProgress {
  /** Layer or status id. */
  id?: string;
  status: string;
  current?: number;
  total?: number;
}

export interface PullOptions extends CallOptions {
  onProgress?: (event: PullProgress) => void;
}

/**
 * Networks. A node is *attached* to a network from the create or connect that put it there until
 * its disconnect or delete, whatever its state (created, running, stopped). The *members* a network
 * reports ({@link NetworkInfo.members}) are its attached nodes that are running.
 *
 * When a call names a network and a node and both are missing, the error is `NETWORK_NOT_FOUND`.
 */
export interface NetworkClient {
  /** Idempotent: `created` says whether this call made it (the loser of a race gets `created: false`, never an error). */
  ensure(spec: NetworkSpec, options?: CallOptions): Promise<{ network: NetworkInfo; created: boolean }>;
  /** `NETWORK_NOT_FOUND`. */
  inspect(name: string, options?: CallOptions): Promise<NetworkInfo>;
  /**
   * The networks whose labels match every pair of the filter (an empty value matches any value),
   * each as `inspect` reports it (labels, subnet, gateway, members). Without a filter, every network
   * the engine has, its own default ones included. (Since v2.)
   */
  list(filter?: LabelFilter, options?: CallOptions): Promise<NetworkInfo[]>;
  /** `NETWORK_NOT_FOUND` when missing, `NETWORK_IN_USE` while any node is attached (in any state, not only members). */
  delete(name: string, options?: CallOptions): Promise<void>;
  /**
   * Attaches a node (in any state) with exactly these aliases (the node reports no alias the engine
   * adds: its name, its id). Not idempotent: a node already attached rejects with a K3tsError (the
   * code is the engine's) and keeps its aliases. `NETWORK_NOT_FOUND`, `NODE_NOT_FOUND`.
   */
  connect(network: string, node: string, options?: CallOptions & { aliases?: string[]; ipv4?: string }): Promise<void>;
  /** Not idempotent: a node that is not attached rejects with a K3tsError. `NETWORK_NOT_FOUND`, `NODE_NOT_FOUND`. */
  disconnect(network: string, node: string, options?: CallOptions): Promise<void>;
}

export interface VolumeClient {
  /** Idempotent: `created` says whether this call made it. */
  ensure(spec: VolumeSpec, options?: CallOptions): Promise<{ volume: VolumeInfo; created: boolean }>;
  /** `VOLUME_NOT_FOUND` when missing, `VOLUME_IN_USE` while any node mounts it, whatever the node's state. */
  delete(name: string, options?: CallOptions): Promise<void>;
  /** The volume with its labels, as `list` reports it. `VOLUME_NOT_FOUND` when missing. (Since v2.) */
  inspect(name: string, options?: CallOptions): Promise<VolumeInfo>;
  /** The volumes whose labels match every pair of the filter (an empty value matches any value), with their labels. */
  list(filter?: LabelFilter, options?: CallOptions): Promise<VolumeInfo[]>;
}

/**
 * Nodes. Every call that names a node rejects with `NODE_NOT_FOUND` when it does not exist (`logs`
 * when its iteration starts; `connect`/`disconnect` when the network exists).
 *
 * What {@link Node} reports, on `inspect` and `list` alike:
 * - `labels` and `env`: those given, exactly, plus those the image sets (a given value wins); so
 *   `env.PATH` is the image's, and each reported variable is the value the node's processes see.
 * - `image`: the reference given, or its fully qualified form (`localhost/x:1`, `docker.io/library/x:1`);
 *   either is accepted by `images.exists` and `images.save`.
 * - `ports`: for a running node, the published ports with their real host ports. For a node that is
 *   not running, the mappings it holds: containerPort, protocol (default tcp), hostIP (default
 *   127.0.0.1), and the host port given, or for an engine-picked one `0` or the port the engine has
 *   reserved (Podman picks at create, Docker at start); only a running node's host port is one to connect to.
 * - `networks[].aliases`: exactly the aliases asked for, none the engine adds (the node's name, its id).
 *
 * The node's settings take effect as {@link NodeSpec} says: `hostname` (in /etc/hostname), `entrypoint`
 * and `command`, `workdir` (for the command and, by default, for exec; callers name a directory the
 * image has: Docker creates a missing one, Podman refuses to start), `env`, `extraHosts` (/etc/hosts),
 * `tmpfs` (empty at every start), `init` (an init is PID 1), `restart`, `capAdd`, `privileged`.
 */
export interface NodeClient {
  /**
   * Creates (does not start) a node. What it needs is looked up before its name is claimed: a missing
   * image is `IMAGE_NOT_FOUND`, then a missing network `NETWORK_NOT_FOUND`, then a taken name
   * `NODE_ALREADY_EXISTS` (for all but one of two concurrent creates). Never pulls.
   */
  create(spec: NodeSpec, options?: CallOptions): Promise<Node>;
  /** Starting a running node is a no-op. */
  start(name: string, options?: CallOptions): Promise<void>;
  /** Stopping a stopped node is a no-op; a stopped node is not restarted by its restart policy. */
  stop(name: string, options?: StopOptions): Promise<void>;
  /**
   * Removes the node; its anonymous volumes go with it, named volumes stay. See {@link DeleteOptions.force}.
   */
  delete(name: string, options?: DeleteOptions): Promise<void>;
  /** Nodes in every state whose labels match every pair of the filter (an empty value matches any value). */
  list(filter?: LabelFilter, options?: CallOptions): Promise<Node[]>;
  inspect(name: string, options?: CallOptions): Promise<Node>;
  /** Runs a process in a running node. A non-zero exit is a result, not an error. `NODE_NOT_RUNNING`. */
  exec(name: string, command: string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * The node's output, as chunks tagged with their stream (see {@link LogChunk} for order). Without
   * `follow` it ends with what was written so far; with `follow` it ends when the node stops, and
   * rejects with `ABORTED` when the signal fires.
   */
  logs(name: string, options?: LogOptions): AsyncIterable<LogChunk>;
  /**
   * Writes one file (parents created), replacing content and mode of a file that exists (mode default
   * 0o644). Works on created and stopped nodes too.
   */
  writeFile(name: string, path: string, content: string | Uint8Array, options?: WriteFileOptions): Promise<void>;
  /** Reads one file. Works on created and stopped nodes too. `FILE_NOT_FOUND`. */
  readFile(name: string, path: string, options?: CallOptions): Promise<Buffer>;
}

/**
 * Images. A reference names an image as the engine resolves it: a name without a tag is `:latest`
 * (`busybox` is `busybox:latest`), and a name without a registry is the engine's short name (Docker:
 * `docker.io/library/busybox:latest`; Podman: `localhost/…` for local images, then its search
 * registries). An image ID (`sha256:<hex>`) names an image too.
 */
/** An image as the engine holds it. */
export interface ImageInfo {
  /**
   * The engine's image ID, `sha256:<64 hex>`: the digest of the image's config, so every name of one image
   * has the same ID (and an image loaded under another name from a `save` archive keeps it), and a rebuilt
   * image has a new one.
   */
  id: string;
}

export interface ImageClient {
  exists(ref: string, options?: CallOptions): Promise<boolean>;
  /** The image `ref` names (normalised as `exists` does); `IMAGE_NOT_FOUND` when the engine lacks it. */
  inspect(ref: string, options?: CallOptions): Promise<ImageInfo>;
  /** `IMAGE_PULL_FAILED` when the registry cannot be reached or refuses. */
  pull(ref: string, options?: PullOptions): Promise<void>;
  /**
   * A `docker save`-format tar stream holding every image asked for (manifest.json names each). When
   * any is missing the call rejects with `IMAGE_NOT_FOUND` before it returns a stream; a failure after
   * that can only be an error on the stream.
   */
  save(refs: string[], options?: CallOptions): Promise<Readable>;
  /**
   * Loads a `docker save` tar stream; returns the references of every image it held, as named or
   * qualified (see above); an image without a tag is reported by its ID, `sha256:<64 hex>`.
   */
  load(archive: Readable, options?: CallOptions): Promise<string[]>;
}

/**
 * A container engine as k3ts sees it. Implementations translate every engine failure they can name
 * into a `K3tsError` code (see errors.ts) and honour `signal` on every call. The conformance kit
 * (`@k3ts/core/testing`) checks the rules written here; docs/plugins/authoring-a-runtime.md lists
 * which check holds which rule, and the few it cannot check.
 */
export interface Runtime {
  /** The runtime's name, for messages only: callers branch on {@link RuntimeInfo.capabilities}. */
  readonly name: string;
  info(options?: CallOptions): Promise<RuntimeInfo>;
  readonly networks: NetworkClient;
  readonly volumes: VolumeClient;
  readonly nodes: NodeClient;
  readonly images: ImageClient;
  /** Releases connections the runtime holds (sockets, agents). Idempotent. */
  close?(): Promise<void>;
}

/** Handed to a plugin by the loader. */
export interface RuntimeContext {
  logger: Logger;
  /** The k3ts version asking. */
  k3tsVersion: string;
  /** The environment to read (DOCKER_HOST, CONTAINER_HOST …): a plugin reads this, never `process.env`. */
  env: Record<string, string | undefined>;
  signal?: AbortSignal;
}

export interface Availability {
  available: boolean;
  /** Where the engine was (or was looked for). */
  endpoint?: string;
  /** Why it is not available, for a person. */
  reason?: string;
}

/** The default export of a runtime plugin package. */
export interface RuntimePlugin<O = Record<string, unknown>> {
  meta: { name: string; version: string };
  /** The {@link RUNTIME_API_VERSION} the plugin implements. */
  apiVersion: number;
  /** Cheap check whether the engine is reachable here, used by auto-detection. */
  isAvailable(ctx: RuntimeContext): Promise<Availability>;
  /**
   * Makes the runtime. `options` is the plain, JSON-like object the program passed
   * (`selectRuntime({ pluginOptions })`), or undefined: every option is optional, with its default from
   * `ctx.env` or the engine's own defaults. A key the plugin does not know is ignored (a newer k3ts may
   * pass more); a bad value of one it knows throws `INVALID_ARGUMENT` naming the option. `create` does
   * not reach the engine: that is `isAvailable`'s and each call's job.
   */
  create(ctx: RuntimeContext, options?: O): Runtime | Promise<Runtime>;
}

/** Identity helper that types a plugin object. */
export function defineRuntime<O>(plugin: RuntimePlugin<O>): RuntimePlugin<O> {
  return plugin;
}
