import { describe, expect, it } from "vitest";
import { parseNodeFilter, selectNodes, splitFilters } from "../../src/cluster/filters.ts";
import type { ParsedNodeFilter } from "../../src/cluster/filters.ts";
import { parseKeyValue, parsePortSpec } from "../../src/cluster/parse.ts";
import { expectInvalid } from "./helpers.ts";

const PORT_SUFFIXES = ["proxy", "direct"] as const;

describe("splitFilters", () => {
  it.each([
    ["KEY=VALUE", "KEY=VALUE", []],
    ["8080:80@server:0", "8080:80", ["server:0"]],
    ["8080:80@server:0;agent:*", "8080:80", ["server:0", "agent:*"]],
    ["8080:80@server:0 ; agent:1", "8080:80", ["server:0", "agent:1"]],
    ["user\\@pass@server:0", "user@pass", ["server:0"]],
    ["user\\@pass\\\\@server:0", "user@pass\\", ["server:0"]], // k3d e2e test_basic.sh
    ["a\\@b\\@c", "a@b@c", []],
    ["back\\slash@all", "back\\slash", ["all"]],
    ["--tls-san=my.host@server:*", "--tls-san=my.host", ["server:*"]],
    ["@server:0", "", ["server:0"]],
    ["", "", []],
  ])("%j → %j %j", (input, value, filters) => {
    expect(splitFilters(input, "--env")).toEqual({ value, filters });
  });

  it.each([
    ["a@b@c", "more than one"],
    ["a@server:0@agent:0", "more than one"],
    ["a@", "names no node filter"],
    ["a@ ", "names no node filter"],
    ["a@server:0;", "empty node filter"],
    ["a@;server:0", "empty node filter"],
    ["a@server:0;;agent:0", "empty node filter"],
  ])("rejects %j", (input, message) => {
    const err = expectInvalid(() => splitFilters(input, "--env"), "--env", JSON.stringify(input));
    expect(err.message).toContain(message);
    expect(err.meta).toEqual({ where: "--env", value: input });
  });
});

describe("parseNodeFilter", () => {
  const ok: Array<[string, Omit<ParsedNodeFilter, "source">, (readonly string[])?]> = [
    ["server:0", { group: "server", subset: [0] }],
    ["servers:0", { group: "server", subset: [0] }],
    ["agent:*", { group: "agent", subset: "*" }],
    ["agents:1,3,5", { group: "agent", subset: [1, 3, 5] }],
    ["agents:5,3,1,3", { group: "agent", subset: [1, 3, 5] }],
    ["agent:1,", { group: "agent", subset: [1] }], // k3d tolerates a trailing comma
    ["agent:2-4", { group: "agent", subset: [2, 3, 4] }],
    ["agent:-2", { group: "agent", subset: [0, 1, 2] }],
    ["agent:1-", { group: "agent", subset: [], from: 1 }],
    ["agent:0-", { group: "agent", subset: "*" }],
    ["agent:-", { group: "agent", subset: "*" }],
    ["agents:0,3-", { group: "agent", subset: [0], from: 3 }],
    ["agents:0,4,3-", { group: "agent", subset: [0], from: 3 }],
    ["agents:1,3-5", { group: "agent", subset: [1, 3, 4, 5] }],
    ["server", { group: "server", subset: "*" }], // unlike k3d (§11.8)
    ["agents", { group: "agent", subset: "*" }],
    ["loadbalancer", { group: "loadbalancer", subset: "*" }],
    ["loadbalancer:0", { group: "loadbalancer", subset: "*" }],
    ["loadbalancer:*", { group: "loadbalancer", subset: "*" }],
    ["all", { group: "all", subset: "*" }],
    ["all:*", { group: "all", subset: "*" }],
    ["server:0:direct", { group: "server", subset: [0], suffix: "direct" }, PORT_SUFFIXES],
    ["server:0:proxy", { group: "server", subset: [0], suffix: "proxy" }, PORT_SUFFIXES],
    ["server:proxy", { group: "server", subset: "*", suffix: "proxy" }, PORT_SUFFIXES],
    ["loadbalancer:0:proxy", { group: "loadbalancer", subset: "*", suffix: "proxy" }, PORT_SUFFIXES],
    ["agent:0:direct", { group: "agent", subset: [0], suffix: "direct" }, PORT_SUFFIXES],
    [" server:0 ", { group: "server", subset: [0] }],
  ];
  it.each(ok)("%j", (text, want, suffixes) => {
    expect(parseNodeFilter(text, "--port", suffixes ? { suffixes } : undefined)).toEqual({ ...want, source: text.trim() });
  });

  const bad: Array<[string, string, (readonly string[])?]> = [
    ["agnet:0", 'unknown node group "agnet" (want server, agent, loadbalancer or all)'],
    ["", "empty node filter"],
    [":0", 'unknown node group ""'],
    ["node:0", 'unknown node group "node"'],
    ["server:0:proxy", 'unknown suffix "proxy" (this setting takes no suffix)'],
    ["server:proxy", '"proxy" is neither a subset nor a known suffix'],
    ["server:direkt", '"direkt" is neither a subset nor a known suffix (want server[:SUBSET]', PORT_SUFFIXES],
    ["server:0:proxi", 'unknown suffix "proxi" (want proxy or direct)', PORT_SUFFIXES],
    ["server:0:1", '"1" is not a suffix', PORT_SUFFIXES],
    ["server:0:proxy:x", 'too many ":" parts'],
    ["server:", '"" is not a subset'],
    ["server::proxy", '"" is not a subset', PORT_SUFFIXES],
    ["server:a1", '"a1" is not a subset'],
    ["server:1.5", '"1.5" is not a subset'],
    ["server:**", '"**" is not a subset'],
    ["server:4-2", "range 4-2 ends before it starts"],
    ["server:1,,2", "empty index"],
    ["server:,", "empty index"],
    ["server:1-2-3", '"2-3" is not a node index'],
    ["server:1234567", '"1234567" is not a node index'],
    ["loadbalancer:1", "the load balancer is a single node"],
    ["loadbalancer:0,1", "the load balancer is a single node"],
    ["all:0", "all selects every node and takes no subset"],
  ];
  it.each(bad)("rejects %j", (text, message, suffixes) => {
    const err = expectInvalid(() => parseNodeFilter(text, "--port 8080:80", suffixes ? { suffixes } : undefined), "--port 8080:80", message);
    expect(err.meta).toEqual({ where: "--port 8080:80", value: text });
  });

  it("names the filter and the valid forms", () => {
    const err = expectInvalid(() => parseNodeFilter("server:x", "ports[2].nodeFilters[0]"), "ports[2].nodeFilters[0]", '"server:x"');
    expect(err.message).toContain("an index (0), a list (1,3,5) or a range (2-4, -2, 1-)");
  });

  it("matches the brief's example message", () => {
    const { filters } = splitFilters("8080:80@agnet:0", "--port");
    expect(() => parseNodeFilter(filters[0]!, "--port 8080:80@agnet:0")).toThrow(
      '--port 8080:80@agnet:0: unknown node group "agnet" (want server, agent, loadbalancer or all)',
    );
  });
});

type TestNode = { name: string; role: "server" | "agent" | "loadbalancer"; index: number };
const cluster: TestNode[] = [
  { name: "s0", role: "server", index: 0 },
  { name: "s1", role: "server", index: 1 },
  { name: "s2", role: "server", index: 2 },
  { name: "a0", role: "agent", index: 0 },
  { name: "a1", role: "agent", index: 1 },
  { name: "lb", role: "loadbalancer", index: 0 },
];
const select = (texts: string[], nodes: readonly TestNode[] = cluster) =>
  selectNodes(
    texts.map((t) => parseNodeFilter(t, "--env", { suffixes: PORT_SUFFIXES })),
    nodes,
    "--env",
  ).map((n) => n.name);

describe("selectNodes", () => {
  it.each([
    [["server:0"], ["s0"]],
    [["servers:*"], ["s0", "s1", "s2"]],
    [["server"], ["s0", "s1", "s2"]],
    [["agent:1", "server:2"], ["s2", "a1"]], // node order, not filter order
    [["server:0", "server:0,1", "servers:-1"], ["s0", "s1"]], // de-duplicated
    [["server:1-"], ["s1", "s2"]],
    [["server:0,2-"], ["s0", "s2"]],
    [["server:-"], ["s0", "s1", "s2"]],
    [["loadbalancer"], ["lb"]],
    [["loadbalancer:0:proxy"], ["lb"]],
    [["all"], ["s0", "s1", "s2", "a0", "a1", "lb"]],
    [["all", "server:0"], ["s0", "s1", "s2", "a0", "a1", "lb"]],
    [[], []],
  ])("%j → %j", (filters, names) => {
    expect(select(filters)).toEqual(names);
  });

  it("selects nothing for agent:* when there are no agents", () => {
    expect(select(["agents:*"], cluster.filter((n) => n.role !== "agent"))).toEqual([]);
  });

  it.each([
    [["server:3"], "there is no server 3; the cluster has 3 servers (indices 0, 1, 2)"],
    [["agent:0,5"], "there is no agent 5; the cluster has 2 agents (indices 0, 1)"],
    [["agent:2-"], "range 2- selects no agent; the cluster has 2 agents"],
    [["server:0-3"], '"server:0-3": there is no server 3'],
  ])("%j → error", (filters, message) => {
    expectInvalid(() => select(filters), "--env", message);
  });

  it("errors on agent:0 when the cluster has no agents", () => {
    expectInvalid(() => select(["agent:0"], cluster.filter((n) => n.role !== "agent")), "--env", "the cluster has no agents");
  });

  it("errors on loadbalancer when there is none", () => {
    const err = expectInvalid(() => select(["loadbalancer"], cluster.filter((n) => n.role !== "loadbalancer")), "--env", "the cluster has no load balancer");
    expect(err.meta).toEqual({ where: "--env", value: "loadbalancer" });
  });

  it("returns the caller's node objects", () => {
    const out = selectNodes([parseNodeFilter("server:1", "x")], cluster, "x");
    expect(out[0]).toBe(cluster[1]);
  });
});

describe("k3d examples end to end (split, parse value, parse filters, select)", () => {
  const onePerRole: TestNode[] = [
    { name: "s0", role: "server", index: 0 },
    { name: "a0", role: "agent", index: 0 },
    { name: "lb", role: "loadbalancer", index: 0 },
  ];
  it.each([
    // tests/test_loadbalancer.sh
    ["2222:3333@server:0", { containerPort: 3333, hostPort: 2222, protocol: "tcp" }, [undefined], ["s0"]],
    ["8080:80@server:0:proxy", { containerPort: 80, hostPort: 8080, protocol: "tcp" }, ["proxy"], ["s0"]],
    ["1234:4321/tcp@agent:0:direct", { containerPort: 4321, hostPort: 1234, protocol: "tcp" }, ["direct"], ["a0"]],
    ["4444:5555@loadbalancer:0:proxy", { containerPort: 5555, hostPort: 4444, protocol: "tcp" }, ["proxy"], ["lb"]],
    ["6666:7777", { containerPort: 7777, hostPort: 6666, protocol: "tcp" }, [], []],
  ])("-p %s", (flag, port, suffixes, nodes) => {
    const split = splitFilters(flag, "--port");
    expect(parsePortSpec(split.value, "--port")).toEqual(port);
    const filters = split.filters.map((f) => parseNodeFilter(f, "--port", { suffixes: PORT_SUFFIXES }));
    expect(filters.map((f) => f.suffix)).toEqual(suffixes);
    expect(selectNodes(filters, onePerRole, "--port").map((n) => n.name)).toEqual(nodes);
  });

  it("env with escaped @ (test_basic.sh)", () => {
    const split = splitFilters("TEST_VAR=user\\@pass\\\\@server:0", "--env");
    expect(parseKeyValue(split.value, "--env")).toEqual({ key: "TEST_VAR", value: "user@pass\\" });
    expect(split.filters.map((f) => parseNodeFilter(f, "--env"))).toEqual([{ group: "server", subset: [0], source: "server:0" }]);
  });

  it("--env x=y@agent:1 (test_config_with_overrides.sh)", () => {
    const split = splitFilters("x=y@agent:1", "--env");
    const nodes: TestNode[] = [...onePerRole, { name: "a1", role: "agent", index: 1 }];
    expect(selectNodes(split.filters.map((f) => parseNodeFilter(f, "--env")), nodes, "--env").map((n) => n.name)).toEqual(["a1"]);
  });
});
