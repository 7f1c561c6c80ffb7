/**
 * Deleting clusters when the process ends. Deletion talks to the engine, so it is asynchronous, and
 * Node only waits for asynchronous work at some endings:
 *
 * - SIGINT, SIGTERM, SIGHUP: a create still running is aborted (core rolls it back), every cluster
 *   registered here is deleted, then the signal is raised again so the process ends as it would have
 *   (exit 130 for Ctrl-C). If the program has its own listener for that signal, the sdk cleans up
 *   and leaves the exit to it (a library's handler, signal-exit's as execa installs it, is not the
 *   program's). A second signal during the clean-up ends the process at once.
 * - `beforeExit` (the event loop ran dry): every registered cluster is deleted, then the process ends.
 * - `process.exit()`, an uncaught exception, SIGKILL, a crash: no asynchronous work can run here.
 *   The reaper (reaper.ts, a detached watchdog process, like testcontainers' Ryuk without a
 *   container) deletes the clusters registered with it once this process's pipe to it closes. The
 *   'exit' handler says so on stderr, and for clusters no reaper holds (`reaper: false`, a Runtime
 *   instance it cannot make again) names them with the command that deletes them.
 */
import { K3tsError, type Logger } from "@k3ts/core";

export interface CleanupEntry {
  /** The cluster, for messages. */
  name: string;
  /** Aborted when the process is asked to end (a create in progress then rolls back). */
  controller: AbortController;
  /** Work in progress on the cluster (its create) that must settle before it is deleted. */
  pending?: Promise<unknown>;
  /** Deletes the cluster. */
  dispose(): Promise<unknown>;
  logger: Logger;
  /** Whether the reaper deletes the cluster should this process end without doing so (for the message at exit). */
  reaped?: () => boolean;
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
type Signal = (typeof SIGNALS)[number];

const entries = new Set<CleanupEntry>();
let installed = false;
let running: Promise<void> | undefined;
/** Set while a signal the SDK alone handles is being answered: the clean-up, then that signal ends the process. */
let endingBySignal = false;

/**
 * True while the process is being ended by a signal the SDK handles (it cleans up, then re-raises the
 * signal). A create that this aborted must not settle into the program: without the SDK the signal
 * would have ended the process at once, and a rejection there would end it with an unhandled error
 * (exit 1) instead of the signal, racing the re-raised signal.
 */
export function processEndingBySignal(): boolean {
  return endingBySignal;
}

async function cleanAll(reason: string): Promise<void> {
  const all = [...entries];
  for (const e of all) e.controller.abort(new K3tsError("ABORTED", `cluster ${e.name}: ${reason}`));
  await Promise.all(
    all.map(async (e) => {
      await e.pending?.catch(() => {});
      try {
        await e.dispose();
      } catch (err) {
        e.logger.error(`could not delete cluster ${e.name} on ${reason}: ${(err as Error).message}`);
      }
      entries.delete(e);
    }),
  );
}

/**
 * How many listeners of `signal` are the program's own: all but the SDK's and signal-exit's. execa
 * (the Podman runtime's, or any plugin's) installs signal-exit's handlers while a subprocess runs; they
 * act only when they are alone (signal-exit re-raises then), so they are no program handling the
 * signal. Counted as signal-exit itself counts them: v4 keeps its emitter at
 * `Symbol.for("signal-exit emitter")`, v3 at `process.__signal_exit_emitter__`, each with `count`
 * listeners per signal.
 */
function programListeners(signal: Signal): number {
  const v4 = (globalThis as Record<symbol, { count?: unknown } | undefined>)[Symbol.for("signal-exit emitter")]?.count;
  const v3 = (process as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__?.count;
  const library = (typeof v4 === "number" ? v4 : 0) + (typeof v3 === "number" ? v3 : 0);
  return Math.max(0, process.listenerCount(signal) - 1 - library);
}

function onSignal(signal: Signal): void {
  if (running) {
    // A second signal: stop waiting for the clean-up.
    uninstall();
    process.kill(process.pid, signal);
    return;
  }
  const alone = programListeners(signal) === 0;
  endingBySignal = alone;
  running = cleanAll(`${signal}`).finally(() => {
    running = undefined;
    uninstall();
    if (alone) process.kill(process.pid, signal);
  });
}

function onBeforeExit(): void {
  if (running || entries.size === 0) return;
  running = cleanAll("process exit").finally(() => {
    running = undefined;
    if (entries.size === 0) uninstall();
  });
}

function onExit(): void {
  if (entries.size === 0) return;
  const all = [...entries];
  const reaped = [...new Set(all.filter((e) => e.reaped?.() === true).map((e) => e.name))];
  const names = [...new Set(all.filter((e) => e.reaped?.() !== true).map((e) => e.name))].filter((n) => !reaped.includes(n));
  if (reaped.length) process.stderr.write(`k3ts: the process exited before it could delete cluster(s) ${reaped.join(", ")}; its reaper deletes them now\n`);
  if (names.length) {
    process.stderr.write(
      `k3ts: the process exited before it could delete cluster(s) ${names.join(", ")}; delete with: ${names.map((n) => `k3ts cluster delete ${n}`).join("; ")}\n`,
    );
  }
}

const handlers = new Map<Signal, () => void>(SIGNALS.map((s) => [s, () => onSignal(s)]));

function install(): void {
  if (installed) return;
  installed = true;
  for (const [signal, handler] of handlers) process.on(signal, handler);
  process.on("beforeExit", onBeforeExit);
  process.on("exit", onExit);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  process.removeListener("beforeExit", onBeforeExit);
  process.removeListener("exit", onExit);
}

/** Deletes the cluster when the process ends (see above). Returns the function that forgets it again. */
export function deleteOnExit(entry: CleanupEntry): () => void {
  entries.add(entry);
  install();
  return () => {
    entries.delete(entry);
    if (entries.size === 0 && !running) uninstall();
  };
}

/** How many clusters are waiting to be deleted at exit (for tests and diagnostics). */
export function pendingExitCleanups(): number {
  return entries.size;
}
