/**
 * The host-images registry: a pull-only OCI distribution endpoint that answers from the engine's image
 * store through a {@link Runtime}, for the nodes to use as a mirror ahead of the real registries.
 *
 * - `GET|HEAD /v2/`: 200 and `Docker-Distribution-API-Version: registry/2.0`.
 * - `GET|HEAD /v2/<name>/manifests/<tag>`: the engine's image for the name (see names.ts), saved into
 *   the cache (one save at a time per name: concurrent requests share it) and answered with its OCI
 *   manifest; an image the engine lacks is 404 `MANIFEST_UNKNOWN`, so containerd tries its next endpoint.
 * - `GET|HEAD /v2/<name>/manifests/<digest>` and `/v2/<name>/blobs/<digest>`: from the cache only
 *   (containerd asks by digest after it resolved the tag here), 404 `MANIFEST_UNKNOWN`/`BLOB_UNKNOWN`
 *   otherwise. Blobs stream from their file, with `Range` for a resumed fetch.
 * - Any write: 405 `UNSUPPORTED`.
 *
 * Every answer carries `Docker-Content-Digest` where a digest applies; errors have the spec's body,
 * `{"errors":[{"code","message","detail"}]}`.
 */
import { createReadStream } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream/promises";
import { K3tsError, isK3tsError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import type { Runtime } from "../runtime.js";
import { freePort } from "../cluster/query.js";
import { HostImageCache, type CachedImage } from "./cache.js";
import { exportImage } from "./export.js";
import { REPOSITORY_NAME, SHA256_DIGEST, TAG, engineRefs } from "./names.js";

export interface HostImageRegistryOptions {
  runtime: Runtime;
  /** The cache directory (made when missing; reused across restarts). */
  cacheDir: string;
  /** The cache's bound in bytes (default 10 GiB). */
  maxBytes?: number;
  /** The address to listen on (default 127.0.0.1). */
  host?: string;
  /** The port (default 0: one the system picks). */
  port?: number;
  /** Closes the registry when it fires. */
  signal?: AbortSignal;
  logger?: Logger;
  /** Let the process end while it listens or holds connections (a program's registry lives as long as the program, not longer). */
  unref?: boolean;
  /**
   * When `host` is no address of this machine yet, how long to keep trying (ms) instead of failing:
   * Podman makes a network's bridge, and its gateway address, when the first container joins it, after
   * the nodes' registries.yaml must name the endpoint. The port is then picked at once (free on the
   * loopback), the endpoint returned, and the registry listens as soon as the address is there.
   */
  awaitAddressMs?: number;
}

export interface HostImageRegistry {
  /** `http://<host>:<port>`, the endpoint to list in registries.yaml. */
  readonly url: string;
  readonly port: number;
  readonly cache: HostImageCache;
  /** What it has sent so far (a snapshot): manifests and blobs whose bodies went out whole, and the blobs' bytes. */
  readonly served: HostImagesServed;
  /** Stops listening, ends open connections and exports; the port is free when it resolves. Idempotent. */
  close(): Promise<void>;
}

/** Counts of what the registry sent: GETs answered in full (or the asked range), HEADs not counted. */
export interface HostImagesServed {
  manifests: number;
  blobs: number;
  /** Bytes of blob bodies sent (config and layers): what entered the nodes through the registry. */
  blobBytes: number;
}

export type DistributionErrorCode = "MANIFEST_UNKNOWN" | "BLOB_UNKNOWN" | "NAME_UNKNOWN" | "NAME_INVALID" | "DIGEST_INVALID" | "UNSUPPORTED" | "UNKNOWN";

const API_VERSION_HEADER = { "Docker-Distribution-API-Version": "registry/2.0" };
const ROUTE = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/;

function sendError(res: ServerResponse, status: number, code: DistributionErrorCode, message: string, detail?: unknown): void {
  const body = JSON.stringify({ errors: [{ code, message, ...(detail === undefined ? {} : { detail }) }] });
  res.writeHead(status, { ...API_VERSION_HEADER, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

/** One `bytes=a-b` range within `size`, or undefined for none or one that does not parse (the whole blob is sent). */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | "unsatisfiable" | undefined {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  const start = m[1] === "" ? Math.max(0, size - Number(m[2])) : Number(m[1]);
  const end = m[1] === "" || m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start > end || start >= size ? "unsatisfiable" : { start, end };
}

class HostImages {
  readonly #resolving = new Map<string, Promise<CachedImage | undefined>>();
  readonly served: HostImagesServed = { manifests: 0, blobs: 0, blobBytes: 0 };

  constructor(
    private readonly runtime: Runtime,
    readonly cache: HostImageCache,
    private readonly signal: AbortSignal,
    private readonly logger: Logger,
  ) {}

  /** The engine's image for the first of `refs` it has, saved into the cache; undefined when it has none. */
  resolve(refs: string[]): Promise<CachedImage | undefined> {
    const key = refs.join("\n");
    let pending = this.#resolving.get(key);
    if (!pending) {
      pending = this.#export(refs).finally(() => this.#resolving.delete(key));
      this.#resolving.set(key, pending);
    }
    return pending;
  }

  /** Settles when every save under way has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#resolving.values()]);
  }

  async #export(refs: string[]): Promise<CachedImage | undefined> {
    for (const ref of refs) {
      try {
        const started = Date.now();
        // An image the cache holds already (another name of it, or the same tag asked again) is not saved again;
        // a rebuilt image has a new id and is.
        const { id } = await this.runtime.images.inspect(ref, { signal: this.signal });
        const cached = this.cache.image(id);
        if (cached) {
          await this.cache.touch(id);
          return cached;
        }
        const image = await exportImage(this.runtime, ref, this.cache, { signal: this.signal });
        this.logger.debug("host images: exported", { image: ref, id: image.id, ms: Date.now() - started });
        return image;
      } catch (err) {
        if (!isK3tsError(err, "IMAGE_NOT_FOUND")) throw err;
      }
    }
    return undefined;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://host-images");
    const path = url.pathname;
    if (!path.startsWith("/v2")) return sendError(res, 404, "UNSUPPORTED", `${path} is not a distribution API path`);
    if (req.method !== "GET" && req.method !== "HEAD") return sendError(res, 405, "UNSUPPORTED", "this registry serves pulls only (GET and HEAD)");
    if (path === "/v2" || path === "/v2/") {
      res.writeHead(200, { ...API_VERSION_HEADER, "Content-Type": "application/json", "Content-Length": 2 });
      return void res.end(req.method === "HEAD" ? undefined : "{}");
    }
    const route = ROUTE.exec(path);
    if (!route) return sendError(res, 404, "UNSUPPORTED", `${path} is not served here (pulls of manifests and blobs only)`);
    const [, name, kind, reference] = route as unknown as [string, string, "manifests" | "blobs", string];
    if (!REPOSITORY_NAME.test(name)) return sendError(res, 400, "NAME_INVALID", `invalid repository name ${name}`, { name });
    if (kind === "blobs") {
      if (!SHA256_DIGEST.test(reference)) return sendError(res, 400, "DIGEST_INVALID", `invalid digest ${reference}`, { digest: reference });
      return this.#blob(req, res, reference);
    }
    if (SHA256_DIGEST.test(reference)) {
      const image = this.cache.imageByManifest(reference);
      if (!image) return sendError(res, 404, "MANIFEST_UNKNOWN", `manifest ${reference} is not in the host image cache`, { name, digest: reference });
      return this.#manifest(req, res, image);
    }
    if (!TAG.test(reference)) return sendError(res, 404, "MANIFEST_UNKNOWN", `invalid reference ${reference}`, { name, reference });
    const ns = url.searchParams.get("ns") ?? undefined;
    const refs = engineRefs(name, reference, ns);
    const image = refs.length > 0 ? await this.resolve(refs) : undefined;
    if (!image) return sendError(res, 404, "MANIFEST_UNKNOWN", `the engine has no image ${refs[0] ?? `${name}:${reference}`}`, { name, tag: reference, ...(ns ? { ns } : {}) });
    return this.#manifest(req, res, image);
  }

  async #manifest(req: IncomingMessage, res: ServerResponse, image: CachedImage): Promise<void> {
    await this.#send(req, res, image.manifest.digest, image.manifest.mediaType, "MANIFEST_UNKNOWN");
  }

  async #blob(req: IncomingMessage, res: ServerResponse, digest: string): Promise<void> {
    await this.#send(req, res, digest, "application/octet-stream", "BLOB_UNKNOWN");
  }

  /** Sends a cached blob's bytes (all, or the asked range), holding it against eviction meanwhile. */
  async #send(req: IncomingMessage, res: ServerResponse, digest: string, contentType: string, unknown: DistributionErrorCode): Promise<void> {
    const lease = this.cache.lease();
    try {
      const blob = lease.hold(digest) ? this.cache.blob(digest) : undefined;
      if (!blob) return sendError(res, 404, unknown, `${digest} is not in the host image cache`, { digest });
      await this.cache.touchBlob(digest);
      const headers = { ...API_VERSION_HEADER, "Content-Type": contentType, "Docker-Content-Digest": digest, "Accept-Ranges": "bytes", ETag: `"${digest}"` };
      const range = unknown === "BLOB_UNKNOWN" ? parseRange(req.headers.range, blob.size) : undefined;
      if (range === "unsatisfiable") {
        res.writeHead(416, { ...headers, "Content-Range": `bytes */${blob.size}`, "Content-Length": 0 });
        return void res.end();
      }
      const { start, end } = range ?? { start: 0, end: blob.size - 1 };
      res.writeHead(range ? 206 : 200, {
        ...headers,
        "Content-Length": end - start + 1,
        ...(range ? { "Content-Range": `bytes ${start}-${end}/${blob.size}` } : {}),
      });
      if (req.method === "HEAD" || blob.size === 0) return void res.end();
      await pipeline(createReadStream(blob.path, { start, end }), res);
      if (unknown === "BLOB_UNKNOWN") {
        this.served.blobs++;
        this.served.blobBytes += end - start + 1;
      } else this.served.manifests++;
    } finally {
      await lease.release();
    }
  }
}

/** Tries `listen(port)` every 100 ms while the address is not there (EADDRNOTAVAIL), for at most `ms`, until stopped. */
async function listenOnceThere(listen: (port: number) => Promise<void>, port: number, ms: number, stop: AbortSignal): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100).unref());
    if (stop.aborted) throw new K3tsError("ABORTED", "closed before the address was there");
    try {
      return await listen(port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EADDRNOTAVAIL" || Date.now() > deadline) throw err;
    }
  }
}

/**
 * Starts the host-images registry (see the module comment) on `host:port` with its cache in
 * `cacheDir`. It runs until `close()` or the signal.
 */
export async function startHostImageRegistry(options: HostImageRegistryOptions): Promise<HostImageRegistry> {
  if (options.signal?.aborted) throw new K3tsError("ABORTED", "the host image registry was aborted before it started", { cause: options.signal.reason });
  const logger = options.logger ?? silentLogger;
  const cache = await HostImageCache.open(options.cacheDir, { maxBytes: options.maxBytes });
  const stop = new AbortController();
  const images = new HostImages(options.runtime, cache, stop.signal, logger);
  const server: Server = createServer((req, res) => {
    images.handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        logger.warn("host images: a request failed", { url: req.url, error: err instanceof Error ? err.message : String(err) });
        sendError(res, 500, "UNKNOWN", err instanceof Error ? err.message : String(err));
      } else res.destroy();
    });
  });
  const host = options.host ?? "127.0.0.1";
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      // Both listeners go either way: a listen retried while the address is not there adds none that stay.
      const settle = () => {
        server.off("error", failed);
        server.off("listening", listening);
      };
      const listening = () => (settle(), resolve());
      const failed = (err: NodeJS.ErrnoException) => {
        settle();
        reject(err.code === "EADDRINUSE" ? new K3tsError("PORT_IN_USE", `${host}:${port} is in use`, { meta: { host, port }, cause: err }) : err);
      };
      server.once("error", failed);
      server.once("listening", listening);
      server.listen(port, host);
    });
  let port: number;
  let waiting: Promise<void> | undefined;
  try {
    await listen(options.port ?? 0);
    port = (server.address() as AddressInfo).port;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EADDRNOTAVAIL") throw err;
    if (!options.awaitAddressMs) throw new K3tsError("INVALID_ARGUMENT", `host images: ${host} is no address of this machine`, { meta: { host }, cause: err });
    port = options.port ?? (await freePort("127.0.0.1"));
    waiting = listenOnceThere(listen, port, options.awaitAddressMs, stop.signal).then(
      () => logger.debug("host images: the address is there, listening", { host, port }),
      (e: unknown) => {
        if (!stop.signal.aborted) logger.warn(`host images: could not listen on ${host}:${port} (${(e as Error).message}); the nodes pull from the registries themselves`);
      },
    );
  }
  if (options.unref) {
    server.unref();
    // Nor do the nodes' keep-alive connections keep it alive.
    server.on("connection", (socket) => socket.unref());
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      options.signal?.removeEventListener("abort", close);
      stop.abort();
      if (!server.listening) return resolve(waiting);
      server.close(() => resolve());
      server.closeAllConnections();
    })
      .then(() => (server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : undefined))
      .then(() => images.settled()));
  options.signal?.addEventListener("abort", close, { once: true });
  const shown = host.includes(":") ? `[${host}]` : host;
  logger.debug("host images: serving", { url: `http://${shown}:${port}`, cacheDir: options.cacheDir });
  return {
    url: `http://${shown}:${port}`,
    port,
    cache,
    get served() {
      return { ...images.served };
    },
    close,
  };
}
