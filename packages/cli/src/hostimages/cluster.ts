/**
 * The CLI's host images, per cluster command: a create serves them through a host process (on unless
 * said off), a start starts it again where the nodes expect it, stop and delete end it, list shows it.
 */
import { isAbsolute, resolve } from "node:path";
import { LABELS, isK3tsError, type HostImagesServer, type Runtime } from "@k3ts/core";
import { recordedHostImagesEndpoint } from "@k3ts/core/internal";
import type { CommandContext } from "../context.js";
import { hostImagesProcess, removeHostImages, startHostImagesProcess, stopHostImagesProcess, type HostImagesProcessInfo } from "./process.js";

/** The runtime as the host process makes it again, and its environment (a Docker engine found through a context is named by DOCKER_HOST). */
async function processTarget(ctx: CommandContext, runtime: Runtime): Promise<{ runtime: string; env: Record<string, string | undefined> }> {
  const given = ctx.runtimeName ?? ctx.env.K3TS_RUNTIME;
  const name = given && (given.startsWith(".") || isAbsolute(given)) ? resolve(ctx.cwd, given) : (given ?? runtime.name);
  if (runtime.name !== "docker" || ctx.env.DOCKER_HOST) return { runtime: name, env: ctx.env };
  const endpoint = (await runtime.info().catch(() => undefined))?.endpoint;
  return { runtime: name, env: endpoint && /^(unix|tcp|ssh):\/\//.test(endpoint) ? { ...ctx.env, DOCKER_HOST: endpoint } : ctx.env };
}

/**
 * How a create serves host images, through a host process of the cluster's. `asked`: the flags or the file turned
 * them on, and a host process that does not start fails the create; otherwise they are on by default (core's
 * create turns them off where the engine cannot serve them: `HostImagesSpec.optional`), and a host process that
 * does not start turns them off with a warning.
 */
export function createHostImages(ctx: CommandContext, runtime: Runtime, asked: boolean): HostImagesServer {
  return async ({ cluster, address, signal }) => {
    try {
      const target = await processTarget(ctx, runtime);
      const { url } = await startHostImagesProcess({ cluster, runtime: target.runtime, env: target.env, cwd: ctx.cwd, address, ...(signal ? { signal } : {}) });
      return { endpoint: url, close: async () => void (await removeHostImages(cluster, ctx.env)) };
    } catch (err) {
      // Nothing of a host process that did not start stays (its cache, log): the create's rollback does not know of it.
      await removeHostImages(cluster, ctx.env);
      if (asked || isK3tsError(err, "ABORTED")) throw err;
      ctx.out.warn(`host images off for ${cluster}: ${(err as Error).message}`);
      return undefined;
    }
  };
}

/**
 * Starts a cluster's host process again if its nodes name a host-images endpoint and none serves it:
 * before the nodes start, so k3s finds it when it reads registries.yaml. A port someone else took is a
 * warning (the nodes then pull from the registries themselves).
 */
export async function resumeHostImages(ctx: CommandContext, runtime: Runtime, cluster: string): Promise<void> {
  if ((await hostImagesProcess(cluster, ctx.env))?.running) return;
  const nodes = await runtime.nodes.list({ labels: { [LABELS.managed]: "true", [LABELS.cluster]: cluster, [LABELS.role]: "server" } }, { signal: ctx.signal });
  const server0 = nodes.find((n) => n.labels[LABELS.nodeIndex] === "0") ?? nodes[0];
  const endpoint = server0 ? await recordedHostImagesEndpoint(runtime, server0.name, ctx.signal) : undefined;
  if (!endpoint) return;
  const url = new URL(endpoint);
  const target = await processTarget(ctx, runtime);
  try {
    await startHostImagesProcess({ cluster, runtime: target.runtime, env: target.env, cwd: ctx.cwd, address: url.hostname, port: Number(url.port), signal: ctx.signal });
    ctx.out.info(`host images of ${cluster} served again on ${endpoint}`);
  } catch (err) {
    if (isK3tsError(err, "ABORTED")) throw err;
    ctx.out.warn(`host images of ${cluster} not served: ${(err as Error).message}; the nodes pull from the registries themselves`);
  }
}

/** Ends a cluster's host process (a stop). */
export async function stopHostImages(ctx: CommandContext, cluster: string): Promise<void> {
  await stopHostImagesProcess(cluster, ctx.env);
}

/** Ends a cluster's host process and removes its cache (a delete): what was removed. */
export async function deleteHostImages(ctx: CommandContext, cluster: string): Promise<string[]> {
  return removeHostImages(cluster, ctx.env);
}

/** The cluster's host process for `cluster list -o json` (null: none). */
export async function hostImagesOf(ctx: CommandContext, cluster: string): Promise<HostImagesProcessInfo | null> {
  return (await hostImagesProcess(cluster, ctx.env)) ?? null;
}
