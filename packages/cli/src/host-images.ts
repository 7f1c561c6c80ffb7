/**
 * The host process of one cluster's host images (see hostimages/process.ts): `node host-images.js CONFIG`.
 * Makes the runtime again by name, serves the engine's images on the address the nodes reach the host
 * at, writes its state file once it serves and says so over IPC. It ends on SIGTERM/SIGINT, and by
 * itself once the cluster's nodes are gone (deleted without `k3ts cluster delete`), taking its cache with it.
 */
import { rename, rm, writeFile } from "node:fs/promises";
import { K3tsError, LABELS, isK3tsError, selectRuntime, type Logger, type Runtime } from "@k3ts/core";
import { pruneHostImageCache, startClusterHostImages } from "@k3ts/core/internal";
import type { HostImagesMessage, HostImagesProcessConfig, HostImagesProcessState } from "./hostimages/process.js";
import { VERSION } from "./version-line.js";

const write = (level: string, message: string, fields?: Record<string, unknown>) => {
  process.stderr.write(`${new Date().toISOString()} ${level} ${message}${fields && Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : ""}\n`);
};
const logger: Logger = {
  debug: () => {},
  info: (m, f) => write("info", m, f),
  warn: (m, f) => write("warn", m, f),
  error: (m, f) => write("error", m, f),
};

/** How often it looks for the cluster's nodes, and how long it waits for the first one (a create's limit is 5 minutes). */
const WATCH = { everyMs: 30_000, firstNodeMs: 15 * 60_000 };

function send(message: HostImagesMessage): void {
  if (!process.send) return;
  process.send(message);
  process.disconnect?.();
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "") as HostImagesProcessConfig;
  const { runtime } = await selectRuntime({ name: config.runtime, env: process.env, cwd: process.cwd(), resolveFrom: [import.meta.url], context: { logger, k3tsVersion: VERSION } });
  const registry = await startClusterHostImages({ runtime, cacheDir: config.cacheDir, address: config.address, ...(config.port ? { port: config.port } : {}), logger });
  const state: HostImagesProcessState = { pid: process.pid, url: registry.url, cluster: config.cluster, runtime: config.runtime, startedAt: new Date().toISOString(), served: { ...registry.served } };
  const save = async () => {
    await writeFile(`${config.stateFile}.tmp`, `${JSON.stringify(state)}\n`, { mode: 0o600 });
    await rename(`${config.stateFile}.tmp`, config.stateFile);
  };
  await save();
  // What it sent, for `cluster list -o json`: written again (at most once a second) when it changed.
  const saving = setInterval(() => {
    const served = registry.served;
    if (served.manifests === state.served.manifests && served.blobs === state.served.blobs && served.blobBytes === state.served.blobBytes) return;
    state.served = { ...served };
    save().catch((err: unknown) => logger.warn(`writing ${config.stateFile}: ${(err as Error).message}`));
  }, 1000);
  // Not unref'd: it keeps the process up while the registry waits for its address (Podman makes the
  // network's bridge when the first node joins it, and a listener still waiting holds no handle).
  logger.info(`serving the engine's images to the nodes of ${config.cluster} on ${registry.url}`, { pid: process.pid });

  let ending = false;
  const end = async (why: string, removeCache: boolean) => {
    if (ending) return;
    ending = true;
    clearInterval(saving);
    logger.info(`ending: ${why}`, registry.served as unknown as Record<string, unknown>);
    await registry.close().catch((err: unknown) => logger.warn(`closing: ${(err as Error).message}`));
    await rm(config.stateFile, { force: true });
    if (removeCache) await pruneHostImageCache(config.cacheDir).catch((err: unknown) => logger.warn(`removing the cache: ${(err as Error).message}`));
    await runtime.close?.().catch(() => {});
    process.exit(0);
  };
  for (const s of ["SIGTERM", "SIGINT"] as const) process.on(s, () => void end(s, false));
  process.on("SIGHUP", () => {});
  send({ ready: registry.url });
  watch(runtime, config.cluster, config.watch ?? WATCH, (why) => void end(why, true));
}

/** Calls `gone` once the cluster's nodes, seen once, are missing twice in a row (or never came). Engine errors are not an answer. */
function watch(runtime: Runtime, cluster: string, every: typeof WATCH, gone: (why: string) => void): void {
  const since = Date.now();
  let seen = false;
  let missing = 0;
  const timer = setInterval(() => {
    runtime.nodes.list({ labels: { [LABELS.managed]: "true", [LABELS.cluster]: cluster } }).then(
      (nodes) => {
        if (nodes.length) {
          seen = true;
          missing = 0;
        } else if (seen && ++missing >= 2) gone(`the nodes of cluster ${cluster} are gone`);
        else if (!seen && Date.now() - since > every.firstNodeMs) gone(`cluster ${cluster} has no nodes ${Math.round(every.firstNodeMs / 1000)} s on`);
      },
      (err: unknown) => logger.warn(`listing the nodes of ${cluster}: ${(err as Error).message}`),
    );
  }, every.everyMs);
  timer.unref();
}

main().catch((err: unknown) => {
  const e = err instanceof K3tsError ? err : new K3tsError("COMMAND_FAILED", (err as Error)?.message ?? String(err));
  logger.error(e.message);
  send({ error: { code: e.code, message: e.message, ...(isK3tsError(err) && err.hint ? { hint: err.hint } : {}) } });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
