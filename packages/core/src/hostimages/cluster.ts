/**
 * The host-images registry for one cluster: where it listens, which registries it mirrors, and the
 * one function that starts it for a cluster's network. The SDK runs it in its own process; a CLI host
 * process can run the same function.
 *
 * - Reachable from the nodes only: it listens on the address the nodes reach the host at (the one
 *   `host.k3ts.internal` resolves to in them, the cluster network's gateway on a Linux engine that is
 *   not rootless), never on every address.
 * - Mirrored ahead of the real registries: docker.io (where `app:dev` resolves to), `localhost`
 *   (Podman's name for what it built, `localhost/app:dev`), the registries the user names and, where
 *   the k3s version reads it, `*` (every other registry without an entry of its own). An image the
 *   engine lacks is a 404, and containerd tries the next endpoint, the registry's own last.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { K3tsError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Runtime, RuntimeInfo } from "../runtime.js";
import { isHostname, isIPv4 } from "../cluster/parse.js";
import { hostAddressFor } from "../cluster/plan.js";
import { REGISTRIES_YAML } from "../cluster/spec.js";
import { parseRegistriesConfig } from "../registry/config.js";
import { startHostImageRegistry, type HostImageRegistry } from "./server.js";

/** The registries every cluster with host images mirrors through them. */
export const HOST_IMAGES_MIRRORS: readonly string[] = ["docker.io", "localhost"];

/**
 * k3s reads a `*` mirror (containerd's `_default` hosts directory) from its March 2024 releases on
 * (v1.26.15, v1.27.12, v1.28.8, v1.29.3: "Adds wildcard registry support"); with containerd 2.0 a
 * `*` mirror broke the fall-back to a registry's own endpoint in v1.31.6 and v1.32.2 (k3s #11857,
 * fixed in v1.31.7 and v1.32.3), so those get none. Undefined for an image whose tag names no k3s
 * release (a build of one's own): no `*` then.
 */
const WILDCARD_SINCE: Readonly<Record<number, number>> = { 26: 15, 27: 12, 28: 8, 29: 3 };
const WILDCARD_BROKEN = new Set(["1.31.6", "1.32.2"]);

/** True when the k3s of `image` (by its tag, `v1.33.5-k3s1`) reads a `*` mirror in registries.yaml. */
export function wildcardMirrorSupported(image: string): boolean {
  const tag = image.slice(image.lastIndexOf(":") + 1);
  const m = /^v1\.(\d+)\.(\d+)(?:-rc\d+)?[-+]k3s\d+$/.exec(tag);
  if (!m || image.lastIndexOf(":") < image.lastIndexOf("/")) return false;
  const [minor, patch] = [Number(m[1]), Number(m[2])];
  if (WILDCARD_BROKEN.has(`1.${minor}.${patch}`)) return false;
  if (minor > 29) return true;
  const since = WILDCARD_SINCE[minor];
  return since !== undefined && patch >= since;
}

/** A registry host as a registries.yaml mirror key names it: `ghcr.io`, `registry.local:5000`, `10.0.0.5:5000`. */
export function parseHostImagesMirror(text: string, where: string): string {
  const [host = "", port, ...rest] = text.split(":");
  const portOk = port === undefined || (/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535);
  if (rest.length || !portOk || !(isHostname(host) || isIPv4(host)) || host.endsWith(".")) {
    throw new K3tsError("INVALID_ARGUMENT", `${where}: ${JSON.stringify(text)} is not a registry host (HOST or HOST:PORT, e.g. ghcr.io or registry.local:5000)`, { meta: { where, value: text } });
  }
  return text.toLowerCase();
}

/** The mirror keys the host images go ahead of, for a cluster of this image: the defaults, the user's, and `*` where k3s reads it. */
export function hostImagesMirrorKeys(image: string, mirrors: readonly string[] = []): string[] {
  return [...new Set([...HOST_IMAGES_MIRRORS, ...mirrors, ...(wildcardMirrorSupported(image) ? ["*"] : [])])];
}

/**
 * The address the host-images registry listens on: where the nodes reach the host. Only a cluster
 * network's gateway on the host (a rootful engine on Linux) is one the host can listen on; where the
 * nodes reach the host through the engine's `host-gateway` (an engine in a VM, or rootless), there is
 * no such address on this side yet.
 */
export function hostImagesAddress(info: Pick<RuntimeInfo, "os" | "capabilities">, gateway: string | undefined, platform: string = process.platform): string {
  const address = hostAddressFor(info, gateway, platform);
  if (address && isIPv4(address)) return address;
  throw new K3tsError("RUNTIME_CAPABILITY_MISSING", "host images: the nodes reach the host through the engine's host-gateway (an engine in a VM, or rootless), where k3ts cannot listen for them yet", {
    meta: { gateway, hostAddress: address },
    hint: "turn host images off for this engine (hostImages: false), and import images with importImages",
  });
}

/**
 * The host-images endpoint a cluster's nodes were made with, from `node`'s registries.yaml: the first
 * endpoint of both docker.io and localhost when it is `http://IPv4:PORT`; undefined otherwise (the
 * cluster was made without host images, or the file is gone).
 */
export async function recordedHostImagesEndpoint(runtime: Runtime, node: string, signal?: AbortSignal): Promise<string | undefined> {
  const text = await runtime.nodes.readFile(node, REGISTRIES_YAML, signal ? { signal } : {}).then(
    (b) => b.toString("utf8"),
    () => undefined,
  );
  if (text === undefined) return undefined;
  let mirrors: NonNullable<ReturnType<typeof parseRegistriesConfig>["mirrors"]>;
  try {
    mirrors = parseRegistriesConfig(text, `${REGISTRIES_YAML} in ${node}`).mirrors ?? {};
  } catch {
    return undefined;
  }
  const endpoint = mirrors["docker.io"]?.endpoint?.[0];
  return endpoint && endpoint === mirrors.localhost?.endpoint?.[0] && /^http:\/\/\d+\.\d+\.\d+\.\d+:\d+$/.test(endpoint) ? endpoint : undefined;
}

/** Where a cluster's host-images cache lives: `$XDG_STATE_HOME/k3ts/host-images/<cluster>` (default `~/.local/state`). */
export function hostImagesCacheDir(cluster: string, env: Record<string, string | undefined> = process.env): string {
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state"), "k3ts", "host-images", cluster);
}

export interface ClusterHostImagesOptions {
  runtime: Runtime;
  /** The cache directory (see {@link hostImagesCacheDir}). */
  cacheDir: string;
  /** The address the nodes reach the host at (never every address). */
  address: string;
  /** The port (default: a free one). */
  port?: number;
  maxBytes?: number;
  signal?: AbortSignal;
  logger?: Logger;
  /** As HostImageRegistryOptions.unref. */
  unref?: boolean;
  /** As HostImageRegistryOptions.awaitAddressMs (default 10 minutes: a create's limit is 5). */
  awaitAddressMs?: number;
}

/** Starts a host-images registry on the address the nodes reach the host at. */
export async function startClusterHostImages(options: ClusterHostImagesOptions): Promise<HostImageRegistry> {
  if (options.address === "0.0.0.0" || options.address === "::" || !isIPv4(options.address)) {
    throw new K3tsError("INVALID_ARGUMENT", `host images: ${JSON.stringify(options.address)} is not the one address the nodes reach the host at`, { meta: { address: options.address } });
  }
  return startHostImageRegistry({
    runtime: options.runtime,
    cacheDir: options.cacheDir,
    host: options.address,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.unref ? { unref: true } : {}),
    // Podman makes the network's bridge (the gateway's address) when the first node joins it.
    awaitAddressMs: options.awaitAddressMs ?? 10 * 60_000,
  });
}
