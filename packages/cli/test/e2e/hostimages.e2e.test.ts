/**
 * Host images through the CLI, on Docker and on Podman with the k3s stand-in (its pulls are its real
 * containerd's, through registries.yaml): `cluster create` serves them by default from a host process
 * of the cluster's; an image built on the engine and never imported runs on every node; after a rebuild
 * the new image runs and what entered the nodes is the changed layer; a killed host process is started
 * again by `cluster start`, `cluster stop` ends it, `image prune` empties its cache, and after `cluster
 * delete` nothing of it is left (no process, no cache, no port).
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { Runtime } from "@k3ts/core";
import { CHANGED_BYTES, UNCHANGED_BYTES, build, prepareBuild, runInAgent } from "../../../../scripts/host-images-e2e.mjs";
import { describe, expect, it, vi } from "vitest";
import { ENGINES, POD_IMAGE, clearName, createArgs, k3ts, kubectl, leftovers, runtimeFor } from "./helpers.js";


interface Shown {
  name: string;
  hostImages: { url: string; pid: number; running: boolean; served: { manifests: number; blobs: number; blobBytes: number } } | null;
}

/** A pod on `node` (imagePullPolicy Always: its kubelet pulls), waited for; what it printed. */
async function runInPod(kubeconfig: string, node: string, image: string, round: string): Promise<string> {
  const pod = `hostimg-${round}`;
  const overrides = JSON.stringify({ apiVersion: "v1", spec: { nodeName: node, containers: [{ name: pod, image, imagePullPolicy: "Always", command: ["sh", "-c", "cat /app/version"] }] } });
  const run = await kubectl(kubeconfig, ["run", pod, `--image=${image}`, "--restart=Never", `--overrides=${overrides}`]);
  expect(run.exitCode, run.stderr).toBe(0);
  const done = await kubectl(kubeconfig, ["wait", `pod/${pod}`, "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s"]);
  expect(done.exitCode, `${done.stderr}${(await kubectl(kubeconfig, ["describe", "pod", pod])).stdout}`).toBe(0);
  return (await kubectl(kubeconfig, ["logs", pod])).stdout.trim();
}

/** Whether `pid` runs (a process that ended but is not yet reaped has no command line). */
const alive = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").length > 0;
  } catch {
    return false;
  }
};
const answers = (url: string) => fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2000) }).then(() => true, () => false);

for (const engine of ENGINES) {
  const runtime = await runtimeFor(engine);
  describe.skipIf(!runtime)(`host images through the CLI on ${engine} (k3s stand-in)`, () => {
    const rt = runtime as Runtime;

    it("on by default: an image never imported runs on every node, a rebuild moves its changed layer, start brings back a killed host process, delete leaves nothing", async () => {
      const name = await clearName(rt, `e2e${engine[0]}-hostimg`);
      const image = `k3ts-e2e/cli-hostimg-${engine}:dev`;
      const dir = await mkdtemp(join(tmpdir(), "k3ts-e2e-hostimg-"));
      const env = { KUBECONFIG: join(dir, "kubeconfig"), XDG_STATE_HOME: join(dir, "state") };
      const stateDir = join(dir, "state", "k3ts", "host-images");
      const build1 = join(dir, "build");
      const ids: string[] = [];
      const list = async () => {
        const r = await k3ts(engine, ["cluster", "list", name, "-o", "json"], env);
        expect(r.exitCode, r.stderr).toBe(0);
        return (JSON.parse(r.stdout) as Shown[])[0]!.hostImages;
      };
      try {
        await execa("mkdir", ["-p", build1]);
        prepareBuild(build1, POD_IMAGE);
        ids.push(await build(engine, build1, image, "v1"));

        const created = await k3ts(engine, createArgs(name, ["--agents", "1", "--no-lb", "-o", "json"]), env);
        expect(created.exitCode, created.stderr).toBe(0);
        const first = (JSON.parse(created.stdout) as Shown).hostImages!;
        // Served by a process of its own, on the network's gateway (where the nodes reach the host), and shown by list.
        const network = await rt.networks.inspect(`k3ts-${name}`);
        expect(first.url).toMatch(new RegExp(`^http://${network.gateway!.replaceAll(".", "\\.")}:\\d+$`));
        expect(first.pid).not.toBe(process.pid);
        expect(alive(first.pid)).toBe(true);
        expect(await list()).toMatchObject({ url: first.url, pid: first.pid, running: true });

        const server = `k3ts-${name}-server-0`;
        const agent = `k3ts-${name}-agent-0`;
        const runEverywhere = (round: string) => Promise.all([runInPod(env.KUBECONFIG, server, image, round), runInAgent(rt, agent, image, round)]);
        expect(await runEverywhere("v1")).toEqual(["v1", "v1"]);
        const afterFirst = await vi.waitFor(async () => {
          const h = (await list())!;
          expect(h.served.blobBytes).toBeGreaterThan(2 * (UNCHANGED_BYTES + CHANGED_BYTES));
          return h.served.blobBytes;
        }, { timeout: 5000, interval: 250 });

        // Rebuilt under the same tag: new pods run the new image; the bytes that entered the nodes are the changed layer's.
        ids.push(await build(engine, build1, image, "v2"));
        expect(await runEverywhere("v2")).toEqual(["v2", "v2"]);
        const manifest = (await (
          await fetch(`${first.url}/v2/${image.replace(/:.*/, "")}/manifests/dev?ns=docker.io`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } })
        ).json()) as { layers: Array<{ size: number }> };
        const changedLayer = manifest.layers.at(-1)!.size;
        const perNode = await vi.waitFor(async () => {
          const moved = ((await list())!.served.blobBytes - afterFirst) / 2;
          expect(moved).toBeGreaterThanOrEqual(changedLayer);
          return moved;
        }, { timeout: 5000, interval: 250 });
        console.log(`host images via the CLI on ${engine}: rebuild moved ${perNode} B per node for a changed layer of ${changedLayer} B (${((perNode / changedLayer - 1) * 100).toFixed(2)}% over)`);
        expect(perNode).toBeLessThan(changedLayer * 1.03);

        if (engine === "podman") {
          // Podman names what it built localhost/NAME: pulled by that name too (the localhost mirror).
          const local = await rt.nodes.exec(agent, ["crictl", "pull", `localhost/${image}`]);
          expect(local.exitCode, `${local.stdout}${local.stderr}`).toBe(0);
        }

        // Killed: list says so; cluster start starts it again on the endpoint the nodes were made with, and pulls go through it.
        process.kill(first.pid, "SIGKILL");
        await vi.waitFor(() => expect(alive(first.pid)).toBe(false));
        expect(await list()).toMatchObject({ pid: first.pid, running: false });
        const started = await k3ts(engine, ["cluster", "start", name], env);
        expect(started.exitCode, started.stderr).toBe(0);
        const again = (await list())!;
        expect(again).toMatchObject({ url: first.url, running: true });
        expect(again.pid).not.toBe(first.pid);
        // An image that is nowhere but in the engine: pulled, it came through the process started again.
        await execa(engine, ["tag", image, `${image}-again`]);
        const pulled = await rt.nodes.exec(agent, ["crictl", "pull", `${image}-again`]);
        expect(pulled.exitCode, `${pulled.stdout}${pulled.stderr}`).toBe(0);

        // image prune empties the cache under the running process (stopped for it and started again).
        const pruned = await k3ts(engine, ["image", "prune", name, "-o", "json"], env);
        expect(pruned.exitCode, pruned.stderr).toBe(0);
        expect(JSON.parse(pruned.stdout)).toEqual([expect.objectContaining({ cluster: name, restarted: true, bytes: expect.any(Number) })]);
        expect((JSON.parse(pruned.stdout) as Array<{ bytes: number }>)[0]!.bytes).toBeGreaterThan(UNCHANGED_BYTES);
        expect(await list()).toMatchObject({ url: first.url, running: true });

        // cluster stop ends it (the port closes), cluster start brings it back.
        const before = (await list())!;
        const stopped = await k3ts(engine, ["cluster", "stop", name], env);
        expect(stopped.exitCode, stopped.stderr).toBe(0);
        expect(alive(before.pid)).toBe(false);
        expect(await answers(first.url)).toBe(false);
        expect(await list()).toBeNull();
        const restarted = await k3ts(engine, ["cluster", "start", name], env);
        expect(restarted.exitCode, restarted.stderr).toBe(0);
        expect(await list()).toMatchObject({ url: first.url, running: true });
        expect(await answers(first.url)).toBe(true);

        // Deleted while it serves: nothing of it is left (the process, its port, its cache, state and log).
        const serving = (await list())!;
        const deleted = await k3ts(engine, ["cluster", "delete", name, "-o", "json"], env);
        expect(deleted.exitCode, deleted.stderr).toBe(0);
        expect((JSON.parse(deleted.stdout) as Array<{ removed: string[] }>)[0]!.removed).toEqual(expect.arrayContaining([`host images process of ${name}`, expect.stringContaining("host images cache")]));
        expect(alive(serving.pid)).toBe(false);
        expect(await answers(first.url)).toBe(false);
      } finally {
        await k3ts(engine, ["cluster", "delete", name], env);
        for (const id of ids) await execa(engine, ["rmi", "-f", id], { reject: false });
        await execa(engine, ["rmi", `${image}-again`], { reject: false });
      }
      expect(await leftovers(rt, name)).toEqual([]);
      expect(existsSync(stateDir) ? readdirSync(stateDir) : []).toEqual([]);
      await rm(dir, { recursive: true, force: true });
    }, 480_000);
  });
}
