import { describe, expect, it } from "vitest";
import type { NodeSpec } from "@k3ts/core";
import {
  copyInArgs,
  copyOutArgs,
  createArgs,
  decodeLabelKey,
  encodeLabelKey,
  execArgs,
  labelFilterArgs,
  listArgs,
  listOnNetworkArgs,
  logsArgs,
  networkConnectArgs,
  networkCreateArgs,
  portArg,
  removeArgs,
  saveArgs,
  stopArgs,
  volumeArg,
  volumeCreateArgs,
  volumeListArgs,
  networkListArgs,
} from "../src/command.js";

const base: NodeSpec = { name: "k3ts-demo-server-0", image: "rancher/k3s:v1.31.4-k3s1" };

describe("createArgs", () => {
  const cases: Array<[string, Partial<NodeSpec>, string[]]> = [
    ["a bare spec never pulls", {}, []],
    ["hostname", { hostname: "server-0" }, ["--hostname", "server-0"]],
    ["entrypoint as a JSON array", { entrypoint: ["/bin/k3s", "server"] }, ["--entrypoint", '["/bin/k3s","server"]']],
    ["an empty entrypoint clears the image's", { entrypoint: [] }, ["--entrypoint", "[]"]],
    ["env, with empty and '=' values", { env: { A: "1", EMPTY: "", EQ: "x=y" } }, ["--env", "A=1", "--env", "EMPTY=", "--env", "EQ=x=y"]],
    ["labels (values are free text)", { labels: { "k3ts.io/role": "server", note: "a=b,c d" } }, ["--label", "k3ts.io/role=server", "--label", "note=a=b,c d"]],
    ["label keys with '=' are encoded", { labels: { "example.com/with=equals": "v" } }, ["--label", "example.com/with%3Dequals=v"]],
    [
      "network with aliases and a static IP",
      { network: { name: "k3ts-demo", aliases: ["server-0", "api"], ipv4: "10.0.0.5" } },
      ["--network", "k3ts-demo", "--network-alias", "server-0", "--network-alias", "api", "--ip", "10.0.0.5"],
    ],
    [
      "ports: default host IP, engine-picked, fixed, udp, IPv6",
      {
        ports: [
          { containerPort: 6443 },
          { containerPort: 80, hostIP: "0.0.0.0", hostPort: 8080 },
          { containerPort: 53, protocol: "udp", hostPort: 0 },
          { containerPort: 443, hostIP: "::1", hostPort: 8443 },
        ],
      },
      ["--publish", "127.0.0.1::6443/tcp", "--publish", "0.0.0.0:8080:80/tcp", "--publish", "127.0.0.1::53/udp", "--publish", "[::1]:8443:443/tcp"],
    ],
    [
      "volumes: named, bind, read-only",
      {
        volumes: [
          { type: "volume", source: "k3ts-demo-images", target: "/var/lib/rancher/k3s/agent/images" },
          { type: "bind", source: "/etc/ssl/certs", target: "/etc/ssl/certs", readOnly: true },
        ],
      },
      ["--volume", "k3ts-demo-images:/var/lib/rancher/k3s/agent/images", "--volume", "/etc/ssl/certs:/etc/ssl/certs:ro"],
    ],
    ["tmpfs with and without options", { tmpfs: { "/run": "rw,size=64m", "/var/run": "" } }, ["--tmpfs", "/run:rw,size=64m", "--tmpfs", "/var/run"]],
    ["privileged", { privileged: true }, ["--privileged"]],
    ["privileged: false adds nothing", { privileged: false }, []],
    ["capAdd", { capAdd: ["SYS_ADMIN", "NET_ADMIN"] }, ["--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_NET_ADMIN"]],
    ["hostPid", { hostPid: true }, ["--pid", "host"]],
    ["hostPid: false adds nothing", { hostPid: false }, []],
    ["init", { init: true }, ["--init"]],
    ["restart policy", { restart: "unless-stopped" }, ["--restart", "unless-stopped"]],
    ["memory in bytes", { memoryBytes: 536870912 }, ["--memory", "536870912b"]],
    [
      "extra hosts: one --add-host per hostname",
      { extraHosts: [{ ip: "10.0.0.1", hostnames: ["registry.local", "host.k3ts.internal"] }] },
      ["--add-host", "registry.local:10.0.0.1", "--add-host", "host.k3ts.internal:10.0.0.1"],
    ],
    ["ulimits", { ulimits: [{ name: "nofile", soft: 65535, hard: 65535 }] }, ["--ulimit", "nofile=65535:65535"]],
    ["workdir and user", { workdir: "/srv", user: "1000:1000" }, ["--workdir", "/srv", "--user", "1000:1000"]],
    ["stop timeout (0 is kept)", { stopTimeoutSeconds: 0 }, ["--stop-timeout", "0"]],
  ];

  it.each(cases)("%s", (_title, extra, flags) => {
    expect(createArgs({ ...base, ...extra })).toEqual(["create", "--name", base.name, "--pull", "never", ...flags, "--", base.image]);
  });

  it("puts the command after the image, verbatim, both after -- (a value that begins with - is never a flag)", () => {
    const args = createArgs({ ...base, command: ["server", "--tls-san", "a,b", "--flag=--x"] });
    expect(args.slice(-6)).toEqual(["--", base.image, "server", "--tls-san", "a,b", "--flag=--x"]);
  });
});

describe("small argv builders", () => {
  const cases: Array<[string, string[], string[]]> = [
    ["stop with the node's own timeout", stopArgs("n"), ["stop", "--", "n"]],
    ["stop with a timeout", stopArgs("n", 3), ["stop", "--time", "3", "--", "n"]],
    ["forced rm kills at once", removeArgs("n", true), ["rm", "--volumes", "--force", "--time", "0", "--", "n"]],
    ["plain rm", removeArgs("n", false), ["rm", "--volumes", "--", "n"]],
    ["ps of everything", listArgs(), ["ps", "--all", "--format", "json"]],
    ["ps on a network", listOnNetworkArgs("net"), ["ps", "--all", "--format", "json", "--filter", "network=net"]],
    ["exec without stdin", execArgs("n", ["sh", "-c", "echo hi"]), ["exec", "--", "n", "sh", "-c", "echo hi"]],
    [
      "exec with stdin, env, workdir and user",
      execArgs("n", ["cat"], { interactive: true, env: { A: "b c" }, workdir: "/tmp", user: "nobody" }),
      ["exec", "--interactive", "--env", "A=b c", "--workdir", "/tmp", "--user", "nobody", "--", "n", "cat"],
    ],
    ["logs", logsArgs("n"), ["logs", "--", "n"]],
    [
      "logs follow, since a Date, tail",
      logsArgs("n", { follow: true, since: new Date("2024-01-02T03:04:05Z"), tail: 0 }),
      ["logs", "--follow", "--since", "2024-01-02T03:04:05.000Z", "--tail", "0", "--", "n"],
    ],
    ["logs since a string", logsArgs("n", { since: "10m" }), ["logs", "--since", "10m", "--", "n"]],
    ["copy in", copyInArgs("n"), ["cp", "-", "n:/"]],
    ["copy out", copyOutArgs("n", "/etc/rancher/k3s/k3s.yaml"), ["cp", "n:/etc/rancher/k3s/k3s.yaml", "-"]],
    ["network create", networkCreateArgs({ name: "net" }), ["network", "create", "--", "net"]],
    [
      "network create with labels and subnet",
      networkCreateArgs({ name: "net", subnet: "172.28.0.0/16", labels: { "k3ts.io/managed": "true" } }),
      ["network", "create", "--label", "k3ts.io/managed=true", "--subnet", "172.28.0.0/16", "--", "net"],
    ],
    ["network connect", networkConnectArgs("net", "n"), ["network", "connect", "--", "net", "n"]],
    [
      "network connect with aliases and IP",
      networkConnectArgs("net", "n", { aliases: ["a", "b"], ipv4: "10.0.0.9" }),
      ["network", "connect", "--alias", "a", "--alias", "b", "--ip", "10.0.0.9", "--", "net", "n"],
    ],
    ["volume create", volumeCreateArgs({ name: "v", labels: { k: "" } }), ["volume", "create", "--label", "k=", "--", "v"]],
    ["volume ls by label", volumeListArgs({ labels: { "k3ts.io/cluster": "demo" } }), ["volume", "ls", "--format", "json", "--filter", "label=k3ts.io/cluster"]],
    ["network ls by label keys (values matched by the caller)", networkListArgs({ labels: { "k3ts.io/cluster": "demo", "k3ts.io/managed": "" } }), ["network", "ls", "--format", "json", "--filter", "label=k3ts.io/cluster", "--filter", "label=k3ts.io/managed"]],
    ["save", saveArgs(["a:1", "b:2"]), ["save", "--format", "docker-archive", "--multi-image-archive", "--", "a:1", "b:2"]],
  ];

  it.each(cases)("%s", (_title, actual, expected) => {
    expect(actual).toEqual(expected);
  });
});

describe("ports and volumes", () => {
  it.each([
    [{ containerPort: 6443 }, "127.0.0.1::6443/tcp"],
    [{ containerPort: 6443, hostPort: 0 }, "127.0.0.1::6443/tcp"],
    [{ containerPort: 6443, hostPort: 16443, hostIP: "192.168.1.2" }, "192.168.1.2:16443:6443/tcp"],
    [{ containerPort: 53, protocol: "udp" as const }, "127.0.0.1::53/udp"],
    [{ containerPort: 80, hostIP: "::" }, "[::]::80/tcp"],
  ])("portArg(%o) = %s", (port, expected) => {
    expect(portArg(port)).toBe(expected);
  });

  it.each([
    [{ type: "volume" as const, source: "data", target: "/data" }, "data:/data"],
    [{ type: "bind" as const, source: "/host", target: "/mnt", readOnly: true }, "/host:/mnt:ro"],
  ])("volumeArg(%o) = %s", (mount, expected) => {
    expect(volumeArg(mount)).toBe(expected);
  });
});

describe("label keys and filters", () => {
  it.each([
    ["k3ts.io/role", "k3ts.io/role"],
    ["example.com/with=equals", "example.com/with%3Dequals"],
    ["100%", "100%25"],
    ["a%3Db", "a%253Db"],
  ])("encodes %s as %s and back", (key, encoded) => {
    expect(encodeLabelKey(key)).toBe(encoded);
    expect(decodeLabelKey(encoded)).toBe(key);
  });

  it.each([
    [undefined, []],
    [{}, []],
    [{ labels: { "k3ts.io/cluster": "demo", "k3ts.io/role": "" } }, ["--filter", "label=k3ts.io/cluster", "--filter", "label=k3ts.io/role"]],
    [{ labels: { "with=eq": "x" } }, ["--filter", "label=with%3Deq"]],
    [{ labels: { "has,comma": "x", 'has"quote': "y", "has space": "z" } }, []],
  ])("labelFilterArgs(%o) pre-selects by key only", (filter, expected) => {
    expect(labelFilterArgs(filter)).toEqual(expected);
  });
});
