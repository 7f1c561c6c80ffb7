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
import { accessFromKubeconfig, kubeGet, listNodeReadiness } from "../../src/cluster/kubeapi.js";
import { defaultClusterSpec } from "../../src/config/merge.js";
import { K3tsError, isK3tsError } from "../../src/errors.js";
import type { Runtime } from "../../src/runtime.js";
import { createMemoryRuntime, k3sImitation, nginxImitation, type MemoryRuntime } from "../../src/testing/index.js";

const K3S = "k3ts-test/k3s:imitation";
const NGINX = "k3ts-test/nginx:imitation";
const pki = (f: string) => readFileSync(new URL(`../fixtures/pki/${f}`, import.meta.url), "utf8");
const PKI = { ca: pki("ca.crt"), serverCert: pki("server.crt"), serverKey: pki("server.key"), clientCert: pki("client.crt"), clientKey: pki("client.key") };

const runtimes: MemoryRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
});

export function imitationRuntime(): MemoryRuntime {
  const runtime = createMemoryRuntime({
    images: ["k3ts-test/busybox:1", { ref: K3S, ...k3sImitation({ pki: PKI }) }, { ref: NGINX, programs: { nginx: nginxImitation } }],
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

/** The calls to fail at: every mutating call of a create that went through, and the first of each read (a poll's first round). */
function targets(calls: string[]): string[] {
  return calls.filter((c) => {
    const [method = "", n] = c.split("#");
    return !READS.has(/\.(\w+)\(/.exec(method)?.[1] ?? "") || n === "1";
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
      for (const call of all) {
        for (const abort of [undefined, new AbortController()]) {
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
