/** Images in the memory engine: references normalised as the engines do, `docker save` archives made and read. */
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

/** A `docker save` archive: per image a config, one layer tar, and their entry in manifest.json. */
export async function dockerSaveArchive(refs: string[]): Promise<Buffer> {
  const files: TarFile[] = [];
  const manifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  for (const ref of refs) {
    const layer = await packTar([{ name: "etc/" }, { name: "etc/k3ts-memory-image", content: Buffer.from(`${ref}\n`) }]);
    const layerDigest = sha256(layer);
    const config = Buffer.from(
      JSON.stringify({
        architecture: ARCH,
        os: "linux",
        config: { Env: [`PATH=${DEFAULT_PATH}`], Cmd: IMAGE_COMMAND },
        rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
      }),
    );
    const configName = `${sha256(config)}.json`;
    files.push({ name: `${layerDigest}/` }, { name: `${layerDigest}/layer.tar`, content: layer }, { name: configName, content: config });
    manifest.push({ Config: configName, RepoTags: [ref], Layers: [`${layerDigest}/layer.tar`] });
  }
  files.push({ name: "manifest.json", content: Buffer.from(JSON.stringify(manifest)) });
  return packTar(files);
}

function invalidArchive(why: string, cause?: unknown): K3tsError<"INVALID_ARGUMENT"> {
  return new K3tsError("INVALID_ARGUMENT", `not a docker save archive: ${why}`, { cause });
}

/**
 * What a `docker save` archive holds, as `docker load` reports it: each image's RepoTags, or for an
 * image without tags its ID (`sha256:` and the digest of its config file, which is the config's name).
 */
export async function readDockerSaveTags(archive: Readable): Promise<string[]> {
  const extract = tar.extract();
  archive.on("error", (err) => extract.destroy(err));
  archive.pipe(extract);
  let manifest: Buffer | undefined;
  try {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
      if (entry.header.name.replace(/^\.\//, "") === "manifest.json") manifest = Buffer.concat(chunks);
    }
  } catch (err) {
    throw invalidArchive(errorMessage(err), err);
  }
  if (!manifest) throw invalidArchive("it has no manifest.json");
  let parsed: unknown;
  try {
    parsed = JSON.parse(manifest.toString("utf8"));
  } catch (err) {
    throw invalidArchive("manifest.json is not JSON", err);
  }
  if (!Array.isArray(parsed)) throw invalidArchive("manifest.json is not a list");
  return parsed.flatMap((item: unknown) => {
    const { RepoTags: tags, Config: config } = typeof item === "object" && item !== null ? (item as { RepoTags?: unknown; Config?: unknown }) : {};
    const named = Array.isArray(tags) ? tags.filter((t): t is string => typeof t === "string") : [];
    const id = typeof config === "string" ? /([0-9a-f]{64})\.json$/.exec(config)?.[1] : undefined;
    return named.length > 0 ? named : id ? [`sha256:${id}`] : [];
  });
}
