/** The memory engine: every node, network, volume and image of one memory runtime, and the rules between them (names, in-use refusals, DNS by name on a common network). */
import { posix } from "node:path";
import { K3tsError, throwIfAborted } from "../../errors.js";
import type { NetworkAttachment, NodeSpec } from "../../types.js";
import { type FileStore, type Mount, NodeFs } from "./fs.js";
import { serveFile } from "./http.js";
import { type MemoryImage, madeUpImage, normalizeRef } from "./images.js";
import { type MemoryNetwork, type MemoryVolume, type Subnet, intToIp, ipToInt, overlaps, parseSubnet } from "./network.js";
import type { Socket } from "node:net";
import { type ImagePrograms, MemoryNode, effectiveCapabilities, nodeCommand, validateMounts } from "./node.js";
import type { HttpGetResult } from "./programs.js";
import { absolutePath, validateName } from "./util.js";

/** All state of one memory runtime, shared by its clients. */
/** PID 1 of the host the memory engine plays, as a node in its PID namespace sees it. */
const HOST_INIT = "/sbin/init";

export class MemoryEngine {
  closed = false;
  /** Images by normalised reference; an image given at the start is made up on first use. */
  readonly images = new Map<string, MemoryImage | undefined>();
  /** What images bring besides their files (their own programs), by normalised reference. */
  readonly imagePrograms = new Map<string, ImagePrograms>();

  /** The image a reference names (made up when it was given at the start), or undefined. */
  async image(ref: string): Promise<MemoryImage | undefined> {
    const key = normalizeRef(ref);
    if (!this.images.has(key)) return undefined;
    const held = this.images.get(key) ?? (await madeUpImage(key));
    this.images.set(key, held);
    return held;
  }
  readonly nodes = new Map<string, MemoryNode>();
  readonly networks = new Map<string, MemoryNetwork>();
  readonly volumes = new Map<string, MemoryVolume>();
  /** Bind-mount sources: the "host" paths, in memory too. */
  private readonly hostPaths = new Map<string, FileStore>();

  constructor(readonly name: string) {}

  /** First thing every call does: honour the signal, refuse once closed. */
  guard(signal: AbortSignal | undefined, what?: string): void {
    throwIfAborted(signal, what);
    if (this.closed) throw new K3tsError("RUNTIME_UNAVAILABLE", `the ${this.name} runtime is closed`);
  }

  node(name: string): MemoryNode {
    const node = this.nodes.get(name);
    if (!node) throw new K3tsError("NODE_NOT_FOUND", `node ${name} not found`, { meta: { node: name } });
    return node;
  }

  network(name: string): MemoryNetwork {
    const network = this.networks.get(name);
    if (!network) throw new K3tsError("NETWORK_NOT_FOUND", `network ${name} not found`, { meta: { network: name } });
    return network;
  }

  members(network: string): MemoryNode[] {
    return [...this.nodes.values()].filter((n) => n.attachments.has(network));
  }

  createNode(spec: NodeSpec): MemoryNode {
    validateName("node", spec.name);
    // What the node needs is looked up before its name is claimed: the image, then the network, then the name.
    if (!this.images.has(normalizeRef(spec.image))) {
      throw new K3tsError("IMAGE_NOT_FOUND", `image ${spec.image} not found`, {
        meta: { image: spec.image },
        hint: "the memory runtime has no registry: list the image in createMemoryRuntime({ images }) or images.load() it",
      });
    }
    const network = spec.network ? this.network(spec.network.name) : undefined;
    if (this.nodes.has(spec.name)) {
      throw new K3tsError("NODE_ALREADY_EXISTS", `node ${spec.name} already exists`, { meta: { node: spec.name } });
    }
    const ipv4 = network && spec.network ? this.address(network, spec.network.ipv4) : undefined;
    validateMounts(spec);
    const frozen = structuredClone(spec);
    const node = new MemoryNode(frozen, ...this.filesystem(frozen), this, this.imagePrograms.get(normalizeRef(spec.image)) ?? { programs: new Map() });
    if (network && ipv4) node.attachments.set(network.name, { ipv4, aliases: [...(spec.network?.aliases ?? [])] });
    this.nodes.set(spec.name, node);
    return node;
  }

  async deleteNode(name: string, force: boolean): Promise<void> {
    const node = this.node(name);
    if (node.running && !force) {
      throw new K3tsError("RUNTIME_ERROR", `node ${name} is running`, { meta: { node: name }, hint: "stop it first, or delete with force" });
    }
    await node.stop();
    this.nodes.delete(name);
    node.log.notify();
  }

  attach(network: MemoryNetwork, node: MemoryNode, attachment: Pick<NetworkAttachment, "aliases" | "ipv4">): void {
    if (node.attachments.has(network.name)) {
      throw new K3tsError("RUNTIME_ERROR", `node ${node.name} is already connected to network ${network.name}`, { meta: { node: node.name, network: network.name } });
    }
    node.attachments.set(network.name, { ipv4: this.address(network, attachment.ipv4), aliases: [...(attachment.aliases ?? [])] });
  }

  /** Resolves `host` from `from` the way the engine's DNS would, and asks that node's httpd. */
  httpGet(from: MemoryNode, host: string, port: number, path: string): HttpGetResult {
    const target = this.resolve(from, host);
    if (!target) return ipToInt(host) === undefined ? { kind: "bad-address" } : { kind: "refused", ip: host };
    const root = target.node.server(port);
    if (root === undefined) return { kind: "refused", ip: target.ip };
    return { kind: "reply", ip: target.ip, reply: serveFile(target.node.fs, root, "GET", path) };
  }

  /** The address `host` has from `from` (an address is itself). */
  resolveFrom(from: MemoryNode, host: string): string | undefined {
    return this.resolve(from, host)?.ip ?? (ipToInt(host) === undefined ? undefined : host);
  }

  /** Resolves `host` from `from` the way the engine's DNS would, and connects to that node's `port`. */
  async connect(from: MemoryNode, host: string, port: number): Promise<Socket> {
    const target = this.resolve(from, host);
    if (target) return target.node.connectTo(port, target.ip);
    if (ipToInt(host) === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND", hostname: host });
    throw Object.assign(new Error(`connect ECONNREFUSED ${host}:${port}`), { code: "ECONNREFUSED", address: host, port });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.nodes.values()].map((n) => n.stop()));
  }

  private resolve(from: MemoryNode, host: string): { node: MemoryNode; ip: string } | undefined {
    if (host === "localhost" || host === "127.0.0.1" || host === from.hostname) return { node: from, ip: "127.0.0.1" };
    for (const network of from.attachments.keys()) {
      for (const peer of this.members(network)) {
        const a = peer.attachments.get(network);
        if (a && peer.running && (peer.name === host || a.aliases.includes(host) || a.ipv4 === host)) return { node: peer, ip: a.ipv4 };
      }
    }
    return undefined;
  }

  /** The requested static address (checked), or the first free one after the gateway. */
  private address(network: MemoryNetwork, requested: string | undefined): string {
    const used = new Set(this.members(network.name).map((n) => n.attachments.get(network.name)?.ipv4));
    const { base, size, gateway } = network.subnet;
    if (requested === undefined) {
      for (let value = base + 2; value < base + size - 1; value++) if (!used.has(intToIp(value))) return intToIp(value);
      throw new K3tsError("RUNTIME_ERROR", `network ${network.name} has no free address`, { meta: { network: network.name } });
    }
    const value = ipToInt(requested);
    const meta = { network: network.name, ipv4: requested };
    if (!network.explicitSubnet) throw new K3tsError("INVALID_ARGUMENT", `a static address needs a network created with a subnet (${network.name} has none)`, { meta });
    if (value === undefined || value <= base || value >= base + size - 1 || requested === gateway) {
      throw new K3tsError("INVALID_ARGUMENT", `${requested} is not a usable address of ${network.subnet.cidr}`, { meta });
    }
    if (used.has(requested)) throw new K3tsError("RUNTIME_ERROR", `address ${requested} is already in use on ${network.name}`, { meta });
    return requested;
  }

  private filesystem(spec: NodeSpec): [NodeFs, FileStore[]] {
    const hosts = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"];
    const caps = effectiveCapabilities(spec);
    for (const alias of spec.extraHosts ?? []) hosts.push(`${alias.ip}\t${alias.hostnames.join(" ")}`);
    const root: FileStore = new Map([
      ["/etc/hostname", { content: Buffer.from(`${spec.hostname ?? spec.name}\n`), mode: 0o644 }],
      ["/etc/hosts", { content: Buffer.from(`${hosts.join("\n")}\n`), mode: 0o644 }],
      // What the kernel shows a process of the node: its capability sets (the engine's default set, all when privileged, plus capAdd).
      ["/proc/self/status", { content: Buffer.from(`Name:\tsh\nCapPrm:\t${caps}\nCapEff:\t${caps}\nCapBnd:\t${caps}\n`), mode: 0o444 }],
      // PID 1: the node's command, or with `init` the engine's init wrapping it (as docker-init and catatonit do); in
      // the host's PID namespace, the host's init.
      ["/proc/1/cmdline", { content: Buffer.from((spec.hostPid ? [HOST_INIT] : [...(spec.init ? ["/sbin/docker-init", "--"] : []), ...nodeCommand(spec)]).map((a) => `${a}\0`).join("")), mode: 0o444 }],
    ]);
    const mounts: Mount[] = (spec.volumes ?? []).map((m) => ({
      target: posix.normalize(m.target),
      store: m.type === "volume" ? this.ensureVolume(m.source, {}).volume.files : this.hostPath(m.source),
      readOnly: m.readOnly ?? false,
    }));
    const tmpfs = Object.keys(spec.tmpfs ?? {}).map((target) => ({ target: absolutePath(target), store: new Map(), readOnly: false }));
    return [new NodeFs(root, [...mounts, ...tmpfs]), tmpfs.map((t) => t.store)];
  }

  private hostPath(source: string): FileStore {
    const key = absolutePath(source);
    let store = this.hostPaths.get(key);
    if (!store) this.hostPaths.set(key, (store = new Map()));
    return store;
  }

  ensureVolume(name: string, labels: Record<string, string>): { volume: MemoryVolume; created: boolean } {
    validateName("volume", name);
    const existing = this.volumes.get(name);
    if (existing) return { volume: existing, created: false };
    const volume: MemoryVolume = { name, labels: { ...labels }, createdAt: new Date().toISOString(), files: new Map() };
    this.volumes.set(name, volume);
    return { volume, created: true };
  }

  /** A subnet in 10.89.0.0/16 that overlaps no other network's. */
  freeSubnet(): Subnet {
    for (let i = 0; i < 256; i++) {
      const candidate = parseSubnet(`10.89.${i}.0/24`);
      if (![...this.networks.values()].some((n) => overlaps(n.subnet, candidate))) return candidate;
    }
    throw new K3tsError("RUNTIME_ERROR", "no free subnet left for a new network");
  }
}
