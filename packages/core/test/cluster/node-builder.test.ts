/**
 * One builder for every node a cluster ever gets: create, nodes added later (from the spec the
 * cluster keeps in its nodes) and the load balancer rebuilt by a port edit — table tests, no engine.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NODE_ENTRYPOINT, NODE_ENTRYPOINT_SCRIPT, NODE_MEMINFO, fakeMeminfo } from "../../src/cluster/entrypoint.js";
import { parseNodeFilter } from "../../src/cluster/filters.js";
import { joinsProxiedPort, loadBalancerConfig, type ProxiedPort } from "../../src/cluster/loadbalancer/index.js";
import { parseCapability } from "../../src/cluster/parse.js";
import type { RuntimeCapabilities } from "../../src/runtime.js";
import type { NodeSpec } from "../../src/types.js";
import {
  apiForEngine,
  hostAddressFor,
  remoteEngineHost,
  k3sNodeFiles,
  nodeLabelArg,
  planAddedNodes,
  planCluster,
  planLoadBalancer,
  readClusterSpecRecord,
  recordClusterSpec,
  TOKEN_FILE_IN_NODE,
  type PlanContext,
} from "../../src/cluster/plan.js";
import type { ClusterSpec, Filtered } from "../../src/cluster/spec.js";
import { defaultClusterSpec } from "../../src/config/merge.js";

const f = <T>(value: T, ...filters: string[]): Filtered<T> => ({ value, filters: filters.map((x) => parseNodeFilter(x, "test", { suffixes: ["proxy", "direct"] })) });
const ctx: PlanContext = { apiHostPort: 41234, network: "k3ts-ha", networkExternal: false, gateway: "172.20.0.1", token: "s3cret-token", k3tsVersion: "0.1.0" };

/** An HA cluster made with the flags a k3d user passes: a critical k3s arg on the servers, env everywhere, limits, a volume. */
const ha: ClusterSpec = {
  ...defaultClusterSpec(),
  name: "ha",
  servers: 3,
  agents: 1,
  image: "rancher/k3s:v1.33.5-k3s1",
  k3sArgs: [f("--disable=servicelb", "server:*"), f("--kubelet-arg=max-pods=50", "agent:*")],
  env: [f({ key: "FOO", value: "bar" }, "all")],
  nodeLabels: [f({ key: "tier", value: "" }, "agent:*")],
  volumes: [f({ source: "/srv/data", target: "/data", readOnly: false }, "server:*"), f({ source: "/srv/lb", target: "/lb", readOnly: true }, "loadbalancer")],
  runtimeLabels: [f({ key: "team", value: "a" }, "all")],
  ports: [f({ containerPort: 80, protocol: "tcp", hostPort: 8080 }, "loadbalancer"), f({ containerPort: 9000, protocol: "tcp", hostPort: 9000 }, "agent:0:direct")],
  memory: { servers: 1 << 30, agents: 512 << 20 },
  ulimits: [{ name: "nofile", soft: 1024, hard: 1024 }],
  hostAliases: [{ ip: "10.0.0.9", hostnames: ["db.local"] }],
  token: "s3cret-token",
  registries: { use: ["k3ts-reg:5000"] },
};

describe("node labels", () => {
  it("are always KEY=VALUE: the kubelet refuses a KEY without '=' (k3d writes KEY= too)", () => {
    expect(nodeLabelArg({ key: "tier", value: "" })).toBe("tier=");
    expect(nodeLabelArg({ key: "tier", value: "web" })).toBe("tier=web");
    const plan = planCluster(ha, ctx);
    expect(plan.agents[0]!.spec.command).toEqual(["agent", "--node-label", "tier=", "--kubelet-arg=max-pods=50"]);
  });
});

describe("the spec a cluster keeps in its nodes", () => {
  it("keeps what shapes nodes, never the token, registries or what one create did", () => {
    const text = recordClusterSpec(ha);
    expect(text).not.toContain("s3cret-token");
    expect(text).not.toContain("k3ts-reg");
    const back = readClusterSpecRecord(text);
    expect(back).toMatchObject({ name: "ha", servers: 3, agents: 1, memory: ha.memory, ulimits: ha.ulimits, hostAliases: ha.hostAliases, k3sArgs: ha.k3sArgs });
    expect(back.token).toBeUndefined();
    expect(back.registries).toBeUndefined();
  });

  it("pins unfiltered args of a one-node cluster to the servers, so an added agent does not get server-only flags", () => {
    const single = { ...defaultClusterSpec(), name: "one", k3sArgs: [f("--disable=traefik")], env: [f({ key: "K", value: "V" })] };
    const back = readClusterSpecRecord(recordClusterSpec(single));
    expect(back.k3sArgs[0]!.filters.map((x) => x.source)).toEqual(["server:*"]);
    const ctx1 = { ...ctx, network: "k3ts-one" };
    // (a one-server cluster takes agents; servers only join embedded etcd, see addNodes)
    const [agent] = planAddedNodes(back, ctx1, "agent", [0], { servers: [0], agents: [] });
    expect(agent!.spec.command).toEqual(["agent"]);
    expect(agent!.spec.env?.K).toBeUndefined();
    expect(planCluster(single, ctx1).servers[0]!.spec.command).toContain("--disable=traefik");
  });
});

describe("nodes added to a running cluster", () => {
  const kept = readClusterSpecRecord(recordClusterSpec(ha));
  const running = { ...ctx, joinServer: "k3ts-ha-server-0" };

  it("an added server runs as the first ones do (k3s refuses a joining server whose critical args differ), minus --cluster-init", () => {
    const created = planCluster(ha, ctx).servers[1]!.spec;
    const [added] = planAddedNodes(kept, running, "server", [3], { servers: [0, 1, 2], agents: [0] });
    const s = added!.spec;
    expect(s.name).toBe("k3ts-ha-server-3");
    expect(s.command).toEqual(["server", "--tls-san", "127.0.0.1", "--tls-san", "k3ts-ha-serverlb", "--disable=servicelb"]);
    expect(s.command).toEqual(created.command);
    expect(s.env).toEqual({ K3S_TOKEN_FILE: TOKEN_FILE_IN_NODE, K3S_KUBECONFIG_OUTPUT: "/output/kubeconfig.yaml", K3S_URL: "https://k3ts-ha-server-0:6443", FOO: "bar" });
    for (const key of ["volumes", "memoryBytes", "ulimits", "extraHosts", "privileged", "tmpfs", "init", "restart"] as const) expect(s[key], key).toEqual(created[key]);
    expect(s.extraHosts).toEqual([{ ip: "172.20.0.1", hostnames: ["host.k3ts.internal"] }, { ip: "10.0.0.9", hostnames: ["db.local"] }]);
    expect(s.labels).toMatchObject({ team: "a", "k3ts.io/role": "server", "k3ts.io/node-index": "3", "k3ts.io/api-port": "41234" });
    expect(s.labels?.["k3ts.io/server-init"]).toBeUndefined();
    expect(s.ports).toEqual([]);
  });

  it("an added server gets the fixed address it was given (etcd peers are addressed by IP); an agent never does", () => {
    const [server] = planAddedNodes(kept, { ...running, serverAddresses: new Map([[3, "172.20.255.251"]]) }, "server", [3], { servers: [0, 1, 2], agents: [0] });
    expect(server!.spec.network).toEqual({ name: ctx.network, ipv4: "172.20.255.251" });
    expect(server!.spec.labels?.["k3ts.io/static-ip"]).toBe("172.20.255.251");
    const [agent] = planAddedNodes(kept, { ...running, serverAddresses: new Map([[1, "172.20.255.250"]]) }, "agent", [1], { servers: [0, 1, 2], agents: [0] });
    expect(agent!.spec.network).toEqual({ name: ctx.network });
  });

  it("an added agent gets the agents' args, labels and limits, no direct port, and joins the first server left", () => {
    const [added] = planAddedNodes(kept, { ...ctx, joinServer: "k3ts-ha-server-1" }, "agent", [1], { servers: [1, 2], agents: [0] });
    const a = added!.spec;
    expect(a.command).toEqual(["agent", "--node-label", "tier=", "--kubelet-arg=max-pods=50"]);
    expect(a.env).toEqual({ K3S_TOKEN_FILE: TOKEN_FILE_IN_NODE, K3S_URL: "https://k3ts-ha-server-1:6443", FOO: "bar" });
    expect(a.memoryBytes).toBe(512 << 20);
    expect(a.volumes).toEqual([]);
    expect(a.ports).toEqual([]);
  });

  it("index filters keep naming the nodes they named: agent:0 only, agent:* every agent", () => {
    const spec = readClusterSpecRecord(recordClusterSpec({ ...ha, env: [f({ key: "FIRST", value: "1" }, "agent:0"), f({ key: "ALL", value: "1" }, "agent:*")] }));
    const [a2] = planAddedNodes(spec, running, "agent", [2], { servers: [0, 1, 2], agents: [0] });
    expect(a2!.spec.env?.FIRST).toBeUndefined();
    expect(a2!.spec.env?.ALL).toBe("1");
  });
});

describe("the load balancer rebuilt by a port edit", () => {
  it("keeps its host aliases, volumes and labels, and publishes the API and the edited ports", () => {
    const kept = readClusterSpecRecord(recordClusterSpec(ha));
    const created = planCluster(ha, ctx).loadBalancer!.spec;
    const lb = planLoadBalancer(kept, ctx, [
      { containerPort: 6443, protocol: "tcp", hostIP: "127.0.0.1", hostPort: 41234 },
      { containerPort: 80, protocol: "tcp", hostPort: 8080 },
      { containerPort: 443, protocol: "tcp", hostPort: 8443 },
    ]).spec;
    expect(lb.ports).toEqual([
      { containerPort: 6443, protocol: "tcp", hostIP: "127.0.0.1", hostPort: 41234 },
      { containerPort: 80, protocol: "tcp", hostPort: 8080 },
      { containerPort: 443, protocol: "tcp", hostPort: 8443 },
    ]);
    for (const key of ["name", "image", "command", "labels", "volumes", "extraHosts", "network", "restart", "init"] as const) expect(lb[key], key).toEqual(created[key]);
    expect(lb.extraHosts).toContainEqual({ ip: "10.0.0.9", hostnames: ["db.local"] });
  });
});

describe("the k3s nodes' entrypoint", () => {
  it("every k3s node runs it (then /bin/k3s with the node's command); the load balancer does not", () => {
    const plan = planCluster(ha, ctx);
    for (const n of [...plan.servers, ...plan.agents]) expect(n.spec.entrypoint).toEqual([NODE_ENTRYPOINT]);
    expect(plan.loadBalancer!.spec.entrypoint).toBeUndefined();
    const [added] = planAddedNodes(readClusterSpecRecord(recordClusterSpec(ha)), ctx, "agent", [1], { servers: [0, 1, 2], agents: [0] });
    expect(added!.spec.entrypoint).toEqual([NODE_ENTRYPOINT]);
    expect(k3sNodeFiles(ha).map((f) => [f.path, f.mode.toString(8)])).toEqual([
      [NODE_ENTRYPOINT, "755"],
      ["/etc/rancher/k3ts/cluster.json", "600"],
    ]);
  });

  it("on cgroup v2 moves the root cgroup's processes into init/, enables the controllers, then execs k3s with the args", () => {
    const dir = mkdtempSync(join(tmpdir(), "k3ts-cg-"));
    try {
      const cg = join(dir, "cgroup");
      mkdirSync(cg);
      writeFileSync(join(cg, "cgroup.controllers"), "cpuset cpu io memory pids\n");
      writeFileSync(join(cg, "cgroup.procs"), "1\n7\n");
      // The same script with the paths of this test: no real cgroup, no real mount, echo instead of k3s.
      const script = NODE_ENTRYPOINT_SCRIPT.replaceAll("/sys/fs/cgroup", cg)
        .replace("mount --make-rshared /", "false")
        .replace("exec /bin/k3s", "exec echo k3s");
      const r = spawnSync("sh", ["-c", script, "k3ts-entrypoint", "server", "--cluster-init"], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe("k3s server --cluster-init\n");
      expect(r.stderr).toContain("mount --make-rshared / failed");
      expect(readFileSync(join(cg, "init", "cgroup.procs"), "utf8")).toBe("7\n");
      // (a regular file keeps only the last write; the kernel's takes each controller)
      expect(readFileSync(join(cg, "cgroup.subtree_control"), "utf8")).toBe("+pids\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("on cgroup v1 only execs k3s", () => {
    const script = NODE_ENTRYPOINT_SCRIPT.replaceAll("/sys/fs/cgroup", "/nonexistent-cgroup")
      .replaceAll("/etc/resolv.conf", "/nonexistent-resolv.conf")
      .replace("mount --make-rshared /", "true")
      .replace("exec /bin/k3s", "exec echo k3s");
    const r = spawnSync("sh", ["-c", script, "k3ts-entrypoint", "agent"], { encoding: "utf8" });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, "k3s agent\n", ""]);
  });
});

describe("the node entrypoint's pod DNS on Docker (kind's and k3d's fix)", () => {
  // What Docker puts in a container on a user network: its embedded DNS on 127.0.0.11, DNATed to random ports.
  const DOCKER_NAT = [
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    ":DOCKER_OUTPUT - [0:0]",
    ":DOCKER_POSTROUTING - [0:0]",
    "-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT",
    "-A POSTROUTING -d 127.0.0.11/32 -j DOCKER_POSTROUTING",
    "-A DOCKER_OUTPUT -d 127.0.0.11/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:45875",
    "-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p udp -m udp --sport 45875 -j SNAT --to-source :53",
    "COMMIT",
    "",
  ].join("\n");
  // /proc/net/route with the default route via 172.20.0.1 (little-endian hex).
  const ROUTE = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t010014AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t000014AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";

  function run(resolv: string, iptables: { save: string | undefined; restore: boolean }) {
    const dir = mkdtempSync(join(tmpdir(), "k3ts-dns-"));
    try {
      const bin = join(dir, "bin");
      mkdirSync(bin);
      writeFileSync(join(dir, "resolv.conf"), resolv);
      writeFileSync(join(dir, "route"), ROUTE);
      writeFileSync(join(bin, "iptables-save"), iptables.save === undefined ? "#!/bin/sh\necho 'iptables-save: Permission denied (you must be root)' >&2\nexit 1\n" : `#!/bin/sh\ncat <<'EOF'\n${iptables.save}EOF\n`, { mode: 0o755 });
      writeFileSync(join(bin, "iptables-restore"), iptables.restore ? `#!/bin/sh\ncat > ${dir}/restored\n` : "#!/bin/sh\ncat >/dev/null\necho 'iptables-restore: Permission denied' >&2\nexit 1\n", { mode: 0o755 });
      const script = NODE_ENTRYPOINT_SCRIPT.replaceAll("/sys/fs/cgroup", "/nonexistent-cgroup")
        .replaceAll("/etc/resolv.conf", join(dir, "resolv.conf"))
        .replaceAll("/proc/net/route", join(dir, "route"))
        .replaceAll("/tmp/k3ts-resolv.conf", join(dir, "resolv.tmp"))
        .replace("mount --make-rshared /", "true")
        .replace("exec /bin/k3s", "exec echo k3s");
      const r = spawnSync("sh", ["-c", script, "k3ts-entrypoint", "server"], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8") : undefined);
      return { status: r.status, stdout: r.stdout, stderr: r.stderr, resolv: read("resolv.conf"), restored: read("restored") };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("points Docker's rules at the gateway for the node and for pods, and resolv.conf at the gateway", () => {
    const r = run("nameserver 127.0.0.11\noptions ndots:0\n", { save: DOCKER_NAT, restore: true });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, "k3s server\n", ""]);
    expect(r.resolv).toBe("nameserver 172.20.0.1\noptions ndots:0\n");
    expect(r.restored).toContain("-A OUTPUT -d 172.20.0.1/32 -j DOCKER_OUTPUT\n-A PREROUTING -d 172.20.0.1/32 -j DOCKER_OUTPUT\n");
    expect(r.restored).toContain("-A DOCKER_OUTPUT -d 172.20.0.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:45875");
    expect(r.restored).toContain("--sport 45875 -j SNAT --to-source 172.20.0.1:53");
    expect(r.restored).not.toContain("-d 127.0.0.11");
  });

  it("without the privilege to change iptables, says so and leaves resolv.conf as Docker wrote it", () => {
    for (const iptables of [{ save: undefined, restore: false }, { save: DOCKER_NAT, restore: false }]) {
      const r = run("nameserver 127.0.0.11\n", iptables);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe("k3s server\n");
      expect(r.stderr).toMatch(/k3ts-entrypoint: cannot (read|change) Docker's DNS rules .*8\.8\.8\.8/);
      expect(r.resolv).toBe("nameserver 127.0.0.11\n");
    }
  });

  it("leaves other engines' resolvers alone (Podman's answers on the gateway already)", () => {
    const r = run("search dns.podman\nnameserver 10.89.0.1\n", { save: DOCKER_NAT, restore: true });
    expect([r.status, r.stderr, r.resolv, r.restored]).toEqual([0, "", "search dns.podman\nnameserver 10.89.0.1\n", undefined]);
  });
});

describe("host.k3ts.internal on each kind of engine (hostAddressFor)", () => {
  const caps = (over: Partial<RuntimeCapabilities> = {}): RuntimeCapabilities => ({ privileged: true, rootless: false, cgroupVersion: 2, memoryLimit: true, networkDns: true, hostGateway: true, ...over });
  it.each([
    ["rootful Docker on Linux: the network gateway is the host", { os: "Debian GNU/Linux 12 (bookworm)", capabilities: caps() }, "linux", "172.20.0.1"],
    ["Docker Desktop on macOS: the gateway is inside its VM", { os: "Docker Desktop", capabilities: caps() }, "darwin", "host-gateway"],
    ["Docker Desktop on Linux runs a VM too", { os: "Docker Desktop", capabilities: caps() }, "linux", "host-gateway"],
    ["Colima or Podman machine (k3ts on macOS), host-gateway supported", { os: "fedora", capabilities: caps() }, "darwin", "host-gateway"],
    ["Podman machine 4.3 without host-gateway keeps the gateway", { os: "fedora", capabilities: caps({ hostGateway: false }) }, "darwin", "172.20.0.1"],
    ["rootless Podman on Linux: the gateway is in its network namespace", { os: "debian", capabilities: caps({ rootless: true, privileged: false }) }, "linux", "host-gateway"],
    ["rootful Podman 4.3 on Linux (these machines)", { os: "debian", capabilities: caps({ hostGateway: false, cgroupVersion: 1 }) }, "linux", "172.20.0.1"],
  ] as const)("%s", (_what, info, platform, want) => {
    expect(hostAddressFor(info, "172.20.0.1", platform)).toBe(want);
  });

  it("every node the cluster gets maps it the same way: servers, agents, added nodes, the load balancer after an edit", () => {
    const vm: PlanContext = { ...ctx, hostAddress: "host-gateway" };
    const plan = planCluster(ha, vm);
    const want = { ip: "host-gateway", hostnames: ["host.k3ts.internal"] };
    for (const n of [...plan.servers, ...plan.agents, plan.loadBalancer!]) expect(n.spec.extraHosts?.[0], n.spec.name).toEqual(want);
    expect(plan.servers[0]!.spec.extraHosts).toContainEqual({ ip: "10.0.0.9", hostnames: ["db.local"] });
    // Added nodes and a rebuilt LB are planned with the address the first server got (an IP by then).
    const later: PlanContext = { ...ctx, hostAddress: "192.168.65.254" };
    const added = [...planAddedNodes(ha, later, "server", [3], { servers: [0, 1, 2], agents: [0] }), ...planAddedNodes(ha, later, "agent", [1], { servers: [0, 1, 2], agents: [0] })];
    for (const n of added) expect(n.spec.extraHosts?.[0]).toEqual({ ip: "192.168.65.254", hostnames: ["host.k3ts.internal"] });
    expect(planLoadBalancer(ha, later, []).spec.extraHosts?.[0]).toEqual({ ip: "192.168.65.254", hostnames: ["host.k3ts.internal"] });
  });
});

describe("memory limits the kubelet can see (a fake /proc/meminfo, as k3d does)", () => {
  it("servers and agents with a limit get a meminfo of that size; nodes without a limit get none", () => {
    const plan = planCluster(ha, ctx);
    const meminfo = (n: { spec: NodeSpec }) => k3sNodeFiles(ha, n.spec).find((f) => f.path === NODE_MEMINFO)?.content;
    expect(meminfo(plan.servers[0]!)).toBe("MemTotal:        1048576 kB\nMemFree:         1048576 kB\nMemAvailable:    1048576 kB\n");
    expect(meminfo(plan.agents[0]!)).toMatch(/^MemTotal: +524288 kB$/m);
    const unlimited = planCluster({ ...ha, memory: {} }, ctx);
    expect(meminfo(unlimited.servers[0]!)).toBeUndefined();
    const added = planAddedNodes(ha, ctx, "agent", [1], { servers: [0, 1, 2], agents: [0] })[0]!;
    expect(meminfo(added)).toMatch(/^MemTotal: +524288 kB$/m);
  });

  it("the entrypoint mounts it over /proc/meminfo, and says so when it cannot", () => {
    const dir = mkdtempSync(join(tmpdir(), "k3ts-mem-"));
    try {
      writeFileSync(join(dir, "meminfo"), fakeMeminfo(1 << 30));
      const base = NODE_ENTRYPOINT_SCRIPT.replaceAll("/sys/fs/cgroup", "/nonexistent-cgroup")
        .replaceAll("/etc/resolv.conf", "/nonexistent-resolv.conf")
        .replaceAll(NODE_MEMINFO, join(dir, "meminfo"))
        .replace("mount --make-rshared /", "true")
        .replace("exec /bin/k3s", "exec echo k3s");
      const ok = spawnSync("sh", ["-c", base.replace("mount --bind", "echo mount --bind"), "k3ts-entrypoint", "agent"], { encoding: "utf8" });
      expect([ok.status, ok.stdout, ok.stderr]).toEqual([0, `mount --bind ${join(dir, "meminfo")} /proc/meminfo\nk3s agent\n`, ""]);
      const refused = spawnSync("sh", ["-c", base.replace("mount --bind", "false"), "k3ts-entrypoint", "agent"], { encoding: "utf8" });
      expect(refused.stdout).toBe("k3s agent\n");
      expect(refused.stderr).toContain("the kubelet sees the host's memory, not the limit");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the API of a cluster on a remote engine (apiForEngine)", () => {
  const local = { hostIP: "127.0.0.1" };
  it.each([
    ["unix:///var/run/docker.sock", undefined],
    ["/usr/bin/podman", undefined],
    ["tcp://127.0.0.1:2375", undefined],
    ["tcp://localhost:2375", undefined],
    ["tcp://10.0.0.5:2376", "10.0.0.5"],
    ["ssh://me@build-box.lan", "build-box.lan"],
    ["https://docker.example.com:2376", "docker.example.com"],
  ])("%s → %s", (endpoint, host) => {
    expect(remoteEngineHost(endpoint)).toBe(host);
    expect(apiForEngine(local, endpoint)).toEqual(host ? { host, hostIP: "0.0.0.0" } : local);
  });

  it("keeps what the user chose, and the kubeconfig and TLS SAN name the engine's host", () => {
    expect(apiForEngine({ hostIP: "127.0.0.1", host: "k3s.lan" }, "tcp://10.0.0.5:2376")).toEqual({ hostIP: "127.0.0.1", host: "k3s.lan" });
    expect(apiForEngine({ hostIP: "10.0.0.5", hostPort: 6443 }, "tcp://10.0.0.5:2376")).toEqual({ hostIP: "10.0.0.5", hostPort: 6443 });
    const spec = { ...ha, api: apiForEngine({ hostIP: "127.0.0.1" }, "ssh://me@build-box.lan") };
    const plan = planCluster(spec, ctx);
    expect(plan.apiServerUrl).toBe("https://build-box.lan:41234");
    expect(plan.servers[0]!.spec.command).toEqual(expect.arrayContaining(["--tls-san", "build-box.lan"]));
    expect(plan.loadBalancer!.spec.ports).toContainEqual(expect.objectContaining({ hostIP: "0.0.0.0", hostPort: 41234 }));
  });
});

describe("nodes named as k3d names them (node create NAME)", () => {
  it("take the given container and host names, with the role, index and shape of their slot", () => {
    const [a, b] = planAddedNodes(ha, ctx, "agent", [1, 2], { servers: [0, 1, 2], agents: [0] }, ["k3ts-gpu-0", "k3ts-gpu-1"]);
    expect([a!.spec.name, a!.spec.hostname, b!.spec.name]).toEqual(["k3ts-gpu-0", "k3ts-gpu-0", "k3ts-gpu-1"]);
    expect(a!.spec.labels).toMatchObject({ "k3ts.io/role": "agent", "k3ts.io/node-index": "1" });
    const [plain] = planAddedNodes(ha, ctx, "agent", [1], { servers: [0, 1, 2], agents: [0] });
    expect({ ...a!.spec, name: plain!.spec.name, hostname: plain!.spec.hostname }).toEqual(plain!.spec);
  });
});

describe("nodes added later join the proxied ports their filters select (joinsProxiedPort)", () => {
  const port = (select?: ProxiedPort["select"], targets: string[] = ["a", "b"]): ProxiedPort => ({ port: 80, protocol: "tcp", targets, ...(select ? { select } : {}) });
  const filter = (text: string) => parseNodeFilter(text, "test", { suffixes: ["proxy", "direct"] });
  const current = { k3sNodes: ["a", "b"] };
  it.each([
    ["@loadbalancer (every k3s node)", port([]), { role: "agent", index: 5 }, true],
    ["@agent:* takes new agents", port([filter("agent:*")]), { role: "agent", index: 5 }, true],
    ["@agent:* not servers", port([filter("agent:*")]), { role: "server", index: 3 }, false],
    ["@agent:0 names one node only", port([filter("agent:0")]), { role: "agent", index: 5 }, false],
    ["@agent:1- takes agents from 1", port([filter("agent:1-")]), { role: "agent", index: 5 }, true],
    ["@all", port([filter("all")]), { role: "server", index: 3 }, true],
    ["an older state that forwarded to every node", port(undefined, ["a", "b"]), { role: "agent", index: 2 }, true],
    ["an older state that forwarded to some", port(undefined, ["a"]), { role: "agent", index: 2 }, false],
  ] as const)("%s", (_what, p, node, want) => {
    expect(joinsProxiedPort(p, node, current)).toBe(want);
  });

  it("a port left without targets is left out of nginx.conf (nginx refuses an empty upstream)", () => {
    const conf = loadBalancerConfig({ ports: [{ port: 6443, protocol: "tcp", targets: ["s0"] }, { port: 80, protocol: "tcp", targets: [] }] }, 1);
    expect(conf).toContain("upstream 6443_tcp");
    expect(conf).not.toContain("80_tcp");
  });
});

describe("capAdd: extra capabilities by node filter", () => {
  it("unfiltered: every k3s node, not the load balancer; filtered: the nodes chosen; kept for nodes added later", () => {
    const spec: ClusterSpec = { ...ha, capAdd: [f("SYS_ADMIN"), f("NET_ADMIN", "loadbalancer", "agent:0")] };
    const plan = planCluster(spec, ctx);
    for (const s of plan.servers) expect(s.spec.capAdd).toEqual(["SYS_ADMIN"]);
    expect(plan.agents[0]!.spec.capAdd).toEqual(["SYS_ADMIN", "NET_ADMIN"]);
    expect(plan.loadBalancer!.spec.capAdd).toEqual(["NET_ADMIN"]);
    expect(planCluster(ha, ctx).servers[0]!.spec).not.toHaveProperty("capAdd");
    const kept = readClusterSpecRecord(recordClusterSpec(spec));
    const [added] = planAddedNodes(kept, ctx, "agent", [1], { servers: [0, 1, 2], agents: [0] });
    expect(added!.spec.capAdd).toEqual(["SYS_ADMIN"]);
  });

  it("names are normalised as the engines take them", () => {
    expect(["SYS_ADMIN", "cap_sys_admin", " CAP_NET_ADMIN ", "all"].map((c) => parseCapability(c, "test"))).toEqual(["SYS_ADMIN", "SYS_ADMIN", "NET_ADMIN", "ALL"]);
    expect(() => parseCapability("sys admin", "--runtime-cap-add")).toThrow(/--runtime-cap-add: "sys admin" is not a Linux capability name/);
  });
});
