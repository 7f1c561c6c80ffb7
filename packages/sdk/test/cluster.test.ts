import { LABELS, TOKEN_FILE_IN_NODE, baseLabels, isK3tsError, names, planCluster, type ClusterSpec } from "@k3ts/core";
import { createMemoryRuntime, type MemoryRuntime } from "@k3ts/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { createCluster, getCluster } from "../src/cluster.ts";
import { clusterSpec, type ClusterOptions } from "../src/options.ts";
import { hashSpec, specLabels } from "../src/spec-hash.ts";
import { pendingExitCleanups } from "../src/cleanup.ts";

const IMAGE = "k3ts-test/busybox:1";

/**
 * Puts the nodes of a cluster into the in-memory engine as core's plan (with the sdk's spec labels)
 * describes them, running `sleep` instead of k3s: enough for reuse, which only reads labels and states.
 */
async function existing(runtime: MemoryRuntime, options: ClusterOptions, labelled = true): Promise<ClusterSpec> {
  const spec = clusterSpec({ environment: {}, image: IMAGE, loadBalancer: { image: IMAGE }, ...options });
  const withLabels = labelled ? { ...spec, runtimeLabels: [...spec.runtimeLabels, ...specLabels(hashSpec(spec))] } : spec;
  const plan = planCluster(withLabels, { apiHostPort: 40000, network: names.network(spec.name), networkExternal: false, token: "t0ken", k3tsVersion: "0.0.0" });
  await runtime.networks.ensure({ name: names.network(spec.name), labels: baseLabels("0.0.0", { [LABELS.cluster]: spec.name }) });
  for (const node of [...plan.servers, ...plan.agents, ...(plan.loadBalancer ? [plan.loadBalancer] : [])]) {
    // The nodes as create makes them, running a sleeper instead of k3s (and its entrypoint) in the memory runtime.
    const { entrypoint: _entrypoint, ...spec } = node.spec;
    await runtime.nodes.create({ ...spec, command: ["sleep", "1000"], env: {}, extraHosts: [], privileged: false });
    if (node.role !== "loadbalancer") await runtime.nodes.writeFile(node.spec.name, TOKEN_FILE_IN_NODE, "t0ken\n", { mode: 0o600 });
    await runtime.nodes.start(node.spec.name);
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
});
