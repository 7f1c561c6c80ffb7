import { describe, expect, it } from "vitest";
import { createCluster } from "../../src/cluster/create.js";
import { KUBELET_IN_USERNS_ARG, adaptToEngine, needsNetworkDns, preflightProblems } from "../../src/cluster/preflight.js";
import { planCluster } from "../../src/cluster/plan.js";
import { defaultClusterSpec } from "../../src/config/merge.js";
import { isK3tsError } from "../../src/errors.js";
import type { RuntimeInfo } from "../../src/runtime.js";
import { createMemoryRuntime } from "../../src/testing/memory/index.js";

const spec = (over: Partial<ReturnType<typeof defaultClusterSpec>> = {}) => ({
  ...defaultClusterSpec(),
  name: "dev",
  image: "k3ts-test/busybox:1",
  kubeconfig: { update: false, switchContext: false },
  ...over,
});

const info = (caps: Partial<RuntimeInfo["capabilities"]>, hints?: RuntimeInfo["hints"]): RuntimeInfo => ({
  runtime: "podman",
  engine: { name: "podman", version: "4.3.1" },
  endpoint: "/usr/bin/podman (rootful)",
  os: "linux",
  arch: "amd64",
  capabilities: { privileged: true, rootless: false, cgroupVersion: 2, memoryLimit: true, networkDns: true, hostGateway: true, ...caps },
  ...(hints ? { hints } : {}),
});

describe("needsNetworkDns", () => {
  it.each([
    [{ servers: 1, agents: 1 }, /agents and joining servers/],
    [{ servers: 3, agents: 0 }, /agents and joining servers/],
    [{ servers: 1, agents: 0 }, /load balancer/],
    [{ servers: 1, agents: 0, loadBalancer: { enabled: false, image: "x" }, registries: { use: ["k3ts-reg:5000"] } }, /registries/],
    [{ servers: 1, agents: 0, loadBalancer: { enabled: false, image: "x" }, registries: { create: { name: "r" } } }, /registries/],
  ])("%j needs names", (over, reason) => {
    expect(needsNetworkDns(spec(over))).toMatch(reason);
  });

  it("a lone server without load balancer or registries resolves no other container", () => {
    expect(needsNetworkDns(spec({ servers: 1, agents: 0, loadBalancer: { enabled: false, image: "x" } }))).toBeUndefined();
  });
});

describe("preflightProblems", () => {
  it("is empty when the engine has what the cluster needs", () => {
    expect(preflightProblems(spec({ agents: 2 }), info({}))).toEqual([]);
  });

  it("names missing container DNS with the runtime's own hint", () => {
    const problems = preflightProblems(spec({ agents: 2 }), info({ networkDns: false }, { networkDns: "install the dnsname plugin" }));
    expect(problems).toEqual([
      {
        capability: "networkDns",
        reason: "containers on a podman network cannot resolve each other by name, and agents and joining servers reach the first server by its container name",
        hint: "install the dnsname plugin",
      },
    ]);
  });

  it("falls back to a generic hint, and checks privileged only when the spec asks for it", () => {
    const noPriv = info({ networkDns: false, privileged: false });
    expect(preflightProblems(spec({ privileged: true }), noPriv).map((p) => [p.capability, p.hint])).toEqual([
      ["networkDns", "enable DNS on podman's user networks"],
      ["privileged", "run podman where privileged containers are allowed"],
    ]);
    expect(preflightProblems(spec({ privileged: false, servers: 1, agents: 0, loadBalancer: { enabled: false, image: "x" } }), noPriv)).toEqual([]);
  });
});

describe("createCluster's preflight", () => {
  it("refuses before making anything when the engine has no container DNS, with the hint", async () => {
    const runtime = createMemoryRuntime({ capabilities: { networkDns: false }, hints: { networkDns: "install the dnsname plugin" } });
    const err = await createCluster(spec({ agents: 1 }), { runtime }).catch((e: unknown) => e);
    expect(isK3tsError(err, "RUNTIME_CAPABILITY_MISSING")).toBe(true);
    expect(err).toMatchObject({ hint: "install the dnsname plugin", meta: { cluster: "dev", missing: ["networkDns"] } });
    expect((err as Error).message).toMatch(/^cluster dev cannot run on memory \(memory:\/\/memory\): containers on a memory network cannot resolve/);
    expect(await runtime.nodes.list()).toEqual([]);
    await expect(runtime.networks.inspect("k3ts-dev")).rejects.toMatchObject({ code: "NETWORK_NOT_FOUND" });
  });

  it("lets a lone server without load balancer through on the same engine", async () => {
    const runtime = createMemoryRuntime({ capabilities: { networkDns: false } });
    const err = await createCluster(spec({ agents: 0, loadBalancer: { enabled: false, image: "x" }, timeoutMs: 1 }), { runtime }).catch((e: unknown) => e);
    expect(isK3tsError(err, "RUNTIME_CAPABILITY_MISSING")).toBe(false);
  });
});

describe("rootless engines (k3s's rootless requirements)", () => {
  it("refuses cgroup v1, where nothing is delegated to the user", () => {
    const problems = preflightProblems(spec(), info({ rootless: true, cgroupVersion: 1 }));
    expect(problems.map((p) => p.capability)).toEqual(["rootless"]);
    expect(problems[0]!.reason).toMatch(/rootless on cgroup v1/);
    expect(problems[0]!.hint).toMatch(/systemd\.unified_cgroup_hierarchy=1/);
  });

  it("refuses when the engine says the kubelet's controllers are not delegated, naming them and the systemd fix", () => {
    const problems = preflightProblems(spec(), { ...info({ rootless: true }), cgroupControllers: ["memory", "pids"] });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.reason).toMatch(/controller cpu is not delegated/);
    expect(problems[0]!.hint).toMatch(/Delegate=cpu cpuset io memory pids/);
    expect(preflightProblems(spec(), { ...info({ rootless: true }), cgroupControllers: ["cpuset", "cpu", "io", "memory", "pids"] })).toEqual([]);
    // Unknown (Docker does not say): not refused.
    expect(preflightProblems(spec(), info({ rootless: true }))).toEqual([]);
    // Rootful engines are not asked.
    expect(preflightProblems(spec(), { ...info({}), cgroupControllers: [] })).toEqual([]);
  });

  it("runs every k3s node with the kubelet's KubeletInUserNamespace gate, once, and only when rootless", () => {
    const two = spec({ servers: 1, agents: 2 });
    const adapted = adaptToEngine(two, info({ rootless: true }));
    expect(adapted.k3sArgs.map((a) => a.value)).toEqual([KUBELET_IN_USERNS_ARG]);
    const plan = planCluster(adapted, { apiHostPort: 1, network: "k3ts-dev", networkExternal: false, token: "t", k3tsVersion: "0" });
    for (const n of [...plan.servers, ...plan.agents]) expect(n.spec.command, n.spec.name).toContain(KUBELET_IN_USERNS_ARG);
    expect(plan.loadBalancer!.spec.command ?? []).not.toContain(KUBELET_IN_USERNS_ARG);
    expect(adaptToEngine(adapted, info({ rootless: true }))).toBe(adapted);
    expect(adaptToEngine(two, info({}))).toBe(two);
  });
});
