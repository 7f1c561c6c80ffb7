import { Readable, Writable, type Duplex } from "node:stream";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import {
  K3tsError,
  abortedError,
  extractFirstFile,
  isK3tsError,
  packFile,
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
import { resolveDockerEndpoint, type DockerEndpoint } from "./endpoint.js";
import { FrameDecoder, decodeFrames } from "./mux.js";
import {
  fromContainerInspect,
  fromNetworkInspect,
  fromVolumeInspect,
  gatewayFor,
  labelFilters,
  toCreateOptions,
  daemonTraits,
  type DaemonTraits,
  type DockerInfo,
  toRuntimeInfo,
  translateError,
  type Subject,
} from "./translate.js";

export interface DockerRuntimeOptions {
  /** Engine address; default: DOCKER_HOST, the current docker context, then /var/run/docker.sock. */
  host?: string;
  env?: Record<string, string | undefined>;
  logger?: Logger;
}

/** dockerode honours `abortSignal` on every call; its typings predate the option. */
function sig(signal: AbortSignal | undefined): Record<string, never> {
  return (signal ? { abortSignal: signal } : {}) as Record<string, never>;
}

/** Calls a dockerode method whose typings lack the options overload it has at run time. */
function loose<T>(target: object, method: string, options: object): Promise<T> {
  const fn = (target as Record<string, (o: object) => Promise<T>>)[method];
  if (!fn) throw new K3tsError("RUNTIME_ERROR", `dockerode has no ${method}()`, { meta: { runtime: "docker", method }, hint: "reinstall @k3ts/runtime-docker (its dockerode is not the one it was built with)" });
  return fn.call(target, options);
}

function isAbort(err: unknown, signal?: AbortSignal): boolean {
  const name = (err as { name?: string } | undefined)?.name;
  return signal?.aborted === true || name === "AbortError";
}

/**
 * Builds dockerode's connection options from an endpoint. Everything is given explicitly: the TLS
 * material is read here from the endpoint's certPath (ca.pem, cert.pem, key.pem, as the docker CLI
 * reads them), so docker-modem never falls back to the process's own DOCKER_* variables, and nothing
 * is written to the process's environment. A TLS file that cannot be read is INVALID_ARGUMENT naming it.
 */
export function dockerodeOptions(endpoint: DockerEndpoint, read: (path: string) => Buffer = readFileSync): Docker.DockerOptions {
  if (endpoint.socketPath) return { socketPath: endpoint.socketPath };
  const opts: Docker.DockerOptions = {
    protocol: endpoint.protocol ?? "http",
    ...(endpoint.host ? { host: endpoint.host } : {}),
    ...(endpoint.port ? { port: endpoint.port } : {}),
    ...(endpoint.username ? { username: endpoint.username } : {}),
    // Not the process's DOCKER_CERT_PATH files (docker-modem's defaults): only what the endpoint names.
    ca: undefined,
    cert: undefined,
    key: undefined,
  };
  if (endpoint.certPath && endpoint.protocol === "https") {
    const file = (name: string): Buffer => {
      const path = join(endpoint.certPath!, name);
      try {
        return read(path);
      } catch (err) {
        throw new K3tsError("INVALID_ARGUMENT", `${path}: cannot read the TLS ${name} for ${endpoint.url}: ${(err as Error).message}`, {
          meta: { where: path, path, endpoint: endpoint.url },
          cause: err,
          hint: "DOCKER_CERT_PATH (or the docker context's TLS store) must hold ca.pem, cert.pem and key.pem",
        });
      }
    };
    Object.assign(opts, { ca: file("ca.pem"), cert: file("cert.pem"), key: file("key.pem") });
  }
  return opts;
}

/** The Runtime for any engine that speaks the Docker Engine API (Docker, or Podman's socket). */
export class DockerRuntime implements Runtime {
  readonly name = "docker";
  readonly endpoint: DockerEndpoint;
  readonly docker: Docker;
  private readonly logger: Logger;

  readonly networks: NetworkClient;
  readonly volumes: VolumeClient;
  readonly nodes: NodeClient;
  readonly images: ImageClient;

  constructor(options: DockerRuntimeOptions = {}) {
    const env = options.env ?? process.env;
    this.endpoint = options.host ? resolveDockerEndpoint({ ...env, DOCKER_HOST: options.host }) : resolveDockerEndpoint(env);
    this.docker = new Docker(dockerodeOptions(this.endpoint));
    this.logger = options.logger ?? silentLogger;
    this.networks = {
      ensure: (spec, o) => this.ensureNetwork(spec, o),
      inspect: (name, o) => this.inspectNetwork(name, o),
      list: (filter, o) => this.listNetworks(filter, o),
      delete: (name, o) => this.deleteNetwork(name, o),
      connect: (network, node, o) => this.connectNetwork(network, node, o),
      disconnect: (network, node, o) => this.disconnectNetwork(network, node, o),
    };
    this.volumes = {
      ensure: (spec, o) => this.ensureVolume(spec, o),
      delete: (name, o) => this.deleteVolume(name, o),
      inspect: (name, o) => this.inspectVolume(name, o),
      list: (filter, o) => this.listVolumes(filter, o),
    };
    this.nodes = {
      create: (spec, o) => this.createNode(spec, o),
      start: (name, o) => this.startNode(name, o),
      stop: (name, o) => this.stopNode(name, o),
      delete: (name, o) => this.deleteNode(name, o),
      list: (filter, o) => this.listNodes(filter, o),
      inspect: (name, o) => this.inspectNode(name, o),
      exec: (name, cmd, o) => this.exec(name, cmd, o),
      logs: (name, o) => this.logs(name, o),
      writeFile: (name, path, content, o) => this.writeFile(name, path, content, o),
      readFile: (name, path, o) => this.readFile(name, path, o),
    };
    this.images = {
      exists: (ref, o) => this.imageExists(ref, o),
      inspect: (ref, o) => this.imageInspect(ref, o),
      pull: (ref, o) => this.pull(ref, o),
      save: (refs, o) => this.save(refs, o),
      load: (archive, o) => this.load(archive, o),
    };
  }

  /** Runs one engine call with abort handling and error translation. */
  private async call<T>(subject: Subject, action: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    throwIfAborted(signal, `docker ${action}`);
    try {
      return await fn();
    } catch (err) {
      if (isK3tsError(err)) throw err;
      if (isAbort(err, signal)) throw abortedError(signal, `docker ${action}`);
      throw translateError(err, subject, action);
    }
  }

  async info(options: CallOptions = {}): Promise<RuntimeInfo> {
    const signal = options.signal;
    return this.call({ kind: "engine" }, "info", signal, async () => {
      const [info, version] = await Promise.all([
        loose<Record<string, unknown>>(this.docker, "info", sig(signal)),
        loose<Record<string, unknown>>(this.docker, "version", sig(signal)),
      ]);
      return toRuntimeInfo(info, version, this.endpoint.url);
    });
  }

  // ------------------------------------------------------------------ networks

  private async ensureNetwork(spec: NetworkSpec, options: CallOptions = {}): Promise<{ network: NetworkInfo; created: boolean }> {
    const { signal } = options;
    const existing = await this.inspectNetwork(spec.name, options).catch((err: unknown) => {
      if (isK3tsError(err, "NETWORK_NOT_FOUND")) return undefined;
      throw err;
    });
    if (existing) return { network: existing, created: false };
    const lost = await this.call({ kind: "network", name: spec.name }, "create network", signal, async () => {
      await this.docker.createNetwork({
        Name: spec.name,
        CheckDuplicate: true,
        Driver: "bridge",
        Labels: spec.labels ?? {},
        Options: { "com.docker.network.bridge.enable_ip_masquerade": "true" },
        ...(spec.subnet ? { IPAM: { Driver: "default", Config: [{ Subnet: spec.subnet, Gateway: gatewayFor(spec.subnet) }] } } : {}),
        ...sig(signal),
      } as Docker.NetworkCreateOptions);
      return false;
    }).catch((err: unknown) => {
      // CheckDuplicate: another caller made it between our look and our create (a lost race): it exists, not ours.
      if (isK3tsError(err, "NETWORK_IN_USE")) return true;
      throw err;
    });
    return { network: await this.inspectNetwork(spec.name, options), created: !lost };
  }

  private inspectNetwork(name: string, options: CallOptions = {}): Promise<NetworkInfo> {
    return this.call({ kind: "network", name }, "inspect network", options.signal, async () =>
      fromNetworkInspect(await loose<Docker.NetworkInspectInfo>(this.docker.getNetwork(name), "inspect", sig(options.signal))),
    );
  }

  /** The engine's network list holds no containers: each network is inspected, as networks.inspect reports it. */
  private listNetworks(filter: LabelFilter = {}, options: CallOptions = {}): Promise<NetworkInfo[]> {
    return this.call({ kind: "engine" }, "list networks", options.signal, async () => {
      const summaries = await this.docker.listNetworks({ filters: { label: labelFilters(filter.labels) }, ...sig(options.signal) });
      const networks = await Promise.all(
        summaries.map((n) =>
          loose<Docker.NetworkInspectInfo>(this.docker.getNetwork(n.Id), "inspect", sig(options.signal)).then(fromNetworkInspect, (err: unknown) => {
            if ((err as { statusCode?: number }).statusCode === 404) return undefined; // removed meanwhile
            throw err;
          }),
        ),
      );
      return networks.filter((n): n is NetworkInfo => n !== undefined).sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  private async deleteNetwork(name: string, options: CallOptions = {}): Promise<void> {
    await this.call({ kind: "network", name }, "delete network", options.signal, async () => {
      // Resolve the exact name first: the engine would also accept an ID prefix.
      const info = await loose<Docker.NetworkInspectInfo>(this.docker.getNetwork(name), "inspect", sig(options.signal));
      if (info.Name !== name) throw new K3tsError("NETWORK_NOT_FOUND", `network ${name} not found (the engine matched ${info.Name} by ID prefix)`, { meta: { runtime: "docker", network: name } });
      // Docker removes a network that only stopped or created containers are on (they then fail to start);
      // the contract refuses while any node is attached, whatever its state, as Podman does.
      // A container that never ran matches by network name only (it has no endpoint, so no network id yet).
      const attached = await this.docker.listContainers({ all: true, filters: { network: [info.Name, info.Id] }, ...sig(options.signal) });
      if (attached.length > 0) {
        const nodes = attached.map((c) => (c.Names?.[0] ?? c.Id).replace(/^\//, ""));
        throw new K3tsError("NETWORK_IN_USE", `network ${name} still has nodes attached: ${nodes.join(", ")}`, { meta: { runtime: "docker", network: name, nodes } });
      }
      await this.docker.getNetwork(info.Id).remove(sig(options.signal));
    });
  }

  private async connectNetwork(network: string, node: string, options: CallOptions & { aliases?: string[]; ipv4?: string } = {}): Promise<void> {
    await this.inspectNetwork(network, options);
    await this.call({ kind: "node", name: node }, "connect", options.signal, () =>
      this.docker.getNetwork(network).connect({
        Container: node,
        EndpointConfig: {
          ...(options.aliases?.length ? { Aliases: options.aliases } : {}),
          ...(options.ipv4 ? { IPAMConfig: { IPv4Address: options.ipv4 } } : {}),
        },
        ...sig(options.signal),
      }),
    );
  }

  private async disconnectNetwork(network: string, node: string, options: CallOptions = {}): Promise<void> {
    await this.inspectNetwork(network, options);
    await this.call({ kind: "node", name: node }, "disconnect", options.signal, () =>
      this.docker.getNetwork(network).disconnect({ Container: node, Force: true, ...sig(options.signal) }),
    );
  }

  // ------------------------------------------------------------------ volumes

  private async ensureVolume(spec: VolumeSpec, options: CallOptions = {}): Promise<{ volume: VolumeInfo; created: boolean }> {
    const { signal } = options;
    const subject: Subject = { kind: "volume", name: spec.name };
    const existing = await this.call(subject, "inspect volume", signal, () =>
      this.docker.getVolume(spec.name).inspect(sig(signal)),
    ).catch((err: unknown) => {
      if (isK3tsError(err, "VOLUME_NOT_FOUND")) return undefined;
      throw err;
    });
    if (existing) return { volume: fromVolumeInspect(existing), created: false };
    const created = await this.call(subject, "create volume", signal, () =>
      this.docker.createVolume({ Name: spec.name, Labels: spec.labels ?? {}, ...sig(signal) }),
    );
    return { volume: fromVolumeInspect(created as unknown as { Name: string; Labels?: Record<string, string> }), created: true };
  }

  private async deleteVolume(name: string, options: CallOptions = {}): Promise<void> {
    await this.call({ kind: "volume", name }, "delete volume", options.signal, () =>
      this.docker.getVolume(name).remove(sig(options.signal)),
    );
  }

  private inspectVolume(name: string, options: CallOptions = {}): Promise<VolumeInfo> {
    return this.call({ kind: "volume", name }, "inspect volume", options.signal, async () =>
      fromVolumeInspect(await this.docker.getVolume(name).inspect(sig(options.signal))),
    );
  }

  private listVolumes(filter: LabelFilter = {}, options: CallOptions = {}): Promise<VolumeInfo[]> {
    return this.call({ kind: "engine" }, "list volumes", options.signal, async () => {
      const res = await this.docker.listVolumes({ filters: { label: labelFilters(filter.labels) }, ...sig(options.signal) });
      return (res.Volumes ?? []).map(fromVolumeInspect).sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  // ------------------------------------------------------------------ nodes

  #traits?: Promise<DaemonTraits>;

  /** What of the daemon shapes creates (read once per runtime). */
  private daemonTraits(options: CallOptions): Promise<DaemonTraits> {
    this.#traits ??= this.call({ kind: "engine" }, "info", options.signal, async () => daemonTraits((await this.docker.info()) as DockerInfo));
    this.#traits.catch(() => (this.#traits = undefined));
    return this.#traits;
  }

  private async createNode(spec: NodeSpec, options: CallOptions = {}): Promise<Node> {
    const { signal } = options;
    // Docker accepts a missing network at create time and fails only at start: check it up front, after
    // the image (the contract's order: image, then network, then the name, which the engine checks last).
    if (spec.network) {
      if (!(await this.imageExists(spec.image, options))) {
        throw new K3tsError("IMAGE_NOT_FOUND", `the image of node ${spec.name} is not present in the engine: ${spec.image}`, { meta: { runtime: "docker", image: spec.image } });
      }
      await this.inspectNetwork(spec.network.name, options);
    }
    const daemon = spec.privileged ? await this.daemonTraits(options) : {};
    await this.call({ kind: "node", name: spec.name }, "create", signal, () =>
      this.docker.createContainer({ ...toCreateOptions(spec, daemon), ...sig(signal) }),
    );
    return this.inspectNode(spec.name, options);
  }

  private inspectNode(name: string, options: CallOptions = {}): Promise<Node> {
    return this.call({ kind: "node", name }, "inspect", options.signal, async () =>
      fromContainerInspect(await this.container(name).inspect(sig(options.signal))),
    );
  }

  /** A container handle by exact name (the engine would also match an ID prefix). */
  private container(name: string): Docker.Container {
    return this.docker.getContainer(name);
  }

  private async startNode(name: string, options: CallOptions = {}): Promise<void> {
    await this.call({ kind: "node", name }, "start", options.signal, async () => {
      try {
        await this.container(name).start(sig(options.signal));
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 304) return; // already running
        throw err;
      }
    });
  }

  private async stopNode(name: string, options: StopOptions = {}): Promise<void> {
    await this.call({ kind: "node", name }, "stop", options.signal, async () => {
      try {
        await this.container(name).stop({
          ...(options.timeoutSeconds !== undefined ? { t: options.timeoutSeconds } : {}),
          ...sig(options.signal),
        });
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 304) return; // already stopped
        throw err;
      }
    });
  }

  private async deleteNode(name: string, options: DeleteOptions = {}): Promise<void> {
    await this.call({ kind: "node", name }, "delete", options.signal, () =>
      this.container(name).remove({ force: options.force ?? true, v: true, ...sig(options.signal) }),
    );
  }

  private listNodes(filter: LabelFilter = {}, options: CallOptions = {}): Promise<Node[]> {
    return this.call({ kind: "engine" }, "list", options.signal, async () => {
      const summaries = await this.docker.listContainers({
        all: true,
        filters: { label: labelFilters(filter.labels) },
        ...sig(options.signal),
      });
      const nodes = await Promise.all(
        summaries.map((s) =>
          this.docker
            .getContainer(s.Id)
            .inspect(sig(options.signal))
            .then(fromContainerInspect, (err: unknown) => {
              if ((err as { statusCode?: number }).statusCode === 404) return undefined; // removed meanwhile
              throw err;
            }),
        ),
      );
      return nodes.filter((n): n is Node => n !== undefined).sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  private async exec(name: string, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const { signal } = options;
    const subject: Subject = { kind: "node", name };
    const exec = await this.call(subject, "exec", signal, () =>
      this.container(name).exec({
        Cmd: command,
        AttachStdout: true,
        AttachStderr: true,
        AttachStdin: options.stdin !== undefined,
        Tty: false,
        ...(options.env ? { Env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`) } : {}),
        ...(options.workdir ? { WorkingDir: options.workdir } : {}),
        ...(options.user ? { User: options.user } : {}),
        ...sig(signal),
      }),
    );
    const stream = (await this.call(subject, "exec", signal, () =>
      exec.start({ hijack: true, stdin: options.stdin !== undefined, ...sig(signal) }),
    )) as Duplex;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    await this.pumpExec(stream, options, out, err, signal);
    const inspected = await this.call(subject, "exec", signal, () => exec.inspect(sig(signal)));
    return { exitCode: inspected.ExitCode ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  }

  /** Feeds stdin to a hijacked exec stream and splits its output until it ends. */
  private pumpExec(stream: Duplex, options: ExecOptions, out: Buffer[], err: Buffer[], signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const decoder = new FrameDecoder();
      let waiting = 0;
      const sinks = { stdout: options.stdout, stderr: options.stderr };
      const onAbort = () => {
        stream.destroy();
        reject(abortedError(signal, "docker exec"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = (error?: Error) => {
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve();
      };
      stream.on("data", (chunk: Buffer) => {
        for (const frame of decoder.push(chunk)) {
          const sink = sinks[frame.stream];
          if (!sink) (frame.stream === "stdout" ? out : err).push(Buffer.from(frame.data));
          else if (!sink.write(frame.data)) {
            // Backpressure: pause the engine's stream until the sink drains.
            waiting++;
            stream.pause();
            sink.once("drain", () => {
              if (--waiting === 0) stream.resume();
            });
          }
        }
      });
      stream.on("end", () => done());
      stream.on("close", () => done());
      stream.on("error", (e) => done(signal?.aborted ? abortedError(signal, "docker exec") : e));
      const input = options.stdin;
      if (input === undefined) return;
      const source = typeof input === "string" || input instanceof Uint8Array ? Readable.from([Buffer.from(input)]) : input;
      source.on("error", (e) => done(e));
      source.pipe(
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            if (stream.write(chunk)) cb();
            else stream.once("drain", () => cb());
          },
          final(cb) {
            // Half-close: the process sees EOF on stdin while we keep reading its output.
            stream.end();
            cb();
          },
        }),
      );
    });
  }

  private async *logs(name: string, options: LogOptions = {}): AsyncIterable<LogChunk> {
    const { signal } = options;
    const subject: Subject = { kind: "node", name };
    const base = {
      stdout: true,
      stderr: true,
      ...(options.since ? { since: Math.floor(new Date(options.since).getTime() / 1000) } : {}),
      ...(options.tail !== undefined ? { tail: options.tail } : {}),
      ...sig(signal),
    };
    if (!options.follow) {
      const buf = (await this.call(subject, "logs", signal, () =>
        this.container(name).logs({ ...base, follow: false }),
      )) as unknown as Buffer;
      yield* decodeFrames(Buffer.isBuffer(buf) ? buf : Buffer.from(buf));
      return;
    }
    const stream = (await this.call(subject, "logs", signal, () =>
      this.container(name).logs({ ...base, follow: true }),
    )) as unknown as Readable;
    const decoder = new FrameDecoder();
    try {
      for await (const chunk of stream) yield* decoder.push(chunk as Buffer);
    } catch (err) {
      if (isAbort(err, signal)) throw abortedError(signal, "docker logs");
      throw translateError(err, subject, "logs");
    } finally {
      stream.destroy();
    }
    if (signal?.aborted) throw abortedError(signal, "docker logs");
  }

  private async writeFile(name: string, path: string, content: string | Uint8Array, options: WriteFileOptions = {}): Promise<void> {
    const archive = await packFile(path, content, options.mode ?? 0o644);
    await this.call({ kind: "node", name }, "write file", options.signal, () =>
      this.container(name).putArchive(archive, { path: "/", ...sig(options.signal) }),
    );
  }

  private async readFile(name: string, path: string, options: CallOptions = {}): Promise<Buffer> {
    const subject: Subject = { kind: "file", name: path, node: name };
    const archive = await this.call(subject, "read file", options.signal, async () => {
      // Distinguish a missing node from a missing file before asking for the archive.
      await this.inspectNode(name, options);
      return (await this.container(name).getArchive({ path, ...sig(options.signal) })) as unknown as Readable;
    });
    const file = await extractFirstFile(archive);
    if (!file) throw new K3tsError("FILE_NOT_FOUND", `${path} in node ${name} is not a regular file`, { meta: { node: name, path } });
    return file.content;
  }

  // ------------------------------------------------------------------ images

  private async imageExists(ref: string, options: CallOptions = {}): Promise<boolean> {
    return this.call({ kind: "image", name: ref }, "inspect image", options.signal, async () => {
      try {
        await this.docker.getImage(ref).inspect(sig(options.signal));
        return true;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return false;
        throw err;
      }
    });
  }

  /** The engine's image ID (`Id`, `sha256:<hex>`); a 404 is IMAGE_NOT_FOUND. */
  private async imageInspect(ref: string, options: CallOptions = {}): Promise<ImageInfo> {
    const info = await this.call({ kind: "image", name: ref }, "inspect image", options.signal, () => this.docker.getImage(ref).inspect(sig(options.signal)));
    return { id: info.Id };
  }

  private async pull(ref: string, options: PullOptions = {}): Promise<void> {
    const { signal } = options;
    const fail = (err: unknown): K3tsError =>
      new K3tsError("IMAGE_PULL_FAILED", `pulling ${ref} failed: ${(err as Error).message ?? String(err)}`, {
        meta: { runtime: "docker", image: ref },
        cause: err,
      });
    const stream = await this.call({ kind: "image", name: ref }, "pull", signal, async () => {
      try {
        return (await this.docker.pull(ref, sig(signal))) as Readable;
      } catch (err) {
        if (isAbort(err, signal)) throw err;
        throw fail(err);
      }
    });
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        stream.destroy();
        reject(abortedError(signal, "docker pull"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => {
          signal?.removeEventListener("abort", onAbort);
          if (signal?.aborted) return;
          if (err) reject(fail(err));
          else resolve();
        },
        (event: { id?: string; status?: string; error?: string; progressDetail?: { current?: number; total?: number } }) => {
          if (event.error) return; // reported through the finish callback
          options.onProgress?.({
            status: event.status ?? "",
            ...(event.id ? { id: event.id } : {}),
            ...(event.progressDetail?.current !== undefined ? { current: event.progressDetail.current } : {}),
            ...(event.progressDetail?.total !== undefined ? { total: event.progressDetail.total } : {}),
          });
        },
      );
    });
  }

  private async save(refs: string[], options: CallOptions = {}): Promise<Readable> {
    for (const ref of refs) {
      if (!(await this.imageExists(ref, options))) {
        throw new K3tsError("IMAGE_NOT_FOUND", `image ${ref} is not present in the engine`, { meta: { runtime: "docker", image: ref } });
      }
    }
    return this.call({ kind: "image", name: refs.join(" ") }, "save", options.signal, async () =>
      await loose<Readable>(this.docker, "getImages", { names: refs, ...sig(options.signal) }),
    );
  }

  private async load(archive: Readable, options: CallOptions = {}): Promise<string[]> {
    const response = (await this.call({ kind: "engine" }, "load", options.signal, () =>
      this.docker.loadImage(archive, { quiet: true, ...sig(options.signal) }),
    )) as unknown as Readable;
    let body = "";
    for await (const chunk of response) body += chunk.toString();
    const refs: string[] = [];
    for (const line of body.split("\n").filter(Boolean)) {
      let msg: { stream?: string; error?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        continue;
      }
      if (msg.error) throw new K3tsError("RUNTIME_ERROR", `docker load failed: ${msg.error}`, { meta: { runtime: "docker" } });
      const m = /Loaded image(?: ID)?: (\S+)/.exec(msg.stream ?? "");
      if (m?.[1]) refs.push(m[1]);
    }
    return refs;
  }

  async close(): Promise<void> {
    // dockerode keeps no pooled connections of its own on unix sockets; nothing to release.
  }
}
