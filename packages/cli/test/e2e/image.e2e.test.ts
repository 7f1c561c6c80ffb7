import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { partialMultiPlatform, retagged, saved } from "../../../../scripts/image-archives.mjs";
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
      const busybox = saved(engine, IMAGE, dir);
      const preload = join(dir, "agent-images");
      mkdirSync(preload);
      retagged(busybox, "k3ts-test/preloaded:1", join(preload, "preloaded.tar"));
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
        partialMultiPlatform(busybox, "docker.io/k3ts-test/multi:1", multi);
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
