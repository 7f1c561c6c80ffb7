/**
 * One engine image into the host image cache: `runtime.images.save([ref])` read as it streams
 * (`docker save`/`podman save` archives, the legacy layout and Docker 25's OCI one alike, through
 * their `manifest.json`), its config and layers stored as blobs by the sha256 of their bytes, and an
 * OCI image manifest built for them whose digest is the sha256 of the exact bytes served.
 *
 * Layers are served as the archive holds them (uncompressed from Docker and Podman; a compressed
 * one is given its media type by its first bytes), so a layer's digest is its diff id: what
 * containerd checks on unpack.
 */
import { posix } from "node:path";
import type { Readable } from "node:stream";
import type * as TarStream from "tar-stream";
import { K3tsError, abortedError } from "../errors.js";
import type { Runtime } from "../runtime.js";
import { Digester, type CachedImage, type HostImageCache, type Lease, type WrittenBlob } from "./cache.js";

export const OCI_MEDIA_TYPES = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  layerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
} as const;

/** Entries up to this size are kept in memory until the archive's manifest.json says what they are. */
const IN_MEMORY = 1 << 20;

/** The OCI layer media type for bytes that start with `head`. */
export function ociLayerMediaType(head: Uint8Array): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return OCI_MEDIA_TYPES.layerGzip;
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return OCI_MEDIA_TYPES.layerZstd;
  return OCI_MEDIA_TYPES.layer;
}

function invalid(ref: string, why: string): K3tsError<"RUNTIME_ERROR"> {
  return new K3tsError("RUNTIME_ERROR", `the engine's archive of ${ref} is not a docker save archive: ${why}`, { meta: { image: ref } });
}

type Stored = { kind: "memory"; body: Buffer } | { kind: "blob"; blob: WrittenBlob };

async function tarStream(): Promise<typeof TarStream> {
  const mod = (await import("tar-stream")) as typeof TarStream & { default?: typeof TarStream };
  return mod.default ?? mod;
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * A large entry into the cache. One whose name is a digest the cache holds (Docker 25's
 * `blobs/sha256/<hex>`, Podman's `<hex>.tar`) is only hashed, to check it is those bytes: a layer
 * that did not change since the last save is not written again.
 */
async function store(name: string, source: AsyncIterable<Buffer>, lease: Lease): Promise<WrittenBlob> {
  const hex = /(?:^|\/)([0-9a-f]{64})(?:\.tar|\.json)?$/.exec(name)?.[1];
  if (hex === undefined || !lease.hold(`sha256:${hex}`)) return lease.write(source);
  const digester = new Digester();
  for await (const chunk of source) digester.update(chunk);
  const blob = digester.result();
  if (blob.digest !== `sha256:${hex}`) {
    throw new K3tsError("RUNTIME_ERROR", `the engine's archive holds ${name} whose bytes have digest ${blob.digest}`, { meta: { entry: name, digest: blob.digest } });
  }
  return blob;
}

/**
 * Reads an archive: small entries into memory, large ones straight into the cache under `lease`;
 * links resolved to the paths they name.
 */
async function readArchive(archive: Readable, lease: Lease): Promise<(path: string) => Stored | undefined> {
  const extract = (await tarStream()).extract();
  const files = new Map<string, Stored>();
  const links = new Map<string, string>();
  archive.once("error", (err) => extract.destroy(err));
  archive.pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    const name = posix.normalize(entry.header.name.replace(/^\.?\/+/, "")).replace(/\/$/, "");
    const { type, size = 0, linkname } = entry.header;
    if (type === "file" || type === "contiguous-file") {
      const source = entry as unknown as AsyncIterable<Buffer>;
      files.set(name, size <= IN_MEMORY ? { kind: "memory", body: await collect(source) } : { kind: "blob", blob: await store(name, source, lease) });
      continue;
    }
    if (type === "symlink" && linkname) links.set(name, posix.normalize(posix.join(posix.dirname(name), linkname)));
    else if (type === "link" && linkname) links.set(name, posix.normalize(linkname));
    entry.resume();
  }
  return (path) => {
    let name = posix.normalize(path);
    for (let hops = 0; hops < 8; hops++) {
      const found = files.get(name);
      if (found) return found;
      const next = links.get(name);
      if (next === undefined) break;
      name = next;
    }
    return undefined;
  };
}

interface SaveManifestItem {
  Config: string;
  Layers: string[];
}

function saveManifest(body: Buffer | undefined, ref: string): SaveManifestItem {
  if (!body) throw invalid(ref, "manifest.json is missing");
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw invalid(ref, "manifest.json is not JSON");
  }
  const item = Array.isArray(parsed) && parsed.length === 1 ? (parsed[0] as Partial<SaveManifestItem>) : undefined;
  if (typeof item?.Config !== "string" || !Array.isArray(item.Layers) || !item.Layers.every((l) => typeof l === "string")) {
    throw invalid(ref, "manifest.json does not name one image's Config and Layers");
  }
  return item as SaveManifestItem;
}

/**
 * Saves `ref` from the engine into the cache and returns the image as cached. Blobs the cache holds
 * already are not written again; an image id that is cached already keeps its record (and its place
 * in the eviction order moves to now). `IMAGE_NOT_FOUND` from the runtime when the engine lacks `ref`.
 */
export async function exportImage(runtime: Runtime, ref: string, cache: HostImageCache, options: { signal?: AbortSignal } = {}): Promise<CachedImage> {
  const { signal } = options;
  const archive = await runtime.images.save([ref], { signal });
  const abort = () => archive.destroy(abortedError(signal, `saving ${ref}`));
  signal?.addEventListener("abort", abort, { once: true });
  const lease = cache.lease();
  try {
    const lookup = await readArchive(archive, lease);
    const stored = lookup("manifest.json");
    const item = saveManifest(stored?.kind === "memory" ? stored.body : undefined, ref);
    const blob = async (path: string, what: string): Promise<WrittenBlob> => {
      const found = lookup(path);
      if (!found) throw invalid(ref, `${what} ${path} is missing`);
      return found.kind === "blob" ? found.blob : lease.put(found.body);
    };
    const config = await blob(item.Config, "config");
    const layers: WrittenBlob[] = [];
    for (const path of item.Layers) layers.push(await blob(path, "layer"));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MEDIA_TYPES.manifest,
        config: { mediaType: OCI_MEDIA_TYPES.config, digest: config.digest, size: config.size },
        layers: layers.map((l) => ({ mediaType: ociLayerMediaType(l.head), digest: l.digest, size: l.size })),
      }),
    );
    const written = await lease.put(manifest);
    const image: CachedImage = {
      id: config.digest,
      manifest: { mediaType: OCI_MEDIA_TYPES.manifest, digest: written.digest, size: written.size },
      blobs: [config.digest, ...layers.map((l) => l.digest)],
    };
    if (cache.image(image.id)?.manifest.digest === image.manifest.digest) await cache.touch(image.id);
    else await cache.addImage(image);
    return image;
  } catch (err) {
    archive.destroy();
    throw err;
  } finally {
    signal?.removeEventListener("abort", abort);
    await lease.release();
  }
}
