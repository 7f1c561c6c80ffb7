/**
 * The in-memory Runtime: a fake container engine that keeps every node, network, volume and image in
 * this process. It passes the whole conformance kit, so it is both a fast stand-in for tests of code
 * that drives a Runtime (the sdk, the cli) and the reference plugin authors can read next to the
 * checks.
 *
 * What is emulated, and how faithfully:
 * - Nodes run a tiny busybox instead of their image: `sh` (a small POSIX-shell subset), `echo`, `cat`,
 *   `wc`, `sleep`, `stat`, `true`, `false`, `wget` and `httpd`. Any image the runtime knows runs them.
 *   Unsupported shell syntax or program options reject with `INVALID_ARGUMENT` naming the construct
 *   (for a node's own command, the message goes to its stderr log and it exits with 2); an unknown
 *   program exits 127 like a shell would.
 * - Every node has its own in-memory filesystem (directories are implicit); named volumes, bind
 *   sources and tmpfs mounts are separate stores mounted into it, so volumes are shared between nodes
 *   and read-only mounts refuse writes.
 * - Published ports are real: starting a node binds a TCP listener on the host that answers with the
 *   node's emulated `httpd`.
 * - Networks hand out addresses from their subnet; nodes on a common network resolve each other (by
 *   name, alias or address) for `wget`. Nodes without a network are on none (there is no default bridge).
 * - A network's members (in inspect) are its running nodes; delete refuses while any node is attached; exec ignores `user` (one user).
 * - Every process exits at once on `stop` with 143 (SIGTERM); processes an exec started and that the
 *   stop kills report 137. Restart policies restart a node that exits by itself after 100 ms.
 * - There is no registry: `pull` always fails; images come from the options or from `images.load`.
 *
 * Its parts, one file each: the filesystem (fs.ts), process I/O (io.ts), the programs (programs.ts) and the shell
 * that runs them (shell.ts), logs, published ports (http.ts), images, networks, nodes, the engine that holds them
 * all, and the Runtime's clients over it (clients.ts). The shell stays in the published `@k3ts/core/testing`:
 * without it a node has no command to run and `exec` nothing to execute, and the conformance kit, which plugin
 * authors run against this runtime as their reference, drives every node through `sh -c`.
 */
import { RUNTIME_API_VERSION, type CallOptions, type ImageClient, type NetworkClient, type NodeClient, type Runtime, type RuntimeCapabilities, type RuntimeInfo, type VolumeClient } from "../../runtime.js";
import { VERSION } from "../../version.js";
import { MemoryImages, MemoryNetworks, MemoryNodes, MemoryVolumes } from "./clients.js";
import { MemoryEngine } from "./engine.js";
import { ARCH, normalizeRef } from "./images.js";
import type { Program } from "./programs.js";
import { DEFAULT_IMAGES } from "./util.js";

/**
 * An image that brings programs of its own besides busybox's: an imitation of what the real image runs (k3s,
 * nginx; see `k3sImitation` and `nginxImitation`), for tests that drive a whole cluster without an engine.
 */
export interface MemoryImageBehaviour {
  /** The image's reference (held from the start, as a plain reference is). */
  ref: string;
  /** Programs by name, found (by name, or by path in a bin directory) before busybox's: by the node's command, by sh and by exec. */
  programs?: Record<string, Program>;
  /**
   * What a node of this image runs as its main process, given the node's whole command (entrypoint, then
   * arguments), in place of running that command: for start-ups the memory shell cannot play (k3ts's entrypoint
   * script ends in `exec /bin/k3s "$@"`; a k3s imitation takes its arguments from there).
   */
  main?: Program;
}

/** What a memory runtime starts with. */
export interface MemoryRuntimeOptions {
  /** Images the engine holds from the start, by reference or with programs of their own (default: `["k3ts-test/busybox:1"]`). */
  images?: Array<string | MemoryImageBehaviour>;
  /** The runtime's name, as `name` and `info().runtime` report it (default: "memory"). */
  name?: string;
  /** Capabilities `info()` reports over the defaults (to play an engine without container DNS, say), with their hints. */
  capabilities?: Partial<RuntimeCapabilities>;
  hints?: RuntimeInfo["hints"];
}

/** The in-memory {@link Runtime}; see the top of this file for what it emulates. */
export class MemoryRuntime implements Runtime {
  readonly name: string;
  readonly networks: NetworkClient;
  readonly volumes: VolumeClient;
  readonly nodes: NodeClient;
  readonly images: ImageClient;
  private readonly engine: MemoryEngine;
  readonly #options: MemoryRuntimeOptions;

  constructor(options: MemoryRuntimeOptions = {}) {
    this.#options = options;
    this.name = options.name ?? "memory";
    this.engine = new MemoryEngine(this.name);
    for (const image of options.images ?? DEFAULT_IMAGES) {
      const { ref, programs, main } = typeof image === "string" ? { ref: image } : image;
      this.engine.images.set(normalizeRef(ref), undefined);
      if (programs || main) this.engine.imagePrograms.set(normalizeRef(ref), { programs: new Map(Object.entries(programs ?? {})), ...(main ? { main } : {}) });
    }
    this.networks = new MemoryNetworks(this.engine);
    this.volumes = new MemoryVolumes(this.engine);
    this.nodes = new MemoryNodes(this.engine);
    this.images = new MemoryImages(this.engine);
  }

  async info(options: CallOptions = {}): Promise<RuntimeInfo> {
    this.engine.guard(options.signal);
    return {
      runtime: this.name,
      engine: { name: "k3ts-memory", version: VERSION, apiVersion: String(RUNTIME_API_VERSION) },
      endpoint: `memory://${this.name}`,
      os: "linux",
      arch: ARCH,
      capabilities: { privileged: true, rootless: false, cgroupVersion: undefined, memoryLimit: false, networkDns: true, hostGateway: false, ...this.#options.capabilities },
      ...(this.#options.hints ? { hints: this.#options.hints } : {}),
    };
  }

  /** Stops every node (closing its host ports and timers); later calls fail with RUNTIME_UNAVAILABLE. Idempotent. */
  async close(): Promise<void> {
    await this.engine.close();
  }
}

export function createMemoryRuntime(options: MemoryRuntimeOptions = {}): MemoryRuntime {
  return new MemoryRuntime(options);
}
