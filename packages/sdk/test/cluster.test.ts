import { LABELS, baseLabels, isK3tsError, type ClusterSpec } from "@k3ts/core";
import { KUBECONFIG_IN_NODE, TOKEN_FILE_IN_NODE, names, planCluster } from "@k3ts/core/internal";
import { createMemoryRuntime, type MemoryRuntime } from "@k3ts/core/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCluster, getCluster, type Cluster } from "../src/cluster.ts";
import { FakeApiServer, HELMCHART_DISCOVERY } from "./manifests-fake-api.ts";
import { clusterSpec, type ClusterOptions } from "../src/options.ts";
import { hashSpec, specLabels } from "../src/spec-hash.ts";
import { pendingExitCleanups } from "../src/cleanup.ts";

const IMAGE = "k3ts-test/busybox:1";

/**
 * Puts the nodes of a cluster into the in-memory engine as core's plan (with the sdk's spec labels)
 * describes them, running `sleep` instead of k3s: enough for reuse, which only reads labels and states.
 */
async function existing(runtime: MemoryRuntime, options: ClusterOptions, labelled = true, served: { apiHostPort?: number; kubeconfig?: string } = {}): Promise<ClusterSpec> {
  const spec = clusterSpec({ environment: {}, image: IMAGE, loadBalancer: { image: IMAGE }, ...options });
  const withLabels = labelled ? { ...spec, runtimeLabels: [...spec.runtimeLabels, ...specLabels(hashSpec(spec))] } : spec;
  const plan = planCluster(withLabels, { apiHostPort: served.apiHostPort ?? 40000, network: names.network(spec.name), networkExternal: false, token: "t0ken", k3tsVersion: "0.0.0" });
  await runtime.networks.ensure({ name: names.network(spec.name), labels: baseLabels("0.0.0", { [LABELS.cluster]: spec.name }) });
  for (const node of [...plan.servers, ...plan.agents, ...(plan.loadBalancer ? [plan.loadBalancer] : [])]) {
    // The nodes as create makes them, running a sleeper instead of k3s (and its entrypoint) in the memory runtime.
    const { entrypoint: _entrypoint, ...spec } = node.spec;
    await runtime.nodes.create({ ...spec, command: ["sleep", "1000"], env: {}, extraHosts: [], privileged: false });
    if (node.role !== "loadbalancer") await runtime.nodes.writeFile(node.spec.name, TOKEN_FILE_IN_NODE, "t0ken\n", { mode: 0o600 });
    // The kubeconfig k3s writes (K3S_KUBECONFIG_OUTPUT), for a cluster whose API a fake server plays.
    if (served.kubeconfig !== undefined && node.role === "server") await runtime.nodes.writeFile(node.spec.name, KUBECONFIG_IN_NODE, served.kubeconfig);
    // A fake API server holds the API port of a served cluster: its nodes stay created (files readable), as if running.
    if (served.apiHostPort === undefined) await runtime.nodes.start(node.spec.name);
  }
  return spec;
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string; meta: Record<string, unknown>; hint?: string }> {
  try {
    await promise;
  } catch (err) {
    if (isK3tsError(err)) return { code: err.code, message: err.message, meta: err.meta, ...(err.hint ? { hint: err.hint } : {}) };
    throw err;
  }
  throw new Error("it did not fail");
}

describe("createCluster without an engine", () => {
  let runtime: MemoryRuntime;
  afterEach(() => runtime?.close());

  it("asks for a runtime instead of guessing one", async () => {
    const err = await codeOf(createCluster({ environment: {} }));
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toMatch(/^runtime: no container runtime given/);
    expect(err.hint).toMatch(/runtime: "docker"/);
  });

  it("rejects what is not a Runtime", async () => {
    const err = await codeOf(createCluster({ environment: {}, runtime: {} as never }));
    expect(err).toMatchObject({ code: "INVALID_ARGUMENT", meta: { where: "runtime" } });
  });

  it("loads a named runtime through core's plugin loader (K3TS_RUNTIME too), naming what it looked for", async () => {
    const named = await codeOf(createCluster({ environment: {}, runtime: "nosuch" }));
    expect(named.code).toBe("PLUGIN_NOT_FOUND");
    expect(named.message).toMatch(/@k3ts\/runtime-nosuch, k3ts-runtime-nosuch/);
    const fromEnv = await codeOf(createCluster({ environment: { K3TS_RUNTIME: "alsonot" } }));
    expect(fromEnv.message).toMatch(/k3ts-runtime-alsonot/);
  });

  it("checks the options before touching the runtime", async () => {
    runtime = createMemoryRuntime();
    const err = await codeOf(createCluster({ environment: {}, runtime, ports: ["80:80", "bad"] }));
    expect(err).toMatchObject({ code: "INVALID_ARGUMENT", meta: { where: "ports[1]" } });
    expect(await runtime.nodes.list()).toEqual([]);
  });

  it("refuses a name that is taken (without reuse) and registers nothing for exit", async () => {
    runtime = createMemoryRuntime();
    await existing(runtime, { name: "taken" });
    const before = (await runtime.nodes.list()).map((n) => n.id);
    const err = await codeOf(createCluster({ environment: {}, runtime, name: "taken", image: IMAGE, loadBalancer: { image: IMAGE } }));
    expect(err.code).toBe("CLUSTER_ALREADY_EXISTS");
    expect(err.hint).toMatch(/reuse: true/);
    expect((await runtime.nodes.list()).map((n) => n.id)).toEqual(before);
    expect(pendingExitCleanups()).toBe(0);
  });

  describe("reuse", () => {
    it("attaches to a cluster made from the same spec, creating nothing, and keeps it", async () => {
      runtime = createMemoryRuntime();
      const options = { name: "same", agents: 1, ports: ["8080:80@loadbalancer"] };
      await existing(runtime, options);
      const before = (await runtime.nodes.list()).map((n) => n.id).sort();
      const cluster = await createCluster({ environment: {}, runtime, image: IMAGE, loadBalancer: { image: IMAGE }, reuse: true, ...options });
      expect(cluster).toMatchObject({ name: "same", created: false, keep: true });
      expect((await runtime.nodes.list()).map((n) => n.id).sort()).toEqual(before);
      expect((await cluster.nodes()).map((n) => n.name)).toEqual(["k3ts-same-server-0", "k3ts-same-agent-0", "k3ts-same-serverlb"]);
      expect(pendingExitCleanups()).toBe(0);
      await cluster[Symbol.asyncDispose]();
      expect((await runtime.nodes.list()).map((n) => n.id).sort()).toEqual(before);
    });

    it("names the same cluster after its spec when no name is given", async () => {
      runtime = createMemoryRuntime();
      const spec = clusterSpec({ environment: {}, image: IMAGE, loadBalancer: { image: IMAGE }, reuse: true }, (s) => `sdk-${hashSpec(s).hash.slice(0, 8)}`);
      await existing(runtime, { name: spec.name });
      const cluster = await createCluster({ environment: {}, runtime, image: IMAGE, loadBalancer: { image: IMAGE }, reuse: true });
      expect(cluster).toMatchObject({ name: spec.name, created: false });
    });

    it("refuses a cluster made from another spec, naming what differs", async () => {
      runtime = createMemoryRuntime();
      await existing(runtime, { name: "diff", agents: 1 });
      const err = await codeOf(createCluster({ environment: {}, runtime, name: "diff", image: IMAGE, loadBalancer: { image: IMAGE }, reuse: true, agents: 2, ports: ["8080:80"] }));
      expect(err.code).toBe("CLUSTER_ALREADY_EXISTS");
      expect(err.meta).toEqual({ cluster: "diff", differs: ["agents", "ports"] });
      expect(err.message).toBe("cluster diff exists with another spec; differs: agents (1 there, 2 asked), ports");
      expect(err.hint).toMatch(/getCluster\("diff"\)/);
    });

    it("refuses a cluster made with another token (read from server-0's token file, no digest in labels); attaches with the same one", async () => {
      runtime = createMemoryRuntime();
      await existing(runtime, { name: "tok" });
      const err = await codeOf(createCluster({ environment: {}, runtime, name: "tok", image: IMAGE, loadBalancer: { image: IMAGE }, reuse: true, token: "another" }));
      expect(err.meta).toEqual({ cluster: "tok", differs: ["token"] });
      const same = await createCluster({ environment: {}, runtime, name: "tok", image: IMAGE, loadBalancer: { image: IMAGE }, reuse: true, token: "t0ken" });
      expect(same.created).toBe(false);
      for (const n of await runtime.nodes.list()) expect(Object.keys(n.labels).filter((k) => /token/.test(k))).toEqual([]);
    });

    it("refuses a cluster that records no spec (made by the CLI)", async () => {
      runtime = createMemoryRuntime();
      await existing(runtime, { name: "cli" }, false);
      const err = await codeOf(createCluster({ environment: {}, runtime, name: "cli", image: IMAGE, loadBalancer: { image: IMAGE }, reuse: true }));
      expect(err.code).toBe("CLUSTER_ALREADY_EXISTS");
      expect(err.message).toMatch(/records no spec/);
    });
  });

  describe("getCluster", () => {
    it("attaches to an existing cluster and keeps it by default", async () => {
      runtime = createMemoryRuntime();
      await existing(runtime, { name: "there" });
      const cluster = await getCluster("there", { runtime });
      expect(cluster).toMatchObject({ name: "there", created: false, keep: true });
      expect((await cluster.info()).servers.map((s) => s.name)).toEqual(["k3ts-there-server-0"]);
      expect(pendingExitCleanups()).toBe(0);
    });

    it("with keep: false deletes it on dispose, and registers it for exit until then", async () => {
      runtime = createMemoryRuntime();
      await existing(runtime, { name: "gone" });
      const cluster = await getCluster("gone", { runtime, keep: false });
      expect(pendingExitCleanups()).toBe(1);
      await cluster[Symbol.asyncDispose]();
      expect(pendingExitCleanups()).toBe(0);
      expect(await runtime.nodes.list({ labels: { [LABELS.cluster]: "gone" } })).toEqual([]);
      expect(await runtime.networks.inspect("k3ts-gone").catch((e: unknown) => (isK3tsError(e) ? e.code : e))).toBe("NETWORK_NOT_FOUND");
    });

    it("says CLUSTER_NOT_FOUND for a name that is not there", async () => {
      runtime = createMemoryRuntime();
      expect((await codeOf(getCluster("nothing", { runtime }))).code).toBe("CLUSTER_NOT_FOUND");
    });
  });

  describe("k3sVersion and dataVolume", () => {
    const DATA = { name: "keep", dataVolume: "keep-data", token: "t0ken" } satisfies ClusterOptions;

    it("dataVolume is mounted at k3s's data directory of server-0 (no other node); delete removes the cluster and leaves the volume", async () => {
      runtime = createMemoryRuntime();
      await existing(runtime, { ...DATA, ports: ["8080:80@loadbalancer"] });
      // The engine made the volume when server-0 mounted it; nothing of k3ts labels it as the cluster's.
      expect(await runtime.volumes.inspect("keep-data")).toMatchObject({ name: "keep-data", labels: {} });
      await runtime.nodes.writeFile("k3ts-keep-server-0", "/var/lib/rancher/k3s/server/db/state.db", "rows");
      const lb = await runtime.nodes.readFile("k3ts-keep-serverlb", "/var/lib/rancher/k3s/server/db/state.db").catch((e: unknown) => (isK3tsError(e) ? e.code : e));
      expect(lb).toBe("FILE_NOT_FOUND");
      const cluster = await getCluster("keep", { runtime, keep: false });
      const result = await cluster.delete();
      expect(result.removed).toContain("node k3ts-keep-server-0");
      expect(result.removed.filter((r) => r.includes("keep-data"))).toEqual([]);
      expect(await runtime.nodes.list({ labels: { [LABELS.cluster]: "keep" } })).toEqual([]);
      expect((await runtime.volumes.inspect("keep-data")).name).toBe("keep-data");
      // The next cluster on the volume starts from what k3s kept there.
      await existing(runtime, DATA);
      expect((await runtime.nodes.readFile("k3ts-keep-server-0", "/var/lib/rancher/k3s/server/db/state.db")).toString()).toBe("rows");
    });

    it("reuse of a cluster made with another k3sVersion or another dataVolume is refused, naming what differs", async () => {
      runtime = createMemoryRuntime({ images: [IMAGE, "rancher/k3s:v1.33.4-k3s1"] });
      await existing(runtime, { ...DATA, k3sVersion: "v1.33.4-k3s1", image: undefined });
      const base = { environment: {}, runtime, loadBalancer: { image: IMAGE }, reuse: true, ...DATA };
      const version = await codeOf(createCluster({ ...base, k3sVersion: "v1.32.8-k3s1" }));
      expect(version.meta).toEqual({ cluster: "keep", differs: ["image"] });
      expect(version.message).toMatch(/image \(rancher\/k3s:v1\.33\.4-k3s1 there, rancher\/k3s:v1\.32\.8-k3s1 asked\)/);
      const volume = await codeOf(createCluster({ ...base, k3sVersion: "v1.33.4-k3s1", dataVolume: "other-data" }));
      expect(volume.meta).toEqual({ cluster: "keep", differs: ["volumes"] });
      const same = await createCluster({ ...base, k3sVersion: "v1.33.4+k3s1" });
      expect(same.created).toBe(false);
    });
  });

  describe("the handle deploys with the cluster's own kubeconfig", () => {
    let api: FakeApiServer;
    let cluster: Cluster;
    beforeEach(async () => {
      api = new FakeApiServer();
      api.discovery["helm.cattle.io/v1"] = HELMCHART_DISCOVERY;
      const kubeconfig = await api.startTls();
      runtime = createMemoryRuntime();
      await existing(runtime, { name: "deploy" }, true, { apiHostPort: api.port, kubeconfig });
      cluster = await getCluster("deploy", { runtime });
    });
    afterEach(() => api.close());

    it("kubeConfig() is a client-node KubeConfig of the published API (kubeClient() its deprecated alias)", async () => {
      const kc = await cluster.kubeConfig();
      expect(kc.getCurrentContext()).toBe("k3ts-deploy");
      expect(kc.getCurrentCluster()?.server).toBe(`https://127.0.0.1:${api.port}`);
      expect((await cluster.kubeConfig({ network: true })).getCurrentCluster()?.server).toBe("https://k3ts-deploy-serverlb:6443");
      expect((await cluster.kubeClient()).exportConfig()).toBe(kc.exportConfig());
    });

    it("apply() applies server-side through the API (client certificate and all), and rollout() waits on what it applied", async () => {
      const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "shop" }, spec: { replicas: 1 } };
      const applied = await cluster.apply([{ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } }, deployment]);
      expect(applied.objects.map((o) => `${o.kind}/${o.name} ${o.change}`)).toEqual(["Namespace/shop created", "Deployment/web created"]);
      expect(api.calls.filter((c) => c.startsWith("PATCH"))).toEqual(["PATCH /api/v1/namespaces/shop", "PATCH /apis/apps/v1/namespaces/shop/deployments/web"]);
      const path = "/apis/apps/v1/namespaces/shop/deployments/web";
      const at = (available: number) => ({ status: 200, body: { ...deployment, metadata: { ...deployment.metadata, generation: 1 }, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: available } } });
      api.script(path, [at(0)]);
      const stuck = await cluster.rollout(applied, { timeout: 0 }).catch((e: unknown) => e);
      expect(isK3tsError(stuck, "TIMEOUT") && stuck.message).toBe("not rolled out within 0 ms: Deployment/shop/web (0 of 1 updated replicas available)");
      api.script(path, [at(0), at(1)]);
      const seen: string[] = [];
      await cluster.rollout(deployment, { intervalMs: 1, onStatus: (_o, s) => seen.push(s) });
      expect(seen.at(-1)).toBe("rolled out");
    });

    it("helm() installs a release through the helm-controller and uninstallHelm() removes it", async () => {
      const CHART = "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/web";
      api.script(CHART, [() => ({ status: 200, body: { ...api.objects.get(CHART), status: { jobName: "helm-install-web" } } })], { once: "stored" });
      const job = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "helm-install-web", namespace: "kube-system", uid: "j1", generation: 1 }, status: { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] } };
      api.script("/apis/batch/v1/namespaces/kube-system/jobs/helm-install-web", [{ status: 200, body: job }]);
      const release = await cluster.helm({ name: "web", chart: "nginx", repo: "https://charts.example.com", intervalMs: 1 });
      expect(release).toEqual({ name: "web", namespace: "kube-system", jobName: "helm-install-web", change: "created" });
      expect(api.objects.get(CHART)?.spec).toEqual({ chart: "nginx", repo: "https://charts.example.com" });
      expect(await cluster.uninstallHelm({ name: "other", intervalMs: 1 })).toEqual({ deleted: false });
      expect(api.calls).toContain("DELETE /apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/other");
    });
  });
});
