/** Small deterministic image archives, built in memory (docker save and OCI layouts). */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type * as TarStream from "tar-stream";

const tar = createRequire(import.meta.url)("tar-stream") as typeof TarStream;
const MTIME = new Date(0);

export interface TarFile {
  name: string;
  content?: Buffer | string;
  linkname?: string;
}

export async function makeTar(files: TarFile[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const f of files) {
    if (f.linkname) pack.entry({ name: f.name, type: "symlink", linkname: f.linkname, mtime: MTIME });
    else pack.entry({ name: f.name, mtime: MTIME, mode: 0o644 }, Buffer.from(f.content ?? ""));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

export const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** A one-layer image: the layer (a tar with /hello) and its config. */
export async function tinyImage(): Promise<{ layer: Buffer; config: string }> {
  const layer = await makeTar([{ name: "hello", content: "hello from k3ts\n" }]);
  const config = JSON.stringify({ architecture: "amd64", os: "linux", config: { Cmd: ["/hello"] }, rootfs: { type: "layers", diff_ids: [`sha256:${sha(layer)}`] } });
  return { layer, config };
}

/** `docker save` (Docker ≤ 24 layout) of the tiny image tagged `tags`. */
export async function dockerSave(tags: string[]): Promise<Buffer> {
  const { layer, config } = await tinyImage();
  const id = sha(config);
  return makeTar([
    { name: `${sha(layer)}/layer.tar`, content: layer },
    { name: `${id}.json`, content: config },
    { name: "manifest.json", content: JSON.stringify([{ Config: `${id}.json`, RepoTags: tags, Layers: [`${sha(layer)}/layer.tar`] }]) },
  ]);
}

/** `podman save` (docker-archive): layers as <digest>.tar, plus the legacy symlinks. */
export async function podmanSave(tags: string[]): Promise<Buffer> {
  const { layer, config } = await tinyImage();
  const id = sha(config);
  return makeTar([
    { name: `${sha(layer)}.tar`, content: layer },
    { name: `${id}.json`, content: config },
    { name: "abc/layer.tar", linkname: `../${sha(layer)}.tar` },
    { name: "manifest.json", content: JSON.stringify([{ Config: `${id}.json`, RepoTags: tags, Layers: [`abc/layer.tar`] }]) },
  ]);
}
