import { createServer } from "node:net";
import { Readable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { K3tsError } from "../../src/errors.js";
import { startHostImageRegistry, type HostImageRegistry } from "../../src/hostimages/index.js";
import { createMemoryRuntime } from "../../src/testing/memory/index.js";
import { listTarEntries } from "../../src/tar.js";
import { blobFiles, buildImage, filler, sha256, tempDir, withStore, type StoreRuntime } from "./helpers.js";

type T = Parameters<typeof tempDir>[0];

interface Manifest {
  schemaVersion: number;
  mediaType: string;
  config: { mediaType: string; digest: string; size: number };
  layers: Array<{ mediaType: string; digest: string; size: number }>;
}

async function start(t: T, runtime: StoreRuntime, options: { maxBytes?: number; cacheDir?: string; signal?: AbortSignal } = {}): Promise<{ registry: HostImageRegistry; cacheDir: string }> {
  const cacheDir = options.cacheDir ?? (await tempDir(t));
  const registry = await startHostImageRegistry({ runtime, cacheDir, maxBytes: options.maxBytes, signal: options.signal });
  t.onTestFinished(() => registry.close());
  return { registry, cacheDir };
}

async function load(runtime: StoreRuntime, tags: string[], contents: Array<Buffer | string>) {
  const image = await buildImage(tags, contents);
  await runtime.images.load(Readable.from([image.archive]));
  return image;
}

async function bytes(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

const manifestUrl = (registry: HostImageRegistry, name: string, ref: string, ns = "docker.io") => `${registry.url}/v2/${name}/manifests/${ref}?ns=${ns}`;

describe("host images registry", () => {
  it("answers /v2/ with the API version header, for GET and HEAD", async (t) => {
    const { registry } = await start(t, withStore());
    for (const method of ["GET", "HEAD"]) {
      const res = await fetch(`${registry.url}/v2/`, { method });
      expect(res.status).toBe(200);
      expect(res.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
      expect(await res.text()).toBe(method === "GET" ? "{}" : "");
    }
  });

  it("serves an engine image's manifest by tag and by digest, and every blob by the sha256 of its bytes", async (t) => {
    const runtime = withStore();
    const image = await load(runtime, ["app:1"], ["first layer\n", filler(3 << 20, "big")]);
    const { registry } = await start(t, runtime);

    const byTag = await fetch(manifestUrl(registry, "library/app", "1"));
    expect(byTag.status).toBe(200);
    const body = await bytes(byTag);
    const digest = byTag.headers.get("docker-content-digest")!;
    expect(digest).toBe(sha256(body));
    expect(byTag.headers.get("content-type")).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(Number(byTag.headers.get("content-length"))).toBe(body.length);

    const byDigest = await fetch(manifestUrl(registry, "library/app", digest));
    expect(byDigest.status).toBe(200);
    expect(byDigest.headers.get("docker-content-digest")).toBe(digest);
    expect(byDigest.headers.get("content-type")).toBe("application/vnd.oci.image.manifest.v1+json");
    expect((await bytes(byDigest)).equals(body)).toBe(true);

    const manifest = JSON.parse(body.toString()) as Manifest;
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(manifest.config).toEqual({ mediaType: "application/vnd.oci.image.config.v1+json", digest: image.id, size: image.config.length });
    expect(manifest.layers).toEqual(image.layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(l), size: l.length })));

    for (const descriptor of [manifest.config, ...manifest.layers]) {
      const res = await fetch(`${registry.url}/v2/library/app/blobs/${descriptor.digest}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("docker-content-digest")).toBe(descriptor.digest);
      const blob = await bytes(res);
      expect(sha256(blob)).toBe(descriptor.digest);
      expect(blob.length).toBe(descriptor.size);
      expect(Number(res.headers.get("content-length"))).toBe(descriptor.size);
    }
    expect(runtime.saves).toEqual([["docker.io/library/app:1"]]);
  });

  it("answers HEAD with the headers of GET and no body", async (t) => {
    const runtime = withStore();
    await load(runtime, ["app:1"], ["a", "b"]);
    const { registry } = await start(t, runtime);
    const get = await fetch(manifestUrl(registry, "library/app", "1"));
    const manifest = JSON.parse((await bytes(get)).toString()) as Manifest;
    const urls = [
      manifestUrl(registry, "library/app", "1"),
      manifestUrl(registry, "library/app", get.headers.get("docker-content-digest")!),
      `${registry.url}/v2/library/app/blobs/${manifest.layers[1]!.digest}`,
    ];
    for (const url of urls) {
      const [g, h] = [await fetch(url), await fetch(url, { method: "HEAD" })];
      expect(h.status).toBe(200);
      for (const name of ["content-type", "content-length", "docker-content-digest"]) {
        expect(h.headers.get(name)).not.toBeNull();
        expect(h.headers.get(name)).toBe(g.headers.get(name));
      }
      expect(await h.arrayBuffer()).toHaveProperty("byteLength", 0);
      expect((await g.arrayBuffer()).byteLength).toBe(Number(g.headers.get("content-length")));
    }
  });

  it("answers 404 with the spec's error bodies for an image the engine lacks and an unknown blob or digest", async (t) => {
    const runtime = withStore();
    const { registry } = await start(t, runtime);
    const unknownDigest = sha256("nothing");
    const cases: Array<[string, string]> = [
      [manifestUrl(registry, "library/nginx", "1.27"), "MANIFEST_UNKNOWN"],
      [manifestUrl(registry, "library/nginx", unknownDigest), "MANIFEST_UNKNOWN"],
      [`${registry.url}/v2/library/nginx/blobs/${unknownDigest}`, "BLOB_UNKNOWN"],
    ];
    for (const [url, code] of cases) {
      const res = await fetch(url);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/json");
      const body = (await res.json()) as { errors: Array<{ code: string; message: string; detail?: unknown }> };
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0]!.code).toBe(code);
      expect(body.errors[0]!.message).toEqual(expect.any(String));
      const head = await fetch(url, { method: "HEAD" });
      expect(head.status).toBe(404);
    }
    // GET and HEAD by tag each asked the engine, for the docker.io name and then Podman's localhost/ one.
    // Each name the request maps to is asked of the engine (images.inspect), and none is saved: the engine has none.
    expect(runtime.saves).toEqual([]);
  });

  it("answers 500 UNKNOWN when the engine fails (containerd tries its next endpoint), and serves again once it is back", async (t) => {
    const runtime = withStore();
    await load(runtime, ["app:1"], ["a"]);
    const save = runtime.images.save;
    runtime.images.save = async () => {
      throw new K3tsError("RUNTIME_UNAVAILABLE", "the engine is down");
    };
    const { registry } = await start(t, runtime);
    const res = await fetch(manifestUrl(registry, "library/app", "1"));
    expect(res.status).toBe(500);
    expect(((await res.json()) as { errors: Array<{ code: string; message: string }> }).errors[0]).toMatchObject({ code: "UNKNOWN", message: "the engine is down" });
    runtime.images.save = save;
    expect((await fetch(manifestUrl(registry, "library/app", "1"))).status).toBe(200);
  });

  it("refuses writes with 405 UNSUPPORTED", async (t) => {
    const runtime = withStore();
    await load(runtime, ["app:1"], ["a"]);
    const { registry } = await start(t, runtime);
    for (const [method, path] of [
      ["PUT", "/v2/library/app/manifests/1"],
      ["POST", "/v2/library/app/blobs/uploads/"],
      ["PATCH", "/v2/library/app/blobs/uploads/x"],
      ["DELETE", `/v2/library/app/blobs/${sha256("a")}`],
    ] as const) {
      const res = await fetch(`${registry.url}${path}`, { method, body: method === "DELETE" ? undefined : "x" });
      expect(res.status).toBe(405);
      expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe("UNSUPPORTED");
    }
    expect(runtime.saves).toEqual([]);
  });

  it("rejects a malformed name or digest with 400", async (t) => {
    const { registry } = await start(t, withStore());
    const name = await fetch(`${registry.url}/v2/Library/App/manifests/1`);
    expect(name.status).toBe(400);
    expect(((await name.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe("NAME_INVALID");
    const digest = await fetch(`${registry.url}/v2/library/app/blobs/sha256:abc`);
    expect(digest.status).toBe(400);
    expect(((await digest.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe("DIGEST_INVALID");
  });

  it("two tags of one image: saved once (the second is found by the image's id), its blobs kept once", async (t) => {
    const runtime = withStore();
    const image = await load(runtime, ["app:1", "app:2"], ["one", filler(2 << 20, "shared")]);
    const { registry, cacheDir } = await start(t, runtime);
    const [one, two] = [await fetch(manifestUrl(registry, "library/app", "1")), await fetch(manifestUrl(registry, "library/app", "2"))];
    const digest = one.headers.get("docker-content-digest")!;
    expect(two.headers.get("docker-content-digest")).toBe(digest);
    expect(await blobFiles(cacheDir)).toEqual([digest, image.id, ...image.layers.map((l) => sha256(l))].sort());
    expect(runtime.saves).toEqual([["docker.io/library/app:1"]]);
  });

  it("exports an image once for concurrent requests of its tag", async (t) => {
    const runtime = withStore();
    const image = await load(runtime, ["app:1"], ["one", filler(2 << 20, "concurrent")]);
    const { registry, cacheDir } = await start(t, runtime);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => fetch(manifestUrl(registry, "library/app", "1"), { method: i % 2 ? "HEAD" : "GET" })));
    expect(answers.map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(new Set(answers.map((r) => r.headers.get("docker-content-digest"))).size).toBe(1);
    expect(runtime.saves).toHaveLength(1);
    expect(await blobFiles(cacheDir)).toHaveLength(2 + image.layers.length);
  });

  it("serves a tag again from a new save, so a rebuilt image is what a later pull gets", async (t) => {
    const runtime = withStore();
    await load(runtime, ["app:dev"], ["base", "v1"]);
    const { registry } = await start(t, runtime);
    const before = JSON.parse(await (await fetch(manifestUrl(registry, "library/app", "dev"))).text()) as Manifest;
    await load(runtime, ["app:dev"], ["base", "v2"]);
    const after = JSON.parse(await (await fetch(manifestUrl(registry, "library/app", "dev"))).text()) as Manifest;
    expect(after.layers[0]!.digest).toBe(before.layers[0]!.digest);
    expect(after.layers[1]!.digest).not.toBe(before.layers[1]!.digest);
    expect(after.config.digest).not.toBe(before.config.digest);
    expect(runtime.saves).toHaveLength(2);
  });

  it("maps names: Podman's localhost/ images for docker.io names and under ns=localhost, any registry by ns", async (t) => {
    const runtime = withStore();
    const local = await load(runtime, ["localhost/web:dev"], ["web"]);
    const other = await load(runtime, ["registry.example.com:5000/team/api:2"], ["api"]);
    const { registry } = await start(t, runtime);
    const configOf = async (url: string) => {
      const res = await fetch(url);
      expect(res.status, url).toBe(200);
      return (JSON.parse(await res.text()) as Manifest).config.digest;
    };
    expect(await configOf(manifestUrl(registry, "web", "dev", "localhost"))).toBe(local.id);
    expect(await configOf(manifestUrl(registry, "library/web", "dev", "docker.io"))).toBe(local.id);
    expect(await configOf(manifestUrl(registry, "team/api", "2", "registry.example.com:5000"))).toBe(other.id);
    expect((await fetch(manifestUrl(registry, "team/api", "2", "docker.io"))).status).toBe(404);
    expect((await fetch(manifestUrl(registry, "api", "2", "registry.example.com"))).status).toBe(404);
  });

  it("serves the memory runtime's own images (its save made up, one layer)", async (t) => {
    const runtime = createMemoryRuntime({ images: ["busybox:1"] });
    const { registry } = await start(t, Object.assign(runtime, { saves: [] }));
    const manifest = JSON.parse(await (await fetch(manifestUrl(registry, "library/busybox", "1"))).text()) as Manifest;
    expect(manifest.layers).toHaveLength(1);
    const layer = await bytes(await fetch(`${registry.url}/v2/library/busybox/blobs/${manifest.layers[0]!.digest}`));
    expect(sha256(layer)).toBe(manifest.layers[0]!.digest);
    expect(await listTarEntries(Readable.from([layer]))).toContain("etc/k3ts-memory-image");
  });

  it("answers a Range request for a blob with 206 and those bytes", async (t) => {
    const runtime = withStore();
    const image = await load(runtime, ["app:1"], [filler(100_000, "range")]);
    const { registry } = await start(t, runtime);
    await fetch(manifestUrl(registry, "library/app", "1"));
    const url = `${registry.url}/v2/library/app/blobs/${sha256(image.layers[0]!)}`;
    const res = await fetch(url, { headers: { Range: "bytes=1000-" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes 1000-${image.layers[0]!.length - 1}/${image.layers[0]!.length}`);
    expect((await bytes(res)).equals(image.layers[0]!.subarray(1000))).toBe(true);
    expect((await fetch(url, { headers: { Range: `bytes=${image.layers[0]!.length}-` } })).status).toBe(416);
  });
});

describe("host images cache", () => {
  it("evicts the least recently served image when over its bound, keeping one whose blob is being read", async (t) => {
    const runtime = withStore();
    const mib = 1 << 20;
    const a = await load(runtime, ["a:1"], [filler(24 * mib, "a")]);
    const b = await load(runtime, ["b:1"], [filler(24 * mib, "b")]);
    const c = await load(runtime, ["c:1"], [filler(24 * mib, "c")]);
    const d = await load(runtime, ["d:1"], [filler(24 * mib, "d")]);
    const { registry, cacheDir } = await start(t, runtime, { maxBytes: 60 * mib });
    const layerOf = (image: { layers: Buffer[] }) => sha256(image.layers[0]!);
    const pull = async (name: string) => {
      const res = await fetch(manifestUrl(registry, `library/${name}`, "1"));
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    };
    await pull("a");
    await pull("b");
    await pull("a");
    await pull("c");
    // b was served longest ago: its blobs went, a's and c's stayed.
    let blobs = await blobFiles(cacheDir);
    expect(blobs).toContain(layerOf(a));
    expect(blobs).toContain(layerOf(c));
    expect(blobs).not.toContain(layerOf(b));
    expect(blobs).not.toContain(b.id);
    expect(registry.cache.size).toBeLessThanOrEqual(60 * mib);
    expect((await fetch(`${registry.url}/v2/library/b/blobs/${layerOf(b)}`)).status).toBe(404);

    // a is now the least recently served, but a client is reading its layer: c goes instead.
    const reading = await fetch(`${registry.url}/v2/library/a/blobs/${layerOf(a)}`);
    expect(reading.status).toBe(200);
    await pull("c");
    await pull("d");
    blobs = await blobFiles(cacheDir);
    expect(blobs).toContain(layerOf(a));
    expect(blobs).toContain(layerOf(d));
    expect(blobs).not.toContain(layerOf(c));
    const body = await bytes(reading);
    expect(sha256(body)).toBe(layerOf(a));
  });

  it("is reused by a registry started again on the same directory", async (t) => {
    const runtime = withStore();
    const image = await load(runtime, ["app:1"], ["x", "y"]);
    const first = await start(t, runtime);
    const digest = (await fetch(manifestUrl(first.registry, "library/app", "1"))).headers.get("docker-content-digest")!;
    await first.registry.close();
    const again = await start(t, runtime, { cacheDir: first.cacheDir });
    expect((await fetch(manifestUrl(again.registry, "library/app", digest))).status).toBe(200);
    const layer = await fetch(`${again.registry.url}/v2/library/app/blobs/${sha256(image.layers[1]!)}`);
    expect((await bytes(layer)).equals(image.layers[1]!)).toBe(true);
    expect(runtime.saves).toHaveLength(1);
  });
});

describe("host images lifecycle", () => {
  const portIsFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });

  it("close() frees the port, and is idempotent", async (t) => {
    const { registry } = await start(t, withStore());
    expect(await portIsFree(registry.port)).toBe(false);
    await fetch(`${registry.url}/v2/`);
    await Promise.all([registry.close(), registry.close()]);
    expect(await portIsFree(registry.port)).toBe(true);
    await expect(fetch(`${registry.url}/v2/`)).rejects.toThrow();
  });

  it("closes when its signal fires", async (t) => {
    const controller = new AbortController();
    const { registry } = await start(t, withStore(), { signal: controller.signal });
    expect((await fetch(`${registry.url}/v2/`)).status).toBe(200);
    controller.abort();
    await vi.waitFor(async () => expect(await portIsFree(registry.port)).toBe(true), { timeout: 5000 });
    await expect(fetch(`${registry.url}/v2/`)).rejects.toThrow();
  });

  it("refuses a port in use with PORT_IN_USE", async (t) => {
    const { registry } = await start(t, withStore());
    await expect(startHostImageRegistry({ runtime: withStore(), cacheDir: await tempDir(t), port: registry.port })).rejects.toMatchObject({ code: "PORT_IN_USE" });
  });

  it("refuses to start with a signal that already fired", async (t) => {
    await expect(startHostImageRegistry({ runtime: withStore(), cacheDir: await tempDir(t), signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "ABORTED" });
  });
});
