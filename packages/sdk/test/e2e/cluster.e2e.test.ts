import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { isK3tsError, type Runtime } from "@k3ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCluster, getCluster, type Cluster } from "../../src/cluster.ts";
import type { ClusterOptions } from "../../src/options.ts";
import { ENGINES, runtimeFor, fresh, kubectl, leftovers, testOptions } from "./helpers.ts";


/** Sends one GET from inside a node, with a kubeconfig, as a pod on the cluster network would (the stand-in image has node). */
const GET_FROM_NODE = `
const fs = require("fs"), https = require("https");
const kc = fs.readFileSync("/tmp/kubeconfig-network.yaml", "utf8");
const field = (k) => kc.match(new RegExp(k + ": (\\\\S+)"))[1];
const url = new URL("/api/v1/nodes", field("server"));
https.get(url, { ca: Buffer.from(field("certificate-authority-data"), "base64"), cert: Buffer.from(field("client-certificate-data"), "base64"), key: Buffer.from(field("client-key-data"), "base64") }, (res) => {
  let body = ""; res.on("data", (d) => (body += d)); res.on("end", () => { console.log(res.statusCode, JSON.parse(body).items.map((n) => n.metadata.name).sort().join(",")); });
}).on("error", (e) => { console.error(e.message); process.exit(1); });
`;

for (const engine of ENGINES) {
  const runtime = await runtimeFor(engine);
  describe.skipIf(!runtime)(`clusters in programs, on ${engine}`, () => {
    const rt = runtime as Runtime;
    let cluster: Cluster;
    let name: string;

    beforeAll(async () => {
      name = await fresh(rt, `sdk-e2e-main-${engine[0]}`);
      cluster = await createCluster({ ...testOptions(name, rt), agents: 1 });
    }, 180_000);

    afterAll(async () => {
      // The handle is disposed by the last test; this only runs when one before it failed.
      if (name && (await leftovers(rt, name)).length) await cluster?.delete();
    });

    it("lists the nodes Ready through client-node's CoreV1Api", async () => {
      const kc = await cluster.kubeConfig();
      expect(kc.getCurrentContext()).toBe(`k3ts-${name}`);
      expect(kc.getCurrentCluster()?.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const list = await kc.makeApiClient(CoreV1Api).listNode();
      expect(list.items.map((n) => n.metadata?.name).sort()).toEqual([`k3ts-${name}-agent-0`, `k3ts-${name}-server-0`]);
      for (const n of list.items) expect(n.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
      expect(cluster).toMatchObject({ name, created: true, keep: false });
    });

    it("writes a kubeconfig that the real kubectl uses", async () => {
      const path = await cluster.writeKubeconfig();
      const r = await kubectl(path, ["get", "nodes"]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`k3ts-${name}-server-0\\s+Ready\\s+control-plane,master`));
      expect(r.stdout).toMatch(new RegExp(`k3ts-${name}-agent-0\\s+Ready`));
    });

    it("gives containers on the cluster network a kubeconfig that reaches the API through the load balancer", async () => {
      const text = await cluster.kubeconfig({ network: true });
      expect(text).toContain(`server: https://k3ts-${name}-serverlb:6443`);
      await rt.nodes.writeFile(`k3ts-${name}-agent-0`, "/tmp/kubeconfig-network.yaml", text);
      const r = await rt.nodes.exec(`k3ts-${name}-agent-0`, ["node", "-e", GET_FROM_NODE]);
      expect(r.stderr.toString()).toBe("");
      expect(r.stdout.toString().trim()).toBe(`200 k3ts-${name}-agent-0,k3ts-${name}-server-0`);
    });

    it("reports its nodes", async () => {
      const nodes = await cluster.nodes();
      expect(nodes.map((n) => [n.name, n.role, n.state])).toEqual([
        [`k3ts-${name}-server-0`, "server", "running"],
        [`k3ts-${name}-agent-0`, "agent", "running"],
        [`k3ts-${name}-serverlb`, "loadbalancer", "running"],
      ]);
    });

    it("reuse attaches to it without creating anything, and keeps it", async () => {
      const before = (await rt.nodes.list({ labels: { "k3ts.io/cluster": name } })).map((n) => n.id).sort();
      const there = await leftovers(rt, name);
      const again = await createCluster({ ...testOptions(name, rt), agents: 1, reuse: true });
      expect(again).toMatchObject({ name, created: false, keep: true });
      expect((await rt.nodes.list({ labels: { "k3ts.io/cluster": name } })).map((n) => n.id).sort()).toEqual(before);
      const r = await kubectl(await again.writeKubeconfig(), ["get", "nodes", "-o", "name"]);
      expect(r.stdout.trim().split("\n").sort()).toEqual([`node/k3ts-${name}-agent-0`, `node/k3ts-${name}-server-0`]);
      await again[Symbol.asyncDispose]();
      expect(await leftovers(rt, name)).toEqual(there);
    });

    it("reuse with another spec fails, naming what differs, and changes nothing", async () => {
      const before = (await rt.nodes.list({ labels: { "k3ts.io/cluster": name } })).map((n) => n.id).sort();
      const err = await createCluster({ ...testOptions(name, rt), agents: 2, k3sArgs: ["--disable=traefik@server:*"], reuse: true }).catch((e: unknown) => e);
      expect(isK3tsError(err, "CLUSTER_ALREADY_EXISTS")).toBe(true);
      expect((err as Error).message).toBe(`cluster ${name} exists with another spec; differs: agents (1 there, 2 asked), k3sArgs`);
      expect((await rt.nodes.list({ labels: { "k3ts.io/cluster": name } })).map((n) => n.id).sort()).toEqual(before);
    });

    it("stops and starts again, Ready once more", async () => {
      const stopped = await cluster.stop();
      expect([...stopped.servers, ...stopped.agents].map((n) => n.state)).toEqual(["stopped", "stopped"]);
      await cluster.start();
      const list = await (await cluster.kubeConfig()).makeApiClient(CoreV1Api).listNode();
      expect(list.items.every((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))).toBe(true);
    }, 120_000);

    it("getCluster attaches by name", async () => {
      const found = await getCluster(name, { runtime: rt });
      expect(found).toMatchObject({ name, created: false, keep: true });
      expect((await found.info()).agents).toHaveLength(1);
    });

    it("asyncDispose deletes every node, the network, the volumes and the kubeconfig files it wrote", async () => {
      const path = await cluster.writeKubeconfig();
      expect(existsSync(path)).toBe(true);
      await cluster[Symbol.asyncDispose]();
      expect(await leftovers(rt, name)).toEqual([]);
      expect(existsSync(dirname(path))).toBe(false);
    });

    it("await using, with the runtime named by a string: gone at the end of the block", async () => {
      const short = await fresh(rt, `sdk-e2e-using-${engine[0]}`);
      {
        await using c = await createCluster(testOptions(short, engine));
        expect((await c.nodes()).map((n) => n.role)).toEqual(["server", "loadbalancer"]);
        expect((await leftovers(rt, short)).sort()).toEqual([`network k3ts-${short}`, `node k3ts-${short}-server-0`, `node k3ts-${short}-serverlb`]);
      }
      expect(await leftovers(rt, short)).toEqual([]);
    }, 180_000);

    it("dataVolume: the data outlives delete and the next cluster on it starts with it; another token is refused, and the volume stays", async () => {
      const data = await fresh(rt, `sdk-e2e-data-${engine[0]}`);
      const volume = `k3ts-e2e-data-${engine[0]}`;
      await rt.volumes.delete(volume).catch(() => undefined);
      const options: ClusterOptions = { ...testOptions(data, rt), dataVolume: volume, token: "e2e-data-token" };
      const kept = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kept", namespace: "default" }, data: { a: "1" } };
      try {
        {
          await using first = await createCluster(options);
          expect((await first.apply([kept])).objects.map((o) => o.change)).toEqual(["created"]);
        }
        expect(await leftovers(rt, data)).toEqual([]);
        expect((await rt.volumes.inspect(volume)).name).toBe(volume);
        // k3s encrypts its data with the token: a cluster with another one cannot start on it (and its rollback leaves the volume).
        const refused = await createCluster({ ...options, token: "another-token", timeout: "30s" }).catch((e: unknown) => e);
        expect(isK3tsError(refused, "CLUSTER_NOT_READY") && refused.message).toMatch(/encrypted with different token/);
        expect(await leftovers(rt, data)).toEqual([]);
        {
          await using again = await createCluster(options);
          expect((await again.apply([kept])).objects.map((o) => o.change)).toEqual(["unchanged"]);
        }
      } finally {
        await fresh(rt, data);
        await rt.volumes.delete(volume).catch(() => undefined);
      }
    }, 300_000);

    it("a create that fails rolls back and leaves nothing (a k3s argument the server refuses)", async () => {
      const bad = await fresh(rt, `sdk-e2e-bad-${engine[0]}`);
      const err = await createCluster({ ...testOptions(bad, rt), k3sArgs: ["--no-such-flag"], timeout: "10s" }).catch((e: unknown) => e);
      expect(isK3tsError(err, "CLUSTER_NOT_READY")).toBe(true);
      expect(await leftovers(rt, bad)).toEqual([]);
    }, 120_000);
  });
}
