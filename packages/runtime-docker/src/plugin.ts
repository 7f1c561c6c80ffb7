import { existsSync, statSync } from "node:fs";
import { RUNTIME_API_VERSION, defineRuntime, type Availability, type RuntimeContext } from "@k3ts/core";
import pkg from "../package.json" with { type: "json" };
import { resolveDockerEndpoint } from "./endpoint.js";
import { DockerRuntime, type DockerRuntimeOptions } from "./runtime.js";

/** Is a Docker-API engine answering where the docker CLI would look? */
export async function dockerAvailability(env: Record<string, string | undefined>, timeoutMs = 3000): Promise<Availability> {
  let endpoint;
  let runtime;
  try {
    endpoint = resolveDockerEndpoint(env);
    runtime = new DockerRuntime({ env });
  } catch (err) {
    return { available: false, ...(endpoint ? { endpoint: endpoint.url } : {}), reason: (err as Error).message };
  }
  if (endpoint.socketPath) {
    if (!existsSync(endpoint.socketPath)) return { available: false, endpoint: endpoint.url, reason: "no socket there" };
    if (!statSync(endpoint.socketPath).isSocket()) return { available: false, endpoint: endpoint.url, reason: "not a socket" };
  }
  try {
    await runtime.info({ signal: AbortSignal.timeout(timeoutMs) });
    return { available: true, endpoint: endpoint.url };
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0] ?? "no answer";
    return { available: false, endpoint: endpoint.url, reason: /abort/i.test(reason) ? `no answer within ${timeoutMs} ms` : reason };
  }
}

export const dockerPlugin = defineRuntime<DockerRuntimeOptions>({
  meta: { name: "docker", version: pkg.version },
  apiVersion: RUNTIME_API_VERSION,
  isAvailable: (ctx: RuntimeContext) => dockerAvailability(ctx.env),
  create: (ctx: RuntimeContext, options?: DockerRuntimeOptions) => new DockerRuntime({ env: ctx.env, logger: ctx.logger, ...options }),
});
