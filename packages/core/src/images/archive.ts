/**
 * Image archives (`docker save`, `podman save`, OCI image layouts) read the way containerd's importer
 * reads them, so k3ts knows which references an archive creates in a node and the digest
 * `ctr images ls` will show for each, before or while the archive streams. Pure: no engine.
 *
 * containerd (`images/archive/importer.go`): an archive with `oci-layout` is an OCI layout whose
 * `index.json` entries are the image targets; otherwise `manifest.json` (Docker v1.1/v1.2) is
 * turned into a Docker schema 2 manifest — config and layers as the blobs found in the tar, layer
 * media type by sniffed compression — marshalled compactly and stored under its sha256.
 */
import { createHash } from "node:crypto";
import { posix } from "node:path";
import { Readable } from "node:stream";
import type * as TarStream from "tar-stream";
import { K3tsError } from "../errors.js";

export const MEDIA_TYPES = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
} as const;

/** One image reference an archive creates in containerd, with the digest `ctr images ls` shows. */
export interface ArchiveImage {
  ref: string;
  digest: string;
  mediaType: string;
}

/** What was read of one tar entry: its sha256, size, first bytes and (small entries) its content. */
export interface TarEntrySummary {
  digest: string;
  size: number;
  head: Buffer;
  body?: Buffer;
}

export interface TarSummary {
  files: Map<string, TarEntrySummary>;
  /** Symbolic and hard links, resolved to archive paths. */
  links: Map<string, string>;
}

const KEEP_BELOW = 4 << 20;

function invalid(what: string, message: string): K3tsError<"INVALID_ARGUMENT"> {
  return new K3tsError("INVALID_ARGUMENT", `${what} is not an image archive: ${message}`, { meta: { archive: what } });
}

/**
 * docker/distribution's `ParseNormalizedNamed` plus the default tag, as containerd names images
 * imported from a `docker save` archive: `busybox` → `docker.io/library/busybox:latest`,
 * `me/app:1` → `docker.io/me/app:1`, `localhost/app:1` and `registry:5000/app:1` unchanged.
 */
export function normalizeImageRef(ref: string): string {
  let name = ref.trim();
  const slash = name.indexOf("/");
  const domain = slash < 0 ? "" : name.slice(0, slash);
  if (slash < 0) name = `docker.io/library/${name}`;
  else if (!(domain.includes(".") || domain.includes(":") || domain === "localhost")) name = `docker.io/${name}`;
  if (/^docker\.io\/[^/]+$/.test(name)) name = `docker.io/library/${name.slice("docker.io/".length)}`;
  const last = name.slice(name.lastIndexOf("/") + 1);
  if (!last.includes(":") && !name.includes("@")) name = `${name}:latest`;
  return name;
}

/** The layer media type containerd gives a blob, from its first bytes. */
export function layerMediaType(head: Uint8Array): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return MEDIA_TYPES.dockerLayerGzip;
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return MEDIA_TYPES.ociLayerZstd;
  return MEDIA_TYPES.dockerLayer;
}

export function sha256Digest(data: string | Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/**
 * The digest containerd stores a `docker save` image under: its schema 2 manifest, marshalled with
 * Go's field order and no whitespace.
 */
export function dockerManifestDigest(config: { digest: string; size: number }, layers: Array<{ digest: string; size: number; head: Uint8Array }>): string {
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.dockerManifest,
    config: { mediaType: MEDIA_TYPES.dockerConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: layerMediaType(l.head), digest: l.digest, size: l.size })),
  };
  return sha256Digest(JSON.stringify(manifest));
}

/** Reads a whole tar stream, hashing every file; keeps the content of small ones. */
export async function summarizeTar(source: Readable | AsyncIterable<Uint8Array>, what = "the archive"): Promise<TarSummary> {
  const mod = (await import("tar-stream")) as typeof TarStream & { default?: typeof TarStream };
  const extract = (mod.default ?? mod).extract();
  const files = new Map<string, TarEntrySummary>();
  const links = new Map<string, string>();
  const input = source instanceof Readable ? source : Readable.from(source);
  input.once("error", (err) => extract.destroy(err));
  input.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const e of extract) {
      const name = posix.normalize(e.header.name.replace(/^\.?\/+/, "")).replace(/\/$/, "");
      const hash = createHash("sha256");
      const keep: Buffer[] = [];
      let head = Buffer.alloc(0);
      let size = 0;
      for await (const chunk of e as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
        if (head.length < 8) head = Buffer.concat([head, chunk.subarray(0, 8 - head.length)]);
        if (size < KEEP_BELOW) keep.push(chunk);
      }
      const type = e.header.type;
      if (type === "file" || type === "contiguous-file") {
        files.set(name, { digest: `sha256:${hash.digest("hex")}`, size, head, ...(size < KEEP_BELOW ? { body: Buffer.concat(keep) } : {}) });
      } else if (type === "symlink" && e.header.linkname) {
        links.set(name, posix.normalize(posix.join(posix.dirname(name), e.header.linkname)));
      } else if (type === "link" && e.header.linkname) {
        links.set(name, posix.normalize(e.header.linkname));
      }
    }
  } catch (err) {
    throw invalid(what, (err as Error).message);
  }
  return { files, links };
}

function lookup(summary: TarSummary, name: string): TarEntrySummary | undefined {
  let n = posix.normalize(name);
  for (let hops = 0; hops < 8; hops++) {
    const f = summary.files.get(n);
    if (f) return f;
    const to = summary.links.get(n);
    if (to === undefined) return undefined;
    n = to;
  }
  return undefined;
}

function parseJson<T>(summary: TarSummary, name: string, what: string): T {
  const entry = lookup(summary, name);
  if (!entry?.body) throw invalid(what, `${name} is missing`);
  try {
    return JSON.parse(entry.body.toString("utf8")) as T;
  } catch {
    throw invalid(what, `${name} is not JSON`);
  }
}

interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

interface DockerSaveManifest {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** The references and digests containerd creates from an archive (see the module comment). */
export function imagesInTar(summary: TarSummary, what = "the archive"): ArchiveImage[] {
  if (summary.files.has("oci-layout")) {
    const index = parseJson<{ manifests?: OciDescriptor[] }>(summary, "index.json", what);
    const entries = index !== null && typeof index === "object" ? (index.manifests ?? []) : undefined;
    if (!Array.isArray(entries) || entries.some((m) => typeof m?.digest !== "string")) throw invalid(what, "index.json has no list of manifests with digests");
    return entries.flatMap((m) => {
      const ref = m.annotations?.["io.containerd.image.name"] ?? m.annotations?.["org.opencontainers.image.ref.name"];
      return ref && /[/:@]/.test(ref) ? [{ ref, digest: m.digest, mediaType: m.mediaType }] : [];
    });
  }
  if (!summary.files.has("manifest.json")) throw invalid(what, "neither oci-layout nor manifest.json found");
  const manifests = parseJson<DockerSaveManifest[]>(summary, "manifest.json", what);
  if (!Array.isArray(manifests)) throw invalid(what, "manifest.json is not a list of images");
  manifests.forEach((mf, i) => {
    const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
    if (typeof mf?.Config !== "string" || !strings(mf.Layers)) throw invalid(what, `manifest.json[${i}] names no Config and Layers`);
    if (mf.RepoTags != null && !strings(mf.RepoTags)) throw invalid(what, `manifest.json[${i}].RepoTags is not a list of names`);
  });
  return manifests.flatMap((mf) => {
    const config = lookup(summary, mf.Config);
    if (!config) throw invalid(what, `config ${mf.Config} is missing`);
    const layers = mf.Layers.map((path) => {
      const layer = lookup(summary, path);
      if (!layer) throw invalid(what, `layer ${path} is missing`);
      return layer;
    });
    const digest = dockerManifestDigest(config, layers);
    return (mf.RepoTags ?? []).map((tag) => ({ ref: normalizeImageRef(tag), digest, mediaType: MEDIA_TYPES.dockerManifest }));
  });
}

/** Reads an archive stream to its end: the images containerd will create from it. */
export async function readImageArchive(source: Readable | AsyncIterable<Uint8Array>, what = "the archive"): Promise<ArchiveImage[]> {
  return imagesInTar(await summarizeTar(source, what), what);
}
