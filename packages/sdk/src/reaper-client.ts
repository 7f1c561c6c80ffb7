/**
 * The program's side of the reaper (reaper.ts): started once per process, on the first cluster to
 * reap, as a detached `node dist/reaper.js` whose stdin is a pipe only this process writes to. Each
 * registration is counted here, so a cluster registered twice (its create, then its handle) is
 * forgotten by the reaper only when the last registration goes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { BUILTIN_RUNTIMES, type Runtime } from "@k3ts/core";
import { formatCommand } from "./reaper-protocol.js";

/** What the reaper needs to delete a cluster: a runtime it can load by name, and the environment to make it with. */
export interface ReapTarget {
  runtime: string;
  /** Delete only what this create made (LABELS.createId). */
  createId?: string;
  /** Absent: the reaper's own environment (this process's, inherited). */
  env?: Record<string, string>;
}

let reaper: ChildProcess | undefined;
/** Set once starting or writing to the reaper failed: no second try, the process falls back to its own clean-up. */
let broken = false;
const counts = new Map<string, number>();

/**
 * The reap target for a runtime as createCluster/getCluster were given it, or undefined when a reaper
 * cannot make it again: a Runtime instance is reaped only when its name is a built-in runtime (made
 * again from the environment), a name or path always.
 */
export function reapTarget(given: Runtime | string | undefined, resolved: Runtime, env: Record<string, string | undefined>): ReapTarget | undefined {
  const ownEnv = env === process.env ? undefined : (Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>);
  if (given !== undefined && typeof given !== "string") {
    return (BUILTIN_RUNTIMES as readonly string[]).includes(resolved.name) ? { runtime: resolved.name } : undefined;
  }
  const name = given ?? env.K3TS_RUNTIME;
  if (!name) return undefined;
  // A relative path is resolved against the directory it was meant for, in case the program changes directory.
  const runtime = name.startsWith(".") ? resolvePath(process.cwd(), name) : name;
  return { runtime, ...(ownEnv ? { env: ownEnv } : {}) };
}

/**
 * reapTarget, with the engine endpoint of a Docker runtime instance kept (its DOCKER_HOST): made again
 * from the environment, it would reach the default engine, which may not be the one the cluster is on.
 */
export async function reapTargetFor(given: Runtime | string | undefined, resolved: Runtime, env: Record<string, string | undefined>): Promise<ReapTarget | undefined> {
  const target = reapTarget(given, resolved, env);
  if (!target || given === undefined || typeof given === "string" || resolved.name !== "docker") return target;
  const endpoint = (await resolved.info().catch(() => undefined))?.endpoint;
  return endpoint && /^(unix|tcp|ssh|npipe):\/\//.test(endpoint) ? { ...target, env: { DOCKER_HOST: endpoint } } : target;
}

/** Whether the reaper is on: not with `reaper: false`, nor with K3TS_REAPER=0 (or false/no/off) in the environment. */
export function reaperEnabled(option: boolean | undefined, env: Record<string, string | undefined>): boolean {
  if (option !== undefined) return option;
  return !/^(0|false|no|off)$/i.test(env.K3TS_REAPER ?? "");
}

function start(): ChildProcess | undefined {
  if (reaper || broken) return reaper;
  const entry = fileURLToPath(new URL("./reaper.js", import.meta.url));
  // Run from source (the sdk's own tests), there is no built reaper next to this module.
  if (!existsSync(entry)) {
    broken = true;
    return undefined;
  }
  try {
    const child = spawn(process.execPath, [entry], { detached: true, stdio: ["pipe", "ignore", "ignore"], cwd: process.cwd(), env: process.env });
    child.on("error", () => {
      broken = true;
      reaper = undefined;
    });
    child.on("exit", () => {
      // It only ends by itself once this process closed the pipe; otherwise something killed it.
      broken = true;
      reaper = undefined;
    });
    child.stdin!.on("error", () => {
      broken = true;
      reaper = undefined;
    });
    // Neither the process nor the pipe keeps this program alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    reaper = child;
    return child;
  } catch {
    broken = true;
    return undefined;
  }
}

function send(line: string): boolean {
  const child = start();
  if (!child?.stdin || broken) return false;
  try {
    child.stdin.write(line);
    return true;
  } catch {
    broken = true;
    return false;
  }
}

/**
 * Registers the cluster with the reaper (started on first use). Returns the function that forgets
 * it again (call it once the cluster is deleted or handed over), or undefined when there is no reaper
 * (it could not start; the process's own clean-up and the stderr message at exit remain).
 */
export function reapOnCrash(cluster: string, target: ReapTarget): (() => void) | undefined {
  const count = counts.get(cluster) ?? 0;
  if (count === 0 && !send(formatCommand({ op: "+", cluster, ...target }))) return undefined;
  counts.set(cluster, count + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const left = (counts.get(cluster) ?? 1) - 1;
    if (left > 0) {
      counts.set(cluster, left);
      return;
    }
    counts.delete(cluster);
    if (reaper && !broken) send(formatCommand({ op: "-", cluster }));
  };
}

/** Whether the reaper holds this cluster now (for the message at exit). */
export function isReaped(cluster: string): boolean {
  return reaper !== undefined && !broken && (counts.get(cluster) ?? 0) > 0;
}
