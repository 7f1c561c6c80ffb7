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
 * loader refuses a plugin whose version differs. Any breaking change to the interfaces in this file
 * bumps it (and is a major changeset for @k3ts/core).
 */
export const RUNTIME_API_VERSION = 1;

/** Every runtime call takes one options object; `signal` aborts it with an `ABORTED` error. */
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
  os: string;
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
  /** Data for the process's standard input; the stream is closed after it. */
  stdin?: string | Uint8Array | Readable;
  /** When given, stdout is streamed here instead of collected into the result. */
  stdout?: Writable;
  /** When given, stderr is streamed here instead of collected into the result. */
  stderr?: Writable;
  env?: Record<string, string>;
  workdir?: string;
  user?: string;
}

export interface ExecResult {
  exitCode: number;
  /** Collected stdout (empty when streamed to `ExecOptions.stdout`). */
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
  /** Remove a running node (kills it). Default true. */
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

/** Networks: ensure is idempotent; delete refuses while nodes are attached. */
export interface NetworkClient {
  ensure(spec: NetworkSpec, options?: CallOptions): Promise<{ network: NetworkInfo; created: boolean }>;
  inspect(name: string, options?: CallOptions): Promise<NetworkInfo>;
  /** `NETWORK_NOT_FOUND` when missing, `NETWORK_IN_USE` while nodes are attached. */
  delete(name: string, options?: CallOptions): Promise<void>;
  connect(network: string, node: string, options?: CallOptions & { aliases?: string[]; ipv4?: string }): Promise<void>;
  disconnect(network: string, node: string, options?: CallOptions): Promise<void>;
}

export interface VolumeClient {
  ensure(spec: VolumeSpec, options?: CallOptions): Promise<{ volume: VolumeInfo; created: boolean }>;
  /** `VOLUME_NOT_FOUND` when missing, `VOLUME_IN_USE` while a node mounts it. */
  delete(name: string, options?: CallOptions): Promise<void>;
  list(filter?: LabelFilter, options?: CallOptions): Promise<VolumeInfo[]>;
}

export interface NodeClient {
  /** Creates (does not start) a node. `NODE_ALREADY_EXISTS`, `IMAGE_NOT_FOUND`, `NETWORK_NOT_FOUND`. */
  create(spec: NodeSpec, options?: CallOptions): Promise<Node>;
  start(name: string, options?: CallOptions): Promise<void>;
  stop(name: string, options?: StopOptions): Promise<void>;
  /** `NODE_NOT_FOUND` when missing. Anonymous volumes go with the node. */
  delete(name: string, options?: DeleteOptions): Promise<void>;
  /** Nodes in every state whose labels match. */
  list(filter?: LabelFilter, options?: CallOptions): Promise<Node[]>;
  inspect(name: string, options?: CallOptions): Promise<Node>;
  /** Runs a process in a running node. A non-zero exit is a result, not an error. `NODE_NOT_RUNNING`. */
  exec(name: string, command: string[], options?: ExecOptions): Promise<ExecResult>;
  /** The node's output, as chunks tagged with their stream. */
  logs(name: string, options?: LogOptions): AsyncIterable<LogChunk>;
  /** Writes one file (parents created). Works on created and stopped nodes too. */
  writeFile(name: string, path: string, content: string | Uint8Array, options?: WriteFileOptions): Promise<void>;
  /** Reads one file. Works on created and stopped nodes too. `FILE_NOT_FOUND`. */
  readFile(name: string, path: string, options?: CallOptions): Promise<Buffer>;
}

export interface ImageClient {
  exists(ref: string, options?: CallOptions): Promise<boolean>;
  /** `IMAGE_PULL_FAILED` when the registry cannot be reached or refuses. */
  pull(ref: string, options?: PullOptions): Promise<void>;
  /** A `docker save`-format tar stream of the images. `IMAGE_NOT_FOUND`. */
  save(refs: string[], options?: CallOptions): Promise<Readable>;
  /** Loads a `docker save` tar stream; returns the image references it held. */
  load(archive: Readable, options?: CallOptions): Promise<string[]>;
}

/**
 * A container engine as k3ts sees it. Implementations translate every engine failure they can name
 * into a `K3tsError` code (see errors.ts) and honour `signal` on every call.
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
  create(ctx: RuntimeContext, options?: O): Runtime | Promise<Runtime>;
}

/** Identity helper that types a plugin object. */
export function defineRuntime<O>(plugin: RuntimePlugin<O>): RuntimePlugin<O> {
  return plugin;
}
