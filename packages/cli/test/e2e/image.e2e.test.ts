import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { ENGINES, bin, clearName, createArgs, k3ts, leftovers, runtimeFor } from "./helpers.js";

const IMAGE = "k3ts-test/busybox:1";

interface Outcome {
  source: string;
  status: "imported" | "skipped" | "failed";
  images: Array<{ ref: string; digest: string }>;
  bytes: number;
  durationMs: number;
  error?: string;
}
interface Report {
  cluster: string;
  nodes: Array<{ node: string; role: string; status: string; images: Outcome[] }>;
}

/** `ctr images ls` in the node, as reference → digest. */
async function nodeImages(runtime: NonNullable<Awaited<ReturnType<typeof runtimeFor>>>, node: string): Promise<Map<string, string>> {
  const r = await runtime.nodes.exec(node, ["ctr", "-n", "k8s.io", "images", "ls"]);
  expect(r.exitCode, r.stderr.toString()).toBe(0);
  const rows = r.stdout.toString().trim().split("\n").slice(1);
  return new Map(rows.map((l) => l.trim().split(/\s+/)).map((c) => [c[0]!, c[2]!]));
}

interface Saved {
  config: Buffer;
  layers: Buffer[];
}

/** `ENGINE save IMAGE` (a docker-archive: manifest.json, the config, uncompressed layers), unpacked and read. */
async function saved(engine: string, image: string, dir: string): Promise<Saved> {
  const out = mkdtempSync(join(dir, "saved-"));
  await execa("sh", ["-c", `${engine} save ${image} | tar -x -C ${out}`]);
  const [m] = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as Array<{ Config: string; Layers: string[] }>;
  return { config: readFileSync(join(out, m!.Config)), layers: m!.Layers.map((l) => readFileSync(join(out, l))) };
}

/** Writes a docker-archive of the saved image under another name (what a user drops in the agent images directory). */
async function retagged(image: Saved, repoTag: string, file: string): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "k3ts-e2e-retag-"));
  const hex = (b: Buffer) => createHash("sha256").update(b).digest("hex");
  writeFileSync(join(root, `${hex(image.config)}.json`), image.config);
  const layers = image.layers.map((l) => {
    writeFileSync(join(root, `${hex(l)}.tar`), l);
    return `${hex(l)}.tar`;
  });
  writeFileSync(join(root, "manifest.json"), JSON.stringify([{ Config: `${hex(image.config)}.json`, RepoTags: [repoTag], Layers: layers }]));
  await execa("tar", ["-C", root, "-cf", file, "."]);
  rmSync(root, { recursive: true, force: true });
}

/**
 * An OCI archive as Docker's containerd image store exports a pulled multi-platform image: the
 * index names this machine's platform and another, and only this machine's blobs are in it.
 */
async function partialMultiPlatform(image: Saved, ref: string, file: string): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "k3ts-e2e-oci-"));
  mkdirSync(join(root, "blobs/sha256"), { recursive: true });
  const describe = (b: Buffer) => ({ digest: `sha256:${createHash("sha256").update(b).digest("hex")}`, size: b.length });
  const put = (b: Buffer) => {
    const d = describe(b);
    writeFileSync(join(root, "blobs/sha256", d.digest.slice(7)), b);
    return d;
  };
  const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  const INDEX = "application/vnd.oci.image.index.v1+json";
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...put(image.config) },
      layers: image.layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...put(l) })),
    }),
  );
  const arch = process.arch === "arm64" ? "arm64" : "amd64";
  const other = arch === "amd64" ? "arm64" : "amd64";
  const absent = describe(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, note: `the ${other} manifest, not exported` })));
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: INDEX,
      manifests: [
        { mediaType: MANIFEST, ...put(manifest), platform: { architecture: arch, os: "linux" } },
        { mediaType: MANIFEST, ...absent, platform: { architecture: other, os: "linux" } },
      ],
    }),
  );
  const tag = ref.slice(ref.lastIndexOf(":") + 1);
  writeFileSync(join(root, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [{ mediaType: INDEX, ...put(index), annotations: { "io.containerd.image.name": ref, "org.opencontainers.image.ref.name": tag } }] }));
  writeFileSync(join(root, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await execa("tar", ["-C", root, "-cf", file, "."]);
  rmSync(root, { recursive: true, force: true });
}

function statuses(report: Report): string[] {
  return report.nodes.map((n) => `${n.node}=${n.images.map((o) => o.status).join(",")}`);
}

// End to end, per engine: the real CLI against the k3s stand-in's ctr (see fixtures/k3s-standin).
for (const engine of ENGINES) {
  const runtime = await runtimeFor(engine);
  const suite = runtime ? describe : describe.skip;
  const short = engine[0];

  suite(`image import on ${engine}`, () => {
    it("an engine image reaches every node, a second import skips, tarballs and stdin too, a missing image fails clearly; delete leaves nothing", async () => {
      const name = await clearName(runtime!, `e2e${short}-img`);
      const dir = mkdtempSync(join(tmpdir(), "k3ts-e2e-img-"));
      const env = { KUBECONFIG: join(dir, "config") };
      const nodes = [`k3ts-${name}-server-0`, `k3ts-${name}-agent-0`, `k3ts-${name}-agent-1`];
      const busybox = await saved(engine, IMAGE, dir);
      const preload = join(dir, "agent-images");
      mkdirSync(preload);
      await retagged(busybox, "k3ts-test/preloaded:1", join(preload, "preloaded.tar"));
      try {
        const created = await k3ts(engine, createArgs(name, ["--agents", "2", "--volume", `${preload}:/var/lib/rancher/k3s/agent/images@server:0`]), env);
        expect(created.exitCode, created.stderr).toBe(0);

        // 0. k3s imported the agent images directory when its containerd started (server-0 only has one).
        expect((await nodeImages(runtime!, nodes[0]!)).has("docker.io/k3ts-test/preloaded:1")).toBe(true);
        expect((await nodeImages(runtime!, nodes[1]!)).has("docker.io/k3ts-test/preloaded:1")).toBe(false);

        // 1. From the engine into all three nodes (never the load balancer).
        const first = await k3ts(engine, ["image", "import", IMAGE, "-c", name, "-o", "json"], env);
        expect(first.exitCode, first.stderr).toBe(0);
        const report = JSON.parse(first.stdout) as Report;
        expect(report.nodes.map((n) => n.node)).toEqual(nodes);
        expect(statuses(report)).toEqual(nodes.map((n) => `${n}=imported`));
        const imported = report.nodes[0]!.images[0]!;
        expect(imported.bytes).toBeGreaterThan(1 << 20);
        // The name a manifest's k3ts-test/busybox:1 means; Podman's archive says localhost/…, which the node keeps too.
        const archiveRef = engine === "podman" ? "localhost/k3ts-test/busybox:1" : "docker.io/k3ts-test/busybox:1";
        expect(imported.images.map((i) => i.ref)).toEqual([...new Set(["docker.io/k3ts-test/busybox:1", archiveRef])]);
        const { ref, digest } = imported.images[0]!;
        expect(ref).toBe("docker.io/k3ts-test/busybox:1");
        for (const node of nodes) expect((await nodeImages(runtime!, node)).get(ref)).toBe(digest);
        for (const node of nodes) expect((await nodeImages(runtime!, node)).get(archiveRef)).toBe(digest);
        expect(first.stderr).toMatch(new RegExp(`✓ Importing ${IMAGE} into ${nodes[1]}: [\\d.]+ MiB at [\\d.]+ [KMG]?i?B/s`));

        // 2. Again: every node already holds it with the same digest.
        const again = await k3ts(engine, ["image", "import", IMAGE, "-c", name, "-o", "json"], env);
        expect(again.exitCode, again.stderr).toBe(0);
        expect(statuses(JSON.parse(again.stdout) as Report)).toEqual(nodes.map((n) => `${n}=skipped`));

        // 3. A tarball file, into the agents only (node filter); the server's copy is removed first.
        const tarball = join(dir, "busybox.tar");
        await execa(engine, ["save", "-o", tarball, IMAGE]);
        for (const name of new Set([ref, archiveRef])) expect((await runtime!.nodes.exec(nodes[0]!, ["ctr", "-n", "k8s.io", "images", "rm", name])).exitCode).toBe(0);
        const file = await k3ts(engine, ["image", "import", tarball, "-c", name, "--nodes", "agent:*", "-o", "json"], env);
        expect(file.exitCode, file.stderr).toBe(0);
        expect(statuses(JSON.parse(file.stdout) as Report)).toEqual([`${nodes[1]}=skipped`, `${nodes[2]}=skipped`]);
        expect((await nodeImages(runtime!, nodes[0]!)).has(ref)).toBe(false);
        const toServer = await k3ts(engine, ["image", "import", tarball, "-c", name, "--nodes", "server:0", "-o", "json"], env);
        expect(toServer.exitCode, toServer.stderr).toBe(0);
        expect(statuses(JSON.parse(toServer.stdout) as Report)).toEqual([`${nodes[0]}=imported`]);
        expect((await nodeImages(runtime!, nodes[0]!)).get(archiveRef)).toBe(digest);

        // 4. stdin (`-`): read once, streamed into every node.
        const piped = await execa("sh", ["-c", `${engine} save ${IMAGE} | node ${bin} --runtime ${engine} image import - -c ${name} -o json`], { reject: false, env: { ...env, NO_COLOR: "1" } });
        expect(piped.exitCode, piped.stderr).toBe(0);
        const viaStdin = JSON.parse(piped.stdout) as Report;
        expect(statuses(viaStdin)).toEqual(nodes.map((n) => `${n}=imported`));
        expect(viaStdin.nodes[2]!.images[0]!.images).toEqual([{ ref: archiveRef, digest }]);

        // 5. Not in the engine: nothing is sent, the message names the image.
        const missing = await k3ts(engine, ["image", "import", "k3ts-test/no-such-image:1", "-c", name], env);
        expect(missing.exitCode).toBe(1);
        expect(missing.stderr).toContain("image not found in");
        expect(missing.stderr).toContain("k3ts-test/no-such-image:1");

        // 6. Not an archive: each node's failure is listed, exit 1.
        const notTar = join(dir, "not-an-image.tar");
        await execa("sh", ["-c", `echo hello > ${notTar}`]);
        const broken = await k3ts(engine, ["image", "import", notTar, "-c", name], env);
        expect(broken.exitCode).toBe(1);
        expect(broken.stderr).toContain("image import failed on 3 of 3 node(s)");
        for (const node of nodes) expect(broken.stderr).toContain(`${node}: ${notTar}:`);

        // 7. A multi-platform OCI archive missing another platform's blobs (Docker's containerd image
        //    store exports pulled multi-arch images so): containerd imports the node's platform.
        const multi = join(dir, "multi.tar");
        await partialMultiPlatform(busybox, "docker.io/k3ts-test/multi:1", multi);
        const partial = await k3ts(engine, ["image", "import", multi, "-c", name, "-o", "json"], env);
        expect(partial.exitCode, partial.stderr).toBe(0);
        expect(statuses(JSON.parse(partial.stdout) as Report)).toEqual(nodes.map((n) => `${n}=imported`));
        for (const node of nodes) expect((await nodeImages(runtime!, node)).has("docker.io/k3ts-test/multi:1")).toBe(true);
      } finally {
        const deleted = await k3ts(engine, ["cluster", "delete", name], env);
        expect(deleted.exitCode, deleted.stderr).toBe(0);
        expect(await leftovers(runtime!, name)).toEqual([]);
        rmSync(dir, { recursive: true, force: true });
      }
    }, 240_000);
  });
}
