/** A memory node: its spec, filesystem, main process and execs, restart policy, published ports and state. */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { connect as tcpConnect, type Socket } from "node:net";
import { K3tsError, abortedError } from "../../errors.js";
import type { ExecOptions, ExecResult } from "../../runtime.js";
import type { Node, NodeSpec, NodeState, PortMapping, PublishedPort, RestartPolicy } from "../../types.js";
import type { MemoryEngine } from "./engine.js";
import type { FileStore, NodeFs } from "./fs.js";
import { type PortListener, listenTcp, openPort, serveFile } from "./http.js";
import { BufferOutput, bufferInput, execInput, splice, writableOutput } from "./io.js";
import { NodeLog } from "./log.js";
import type { Attachment } from "./network.js";
import type { Machine, ProcessContext, ProcessIo, Program } from "./programs.js";
import { runProgram } from "./shell.js";
import { DEFAULT_PATH, EMPTY, EXIT_SIGKILL, EXIT_SIGTERM, IMAGE_COMMAND, RESTART_DELAY_MS, absolutePath, errorMessage, newId, validateName } from "./util.js";

/** Checks every mount up front, so a refused create leaves no volume behind. */
export function validateMounts(spec: NodeSpec): void {
  for (const mount of spec.volumes ?? []) {
    absolutePath(mount.target);
    if (mount.type === "volume") validateName("volume", mount.source);
    else absolutePath(mount.source);
  }
  for (const target of Object.keys(spec.tmpfs ?? {})) absolutePath(target);
}

interface MainProcess {
  controller: AbortController;
  /** Settles once the node has fully stopped (state set, listeners closed). */
  done: Promise<void>;
  stopping: boolean;
}

function shouldRestart(policy: RestartPolicy | undefined, exitCode: number): boolean {
  return policy === "always" || policy === "unless-stopped" || (policy === "on-failure" && exitCode !== 0);
}

/** One node: its spec, filesystem, log, network attachments and (while running) its main process. */
/** Linux capability bits (linux/capability.h). */
const CAPABILITY_BITS: Record<string, number> = Object.fromEntries(
  [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
    "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
    "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
    "PERFMON", "BPF", "CHECKPOINT_RESTORE",
  ].map((name, bit) => [name, bit]),
);
/** Docker's and Podman's default set for a container that is not privileged. */
const DEFAULT_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP"];

/** The effective set a node's processes get, as /proc/self/status prints it (16 hex digits). */
export function effectiveCapabilities(spec: NodeSpec): string {
  const names = spec.privileged || spec.capAdd?.includes("ALL") ? Object.keys(CAPABILITY_BITS) : [...DEFAULT_CAPABILITIES, ...(spec.capAdd ?? [])];
  let bits = 0n;
  for (const name of names) {
    const bit = CAPABILITY_BITS[name];
    if (bit === undefined) throw new K3tsError("INVALID_ARGUMENT", `unknown capability: CAP_${name}`, { meta: { node: spec.name, capability: name } });
    bits |= 1n << BigInt(bit);
  }
  return bits.toString(16).padStart(16, "0");
}

/** What a node runs: its entrypoint and command, else the image's command. */
export function nodeCommand(spec: NodeSpec): string[] {
  const command = [...(spec.entrypoint ?? []), ...(spec.command ?? [])];
  return command.length > 0 ? command : [...IMAGE_COMMAND];
}

/** A mapping as a node that is not running reports it: the host address resolved, the host port as asked (0: the engine picks). */
function requestedPort(mapping: PortMapping): PublishedPort {
  return { containerPort: mapping.containerPort, protocol: mapping.protocol ?? "tcp", hostIP: mapping.hostIP ?? "127.0.0.1", hostPort: mapping.hostPort ?? 0 };
}

/** What a node's image brings besides its files: programs of its own, and what it runs instead of the shell. */
export interface ImagePrograms {
  programs: ReadonlyMap<string, Program>;
  main?: Program;
}

/** A TCP listener inside a node: a real listener on the host's loopback that connections to the node's port reach. */
interface InnerListener {
  port: Promise<number>;
  close(): Promise<void>;
}

export class MemoryNode {
  readonly id = newId();
  readonly createdAt = new Date().toISOString();
  readonly spec: NodeSpec;
  readonly fs: NodeFs;
  readonly log = new NodeLog();
  readonly attachments = new Map<string, Attachment>();
  readonly machine: Machine;
  state: NodeState = "created";
  exitCode: number | undefined;
  startedAt: string | undefined;
  /** Emulated httpd servers by port inside the node, each a document root. */
  private readonly servers = new Map<number, { root: string }>();
  /** TCP listeners of the node's processes, by port inside the node. */
  private readonly inner = new Map<number, InnerListener>();
  /** The httpd behind each published port, fed the connections the host listener takes. */
  private readonly httpServers = new Map<number, HttpServer>();
  private listeners: PortListener[] = [];
  private process: MainProcess | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly tmpfs: FileStore[];

  private readonly main: Program | undefined;

  constructor(spec: NodeSpec, fs: NodeFs, tmpfs: FileStore[], engine: MemoryEngine, image: ImagePrograms) {
    this.spec = spec;
    this.fs = fs;
    this.tmpfs = tmpfs;
    this.main = image.main;
    this.machine = {
      fs,
      programs: image.programs,
      address: () => [...this.attachments.values()][0]?.ipv4,
      resolve: (host) => engine.resolveFrom(this, host),
      serve: (port, root) => this.serve(port, root),
      httpGet: (host, port, path) => engine.httpGet(this, host, port, path),
      listen: (port, onConnection) => this.listen(port, onConnection),
      connect: (host, port) => engine.connect(this, host, port),
    };
  }

  get name(): string {
    return this.spec.name;
  }

  get hostname(): string {
    return this.spec.hostname ?? this.id.slice(0, 12);
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  /** The document root served on `port`, while the node runs. */
  server(port: number): string | undefined {
    return this.running ? this.servers.get(port)?.root : undefined;
  }

  /** A TCP connection to `port` inside the node, if a process of it listens there (ECONNREFUSED otherwise). */
  async connectTo(port: number, ip: string): Promise<Socket> {
    const listener = this.running ? this.inner.get(port) : undefined;
    if (!listener) throw Object.assign(new Error(`connect ECONNREFUSED ${ip}:${port}`), { code: "ECONNREFUSED", address: ip, port });
    const socket = tcpConnect(await listener.port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve).once("error", reject);
    });
    return socket;
  }

  async start(): Promise<void> {
    if (this.process) return;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (this.listeners.length === 0) this.listeners = await this.openPorts();
    this.launch();
  }

  async stop(): Promise<void> {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
      await this.halt();
      return;
    }
    const process = this.process;
    if (!process) return;
    process.stopping = true;
    process.controller.abort();
    await process.done;
  }

  async exec(command: string[], options: ExecOptions): Promise<ExecResult> {
    const process = this.process;
    if (!process) throw new K3tsError("NODE_NOT_RUNNING", `node ${this.name} is not running`, { meta: { node: this.name, state: this.state } });
    if (command.length === 0) throw new K3tsError("INVALID_ARGUMENT", "exec needs a command");
    const killed = process.controller.signal;
    const signal = options.signal ? AbortSignal.any([options.signal, killed]) : killed;
    const stdout = new BufferOutput();
    const stderr = new BufferOutput();
    const io: ProcessIo = {
      stdin: execInput(options.stdin, signal),
      stdout: options.stdout ? writableOutput(options.stdout) : stdout,
      stderr: options.stderr ? writableOutput(options.stderr) : stderr,
    };
    const ctx: ProcessContext = { io, env: { ...this.env(), ...options.env }, cwd: options.workdir ?? this.cwd(), machine: this.machine, signal };
    let exitCode: number;
    try {
      exitCode = await runProgram(command, ctx);
    } catch (err) {
      if (options.signal?.aborted) throw abortedError(options.signal, `exec in node ${this.name}`);
      if (!killed.aborted) throw err;
      exitCode = EXIT_SIGKILL;
    }
    return { exitCode, stdout: stdout.contents(), stderr: stderr.contents() };
  }

  toNode(): Node {
    return {
      id: this.id,
      name: this.name,
      image: this.spec.image,
      labels: { ...this.spec.labels },
      env: { PATH: DEFAULT_PATH, ...this.spec.env },
      state: this.state,
      exitCode: this.exitCode,
      startedAt: this.startedAt,
      createdAt: this.createdAt,
      // A running node's real ports; otherwise the mappings it holds (an engine-picked port is 0 until start).
      ports: this.listeners.length > 0 ? this.listeners.map((l) => ({ ...l.published })) : (this.spec.ports ?? []).map(requestedPort),
      networks: [...this.attachments].map(([name, a]) => ({ name, ipv4: a.ipv4, aliases: [...a.aliases] })),
      command: this.command(),
      privileged: this.spec.privileged ?? false,
      hostPid: this.spec.hostPid ?? false,
      capAdd: [...(this.spec.capAdd ?? [])],
      memoryBytes: this.spec.memoryBytes,
    };
  }

  private command(): string[] {
    return nodeCommand(this.spec);
  }

  private env(): Record<string, string> {
    return { PATH: DEFAULT_PATH, HOME: "/root", HOSTNAME: this.hostname, ...this.spec.env };
  }

  private cwd(): string {
    return this.spec.workdir ?? "/";
  }

  private serve(port: number, root: string): (() => void) | undefined {
    if (this.servers.has(port) || this.inner.has(port)) return undefined;
    const server = { root };
    this.servers.set(port, server);
    return () => {
      if (this.servers.get(port) === server) this.servers.delete(port);
    };
  }

  private async listen(port: number, onConnection: (socket: Socket) => void): Promise<(() => void) | undefined> {
    if (!this.running || this.servers.has(port) || this.inner.has(port)) return undefined;
    const bound = listenTcp("127.0.0.1", 0, onConnection);
    const listener: InnerListener = { port: bound.then((b) => b.port), close: () => bound.then((b) => b.close()) };
    this.inner.set(port, listener);
    await listener.port;
    return () => {
      if (this.inner.get(port) !== listener) return;
      this.inner.delete(port);
      void listener.close();
    };
  }

  /** A connection to a published port: to the process listening on its port, else to the node's httpd, else closed (as a proxy does). */
  private accept(containerPort: number, socket: Socket): void {
    socket.on("error", () => socket.destroy());
    if (this.running && this.inner.has(containerPort)) {
      this.connectTo(containerPort, "127.0.0.1").then(
        (upstream) => splice(socket, upstream),
        () => socket.destroy(),
      );
      return;
    }
    let http = this.httpServers.get(containerPort);
    if (!http) this.httpServers.set(containerPort, (http = createHttpServer((req, res) => this.answer(containerPort, req, res))));
    http.emit("connection", socket);
  }

  private async openPorts(): Promise<PortListener[]> {
    const listeners: PortListener[] = [];
    try {
      for (const mapping of this.spec.ports ?? []) {
        listeners.push(await openPort(mapping, (socket) => this.accept(mapping.containerPort, socket)));
      }
      return listeners;
    } catch (err) {
      await Promise.all(listeners.map((l) => l.close()));
      throw err;
    }
  }

  /** A request on a published host port, answered by the node's httpd (or refused, as a proxy does). */
  private answer(containerPort: number, req: IncomingMessage, res: ServerResponse): void {
    const root = this.server(containerPort);
    if (root === undefined) {
      req.socket.destroy();
      return;
    }
    const reply = serveFile(this.fs, root, req.method ?? "GET", req.url ?? "/");
    res.writeHead(reply.status, { "content-type": reply.contentType, "content-length": reply.body.length, connection: "close" });
    res.end(req.method === "HEAD" ? undefined : reply.body);
  }

  private launch(): void {
    for (const store of this.tmpfs) store.clear();
    const process: MainProcess = { controller: new AbortController(), done: Promise.resolve(), stopping: false };
    this.process = process;
    this.state = "running";
    this.startedAt = new Date().toISOString();
    this.exitCode = undefined;
    process.done = this.runMain(process.controller.signal).then((code) => this.exited(process, code));
  }

  private async runMain(signal: AbortSignal): Promise<number> {
    const stdout = this.log.writer("stdout");
    const stderr = this.log.writer("stderr");
    const ctx: ProcessContext = { io: { stdin: bufferInput(EMPTY), stdout, stderr }, env: this.env(), cwd: this.cwd(), machine: this.machine, signal };
    try {
      // A process that does not end on the signal is killed, as the engine does after the stop's grace period.
      const killed = new Promise<number>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
      return await Promise.race([(this.main ?? runProgram)(this.command(), ctx), killed]);
    } catch (err) {
      if (signal.aborted) return EXIT_SIGTERM;
      await stderr.write(`memory runtime: ${errorMessage(err)}\n`);
      return 2;
    } finally {
      stdout.flush();
      stderr.flush();
    }
  }

  private async exited(process: MainProcess, code: number): Promise<void> {
    if (this.process !== process) return;
    this.process = undefined;
    this.servers.clear();
    const inner = [...this.inner.values()];
    this.inner.clear();
    await Promise.all(inner.map((l) => l.close()));
    this.exitCode = code;
    if (!process.stopping && shouldRestart(this.spec.restart, code)) {
      this.state = "restarting";
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        this.launch();
      }, RESTART_DELAY_MS);
      this.log.notify();
      return;
    }
    await this.halt();
  }

  private async halt(): Promise<void> {
    this.state = "stopped";
    const listeners = this.listeners;
    this.listeners = [];
    await Promise.all(listeners.map((l) => l.close()));
    for (const http of this.httpServers.values()) http.close();
    this.httpServers.clear();
    this.log.notify();
  }
}
