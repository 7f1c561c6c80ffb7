/**
 * Runs the podman binary through execa. This is the only module that starts processes; it knows
 * nothing about containers: it reports exit codes and output, and raises only for aborts, timeouts
 * and a binary that cannot be started. Callers translate non-zero exits (see translate.ts).
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { Readable, type Writable } from "node:stream";
import { execa } from "execa";
import { K3tsError, abortedError, throwIfAborted, type Logger } from "@k3ts/core";
import { redactSecrets } from "@k3ts/core/internal";
import { subcommand, tail } from "./translate.js";

export interface PodmanCliOptions {
  /** The podman binary (a name looked up on PATH, or a path). */
  binary: string;
  /** Extra environment for every podman process (e.g. CONTAINER_HOST, CONTAINERS_CONF). */
  env?: Record<string, string>;
  logger: Logger;
}

export interface SpawnOptions {
  signal?: AbortSignal;
  /** Data for podman's stdin; stdin is closed after it (and is /dev/null when absent). */
  stdin?: string | Uint8Array | Readable;
  /** Kill podman after this long (`TIMEOUT`). */
  timeoutMs?: number;
}

export interface RunOptions extends SpawnOptions {
  /** Stream stdout here instead of collecting it (the writable is not ended). */
  stdout?: Writable;
  /** Stream stderr here instead of collecting it; the tail is still kept for error messages. */
  stderr?: Writable;
  /** Sees every stderr chunk as it arrives (progress parsing). */
  onStderr?: (chunk: Buffer) => void;
}

export interface RunResult {
  argv: string[];
  exitCode: number;
  /** Collected stdout (empty when streamed). */
  stdout: Buffer;
  /** Collected stderr (empty when streamed). */
  stderr: Buffer;
  /** The last few KB of stderr, streamed or not, as text. */
  stderrTail: string;
}

const STDERR_KEEP = 16 * 1024;
/** SIGTERM first; SIGKILL if podman is still there after this long. */
const FORCE_KILL_AFTER_MS = 2_000;

function spawnOptions(options: SpawnOptions, env: Record<string, string> | undefined) {
  return {
    buffer: false,
    reject: false,
    encoding: "buffer",
    stdin: options.stdin === undefined ? "ignore" : "pipe",
    stdout: "pipe",
    stderr: "pipe",
    forceKillAfterDelay: FORCE_KILL_AFTER_MS,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    ...(env ? { env } : {}),
  } as const;
}

/** Reads a stream to its end; resolves with what arrived even when the stream breaks (the exit status tells). */
function drain(stream: Readable | null, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve) => {
    if (!stream) return resolve();
    stream.on("data", (chunk: Buffer) => onChunk(chunk));
    stream.once("end", () => resolve());
    stream.once("close", () => resolve());
    stream.once("error", () => resolve());
  });
}

/** Forwards a stream into a writable the caller owns (with backpressure, without ending it). */
function forward(stream: Readable | null, target: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (!stream) return resolve();
    stream.pipe(target, { end: false });
    const done = () => {
      stream.unpipe(target);
      resolve();
    };
    stream.once("end", done);
    stream.once("close", done);
    stream.once("error", done);
  });
}

function feed(stdin: Writable | null, input: SpawnOptions["stdin"]): Promise<unknown> {
  if (!stdin || input === undefined) return Promise.resolve();
  // podman may exit before reading everything (e.g. an unknown container): EPIPE is not our error.
  stdin.on("error", () => {});
  const source = input instanceof Readable ? input : Readable.from([Buffer.from(input)]);
  return new Promise<void>((resolve, reject) => {
    source.once("error", reject);
    source.once("end", resolve);
    stdin.once("close", resolve);
    source.pipe(stdin);
  });
}

/**
 * The absolute path of `binary` (looked up on PATH like a shell does), or `binary` itself when it
 * cannot be found. Used to report where the engine was reached.
 */
export function locateBinary(binary: string, path = process.env.PATH ?? ""): string {
  if (binary.includes("/")) return resolve(binary);
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return binary;
}

/** A podman process whose output the caller streams (logs, save). */
export interface OpenProcess {
  stdout: Readable;
  stderr: Readable;
  /**
   * Settles once podman exited and its output ended: the exit code and the tail of stderr, or the
   * rejections of {@link PodmanCli.settle}. Always observed, so it never rejects unhandled.
   */
  done: Promise<{ exitCode: number; stderrTail: string }>;
  /** Stops podman if it is still running (the caller stopped reading). */
  stop(): void;
}

const closed = (stream: Readable) => new Promise<void>((resolve) => stream.once("close", () => resolve()));

export class PodmanCli {
  readonly binary: string;
  readonly #env: Record<string, string> | undefined;
  readonly #logger: Logger;

  constructor(options: PodmanCliOptions) {
    this.binary = options.binary;
    this.#env = options.env;
    this.#logger = options.logger;
  }

  /** Starts podman with piped stdout/stderr; the caller reads them and then awaits {@link settle}. */
  spawn(args: string[], options: SpawnOptions = {}) {
    throwIfAborted(options.signal, `podman ${subcommand(args)}`);
    this.#logger.debug("podman", { argv: redactSecrets(args) });
    const child = execa(this.binary, args, spawnOptions(options, this.#env));
    const fed = feed(child.stdin, options.stdin);
    return { child, fed };
  }

  /**
   * Waits for a spawned podman to exit. Resolves with its exit code; rejects with `ABORTED` when the
   * signal fired, `TIMEOUT`, or `RUNTIME_UNAVAILABLE` when the binary could not be started.
   */
  async settle(spawned: ReturnType<PodmanCli["spawn"]>, args: string[], options: SpawnOptions = {}): Promise<number> {
    const [result, fedError] = await Promise.all([spawned.child, spawned.fed.then(() => undefined, (err: unknown) => err)]);
    const what = `podman ${subcommand(args)}`;
    if (result.isCanceled) throw abortedError(options.signal, what);
    if (result.timedOut) {
      throw new K3tsError("TIMEOUT", `${what} did not finish within ${options.timeoutMs} ms`, {
        meta: { argv: ["podman", ...args], binary: this.binary, timeoutMs: options.timeoutMs },
      });
    }
    if (result.signal) {
      throw new K3tsError("COMMAND_FAILED", `${what} was killed by ${result.signal}`, {
        meta: { argv: ["podman", ...args], binary: this.binary, signal: result.signal },
      });
    }
    if (result.exitCode === undefined) throw this.#spawnError(result.code, result.cause, args);
    if (fedError !== undefined) throw fedError;
    return result.exitCode;
  }

  /** Starts podman for output the caller reads as it comes. */
  open(args: string[], options: SpawnOptions = {}): OpenProcess {
    const spawned = this.spawn(args, options);
    const { stdout, stderr } = spawned.child;
    let stderrTail = "";
    stderr.on("data", (chunk: Buffer) => (stderrTail = (stderrTail + chunk.toString("utf8")).slice(-STDERR_KEEP)));
    let running = true;
    const done = Promise.all([this.settle(spawned, args, options), closed(stdout), closed(stderr)])
      .then(([exitCode]) => ({ exitCode, stderrTail }))
      .finally(() => (running = false));
    done.catch(() => {});
    return {
      stdout,
      stderr,
      done,
      stop: () => {
        if (running) spawned.child.kill();
      },
    };
  }

  /** Runs podman to completion. A non-zero exit is a result; see {@link settle} for what rejects. */
  async run(args: string[], options: RunOptions = {}): Promise<RunResult> {
    const spawned = this.spawn(args, options);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let errTail = "";
    const keepTail = (chunk: Buffer) => {
      errTail = (errTail + chunk.toString("utf8")).slice(-STDERR_KEEP);
      options.onStderr?.(chunk);
    };
    const stdoutDone = options.stdout ? forward(spawned.child.stdout, options.stdout) : drain(spawned.child.stdout, (c) => out.push(c));
    const stderrDone = drain(spawned.child.stderr, (c) => {
      keepTail(c);
      if (options.stderr) options.stderr.write(c);
      else err.push(c);
    });
    const [exitCode] = await Promise.all([this.settle(spawned, args, options), stdoutDone, stderrDone]);
    return { argv: args, exitCode, stdout: Buffer.concat(out), stderr: Buffer.concat(err), stderrTail: errTail };
  }

  #spawnError(code: unknown, cause: unknown, args: string[]): K3tsError {
    const argv = ["podman", ...args];
    if (code === "ENOENT") {
      const where = this.binary.includes("/") ? `at ${this.binary}` : `on PATH (looked for "${this.binary}")`;
      return new K3tsError("RUNTIME_UNAVAILABLE", `the podman binary was not found ${where}`, {
        cause,
        meta: { argv, binary: this.binary },
        hint: "install podman, or pass the path of its binary",
      });
    }
    const message = cause instanceof Error ? cause.message : String(cause);
    return new K3tsError("RUNTIME_UNAVAILABLE", `podman could not be started: ${tail(message, 300)}`, {
      cause,
      meta: { argv, binary: this.binary },
    });
  }
}
