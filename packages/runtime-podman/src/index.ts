/**
 * @k3ts/runtime-podman: the k3ts runtime plugin for Podman. It drives the `podman` CLI (4.0 or
 * newer, rootful or rootless) through execa; every engine failure becomes a K3tsError code.
 */
import { RUNTIME_API_VERSION, defineRuntime, isK3tsError, type Availability, type RuntimeContext, type RuntimePlugin } from "@k3ts/core";
import pkg from "../package.json" with { type: "json" };
import { locateBinary } from "./cli.js";
import { PodmanRuntime, createPodmanRuntime, type PodmanRuntimeOptions } from "./runtime.js";

export { PodmanRuntime, createPodmanRuntime };
export type { PodmanRuntimeOptions };

/** How long auto-detection waits for `podman version`. */
const AVAILABILITY_TIMEOUT_MS = 5_000;

/** The loader's environment without unset entries, for the podman processes. */
function definedEnv(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

function runtimeFor(ctx: RuntimeContext, options: PodmanRuntimeOptions = {}): PodmanRuntime {
  return createPodmanRuntime({
    logger: ctx.logger,
    ...options,
    env: { ...definedEnv(ctx.env), ...options.env },
  });
}

async function isAvailable(ctx: RuntimeContext): Promise<Availability> {
  const runtime = runtimeFor(ctx);
  const endpoint = locateBinary("podman", ctx.env.PATH ?? "");
  try {
    const version = await runtime.version({ timeoutMs: AVAILABILITY_TIMEOUT_MS, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    ctx.logger.debug("podman is available", { endpoint, version });
    return { available: true, endpoint };
  } catch (err) {
    if (!isK3tsError(err)) throw err;
    if (err.code === "ABORTED") throw err;
    const reason = err.code === "TIMEOUT" ? `podman did not answer within ${AVAILABILITY_TIMEOUT_MS / 1000} s` : err.message;
    return { available: false, endpoint, reason };
  }
}

/** The plugin object (also the package's default export). */
export const podmanPlugin: RuntimePlugin<PodmanRuntimeOptions> = defineRuntime<PodmanRuntimeOptions>({
  meta: { name: "podman", version: pkg.version },
  apiVersion: RUNTIME_API_VERSION,
  isAvailable,
  create: (ctx, options) => runtimeFor(ctx, options),
});

export default podmanPlugin;
