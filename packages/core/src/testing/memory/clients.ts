/** The Runtime's clients (networks, volumes, nodes, images) over the memory engine, with the contract's errors. */
import { Readable } from "node:stream";
import { K3tsError, raceAbort, throwIfAborted } from "../../errors.js";
import { matchesLabels } from "../../labels.js";
import type { CallOptions, DeleteOptions, ExecOptions, ExecResult, ImageClient, ImageInfo, LogChunk, LogOptions, NetworkClient, NodeClient, PullOptions, StopOptions, VolumeClient, WriteFileOptions } from "../../runtime.js";
import type { LabelFilter, NetworkInfo, NetworkSpec, Node, NodeSpec, VolumeInfo, VolumeSpec } from "../../types.js";
import type { MemoryEngine } from "./engine.js";
import { FsError } from "./fs.js";
import { type MemoryImage, dockerSaveArchive, normalizeRef, readDockerSave } from "./images.js";
import { type MemoryNetwork, type MemoryVolume, overlaps, parseSubnet } from "./network.js";
import { absolutePath, newId, toBuffer, validateName } from "./util.js";

function networkInfo(engine: MemoryEngine, network: MemoryNetwork): NetworkInfo {
  return {
    id: network.id,
    name: network.name,
    labels: { ...network.labels },
    subnet: network.subnet.cidr,
    gateway: network.subnet.gateway,
    members: engine
      .members(network.name)
      .filter((n) => n.state === "running")
      .map((n) => ({ name: n.name, ipv4: n.attachments.get(network.name)?.ipv4 })),
  };
}

const volumeInfo = (v: MemoryVolume): VolumeInfo => ({ name: v.name, labels: { ...v.labels }, createdAt: v.createdAt });

export class MemoryNetworks implements NetworkClient {
  constructor(private readonly engine: MemoryEngine) {}

  async ensure(spec: NetworkSpec, options: CallOptions = {}): Promise<{ network: NetworkInfo; created: boolean }> {
    this.engine.guard(options.signal);
    validateName("network", spec.name);
    const existing = this.engine.networks.get(spec.name);
    if (existing) return { network: networkInfo(this.engine, existing), created: false };
    const subnet = spec.subnet ? parseSubnet(spec.subnet) : this.engine.freeSubnet();
    const clash = [...this.engine.networks.values()].find((n) => overlaps(n.subnet, subnet));
    if (clash) {
      throw new K3tsError("RUNTIME_ERROR", `subnet ${subnet.cidr} overlaps ${clash.subnet.cidr} of network ${clash.name}`, { meta: { network: spec.name } });
    }
    const network: MemoryNetwork = { id: newId(), name: spec.name, labels: { ...spec.labels }, subnet, explicitSubnet: spec.subnet !== undefined };
    this.engine.networks.set(spec.name, network);
    return { network: networkInfo(this.engine, network), created: true };
  }

  async inspect(name: string, options: CallOptions = {}): Promise<NetworkInfo> {
    this.engine.guard(options.signal);
    return networkInfo(this.engine, this.engine.network(name));
  }

  async list(filter: LabelFilter = {}, options: CallOptions = {}): Promise<NetworkInfo[]> {
    this.engine.guard(options.signal);
    return [...this.engine.networks.values()].filter((n) => matchesLabels(n.labels, filter.labels)).map((n) => networkInfo(this.engine, n));
  }

  async delete(name: string, options: CallOptions = {}): Promise<void> {
    this.engine.guard(options.signal);
    this.engine.network(name);
    const members = this.engine.members(name).map((n) => n.name);
    if (members.length > 0) {
      throw new K3tsError("NETWORK_IN_USE", `network ${name} has nodes attached: ${members.join(", ")}`, { meta: { network: name, members } });
    }
    this.engine.networks.delete(name);
  }

  async connect(network: string, node: string, options: CallOptions & { aliases?: string[]; ipv4?: string } = {}): Promise<void> {
    this.engine.guard(options.signal);
    this.engine.attach(this.engine.network(network), this.engine.node(node), options);
  }

  async disconnect(network: string, node: string, options: CallOptions = {}): Promise<void> {
    this.engine.guard(options.signal);
    this.engine.network(network);
    if (!this.engine.node(node).attachments.delete(network)) {
      throw new K3tsError("RUNTIME_ERROR", `node ${node} is not connected to network ${network}`, { meta: { node, network } });
    }
  }
}

export class MemoryVolumes implements VolumeClient {
  constructor(private readonly engine: MemoryEngine) {}

  async ensure(spec: VolumeSpec, options: CallOptions = {}): Promise<{ volume: VolumeInfo; created: boolean }> {
    this.engine.guard(options.signal);
    const { volume, created } = this.engine.ensureVolume(spec.name, spec.labels ?? {});
    return { volume: volumeInfo(volume), created };
  }

  async delete(name: string, options: CallOptions = {}): Promise<void> {
    this.engine.guard(options.signal);
    if (!this.engine.volumes.has(name)) throw new K3tsError("VOLUME_NOT_FOUND", `volume ${name} not found`, { meta: { volume: name } });
    const users = [...this.engine.nodes.values()]
      .filter((n) => (n.spec.volumes ?? []).some((m) => m.type === "volume" && m.source === name))
      .map((n) => n.name);
    if (users.length > 0) {
      throw new K3tsError("VOLUME_IN_USE", `volume ${name} is mounted by ${users.join(", ")}`, { meta: { volume: name, nodes: users } });
    }
    this.engine.volumes.delete(name);
  }

  async inspect(name: string, options: CallOptions = {}): Promise<VolumeInfo> {
    this.engine.guard(options.signal);
    const volume = this.engine.volumes.get(name);
    if (!volume) throw new K3tsError("VOLUME_NOT_FOUND", `volume ${name} not found`, { meta: { volume: name } });
    return volumeInfo(volume);
  }

  async list(filter: LabelFilter = {}, options: CallOptions = {}): Promise<VolumeInfo[]> {
    this.engine.guard(options.signal);
    return [...this.engine.volumes.values()].filter((v) => matchesLabels(v.labels, filter.labels)).map(volumeInfo);
  }
}

export class MemoryNodes implements NodeClient {
  constructor(private readonly engine: MemoryEngine) {}

  async create(spec: NodeSpec, options: CallOptions = {}): Promise<Node> {
    this.engine.guard(options.signal);
    return this.engine.createNode(spec).toNode();
  }

  async start(name: string, options: CallOptions = {}): Promise<void> {
    this.engine.guard(options.signal);
    await this.engine.node(name).start();
  }

  /** Every emulated process exits on SIGTERM, so `timeoutSeconds` never comes into play. */
  async stop(name: string, options: StopOptions = {}): Promise<void> {
    this.engine.guard(options.signal);
    await this.engine.node(name).stop();
  }

  async delete(name: string, options: DeleteOptions = {}): Promise<void> {
    this.engine.guard(options.signal);
    await this.engine.deleteNode(name, options.force ?? true);
  }

  async list(filter: LabelFilter = {}, options: CallOptions = {}): Promise<Node[]> {
    this.engine.guard(options.signal);
    return [...this.engine.nodes.values()].filter((n) => matchesLabels(n.spec.labels ?? {}, filter.labels)).map((n) => n.toNode());
  }

  async inspect(name: string, options: CallOptions = {}): Promise<Node> {
    this.engine.guard(options.signal);
    return this.engine.node(name).toNode();
  }

  /** `user` is ignored: the emulation has one user. */
  async exec(name: string, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.engine.guard(options.signal);
    return this.engine.node(name).exec(command, options);
  }

  async *logs(name: string, options: LogOptions = {}): AsyncGenerator<LogChunk> {
    const { signal, follow = false } = options;
    this.engine.guard(signal);
    const node = this.engine.node(name);
    const since = options.since === undefined ? undefined : new Date(options.since).getTime();
    if (Number.isNaN(since)) throw new K3tsError("INVALID_ARGUMENT", `invalid since ${String(options.since)}`);
    let cursor = node.log.startIndex(options.tail, since);
    for (;;) {
      for (let line = node.log.lines[cursor]; line; line = node.log.lines[++cursor]) {
        yield { stream: line.stream, data: Buffer.from(line.data) };
        throwIfAborted(signal, "following logs");
      }
      if (!follow || !node.running || !this.engine.nodes.has(name)) return;
      await node.log.changed(signal);
    }
  }

  async writeFile(name: string, path: string, content: string | Uint8Array, options: WriteFileOptions = {}): Promise<void> {
    this.engine.guard(options.signal);
    const node = this.engine.node(name);
    const target = absolutePath(path);
    try {
      node.fs.write(target, toBuffer(content), options.mode ?? 0o644);
    } catch (err) {
      throw fileError(err, name, target);
    }
  }

  async readFile(name: string, path: string, options: CallOptions = {}): Promise<Buffer> {
    this.engine.guard(options.signal);
    const node = this.engine.node(name);
    const target = absolutePath(path);
    try {
      return Buffer.from(node.fs.read(target).content);
    } catch (err) {
      throw fileError(err, name, target);
    }
  }
}

function fileError(err: unknown, node: string, path: string): unknown {
  if (!(err instanceof FsError)) return err;
  const meta = { node, path };
  if (err.kind === "ENOENT") return new K3tsError("FILE_NOT_FOUND", `${path} not found in node ${node}`, { meta });
  if (err.kind === "EROFS") return new K3tsError("RUNTIME_ERROR", `${path} in node ${node} is on a read-only mount`, { meta });
  return new K3tsError("INVALID_ARGUMENT", `${path} in node ${node}: ${err.message}`, { meta });
}

export class MemoryImages implements ImageClient {
  constructor(private readonly engine: MemoryEngine) {}

  async exists(ref: string, options: CallOptions = {}): Promise<boolean> {
    this.engine.guard(options.signal);
    return this.engine.images.has(normalizeRef(ref));
  }

  async pull(ref: string, options: PullOptions = {}): Promise<void> {
    this.engine.guard(options.signal);
    throw new K3tsError("IMAGE_PULL_FAILED", `cannot pull ${ref}: the memory runtime has no registry`, {
      meta: { image: ref },
      hint: "list the image in createMemoryRuntime({ images }) or images.load() a docker save archive",
    });
  }

  async inspect(ref: string, options: CallOptions = {}): Promise<ImageInfo> {
    this.engine.guard(options.signal);
    const image = await this.engine.image(ref);
    if (!image) throw new K3tsError("IMAGE_NOT_FOUND", `image ${ref} not found`, { meta: { image: ref } });
    return { id: image.id };
  }

  async save(refs: string[], options: CallOptions = {}): Promise<Readable> {
    this.engine.guard(options.signal);
    if (refs.length === 0) throw new K3tsError("INVALID_ARGUMENT", "save needs at least one image");
    const missing = refs.filter((ref) => !this.engine.images.has(normalizeRef(ref)));
    if (missing.length > 0) throw new K3tsError("IMAGE_NOT_FOUND", `image ${missing.join(", ")} not found`, { meta: { images: missing } });
    // One entry per image, with every name it was asked by (docker save does the same).
    const byId = new Map<string, { image: MemoryImage; tags: string[] }>();
    for (const ref of new Set(refs)) {
      const image = (await this.engine.image(ref))!;
      const entry = byId.get(image.id) ?? { image, tags: [] };
      entry.tags.push(ref);
      byId.set(image.id, entry);
    }
    return Readable.from([await dockerSaveArchive([...byId.values()])], { objectMode: false });
  }

  async load(archive: Readable, options: CallOptions = {}): Promise<string[]> {
    this.engine.guard(options.signal);
    const loaded = await raceAbort(readDockerSave(archive), options.signal, "loading images");
    for (const { image, reported } of loaded) for (const name of reported) this.engine.images.set(normalizeRef(name), image);
    return loaded.flatMap((l) => l.reported);
  }
}
