/** The busybox a memory node runs instead of its image: echo, cat, wc, sleep, stat, wget, httpd (sh is the shell's, shell.ts). */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { posix } from "node:path";
import { K3tsError } from "../../errors.js";
import { type FileStat, FsError, type NodeFs } from "./fs.js";
import type { Input, Output } from "./io.js";
import { delay } from "./util.js";

export interface ProcessIo {
  stdin: Input;
  stdout: Output;
  stderr: Output;
}

export interface HttpReply {
  status: number;
  contentType: string;
  body: Buffer;
}

export type HttpGetResult =
  | { kind: "bad-address" }
  | { kind: "refused"; ip: string }
  | { kind: "reply"; ip: string; reply: HttpReply };

/** What an emulated program sees of the node it runs in. */
export interface Machine {
  readonly fs: NodeFs;
  /** The programs the node's image holds (see MemoryImageBehaviour), found before busybox's. */
  readonly programs: ReadonlyMap<string, Program>;
  /** The node's address on its first network, if it has one. */
  address(): string | undefined;
  /** What `host` resolves to from this node, as the engine's DNS answers (undefined: not found). */
  resolve(host: string): string | undefined;
  /** Serves `dir` over HTTP on `port` inside the node; returns the function that stops it, or undefined when the port is taken. */
  serve(port: number, dir: string): (() => void) | undefined;
  /** An HTTP GET from this node to `host:port` (resolved like the engine's DNS would). */
  httpGet(host: string, port: number, path: string): HttpGetResult;
  /**
   * Takes TCP connections to `port` inside the node, from other nodes (`connect`) and through a host port published
   * for it. Resolves to the function that stops listening, or undefined when the port is taken. Listeners end with the
   * node's main process.
   */
  listen(port: number, onConnection: (socket: Socket) => void): Promise<(() => void) | undefined>;
  /**
   * A TCP connection from this node to `host:port`, the host resolved as the engine's DNS would (its own name,
   * localhost, a node on a common network by name, alias or address). Rejects as a socket does: `ENOTFOUND` for a
   * name that does not resolve, `ECONNREFUSED` when nothing listens there.
   */
  connect(host: string, port: number): Promise<Socket>;
}

export interface ProcessContext {
  io: ProcessIo;
  env: Record<string, string>;
  cwd: string;
  machine: Machine;
  /** Fires when the process is killed (its node stops) or its caller aborts. */
  signal: AbortSignal;
}

export type Program = (args: string[], ctx: ProcessContext) => Promise<number>;

/** Something valid that the emulation does not do: a clear error rather than a wrong answer. */
export function unsupported(construct: string): K3tsError<"INVALID_ARGUMENT"> {
  return new K3tsError("INVALID_ARGUMENT", `the memory runtime does not emulate ${construct}`, {
    meta: { construct },
    hint: "keep commands run on the memory runtime within its busybox subset (see @k3ts/core testing/memory.ts)",
  });
}

/** Reads a file for a program; on failure writes busybox's message and returns undefined. */
export async function readArgument(program: string, path: string, ctx: ProcessContext): Promise<Buffer | undefined> {
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

export const echo: Program = async (args, { io }) => {
  const noNewline = args[0] === "-n";
  const words = noNewline ? args.slice(1) : args;
  if (words[0] === "-e" || words[0] === "-E") throw unsupported(`echo ${words[0]}`);
  await io.stdout.write(words.join(" ") + (noNewline ? "" : "\n"));
  return 0;
};

export const cat: Program = async (args, ctx) => {
  const { positional } = parseOptions("cat", args, {});
  let status = 0;
  for (const source of positional.length > 0 ? positional : ["-"]) {
    const content = source === "-" ? await ctx.io.stdin.readAll() : await readArgument("cat", source, ctx);
    if (content) await ctx.io.stdout.write(content);
    else status = 1;
  }
  return status;
};

export const wc: Program = async (args, ctx) => {
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

export const sleep: Program = async (args, { io, signal }) => {
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

export const stat: Program = async (args, ctx) => {
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

export const wget: Program = async (args, ctx) => {
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
export const httpd: Program = async (args, ctx) => {
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
