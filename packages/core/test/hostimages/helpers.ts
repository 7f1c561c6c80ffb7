/**
 * Test images for the host-images registry, and a memory runtime that keeps what it loads.
 *
 * The memory runtime's `images.load` records an archive's tags and its `save` makes up a one-layer
 * image from the reference's name; so `withStore` wraps it: `load` also keeps each image's archive
 * and `save` answers with it (counting calls). Everything else is the memory runtime's.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { normalizeImageRef } from "../../src/images/archive.js";
import type { CallOptions, Runtime } from "../../src/runtime.js";
import { createMemoryRuntime } from "../../src/testing/memory/index.js";
import { makeTar } from "../images/fixture.js";

export const sha256 = (data: Uint8Array | string) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

export interface TestImage {
  /** A `docker save` archive (Docker ≤ 24 layout) of the image under `tags`. */
  archive: Buffer;
  config: Buffer;
  layers: Buffer[];
  id: string;
}

/** Bytes of a given size that differ per seed (layers of distinct images never share a digest). */
export function filler(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  const block = createHash("sha256").update(seed).digest();
  for (let i = 0; i < size; i += block.length) block.copy(out, i);
  return out;
}

/**
 * An image of layers (each a tar holding one file per given content) and a config naming their diff
 * ids, saved as `docker save` does, tagged `tags`.
 */
export async function buildImage(tags: string[], contents: Array<Buffer | string>): Promise<TestImage> {
  const layers = await Promise.all(contents.map((content, i) => makeTar([{ name: `layer${i}/file`, content }])));
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["/layer0/file"] },
      rootfs: { type: "layers", diff_ids: layers.map((l) => sha256(l)) },
    }),
  );
  const id = sha256(config);
  const layerPaths = layers.map((l) => `${sha256(l).slice(7, 71)}/layer.tar`);
  const archive = await makeTar([
    ...layers.map((l, i) => ({ name: layerPaths[i]!, content: l })),
    { name: `${id.slice(7)}.json`, content: config },
    { name: "manifest.json", content: JSON.stringify([{ Config: `${id.slice(7)}.json`, RepoTags: tags, Layers: layerPaths }]) },
    { name: "repositories", content: "{}" },
  ]);
  return { archive, config, layers, id };
}

export interface StoreRuntime extends Runtime {
  /** The references each `images.save` call asked for, in order. */
  readonly saves: string[][];
}

/** The memory runtime, whose `save` answers with the archive `load` was given for the reference. */
export function withStore(inner: Runtime = createMemoryRuntime()): StoreRuntime {
  const archives = new Map<string, Buffer>();
  const saves: string[][] = [];
  const images: Runtime["images"] = {
    exists: (ref, options) => inner.images.exists(ref, options),
    inspect: (ref, options) => inner.images.inspect(ref, options),
    pull: (ref, options) => inner.images.pull(ref, options),
    async load(archive: Readable, options?: CallOptions) {
      const chunks: Buffer[] = [];
      for await (const chunk of archive) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      const refs = await inner.images.load(Readable.from([bytes]), options);
      for (const ref of refs) archives.set(normalizeImageRef(ref), bytes);
      return refs;
    },
    async save(refs: string[], options?: CallOptions) {
      saves.push(refs);
      const stream = await inner.images.save(refs, options);
      const kept = refs.length === 1 ? archives.get(normalizeImageRef(refs[0]!)) : undefined;
      if (!kept) return stream;
      stream.destroy();
      return Readable.from([kept]);
    },
  };
  const own: Record<PropertyKey, unknown> = { images, saves };
  return new Proxy(inner, {
    get(target, key) {
      if (key in own) return own[key];
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as StoreRuntime;
}

export async function tempDir(t: { onTestFinished(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "k3ts-hostimages-"));
  t.onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The digests of the blob files in a cache directory. */
export async function blobFiles(cacheDir: string): Promise<string[]> {
  return (await readdir(join(cacheDir, "blobs", "sha256"))).map((hex) => `sha256:${hex}`).sort();
}
