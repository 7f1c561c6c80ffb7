/** Images in the memory engine: references normalised as the engines do, `docker save` archives made and read. */
import { posix } from "node:path";
import type { Readable } from "node:stream";
import * as tar from "tar-stream";
import { K3tsError } from "../../errors.js";
import { DEFAULT_PATH, IMAGE_COMMAND, errorMessage, sha256 } from "./util.js";

interface TarFile {
  name: string;
  content?: Buffer;
}

/** A tar of `files` (names ending in / are directories), with fixed times so equal input gives equal bytes. */
async function packTar(files: TarFile[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { name, content } of files) {
    const directory = name.endsWith("/");
    const header = { name, type: directory ? "directory" : "file", mode: directory ? 0o755 : 0o644, mtime: new Date(0) } as const;
    if (content) pack.entry({ ...header, size: content.length }, content);
    else pack.entry(header);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Docker's short names: `docker.io/library/busybox` is `busybox:latest`. */
export function normalizeRef(ref: string): string {
  const name = ref.replace(/^docker\.io\/(library\/)?/, "");
  const last = name.slice(name.lastIndexOf("/") + 1);
  return name.includes("@") || last.includes(":") ? name : `${name}:latest`;
}

export const ARCH = process.arch === "x64" ? "amd64" : process.arch;

/**
 * An image the memory engine holds: its config and layers as a `docker save` archive carries them. Its ID is
 * the digest of its config, as the engines' is: every name of it has that ID, and a copy loaded under
 * another name keeps it.
 */
export interface MemoryImage {
  id: string;
  config: Buffer;
  layers: Buffer[];
}

/** The image the engine makes up for a reference it was given at the start: one layer that names it. */
export async function madeUpImage(ref: string): Promise<MemoryImage> {
  const layer = await packTar([{ name: "etc/" }, { name: "etc/k3ts-memory-image", content: Buffer.from(`${ref}\n`) }]);
  const config = Buffer.from(
    JSON.stringify({
      architecture: ARCH,
      os: "linux",
      config: { Env: [`PATH=${DEFAULT_PATH}`], Cmd: IMAGE_COMMAND },
      rootfs: { type: "layers", diff_ids: [`sha256:${sha256(layer)}`] },
    }),
  );
  return { id: `sha256:${sha256(config)}`, config, layers: [layer] };
}

/** A `docker save` archive (Docker 24's layout): per image its config, its layer tars, and its entry in manifest.json. */
export async function dockerSaveArchive(images: ReadonlyArray<{ image: MemoryImage; tags: string[] }>): Promise<Buffer> {
  const files: TarFile[] = [];
  const manifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  for (const { image, tags } of images) {
    const configName = `${image.id.slice("sha256:".length)}.json`;
    const layerNames = image.layers.map((layer) => {
      const digest = sha256(layer);
      files.push({ name: `${digest}/` }, { name: `${digest}/layer.tar`, content: layer });
      return `${digest}/layer.tar`;
    });
    files.push({ name: configName, content: image.config });
    manifest.push({ Config: configName, RepoTags: tags, Layers: layerNames });
  }
  files.push({ name: "manifest.json", content: Buffer.from(JSON.stringify(manifest)) });
  return packTar(files);
}

function invalidArchive(why: string, cause?: unknown): K3tsError<"INVALID_ARGUMENT"> {
  return new K3tsError("INVALID_ARGUMENT", `not a docker save archive: ${why}`, { cause });
}

/**
 * What a `docker save` archive holds (Docker's layout before 25 and the OCI one after), as `docker load`
 * takes it: each image with its config and layers, and the names `docker load` reports for it, its
 * RepoTags, or for an image without tags its ID.
 */
export async function readDockerSave(archive: Readable): Promise<Array<{ image: MemoryImage; tags: string[]; reported: string[] }>> {
  const extract = tar.extract();
  archive.on("error", (err) => extract.destroy(err));
  archive.pipe(extract);
  const entries = new Map<string, Buffer>();
  const links = new Map<string, string>();
  try {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
      const name = entry.header.name.replace(/^\.\//, "");
      if (entry.header.type === "file") entries.set(name, Buffer.concat(chunks));
      // Podman's docker-archive keeps a layer once and links the others to it.
      else if (entry.header.type === "symlink" && entry.header.linkname) links.set(name, posix.join(posix.dirname(name), entry.header.linkname));
    }
  } catch (err) {
    throw invalidArchive(errorMessage(err), err);
  }
  const file = (path: string): Buffer | undefined => entries.get(path) ?? (links.has(path) ? entries.get(links.get(path)!) : undefined);
  const manifest = entries.get("manifest.json");
  if (!manifest) throw invalidArchive("it has no manifest.json");
  let parsed: unknown;
  try {
    parsed = JSON.parse(manifest.toString("utf8"));
  } catch (err) {
    throw invalidArchive("manifest.json is not JSON", err);
  }
  if (!Array.isArray(parsed)) throw invalidArchive("manifest.json is not a list");
  return parsed.map((item: unknown) => {
    const { RepoTags: repoTags, Config: configPath, Layers: layerPaths } = typeof item === "object" && item !== null ? (item as { RepoTags?: unknown; Config?: unknown; Layers?: unknown }) : {};
    // What the archive lacks is left out (the engines refuse such an archive; the memory runtime keeps what it
    // names, so tests can hand a broken one to code that reads the engine's save).
    const config = typeof configPath === "string" ? file(configPath) : undefined;
    const named = typeof configPath === "string" ? /([0-9a-f]{64})(?:\.json)?$/.exec(configPath)?.[1] : undefined;
    if (!config && !named) throw invalidArchive(`an image names no config (${JSON.stringify(configPath)})`);
    const layers = (Array.isArray(layerPaths) ? layerPaths : []).flatMap((path: unknown) => {
      const layer = typeof path === "string" ? file(path) : undefined;
      return layer ? [layer] : [];
    });
    const image: MemoryImage = { id: `sha256:${config ? sha256(config) : named!}`, config: config ?? Buffer.alloc(0), layers };
    const tags = Array.isArray(repoTags) ? repoTags.filter((t): t is string => typeof t === "string") : [];
    return { image, tags, reported: tags.length > 0 ? tags : [image.id] };
  });
}
