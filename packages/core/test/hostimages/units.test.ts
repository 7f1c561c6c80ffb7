import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { HostImageCache, exportImage, engineRefs, pruneHostImageCache } from "../../src/hostimages/index.js";
import { makeTar, podmanSave, tinyImage } from "../images/fixture.js";
import { blobFiles, buildImage, filler, sha256, tempDir, withStore } from "./helpers.js";

describe("engineRefs", () => {
  it.each([
    ["library/busybox", "1", "docker.io", ["docker.io/library/busybox:1", "localhost/busybox:1"]],
    ["me/app", "dev", "docker.io", ["docker.io/me/app:dev", "localhost/me/app:dev"]],
    ["me/app", "dev", "registry-1.docker.io", ["docker.io/me/app:dev", "localhost/me/app:dev"]],
    ["busybox", "1", "docker.io", ["docker.io/library/busybox:1", "localhost/busybox:1"]],
    ["app", "dev", "localhost", ["localhost/app:dev"]],
    ["team/api", "2", "registry.example.com:5000", ["registry.example.com:5000/team/api:2"]],
    ["app", "1", "localhost:5000", ["localhost:5000/app:1"]],
    ["library/busybox", "1", undefined, ["docker.io/library/busybox:1", "localhost/busybox:1"]],
    ["ghcr.io/org/tool", "v1", undefined, ["ghcr.io/org/tool:v1"]],
    ["app", "1", "not a host", []],
    ["app", "1", "a/b", []],
  ] as const)("%s:%s under ns=%s", (name, tag, ns, refs) => {
    expect(engineRefs(name, tag, ns)).toEqual(refs);
  });
});

describe("exportImage", () => {
  async function exported(t: Parameters<typeof tempDir>[0], archive: Buffer, ref: string) {
    const runtime = withStore();
    await runtime.images.load(Readable.from([archive]));
    const cache = await HostImageCache.open(await tempDir(t));
    const image = await exportImage(runtime, ref, cache);
    const read = async (digest: string) => (await import("node:fs/promises")).readFile(cache.blob(digest)!.path);
    return { image, cache, read };
  }

  it("reads podman's docker-archive (layers behind symlinks)", async (t) => {
    const tiny = await tinyImage();
    const { image, read } = await exported(t, await podmanSave(["localhost/tiny:1"]), "localhost/tiny:1");
    expect(image.id).toBe(sha256(tiny.config));
    expect((await read(image.blobs[1]!)).equals(tiny.layer)).toBe(true);
    const manifest = JSON.parse((await read(image.manifest.digest)).toString()) as { layers: Array<{ digest: string }> };
    expect(manifest.layers.map((l) => l.digest)).toEqual([sha256(tiny.layer)]);
  });

  it("reads Docker 25's layout (blobs/sha256 named in manifest.json) and gives a gzip layer its media type", async (t) => {
    const plain = await makeTar([{ name: "a", content: "a" }]);
    const zipped = gzipSync(await makeTar([{ name: "b", content: "b" }]));
    const config = JSON.stringify({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [] } });
    const blob = (b: Buffer | string) => `blobs/sha256/${sha256(b).slice(7)}`;
    const archive = await makeTar([
      { name: blob(plain), content: plain },
      { name: blob(zipped), content: zipped },
      { name: blob(config), content: config },
      { name: "oci-layout", content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: "index.json", content: "{}" },
      { name: "manifest.json", content: JSON.stringify([{ Config: blob(config), RepoTags: ["app:oci"], Layers: [blob(plain), blob(zipped)] }]) },
    ]);
    const { image, read } = await exported(t, archive, "app:oci");
    const manifest = JSON.parse((await read(image.manifest.digest)).toString()) as { layers: Array<{ mediaType: string; digest: string }> };
    expect(manifest.layers).toEqual([
      { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(plain), size: plain.length },
      { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(zipped), size: zipped.length },
    ]);
  });

  /** Docker 25's `docker save`: blobs named by their digest, manifest.json naming them. */
  async function blobsLayout(tag: string, layers: Buffer[], entryFor: (b: Buffer) => Buffer = (b) => b) {
    const config = Buffer.from(JSON.stringify({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: layers.map(sha256) } }));
    const path = (b: Buffer) => `blobs/sha256/${sha256(b).slice(7)}`;
    return makeTar([
      ...[...layers, config].map((b) => ({ name: path(b), content: entryFor(b) })),
      { name: "manifest.json", content: JSON.stringify([{ Config: path(config), RepoTags: [tag], Layers: layers.map(path) }]) },
    ]);
  }

  it("does not write again what the cache has when the archive names blobs by digest (only a legacy layout is rewritten)", async (t) => {
    const layer = await makeTar([{ name: "big", content: filler(2 << 20, "unchanged") }]);
    const runtime = withStore();
    await runtime.images.load(Readable.from([await blobsLayout("app:new", [layer])]));
    await runtime.images.load(Readable.from([(await buildImage(["app:old"], [filler(2 << 20, "legacy")])).archive]));
    const dir = await tempDir(t);
    const cache = await HostImageCache.open(dir);
    const tmpChanged = async (ref: string) => {
      const before = (await stat(join(dir, "tmp"), { bigint: true })).mtimeNs;
      const image = await exportImage(runtime, ref, cache);
      return { image, changed: (await stat(join(dir, "tmp"), { bigint: true })).mtimeNs !== before };
    };
    const first = await exportImage(runtime, "app:new", cache);
    const again = await tmpChanged("app:new");
    expect(again.image).toEqual(first);
    expect(again.changed).toBe(false);
    await exportImage(runtime, "app:old", cache);
    expect((await tmpChanged("app:old")).changed).toBe(true);
  });

  it("fails with RUNTIME_ERROR when an entry named by a cached digest holds other bytes", async (t) => {
    const layer = await makeTar([{ name: "big", content: filler(2 << 20, "named") }]);
    const runtime = withStore();
    await runtime.images.load(Readable.from([await blobsLayout("app:1", [layer])]));
    await runtime.images.load(Readable.from([await blobsLayout("app:2", [layer], (b) => (b === layer ? filler(b.length, "other") : b))]));
    const cache = await HostImageCache.open(await tempDir(t));
    await exportImage(runtime, "app:1", cache);
    await expect(exportImage(runtime, "app:2", cache)).rejects.toMatchObject({ code: "RUNTIME_ERROR", meta: { digest: expect.stringMatching(/^sha256:/) } });
  });

  it("stops reading the engine's archive when its signal fires", async (t) => {
    const runtime = withStore();
    const endless = new PassThrough();
    endless.write(Buffer.alloc(512 * 20));
    runtime.images.save = async () => endless;
    const dir = await tempDir(t);
    const cache = await HostImageCache.open(dir);
    const controller = new AbortController();
    const pending = exportImage(runtime, "app:1", cache, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toBeDefined();
    expect(endless.destroyed).toBe(true);
    expect(await readdir(join(dir, "tmp"))).toEqual([]);
  });

  it("fails with RUNTIME_ERROR on an archive that names a layer it lacks, leaving no blob behind", async (t) => {
    const config = "{}";
    const archive = await makeTar([
      { name: `${sha256(config).slice(7)}.json`, content: config },
      { name: "manifest.json", content: JSON.stringify([{ Config: `${sha256(config).slice(7)}.json`, RepoTags: ["broken:1"], Layers: ["gone/layer.tar"] }]) },
    ]);
    const runtime = withStore();
    await runtime.images.load(Readable.from([archive]));
    const dir = await tempDir(t);
    const cache = await HostImageCache.open(dir);
    await expect(exportImage(runtime, "broken:1", cache)).rejects.toMatchObject({ code: "RUNTIME_ERROR" });
    expect(await blobFiles(dir)).toEqual([]);
    expect(cache.size).toBe(0);
  });

  it("passes IMAGE_NOT_FOUND through for an image the engine lacks", async (t) => {
    const cache = await HostImageCache.open(await tempDir(t));
    await expect(exportImage(withStore(), "nope:1", cache)).rejects.toMatchObject({ code: "IMAGE_NOT_FOUND" });
  });
});

describe("HostImageCache", () => {
  it("drops half-written files, stray blobs and records whose blobs are gone when it opens", async (t) => {
    const dir = await tempDir(t);
    const runtime = withStore();
    const image = await buildImage(["app:1"], ["x"]);
    await runtime.images.load(Readable.from([image.archive]));
    const first = await HostImageCache.open(dir);
    const kept = await exportImage(runtime, "app:1", first);
    await writeFile(join(dir, "tmp", "half"), "partial");
    await writeFile(join(dir, "blobs", "sha256", sha256("stray").slice(7)), "stray");
    await mkdir(join(dir, "images"), { recursive: true });
    await writeFile(join(dir, "images", `${sha256("ghost").slice(7)}.json`), JSON.stringify({ ...kept, id: sha256("ghost"), blobs: [sha256("missing")] }));
    const again = await HostImageCache.open(dir);
    expect(await readdir(join(dir, "tmp"))).toEqual([]);
    expect(again.images().map((i) => i.id)).toEqual([image.id]);
    expect(await blobFiles(dir)).toEqual([kept.manifest.digest, ...kept.blobs].sort());
  });

  it("refuses a directory that holds other files, and a bound that is not positive", async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, "notes.txt"), "mine");
    await expect(HostImageCache.open(dir)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(HostImageCache.open(join(dir, "cache"), { maxBytes: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("clear() empties it", async (t) => {
    const dir = await tempDir(t);
    const runtime = withStore();
    await runtime.images.load(Readable.from([(await buildImage(["app:1"], ["x", "y"])).archive]));
    const cache = await HostImageCache.open(dir);
    await exportImage(runtime, "app:1", cache);
    expect(cache.size).toBeGreaterThan(0);
    await cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.images()).toEqual([]);
    expect(await blobFiles(dir)).toEqual([]);
    expect(await readdir(join(dir, "images"))).toEqual([]);
  });
});

describe("pruneHostImageCache", () => {
  it("removes a cache directory and says how many bytes its blobs held", async (t) => {
    const root = await tempDir(t);
    const dir = join(root, "cache");
    const runtime = withStore();
    await runtime.images.load(Readable.from([(await buildImage(["app:1"], ["x", "y"])).archive]));
    const cache = await HostImageCache.open(dir);
    await exportImage(runtime, "app:1", cache);
    expect(await pruneHostImageCache(dir)).toBe(cache.size);
    expect(await readdir(root)).toEqual([]);
    expect(await pruneHostImageCache(dir)).toBe(0);
  });

  it("refuses a directory that is not a cache", async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, "important"), "keep me");
    await expect(pruneHostImageCache(dir)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await readdir(dir)).toEqual(["important"]);
  });
});
