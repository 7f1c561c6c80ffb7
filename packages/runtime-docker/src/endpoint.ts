import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { K3tsError } from "@k3ts/core";

/** How to reach a Docker-API engine, in dockerode's terms. */
export interface DockerEndpoint {
  /** Where it came from, for messages. */
  source: "option" | "DOCKER_HOST" | "context" | "default";
  /** As a person would write it: unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host. */
  url: string;
  socketPath?: string;
  protocol?: "http" | "https" | "ssh";
  host?: string;
  port?: number;
  username?: string;
  /** TLS material directory (DOCKER_CERT_PATH or the context's TLS store). */
  certPath?: string;
  tlsVerify?: boolean;
  contextName?: string;
}

export const DEFAULT_SOCKET = "/var/run/docker.sock";

/** Parses a DOCKER_HOST-style URL. */
export function parseDockerHost(url: string, extra: Partial<DockerEndpoint> = {}): DockerEndpoint {
  const source = extra.source ?? "DOCKER_HOST";
  if (url.startsWith("unix://")) return { ...extra, source, url, socketPath: url.slice("unix://".length) };
  if (url.startsWith("/")) return { ...extra, source, url: `unix://${url}`, socketPath: url };
  const parsed = new URL(url.includes("://") ? url : `tcp://${url}`);
  if (parsed.protocol === "ssh:") {
    return {
      ...extra,
      source,
      url,
      protocol: "ssh",
      host: parsed.hostname,
      port: parsed.port ? Number(parsed.port) : 22,
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    };
  }
  if (parsed.protocol !== "tcp:" && parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new K3tsError("INVALID_ARGUMENT", `${source === "context" ? `docker context ${extra.contextName ?? ""}` : source === "option" ? "host" : "DOCKER_HOST"}: unsupported Docker host ${url}: use unix://, tcp://, http(s):// or ssh://`, {
      meta: { where: source, host: url },
    });
  }
  const tls = extra.tlsVerify === true || parsed.protocol === "https:" || extra.certPath !== undefined;
  return {
    ...extra,
    source,
    url,
    protocol: tls ? "https" : "http",
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : tls ? 2376 : 2375,
  };
}

interface FileReader {
  exists(path: string): boolean;
  read(path: string): string;
}

const fsReader: FileReader = { exists: existsSync, read: (p) => readFileSync(p, "utf8") };

/**
 * Finds the engine the docker CLI would use: DOCKER_HOST (with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH),
 * else DOCKER_CONTEXT or the config's current context, else the default socket.
 */
export function resolveDockerEndpoint(
  env: Record<string, string | undefined> = process.env,
  files: FileReader = fsReader,
  home: string = homedir(),
): DockerEndpoint {
  if (env.DOCKER_HOST) {
    const tlsVerify = env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== "" && env.DOCKER_TLS_VERIFY !== "0";
    return parseDockerHost(env.DOCKER_HOST, {
      source: "DOCKER_HOST",
      ...(tlsVerify ? { tlsVerify } : {}),
      ...(tlsVerify || env.DOCKER_CERT_PATH ? { certPath: env.DOCKER_CERT_PATH ?? join(home, ".docker") } : {}),
    });
  }
  const configDir = env.DOCKER_CONFIG ?? join(home, ".docker");
  let contextName = env.DOCKER_CONTEXT;
  if (!contextName) {
    const configFile = join(configDir, "config.json");
    if (files.exists(configFile)) {
      try {
        contextName = (JSON.parse(files.read(configFile)) as { currentContext?: string }).currentContext;
      } catch {
        // an unreadable config is the docker CLI's problem; fall through to the default
      }
    }
  }
  if (contextName && contextName !== "default") {
    const id = createHash("sha256").update(contextName).digest("hex");
    const metaFile = join(configDir, "contexts", "meta", id, "meta.json");
    const where = env.DOCKER_CONTEXT ? "DOCKER_CONTEXT" : join(configDir, "config.json");
    if (!files.exists(metaFile)) {
      throw new K3tsError("INVALID_ARGUMENT", `${where}: docker context ${JSON.stringify(contextName)} not found (${metaFile})`, {
        meta: { where, context: contextName, path: metaFile },
        hint: "docker context ls lists the contexts there are",
      });
    }
    let meta: { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
    try {
      meta = JSON.parse(files.read(metaFile)) as typeof meta;
    } catch (err) {
      throw new K3tsError("INVALID_ARGUMENT", `${metaFile}: docker context ${JSON.stringify(contextName)} is not JSON: ${(err as Error).message}`, {
        meta: { where: metaFile, context: contextName, path: metaFile },
        cause: err,
      });
    }
    const host = meta.Endpoints?.docker?.Host;
    if (!host) {
      throw new K3tsError("INVALID_ARGUMENT", `${metaFile}: docker context ${JSON.stringify(contextName)} has no docker endpoint`, {
        meta: { where: metaFile, context: contextName, path: metaFile },
      });
    }
    const tlsDir = join(configDir, "contexts", "tls", id, "docker");
    return parseDockerHost(host, {
      source: "context",
      contextName,
      ...(files.exists(tlsDir) ? { certPath: tlsDir, tlsVerify: meta.Endpoints?.docker?.SkipTLSVerify !== true } : {}),
    });
  }
  return { source: "default", url: `unix://${DEFAULT_SOCKET}`, socketPath: DEFAULT_SOCKET };
}
