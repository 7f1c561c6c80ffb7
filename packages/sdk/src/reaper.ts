/**
 * The reaper: a small detached Node process a program starts (reaper-client.ts) when it makes a
 * cluster that is not kept, like testcontainers' Ryuk but without a container. It reads `+`/`-` lines
 * (reaper-protocol.ts) from its stdin, a pipe whose other end only the program holds. When the pipe
 * closes (the program ended in any way: process.exit(), an uncaught exception, SIGKILL, a crash)
 * it deletes every cluster still registered (reap-cluster.ts: with its host-images cache), then exits. A program that
 * deleted its clusters has unregistered them, so the reaper then just exits.
 *
 * Not part of the API: built as dist/reaper.js and run with `node dist/reaper.js`.
 */
import { createInterface } from "node:readline";
import { VERSION, selectRuntime, type Runtime } from "@k3ts/core";
import { reapCluster } from "./reap-cluster.js";
import { applyCommand, parseCommand } from "./reaper-protocol.js";

type Registered = Map<string, { runtime: string; createId?: string; env?: Record<string, string> }>;

/** A second sweep this long after the first catches what an engine call in flight when the program died still made. */
const SECOND_SWEEP_MS = 2_000;
/** The reaper never outlives an engine that hangs by more than this. */
const GIVE_UP_MS = 5 * 60_000;

async function sweep(registered: Registered, runtimes: Map<string, Promise<Runtime>>): Promise<void> {
  await Promise.all(
    [...registered].map(async ([cluster, { runtime: name, createId, env }]) => {
      const key = `${name}\0${env ? JSON.stringify(env) : ""}`;
      let runtime = runtimes.get(key);
      if (!runtime) {
        const e = env ?? process.env;
        runtime = selectRuntime({ name, env: e, resolveFrom: [import.meta.url], context: { env: e, k3tsVersion: VERSION } }).then((s) => s.runtime);
        runtimes.set(key, runtime);
      }
      try {
        await reapCluster(cluster, await runtime, { env: env ?? process.env, ...(createId ? { createId } : {}) });
      } catch {
        // Nobody to tell: the program is gone. The cluster stays, as it would without a reaper.
      }
    }),
  );
}

async function reap(registered: Registered): Promise<void> {
  if (registered.size === 0) return;
  const runtimes = new Map<string, Promise<Runtime>>();
  await sweep(registered, runtimes);
  await new Promise((resolve) => setTimeout(resolve, SECOND_SWEEP_MS));
  await sweep(registered, runtimes);
  await Promise.all([...runtimes.values()].map((r) => r.then((rt) => rt.close?.()).catch(() => {})));
}

function main(): void {
  const registered: Registered = new Map();
  // Signals meant for the program's process group are not for the reaper (it is in its own session anyway).
  for (const signal of ["SIGINT", "SIGHUP"] as const) process.on(signal, () => {});
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on("line", (line) => {
    const command = parseCommand(line);
    if (command) applyCommand(registered, command);
  });
  lines.on("close", () => {
    setTimeout(() => process.exit(0), GIVE_UP_MS).unref();
    reap(registered).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main();
