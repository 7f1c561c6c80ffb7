/**
 * createCluster's steps one by one, on the memory runtime (no engine): what each makes, what it
 * pushes on the one undo stack, and that rollback unwinds it to nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { awaitReady, createPreflight, prepareCluster, provisionNodes, publishKubeconfig, rollbackCreate } from "../../src/cluster/create.js";
import { createServer } from "node:https";
import { rewriteKubeconfig } from "../../src/cluster/kubeconfig.js";
import { KUBECONFIG_IN_NODE } from "../../src/cluster/spec.js";
import { LB_CONFIG_PATH, LB_STATE_PATH } from "../../src/cluster/loadbalancer/index.js";
import { k3sKubeconfig } from "./kubeconfig-fixture.js";
import { KUBELET_IN_USERNS_ARG } from "../../src/cluster/preflight.js";
import { defaultClusterSpec } from "../../src/config/merge.js";
import { K3tsError, isK3tsError } from "../../src/errors.js";
import type { Runtime } from "../../src/runtime.js";
import { overriding } from "./helpers.js";
import { addNodes } from "../../src/cluster/nodes.js";
import { LABELS, baseLabels } from "../../src/labels.js";
import { createMemoryRuntime } from "../../src/testing/memory/index.js";
import { hostRange, serverAddresses } from "../../src/cluster/addresses.js";

const spec = (over: Partial<ReturnType<typeof defaultClusterSpec>> = {}) => ({
  ...defaultClusterSpec(),
  name: "dev",
  image: "k3ts-test/busybox:1",
  agents: 1,
  loadBalancer: { enabled: true, image: "k3ts-test/busybox:1" },
  kubeconfig: { update: false, switchContext: false },
  ...over,
});

/** What k3s writes (placeholder credentials), and the kubeconfig k3ts makes of it for cluster dev. */
const K3S_WROTE = k3sKubeconfig({ ca: "Q0E=", cert: "Q0VSVA==", key: "S0VZ" });
const KUBECONFIG = rewriteKubeconfig(K3S_WROTE, { cluster: "dev", server: "https://127.0.0.1:40001" });

describe("preflight", () => {
  it("refuses a taken name before anything is made, and refuses what the engine cannot run", async () => {
    const runtime = createMemoryRuntime();
    await runtime.nodes.create({ name: "k3ts-dev-server-0", image: "k3ts-test/busybox:1", labels: baseLabels("0", { [LABELS.cluster]: "dev", [LABELS.role]: "server", [LABELS.nodeIndex]: "0" }) });
    expect(isK3tsError(await createPreflight(spec(), { runtime }).catch((e: unknown) => e), "CLUSTER_ALREADY_EXISTS")).toBe(true);
    const noDns = createMemoryRuntime({ capabilities: { networkDns: false } });
    expect(isK3tsError(await createPreflight(spec(), { runtime: noDns }).catch((e: unknown) => e), "RUNTIME_CAPABILITY_MISSING")).toBe(true);
    await expect(noDns.networks.inspect("k3ts-dev")).rejects.toMatchObject({ code: "NETWORK_NOT_FOUND" });
  });

  it("adapts the spec to the engine and starts an empty undo stack", async () => {
    const { run, info } = await createPreflight(spec(), { runtime: createMemoryRuntime({ capabilities: { rootless: true, cgroupVersion: 2 } }) });
    expect(info.capabilities.rootless).toBe(true);
    expect(run.spec.k3sArgs.map((a) => a.value)).toEqual([KUBELET_IN_USERNS_ARG]);
    expect(run.undo).toEqual([]);
  });
});

describe("prepare", () => {
  it("makes the network and plans the nodes on it; the network is the first thing to undo", async () => {
    const runtime = createMemoryRuntime();
    const { run, info } = await createPreflight(spec(), { runtime });
    const prep = await prepareCluster(run, info);
    expect(prep.networkName).toBe("k3ts-dev");
    expect(prep.plan.servers.map((n) => n.spec.name)).toEqual(["k3ts-dev-server-0"]);
    expect(prep.plan.agents[0]!.spec.network?.name).toBe("k3ts-dev");
    expect(prep.filesFor(prep.plan.servers[0]!).map((f) => f.path)).toEqual(expect.arrayContaining(["/bin/k3ts-entrypoint.sh", "/etc/rancher/k3ts/cluster.json"]));
    expect(prep.filesFor(prep.plan.loadBalancer!)).toEqual([]);
    expect(run.undo.map((u) => u.what)).toEqual(["network k3ts-dev"]);
    await rollbackCreate(run);
    await expect(runtime.networks.inspect("k3ts-dev")).rejects.toMatchObject({ code: "NETWORK_NOT_FOUND" });
    expect(run.undo).toEqual([]);
  });

  it("joins an existing network without owning it: rollback keeps it", async () => {
    const runtime = createMemoryRuntime();
    await runtime.networks.ensure({ name: "shared" });
    const { run, info } = await createPreflight(spec({ network: "shared" }), { runtime });
    await prepareCluster(run, info);
    expect(run.undo).toEqual([]);
    await rollbackCreate(run);
    await expect(runtime.networks.inspect("shared")).resolves.toMatchObject({ name: "shared" });
  });

  it("servers with embedded etcd get fixed addresses from the top of a subnet k3ts gives the network; a single server does not", async () => {
    const runtime = createMemoryRuntime();
    const { run, info } = await createPreflight(spec({ servers: 3 }), { runtime });
    const prep = await prepareCluster(run, info);
    const net = await runtime.networks.inspect("k3ts-dev");
    expect(net.subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    const { last } = hostRange(net.subnet!);
    const fixed = prep.plan.servers.map((n) => n.spec.network?.ipv4);
    expect(fixed[0]).toBe(last);
    expect(new Set(fixed).size).toBe(3);
    for (const [i, n] of prep.plan.servers.entries()) expect(n.spec.labels?.[LABELS.staticIP]).toBe(fixed[i]);
    expect(prep.plan.agents[0]!.spec.network?.ipv4).toBeUndefined();
    // The probe network that found the subnet is gone; only the cluster's is left (and undone).
    await expect(runtime.networks.inspect("k3ts-dev-subnet-probe")).rejects.toMatchObject({ code: "NETWORK_NOT_FOUND" });
    expect(run.undo.map((u) => u.what)).toEqual(["network k3ts-dev"]);

    const single = createMemoryRuntime();
    const one = await createPreflight(spec(), { runtime: single });
    const plain = await prepareCluster(one.run, one.info);
    expect(plain.plan.servers[0]!.spec.network?.ipv4).toBeUndefined();
    expect(plain.plan.servers[0]!.spec.labels?.[LABELS.staticIP]).toBeUndefined();
  });

  it("an existing network without a given subnet: servers keep dynamic addresses, and the user is told why that is fragile", async () => {
    const runtime = createMemoryRuntime();
    await runtime.networks.ensure({ name: "shared" });
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    const { run, info } = await createPreflight(spec({ servers: 2, network: "shared" }), { runtime, logger });
    const prep = await prepareCluster(run, info);
    expect(prep.plan.servers.map((n) => n.spec.network?.ipv4)).toEqual([undefined, undefined]);
    expect(warnings.join("\n")).toMatch(/no fixed addresses.*quorum.*--subnet/);
  });

  it("fails on a files[] source that cannot be read before it makes anything", async () => {
    const runtime = createMemoryRuntime();
    const { run, info } = await createPreflight(spec({ files: [{ value: { source: { path: "/nonexistent/k3ts-file" }, destination: "/x" }, filters: [] }] }), { runtime });
    const err = await prepareCluster(run, info).catch((e: unknown) => e);
    expect(isK3tsError(err, "INVALID_ARGUMENT")).toBe(true);
    expect((err as Error).message).toMatch(/files\[0\]\.source: cannot read \/nonexistent\/k3ts-file: ENOENT/);
    expect(run.undo).toEqual([]);
    await expect(runtime.networks.inspect("k3ts-dev")).rejects.toMatchObject({ code: "NETWORK_NOT_FOUND" });
  });
});

describe("publish and rollback", () => {
  it("merges the kubeconfig, and a rollback puts the user's file back byte for byte", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k3ts-steps-"));
    try {
      const path = join(dir, "config");
      const mine = "# mine\napiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: \"\"\n";
      writeFileSync(path, mine);
      const runtime = createMemoryRuntime();
      const { run, info } = await createPreflight(spec({ kubeconfig: { update: true, switchContext: true } }), { runtime, kubeconfigPath: path });
      await prepareCluster(run, info);
      expect(await publishKubeconfig(run, KUBECONFIG)).toBe(path);
      expect(readFileSync(path, "utf8")).toContain("current-context: k3ts-dev");
      expect(run.undo.map((u) => u.what)).toEqual(["network k3ts-dev", `kubeconfig ${path}`]);
      await rollbackCreate(run);
      expect(readFileSync(path, "utf8")).toBe(mine);
      await expect(runtime.networks.inspect("k3ts-dev")).rejects.toMatchObject({ code: "NETWORK_NOT_FOUND" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("writes nothing when the spec says not to", async () => {
    const { run } = await createPreflight(spec(), { runtime: createMemoryRuntime() });
    expect(await publishKubeconfig(run, KUBECONFIG)).toBeUndefined();
    expect(run.undo).toEqual([]);
  });

  it("sweeps nodes labelled with the cluster that the stack does not know (made between a call and its undo entry)", async () => {
    const runtime = createMemoryRuntime();
    const { run, info } = await createPreflight(spec(), { runtime });
    const prep = await prepareCluster(run, info);
    await runtime.nodes.create(prep.plan.agents[0]!.spec);
    await rollbackCreate(run);
    expect(await runtime.nodes.list()).toEqual([]);
    await expect(runtime.networks.inspect("k3ts-dev")).rejects.toMatchObject({ code: "NETWORK_NOT_FOUND" });
  });
});

describe("rollback finds by label", () => {
  it("removes every network this create's id labels, whatever its name, and leaves a network another create or the user made", async () => {
    const runtime = createMemoryRuntime();
    const { run, info } = await createPreflight(spec(), { runtime });
    await prepareCluster(run, info);
    const mine = baseLabels("0", { [LABELS.cluster]: "dev", [LABELS.createId]: run.createId });
    // Made by a request in flight (not on the undo stack): a probe under another name.
    await runtime.networks.ensure({ name: "k3ts-dev-subnet-probe", labels: mine });
    await runtime.networks.ensure({ name: "k3ts-dev-other-create", labels: { ...mine, [LABELS.createId]: "someone-else" } });
    await runtime.networks.ensure({ name: "users-own" });
    await rollbackCreate(run);
    expect((await runtime.networks.list()).map((n) => n.name).sort()).toEqual(["k3ts-dev-other-create", "users-own"]);
  });

  it("a network the user named and k3ts made goes; one the user named that was there stays", async () => {
    const runtime = createMemoryRuntime();
    const made = await createPreflight(spec({ network: "made-for-dev" }), { runtime });
    await prepareCluster(made.run, made.info);
    made.run.undo.length = 0; // as if the request's undo entry was never pushed: only the label finds it
    await rollbackCreate(made.run);
    await expect(runtime.networks.inspect("made-for-dev")).rejects.toMatchObject({ code: "NETWORK_NOT_FOUND" });

    await runtime.networks.ensure({ name: "given", labels: baseLabels("0", { [LABELS.cluster]: "dev" }) });
    const joined = await createPreflight(spec({ network: "given" }), { runtime });
    await prepareCluster(joined.run, joined.info);
    await rollbackCreate(joined.run);
    await expect(runtime.networks.inspect("given")).resolves.toMatchObject({ name: "given" });
  });

  it("logs what it could not remove and how to remove it, and never throws", async () => {
    const base = createMemoryRuntime();
    const refused = new K3tsError("RUNTIME_ERROR", "the engine refused");
    const runtime: Runtime = overriding<Runtime>(base, {
      nodes: overriding(base.nodes, { delete: (name, o) => (name === "k3ts-dev-agent-0" ? Promise.reject(refused) : base.nodes.delete(name, o)) }),
      networks: overriding(base.networks, { list: () => Promise.reject(new K3tsError("RUNTIME_ERROR", "list broke")) }),
    });
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    const { run, info } = await createPreflight(spec(), { runtime, logger });
    const prep = await prepareCluster(run, info);
    await base.nodes.create(prep.plan.agents[0]!.spec);
    await expect(rollbackCreate(run)).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("rollback of cluster dev could not remove: ");
    expect(warnings[0]).toContain("node k3ts-dev-agent-0 (the engine refused)");
    expect(warnings[0]).toContain("the networks this create made (listing them failed: list broke)");
    expect(warnings[0]).toContain("remove what is left with k3ts cluster delete dev");
    // The node the engine refused to delete is still there, and so is its network (in use): both named.
    expect(warnings[0]).toMatch(/network k3ts-dev \(network k3ts-dev has nodes attached: k3ts-dev-agent-0\)/);
    expect((await base.nodes.list()).map((n) => n.name)).toEqual(["k3ts-dev-agent-0"]);
    await expect(base.networks.inspect("k3ts-dev")).resolves.toMatchObject({ name: "k3ts-dev" });
  });
});

/** The memory runtime cannot run k3s: the plan's nodes run a stand-in of a stand-in, a server that writes its kubeconfig. */
function asFakeK3s(prep: Awaited<ReturnType<typeof prepareCluster>>): void {
  const files = prep.filesFor;
  prep.filesFor = (n) => [...files(n), ...(n.role === "server" ? [{ path: "/fake/k3s.yaml", content: K3S_WROTE, mode: 0o600 }] : [])];
  for (const n of [...prep.plan.servers, ...prep.plan.agents, prep.plan.loadBalancer!]) {
    n.spec.entrypoint = ["sh", "-c", n.role === "server" ? `cat /fake/k3s.yaml > ${KUBECONFIG_IN_NODE}; sleep 60` : "sleep 60"];
    n.spec.command = [];
  }
}

describe("provision", () => {

  it("starts server-0, then its agent and the load balancer with its state while it writes its kubeconfig; returns the kubeconfig for the host", async () => {
    const runtime = createMemoryRuntime();
    const { run, info } = await createPreflight(spec(), { runtime });
    const prep = await prepareCluster(run, info);
    asFakeK3s(prep);
    const kubeconfig = await provisionNodes(run, prep);
    expect(kubeconfig).toContain(`server: ${prep.plan.apiServerUrl}`);
    expect(kubeconfig).toContain("current-context: k3ts-dev");
    expect(run.undo.map((u) => u.what).sort()).toEqual(["network k3ts-dev", "node k3ts-dev-agent-0", "node k3ts-dev-server-0", "node k3ts-dev-serverlb"]);
    expect((await runtime.nodes.list()).map((n) => `${n.name} ${n.state}`).sort()).toEqual(["k3ts-dev-agent-0 running", "k3ts-dev-server-0 running", "k3ts-dev-serverlb running"]);
    expect((await runtime.nodes.readFile("k3ts-dev-server-0", "/etc/rancher/k3ts/token")).toString()).toBe(`${prep.token}\n`);
    expect(JSON.parse((await runtime.nodes.readFile("k3ts-dev-serverlb", LB_STATE_PATH)).toString())).toEqual(prep.plan.loadBalancerState);
    expect((await runtime.nodes.readFile("k3ts-dev-serverlb", LB_CONFIG_PATH)).toString()).toBe(prep.plan.loadBalancerConfig);
    await rollbackCreate(run);
    expect(await runtime.nodes.list()).toEqual([]);
  });

  it("agents and the load balancer do not wait for server-0's kubeconfig; joining servers do, and the load balancer waits for them", async () => {
    const base = createMemoryRuntime();
    const events: string[] = [];
    let kubeconfigSeen = false;
    const nodes = overriding(base.nodes, {
      start: async (name: string, o?: { signal?: AbortSignal }) => {
        events.push(`start ${name.replace("k3ts-dev-", "")}${kubeconfigSeen ? "" : " (before the kubeconfig)"}`);
        await base.nodes.start(name, o);
      },
      readFile: async (name: string, path: string, o?: { signal?: AbortSignal }) => {
        const content = await base.nodes.readFile(name, path, o);
        if (path === KUBECONFIG_IN_NODE) kubeconfigSeen = true;
        return content;
      },
    });
    const runtime: Runtime = { ...base, nodes, info: (o) => base.info(o) };
    const { run, info } = await createPreflight(spec({ servers: 3, agents: 2 }), { runtime });
    const prep = await prepareCluster(run, info);
    asFakeK3s(prep);
    // server-0 takes a moment to write its kubeconfig, as k3s does.
    prep.plan.servers[0]!.spec.entrypoint = ["sh", "-c", `sleep 0.3; cat /fake/k3s.yaml > ${KUBECONFIG_IN_NODE}; sleep 60`];
    await provisionNodes(run, prep);
    expect(events[0]).toBe("start server-0 (before the kubeconfig)");
    expect(events).toContain("start agent-0 (before the kubeconfig)");
    expect(events).toContain("start agent-1 (before the kubeconfig)");
    expect(events).toContain("start server-1");
    expect(events).toContain("start server-2");
    // The load balancer names every server: it starts after the joining ones.
    expect(events.at(-1)).toBe("start serverlb");
    await rollbackCreate(run);
  });

  it("several nodes failing to start are one coded error naming each, their errors as its cause", async () => {
    const base = createMemoryRuntime();
    const nodes = overriding(base.nodes, {
      start: async (name: string, o?: { signal?: AbortSignal }) => {
        if (name.includes("-agent-")) throw new K3tsError("PORT_IN_USE", `${name}: port taken`);
        await base.nodes.start(name, o);
      },
    });
    const runtime: Runtime = { ...base, nodes, info: (o) => base.info(o) };
    const { run, info } = await createPreflight(spec({ agents: 2 }), { runtime });
    const prep = await prepareCluster(run, info);
    asFakeK3s(prep);
    const err = await provisionNodes(run, prep).catch((e: unknown) => e);
    expect(isK3tsError(err, "PORT_IN_USE"), String(err)).toBe(true);
    expect((err as K3tsError).message).toBe("2 nodes failed: k3ts-dev-agent-0: k3ts-dev-agent-0: port taken; k3ts-dev-agent-1: k3ts-dev-agent-1: port taken");
    expect((err as K3tsError).meta).toMatchObject({ nodes: ["k3ts-dev-agent-0", "k3ts-dev-agent-1"] });
    expect(((err as K3tsError).cause as AggregateError).errors).toHaveLength(2);
    await rollbackCreate(run);
    expect(await base.nodes.list()).toEqual([]);
  });

  it("a server that dies fails at once, quoting it, with what was made on the stack for the rollback", async () => {
    const runtime = createMemoryRuntime();
    const { run, info } = await createPreflight(spec(), { runtime });
    const prep = await prepareCluster(run, info);
    const err = await provisionNodes(run, prep).catch((e: unknown) => e);
    // The plan's entrypoint is no program of the memory runtime: the server exits 127 and is restarted, as k3s on a fatal error.
    expect(isK3tsError(err, "CLUSTER_NOT_READY")).toBe(true);
    expect((err as Error).message).toMatch(/node k3ts-dev-server-0 exited/);
    expect((err as Error).message).toMatch(/exit 127/);
    // The agent and the load balancer were made beside server-0's kubeconfig wait: on the stack too, so the rollback finds them.
    expect(run.undo.map((u) => u.what).sort()).toEqual(["network k3ts-dev", "node k3ts-dev-agent-0", "node k3ts-dev-server-0", "node k3ts-dev-serverlb"]);
    await rollbackCreate(run);
    expect(await runtime.nodes.list()).toEqual([]);
    await expect(runtime.networks.inspect("k3ts-dev")).rejects.toMatchObject({ code: "NETWORK_NOT_FOUND" });
  });
});

describe("a node add whose rollback cannot remove the node", () => {
  it("logs the node and how to remove it, and throws the add's own error", async () => {
    const base = createMemoryRuntime();
    const { run, info } = await createPreflight(spec(), { runtime: base });
    const prep = await prepareCluster(run, info);
    asFakeK3s(prep);
    await provisionNodes(run, prep);
    const failure = new K3tsError("COMMAND_FAILED", "the new agent would not start");
    const runtime = overriding<Runtime>(base, {
      nodes: overriding(base.nodes, {
        start: (name, o) => (name === "k3ts-dev-agent-1" ? Promise.reject(failure) : base.nodes.start(name, o)),
        delete: (name, o) => (name === "k3ts-dev-agent-1" ? Promise.reject(new K3tsError("RUNTIME_ERROR", "device or resource busy")) : base.nodes.delete(name, o)),
      }),
    });
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    const err = await addNodes("dev", { runtime, logger, role: "agent", wait: false }).catch((e: unknown) => e);
    expect(err).toBe(failure);
    expect(warnings).toContain("node k3ts-dev-agent-1 could not be removed after the failed add (device or resource busy); remove it with k3ts node delete k3ts-dev-agent-1");
    expect((await base.nodes.list()).map((n) => n.name)).toContain("k3ts-dev-agent-1");
    await rollbackCreate(run);
  });
});

describe("ready", () => {
  const pki = (f: string) => readFileSync(new URL(`../fixtures/pki/${f}`, import.meta.url));

  /** The API as k3s serves what awaitReady reads and writes: /readyz, the Nodes (Ready, at their containers' addresses), the coredns ConfigMap. */
  async function fakeApi(runtime: ReturnType<typeof createMemoryRuntime>, network: string, nodes: string[]) {
    const coredns = { metadata: { name: "coredns", namespace: "kube-system", resourceVersion: "1" }, data: { Corefile: ".:53 {}", NodeHosts: "" } as Record<string, string> };
    const writes: string[] = [];
    const server = createServer({ key: pki("server.key"), cert: pki("server.crt"), ca: pki("ca.crt"), requestCert: true }, (req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        void (async () => {
          const url = new URL(req.url ?? "/", "https://x");
          if (url.pathname === "/readyz") return res.end("ok");
          if (url.pathname === "/api/v1/nodes") {
            const members = (await runtime.networks.inspect(network)).members;
            const items = nodes.map((name) => ({
              metadata: { name },
              status: { conditions: [{ type: "Ready", status: "True" }], addresses: [{ type: "InternalIP", address: members.find((m) => m.name === name)?.ipv4 }] },
            }));
            return res.end(JSON.stringify({ kind: "NodeList", items }));
          }
          if (url.pathname === "/api/v1/namespaces/kube-system/configmaps/coredns") {
            if (req.method === "PUT") {
              const next = JSON.parse(body) as typeof coredns;
              writes.push(next.data.NodeHosts!);
              Object.assign(coredns, { ...next, metadata: { ...next.metadata, resourceVersion: String(Number(coredns.metadata.resourceVersion) + 1) } });
            }
            return res.end(JSON.stringify(coredns));
          }
          res.statusCode = 404;
          res.end("{}");
        })();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    const b64 = (f: string) => pki(f).toString("base64");
    const kubeconfig = rewriteKubeconfig(k3sKubeconfig({ ca: b64("ca.crt"), cert: b64("client.crt"), key: b64("client.key") }), { cluster: "dev", server: `https://127.0.0.1:${port}` });
    return { kubeconfig, writes, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  it("waits for every node Ready, then writes host.k3ts.internal, the host aliases and the network's containers into NodeHosts", async () => {
    const runtime = createMemoryRuntime();
    const { run, info } = await createPreflight(spec({ hostAliases: [{ ip: "10.0.0.9", hostnames: ["db.test"] }] }), { runtime });
    const prep = await prepareCluster(run, info);
    for (const n of [...prep.plan.servers, ...prep.plan.agents, prep.plan.loadBalancer!]) {
      await runtime.nodes.create({ ...n.spec, entrypoint: ["sleep", "60"], command: [] });
      await runtime.nodes.start(n.spec.name);
    }
    const api = await fakeApi(runtime, prep.networkName, ["k3ts-dev-server-0", "k3ts-dev-agent-0"]);
    try {
      const nodes = await awaitReady(run, prep, api.kubeconfig);
      expect(nodes.map((n) => n.name).sort()).toEqual(["k3ts-dev-agent-0", "k3ts-dev-server-0"]);
      const net = await runtime.networks.inspect(prep.networkName);
      const lb = net.members.find((m) => m.name === "k3ts-dev-serverlb")!.ipv4!;
      expect(api.writes).toHaveLength(1);
      expect(api.writes[0]!.split("\n")).toEqual(expect.arrayContaining(["10.0.0.9 db.test", `${net.gateway} host.k3ts.internal`, `${lb} k3ts-dev-serverlb`]));
      expect(api.writes[0]).not.toContain("k3ts-dev-server-0"); // k3s writes the nodes' lines itself
    } finally {
      await api.close();
      await rollbackCreate(run);
    }
  });

  it("does nothing when the create does not wait", async () => {
    const runtime = createMemoryRuntime();
    const { run, info } = await createPreflight(spec({ wait: false }), { runtime });
    const prep = await prepareCluster(run, info);
    expect(await awaitReady(run, prep, KUBECONFIG)).toEqual([]);
    await rollbackCreate(run);
  });
});

describe("server addresses", () => {
  it("come from the top of the subnet down, skipping the taken ones, and run out loudly", () => {
    expect(hostRange("172.28.0.0/16")).toEqual({ first: "172.28.0.1", last: "172.28.255.254" });
    expect(hostRange("10.89.3.17/24")).toEqual({ first: "10.89.3.1", last: "10.89.3.254" });
    expect(serverAddresses("10.89.3.0/24", 3, ["10.89.3.253", undefined])).toEqual(["10.89.3.254", "10.89.3.252", "10.89.3.251"]);
    expect(() => serverAddresses("10.0.0.0/30", 2, ["10.0.0.1"])).toThrow(/no room for 2 more server address/);
    expect(() => hostRange("10.0.0.0/31")).toThrow(/not an IPv4 CIDR from \/8 to \/30/);
  });
});
