/**
 * Host images on Docker and on Podman with the k3s stand-in (a test double whose pulls are its real
 * containerd's, through the registries.yaml mirrors): an image built on the host engine, never
 * imported, runs on every node (one server, one agent): in a pod on the server, whose kubelet pulls it,
 * and, as the stand-in's agents run no pods, from the CRI's pull (`crictl pull`) in a container of the
 * agent's containerd. After a rebuild under the same tag, a new pod (imagePullPolicy Always) and a new
 * pull run the new image, and what the host-images registry sent the nodes for the rebuild is the
 * changed layer (once per node) and little else.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import type { Runtime } from "@k3ts/core";
import { hostImagesCacheDir, names } from "@k3ts/core/internal";
import { CHANGED_BYTES, UNCHANGED_BYTES, build, prepareBuild, runInAgent } from "../../../../scripts/host-images-e2e.mjs";
import { describe, expect, it, vi } from "vitest";
import { createCluster } from "../../src/cluster.ts";
import { ENGINES, POD_IMAGE, fresh, kubectl, leftovers, runtimeFor, testOptions } from "./helpers.ts";


/** Runs a pod with `image` on the server (imagePullPolicy Always: the kubelet pulls it), waits for it to finish, and returns what it printed. */
async function runInPod(kubeconfig: string, node: string, image: string, round: string): Promise<string> {
  const pod = `hostimg-${round}`;
  const manifest = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: pod },
    spec: { nodeName: node, restartPolicy: "Never", containers: [{ name: "main", image, imagePullPolicy: "Always", command: ["sh", "-c", "cat /app/version"] }] },
  };
  const dir = await mkdtemp(join(tmpdir(), "k3ts-hostimg-"));
  try {
    await writeFile(join(dir, "pod.json"), JSON.stringify(manifest));
    const created = await kubectl(kubeconfig, ["create", "-f", join(dir, "pod.json")]);
    expect(created.exitCode, created.stderr).toBe(0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  let phase = "";
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
    phase = (await kubectl(kubeconfig, ["get", "pod", pod, "-o", "jsonpath={.status.phase}"])).stdout;
    if (phase === "Succeeded" || phase === "Failed") break;
  }
  const described = phase === "Succeeded" ? "" : (await kubectl(kubeconfig, ["describe", "pod", pod])).stdout;
  expect(phase, described).toBe("Succeeded");
  return (await kubectl(kubeconfig, ["logs", pod])).stdout.trim();
}

for (const engine of ENGINES) {
  const runtime = await runtimeFor(engine);
  describe.skipIf(!runtime)(`host images on ${engine} (k3s stand-in)`, () => {
    const rt = runtime as Runtime;

    // On Docker: the CLI's e2e (packages/cli/test/e2e/hostimages.e2e.test.ts) runs the same story on both engines through
    // the same registry code, and the SDK's in-process registry on Podman is pulled through in the reuse test below.
    it.runIf(engine === "docker")("runs an image built on the host on every node with nothing imported; a rebuild moves only its changed layer", async () => {
      const name = await fresh(rt, `sdk-e2e-hostimg-${engine[0]}`);
      const image = `k3ts-e2e/hostimg-${engine}:dev`;
      const dir = await mkdtemp(join(tmpdir(), "k3ts-hostimg-build-"));
      const ids: string[] = [];
      try {
        prepareBuild(dir, POD_IMAGE);
        ids.push(await build(engine, dir, image, "v1"));

        const cluster = await createCluster({ ...testOptions(name, rt), agents: 1, loadBalancer: false, hostImages: true });
        try {
          const info = cluster.hostImages!;
          // Listening on the network's gateway, the address the nodes reach the host at, and nowhere else.
          const network = await rt.networks.inspect(names.network(name));
          expect(network.gateway).toBeTruthy();
          expect(info.url).toMatch(new RegExp(`^http://${network.gateway!.replaceAll(".", "\\.")}:\\d+$`));
          // Every node's registries.yaml lists it first for docker.io and localhost; the stand-in's tag names no k3s release, so no "*".
          for (const node of [names.server(name, 0), names.agent(name, 0)]) {
            const registries = parse((await rt.nodes.readFile(node, "/etc/rancher/k3s/registries.yaml")).toString()) as { mirrors: Record<string, { endpoint: string[] }> };
            expect(registries.mirrors["docker.io"]!.endpoint[0]).toBe(info.url);
            expect(registries.mirrors.localhost!.endpoint[0]).toBe(info.url);
            expect(registries.mirrors["*"]).toBeUndefined();
          }
          const kubeconfig = await cluster.writeKubeconfig();
          const server = names.server(name, 0);
          const agent = names.agent(name, 0);
          const nodes = [server, agent];
          const runEverywhere = async (round: string) => Promise.all([runInPod(kubeconfig, server, image, round), runInAgent(rt, agent, image, round)]);

          // The first run: every node pulls the whole image from the host.
          expect(await runEverywhere("v1")).toEqual(["v1", "v1"]);
          const afterFirst = cluster.hostImages!.served;
          expect(afterFirst.blobBytes).toBeGreaterThan(2 * (UNCHANGED_BYTES + CHANGED_BYTES));

          // Rebuilt under the same tag: a new pod on each node runs the new image.
          ids.push(await build(engine, dir, image, "v2"));
          const started = Date.now();
          expect(await runEverywhere("v2")).toEqual(["v2", "v2"]);
          const rebuildMs = Date.now() - started;

          // What the rebuild moved: the changed layer and the new config, once per node.
          const manifest = (await (
            await fetch(`${info.url}/v2/${image.replace(/:.*/, "")}/manifests/dev?ns=docker.io`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } })
          ).json()) as { config: { size: number }; layers: Array<{ size: number }> };
          const changedLayer = manifest.layers.at(-1)!.size;
          const rebuildBytes = cluster.hostImages!.served.blobBytes - afterFirst.blobBytes;
          const perNode = rebuildBytes / nodes.length;
          console.log(
            `host images on ${engine}: first run ${afterFirst.blobBytes} B for ${nodes.length} nodes; rebuild ${rebuildBytes} B (${perNode} B per node) ` +
              `for a changed layer of ${changedLayer} B (config ${manifest.config.size} B), ${((perNode / changedLayer - 1) * 100).toFixed(2)}% over; rebuild to pods done in ${rebuildMs} ms`,
          );
          expect(perNode).toBeGreaterThanOrEqual(changedLayer);
          expect(perNode).toBeLessThan(changedLayer * 1.03);

        } finally {
          await cluster.delete();
        }
        // Nothing left: no node, no network, no cache, no listener.
        expect(await leftovers(rt, name)).toEqual([]);
        expect(existsSync(hostImagesCacheDir(name, {}))).toBe(false);
        expect(cluster.hostImages!.url).toBeTruthy();
        await expect(fetch(`${cluster.hostImages!.url}/v2/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
      } finally {
        await rm(dir, { recursive: true, force: true });
        for (const id of ids) await execa(engine, ["rmi", "-f", id], { reject: false });
      }
    }, 420_000);

    it("a reused cluster's host images listen again on the endpoint its nodes were made with", async () => {
      const name = await fresh(rt, `sdk-e2e-hostimg-r-${engine[0]}`);
      const options = { ...testOptions(name, rt), loadBalancer: false, hostImages: true, keep: true };
      const first = await createCluster(options);
      const url = first.hostImages!.url;
      // Kept: disposing the handle stops its registry and leaves the cluster.
      await first[Symbol.asyncDispose]();
      await expect(fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
      const again = await createCluster({ ...options, reuse: true });
      try {
        expect(again.created).toBe(false);
        expect(again.hostImages?.url).toBe(url);
        const pulled = await rt.nodes.exec(names.server(name, 0), ["crictl", "pull", POD_IMAGE]);
        expect(pulled.exitCode, `${pulled.stdout}${pulled.stderr}`).toBe(0);
        await vi.waitFor(() => expect(again.hostImages!.served.blobs).toBeGreaterThan(0));
      } finally {
        await again.delete();
      }
      expect(await leftovers(rt, name)).toEqual([]);
      expect(existsSync(hostImagesCacheDir(name, {}))).toBe(false);
    }, 300_000);
  });
}
