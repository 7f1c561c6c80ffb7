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
 */
import { createHash, randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { STATUS_CODES, createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { posix } from "node:path";
import { Readable, type Writable } from "node:stream";
import * as tar from "tar-stream";
import { K3tsError, abortedError, raceAbort, throwIfAborted } from "../errors.js";
import { matchesLabels } from "../labels.js";
import {
  RUNTIME_API_VERSION,
  type CallOptions,
  type DeleteOptions,
  type ExecOptions,
  type ExecResult,
  type ImageClient,
  type LogChunk,
  type LogOptions,
  type NetworkClient,
  type NodeClient,
  type PullOptions,
  type Runtime,
  type RuntimeCapabilities,
  type RuntimeInfo,
  type StopOptions,
  type VolumeClient,
  type WriteFileOptions,
} from "../runtime.js";
import type {
  LabelFilter,
  NetworkAttachment,
  NetworkInfo,
  NetworkSpec,
  Node,
  NodeSpec,
  NodeState,
  PortMapping,
  PublishedPort,
  RestartPolicy,
  VolumeInfo,
  VolumeSpec,
} from "../types.js";
import { VERSION } from "../version.js";

export interface MemoryRuntimeOptions {
  /** Image references the engine holds from the start (default: `["k3ts-test/busybox:1"]`). */
  images?: string[];
  /** The runtime's name, as `name` and `info().runtime` report it (default: "memory"). */
  name?: string;
  /** Capabilities `info()` reports over the defaults (to play an engine without container DNS, say), with their hints. */
  capabilities?: Partial<RuntimeCapabilities>;
  hints?: RuntimeInfo["hints"];
}

const DEFAULT_IMAGES = ["k3ts-test/busybox:1"];
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** What a busybox image runs when the node spec names no command. */
const IMAGE_COMMAND = ["sh"];
const EXIT_SIGTERM = 143;
const EXIT_SIGKILL = 137;
const RESTART_DELAY_MS = 100;
const EMPTY = Buffer.alloc(0);
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const newId = (): string => randomBytes(32).toString("hex");
const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");
const toBuffer = (data: string | Uint8Array): Buffer => (typeof data === "string" ? Buffer.from(data) : Buffer.from(data));
const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function validateName(kind: string, name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new K3tsError("INVALID_ARGUMENT", `invalid ${kind} name ${JSON.stringify(name)}`, { meta: { name } });
  }
}

function absolutePath(path: string): string {
  if (!posix.isAbsolute(path)) {
    throw new K3tsError("INVALID_ARGUMENT", `path must be absolute: ${path}`, { meta: { path } });
  }
  return posix.resolve(path);
}

/** Rejects with ABORTED when the signal fires; resolves after `ms` (Infinity: never). */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal, "sleep"));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    const arm = (remaining: number) => {
      if (remaining === Infinity) return;
      const step = Math.min(remaining, 2 ** 31 - 1); // setTimeout's limit
      timer = setTimeout(() => {
        if (remaining > step) return arm(remaining - step);
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, step);
    };
    arm(ms);
  });
}

// ================================================================ filesystem

interface FileEntry {
  content: Buffer;
  mode: number;
}

/** The files of one filesystem (a node's root, a volume, a bind source, a tmpfs), by absolute path within it. */
type FileStore = Map<string, FileEntry>;

interface Mount {
  target: string;
  store: FileStore;
  readOnly: boolean;
}

type FsErrorKind = "ENOENT" | "EROFS" | "EISDIR" | "ENOTDIR";

const FS_MESSAGES: Record<FsErrorKind, string> = {
  ENOENT: "No such file or directory",
  EROFS: "Read-only file system",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
};

class FsError extends Error {
  constructor(
    readonly kind: FsErrorKind,
    readonly path: string,
  ) {
    super(FS_MESSAGES[kind]);
  }
}

interface FileStat {
  kind: "file" | "directory";
  mode: number;
  size: number;
}

/**
 * A node's view of its files: the root store with mounts laid over it (the longest matching target
 * wins). Directories are implicit: a directory exists while something lies below it.
 */
class NodeFs {
  private readonly mounts: Mount[];

  constructor(
    private readonly root: FileStore,
    mounts: Mount[],
  ) {
    this.mounts = [...mounts].sort((a, b) => b.target.length - a.target.length);
  }

  read(path: string): FileEntry {
    const entry = this.lookup(path);
    if (entry) return entry;
    throw new FsError(this.isDirectory(path) ? "EISDIR" : "ENOENT", path);
  }

  stat(path: string): FileStat | undefined {
    const entry = this.lookup(path);
    if (entry) return { kind: "file", mode: entry.mode, size: entry.content.length };
    return this.isDirectory(path) ? { kind: "directory", mode: 0o755, size: 4096 } : undefined;
  }

  /** Replaces a file (parents are implicit). Without `mode`, an existing file keeps its mode. */
  write(path: string, content: Uint8Array, mode?: number): void {
    const { store, key } = this.locateWritable(path);
    store.set(key, { content: Buffer.from(content), mode: mode ?? store.get(key)?.mode ?? 0o644 });
  }

  append(path: string, data: Uint8Array): void {
    const { store, key } = this.locateWritable(path);
    const previous = store.get(key);
    store.set(key, { content: Buffer.concat([previous?.content ?? EMPTY, data]), mode: previous?.mode ?? 0o644 });
  }

  private lookup(path: string): FileEntry | undefined {
    const { store, key } = this.locate(path);
    return store.get(key);
  }

  private isDirectory(path: string): boolean {
    if (path === "/" || this.mounts.some((m) => m.target === path || m.target.startsWith(`${path}/`))) return true;
    const { store, key } = this.locate(path);
    const prefix = key === "/" ? "/" : `${key}/`;
    for (const name of store.keys()) if (name.startsWith(prefix)) return true;
    return false;
  }

  private locate(path: string): { store: FileStore; key: string; readOnly: boolean } {
    for (const mount of this.mounts) {
      if (path === mount.target || path.startsWith(`${mount.target}/`)) {
        return { store: mount.store, key: path.slice(mount.target.length) || "/", readOnly: mount.readOnly };
      }
    }
    return { store: this.root, key: path, readOnly: false };
  }

  private locateWritable(path: string): { store: FileStore; key: string } {
    const location = this.locate(path);
    if (location.readOnly) throw new FsError("EROFS", path);
    if (this.isDirectory(path)) throw new FsError("EISDIR", path);
    for (let parent = posix.dirname(path); parent !== "/"; parent = posix.dirname(parent)) {
      if (this.lookup(parent)) throw new FsError("ENOTDIR", path);
    }
    return location;
  }
}

// ================================================================ process I/O

/** Where a process writes: a log, a buffer, a file, or a caller's stream. */
interface Output {
  write(data: string | Uint8Array): Promise<void>;
}

/** What a process reads. The emulated programs all read their input to the end. */
interface Input {
  readAll(): Promise<Buffer>;
}

class BufferOutput implements Output {
  private readonly chunks: Buffer[] = [];

  async write(data: string | Uint8Array): Promise<void> {
    this.chunks.push(toBuffer(data));
  }

  contents(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Input that yields `data` once (like a pipe: a second read finds it drained). */
function bufferInput(data: Buffer): Input {
  let rest: Buffer | undefined = data;
  return {
    async readAll() {
      const result = rest ?? EMPTY;
      rest = undefined;
      return result;
    },
  };
}

function streamInput(stream: Readable, signal: AbortSignal): Input {
  let consumed = false;
  return {
    async readAll() {
      if (consumed) return EMPTY;
      consumed = true;
      const read = async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of stream as AsyncIterable<string | Uint8Array>) chunks.push(toBuffer(chunk));
        return Buffer.concat(chunks);
      };
      return raceAbort(read(), signal, "reading stdin");
    },
  };
}

function execInput(stdin: ExecOptions["stdin"], signal: AbortSignal): Input {
  if (stdin === undefined) return bufferInput(EMPTY);
  if (typeof stdin === "string" || stdin instanceof Uint8Array) return bufferInput(toBuffer(stdin));
  return streamInput(stdin, signal);
}

function writableOutput(stream: Writable): Output {
  return {
    write: (data) =>
      new Promise<void>((resolve, reject) => {
        stream.write(toBuffer(data), (err) => (err ? reject(err) : resolve()));
      }),
  };
}

function fileOutput(fs: NodeFs, path: string, append: boolean): Output {
  if (append) fs.append(path, EMPTY);
  else fs.write(path, EMPTY);
  return { write: async (data) => fs.append(path, toBuffer(data)) };
}

// ================================================================ programs

interface ProcessIo {
  stdin: Input;
  stdout: Output;
  stderr: Output;
}

interface HttpReply {
  status: number;
  contentType: string;
  body: Buffer;
}

type HttpGetResult =
  | { kind: "bad-address" }
  | { kind: "refused"; ip: string }
  | { kind: "reply"; ip: string; reply: HttpReply };

/** What an emulated program sees of the node it runs in. */
interface Machine {
  readonly fs: NodeFs;
  /** Serves `dir` over HTTP on `port` inside the node; returns the function that stops it, or undefined when the port is taken. */
  serve(port: number, dir: string): (() => void) | undefined;
  /** An HTTP GET from this node to `host:port` (resolved like the engine's DNS would). */
  httpGet(host: string, port: number, path: string): HttpGetResult;
}

interface ProcessContext {
  io: ProcessIo;
  env: Record<string, string>;
  cwd: string;
  machine: Machine;
  /** Fires when the process is killed (its node stops) or its caller aborts. */
  signal: AbortSignal;
}

type Program = (args: string[], ctx: ProcessContext) => Promise<number>;

/** Something valid that the emulation does not do: a clear error rather than a wrong answer. */
function unsupported(construct: string): K3tsError<"INVALID_ARGUMENT"> {
  return new K3tsError("INVALID_ARGUMENT", `the memory runtime does not emulate ${construct}`, {
    meta: { construct },
    hint: "keep commands run on the memory runtime within its busybox subset (see @k3ts/core testing/memory.ts)",
  });
}

/** Reads a file for a program; on failure writes busybox's message and returns undefined. */
async function readArgument(program: string, path: string, ctx: ProcessContext): Promise<Buffer | undefined> {
  try {
    return ctx.machine.fs.read(posix.resolve(ctx.cwd, path)).content;
  } catch (err) {
    if (!(err instanceof FsError)) throw err;
    await ctx.io.stderr.write(`${program}: can't open '${path}': ${err.message}\n`);
    return undefined;
  }
}

/** Options of the form `-x VALUE` / `-xVALUE`, flags `-x`, and positional arguments. */
function parseOptions(
  program: string,
  args: string[],
  spec: { flags?: string; values?: string },
): { flags: Set<string>; values: Map<string, string>; positional: string[] } {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const letter = arg.charAt(1);
    if (spec.values?.includes(letter)) {
      const value = arg.length > 2 ? arg.slice(2) : args[++i];
      if (value === undefined) throw unsupported(`${program} ${arg} without a value`);
      values.set(letter, value);
    } else if (arg.length > 1 && [...arg.slice(1)].every((c) => spec.flags?.includes(c))) {
      for (const c of arg.slice(1)) flags.add(c);
    } else {
      throw unsupported(`the option ${arg} of ${program}`);
    }
  }
  return { flags, values, positional };
}

const echo: Program = async (args, { io }) => {
  const noNewline = args[0] === "-n";
  const words = noNewline ? args.slice(1) : args;
  if (words[0] === "-e" || words[0] === "-E") throw unsupported(`echo ${words[0]}`);
  await io.stdout.write(words.join(" ") + (noNewline ? "" : "\n"));
  return 0;
};

const cat: Program = async (args, ctx) => {
  const { positional } = parseOptions("cat", args, {});
  let status = 0;
  for (const source of positional.length > 0 ? positional : ["-"]) {
    const content = source === "-" ? await ctx.io.stdin.readAll() : await readArgument("cat", source, ctx);
    if (content) await ctx.io.stdout.write(content);
    else status = 1;
  }
  return status;
};

const wc: Program = async (args, ctx) => {
  const { flags, positional } = parseOptions("wc", args, { flags: "clw" });
  if (positional.length > 1) throw unsupported("wc with more than one file");
  const file = positional[0];
  const data = file === undefined || file === "-" ? await ctx.io.stdin.readAll() : await readArgument("wc", file, ctx);
  if (!data) return 1;
  const text = data.toString("utf8");
  const counts: Array<[string, number]> = [
    ["l", data.filter((b) => b === 10).length],
    ["w", text.split(/\s+/).filter(Boolean).length],
    ["c", data.length],
  ];
  const shown = counts.filter(([flag]) => flags.size === 0 || flags.has(flag)).map(([, n]) => String(n));
  await ctx.io.stdout.write(`${[...shown, ...(file && file !== "-" ? [file] : [])].join(" ")}\n`);
  return 0;
};

const SLEEP_UNITS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };

const sleep: Program = async (args, { io, signal }) => {
  let seconds = 0;
  for (const arg of args) {
    const match = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(arg);
    if (arg === "inf" || arg === "infinity") seconds = Infinity;
    else if (match) seconds += Number(match[1]) * (SLEEP_UNITS[match[2] ?? ""] ?? 1);
    else {
      await io.stderr.write(`sleep: invalid number '${arg}'\n`);
      return 1;
    }
  }
  await delay(seconds * 1000, signal);
  return 0;
};

function statDirective(directive: string, stat: FileStat, path: string): string {
  switch (directive) {
    case "a":
      return (stat.mode & 0o7777).toString(8);
    case "s":
      return String(stat.size);
    case "n":
      return path;
    case "F":
      return stat.kind === "file" ? "regular file" : "directory";
    case "%":
      return "%";
    default:
      throw unsupported(`the stat format %${directive}`);
  }
}

const stat: Program = async (args, ctx) => {
  const { values, positional } = parseOptions("stat", args, { values: "c" });
  const format = values.get("c");
  if (format === undefined) throw unsupported("stat without -c FORMAT");
  let status = 0;
  for (const path of positional) {
    const info = ctx.machine.fs.stat(posix.resolve(ctx.cwd, path));
    if (!info) {
      await ctx.io.stderr.write(`stat: can't stat '${path}': No such file or directory\n`);
      status = 1;
      continue;
    }
    await ctx.io.stdout.write(`${format.replace(/%(.)/g, (_, d: string) => statDirective(d, info, path))}\n`);
  }
  return status;
};

const wget: Program = async (args, ctx) => {
  const { flags, values, positional } = parseOptions("wget", args, { flags: "q", values: "O" });
  const [address, ...extra] = positional;
  if (address === undefined || extra.length > 0) throw unsupported("wget without exactly one URL");
  const url = URL.canParse(address) ? new URL(address) : undefined;
  if (url?.protocol !== "http:") throw unsupported(`wget of ${JSON.stringify(address)} (only http:// URLs)`);
  const port = url.port ? Number(url.port) : 80;
  const result = ctx.machine.httpGet(url.hostname, port, url.pathname + url.search);
  if (result.kind === "bad-address") {
    await ctx.io.stderr.write(`wget: bad address '${url.hostname}'\n`);
    return 1;
  }
  if (!flags.has("q")) await ctx.io.stderr.write(`Connecting to ${url.host} (${result.ip}:${port})\n`);
  if (result.kind === "refused") {
    await ctx.io.stderr.write(`wget: can't connect to remote host (${result.ip}): Connection refused\n`);
    return 1;
  }
  const { status, body } = result.reply;
  if (status !== 200) {
    await ctx.io.stderr.write(`wget: server returned error: HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\n`);
    return 1;
  }
  const target = values.get("O") ?? (posix.basename(url.pathname) || "index.html");
  if (target === "-") {
    await ctx.io.stdout.write(body);
    return 0;
  }
  try {
    ctx.machine.fs.write(posix.resolve(ctx.cwd, target), body);
    return 0;
  } catch (err) {
    if (!(err instanceof FsError)) throw err;
    await ctx.io.stderr.write(`wget: can't open '${target}': ${err.message}\n`);
    return 1;
  }
};

/** busybox httpd: `-f` stays in the foreground; without it, it serves until the node stops. */
const httpd: Program = async (args, ctx) => {
  const { flags, values, positional } = parseOptions("httpd", args, { flags: "fv", values: "ph" });
  if (positional.length > 0) throw unsupported(`httpd arguments ${positional.join(" ")}`);
  const port = Number((values.get("p") ?? "80").split(":").at(-1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    await ctx.io.stderr.write(`httpd: invalid port '${values.get("p")}'\n`);
    return 1;
  }
  const stop = ctx.machine.serve(port, posix.resolve(ctx.cwd, values.get("h") ?? "."));
  if (!stop) {
    await ctx.io.stderr.write("httpd: bind: Address already in use\n");
    return 1;
  }
  if (!flags.has("f")) return 0;
  try {
    await delay(Infinity, ctx.signal);
    return 0;
  } finally {
    stop();
  }
};

const sh: Program = async (args, ctx) => {
  const [first, ...rest] = args;
  let script: string;
  let positional = ["sh"];
  if (first === "-c") {
    if (rest[0] === undefined) {
      await ctx.io.stderr.write("sh: -c requires an argument\n");
      return 2;
    }
    script = rest[0];
    if (rest.length > 1) positional = rest.slice(1);
  } else if (first === undefined) {
    script = (await ctx.io.stdin.readAll()).toString("utf8");
  } else if (first.startsWith("-")) {
    throw unsupported(`the sh option ${first}`);
  } else {
    const content = await readArgument("sh", first, ctx);
    if (!content) return 2;
    script = content.toString("utf8");
    positional = args;
  }
  return runScript(script, positional, ctx);
};

const PROGRAMS = new Map<string, Program>([
  ["sh", sh],
  ["echo", echo],
  ["cat", cat],
  ["wc", wc],
  ["sleep", sleep],
  ["stat", stat],
  ["true", async () => 0],
  ["false", async () => 1],
  ["wget", wget],
  ["httpd", httpd],
]);

const BIN_DIRS = new Set(["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin"]);

/** Runs argv[0] (a program name, or its path in a bin directory) with the rest as arguments. */
async function runProgram(argv: string[], ctx: ProcessContext): Promise<number> {
  throwIfAborted(ctx.signal);
  const [arg0 = "", ...args] = argv;
  const name = arg0.includes("/") && BIN_DIRS.has(posix.dirname(arg0)) ? posix.basename(arg0) : arg0;
  const program = PROGRAMS.get(name);
  if (program) return program(args, ctx);
  await ctx.io.stderr.write(`sh: ${arg0}: not found (the memory runtime emulates ${[...PROGRAMS.keys()].join(", ")})\n`);
  return 127;
}

// ================================================================ shell: tokens

type WordPart = { kind: "text"; text: string; quoted: boolean } | { kind: "param"; name: string; quoted: boolean };
type Word = WordPart[];
type RedirectOp = ">" | ">>" | "<" | ">&";

type Token =
  /** `plain` is the word's text when it has no quoting or expansion (how keywords are recognised). */
  | { kind: "word"; word: Word; plain: string | undefined }
  | { kind: "op"; op: ";" | "\n" | "&&" | "||" | "|" }
  | { kind: "redirect"; fd: number; op: RedirectOp; dupTo?: number };

/** A real shell syntax error: the shell reports it and exits 2. */
class ShellSyntaxError extends Error {}

/** `exit N`: unwinds to the enclosing `sh`. */
class ExitRequest extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

const WORD_END = new Set([" ", "\t", "\n", ";", "&", "|", "<", ">", "(", ")"]);

class Lexer {
  private pos = 0;
  private readonly tokens: Token[] = [];

  constructor(private readonly src: string) {}

  tokenize(): Token[] {
    while (this.pos < this.src.length) {
      const c = this.peek();
      if (c === " " || c === "\t") this.pos++;
      else if (c === "\\" && this.peek(1) === "\n") this.pos += 2;
      else if (c === "#") this.skipComment();
      else if (c === "\n" || c === ";") this.separator(c);
      else if (c === "&" || c === "|") this.operator(c);
      else if (c === "(" || c === ")") throw unsupported("subshells and grouping with ( )");
      else if (c === "<" || c === ">") this.redirect(c === "<" ? 0 : 1);
      else if (/[0-9]/.test(c) && /[<>]/.test(this.peek(1))) this.redirect(Number(this.next()));
      else this.word();
    }
    return this.tokens;
  }

  private peek(offset = 0): string {
    return this.src.charAt(this.pos + offset);
  }

  private next(): string {
    return this.src.charAt(this.pos++);
  }

  private skipComment(): void {
    while (this.pos < this.src.length && this.peek() !== "\n") this.pos++;
  }

  private separator(c: "\n" | ";"): void {
    this.pos++;
    if (c === ";" && this.peek() === ";") throw unsupported("case clauses (;;)");
    this.tokens.push({ kind: "op", op: c });
  }

  private operator(c: "&" | "|"): void {
    this.pos++;
    if (this.peek() === c) {
      this.pos++;
      this.tokens.push({ kind: "op", op: c === "&" ? "&&" : "||" });
    } else if (c === "|") {
      this.tokens.push({ kind: "op", op: "|" });
    } else {
      throw unsupported("background jobs (&)");
    }
  }

  private redirect(fd: number): void {
    const c = this.next();
    const after = this.peek();
    if (c === "<") {
      if (after === "<" || after === "&" || after === ">") throw unsupported(`the redirection <${after}`);
      this.tokens.push({ kind: "redirect", fd, op: "<" });
    } else if (after === ">") {
      this.pos++;
      this.tokens.push({ kind: "redirect", fd, op: ">>" });
    } else if (after === "&") {
      this.pos++;
      const target = this.next();
      if (!/^[0-9]$/.test(target)) throw unsupported(`the redirection >&${target}`);
      this.tokens.push({ kind: "redirect", fd, op: ">&", dupTo: Number(target) });
    } else if (after === "|") {
      throw unsupported("the redirection >|");
    } else {
      this.tokens.push({ kind: "redirect", fd, op: ">" });
    }
  }

  private word(): void {
    const parts: Word = [];
    const text = (t: string, quoted: boolean) => {
      const last = parts.at(-1);
      if (last?.kind === "text" && last.quoted === quoted) last.text += t;
      else parts.push({ kind: "text", text: t, quoted });
    };
    while (this.pos < this.src.length && !WORD_END.has(this.peek())) {
      const c = this.next();
      if (c === "'") {
        const end = this.src.indexOf("'", this.pos);
        if (end < 0) throw new ShellSyntaxError("unterminated '");
        text(this.src.slice(this.pos, end), true);
        this.pos = end + 1;
      } else if (c === '"') {
        this.doubleQuoted(parts, text);
      } else if (c === "\\") {
        text(this.next(), true);
      } else if (c === "$") {
        const param = this.param(false);
        if (param) parts.push(param);
        else text("$", false);
      } else if (c === "`") {
        throw unsupported("command substitution (`...`)");
      } else if (c === "*" || c === "?") {
        throw unsupported(`pathname expansion (unquoted ${c}); quote it`);
      } else if (c === "~" && parts.length === 0) {
        throw unsupported("tilde expansion (~)");
      } else {
        text(c, false);
      }
    }
    const [only, ...more] = parts;
    const plain = only?.kind === "text" && !only.quoted && more.length === 0 ? only.text : undefined;
    this.tokens.push({ kind: "word", word: parts, plain });
  }

  private doubleQuoted(parts: Word, text: (t: string, quoted: boolean) => void): void {
    text("", true); // "" is an empty word, not no word
    for (;;) {
      if (this.pos >= this.src.length) throw new ShellSyntaxError('unterminated "');
      const c = this.next();
      if (c === '"') return;
      if (c === "\\" && this.pos < this.src.length && '$`"\\\n'.includes(this.peek())) {
        const escaped = this.next();
        if (escaped !== "\n") text(escaped, true);
      } else if (c === "$") {
        const param = this.param(true);
        if (param) parts.push(param);
        else text("$", true);
      } else if (c === "`") {
        throw unsupported("command substitution (`...`)");
      } else {
        text(c, true);
      }
    }
  }

  /** After a `$`: a parameter, or undefined when the `$` is literal. */
  private param(quoted: boolean): WordPart | undefined {
    const c = this.peek();
    if (c === "{") {
      const end = this.src.indexOf("}", this.pos);
      if (end < 0) throw new ShellSyntaxError("missing }");
      const inner = this.src.slice(this.pos + 1, end);
      if (!/^([A-Za-z_][A-Za-z0-9_]*|[0-9?#])$/.test(inner)) throw unsupported(`the parameter expansion \${${inner}}`);
      this.pos = end + 1;
      return { kind: "param", name: inner, quoted };
    }
    if (c === "(") throw unsupported(this.peek(1) === "(" ? "arithmetic expansion $((...))" : "command substitution $(...)");
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos))?.[0] ?? (/^[0-9?#]$/.test(c) ? c : undefined);
    if (name !== undefined) {
      this.pos += name.length;
      return { kind: "param", name, quoted };
    }
    if (c !== "" && "@*$!-".includes(c)) throw unsupported(`the special parameter $${c}`);
    return undefined;
  }
}

// ================================================================ shell: syntax tree

interface Redirect {
  fd: number;
  op: RedirectOp;
  /** The file, for every op but `>&`. */
  target?: Word;
  dupTo?: number;
}

interface SimpleCommand {
  kind: "simple";
  assignments: Array<{ name: string; value: Word }>;
  words: Word[];
  redirects: Redirect[];
}

interface ForLoop {
  kind: "for";
  variable: string;
  /** undefined: `for x; do` iterates over the positional parameters. */
  items: Word[] | undefined;
  body: CommandList;
  redirects: Redirect[];
}

type Command = SimpleCommand | ForLoop;
/** The stages of a pipeline (`a | b`); one stage for a plain command. */
type Pipeline = Command[];
interface AndOr {
  first: Pipeline;
  rest: Array<{ op: "&&" | "||"; pipeline: Pipeline }>;
}
type CommandList = AndOr[];

const UNSUPPORTED_KEYWORDS = new Set(["if", "then", "else", "elif", "fi", "while", "until", "case", "esac", "function", "select", "{", "}", "!", "[["]);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function describeToken(token: Token | undefined): string {
  if (!token) return "end of input";
  if (token.kind === "op") return token.op === "\n" ? "newline" : `"${token.op}"`;
  if (token.kind === "redirect") return "redirection";
  return token.plain === undefined ? "word" : `"${token.plain}"`;
}

/** Recursive descent over the grammar: list := and_or (sep and_or)*, and_or := pipeline ((&&|||) pipeline)*, pipeline := command (| command)*. */
class Parser {
  private pos = 0;

  constructor(private readonly tokens: Token[]) {}

  parseScript(): CommandList {
    const list = this.list(new Set());
    if (this.pos < this.tokens.length) throw new ShellSyntaxError(`unexpected ${describeToken(this.peek())}`);
    return list;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private peekPlain(): string | undefined {
    const token = this.peek();
    return token?.kind === "word" ? token.plain : undefined;
  }

  private skip(ops: ReadonlyArray<string>): void {
    for (let t = this.peek(); t?.kind === "op" && ops.includes(t.op); t = this.peek()) this.pos++;
  }

  /** Commands up to the end or to one of `terminators` in command position (left unconsumed). */
  private list(terminators: ReadonlySet<string>): CommandList {
    const items: CommandList = [];
    for (;;) {
      this.skip([";", "\n"]);
      const plain = this.peekPlain();
      if (!this.peek() || (plain !== undefined && terminators.has(plain))) return items;
      items.push(this.andOr());
      const after = this.peek();
      if (after && !(after.kind === "op" && (after.op === ";" || after.op === "\n"))) {
        throw new ShellSyntaxError(`unexpected ${describeToken(after)}`);
      }
    }
  }

  private andOr(): AndOr {
    const item: AndOr = { first: this.pipeline(), rest: [] };
    for (let t = this.peek(); t?.kind === "op" && (t.op === "&&" || t.op === "||"); t = this.peek()) {
      this.pos++;
      this.skip(["\n"]);
      item.rest.push({ op: t.op, pipeline: this.pipeline() });
    }
    return item;
  }

  private pipeline(): Pipeline {
    const stages = [this.command()];
    for (let t = this.peek(); t?.kind === "op" && t.op === "|"; t = this.peek()) {
      this.pos++;
      this.skip(["\n"]);
      stages.push(this.command());
    }
    return stages;
  }

  private command(): Command {
    const plain = this.peekPlain();
    if (plain === "for") return this.forLoop();
    if (plain !== undefined && UNSUPPORTED_KEYWORDS.has(plain)) throw unsupported(`the shell keyword "${plain}"`);
    if (plain === "do" || plain === "done") throw new ShellSyntaxError(`unexpected "${plain}"`);
    return this.simpleCommand();
  }

  private simpleCommand(): SimpleCommand {
    const command: SimpleCommand = { kind: "simple", assignments: [], words: [], redirects: [] };
    for (let t = this.peek(); t && t.kind !== "op"; t = this.peek()) {
      this.pos++;
      if (t.kind === "redirect") {
        command.redirects.push(this.redirectTarget(t));
        continue;
      }
      const assignment = command.words.length === 0 ? splitAssignment(t.word) : undefined;
      if (assignment) command.assignments.push(assignment);
      else command.words.push(t.word);
    }
    if (command.words.length + command.assignments.length + command.redirects.length === 0) {
      throw new ShellSyntaxError(`unexpected ${describeToken(this.peek())}`);
    }
    return command;
  }

  private redirectTarget(token: Extract<Token, { kind: "redirect" }>): Redirect {
    if (token.op === ">&") return { fd: token.fd, op: token.op, dupTo: token.dupTo };
    const target = this.peek();
    if (target?.kind !== "word") throw new ShellSyntaxError(`missing file name after ${token.op}`);
    this.pos++;
    return { fd: token.fd, op: token.op, target: target.word };
  }

  private forLoop(): ForLoop {
    this.pos++; // for
    const variable = this.peekPlain();
    if (variable === undefined || !NAME.test(variable)) throw new ShellSyntaxError("bad for loop variable");
    this.pos++;
    this.skip(["\n"]);
    let items: Word[] | undefined;
    if (this.peekPlain() === "in") {
      this.pos++;
      items = [];
      for (let t = this.peek(); t?.kind === "word"; t = this.peek()) {
        items.push(t.word);
        this.pos++;
      }
    }
    this.skip([";", "\n"]);
    this.expectKeyword("do");
    const body = this.list(new Set(["done"]));
    this.expectKeyword("done");
    const redirects: Redirect[] = [];
    for (let t = this.peek(); t?.kind === "redirect"; t = this.peek()) {
      this.pos++;
      redirects.push(this.redirectTarget(t));
    }
    return { kind: "for", variable, items, body, redirects };
  }

  private expectKeyword(keyword: string): void {
    if (this.peekPlain() !== keyword) throw new ShellSyntaxError(`expected "${keyword}", found ${describeToken(this.peek())}`);
    this.pos++;
  }
}

function splitAssignment(word: Word): { name: string; value: Word } | undefined {
  const [head, ...rest] = word;
  if (head?.kind !== "text" || head.quoted) return undefined;
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(head.text);
  if (!match?.[1]) return undefined;
  return { name: match[1], value: [{ ...head, text: head.text.slice(match[0].length) }, ...rest] };
}

// ================================================================ shell: interpreter

class Shell {
  private status = 0;

  constructor(
    private readonly vars: Map<string, string>,
    /** $0, $1, ... */
    private readonly positional: string[],
    private readonly ctx: ProcessContext,
  ) {}

  async runList(list: CommandList, io: ProcessIo): Promise<number> {
    for (const item of list) this.status = await this.runAndOr(item, io);
    return this.status;
  }

  private async runAndOr(item: AndOr, io: ProcessIo): Promise<number> {
    let status = await this.runPipeline(item.first, io);
    for (const { op, pipeline } of item.rest) {
      this.status = status;
      if ((op === "&&") === (status === 0)) status = await this.runPipeline(pipeline, io);
    }
    return status;
  }

  /** Stages run one after the other, each reading what the previous one wrote (the programs all read to the end). */
  private async runPipeline(stages: Pipeline, io: ProcessIo): Promise<number> {
    let stdin = io.stdin;
    let status = 0;
    for (const [index, stage] of stages.entries()) {
      const pipe = index < stages.length - 1 ? new BufferOutput() : undefined;
      status = await this.runCommand(stage, { ...io, stdin, stdout: pipe ?? io.stdout });
      if (pipe) stdin = bufferInput(pipe.contents());
    }
    return status;
  }

  private async runCommand(command: Command, io: ProcessIo): Promise<number> {
    const redirected = await this.redirect(command.redirects, io);
    if (!redirected) return 1;
    return command.kind === "for" ? this.runFor(command, redirected) : this.runSimple(command, redirected);
  }

  private async runFor(loop: ForLoop, io: ProcessIo): Promise<number> {
    const items = loop.items ? loop.items.flatMap((w) => this.fields(w)) : this.positional.slice(1);
    let status = 0;
    for (const item of items) {
      this.vars.set(loop.variable, item);
      status = await this.runList(loop.body, io);
    }
    return status;
  }

  private async runSimple(command: SimpleCommand, io: ProcessIo): Promise<number> {
    const argv = command.words.flatMap((w) => this.fields(w));
    const assigned = command.assignments.map(({ name, value }) => [name, this.join(value)] as const);
    if (argv.length === 0) {
      for (const [name, value] of assigned) this.vars.set(name, value);
      return 0;
    }
    const [name, ...args] = argv;
    if (name === "exit") throw new ExitRequest(this.exitStatus(args[0]));
    if (name === "export") return this.export(args);
    const env = { ...Object.fromEntries(this.vars), ...Object.fromEntries(assigned) };
    return runProgram(argv, { ...this.ctx, io, env });
  }

  private exitStatus(arg: string | undefined): number {
    if (arg === undefined) return this.status;
    return /^\d+$/.test(arg) ? Number(arg) & 255 : 2;
  }

  /** Every variable is passed to programs already, so `export NAME=value` is an assignment. */
  private export(args: string[]): number {
    for (const arg of args) {
      const eq = arg.indexOf("=");
      if (eq > 0) this.vars.set(arg.slice(0, eq), arg.slice(eq + 1));
    }
    return 0;
  }

  /** Applies redirections; undefined (after writing the shell's message) when a file cannot be opened. */
  private async redirect(redirects: Redirect[], io: ProcessIo): Promise<ProcessIo | undefined> {
    let { stdin, stdout, stderr } = io;
    const setOutput = (fd: number, output: Output) => {
      if (fd === 1) stdout = output;
      else if (fd === 2) stderr = output;
      else throw unsupported(`redirecting file descriptor ${fd}`);
    };
    for (const r of redirects) {
      if (r.op === ">&") {
        if (r.dupTo !== 1 && r.dupTo !== 2) throw unsupported(`duplicating file descriptor ${r.dupTo}`);
        setOutput(r.fd, r.dupTo === 1 ? stdout : stderr);
        continue;
      }
      const name = this.join(r.target ?? []);
      const path = posix.resolve(this.ctx.cwd, name);
      try {
        if (r.op !== "<") setOutput(r.fd, fileOutput(this.ctx.machine.fs, path, r.op === ">>"));
        else if (r.fd === 0) stdin = bufferInput(this.ctx.machine.fs.read(path).content);
        else throw unsupported(`reading into file descriptor ${r.fd}`);
      } catch (err) {
        if (!(err instanceof FsError)) throw err;
        await stderr.write(`sh: can't ${r.op === "<" ? "open" : "create"} ${name}: ${err.message}\n`);
        return undefined;
      }
    }
    return { stdin, stdout, stderr };
  }

  private lookup(name: string): string {
    if (name === "?") return String(this.status);
    if (name === "#") return String(Math.max(0, this.positional.length - 1));
    if (/^[0-9]$/.test(name)) return this.positional[Number(name)] ?? "";
    return this.vars.get(name) ?? "";
  }

  /** Expands a word without field splitting (assignments, redirection targets). */
  private join(word: Word): string {
    return word.map((part) => (part.kind === "text" ? part.text : this.lookup(part.name))).join("");
  }

  /** Expands a word into fields: unquoted expansions split on whitespace; quotes keep empty words. */
  private fields(word: Word): string[] {
    const fields: string[] = [];
    let current = "";
    let open = false;
    for (const part of word) {
      if (part.kind === "text" || part.quoted) {
        current += part.kind === "text" ? part.text : this.lookup(part.name);
        open = true;
        continue;
      }
      for (const [index, piece] of this.lookup(part.name).split(/[ \t\n]+/).entries()) {
        if (index > 0 && open) {
          fields.push(current);
          current = "";
          open = false;
        }
        if (piece) {
          current += piece;
          open = true;
        }
      }
    }
    if (open) fields.push(current);
    return fields;
  }
}

/** Parses and runs a script: syntax errors exit 2 as in sh, unsupported constructs throw. */
async function runScript(script: string, positional: string[], ctx: ProcessContext): Promise<number> {
  let list: CommandList;
  try {
    list = new Parser(new Lexer(script).tokenize()).parseScript();
  } catch (err) {
    if (!(err instanceof ShellSyntaxError)) throw err;
    await ctx.io.stderr.write(`sh: syntax error: ${err.message}\n`);
    return 2;
  }
  const shell = new Shell(new Map(Object.entries(ctx.env)), positional, ctx);
  try {
    return await shell.runList(list, ctx.io);
  } catch (err) {
    if (err instanceof ExitRequest) return err.status;
    throw err;
  }
}

// ================================================================ logs

interface LogLine {
  stream: "stdout" | "stderr";
  data: Buffer;
  time: number;
}

/** A node's output, one entry per line (as engines' log drivers store it), kept across restarts. */
class NodeLog {
  readonly lines: LogLine[] = [];
  private readonly waiters = new Set<() => void>();

  writer(stream: LogLine["stream"]): Output & { flush(): void } {
    let partial = EMPTY;
    return {
      write: async (data) => {
        let rest = Buffer.concat([partial, toBuffer(data)]);
        for (let nl = rest.indexOf(10); nl >= 0; nl = rest.indexOf(10)) {
          this.push(stream, rest.subarray(0, nl + 1));
          rest = rest.subarray(nl + 1);
        }
        partial = rest;
      },
      flush: () => {
        if (partial.length > 0) this.push(stream, partial);
        partial = EMPTY;
      },
    };
  }

  /** Where reading starts: the later of the first line at or after `since` and the last `tail` lines. */
  startIndex(tail: number | undefined, since: number | undefined): number {
    const fromTail = tail === undefined || tail < 0 ? 0 : Math.max(0, this.lines.length - tail);
    const fromSince = since === undefined ? 0 : this.lines.findIndex((l) => l.time >= since);
    return Math.max(fromTail, fromSince < 0 ? this.lines.length : fromSince);
  }

  /** Wakes everyone waiting in {@link changed} (new output, or the node stopped). */
  notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  changed(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiters.delete(wake);
        reject(abortedError(signal, "following logs"));
      };
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      if (signal?.aborted) return onAbort();
      this.waiters.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  private push(stream: LogLine["stream"], data: Buffer): void {
    this.lines.push({ stream, data, time: Date.now() });
    this.notify();
  }
}

// ================================================================ http

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html",
  ".txt": "text/plain",
  ".json": "application/json",
  ".js": "application/javascript",
  ".css": "text/css",
};

function errorReply(status: number): HttpReply {
  return { status, contentType: "text/plain", body: Buffer.from(`${status} ${STATUS_CODES[status] ?? ""}\n`) };
}

/** busybox httpd: files under `root`, index.html for directories. */
function serveFile(fs: NodeFs, root: string, method: string, target: string): HttpReply {
  if (method !== "GET" && method !== "HEAD") return errorReply(501);
  let path: string;
  try {
    path = decodeURIComponent(new URL(target, "http://node").pathname);
  } catch {
    return errorReply(400);
  }
  let file = posix.resolve(root, `.${posix.normalize(path)}`); // "/../x" stays under root
  if (fs.stat(file)?.kind === "directory") file = posix.join(file, "index.html");
  if (fs.stat(file)?.kind !== "file") return errorReply(404);
  const contentType = CONTENT_TYPES[posix.extname(file)] ?? "application/octet-stream";
  return { status: 200, contentType, body: fs.read(file).content };
}

interface PortListener {
  published: PublishedPort;
  close(): Promise<void>;
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

function listenTcp(host: string, port: number, handler: RequestHandler): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off("error", reject);
      const address = server.address();
      const close = () =>
        new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        });
      resolve({ port: typeof address === "object" && address ? address.port : port, close });
    });
  });
}

/** A UDP mapping only reserves its host port (the emulated programs speak no UDP). */
function bindUdp(host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off("error", reject);
      resolve({ port: socket.address().port, close: () => new Promise<void>((done) => socket.close(() => done())) });
    });
  });
}

async function openPort(mapping: PortMapping, handler: RequestHandler): Promise<PortListener> {
  const protocol = mapping.protocol ?? "tcp";
  const hostIP = mapping.hostIP ?? "127.0.0.1";
  const wanted = mapping.hostPort ?? 0;
  try {
    const bound = protocol === "udp" ? await bindUdp(hostIP, wanted) : await listenTcp(hostIP, wanted, handler);
    return { published: { containerPort: mapping.containerPort, protocol, hostIP, hostPort: bound.port }, close: bound.close };
  } catch (err) {
    const meta = { hostIP, hostPort: wanted, protocol };
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new K3tsError("PORT_IN_USE", `host port ${hostIP}:${wanted}/${protocol} is already in use`, { meta, cause: err });
    }
    throw new K3tsError("RUNTIME_ERROR", `cannot publish ${hostIP}:${wanted}/${protocol}: ${errorMessage(err)}`, { meta, cause: err });
  }
}

// ================================================================ images

interface TarFile {
  name: string;
  content?: Buffer;
}

/** A tar of `files` (names ending in / are directories), with fixed times so equal input gives equal bytes. */
async function packTar(files: TarFile[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { name, content } of files) {
    const directory = name.endsWith("/");
    const header = { name, type: directory ? "directory" : "file", mode: directory ? 0o755 : 0o644, mtime: new Date(0) } as const;
    if (content) pack.entry({ ...header, size: content.length }, content);
    else pack.entry(header);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Docker's short names: `docker.io/library/busybox` is `busybox:latest`. */
function normalizeRef(ref: string): string {
  const name = ref.replace(/^docker\.io\/(library\/)?/, "");
  const last = name.slice(name.lastIndexOf("/") + 1);
  return name.includes("@") || last.includes(":") ? name : `${name}:latest`;
}

const ARCH = process.arch === "x64" ? "amd64" : process.arch;

/** A `docker save` archive: per image a config, one layer tar, and their entry in manifest.json. */
async function dockerSaveArchive(refs: string[]): Promise<Buffer> {
  const files: TarFile[] = [];
  const manifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  for (const ref of refs) {
    const layer = await packTar([{ name: "etc/" }, { name: "etc/k3ts-memory-image", content: Buffer.from(`${ref}\n`) }]);
    const layerDigest = sha256(layer);
    const config = Buffer.from(
      JSON.stringify({
        architecture: ARCH,
        os: "linux",
        config: { Env: [`PATH=${DEFAULT_PATH}`], Cmd: IMAGE_COMMAND },
        rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
      }),
    );
    const configName = `${sha256(config)}.json`;
    files.push({ name: `${layerDigest}/` }, { name: `${layerDigest}/layer.tar`, content: layer }, { name: configName, content: config });
    manifest.push({ Config: configName, RepoTags: [ref], Layers: [`${layerDigest}/layer.tar`] });
  }
  files.push({ name: "manifest.json", content: Buffer.from(JSON.stringify(manifest)) });
  return packTar(files);
}

function invalidArchive(why: string, cause?: unknown): K3tsError<"INVALID_ARGUMENT"> {
  return new K3tsError("INVALID_ARGUMENT", `not a docker save archive: ${why}`, { cause });
}

/**
 * What a `docker save` archive holds, as `docker load` reports it: each image's RepoTags, or for an
 * image without tags its ID (`sha256:` and the digest of its config file, which is the config's name).
 */
async function readDockerSaveTags(archive: Readable): Promise<string[]> {
  const extract = tar.extract();
  archive.on("error", (err) => extract.destroy(err));
  archive.pipe(extract);
  let manifest: Buffer | undefined;
  try {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
      if (entry.header.name.replace(/^\.\//, "") === "manifest.json") manifest = Buffer.concat(chunks);
    }
  } catch (err) {
    throw invalidArchive(errorMessage(err), err);
  }
  if (!manifest) throw invalidArchive("it has no manifest.json");
  let parsed: unknown;
  try {
    parsed = JSON.parse(manifest.toString("utf8"));
  } catch (err) {
    throw invalidArchive("manifest.json is not JSON", err);
  }
  if (!Array.isArray(parsed)) throw invalidArchive("manifest.json is not a list");
  return parsed.flatMap((item: unknown) => {
    const { RepoTags: tags, Config: config } = typeof item === "object" && item !== null ? (item as { RepoTags?: unknown; Config?: unknown }) : {};
    const named = Array.isArray(tags) ? tags.filter((t): t is string => typeof t === "string") : [];
    const id = typeof config === "string" ? /([0-9a-f]{64})\.json$/.exec(config)?.[1] : undefined;
    return named.length > 0 ? named : id ? [`sha256:${id}`] : [];
  });
}

// ================================================================ networks

interface Subnet {
  cidr: string;
  /** The network address and the number of addresses, as integers. */
  base: number;
  size: number;
  gateway: string;
}

function ipToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((value, p) => value * 256 + Number(p), 0);
}

const intToIp = (value: number): string => [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");

function parseSubnet(cidr: string): Subnet {
  const [address = "", prefixText = ""] = cidr.split("/");
  const base = ipToInt(address);
  const prefix = /^\d{1,2}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (base === undefined || !(prefix >= 8 && prefix <= 30)) {
    throw new K3tsError("INVALID_ARGUMENT", `invalid subnet ${JSON.stringify(cidr)} (want an IPv4 CIDR from /8 to /30)`, { meta: { cidr } });
  }
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) {
    throw new K3tsError("INVALID_ARGUMENT", `invalid subnet ${cidr}: it should be ${intToIp(base - (base % size))}/${prefix}`, { meta: { cidr } });
  }
  return { cidr, base, size, gateway: intToIp(base + 1) };
}

const overlaps = (a: Subnet, b: Subnet): boolean => a.base < b.base + b.size && b.base < a.base + a.size;

interface MemoryNetwork {
  id: string;
  name: string;
  labels: Record<string, string>;
  subnet: Subnet;
  /** Static addresses need a subnet the caller chose (as in Docker). */
  explicitSubnet: boolean;
}

interface Attachment {
  ipv4: string;
  aliases: string[];
}

interface MemoryVolume {
  name: string;
  labels: Record<string, string>;
  createdAt: string;
  files: FileStore;
}

// ================================================================ nodes

/** Checks every mount up front, so a refused create leaves no volume behind. */
function validateMounts(spec: NodeSpec): void {
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
function effectiveCapabilities(spec: NodeSpec): string {
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
function nodeCommand(spec: NodeSpec): string[] {
  const command = [...(spec.entrypoint ?? []), ...(spec.command ?? [])];
  return command.length > 0 ? command : [...IMAGE_COMMAND];
}

/** A mapping as a node that is not running reports it: the host address resolved, the host port as asked (0: the engine picks). */
function requestedPort(mapping: PortMapping): PublishedPort {
  return { containerPort: mapping.containerPort, protocol: mapping.protocol ?? "tcp", hostIP: mapping.hostIP ?? "127.0.0.1", hostPort: mapping.hostPort ?? 0 };
}

class MemoryNode {
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
  private listeners: PortListener[] = [];
  private process: MainProcess | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly tmpfs: FileStore[];

  constructor(spec: NodeSpec, fs: NodeFs, tmpfs: FileStore[], engine: MemoryEngine) {
    this.spec = spec;
    this.fs = fs;
    this.tmpfs = tmpfs;
    this.machine = {
      fs,
      serve: (port, root) => this.serve(port, root),
      httpGet: (host, port, path) => engine.httpGet(this, host, port, path),
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
    if (this.servers.has(port)) return undefined;
    const server = { root };
    this.servers.set(port, server);
    return () => {
      if (this.servers.get(port) === server) this.servers.delete(port);
    };
  }

  private async openPorts(): Promise<PortListener[]> {
    const listeners: PortListener[] = [];
    try {
      for (const mapping of this.spec.ports ?? []) {
        listeners.push(await openPort(mapping, (req, res) => this.answer(mapping.containerPort, req, res)));
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
      return await runProgram(this.command(), ctx);
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
    this.log.notify();
  }
}

// ================================================================ the engine

/** All state of one memory runtime, shared by its clients. */
class MemoryEngine {
  closed = false;
  readonly images = new Set<string>();
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
    const node = new MemoryNode(frozen, ...this.filesystem(frozen), this);
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
      // PID 1: the node's command, or with `init` the engine's init wrapping it (as docker-init and catatonit do).
      ["/proc/1/cmdline", { content: Buffer.from([...(spec.init ? ["/sbin/docker-init", "--"] : []), ...nodeCommand(spec)].map((a) => `${a}\0`).join("")), mode: 0o444 }],
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

// ================================================================ clients

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

class MemoryNetworks implements NetworkClient {
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

class MemoryVolumes implements VolumeClient {
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

class MemoryNodes implements NodeClient {
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

class MemoryImages implements ImageClient {
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

  async save(refs: string[], options: CallOptions = {}): Promise<Readable> {
    this.engine.guard(options.signal);
    if (refs.length === 0) throw new K3tsError("INVALID_ARGUMENT", "save needs at least one image");
    const missing = refs.filter((ref) => !this.engine.images.has(normalizeRef(ref)));
    if (missing.length > 0) throw new K3tsError("IMAGE_NOT_FOUND", `image ${missing.join(", ")} not found`, { meta: { images: missing } });
    return Readable.from([await dockerSaveArchive([...new Set(refs)])], { objectMode: false });
  }

  async load(archive: Readable, options: CallOptions = {}): Promise<string[]> {
    this.engine.guard(options.signal);
    const refs = await raceAbort(readDockerSaveTags(archive), options.signal, "loading images");
    for (const ref of refs) this.engine.images.add(normalizeRef(ref));
    return refs;
  }
}

// ================================================================ the runtime

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
    for (const ref of options.images ?? DEFAULT_IMAGES) this.engine.images.add(normalizeRef(ref));
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

