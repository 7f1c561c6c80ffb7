import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCluster } from "../../src/cluster/create.js";
import { deleteCluster } from "../../src/cluster/lifecycle.js";
import { defaultClusterSpec } from "../../src/config/merge.js";
import { K3tsError, isK3tsError } from "../../src/errors.js";
import type { Runtime } from "../../src/runtime.js";
import { overriding } from "./helpers.js";
import { LABELS, baseLabels } from "../../src/labels.js";
import { createMemoryRuntime } from "../../src/testing/memory/index.js";

describe("createCluster on a name that is taken", () => {
  it("fails with CLUSTER_ALREADY_EXISTS and leaves the existing cluster alone (no rollback of someone else's nodes)", async () => {
    const runtime = createMemoryRuntime();
    await runtime.networks.ensure({ name: "k3ts-dev", labels: baseLabels("0.0.0", { [LABELS.cluster]: "dev" }) });
    await runtime.nodes.create({
      name: "k3ts-dev-server-0",
      image: "k3ts-test/busybox:1",
      labels: baseLabels("0.0.0", { [LABELS.cluster]: "dev", [LABELS.role]: "server", [LABELS.nodeIndex]: "0" }),
      network: { name: "k3ts-dev" },
    });
    const spec = { ...defaultClusterSpec(), name: "dev", image: "k3ts-test/busybox:1", kubeconfig: { update: false, switchContext: false } };
    const err = await createCluster(spec, { runtime }).catch((e: unknown) => e);
    expect(isK3tsError(err, "CLUSTER_ALREADY_EXISTS")).toBe(true);
    expect((await runtime.nodes.list()).map((n) => n.name)).toEqual(["k3ts-dev-server-0"]);
    await expect(runtime.networks.inspect("k3ts-dev")).resolves.toMatchObject({ name: "k3ts-dev" });
  });

  it("pulls an image the engine lacks before making anything; a failed pull leaves nothing", async () => {
    const runtime = createMemoryRuntime();
    const spec = { ...defaultClusterSpec(), name: "dev", image: "rancher/k3s:v9.9.9-k3s1", kubeconfig: { update: false, switchContext: false } };
    const err = await createCluster(spec, { runtime }).catch((e: unknown) => e);
    expect(isK3tsError(err, "IMAGE_PULL_FAILED")).toBe(true);
    expect(await runtime.nodes.list()).toEqual([]);
    await expect(runtime.networks.inspect("k3ts-dev")).rejects.toMatchObject({ code: "NETWORK_NOT_FOUND" });
  });
});

describe("node counts k3ts makes", () => {
  it.each([
    [{ agents: 10_000_000 }, "agents: 10000000 is more than k3ts makes (at most 999 agents in a cluster)"],
    [{ servers: 100 }, "servers: 100 is more than k3ts makes (at most 99 servers in a cluster)"],
    [{ servers: 0 }, "servers: a cluster needs at least one server (got 0)"],
    [{ agents: 1.5 }, "agents: want a whole number (got 1.5)"],
    [{ agents: -1 }, "agents: cannot be negative (got -1)"],
  ])("%j is refused at once, before the engine is asked anything", async (counts, message) => {
    const runtime = createMemoryRuntime();
    const calls: string[] = [];
    const watched = new Proxy(runtime, { get: (t, k) => (calls.push(String(k)), Reflect.get(t, k)) });
    const spec = { ...defaultClusterSpec(), ...counts, name: "dev", image: "k3ts-test/busybox:1", kubeconfig: { update: false, switchContext: false } };
    const err = await createCluster(spec, { runtime: watched }).catch((e: unknown) => e);
    expect(isK3tsError(err, "INVALID_ARGUMENT")).toBe(true);
    expect((err as Error).message).toBe(message);
    expect(calls).toEqual([]);
  });
});

describe("a kubeconfig k3ts could not merge into", () => {
  it("is refused before the engine is asked anything (not after the cluster came up and was rolled back)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k3ts-kc-"));
    try {
      const path = join(dir, "config");
      writeFileSync(path, "clusters: [\n");
      const runtime = createMemoryRuntime();
      const calls: string[] = [];
      const watched = new Proxy(runtime, { get: (t, k) => (calls.push(String(k)), Reflect.get(t, k)) });
      const spec = { ...defaultClusterSpec(), name: "dev", image: "k3ts-test/busybox:1", kubeconfig: { update: true, switchContext: true } };
      const err = await createCluster(spec, { runtime: watched, kubeconfigPath: path }).catch((e: unknown) => e);
      expect(isK3tsError(err, "INVALID_ARGUMENT")).toBe(true);
      expect((err as Error).message).toContain(`kubeconfig ${path}: not valid YAML`);
      expect(calls).toEqual([]);
      expect(readFileSync(path, "utf8")).toBe("clusters: [\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("two creates of one name at once", () => {
  it("the network claims the name: the second is CLUSTER_ALREADY_EXISTS and removes nothing of the first", async () => {
    const runtime = createMemoryRuntime();
    const spec = { ...defaultClusterSpec(), name: "race", image: "k3ts-test/busybox:1", loadBalancer: { enabled: false, image: "k3ts-test/busybox:1" }, timeoutMs: 1500, kubeconfig: { update: false, switchContext: false } };
    const outcomes: string[] = [];
    let whenLoserFailed: { network: boolean; nodes: string[] } | undefined;
    const attempt = (label: string) =>
      createCluster(spec, { runtime }).then(
        () => outcomes.push(`${label} created`),
        async (err: unknown) => {
          const code = isK3tsError(err) ? err.code : String(err);
          outcomes.push(`${label} ${code}`);
          if (code === "CLUSTER_ALREADY_EXISTS") {
            whenLoserFailed = {
              network: await runtime.networks.inspect("k3ts-race").then(() => true, () => false),
              nodes: (await runtime.nodes.list()).map((n) => n.name),
            };
          }
        },
      );
    await Promise.all([attempt("a"), attempt("b")]);
    // Exactly one lost the claim; the winner got to server-0 (the memory runtime runs no k3s, so it then failed and rolled back).
    expect(outcomes.filter((o) => o.endsWith(" CLUSTER_ALREADY_EXISTS"))).toHaveLength(1);
    expect(outcomes.filter((o) => o.endsWith(" CLUSTER_NOT_READY") || o.endsWith(" TIMEOUT"))).toHaveLength(1);
    expect(whenLoserFailed?.network).toBe(true);
    expect(await runtime.nodes.list()).toEqual([]);
    await expect(runtime.networks.inspect("k3ts-race")).rejects.toMatchObject({ code: "NETWORK_NOT_FOUND" });
  });

  it("a rollback removes only what its own create made (by its id), not another cluster's node of the same name", async () => {
    const runtime = createMemoryRuntime();
    // Someone else's server-0 under this name, on a network the create joins (so no network claim): the create fails on it.
    await runtime.networks.ensure({ name: "shared", labels: {} });
    await runtime.nodes.create({ name: "k3ts-twin-server-0", image: "k3ts-test/busybox:1", labels: { "k3ts.io/managed": "true", "k3ts.io/cluster": "elsewhere" }, network: { name: "shared" } });
    const spec = { ...defaultClusterSpec(), name: "twin", network: "shared", image: "k3ts-test/busybox:1", loadBalancer: { enabled: false, image: "k3ts-test/busybox:1" }, kubeconfig: { update: false, switchContext: false } };
    const err = await createCluster(spec, { runtime }).catch((e: unknown) => e);
    expect(isK3tsError(err, "CLUSTER_ALREADY_EXISTS")).toBe(true);
    expect((await runtime.nodes.list()).map((n) => n.name)).toEqual(["k3ts-twin-server-0"]);
    await expect(runtime.networks.inspect("shared")).resolves.toMatchObject({ name: "shared" });
  });
});

describe("deleting a cluster that joined another cluster's network", () => {
  it("keeps that cluster's registry connected there (and deletes only its own nodes)", async () => {
    const runtime = createMemoryRuntime();
    const node = (cluster: string, network: string, external: boolean) =>
      baseLabels("0.0.0", { [LABELS.cluster]: cluster, [LABELS.role]: "server", [LABELS.nodeIndex]: "0", [LABELS.network]: network, [LABELS.networkExternal]: String(external) });
    await runtime.networks.ensure({ name: "k3ts-a", labels: baseLabels("0.0.0", { [LABELS.cluster]: "a" }) });
    await runtime.nodes.create({ name: "k3ts-a-server-0", image: "k3ts-test/busybox:1", labels: node("a", "k3ts-a", false), network: { name: "k3ts-a" } });
    await runtime.nodes.create({ name: "k3ts-b-server-0", image: "k3ts-test/busybox:1", labels: node("b", "k3ts-a", true), network: { name: "k3ts-a" } });
    await runtime.nodes.create({ name: "k3ts-reg", image: "k3ts-test/busybox:1", labels: baseLabels("0.0.0", { [LABELS.role]: "registry" }), network: { name: "k3ts-a" } });
    const result = await deleteCluster("b", { runtime, updateKubeconfig: false });
    expect(result.removed).toEqual(["node k3ts-b-server-0"]);
    expect((await runtime.nodes.inspect("k3ts-reg")).networks.map((n) => n.name)).toEqual(["k3ts-a"]);
    expect((await runtime.nodes.list()).map((n) => n.name).sort()).toEqual(["k3ts-a-server-0", "k3ts-reg"]);
  });
});

describe("deleteCluster with a create id (the sdk's handle and reaper)", () => {
  it("deletes only what that create made: a cluster of the name made since by another create stays", async () => {
    const runtime = createMemoryRuntime();
    const labels = (id: string) => baseLabels("0.0.0", { [LABELS.cluster]: "x", [LABELS.role]: "server", [LABELS.nodeIndex]: "0", [LABELS.createId]: id });
    await runtime.networks.ensure({ name: "k3ts-x", labels: baseLabels("0.0.0", { [LABELS.cluster]: "x", [LABELS.createId]: "new" }) });
    await runtime.nodes.create({ name: "k3ts-x-server-0", image: "k3ts-test/busybox:1", labels: labels("new"), network: { name: "k3ts-x" } });
    expect(await deleteCluster("x", { runtime, updateKubeconfig: false, createId: "old" })).toEqual({ name: "x", found: false, removed: [] });
    expect((await runtime.nodes.list()).map((n) => n.name)).toEqual(["k3ts-x-server-0"]);
    const own = await deleteCluster("x", { runtime, updateKubeconfig: false, createId: "new" });
    expect(own.removed).toEqual(["node k3ts-x-server-0", "network k3ts-x"]);
  });
});

describe("deleteCluster finds the cluster's networks by label", () => {
  it("deletes every network labelled with the cluster, whatever its name; a network of the default name it did not make stays", async () => {
    const runtime = createMemoryRuntime();
    const own = baseLabels("0.0.0", { [LABELS.cluster]: "y" });
    await runtime.networks.ensure({ name: "custom-net", labels: own });
    await runtime.networks.ensure({ name: "k3ts-y-subnet-probe", labels: own }); // left by a create that crashed
    await runtime.networks.ensure({ name: "k3ts-y" }); // someone else's, under the name k3ts would guess
    await runtime.nodes.create({
      name: "k3ts-y-server-0",
      image: "k3ts-test/busybox:1",
      labels: baseLabels("0.0.0", { [LABELS.cluster]: "y", [LABELS.role]: "server", [LABELS.nodeIndex]: "0", [LABELS.network]: "custom-net" }),
      network: { name: "custom-net" },
    });
    const result = await deleteCluster("y", { runtime, updateKubeconfig: false });
    expect(result.removed).toEqual(["node k3ts-y-server-0", "network custom-net", "network k3ts-y-subnet-probe"]);
    expect((await runtime.networks.list()).map((n) => n.name)).toEqual(["k3ts-y"]);
  });

  it("leaves the network a cluster joined (networkExternal), even one labelled with the cluster's name", async () => {
    const runtime = createMemoryRuntime();
    await runtime.networks.ensure({ name: "joined", labels: baseLabels("0.0.0", { [LABELS.cluster]: "z" }) });
    await runtime.nodes.create({
      name: "k3ts-z-server-0",
      image: "k3ts-test/busybox:1",
      labels: baseLabels("0.0.0", { [LABELS.cluster]: "z", [LABELS.role]: "server", [LABELS.nodeIndex]: "0", [LABELS.network]: "joined", [LABELS.networkExternal]: "true" }),
      network: { name: "joined" },
    });
    expect((await deleteCluster("z", { runtime, updateKubeconfig: false })).removed).toEqual(["node k3ts-z-server-0"]);
    await expect(runtime.networks.inspect("joined")).resolves.toMatchObject({ name: "joined" });
  });
});

describe("a create whose rollback cannot remove everything", () => {
  it("throws the create's own error and logs what is left and how to remove it", async () => {
    const base = createMemoryRuntime();
    const failure = new K3tsError("COMMAND_FAILED", "the node would not start");
    const runtime = overriding<Runtime>(base, {
      nodes: overriding(base.nodes, {
        start: () => Promise.reject(failure),
        delete: (name, o) => (name === "k3ts-dev-server-0" ? Promise.reject(new K3tsError("RUNTIME_ERROR", "device or resource busy")) : base.nodes.delete(name, o)),
      }),
    });
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    const spec = { ...defaultClusterSpec(), name: "dev", image: "k3ts-test/busybox:1", loadBalancer: { enabled: false, image: "k3ts-test/busybox:1" }, kubeconfig: { update: false, switchContext: false } };
    const err = await createCluster(spec, { runtime, logger }).catch((e: unknown) => e);
    expect(err).toBe(failure);
    expect(warnings.filter((w) => w.startsWith("rollback of cluster dev could not remove: "))).toHaveLength(1);
    expect(warnings.join("\n")).toContain("node k3ts-dev-server-0 (device or resource busy)");
    expect(warnings.join("\n")).toContain("remove what is left with k3ts cluster delete dev");
    // What the warning names is what is left, and the command it names removes it.
    expect((await base.nodes.list()).map((n) => n.name)).toEqual(["k3ts-dev-server-0"]);
    await deleteCluster("dev", { runtime: base, updateKubeconfig: false });
    expect(await base.nodes.list()).toEqual([]);
    expect(await base.networks.list()).toEqual([]);
  });
});
