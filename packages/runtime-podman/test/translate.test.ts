/**
 * Table tests of translate.ts. The fixtures are podman 4.3.1 output captured on a rootful
 * netavark host and trimmed to the fields k3ts reads (plus a few neighbours for realism).
 */
import { describe, expect, it } from "vitest";
import { isK3tsError, type ErrorCode } from "@k3ts/core";
import created from "./fixtures/container-inspect-created.json" with { type: "json" };
import running from "./fixtures/container-inspect-running.json" with { type: "json" };
import stopped from "./fixtures/container-inspect-stopped.json" with { type: "json" };
import info from "./fixtures/info.json" with { type: "json" };
import networkDefault from "./fixtures/network-inspect-default.json" with { type: "json" };
import network from "./fixtures/network-inspect.json" with { type: "json" };
import ps from "./fixtures/ps.json" with { type: "json" };
import version from "./fixtures/version.json" with { type: "json" };
import volumes from "./fixtures/volume-ls.json" with { type: "json" };
import {
  classifyFailure,
  engineVersion,
  isAlreadyExists,
  notFoundError,
  parseEnv,
  parseJson,
  parseJsonArray,
  parseLoadedImages,
  parsePullLine,
  parseVersion,
  podmanErrorLine,
  subcommand,
  toCommand,
  toNetworkInfo,
  toNode,
  toNodeState,
  toPublishedPorts,
  toRuntimeInfo,
  toVolumeInfo,
  CNI_DNS_HINT,
  translateFailure,
  versionAtLeast,
  type FailureSubject,
  type PodmanContainer,
  type PodmanInfo,
} from "../src/translate.js";

const [createdC, runningC, stoppedC] = [created[0], running[0], stopped[0]] as PodmanContainer[];

describe("toNode", () => {
  it("maps a running container", () => {
    expect(toNode(runningC!)).toEqual({
      id: "01520da5e6b2b9e259fdedbd60510cbb71423925ff46060382af62f0080b0897",
      name: "pmx-c1",
      image: "localhost/k3ts-test/busybox:1",
      labels: { "k3ts.io/empty": "", "k3ts.io/role": "server" },
      env: { FOO: "bar baz", EMPTY: "", PATH: "/bin", TERM: "xterm", container: "podman", HOSTNAME: "h1", HOME: "/root" },
      state: "running",
      startedAt: "2026-11-23T19:33:07.225956983Z",
      createdAt: "2026-11-23T19:33:06.935757975Z",
      ports: [
        { containerPort: 8080, protocol: "tcp", hostIP: "127.0.0.1", hostPort: 18081 },
        { containerPort: 8080, protocol: "tcp", hostIP: "127.0.0.1", hostPort: 34503 },
      ],
      networks: [{ name: "pmx-net", ipv4: "10.77.3.42", aliases: ["al1"] }],
      command: ["sleep", "3600"],
      privileged: false,
      hostPid: false,
      capAdd: [],
      memoryBytes: 67108864,
    });
    // A container in the host's PID namespace (`--pid host`): HostConfig.PidMode "host".
    expect(toNode({ ...runningC!, HostConfig: { ...runningC!.HostConfig, PidMode: "host" } } as PodmanContainer).hostPid).toBe(true);
    // Podman reports added capabilities with their CAP_ prefix (HostConfig.CapAdd); k3ts names them without.
    const withCaps = { ...runningC!, HostConfig: { ...runningC!.HostConfig, CapAdd: ["CAP_NET_ADMIN", "CAP_SYS_TIME"] } } as PodmanContainer;
    expect(toNode(withCaps).capAdd).toEqual(["NET_ADMIN", "SYS_TIME"]);
  });

  it("maps a created container: no start time, no address yet, ports already picked", () => {
    const node = toNode(createdC!);
    expect(node.state).toBe("created");
    expect(node.startedAt).toBeUndefined();
    expect(node.exitCode).toBeUndefined();
    expect(node.networks).toEqual([{ name: "pmx-net", aliases: ["al1"] }]);
    expect(node.ports.map((p) => p.hostPort)).toEqual([18081, 34503]);
  });

  it("maps a stopped container with its exit code", () => {
    const node = toNode(stoppedC!);
    expect(node.state).toBe("stopped");
    expect(node.exitCode).toBe(143);
    expect(node.startedAt).toBe("2026-11-23T19:33:07.225956983Z");
  });

  it("decodes label keys podman could not store as is", () => {
    const c: PodmanContainer = { ...runningC!, Config: { ...runningC!.Config, Labels: { "example.com/with%3Dequals": "a=b,c d" } } };
    expect(toNode(c).labels).toEqual({ "example.com/with=equals": "a=b,c d" });
  });

  it("copes with a sparse document", () => {
    expect(toNode({})).toEqual({
      id: "",
      name: "",
      image: "",
      labels: {},
      env: {},
      state: "unknown",
      ports: [],
      networks: [],
      command: [],
      privileged: false,
      hostPid: false,
      capAdd: [],
    });
  });
});

describe("toNodeState", () => {
  it.each([
    ["configured", "created"],
    ["created", "created"],
    ["initialized", "created"],
    ["running", "running"],
    ["stopping", "running"],
    ["paused", "paused"],
    ["exited", "stopped"],
    ["stopped", "stopped"],
    ["removing", "dead"],
    ["dead", "dead"],
    ["something-new", "unknown"],
  ])("%s -> %s", (status, state) => {
    expect(toNodeState({ Status: status })).toBe(state);
  });

  it("restarting wins over the status", () => {
    expect(toNodeState({ Status: "running", Restarting: true })).toBe("restarting");
  });
});

describe("toCommand", () => {
  it.each<[string, PodmanContainer, string[]]>([
    ["plain", { Path: "sleep", Args: ["3600"] }, ["sleep", "3600"]],
    ["entrypoint + cmd", { Path: "sh", Args: ["-c", "echo a b"] }, ["sh", "-c", "echo a b"]],
    ["podman --init wrapper removed", { Path: "/run/podman-init", Args: ["--", "sleep", "3600"], HostConfig: { Init: true } }, ["sleep", "3600"]],
    ["init path kept without --init", { Path: "/run/podman-init", Args: ["x"] }, ["/run/podman-init", "x"]],
    ["no args", { Path: "/bin/k3s", Args: null }, ["/bin/k3s"]],
    ["nothing", {}, []],
  ])("%s", (_t, c, expected) => {
    expect(toCommand(c)).toEqual(expected);
  });
});

describe("parseEnv", () => {
  it("splits at the first '=' only", () => {
    expect(parseEnv(["A=1", "B=x=y", "C=", "D"])).toEqual({ A: "1", B: "x=y", C: "", D: "" });
    expect(parseEnv(null)).toEqual({});
  });
});

describe("toPublishedPorts", () => {
  it("skips unpublished ports and reads protocols", () => {
    expect(
      toPublishedPorts({
        "53/udp": [{ HostIp: "", HostPort: "5353" }],
        "80/tcp": null,
        "443/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
      }),
    ).toEqual([{ containerPort: 53, protocol: "udp", hostIP: "0.0.0.0", hostPort: 5353 }]);
  });
});

describe("networks and volumes", () => {
  it("maps a network with its running members and their addresses (a created container is not a member)", () => {
    const info = toNetworkInfo(network[0]!, [runningC!, createdC!]);
    expect(info).toEqual({
      id: "4e96b6386087851739e01c95331c79e5412a10fae81525ef81c12151d3378efc",
      name: "pmx-net",
      labels: { a: "b c", "k3ts.io/x": "1" },
      subnet: "10.77.3.0/24",
      gateway: "10.77.3.1",
      members: [{ name: "pmx-c1", ipv4: "10.77.3.42" }],
    });
  });

  it("maps a network without labels (podman omits the key)", () => {
    expect(toNetworkInfo(networkDefault[0]!)).toMatchObject({ name: "podman", labels: {}, subnet: "10.88.0.0/16", gateway: "10.88.0.1", members: [] });
  });

  it("reports the IPv4 subnet of a dual-stack network", () => {
    const dual = { name: "d", id: "x", subnets: [{ subnet: "fd00::/64", gateway: "fd00::1" }, { subnet: "10.1.0.0/24", gateway: "10.1.0.1" }] };
    expect(toNetworkInfo(dual)).toMatchObject({ subnet: "10.1.0.0/24", gateway: "10.1.0.1" });
  });

  it("maps volumes", () => {
    expect(volumes.map(toVolumeInfo)).toEqual([{ name: "pmx-vol", labels: { "k3ts.io/v": "1" }, createdAt: "2026-11-23T19:33:07.357099546Z" }]);
  });
});

describe("info and versions", () => {
  it("maps podman info", () => {
    expect(toRuntimeInfo(info as PodmanInfo, "/usr/bin/podman")).toEqual({
      runtime: "podman",
      engine: { name: "podman", version: "4.3.1", apiVersion: "4.3.1" },
      endpoint: "/usr/bin/podman (rootful)",
      os: "linux",
      arch: "amd64",
      capabilities: { privileged: true, rootless: false, cgroupVersion: 1, memoryLimit: true, networkDns: true, hostGateway: false },
      cgroupControllers: ["cpuset", "cpu", "cpuacct", "blkio", "memory", "devices", "freezer", "pids"],
    });
  });

  it("reads rootless cgroup v2 hosts without the memory controller, and CNI", () => {
    const doc: PodmanInfo = {
      host: { cgroupVersion: "v2", cgroupControllers: ["cpu", "pids"], networkBackend: "cni", security: { rootless: true } },
      version: { Version: "5.2.0" },
    };
    expect(toRuntimeInfo(doc, "/usr/bin/podman")).toMatchObject({
      endpoint: "/usr/bin/podman (rootless)",
      capabilities: { rootless: true, cgroupVersion: 2, memoryLimit: false, networkDns: false, hostGateway: true },
      cgroupControllers: ["cpu", "pids"],
    });
  });

  it("takes container DNS on CNI from what the engine said of a network it made, with the fix when it has none", () => {
    const doc: PodmanInfo = { host: { networkBackend: "cni" }, version: { Version: "4.3.1" } };
    expect(toRuntimeInfo(doc, "/usr/bin/podman", true).capabilities.networkDns).toBe(true);
    expect(toRuntimeInfo(doc, "/usr/bin/podman", true).hints).toBeUndefined();
    const without = toRuntimeInfo(doc, "/usr/bin/podman", false);
    expect(without.capabilities.networkDns).toBe(false);
    expect(without.hints).toEqual({ networkDns: CNI_DNS_HINT });
    expect(CNI_DNS_HINT).toMatch(/apt-get install golang-github-containernetworking-plugin-dnsname/);
  });

  it("takes the server's version when podman is remote", () => {
    expect(engineVersion(version)).toEqual({ version: "4.3.1", apiVersion: "4.3.1" });
    expect(engineVersion({ Client: { Version: "5.0.0" }, Server: { Version: "4.9.3", APIVersion: "4.9.3" } })).toEqual({ version: "4.9.3", apiVersion: "4.9.3" });
    expect(engineVersion({})).toBeUndefined();
  });

  it.each([
    ["4.3.1", [4, 3, 1]],
    ["v5.0.0-rc1", [5, 0, 0]],
    ["4.9", [4, 9, 0]],
    ["garbage", [0, 0, 0]],
  ])("parseVersion(%s)", (v, expected) => {
    expect(parseVersion(v)).toEqual(expected);
  });

  it.each([
    ["4.3.1", "4.0.0", true],
    ["4.0.0", "4.0.0", true],
    ["3.4.4", "4.0.0", false],
    ["4.6.2", "4.7.0", false],
    ["10.0.0", "4.7.0", true],
  ])("versionAtLeast(%s, %s) = %s", (v, min, expected) => {
    expect(versionAtLeast(v, min)).toBe(expected);
  });
});

describe("output parsers", () => {
  it("reads ps rows", () => {
    expect(parseJsonArray<{ Id: string }>(JSON.stringify(ps), ["ps"]).map((r) => r.Id)).toEqual([
      "01520da5e6b2b9e259fdedbd60510cbb71423925ff46060382af62f0080b0897",
    ]);
    expect(parseJsonArray("", ["ps"])).toEqual([]);
    expect(parseJsonArray("null", ["ps"])).toEqual([]);
  });

  it("raises RUNTIME_ERROR on output that is not JSON", () => {
    expect(() => parseJson("Error: oops", ["info"])).toThrowError(expect.objectContaining({ code: "RUNTIME_ERROR" }));
  });

  it.each([
    ["Loaded image: localhost/k3ts-test/busybox:1\n", ["localhost/k3ts-test/busybox:1"]],
    ["Loaded image(s): docker.io/rancher/k3s:v1.31.4-k3s1,localhost/a:1\n", ["docker.io/rancher/k3s:v1.31.4-k3s1", "localhost/a:1"]],
    ["Loaded image: a:1\nLoaded image: b:2\n", ["a:1", "b:2"]],
    ["", []],
  ])("parseLoadedImages(%j)", (stdout, expected) => {
    expect(parseLoadedImages(stdout)).toEqual(expected);
  });

  it.each([
    ["Trying to pull docker.io/library/busybox:latest...", { status: "Trying to pull docker.io/library/busybox:latest..." }],
    ["Copying blob sha256:99865f7427b43a6b2a397b19ebd171e15ca77f4e70d9bbf499a1c96e5cafa512", { id: "99865f7427b4", status: "Copying blob" }],
    ["Copying config c921834e961ce001f4cd4093ebce7d639c9a4d6eff40fd7a33608f108ff9d759 done", { id: "c921834e961c", status: "Copying config" }],
    ["Writing manifest to image destination", { status: "Writing manifest to image destination" }],
    ['time="2026-11-23T19:33:17Z" level=warning msg="Failed, retrying in 1s ... (1/3)."', undefined],
    ["   ", undefined],
  ])("parsePullLine(%j)", (line, expected) => {
    expect(parsePullLine(line)).toEqual(expected);
  });
});

// Real podman 4.3.1 stderr, exit code, and what the call was about.
const failures: Array<[string, string, number, FailureSubject, ErrorCode]> = [
  ["inspect missing container", "Error: inspecting object: no such container nosuch", 125, { node: "nosuch" }, "NODE_NOT_FOUND"],
  ["start missing container", 'Error: no container with name or ID "nosuch" found: no such container', 125, { node: "nosuch" }, "NODE_NOT_FOUND"],
  ["cp from missing container", 'Error: container "nosuch" does not exist', 125, { node: "nosuch", op: "copy-out" }, "NODE_NOT_FOUND"],
  [
    "create with a taken name",
    'Error: creating container storage: the container name "pmx-a" is already in use by 4d9efd28. You have to remove that container to be able to reuse that name: that name is already in use',
    125,
    { node: "pmx-a" },
    "NODE_ALREADY_EXISTS",
  ],
  ["exec in a created container", "Error: can only create exec sessions on running containers: container state improper", 255, { node: "n" }, "NODE_NOT_RUNNING"],
  ["cp of a missing file", 'Error: "/no/such" could not be found on container pmx-a: no such file or directory', 125, { node: "pmx-a", op: "copy-out" }, "FILE_NOT_FOUND"],
  ["create with a missing image (--pull never)", "Error: k3ts.invalid/conformance/missing:never: image not known", 125, { image: "x" }, "IMAGE_NOT_FOUND"],
  ["save of a missing image", "Error: k3ts.invalid/conformance/missing:never: image not known", 125, { image: "x" }, "IMAGE_NOT_FOUND"],
  ["create on a missing network", "Error: unable to find network with name or ID nonet: network not found", 125, { network: "nonet" }, "NETWORK_NOT_FOUND"],
  ["network inspect missing", "Error: inspecting object: network nonet: unable to find network with name or ID nonet: network not found", 125, { network: "nonet" }, "NETWORK_NOT_FOUND"],
  ["network rm missing", "Error: unable to find network with name or ID nonet: network not found", 1, { network: "nonet" }, "NETWORK_NOT_FOUND"],
  [
    "network rm in use",
    'Error: "pmx-n2" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used',
    2,
    { network: "pmx-n2" },
    "NETWORK_IN_USE",
  ],
  ["volume rm missing", 'Error: no volume with name "novol" found: no such volume', 1, { volume: "novol" }, "VOLUME_NOT_FOUND"],
  ["volume inspect missing", "Error: inspecting object: no such volume novol", 125, { volume: "novol" }, "VOLUME_NOT_FOUND"],
  ["volume rm in use", "Error: volume pmx-v2 is being used by the following container(s): 34a05799f014: volume is being used", 2, { volume: "pmx-v2" }, "VOLUME_IN_USE"],
  [
    "start with a taken host port",
    'Error: unable to start container "4b52db1a6887": cannot listen on the TCP port: listen tcp4 127.0.0.1:18999: bind: address already in use',
    125,
    { node: "n" },
    "PORT_IN_USE",
  ],
  [
    "pull from an unreachable registry (after podman's retries)",
    [
      "Trying to pull 127.0.0.1:1/k3ts/conformance:none...",
      'time="2026-11-23T19:33:17Z" level=warning msg="Failed, retrying in 1s ... (1/3). Error: initializing source docker://127.0.0.1:1/k3ts/conformance:none: pinging container registry 127.0.0.1:1: Get \\"https://127.0.0.1:1/v2/\\": dial tcp 127.0.0.1:1: connect: connection refused"',
      'Error: initializing source docker://127.0.0.1:1/k3ts/conformance:none: pinging container registry 127.0.0.1:1: Get "https://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
    ].join("\n"),
    125,
    { image: "127.0.0.1:1/k3ts/conformance:none", op: "pull" },
    "IMAGE_PULL_FAILED",
  ],
  ["pull of an image the registry lacks", "Error: reading manifest none in docker.io/library/nope: manifest unknown", 125, { image: "nope", op: "pull" }, "IMAGE_PULL_FAILED"],
  [
    "remote service down",
    "Error: unable to connect to Podman socket: Get \"http://d/v4.3.1/libpod/_ping\": dial unix /run/user/1000/podman/podman.sock: connect: no such file or directory",
    125,
    {},
    "RUNTIME_UNAVAILABLE",
  ],
  [
    "rm of a running node without force",
    "Error: cannot remove container 4d9efd28 as it is running - running or paused containers cannot be removed without force: container state improper",
    2,
    { node: "n" },
    "COMMAND_FAILED",
  ],
  ["bind mount of a missing host path", "Error: statfs /no/such/dir: no such file or directory", 125, { node: "n" }, "COMMAND_FAILED"],
  ["exec of a missing binary is not a podman failure", 'Error: runc: exec failed: unable to start container process: exec: "x": executable file not found in $PATH', 127, { node: "n" }, "COMMAND_FAILED"],
];

describe("translateFailure", () => {
  it.each(failures)("%s", (_title, stderr, exitCode, subject, code) => {
    const argv = ["container", "inspect", "x"];
    const err = translateFailure({ argv, exitCode, stderr }, subject);
    expect(isK3tsError(err, code)).toBe(true);
    expect(err.meta).toMatchObject({ argv: ["podman", ...argv], exitCode, stderr: stderr.trim() });
    expect(err.meta).not.toHaveProperty("op");
    expect(err.message.length).toBeGreaterThan(0);
  });

  it("classifies nothing when podman's message names no k3ts code", () => {
    expect(classifyFailure({ argv: ["x"], exitCode: 125, stderr: "Error: something new" })).toBeUndefined();
  });

  it("names the subcommand and podman's own message in COMMAND_FAILED", () => {
    const err = translateFailure({ argv: ["network", "create", "--subnet", "bad", "n"], exitCode: 125, stderr: 'Error: invalid CIDR address: bad\n' });
    expect(err.code).toBe("COMMAND_FAILED");
    expect(err.message).toBe("podman network create failed (exit code 125): invalid CIDR address: bad");
  });

  it("names the object in resource errors", () => {
    const err = translateFailure({ argv: ["start", "web"], exitCode: 125, stderr: 'Error: no container with name or ID "web" found: no such container' }, { node: "web" });
    expect(err.message).toBe("node web not found");
    expect(err.meta.node).toBe("web");
  });

  it("keeps only the tail of a long stderr", () => {
    const err = translateFailure({ argv: ["load"], exitCode: 125, stderr: `${"x".repeat(10_000)}\nError: bad archive` });
    expect(String(err.meta.stderr).length).toBeLessThanOrEqual(2001);
    expect(String(err.meta.stderr)).toMatch(/Error: bad archive$/);
  });

  it("builds not-found errors for silent answers", () => {
    const err = notFoundError("NETWORK_NOT_FOUND", { network: "n" }, ["network", "exists", "n"]);
    expect(err.code).toBe("NETWORK_NOT_FOUND");
    expect(err.meta).toEqual({ network: "n", argv: ["podman", "network", "exists", "n"] });
  });
});

describe("message helpers", () => {
  it.each([
    ["Error: a\nError: b\n", "b"],
    ["noise\nlast line\n", "last line"],
    ["", ""],
  ])("podmanErrorLine(%j) = %j", (stderr, expected) => {
    expect(podmanErrorLine(stderr)).toBe(expected);
  });

  it.each([
    [["network", "rm", "x"], "network rm"],
    [["create", "--name", "x"], "create"],
    [["volume"], "volume"],
  ])("subcommand(%j) = %s", (argv, expected) => {
    expect(subcommand(argv)).toBe(expected);
  });

  it.each([
    ["Error: network name net already used: network already exists", true],
    ["Error: volume with name v already exists: volume already exists", true],
    ["Error: invalid CIDR", false],
  ])("isAlreadyExists(%j) = %s", (stderr, expected) => {
    expect(isAlreadyExists({ argv: [], exitCode: 125, stderr })).toBe(expected);
  });
});
