import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import {
  K3tsError,
  abortedError,
  extractFirstFile,
  isK3tsError,
  matchesLabels,
  packFile,
  raceAbort,
  silentLogger,
  throwIfAborted,
  type CallOptions,
  type DeleteOptions,
  type ExecOptions,
  type ExecResult,
  type ImageClient,
  type ImageInfo,
  type LabelFilter,
  type LogChunk,
  type LogOptions,
  type Logger,
  type NetworkClient,
  type NetworkInfo,
  type NetworkSpec,
  type Node,
  type NodeClient,
  type NodeSpec,
  type PullOptions,
  type Runtime,
  type RuntimeInfo,
  type StopOptions,
  type VolumeClient,
  type VolumeInfo,
  type VolumeSpec,
  type WriteFileOptions,
} from "@k3ts/core";
import { PodmanCli, locateBinary, type RunOptions, type RunResult } from "./cli.js";
import * as cmd from "./command.js";
import {
  MIN_PODMAN_VERSION,
  classifyFailure,
  engineVersion,
  isAlreadyExists,
  notFoundError,
  parseJson,
  parseJsonArray,
  parseLoadedImages,
  parsePullLine,
  podmanErrorLine,
  toNetworkInfo,
  toNode,
  toRuntimeInfo,
  toVolumeInfo,
  translateFailure,
  unsupportedVersionError,
  versionAtLeast,
  type CommandFailure,
  type FailureSubject,
  type PodmanContainer,
  type PodmanInfo,
  type PodmanNetwork,
  type PodmanPsEntry,
  type PodmanVersion,
  type PodmanVolume,
} from "./translate.js";

export interface PodmanRuntimeOptions {
  /** The podman binary: a name looked up on PATH or a path. Default `podman`. */
  binary?: string;
  /** Extra environment for every podman process (CONTAINER_HOST, CONTAINERS_CONF ...). */
  env?: Record<string, string>;
  logger?: Logger;
}

/** How long the one-time version check may take. */
const VERSION_CHECK_TIMEOUT_MS = 30_000;
/** How often, and how far apart, stop repeats itself on a node that podman's restart policy brings back. */
const RESTART_STOP_ATTEMPTS = 20;
const RESTART_STOP_PAUSE_MS = 200;
/** How long an exited node with a restart policy must stay so after a stop: the clean-up of a run that ended by itself may still start it again. */
const RESTART_SETTLE_MS = 800;

const delay = (ms: number, signal?: AbortSignal) => raceAbort(new Promise<void>((resolve) => setTimeout(resolve, ms)), signal, "podman stop");

/** Exit codes podman uses for its own failures in `podman exec` (anything else is the process's). */
const PODMAN_EXEC_FAILURES = new Set([125, 126, 127, 255]);

const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);
const failureOf = (r: RunResult): CommandFailure => ({ argv: r.argv, exitCode: r.exitCode, stderr: r.stderrTail });

/** The podman binary behind the clients: version-checked once, failures translated. */
class Podman {
  readonly cli: PodmanCli;
  #ready: Promise<string> | undefined;

  constructor(cli: PodmanCli) {
    this.cli = cli;
  }

  /** The engine version, checked against {@link MIN_PODMAN_VERSION} the first time it is asked for. */
  async checkVersion(options: CallOptions & { timeoutMs?: number } = {}): Promise<string> {
    const argv = cmd.versionArgs();
    const result = await this.cli.run(argv, { ...options, timeoutMs: options.timeoutMs ?? VERSION_CHECK_TIMEOUT_MS });
    if (result.exitCode !== 0) {
      throw new K3tsError("RUNTIME_UNAVAILABLE", `podman is not responding: ${podmanErrorLine(result.stderrTail) || `exit code ${result.exitCode}`}`, {
        meta: { argv: ["podman", ...argv], exitCode: result.exitCode, stderr: result.stderrTail },
        hint: "check that `podman info` works for this user",
      });
    }
    const version = engineVersion(parseJson<PodmanVersion>(result.stdout.toString("utf8"), argv));
    if (!version) {
      throw new K3tsError("RUNTIME_ERROR", "podman version printed no version", { meta: { argv: ["podman", ...argv] } });
    }
    if (!versionAtLeast(version.version, MIN_PODMAN_VERSION)) throw unsupportedVersionError(version.version, this.cli.binary);
    return version.version;
  }

  /** Resolves once the engine passed the version check; a failed check is retried on the next call. */
  ready(signal?: AbortSignal): Promise<string> {
    throwIfAborted(signal);
    this.#ready ??= this.checkVersion().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return raceAbort(this.#ready, signal);
  }

  /** Runs podman after the version check; a non-zero exit is returned, not thrown. */
  async run(args: string[], options: RunOptions = {}): Promise<RunResult> {
    await this.ready(options.signal);
    return this.cli.run(args, options);
  }

  /** Runs podman; a non-zero exit is translated into a K3tsError about `subject`. */
  async call(args: string[], subject: FailureSubject, options: RunOptions = {}): Promise<RunResult> {
    const result = await this.run(args, options);
    if (result.exitCode !== 0) throw translateFailure(failureOf(result), subject);
    return result;
  }

  /** Runs a podman command that prints a JSON array. */
  async jsonArray<T>(args: string[], subject: FailureSubject, options: CallOptions = {}): Promise<T[]> {
    const result = await this.call(args, subject, { signal: options.signal });
    return parseJsonArray<T>(result.stdout.toString("utf8"), args);
  }

  /** `podman <kind> exists`: true on exit 0, false on exit 1, an error otherwise. */
  async exists(args: string[], subject: FailureSubject, options: CallOptions = {}): Promise<boolean> {
    const result = await this.run(args, { signal: options.signal });
    if (result.exitCode === 0 || result.exitCode === 1) return result.exitCode === 0;
    throw translateFailure(failureOf(result), subject);
  }

  /** Inspects containers; ones removed meanwhile are left out. */
  async inspectContainers(ids: string[], options: CallOptions = {}): Promise<PodmanContainer[]> {
    if (ids.length === 0) return [];
    try {
      return await this.jsonArray<PodmanContainer>(cmd.inspectArgs(ids), {}, options);
    } catch (err) {
      if (!isK3tsError(err, "NODE_NOT_FOUND")) throw err;
      // Listed, then gone before the inspect (deleted meanwhile: a reaper, another process): not there.
      if (ids.length === 1) return [];
      return (await Promise.all(ids.map((id) => this.inspectContainers([id], options)))).flat();
    }
  }

  /** Ids of the containers `podman ps` selects. */
  async listIds(args: string[], options: CallOptions = {}): Promise<PodmanPsEntry[]> {
    return this.jsonArray<PodmanPsEntry>(args, {}, options);
  }
}

/** stdout and stderr of a process as one sequence of tagged chunks, in arrival order, with backpressure. */
function tagged(stdout: Readable, stderr: Readable): AsyncIterable<LogChunk> {
  const chunks = new PassThrough({ objectMode: true });
  let open = 2;
  const pump = (stream: Readable, tag: LogChunk["stream"]) => {
    stream.on("data", (data: Buffer) => {
      if (!chunks.write({ stream: tag, data } satisfies LogChunk)) {
        stream.pause();
        chunks.once("drain", () => stream.resume());
      }
    });
    stream.once("close", () => {
      if (--open === 0) chunks.end();
    });
  };
  pump(stdout, "stdout");
  pump(stderr, "stderr");
  return chunks;
}

class PodmanNodes implements NodeClient {
  readonly #podman: Podman;

  constructor(podman: Podman) {
    this.#podman = podman;
  }

  async create(spec: NodeSpec, options: CallOptions = {}): Promise<Node> {
    await this.#podman.call(cmd.createArgs(spec), { node: spec.name, image: spec.image, network: spec.network?.name }, options);
    return this.inspect(spec.name, options);
  }

  async start(name: string, options: CallOptions = {}): Promise<void> {
    await this.#podman.call(cmd.startArgs(name), { node: name }, options);
  }

  async stop(name: string, options: StopOptions = {}): Promise<void> {
    const stopNow = () => this.#podman.call(cmd.stopArgs(name, options.timeoutSeconds), { node: name }, { signal: options.signal });
    // A stop that lands while podman restarts the node itself fails with "container state improper": try again below.
    const stop = () =>
      stopNow().catch((err: unknown) => {
        if (!(isK3tsError(err) && /container state improper/.test(String(err.meta?.stderr ?? "")))) throw err;
      });
    await stop();
    // A stop that finds a node with a restart policy between two runs (podman's state "stopped", before its
    // clean-up), or just after its command ended by itself, does not mark it stopped by the user, and podman's
    // clean-up starts it again. Stop until it has exited and stays so (no new run) for a moment.
    const inspect = async () => (await this.#podman.jsonArray<PodmanContainer>(cmd.inspectArgs([name]), { node: name }, options))[0];
    for (let attempt = 0; attempt < RESTART_STOP_ATTEMPTS; attempt++) {
      const container = await inspect();
      const policy = container?.HostConfig?.RestartPolicy?.Name ?? "";
      const status = container?.State?.Status;
      if (policy === "" || policy === "no") return;
      if (status !== "running" && status !== "stopped" && status !== "stopping") {
        await delay(RESTART_SETTLE_MS, options.signal);
        const again = await inspect();
        if (again?.State?.Status === status && again?.State?.StartedAt === container?.State?.StartedAt) return;
      } else await delay(RESTART_STOP_PAUSE_MS, options.signal);
      await stop();
    }
    await stopNow(); // still restarting after every attempt: podman's own error
  }

  async delete(name: string, options: DeleteOptions = {}): Promise<void> {
    const force = options.force ?? true;
    // `podman rm --force` exits 0 for a container that does not exist, so ask first.
    if (force && !(await this.#podman.exists(cmd.containerExistsArgs(name), { node: name }, options))) {
      throw notFoundError("NODE_NOT_FOUND", { node: name }, cmd.containerExistsArgs(name));
    }
    await this.#podman.call(cmd.removeArgs(name, force), { node: name }, { signal: options.signal });
  }

  async list(filter: LabelFilter = {}, options: CallOptions = {}): Promise<Node[]> {
    const rows = await this.#podman.listIds(cmd.listArgs(filter), options);
    const ids = rows.map((r) => r.Id).filter((id): id is string => !!id);
    const nodes = (await this.#podman.inspectContainers(ids, options)).map(toNode);
    return nodes.filter((n) => matchesLabels(n.labels, filter.labels)).sort(byName);
  }

  async inspect(name: string, options: CallOptions = {}): Promise<Node> {
    const [container] = await this.#podman.jsonArray<PodmanContainer>(cmd.inspectArgs([name]), { node: name }, options);
    if (!container) throw notFoundError("NODE_NOT_FOUND", { node: name }, cmd.inspectArgs([name]));
    return toNode(container);
  }

  async exec(name: string, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const args = cmd.execArgs(name, command, {
      interactive: options.stdin !== undefined,
      ...(options.env ? { env: options.env } : {}),
      ...(options.workdir ? { workdir: options.workdir } : {}),
      ...(options.user ? { user: options.user } : {}),
    });
    const result = await this.#podman.run(args, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      ...(options.stdout ? { stdout: options.stdout } : {}),
      ...(options.stderr ? { stderr: options.stderr } : {}),
    });
    if (PODMAN_EXEC_FAILURES.has(result.exitCode)) {
      // Podman's own failures share exit codes with the process's; only podman's messages count.
      const code = classifyFailure(failureOf(result), { node: name });
      if (code === "NODE_NOT_FOUND" || code === "NODE_NOT_RUNNING" || code === "RUNTIME_UNAVAILABLE") {
        throw translateFailure(failureOf(result), { node: name });
      }
    }
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  }

  logs(name: string, options: LogOptions = {}): AsyncIterable<LogChunk> {
    return this.#logs(name, options);
  }

  async *#logs(name: string, options: LogOptions): AsyncGenerator<LogChunk> {
    const { signal } = options;
    // Checked first so that podman's own "no such container" never reaches the caller as log output.
    if (!(await this.#podman.exists(cmd.containerExistsArgs(name), { node: name }, { signal }))) {
      throw notFoundError("NODE_NOT_FOUND", { node: name }, cmd.containerExistsArgs(name));
    }
    const args = cmd.logsArgs(name, options);
    const podman = this.#podman.cli.open(args, { signal });
    try {
      yield* tagged(podman.stdout, podman.stderr);
      const { exitCode, stderrTail } = await podman.done;
      if (exitCode !== 0) throw translateFailure({ argv: args, exitCode, stderr: stderrTail }, { node: name });
    } finally {
      podman.stop();
    }
  }

  async writeFile(name: string, path: string, content: string | Uint8Array, options: WriteFileOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    const archive = await packFile(path, content, options.mode ?? 0o644);
    await this.#podman.call(cmd.copyInArgs(name), { node: name, path }, { signal: options.signal, stdin: archive });
  }

  async readFile(name: string, path: string, options: CallOptions = {}): Promise<Buffer> {
    const result = await this.#podman.call(cmd.copyOutArgs(name, path), { node: name, path, op: "copy-out" }, options);
    const file = await extractFirstFile(result.stdout);
    // A directory comes back as its entries: its first file is not the file asked for.
    if (!file || file.name !== posix.basename(path)) {
      throw new K3tsError("FILE_NOT_FOUND", `${path} in node ${name} is not a regular file`, {
        meta: { node: name, path, argv: ["podman", ...cmd.copyOutArgs(name, path)] },
      });
    }
    return file.content;
  }
}

class PodmanNetworks implements NetworkClient {
  readonly #podman: Podman;

  constructor(podman: Podman) {
    this.#podman = podman;
  }

  async ensure(spec: NetworkSpec, options: CallOptions = {}): Promise<{ network: NetworkInfo; created: boolean }> {
    const existing = await this.#find(spec.name, options);
    if (existing) return { network: existing, created: false };
    const result = await this.#podman.run(cmd.networkCreateArgs(spec), options);
    if (result.exitCode !== 0 && !isAlreadyExists(failureOf(result))) throw translateFailure(failureOf(result), { network: spec.name });
    return { network: await this.inspect(spec.name, options), created: result.exitCode === 0 };
  }

  async inspect(name: string, options: CallOptions = {}): Promise<NetworkInfo> {
    const found = await this.#find(name, options);
    if (!found) throw notFoundError("NETWORK_NOT_FOUND", { network: name }, cmd.networkInspectArgs(name));
    return found;
  }

  async list(filter: LabelFilter = {}, options: CallOptions = {}): Promise<NetworkInfo[]> {
    const networks = await this.#podman.jsonArray<PodmanNetwork>(cmd.networkListArgs(filter), {}, options);
    const matching = networks.filter((n) => matchesLabels(toNetworkInfo(n).labels, filter.labels));
    return (await Promise.all(matching.map((n) => this.#withMembers(n, options)))).sort(byName);
  }

  async delete(name: string, options: CallOptions = {}): Promise<void> {
    await this.#podman.call(cmd.networkRemoveArgs(name), { network: name }, options);
  }

  async connect(network: string, node: string, options: CallOptions & { aliases?: string[]; ipv4?: string } = {}): Promise<void> {
    await this.#attach(cmd.networkConnectArgs(network, node, options), network, node, options);
  }

  async disconnect(network: string, node: string, options: CallOptions = {}): Promise<void> {
    await this.#attach(cmd.networkDisconnectArgs(network, node), network, node, options);
  }

  /** network connect/disconnect: podman looks the container up first; a missing network is the better answer when both are. */
  async #attach(args: string[], network: string, node: string, options: CallOptions): Promise<void> {
    const result = await this.#podman.run(args, { signal: options.signal });
    if (result.exitCode === 0) return;
    const error = translateFailure(failureOf(result), { network, node });
    if (error.code === "NODE_NOT_FOUND" && !(await this.#podman.exists(cmd.networkExistsArgs(network), { network }, options))) {
      throw notFoundError("NETWORK_NOT_FOUND", { network, node }, args);
    }
    throw error;
  }

  /** The network with its members, or undefined when it does not exist. */
  async #find(name: string, options: CallOptions): Promise<NetworkInfo | undefined> {
    let net: PodmanNetwork | undefined;
    try {
      [net] = await this.#podman.jsonArray<PodmanNetwork>(cmd.networkInspectArgs(name), { network: name }, options);
    } catch (err) {
      if (isK3tsError(err, "NETWORK_NOT_FOUND")) return undefined;
      throw err;
    }
    if (!net) return undefined;
    return this.#withMembers(net, options, name);
  }

  /** `podman network inspect` and `ls` list no containers (4.x): ask ps, then read each one's address. */
  async #withMembers(net: PodmanNetwork, options: CallOptions, name = net.name ?? ""): Promise<NetworkInfo> {
    const rows = await this.#podman.listIds(cmd.listOnNetworkArgs(net.name ?? name), options);
    const members = await this.#podman.inspectContainers(rows.map((r) => r.Id).filter((id): id is string => !!id), options);
    return toNetworkInfo(net, members);
  }
}

class PodmanVolumes implements VolumeClient {
  readonly #podman: Podman;

  constructor(podman: Podman) {
    this.#podman = podman;
  }

  async ensure(spec: VolumeSpec, options: CallOptions = {}): Promise<{ volume: VolumeInfo; created: boolean }> {
    const existing = await this.#find(spec.name, options);
    if (existing) return { volume: existing, created: false };
    const result = await this.#podman.run(cmd.volumeCreateArgs(spec), options);
    if (result.exitCode !== 0 && !isAlreadyExists(failureOf(result))) throw translateFailure(failureOf(result), { volume: spec.name });
    const volume = await this.#find(spec.name, options);
    if (!volume) throw notFoundError("VOLUME_NOT_FOUND", { volume: spec.name }, cmd.volumeInspectArgs(spec.name));
    return { volume, created: result.exitCode === 0 };
  }

  async delete(name: string, options: CallOptions = {}): Promise<void> {
    await this.#podman.call(cmd.volumeRemoveArgs(name), { volume: name }, options);
  }

  async inspect(name: string, options: CallOptions = {}): Promise<VolumeInfo> {
    const found = await this.#find(name, options);
    if (!found) throw notFoundError("VOLUME_NOT_FOUND", { volume: name }, cmd.volumeInspectArgs(name));
    return found;
  }

  async list(filter: LabelFilter = {}, options: CallOptions = {}): Promise<VolumeInfo[]> {
    const volumes = await this.#podman.jsonArray<PodmanVolume>(cmd.volumeListArgs(filter), {}, options);
    return volumes.map(toVolumeInfo).filter((v) => matchesLabels(v.labels, filter.labels)).sort(byName);
  }

  async #find(name: string, options: CallOptions): Promise<VolumeInfo | undefined> {
    try {
      const [volume] = await this.#podman.jsonArray<PodmanVolume>(cmd.volumeInspectArgs(name), { volume: name }, options);
      return volume ? toVolumeInfo(volume) : undefined;
    } catch (err) {
      if (isK3tsError(err, "VOLUME_NOT_FOUND")) return undefined;
      throw err;
    }
  }
}

class PodmanImages implements ImageClient {
  readonly #podman: Podman;

  constructor(podman: Podman) {
    this.#podman = podman;
  }

  exists(ref: string, options: CallOptions = {}): Promise<boolean> {
    return this.#podman.exists(cmd.imageExistsArgs(ref), { image: ref }, options);
  }

  async inspect(ref: string, options: CallOptions = {}): Promise<ImageInfo> {
    const result = await this.#podman.call(cmd.imageIdArgs(ref), { image: ref }, { signal: options.signal });
    const hex = result.stdout.toString("utf8").trim();
    return { id: hex.startsWith("sha256:") ? hex : `sha256:${hex}` };
  }

  async pull(ref: string, options: PullOptions = {}): Promise<void> {
    const { onProgress } = options;
    let partial = "";
    const onStderr = onProgress
      ? (chunk: Buffer) => {
          const lines = (partial + chunk.toString("utf8")).split("\n");
          partial = lines.pop() ?? "";
          for (const line of lines) {
            const event = parsePullLine(line);
            if (event) onProgress(event);
          }
        }
      : undefined;
    await this.#podman.call(cmd.pullArgs(ref), { image: ref, op: "pull" }, { signal: options.signal, ...(onStderr ? { onStderr } : {}) });
  }

  async save(refs: string[], options: CallOptions = {}): Promise<Readable> {
    const { signal } = options;
    // Checked up front: once the archive streams, a failure can only break the stream.
    const present = await Promise.all(refs.map((ref) => this.exists(ref, { signal })));
    const missing = refs.filter((_, i) => !present[i]);
    if (missing.length > 0) {
      throw notFoundError("IMAGE_NOT_FOUND", { image: missing.join(", ") }, cmd.imageExistsArgs(missing[0] ?? ""));
    }
    const args = cmd.saveArgs(refs);
    const podman = this.#podman.cli.open(args, { signal });
    const archive = new PassThrough();
    podman.stdout.pipe(archive, { end: false });
    archive.once("close", () => podman.stop());
    podman.done.then(
      ({ exitCode, stderrTail }) => {
        if (exitCode === 0) archive.end();
        else archive.destroy(translateFailure({ argv: args, exitCode, stderr: stderrTail }, { image: refs.join(", ") }));
      },
      (err: unknown) => archive.destroy(err instanceof Error ? err : abortedError(signal, "podman save")),
    );
    return archive;
  }

  async load(archive: Readable, options: CallOptions = {}): Promise<string[]> {
    const result = await this.#podman.call(cmd.loadArgs(), {}, { signal: options.signal, stdin: archive });
    return parseLoadedImages(result.stdout.toString("utf8"));
  }
}

/** A k3ts {@link Runtime} on the podman CLI. */
export class PodmanRuntime implements Runtime {
  readonly name = "podman";
  readonly nodes: NodeClient;
  readonly networks: NetworkClient;
  readonly volumes: VolumeClient;
  readonly images: ImageClient;
  readonly #podman: Podman;

  constructor(options: PodmanRuntimeOptions = {}) {
    const cli = new PodmanCli({
      binary: options.binary ?? "podman",
      logger: options.logger ?? silentLogger,
      ...(options.env ? { env: options.env } : {}),
    });
    this.#podman = new Podman(cli);
    this.nodes = new PodmanNodes(this.#podman);
    this.networks = new PodmanNetworks(this.#podman);
    this.volumes = new PodmanVolumes(this.#podman);
    this.images = new PodmanImages(this.#podman);
  }

  /** The engine version (checked against the minimum); `RUNTIME_UNAVAILABLE` / `RUNTIME_UNSUPPORTED_VERSION` otherwise. */
  version(options: CallOptions & { timeoutMs?: number } = {}): Promise<string> {
    return this.#podman.checkVersion(options);
  }

  async info(options: CallOptions = {}): Promise<RuntimeInfo> {
    const args = cmd.infoArgs();
    const result = await this.#podman.call(args, {}, options);
    const info = parseJson<PodmanInfo>(result.stdout.toString("utf8"), args);
    const dns = info.host?.networkBackend === "cni" ? await raceAbort(this.#cniNetworkDns(), options.signal, "podman info") : undefined;
    return toRuntimeInfo(info, locateBinary(this.#podman.cli.binary), dns);
  }

  /** The engine's answer to "do user networks get DNS?", asked once per runtime. */
  #networkDns: Promise<boolean> | undefined;

  /**
   * With the CNI backend, containers on a user network resolve each other only when Debian's (or
   * the distribution's) dnsname plugin is installed: podman then creates networks with
   * `dns_enabled`, and without it silently creates them without (it says so in a debug line only).
   * Podman 4 reports the plugin nowhere else, so the runtime asks the engine the one way it answers:
   * it creates a labelled network, reads `dns_enabled` and removes it again.
   */
  #cniNetworkDns(): Promise<boolean> {
    this.#networkDns ??= (async () => {
      const name = `k3ts-dns-probe-${randomBytes(4).toString("hex")}`;
      await this.#podman.call(cmd.networkCreateArgs({ name, labels: { "k3ts.io/probe": "dns" } }), { network: name });
      try {
        const [net] = await this.#podman.jsonArray<PodmanNetwork>(cmd.networkInspectArgs(name), { network: name });
        return net?.dns_enabled === true;
      } finally {
        await this.#podman.run(cmd.networkRemoveArgs(name, true));
      }
    })().catch((err: unknown) => {
      this.#networkDns = undefined;
      throw err;
    });
    return this.#networkDns;
  }

  /** Nothing to release: every call is its own podman process. */
  async close(): Promise<void> {}
}

export function createPodmanRuntime(options: PodmanRuntimeOptions = {}): PodmanRuntime {
  return new PodmanRuntime(options);
}
