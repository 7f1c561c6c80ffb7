import { existsSync, statSync } from "node:fs";
import { RUNTIME_API_VERSION, defineRuntime, isK3tsError, type Availability, type RuntimeContext } from "@k3ts/core";
import pkg from "../package.json" with { type: "json" };
import { DockerRuntime, type DockerRuntimeOptions } from "./runtime.js";

/** Is a Docker-API engine answering where the docker CLI would look? */
export async function dockerAvailability(env: Record<string, string | undefined>, timeoutMs = 3000): Promise<Availability> {
  let runtime;
  try {
    runtime = new DockerRuntime({ env }); // resolves the endpoint once (it is runtime.endpoint)
  } catch (err) {
    // An endpoint that resolved but whose TLS files cannot be read names itself in the error.
    const url = isK3tsError(err) ? err.meta?.endpoint : undefined;
    return { available: false, ...(typeof url === "string" ? { endpoint: url } : {}), reason: (err as Error).message };
  }
  const endpoint = runtime.endpoint;
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
