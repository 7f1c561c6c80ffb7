/**
 * The lifecycle run whole on the memory runtime, its nodes playing k3s and nginx (the imitations in
 * @k3ts/core/testing): create, node add and delete, port edits, stop and start, registry connect, and a
 * rollback after a failure at every engine call a create makes. No engine; seconds.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createCluster } from "../../src/cluster/create.js";
import { addNodes, deleteNodes } from "../../src/cluster/nodes.js";
import { editClusterPorts } from "../../src/cluster/nodes.js";
import { getCluster, getKubeconfig } from "../../src/cluster/query.js";
import { startCluster, stopCluster } from "../../src/cluster/lifecycle.js";
import { connectRegistry, createRegistry } from "../../src/registry/lifecycle.js";
import { registryContainerName } from "../../src/registry/config.js";
import { createServer as createHttpServer } from "node:http";
import type { Program } from "../../src/testing/index.js";
import { overriding } from "./helpers.js";
import { LB_CONFIG_PATH, LB_STATE_PATH } from "../../src/cluster/loadbalancer/index.js";
import { accessFromKubeconfig, kubeGet, listNodeReadiness } from "../../src/cluster/kubeapi.js";
import { defaultClusterSpec } from "../../src/config/merge.js";
import { K3tsError, isK3tsError } from "../../src/errors.js";
import type { Runtime } from "../../src/runtime.js";
import { createMemoryRuntime, k3sImitation, nginxImitation, type MemoryRuntime } from "../../src/testing/index.js";

const K3S = "k3ts-test/k3s:imitation";
const NGINX = "k3ts-test/nginx:imitation";
const REGISTRY = "k3ts-test/registry:imitation";

/** registry:2 as far as k3ts looks at it: /v2/ answers 200 on REGISTRY_HTTP_ADDR's port (default 5000). */
const registryImitation: Program = async (_args, ctx) => {
  const port = Number((ctx.env.REGISTRY_HTTP_ADDR ?? ":5000").split(":").at(-1));
  const http = createHttpServer((req, res) => {
    res.writeHead(req.url === "/v2/" ? 200 : 404, { "content-type": "application/json", "docker-distribution-api-version": "registry/2.0" });
    res.end("{}");
  });
  const stop = await ctx.machine.listen(port, (socket) => http.emit("connection", socket));
  if (!stop) return 1;
  try {
    return await new Promise<number>((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true }));
  } finally {
    stop();
  }
};
const pki = (f: string) => readFileSync(new URL(`../fixtures/pki/${f}`, import.meta.url), "utf8");
const PKI = { ca: pki("ca.crt"), serverCert: pki("server.crt"), serverKey: pki("server.key"), clientCert: pki("client.crt"), clientKey: pki("client.key") };

const runtimes: MemoryRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
});

function imitationRuntime(): MemoryRuntime {
  const runtime = createMemoryRuntime({
    images: ["k3ts-test/busybox:1", { ref: K3S, ...k3sImitation({ pki: PKI }) }, { ref: NGINX, programs: { nginx: nginxImitation } }, { ref: REGISTRY, main: registryImitation }],
  });
  runtimes.push(runtime);
  return runtime;
}

const spec = (over: Partial<ReturnType<typeof defaultClusterSpec>> = {}) => ({
  ...defaultClusterSpec(),
  name: "dev",
  image: K3S,
  loadBalancer: { enabled: true, image: NGINX },
  kubeconfig: { update: false, switchContext: false },
  timeoutMs: 20_000,
  ...over,
});

/**
 * A running cluster on a fresh imitation runtime. Its API port is one k3ts found free; with several made side by
 * side another may take it first (PORT_IN_USE, as for two creates on one machine): made again then.
 */
async function runningCluster(over: Partial<ReturnType<typeof defaultClusterSpec>> = {}): Promise<MemoryRuntime> {
  for (let attempt = 1; ; attempt++) {
    const runtime = imitationRuntime();
    try {
      await createCluster(spec(over), { runtime });
      return runtime;
    } catch (err) {
      if (!isK3tsError(err, "PORT_IN_USE") || attempt === 3) throw err;
    }
  }
}

describe("a whole cluster on the memory runtime", () => {
  it("creates 1 server, 2 agents and the load balancer; the API answers through the load balancer", async () => {
    const runtime = imitationRuntime();
    const result = await createCluster(spec({ agents: 2 }), { runtime });
    expect(result.nodes.map((n) => n.name).sort()).toEqual(["k3ts-dev-agent-0", "k3ts-dev-agent-1", "k3ts-dev-server-0"]);
    expect(result.nodes.find((n) => n.name === "k3ts-dev-server-0")?.roles).toContain("control-plane");
    const access = accessFromKubeconfig(result.kubeconfig);
    const lbPort = result.cluster.loadBalancer?.ports?.find((p) => p.containerPort === 6443)?.hostPort;
    expect(access.server).toBe(`https://127.0.0.1:${lbPort}`);
    expect((await kubeGet(access, "/readyz")).status).toBe(200);
    expect((await listNodeReadiness(access)).every((n) => n.ready)).toBe(true);
    const coredns = JSON.parse((await kubeGet(access, "/api/v1/namespaces/kube-system/configmaps/coredns")).body) as { data: { NodeHosts: string } };
    expect(coredns.data.NodeHosts).toMatch(/host\.k3ts\.internal/);
    expect(coredns.data.NodeHosts).toMatch(/k3ts-dev-agent-1/);
  });

  it("HA: 3 servers with etcd roles; a server deleted leaves the load balancer, its Node goes, the API still answers", async () => {
    const runtime = imitationRuntime();
    const { kubeconfig } = await createCluster(spec({ servers: 3 }), { runtime });
    const access = accessFromKubeconfig(kubeconfig);
    expect((await listNodeReadiness(access)).filter((n) => n.roles.includes("etcd")).map((n) => n.name).sort()).toEqual(["k3ts-dev-server-0", "k3ts-dev-server-1", "k3ts-dev-server-2"]);
    expect((await runtime.nodes.readFile("k3ts-dev-serverlb", LB_CONFIG_PATH)).toString()).toContain("server k3ts-dev-server-2:6443");
    expect(await deleteNodes(["k3ts-dev-server-2"], { runtime })).toEqual(["k3ts-dev-server-2"]);
    expect((await runtime.nodes.readFile("k3ts-dev-serverlb", LB_CONFIG_PATH)).toString()).not.toContain("k3ts-dev-server-2");
    expect((await listNodeReadiness(access)).map((n) => n.name).sort()).toEqual(["k3ts-dev-server-0", "k3ts-dev-server-1"]);
    // Round robin over what is left: every request answers.
    for (let i = 0; i < 4; i++) expect((await kubeGet(access, "/readyz")).status).toBe(200);
  });

  it("stop and start: the API comes back on the same port, the Nodes Ready, NodeHosts keeps k3ts's names", async () => {
    const runtime = imitationRuntime();
    const { kubeconfig } = await createCluster(spec({ agents: 1 }), { runtime });
    const access = accessFromKubeconfig(kubeconfig);
    await stopCluster("dev", { runtime });
    expect((await runtime.nodes.list()).every((n) => n.state === "stopped")).toBe(true);
    await expect(kubeGet(access, "/readyz", { timeoutMs: 1000 })).rejects.toThrow();
    await startCluster("dev", { runtime, timeoutMs: 20_000 });
    expect((await listNodeReadiness(access)).every((n) => n.ready)).toBe(true);
    const coredns = JSON.parse((await kubeGet(access, "/api/v1/namespaces/kube-system/configmaps/coredns")).body) as { data: { NodeHosts: string } };
    expect(coredns.data.NodeHosts).toMatch(/host\.k3ts\.internal/);
  });

  it("a port added to the load balancer is published; when the new load balancer cannot start, the old one is back", async () => {
    const runtime = imitationRuntime();
    const { kubeconfig } = await createCluster(spec(), { runtime });
    const access = accessFromKubeconfig(kubeconfig);
    const add = [{ value: { hostPort: 0, containerPort: 8080, protocol: "tcp" as const, hostIP: "127.0.0.1" }, filters: [{ group: "loadbalancer" as const }] }];
    const edited = await editClusterPorts("dev", { runtime, add: add as never });
    expect(edited.loadBalancer?.ports?.map((p) => p.containerPort).sort()).toEqual([6443, 8080]);
    expect((await kubeGet(access, "/readyz")).status).toBe(200);

    const before = await snapshot(runtime);
    const { runtime: failing } = faulty(runtime, { call: "nodes.start(k3ts-dev-serverlb)#1" });
    const more = [{ value: { hostPort: 0, containerPort: 9090, protocol: "tcp" as const, hostIP: "127.0.0.1" }, filters: [{ group: "loadbalancer" as const }] }];
    await expect(editClusterPorts("dev", { runtime: failing, add: more as never })).rejects.toThrow(/injected/);
    expect(await snapshot(runtime)).toEqual(before);
    expect((await getCluster("dev", { runtime })).loadBalancer?.ports?.map((p) => p.containerPort).sort()).toEqual([6443, 8080]);
    expect((await kubeGet(access, "/readyz")).status).toBe(200);
  });

  it("a registry connected: registries.yaml in every node, the nodes restarted and Ready, the registry advertised", async () => {
    const runtime = imitationRuntime();
    const { kubeconfig } = await createCluster(spec({ agents: 1 }), { runtime });
    const access = accessFromKubeconfig(kubeconfig);
    await createRegistry({ name: registryContainerName("reg"), image: REGISTRY, hostIP: "127.0.0.1", volumes: [], enforcePortMatch: false, deleteEnabled: false }, { runtime });
    const result = await connectRegistry("reg", "dev", { runtime, timeoutMs: 20_000 });
    expect(result).toMatchObject({ changed: true, restarted: true, advertised: true });
    for (const node of ["k3ts-dev-server-0", "k3ts-dev-agent-0"]) {
      expect((await runtime.nodes.readFile(node, "/etc/rancher/k3s/registries.yaml")).toString()).toMatch(/k3ts-reg:5000/);
    }
    expect((await listNodeReadiness(access)).every((n) => n.ready)).toBe(true);
    const hosting = await kubeGet(access, "/api/v1/namespaces/kube-public/configmaps/local-registry-hosting");
    expect(hosting.status).toBe(200);
    expect(hosting.body).toMatch(/localhost:\d+/);
  });
});

/** `base` with each file k3ts writes into a node passed through `change` (undefined: not written). */
function writing(base: Runtime, change: (node: string, path: string, content: string | Uint8Array) => string | Uint8Array | undefined): Runtime {
  return overriding<Runtime>(base, {
    nodes: overriding(base.nodes, {
      writeFile: (name, path, content, o) => {
        const next = change(name, path, content);
        return next === undefined ? Promise.resolve() : base.nodes.writeFile(name, path, next, o);
      },
    }),
  });
}

describe("the imitations hold k3ts to k3s's and nginx's rules", () => {
  it("an agent whose token the server refuses never joins: the create times out quoting the agent's words", async () => {
    const base = imitationRuntime();
    // The agent's token file is written wrong (as a token that differs between nodes would be).
    const runtime = writing(base, (name, path, content) => (name.includes("agent") && path.endsWith("/token") ? "not-the-token\n" : content));
    const err = await createCluster(spec({ agents: 1, timeoutMs: 6000 }), { runtime }).catch((e: unknown) => e);
    expect(isK3tsError(err, "CLUSTER_NOT_READY"), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/k3ts-dev-agent-0/);
    expect((err as Error).message).toMatch(/token is not valid/);
    expect(await base.nodes.list()).toEqual([]);
  });

  it("a node whose entrypoint k3ts did not write fails at start, and the create says so", async () => {
    const base = imitationRuntime();
    const dropping = writing(base, (_name, path, content) => (path === "/bin/k3ts-entrypoint.sh" ? undefined : content));
    const err = await createCluster(spec({ timeoutMs: 4000 }), { runtime: dropping }).catch((e: unknown) => e);
    expect(isK3tsError(err), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/k3ts-entrypoint\.sh: no such file or directory/);
  });

  it("nginx refuses a reload naming a node that does not resolve, and keeps proxying by the old configuration", async () => {
    const runtime = imitationRuntime();
    const { kubeconfig } = await createCluster(spec(), { runtime });
    const conf = (await runtime.nodes.readFile("k3ts-dev-serverlb", LB_CONFIG_PATH)).toString();
    await runtime.nodes.writeFile("k3ts-dev-serverlb", LB_CONFIG_PATH, conf.replace("server k3ts-dev-server-0:6443", "server k3ts-dev-server-9:6443"));
    const reload = await runtime.nodes.exec("k3ts-dev-serverlb", ["nginx", "-s", "reload"]);
    expect(reload.exitCode).toBe(1);
    expect(reload.stderr.toString()).toMatch(/\[emerg\] host not found in upstream "k3ts-dev-server-9:6443" in \/etc\/nginx\/nginx\.conf:\d+/);
    expect((await kubeGet(accessFromKubeconfig(kubeconfig), "/readyz")).status).toBe(200);
  });
});

const CLIENTS = ["nodes", "networks", "volumes", "images"] as const;
const READS = new Set(["inspect", "list", "readFile", "exists", "logs"]);

/**
 * `runtime` with every call of its clients counted as `client.method(string args)#n` (the n-th such call); `at` names the
 * call that fails (with RUNTIME_ERROR "injected"), or that fires `abort` just before it goes through.
 */
function faulty(runtime: Runtime, at?: { call: string; abort?: AbortController }): { runtime: Runtime; calls: string[] } {
  const calls: string[] = [];
  const seen = new Map<string, number>();
  const wrap = (client: string, target: object) =>
    new Proxy(target, {
      get(t, key) {
        const value = Reflect.get(t, key) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const method = `${client}.${String(key)}(${args.map((a) => (typeof a === "object" && a && "name" in a ? a.name : a)).filter((a) => typeof a === "string").slice(0, 2).join(",")})`;
          const n = (seen.get(method) ?? 0) + 1;
          seen.set(method, n);
          const call = `${method}#${n}`;
          calls.push(call);
          if (call === at?.call) {
            if (!at.abort) return Promise.reject(new K3tsError("RUNTIME_ERROR", `injected failure at ${call}`));
            at.abort.abort();
          }
          return (value as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
  const wrapped = new Proxy(runtime, {
    get(t, key) {
      const value = Reflect.get(t, key) as unknown;
      if ((CLIENTS as readonly unknown[]).includes(key)) return wrap(String(key), value as object);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
  return { runtime: wrapped, calls };
}

/** Runs `fn` over `items`, `width` at a time (each on its own runtime: they share nothing but the host's ports, picked free). */
async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: width }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  }));
}

/** Whether a call only reads (an abort just before it is no different from one before the next call that changes something). */
const reads = (call: string) => READS.has(/\.(\w+)\(/.exec(call)?.[1] ?? "");

/** Each call failed, and each call that changes something aborted just before it. */
const variants = (calls: string[]) => calls.flatMap((call) => [{ call }, ...(reads(call) ? [] : [{ call, abort: new AbortController() }])]);

/** The calls to fail at: every mutating call of a create that went through, and the first of each read (a poll's first round). */
function targets(calls: string[]): string[] {
  return calls.filter((c) => {
    const [method = "", n] = c.split("#");
    return !reads(method) || n === "1";
  });
}

describe("a create that fails or is aborted at any engine call leaves nothing behind", () => {
  const USERS_FILE = "# mine\napiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: \"\"\n";
  const shape = { servers: 1, agents: 1, kubeconfig: { update: true, switchContext: true } };

  async function attempt(at: { call: string; abort?: AbortController } | undefined, dir: string) {
    const base = imitationRuntime();
    const { runtime, calls } = faulty(base, at);
    const kubeconfigPath = join(dir, `config-${Math.random().toString(36).slice(2)}`);
    writeFileSync(kubeconfigPath, USERS_FILE);
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    const outcome = await Promise.race([
      createCluster(spec(shape), { runtime, kubeconfigPath, logger, ...(at?.abort ? { signal: at.abort.signal } : {}) }).then(
        () => undefined,
        (err: unknown) => err,
      ),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`create with ${at?.abort ? "abort" : "failure"} at ${at?.call} did not end in 20 s`)), 20_000).unref()),
    ]);
    const left = { nodes: (await base.nodes.list()).map((n) => n.name), networks: (await base.networks.list()).map((n) => n.name), volumes: (await base.volumes.list()).map((v) => v.name) };
    return { outcome, calls, left, warnings, kubeconfig: readFileSync(kubeconfigPath, "utf8") };
  }

  it("at every call", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k3ts-whole-"));
    try {
      const clean = await attempt(undefined, dir);
      expect(clean.outcome).toBeUndefined();
      expect(clean.kubeconfig).toContain("current-context: k3ts-dev");
      const all = targets(clean.calls);
      expect(all.length).toBeGreaterThan(20);
      const swallowed: string[] = [];
      // One after the other: side by side, two creates could be handed the same free API port.
      for (const { call, abort } of variants(all)) {
        {
          const r = await attempt({ call, ...(abort ? { abort } : {}) }, dir);
          const what = `${abort ? "abort" : "failure"} at ${call}`;
          if (r.outcome === undefined) {
            // A call whose failure has a fallback: the cluster is whole, and what could not be undone is said.
            swallowed.push(what);
            const claimLeft = r.left.nodes.includes("k3ts-dev_claim");
            expect(r.left.nodes.filter((n) => n !== "k3ts-dev_claim").sort(), what).toEqual(["k3ts-dev-agent-0", "k3ts-dev-server-0", "k3ts-dev-serverlb"]);
            if (claimLeft) expect(r.warnings.join("\n"), what).toMatch(/could not remove k3ts-dev_claim.*k3ts cluster delete dev/);
            continue;
          }
          expect(isK3tsError(r.outcome, abort ? "ABORTED" : "RUNTIME_ERROR") || (r.outcome as Error).message.includes("injected"), `${what}: ${String(r.outcome)}`).toBe(true);
          expect(r.left, what).toEqual({ nodes: [], networks: [], volumes: [] });
          expect(r.kubeconfig, what).toBe(USERS_FILE);
        }
      }
      // The calls whose failure a create survives: the claim's removal (said in a warning; `cluster delete` removes
      // it) and the read of host.k3ts.internal's address in a node (the network's gateway stands in).
      expect(swallowed).toEqual(["failure at nodes.delete(k3ts-dev_claim)#1", "failure at nodes.readFile(k3ts-dev-server-0,/etc/hosts)#1"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

/** What a failed change must leave as it found it: the nodes, the Node objects, the load balancer's files. */
async function snapshot(runtime: Runtime, cluster = "dev") {
  const access = accessFromKubeconfig(await getKubeconfig(cluster, { runtime }));
  const lb = `k3ts-${cluster}-serverlb`;
  return {
    nodes: (await runtime.nodes.list()).map((n) => `${n.name}:${n.state}`).sort(),
    kubeNodes: (await listNodeReadiness(access)).map((n) => n.name).sort(),
    lbState: (await runtime.nodes.readFile(lb, LB_STATE_PATH)).toString("utf8"),
    lbConfig: (await runtime.nodes.readFile(lb, LB_CONFIG_PATH)).toString("utf8"),
  };
}

describe("a node add that fails or is aborted at any engine call leaves the cluster as it was", () => {
  for (const role of ["server", "agent"] as const) {
    it(`adding a ${role}`, async () => {
      const setup = () => runningCluster({ servers: role === "server" ? 2 : 1 });
      const clean = await setup();
      const recorded = faulty(clean);
      expect(await addNodes("dev", { runtime: recorded.runtime, role, timeoutMs: 10_000 })).toEqual([`k3ts-dev-${role}-${role === "server" ? 2 : 0}`]);
      const all = targets(recorded.calls);
      expect(all.length).toBeGreaterThan(8);
      const swallowed: string[] = [];
      await pool(variants(all), 8, async ({ call, abort }) => {
        {
          const what = `${abort ? "abort" : "failure"} at ${call}`;
          const base = await setup();
          const before = await snapshot(base);
          const { runtime } = faulty(base, { call, ...(abort ? { abort } : {}) });
          const outcome = await addNodes("dev", { runtime, role, timeoutMs: 10_000, ...(abort ? { signal: abort.signal } : {}) }).then(
            () => undefined,
            (err: unknown) => err,
          );
          if (outcome === undefined) {
            swallowed.push(what);
            return;
          }
          expect(isK3tsError(outcome) && (outcome.code === "ABORTED" || outcome.message.includes("injected")), `${what}: ${String(outcome)}`).toBe(true);
          expect(await snapshot(base), what).toEqual(before);
          // And the cluster takes the same change afterwards (nginx reloads: its upstreams all resolve).
          if (!abort) expect(await addNodes("dev", { runtime: base, role, timeoutMs: 10_000 }), what).toHaveLength(1);
        }
      });
      // The read of host.k3ts.internal's address in a node has a fallback (the network's gateway).
      expect(swallowed.sort()).toEqual(["failure at nodes.readFile(k3ts-dev-server-0,/etc/hosts)#1"]);
    }, 300_000);
  }
});

/**
 * `act` on a fresh cluster from `setup`, failed (RUNTIME_ERROR) or aborted at each engine call it makes in turn. A
 * failure must reject with it; an abort must reject ABORTED or go through whole (`done`). After a rejection, `check`
 * looks at what is left and may do what the error told the user to do; then `act` again must go through, and
 * `done` holds. Returns the injected failures `act` went through.
 */
async function everyCall(opts: {
  setup: () => Promise<MemoryRuntime>;
  act: (runtime: Runtime, signal?: AbortSignal) => Promise<unknown>;
  done: (runtime: Runtime) => Promise<void>;
  check?: (runtime: MemoryRuntime, what: string, err: K3tsError) => Promise<void>;
}): Promise<string[]> {
  const clean = await opts.setup();
  const recorded = faulty(clean);
  await opts.act(recorded.runtime);
  await opts.done(clean);
  const all = targets(recorded.calls);
  expect(all.length).toBeGreaterThan(3);
  const swallowed: string[] = [];
  await pool(variants(all), 8, async ({ call, abort }) => {
    const what = `${abort ? "abort" : "failure"} at ${call}`;
    const base = await opts.setup();
    const { runtime } = faulty(base, { call, ...(abort ? { abort } : {}) });
    const outcome = await opts.act(runtime, abort?.signal).then(
      () => undefined,
      (err: unknown) => err,
    );
    if (outcome === undefined) {
      if (!abort) swallowed.push(what);
      await opts.done(base).catch((err: unknown) => {
        throw new Error(`${what}: went through, but not whole: ${String(err)}`);
      });
      return;
    }
    expect(isK3tsError(outcome) && (outcome.code === "ABORTED" || outcome.message.includes("injected")), `${what}: ${String(outcome)}`).toBe(true);
    await opts.check?.(base, what, outcome as K3tsError);
    await opts.act(base).catch((err: unknown) => {
      throw new Error(`${what}: the same change afterwards failed: ${String(err)}`);
    });
    await opts.done(base).catch((err: unknown) => {
      throw new Error(`${what}: the same change afterwards is not whole: ${String(err)}`);
    });
  });
  return swallowed.sort();
}

describe("node delete, port edits and registry connect, failed or aborted at any engine call, can be run again", () => {
  it("deleting an agent and a server", async () => {
    for (const node of ["k3ts-dev-agent-0", "k3ts-dev-server-1"]) {
      const swallowed = await everyCall({
        setup: () => runningCluster({ servers: 2, agents: 1 }),
        act: (runtime, signal) => deleteNodes([node], { runtime, ...(signal ? { signal } : {}) }),
        // Done means done: the container, its Node and its upstreams gone, the API answering through the rest.
        done: async (runtime) => {
          const access = accessFromKubeconfig(await getKubeconfig("dev", { runtime }));
          expect((await runtime.nodes.list()).map((n) => n.name)).not.toContain(node);
          expect((await runtime.nodes.readFile("k3ts-dev-serverlb", LB_CONFIG_PATH)).toString()).not.toContain(node);
          expect((await kubeGet(access, "/readyz")).status).toBe(200);
        },
      });
      // The one failure a delete goes through: the kubeconfig could not be read, so the Node object stays (said in a warning).
      expect(swallowed, node).toEqual(["failure at nodes.readFile(k3ts-dev-server-0,/output/kubeconfig.yaml)#1"]);
    }
  }, 300_000);

  it("adding a port to the load balancer", async () => {
    const add = [{ value: { hostPort: 0, containerPort: 8080, protocol: "tcp" as const, hostIP: "127.0.0.1" }, filters: [{ group: "loadbalancer" as const }] }];
    const before = new WeakMap<Runtime, Awaited<ReturnType<typeof snapshot>>>();
    const swallowed = await everyCall({
      setup: async () => {
        const runtime = await runningCluster();
        before.set(runtime, await snapshot(runtime));
        return runtime;
      },
      act: (runtime, signal) => editClusterPorts("dev", { runtime, add: add as never, ...(signal ? { signal } : {}) }),
      done: async (runtime) => {
        expect((await getCluster("dev", { runtime })).loadBalancer?.ports?.map((p) => p.containerPort).sort()).toEqual([6443, 8080]);
        expect((await kubeGet(accessFromKubeconfig(await getKubeconfig("dev", { runtime })), "/readyz")).status).toBe(200);
      },
      // The old load balancer is back, with its ports and files, and the API answers through it.
      check: async (runtime, what) => {
        expect(await snapshot(runtime), what).toEqual(before.get(runtime));
        expect((await getCluster("dev", { runtime })).loadBalancer?.ports?.map((p) => p.containerPort), what).toEqual([6443]);
        expect((await kubeGet(accessFromKubeconfig(await getKubeconfig("dev", { runtime })), "/readyz")).status, what).toBe(200);
      },
    });
    expect(swallowed).toEqual(["failure at nodes.readFile(k3ts-dev-server-0,/etc/hosts)#1"]);
  }, 300_000);

  it("connecting a registry", async () => {
    const swallowed = await everyCall({
      setup: async () => {
        const runtime = await runningCluster({ agents: 1 });
        await createRegistry({ name: registryContainerName("reg"), image: REGISTRY, hostIP: "127.0.0.1", volumes: [], enforcePortMatch: false, deleteEnabled: false }, { runtime });
        return runtime;
      },
      act: (runtime, signal) => connectRegistry("reg", "dev", { runtime, timeoutMs: 20_000, ...(signal ? { signal } : {}) }),
      done: async (runtime) => {
        const access = accessFromKubeconfig(await getKubeconfig("dev", { runtime }));
        expect((await runtime.nodes.list()).filter((n) => n.state !== "running").map((n) => n.name)).toEqual([]);
        expect((await listNodeReadiness(access)).every((n) => n.ready)).toBe(true);
        for (const node of ["k3ts-dev-server-0", "k3ts-dev-agent-0"]) expect((await runtime.nodes.readFile(node, "/etc/rancher/k3s/registries.yaml")).toString()).toMatch(/k3ts-reg:5000/);
        expect((await kubeGet(access, "/api/v1/namespaces/kube-public/configmaps/local-registry-hosting")).status).toBe(200);
      },
      // No node is left stopped unless the error names it and says how to start it (which the user then does).
      check: async (runtime, what, err) => {
        const stopped = (await runtime.nodes.list()).filter((n) => n.state !== "running").map((n) => n.name);
        for (const name of stopped) {
          expect(err.hint, what).toBe(`start it with k3ts node start ${name}`);
          await runtime.nodes.start(name);
        }
      },
    });
    expect(swallowed).toEqual(["failure at nodes.readFile(k3ts-dev-server-0,/etc/hosts)#1"]);
  }, 300_000);
});
