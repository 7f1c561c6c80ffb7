/**
 * The host process of a cluster's host images (issue 18): `node dist/host-images.js`, detached, one per
 * cluster, serving the engine's images to the nodes on the address they reach the host at. `cluster
 * create` and `cluster start` start it, `cluster stop` and `cluster delete` end it; it outlives the CLI.
 *
 * What it leaves on the host, all under `$XDG_STATE_HOME/k3ts/host-images/` (default `~/.local/state`):
 * `<cluster>/` (the cache, core's HostImageCache), `<cluster>.process.json` (pid and endpoint, written by
 * the process once it serves, removed when it ends) and `<cluster>.log`. `cluster delete` removes all three.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { ERROR_CODES, K3tsError, type ErrorCode } from "@k3ts/core";
import { hostImagesCacheDir, pruneHostImageCache } from "@k3ts/core/internal";

/** What the host process is given (as its one argument, JSON). */
export interface HostImagesProcessConfig {
  cluster: string;
  /** The runtime to make again: a built-in or plugin name, or a plugin's absolute path. */
  runtime: string;
  /** The address the nodes reach the host at. */
  address: string;
  /** 0: a free one (a create); the recorded one for a start. */
  port: number;
  cacheDir: string;
  stateFile: string;
  /** How often it looks for the cluster's nodes, and how long it waits for the first (defaults: 30 s, 15 minutes). */
  watch?: { everyMs: number; firstNodeMs: number };
}

/** What `<cluster>.process.json` holds. */
export interface HostImagesProcessState {
  pid: number;
  url: string;
  cluster: string;
  runtime: string;
  startedAt: string;
  /** What it sent the nodes so far: manifests, blobs and the blobs' bytes. */
  served: { manifests: number; blobs: number; blobBytes: number };
}

/** A cluster's host process as `cluster list -o json` shows it. */
export interface HostImagesProcessInfo {
  url: string;
  pid: number;
  running: boolean;
  startedAt: string;
  served: HostImagesProcessState["served"];
}

/** The host process's messages over its IPC channel: one, then it disconnects. */
export type HostImagesMessage = { ready: string } | { error: { code?: string; message: string; hint?: string } };

/** Where a cluster's host images live on the host. */
export function hostImagesFiles(cluster: string, env: Record<string, string | undefined>): { cacheDir: string; state: string; log: string } {
  const cacheDir = hostImagesCacheDir(cluster, env);
  return { cacheDir, state: `${cacheDir}.process.json`, log: `${cacheDir}.log` };
}

/** The built entry of the host process (beside this module in dist/; from src/ in the CLI's own tests). */
function entry(): string {
  for (const rel of ["./host-images.js", "../../dist/host-images.js"]) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new K3tsError("FILE_NOT_FOUND", "host images: the CLI's host-images.js is not built (run pnpm build)");
}

async function readState(file: string): Promise<HostImagesProcessState | undefined> {
  try {
    const value = JSON.parse(await readFile(file, "utf8")) as Partial<HostImagesProcessState>;
    return typeof value.pid === "number" && typeof value.url === "string" && typeof value.cluster === "string" ? (value as HostImagesProcessState) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is this cluster's host process (on Linux its command line says so; elsewhere: that it is alive). */
async function isOurs(pid: number, cluster: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    // ESRCH: gone; EPERM: another user's process, so not this user's host process.
    return false;
  }
  if (process.platform !== "linux") return true;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
  if (cmdline === undefined) return false;
  const args = cmdline.split("\0");
  return args.some((a) => a.endsWith("host-images.js")) && args.some((a) => a.includes(`"cluster":${JSON.stringify(cluster)}`));
}

/** The cluster's host process, as its state file says and the process table confirms; undefined when it never ran or its file is gone. */
export async function hostImagesProcess(cluster: string, env: Record<string, string | undefined>): Promise<HostImagesProcessInfo | undefined> {
  const state = await readState(hostImagesFiles(cluster, env).state);
  if (!state || state.cluster !== cluster) return undefined;
  return { url: state.url, pid: state.pid, running: await isOurs(state.pid, cluster), startedAt: state.startedAt, served: state.served ?? { manifests: 0, blobs: 0, blobBytes: 0 } };
}

export interface StartHostImagesOptions {
  cluster: string;
  runtime: string;
  address: string;
  port?: number;
  env: Record<string, string | undefined>;
  cwd: string;
  signal?: AbortSignal;
  /** As HostImagesProcessConfig.watch. */
  watch?: HostImagesProcessConfig["watch"];
}

/** How long the host process has to say it serves (its runtime made, its cache opened). */
const READY_MS = 60_000;

/**
 * Starts the cluster's host process and waits until it serves (or says why it cannot): its endpoint.
 * The process is detached (its own session: the terminal's Ctrl-C and hang-up do not reach it) and
 * writes to `<cluster>.log`; the CLI can exit at once.
 */
export async function startHostImagesProcess(options: StartHostImagesOptions): Promise<{ url: string; pid: number }> {
  const files = hostImagesFiles(options.cluster, options.env);
  const config: HostImagesProcessConfig = { cluster: options.cluster, runtime: options.runtime, address: options.address, port: options.port ?? 0, cacheDir: files.cacheDir, stateFile: files.state, ...(options.watch ? { watch: options.watch } : {}) };
  await mkdir(dirname(files.cacheDir), { recursive: true, mode: 0o700 });
  const log = openSync(files.log, "a", 0o600);
  let child;
  try {
    child = spawn(process.execPath, [entry(), JSON.stringify(config)], {
      detached: true,
      stdio: ["ignore", log, log, "ipc"],
      cwd: options.cwd,
      env: Object.fromEntries(Object.entries(options.env).filter(([, v]) => v !== undefined)) as Record<string, string>,
    });
  } finally {
    closeSync(log);
  }
  const started = child;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new K3tsError("TIMEOUT", `host images: the host process did not start serving within ${READY_MS / 1000}s${logTail(files.log)}`)), READY_MS);
      const onAbort = () => reject(new K3tsError("ABORTED", "host images: aborted while the host process started"));
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
      };
      started.on("message", (m: HostImagesMessage) => {
        done();
        if ("ready" in m) resolve(m.ready);
        else reject(new K3tsError(codeOf(m.error.code), `host images: ${m.error.message}`, m.error.hint ? { hint: m.error.hint } : {}));
      });
      started.on("error", (err) => {
        done();
        reject(new K3tsError("COMMAND_FAILED", `host images: could not start the host process: ${err.message}`, { cause: err }));
      });
      started.on("exit", (code, sig) => {
        done();
        reject(new K3tsError("COMMAND_FAILED", `host images: the host process ended before serving (${sig ?? `exit ${code}`})${logTail(files.log)}`));
      });
    });
    started.removeAllListeners();
    if (started.connected) started.disconnect();
    started.unref();
    return { url, pid: started.pid! };
  } catch (err) {
    started.removeAllListeners();
    if (started.connected) started.disconnect();
    if (started.exitCode === null && started.signalCode === null) {
      // Ended here (a timeout, Ctrl-C): it may have written its state file already.
      const exited = new Promise((r) => started.once("exit", r));
      started.kill("SIGKILL");
      await exited;
      if ((await readState(files.state))?.pid === started.pid) await rm(files.state, { force: true });
      await rm(`${files.state}.tmp`, { force: true });
    }
    started.unref();
    throw err;
  }
}

/** The host process's error code, when it is one of k3ts's. */
const codeOf = (code: string | undefined): ErrorCode => ((ERROR_CODES as readonly string[]).includes(code ?? "") ? (code as ErrorCode) : "COMMAND_FAILED");

/** The last lines of the host process's log, for an error (the log itself goes with what failed). */
function logTail(file: string): string {
  try {
    const lines = readFileSync(file, "utf8").trim().split("\n").slice(-3).join("\n  ");
    return lines ? `:\n  ${lines}` : "";
  } catch {
    return "";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Ends the cluster's host process (SIGTERM, then SIGKILL after 10 s) and removes its state file: whether one was running. */
export async function stopHostImagesProcess(cluster: string, env: Record<string, string | undefined>): Promise<boolean> {
  const files = hostImagesFiles(cluster, env);
  const state = await readState(files.state);
  let ran = false;
  if (state && state.cluster === cluster && (await isOurs(state.pid, cluster))) {
    ran = true;
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(state.pid, s);
      } catch {
        /* gone */
      }
    };
    signal("SIGTERM");
    for (let waited = 0; await isOurs(state.pid, cluster); waited += 50) {
      if (waited === 10_000) signal("SIGKILL");
      if (waited > 15_000) throw new K3tsError("RUNTIME_ERROR", `host images: process ${state.pid} of cluster ${cluster} did not end`, { meta: { pid: state.pid } });
      await sleep(50);
    }
  }
  await rm(files.state, { force: true });
  return ran;
}

/** Ends the cluster's host process and removes its cache, state and log: what was removed, for the delete's report. */
export async function removeHostImages(cluster: string, env: Record<string, string | undefined>): Promise<string[]> {
  const files = hostImagesFiles(cluster, env);
  const removed: string[] = [];
  if (await stopHostImagesProcess(cluster, env)) removed.push(`host images process of ${cluster}`);
  if (existsSync(files.cacheDir)) {
    await pruneHostImageCache(files.cacheDir);
    removed.push(`host images cache ${files.cacheDir}`);
  }
  await rm(files.log, { force: true });
  return removed;
}
