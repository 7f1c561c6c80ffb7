import { Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  alreadyPresent,
  candidateRefs,
  fanOut,
  formatTransfer,
  nodesNeeding,
  normalizeImageRef,
  ctrImportCommand,
  importedImages,
  parseCtrImageList,
  parseCtrImportOutput,
  readImageArchive,
  resolveSources,
  worthChecking,
} from "../../src/images/index.js";
import { dockerSave, makeTar, podmanSave, sha, tinyImage } from "./fixture.js";

/**
 * What containerd 1.6.20's `ctr images import` stored these archives under (measured on the
 * machine that wrote this test: docker's containerd, a scratch namespace, then removed).
 */
const CONTAINERD_DIGEST = "sha256:efe633835d724024629ab6cc1c13b1884c10968949d8ef74091027711f62b88c";

describe("normalizeImageRef (containerd's names for docker save tags)", () => {
  it.each([
    ["busybox", "docker.io/library/busybox:latest"],
    ["tiny", "docker.io/library/tiny:latest"],
    ["k3ts-test/tiny:1", "docker.io/k3ts-test/tiny:1"],
    ["docker.io/busybox:1", "docker.io/library/busybox:1"],
    ["localhost/k3ts-test/tiny:1", "localhost/k3ts-test/tiny:1"],
    ["registry.example.com:5000/app", "registry.example.com:5000/app:latest"],
    ["ghcr.io/me/app@sha256:abc", "ghcr.io/me/app@sha256:abc"],
  ])("%s → %s", (ref, want) => expect(normalizeImageRef(ref)).toBe(want));
});

describe("readImageArchive", () => {
  it("docker save: the refs containerd creates and the digest it stores them under", async () => {
    const images = await readImageArchive(Readable.from([await dockerSave(["k3ts-test/tiny:1", "tiny"])]));
    expect(images).toEqual([
      { ref: "docker.io/k3ts-test/tiny:1", digest: CONTAINERD_DIGEST, mediaType: "application/vnd.docker.distribution.manifest.v2+json" },
      { ref: "docker.io/library/tiny:latest", digest: CONTAINERD_DIGEST, mediaType: "application/vnd.docker.distribution.manifest.v2+json" },
    ]);
  });

  it("podman save (docker-archive, layers behind symlinks): the same digest", async () => {
    const images = await readImageArchive(Readable.from([await podmanSave(["localhost/k3ts-test/tiny:1"])]));
    expect(images).toEqual([{ ref: "localhost/k3ts-test/tiny:1", digest: CONTAINERD_DIGEST, mediaType: "application/vnd.docker.distribution.manifest.v2+json" }]);
  });

  it("OCI layout: index.json's descriptors, named by their annotations; bare tags are left out", async () => {
    const { layer, config } = await tinyImage();
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { digest: `sha256:${sha(config)}`, size: config.length }, layers: [] });
    const index = {
      schemaVersion: 2,
      manifests: [
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${sha(manifest)}`, size: manifest.length, annotations: { "org.opencontainers.image.ref.name": "localhost/app:1" } },
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${sha(manifest)}`, size: manifest.length, annotations: { "io.containerd.image.name": "docker.io/me/app:2", "org.opencontainers.image.ref.name": "2" } },
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${sha(manifest)}`, size: manifest.length, annotations: { "org.opencontainers.image.ref.name": "3" } },
      ],
    };
    const archive = await makeTar([
      { name: "oci-layout", content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: `blobs/sha256/${sha(layer)}`, content: layer },
      { name: `blobs/sha256/${sha(config)}`, content: config },
      { name: `blobs/sha256/${sha(manifest)}`, content: manifest },
      { name: "index.json", content: JSON.stringify(index) },
    ]);
    const images = await readImageArchive(Readable.from([archive]));
    expect(images.map((i) => i.ref)).toEqual(["localhost/app:1", "docker.io/me/app:2"]);
    expect(new Set(images.map((i) => i.digest))).toEqual(new Set([`sha256:${sha(manifest)}`]));
  });

  it("streams split at any byte boundary give the same answer", async () => {
    const archive = await dockerSave(["k3ts-test/tiny:1"]);
    const chunks = Array.from({ length: Math.ceil(archive.length / 333) }, (_, i) => archive.subarray(i * 333, (i + 1) * 333));
    expect((await readImageArchive(Readable.from(chunks)))[0]?.digest).toBe(CONTAINERD_DIGEST);
  });

  it("not an archive, or a tar without an image: INVALID_ARGUMENT naming it", async () => {
    await expect(readImageArchive(Readable.from([Buffer.from("hello\n")]), "x.tar")).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("x.tar is not an image archive") });
    const plain = await makeTar([{ name: "a.txt", content: "a" }]);
    await expect(readImageArchive(Readable.from([plain]), "plain.tar")).rejects.toMatchObject({ message: expect.stringContaining("neither oci-layout nor manifest.json") });
  });

  it.each([
    [[{ name: "manifest.json", content: "{}" }], "manifest.json is not a list of images"],
    [[{ name: "manifest.json", content: '[{"Config": 7, "Layers": []}]' }], "manifest.json[0] names no Config and Layers"],
    [[{ name: "manifest.json", content: '[{"Config": "c.json", "Layers": "l.tar"}]' }], "manifest.json[0] names no Config and Layers"],
    [[{ name: "manifest.json", content: '[{"Config": "c.json", "Layers": [], "RepoTags": "a:1"}]' }], "manifest.json[0].RepoTags is not a list of names"],
    [[{ name: "manifest.json", content: "null" }], "manifest.json is not a list of images"],
    [[{ name: "oci-layout", content: "{}" }, { name: "index.json", content: '{"manifests": {}}' }], "index.json has no list of manifests with digests"],
    [[{ name: "oci-layout", content: "{}" }, { name: "index.json", content: '{"manifests": [{"mediaType": "x"}]}' }], "index.json has no list of manifests with digests"],
    [[{ name: "oci-layout", content: "{}" }, { name: "index.json", content: "null" }], "index.json has no list of manifests with digests"],
  ])("malformed metadata is INVALID_ARGUMENT naming the archive, never a TypeError (%#)", async (files, message) => {
    const tarball = await makeTar(files);
    await expect(readImageArchive(Readable.from([tarball]), "bad.tar")).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: `bad.tar is not an image archive: ${message}` });
  });
});

describe("ctr output", () => {
  // Exactly what containerd 1.6.20's ctr printed (and the stand-in prints).
  const LS = [
    "REF                           TYPE                                                 DIGEST                                                                  SIZE    PLATFORMS   LABELS ",
    "docker.io/k3ts-test/busybox:1 application/vnd.docker.distribution.manifest.v2+json sha256:2b93e2c902f35069977ffb8487370e4d72254cd289ac065b6e6d97c68a194a3a 2.0 MiB linux/amd64 -      ",
    "localhost/k3ts-test/busybox:1 application/vnd.oci.image.manifest.v1+json           sha256:10aacb981e8b85a2f45edbe64afc999c95cb8d2d01c2aa782ca19f895342564a 1.0 MiB linux/amd64 -      ",
    "",
  ].join("\n");

  it("images ls → reference → digest (SIZE has a space)", () => {
    expect([...parseCtrImageList(LS)]).toEqual([
      ["docker.io/k3ts-test/busybox:1", "sha256:2b93e2c902f35069977ffb8487370e4d72254cd289ac065b6e6d97c68a194a3a"],
      ["localhost/k3ts-test/busybox:1", "sha256:10aacb981e8b85a2f45edbe64afc999c95cb8d2d01c2aa782ca19f895342564a"],
    ]);
    expect(parseCtrImageList("REF TYPE DIGEST SIZE PLATFORMS LABELS \n").size).toBe(0);
    expect(parseCtrImageList("").size).toBe(0);
  });

  it("images import → the unpacked references", () => {
    const out = "unpacking docker.io/k3ts-test/busybox:1 (sha256:2b93e2c902f35069977ffb8487370e4d72254cd289ac065b6e6d97c68a194a3a)...done\n";
    expect(parseCtrImportOutput(out)).toEqual([{ ref: "docker.io/k3ts-test/busybox:1", digest: "sha256:2b93e2c902f35069977ffb8487370e4d72254cd289ac065b6e6d97c68a194a3a" }]);
  });
});

describe("what an import gave a node", () => {
  const A = `sha256:${"a".repeat(64)}`;
  const B = `sha256:${"b".repeat(64)}`;
  const ID = `sha256:${"c".repeat(64)}`;

  it("containerd 2.x prints no unpacking lines: new and re-pointed references come from the listings, the CRI's id references are left out", () => {
    const before = new Map([["docker.io/me/old:1", A], ["docker.io/me/app:1", A]]);
    const after = new Map([["docker.io/me/old:1", A], ["docker.io/me/app:1", B], ["docker.io/me/new:1", B], [ID, B]]);
    expect(importedImages([], before, after)).toEqual([
      { ref: "docker.io/me/app:1", digest: B },
      { ref: "docker.io/me/new:1", digest: B },
    ]);
  });

  it("a re-import of the same digest is named by the archive's references, or by ctr's 1.x lines", () => {
    const held = new Map([["docker.io/me/app:1", A]]);
    expect(importedImages([], held, held)).toEqual([]);
    expect(importedImages([], held, held, [{ ref: "docker.io/me/app:1", digest: A }])).toEqual([{ ref: "docker.io/me/app:1", digest: A }]);
    expect(importedImages([{ ref: "docker.io/me/app:1", digest: A }], held, held)).toEqual([{ ref: "docker.io/me/app:1", digest: A }]);
    // An archive reference the node does not hold with the archive's digest is not claimed.
    expect(importedImages([], held, held, [{ ref: "docker.io/me/app:1", digest: B }])).toEqual([]);
  });

  it("imports the node's platform only: --all-platforms fails on archives that name platforms they do not carry (k3d#1538)", () => {
    expect(ctrImportCommand()).not.toContain("--all-platforms");
    expect(ctrImportCommand().at(-1)).toBe("-");
  });
});

describe("planning", () => {
  const img = { ref: "docker.io/me/app:1", digest: "sha256:aa", mediaType: "m" };
  const other = { ref: "docker.io/me/app:latest", digest: "sha256:aa", mediaType: "m" };

  it("a node needs the archive unless it holds every reference with the same digest", () => {
    const present = new Map([
      ["same", new Map([["docker.io/me/app:1", "sha256:aa"], ["docker.io/me/app:latest", "sha256:aa"]])],
      ["stale", new Map([["docker.io/me/app:1", "sha256:bb"], ["docker.io/me/app:latest", "sha256:aa"]])],
      ["partial", new Map([["docker.io/me/app:1", "sha256:aa"]])],
      ["empty", new Map<string, string>()],
    ]);
    expect(nodesNeeding([img, other], present)).toEqual(["stale", "partial", "empty"]);
    expect(alreadyPresent([], new Map([["x", "y"]]))).toBe(false); // an unnamed archive is always imported
  });

  it("the engine's archive is read for digests only when a node may already hold the image", () => {
    expect(candidateRefs("me/app:1")).toEqual(["docker.io/me/app:1", "localhost/me/app:1"]);
    expect(candidateRefs("localhost/app:1")).toEqual(["localhost/app:1"]);
    expect(candidateRefs("busybox")).toEqual(["docker.io/library/busybox:latest", "localhost/busybox:latest"]);
    expect(worthChecking("me/app:1", [new Map(), new Map([["localhost/me/app:1", "sha256:cc"]])])).toBe(true);
    expect(worthChecking("me/app:1", [new Map([["docker.io/me/app:2", "sha256:cc"]])])).toBe(false);
  });

  it("resolveSources: - is stdin (once), files win over image names", () => {
    const stdin = Readable.from([]);
    const isFile = (p: string) => p.endsWith(".tar");
    expect(resolveSources(["app:1", "./x.tar", "-"], stdin, isFile).map((s) => s.kind)).toEqual(["image", "file", "stream"]);
    expect(() => resolveSources(["-", "-"], stdin, isFile)).toThrow(/once/);
    expect(() => resolveSources(["-"], undefined, isFile)).toThrow(/no stdin/);
    expect(() => resolveSources([], stdin, isFile)).toThrow(/at least one/);
  });
});

describe("fanOut", () => {
  function sink(delayMs: number, failAfter?: number): { stream: Writable; received: () => number } {
    let n = 0;
    const stream = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        n += chunk.length;
        if (failAfter !== undefined && n > failAfter) return cb(new Error("node went away"));
        setTimeout(cb, delayMs);
      },
    });
    return { stream, received: () => n };
  }

  it("every branch gets every byte, paced by the slowest (the source pauses)", async () => {
    const chunks = Array.from({ length: 64 }, () => Buffer.alloc(64 * 1024, 7));
    const source = Readable.from(chunks, { objectMode: false, highWaterMark: 64 * 1024 });
    const branches = fanOut(source, 3);
    const sinks = [sink(0), sink(1), sink(0)];
    await Promise.all(branches.map((b, i) => new Promise((res) => b.stream.pipe(sinks[i]!.stream).on("finish", res))));
    for (const s of sinks) expect(s.received()).toBe(64 * 64 * 1024);
    for (const b of branches) expect(b.bytes()).toBe(64 * 64 * 1024);
  });

  it("a branch whose consumer fails is detached; the others still get everything", async () => {
    const source = Readable.from(Array.from({ length: 32 }, () => Buffer.alloc(64 * 1024, 1)));
    const [good, bad] = fanOut(source, 2);
    const ok = sink(0);
    const failing = sink(0, 100 * 1024);
    bad!.stream.pipe(failing.stream).on("error", () => bad!.detach());
    await new Promise((res) => good!.stream.pipe(ok.stream).on("finish", res));
    expect(ok.received()).toBe(32 * 64 * 1024);
  });

  it("progress text: bytes and rate", () => {
    expect(formatTransfer(3 * 1024 * 1024, 1500)).toBe("3.0 MiB at 2.0 MiB/s");
    expect(formatTransfer(100, 0)).toBe("100 B at 0 B/s");
  });
});
