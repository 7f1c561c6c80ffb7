import { describe, expect, it } from "vitest";
import { parseNodeFilter } from "../../src/cluster/filters.js";
import { createHash } from "node:crypto";
import { planCluster, TOKEN_FILE_IN_NODE, type PlanContext } from "../../src/cluster/plan.js";
import type { ClusterSpec, Filtered } from "../../src/cluster/spec.js";

const base: ClusterSpec = {
  name: "dev",
  servers: 1,
  agents: 2,
  image: "rancher/k3s:v1.33.5-k3s1",
  api: { hostIP: "127.0.0.1" },
  ports: [],
  volumes: [],
  env: [],
  k3sArgs: [],
  nodeLabels: [],
  runtimeLabels: [],
  wait: true,
  timeoutMs: 0,
  loadBalancer: { enabled: true, image: "nginx:1.29-alpine" },
  rollback: true,
  memory: {},
  hostAliases: [],
  privileged: true,
  kubeconfig: { update: true, switchContext: true },
};
const ctx: PlanContext = { apiHostPort: 41234, network: "k3ts-dev", networkExternal: false, gateway: "172.20.0.1", token: "s3cret-token", k3tsVersion: "0.1.0" };
const f = <T>(value: T, ...filters: string[]): Filtered<T> => ({ value, filters: filters.map((x) => parseNodeFilter(x, "test", { suffixes: ["proxy", "direct"] })) });

describe("planCluster", () => {
  it("1 server + 2 agents: names, roles, join URL, SANs, k3s's needs, and the API behind the load balancer", () => {
    const plan = planCluster({ ...base, ports: [f({ containerPort: 80, protocol: "tcp", hostPort: 8080 }, "loadbalancer")] }, ctx);
    expect(plan.servers.map((n) => n.spec.name)).toEqual(["k3ts-dev-server-0"]);
    expect(plan.agents.map((n) => n.spec.name)).toEqual(["k3ts-dev-agent-0", "k3ts-dev-agent-1"]);
    const server = plan.servers[0]!.spec;
    expect(server.command).toEqual(["server", "--tls-san", "127.0.0.1", "--tls-san", "k3ts-dev-serverlb"]);
    expect(server.env).toEqual({ K3S_TOKEN_FILE: TOKEN_FILE_IN_NODE, K3S_KUBECONFIG_OUTPUT: "/output/kubeconfig.yaml" });
    expect(server).toMatchObject({ privileged: true, init: true, restart: "unless-stopped", tmpfs: { "/run": "", "/var/run": "" }, ports: [] });
    expect(server.extraHosts).toEqual([{ ip: "172.20.0.1", hostnames: ["host.k3ts.internal"] }]);
    for (const agent of plan.agents) {
      expect(agent.spec.command).toEqual(["agent"]);
      expect(agent.spec.env).toEqual({ K3S_TOKEN_FILE: TOKEN_FILE_IN_NODE, K3S_URL: "https://k3ts-dev-server-0:6443" });
    }
    expect(plan.apiServerUrl).toBe("https://127.0.0.1:41234");
    expect(plan.loadBalancer?.spec.ports).toEqual([
      { containerPort: 6443, protocol: "tcp", hostIP: "127.0.0.1", hostPort: 41234 },
      { containerPort: 80, protocol: "tcp", hostPort: 8080 },
    ]);
    expect(plan.proxiedPorts).toEqual([{ port: 80, protocol: "tcp", hostPort: 8080, targets: ["k3ts-dev-server-0", "k3ts-dev-agent-0", "k3ts-dev-agent-1"], select: [] }]);
    expect(plan.loadBalancerConfig).toContain("server k3ts-dev-server-0:6443");
    expect(plan.loadBalancerConfig).toContain("server k3ts-dev-agent-1:80");
  });

  it("never puts the token, or a digest of it, in a label or in the environment", () => {
    const plan = planCluster(base, ctx);
    const digest = createHash("sha256").update("s3cret-token").digest("hex");
    for (const node of [...plan.servers, ...plan.agents, plan.loadBalancer!]) {
      expect(JSON.stringify(node.spec)).not.toContain("s3cret-token");
      expect(JSON.stringify(node.spec)).not.toContain(digest);
      expect(Object.keys(node.spec.labels ?? {}).filter((k) => /token/.test(k))).toEqual([]);
    }
  });

  it("HA: --cluster-init on server-0 only, the others join it; LB forwards 6443 to every server", () => {
    const plan = planCluster({ ...base, servers: 3, agents: 0 }, ctx);
    expect(plan.servers[0]!.spec.command).toContain("--cluster-init");
    expect(plan.servers[0]!.spec.labels?.["k3ts.io/server-init"]).toBe("true");
    expect(plan.servers[0]!.spec.env?.K3S_URL).toBeUndefined();
    for (const s of plan.servers.slice(1)) {
      expect(s.spec.command).not.toContain("--cluster-init");
      expect(s.spec.env?.K3S_URL).toBe("https://k3ts-dev-server-0:6443");
    }
    expect(plan.loadBalancerConfig).toMatch(/server k3ts-dev-server-0:6443[^\n]*\n\s*server k3ts-dev-server-1:6443[^\n]*\n\s*server k3ts-dev-server-2:6443/);
  });

  it("without a load balancer the API is published on server-0, and proxied ports are refused", () => {
    const plan = planCluster({ ...base, agents: 0, loadBalancer: { enabled: false, image: "x" } }, ctx);
    expect(plan.loadBalancer).toBeUndefined();
    expect(plan.servers[0]!.spec.ports).toEqual([{ containerPort: 6443, protocol: "tcp", hostIP: "127.0.0.1", hostPort: 41234 }]);
    expect(plan.servers[0]!.spec.command).not.toContain("k3ts-dev-serverlb");
    expect(() => planCluster({ ...base, loadBalancer: { enabled: false, image: "x" }, ports: [f({ containerPort: 80, protocol: "tcp" }, "server:0")] }, ctx)).toThrow(
      /ports\[0\]: proxied ports need the load balancer/,
    );
  });

  it("direct ports land on exactly one node; filters pick env, args and labels per node", () => {
    const plan = planCluster(
      {
        ...base,
        ports: [f({ containerPort: 4321, protocol: "tcp", hostPort: 1234 }, "agent:0:direct")],
        env: [f({ key: "MODE", value: "edge" }, "agent:1")],
        k3sArgs: [f("--disable=traefik", "server:*")],
        nodeLabels: [f({ key: "tier", value: "edge" }, "agent:*")],
        runtimeLabels: [f({ key: "team", value: "a" }, "all")],
      },
      ctx,
    );
    const [a0, a1] = plan.agents;
    expect(a0!.spec.ports).toEqual([{ containerPort: 4321, protocol: "tcp", hostPort: 1234 }]);
    expect(a1!.spec.env?.MODE).toBe("edge");
    expect(a0!.spec.env?.MODE).toBeUndefined();
    expect(plan.servers[0]!.spec.command).toContain("--disable=traefik");
    expect(a0!.spec.command).toEqual(["agent", "--node-label", "tier=edge"]);
    expect(plan.loadBalancer!.spec.labels?.team).toBe("a");
    expect(() => planCluster({ ...base, ports: [f({ containerPort: 80, protocol: "tcp" }, "agent:*:direct")] }, ctx)).toThrow(/exactly one node, but the filter selects 2/);
  });

  it("settings that need a node filter on a multi-node cluster say so", () => {
    expect(() => planCluster({ ...base, env: [f({ key: "A", value: "1" })] }, ctx)).toThrow(/env\[0\]: a node filter is needed/);
    expect(() => planCluster({ ...base, servers: 0 }, ctx)).toThrow(/at least one server/);
  });

  it("an API host name goes into the SAN and the kubeconfig URL; 0.0.0.0 never does", () => {
    expect(planCluster({ ...base, api: { host: "k8s.example.test", hostIP: "127.0.0.1" } }, ctx).apiServerUrl).toBe("https://k8s.example.test:41234");
    const open = planCluster({ ...base, api: { hostIP: "0.0.0.0" } }, ctx);
    expect(open.apiServerUrl).toBe("https://127.0.0.1:41234");
    expect(open.servers[0]!.spec.command).toContain("127.0.0.1");
  });
});
