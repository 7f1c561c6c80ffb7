/**
 * Registries during `cluster create`: what the spec's `registries` asks for, resolved before
 * anything is made (a missing registry to use, a bad registries.yaml or a bad create entry fail
 * first), then made and connected once the cluster network exists.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { K3tsError } from "../errors.js";
import type { Runtime } from "../runtime.js";
import type { ClusterSpec } from "../cluster/spec.js";
import {
  DEFAULT_REGISTRY_IMAGE,
  defaultClusterRegistryName,
  mirrorKeyForRemote,
  parseRegistriesConfig,
  parseRegistryPort,
  validateRegistryName,
  type RegistriesConfig,
  type RegistrySpec,
} from "./config.js";
import { getRegistry, type RegistrySummary } from "./lifecycle.js";

export interface ClusterRegistries {
  /** The registry to create with the cluster. */
  create?: RegistrySpec;
  /** Existing registries to connect. */
  use: RegistrySummary[];
  /** The user's registries.yaml, parsed. */
  userConfig?: RegistriesConfig;
}

/** The registry image: the explicit one, else K3TS_REGISTRY_IMAGE, else registry:2. */
export function registryImage(env: Record<string, string | undefined>, explicit?: string): string {
  return explicit || env.K3TS_REGISTRY_IMAGE || DEFAULT_REGISTRY_IMAGE;
}

/** Resolves `spec.registries`; nothing is created here. */
export async function resolveClusterRegistries(spec: ClusterSpec, runtime: Runtime, env: Record<string, string | undefined>, signal?: AbortSignal): Promise<ClusterRegistries> {
  const r = spec.registries;
  const out: ClusterRegistries = { use: [] };
  if (!r) return out;
  if (r.config) {
    if ("content" in r.config) out.userConfig = parseRegistriesConfig(r.config.content, "registries.config (inline)");
    else {
      const path = resolve(r.config.path);
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (err) {
        throw new K3tsError("INVALID_ARGUMENT", `registries.config: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { meta: { where: "registries.config", path } });
      }
      out.userConfig = parseRegistriesConfig(text, path);
    }
  }
  for (const ref of r.use ?? []) out.use.push(await getRegistry(ref, { runtime, signal }));
  if (r.create) {
    const c = r.create;
    const name = validateRegistryName(c.name || defaultClusterRegistryName(spec.name), "registries.create.name");
    // k3d #1642: a registry both used and to be created is used, not created twice.
    if (!out.use.some((u) => u.name === name)) {
      if (c.proxy?.remoteURL) mirrorKeyForRemote(c.proxy.remoteURL, "registries.create.proxy.remoteURL");
      const hostPort = c.hostPort === undefined ? undefined : parseRegistryPort(c.hostPort, "registries.create.hostPort");
      out.create = {
        name,
        image: registryImage(env, c.image),
        hostIP: c.host || "127.0.0.1",
        ...(hostPort ? { hostPort } : {}),
        ...(c.proxy?.remoteURL
          ? { proxy: { remoteURL: c.proxy.remoteURL, ...(c.proxy.username ? { username: c.proxy.username } : {}), ...(c.proxy.password ? { password: c.proxy.password } : {}) } }
          : {}),
        volumes: c.volumes ?? [],
        enforcePortMatch: c.enforcePortMatch ?? false,
        deleteEnabled: false,
      };
    }
  }
  return out;
}
