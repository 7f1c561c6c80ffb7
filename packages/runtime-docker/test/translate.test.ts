import { readFileSync } from "node:fs";
import type Dockerode from "dockerode";
import { describe, expect, it } from "vitest";
import {
  daemonTraits,
  envRecord,
  errorCodeFor,
  fromContainerInspect,
  fromNetworkInspect,
  gatewayFor,
  labelFilters,
  toCreateOptions,
  toNodeState,
  toRuntimeInfo,
  translateError,
  type Subject,
} from "../src/translate.js";

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")) as T;

describe("toCreateOptions", () => {
  it("maps a full node spec onto the create body", () => {
    const body = toCreateOptions({
      name: "k3ts-dev-server-0",
      image: "rancher/k3s:v1.33.5-k3s1",
      hostname: "k3ts-dev-server-0",
      entrypoint: ["/bin/k3s"],
      command: ["server", "--tls-san", "127.0.0.1"],
      env: { K3S_TOKEN: "t=1", EMPTY: "" },
      labels: { "k3ts.io/role": "server" },
      network: { name: "k3ts-dev", aliases: ["server-0"], ipv4: "10.1.0.3" },
      ports: [{ containerPort: 6443 }, { containerPort: 53, protocol: "udp", hostIP: "0.0.0.0", hostPort: 5353 }],
      volumes: [
        { type: "volume", source: "k3ts-dev-images", target: "/k3ts/images" },
        { type: "bind", source: "/home/u/x", target: "/x", readOnly: true },
      ],
      tmpfs: { "/run": "", "/var/run": "" },
      privileged: true,
      init: true,
      restart: "unless-stopped",
      memoryBytes: 1 << 30,
      extraHosts: [{ ip: "10.1.0.1", hostnames: ["host.k3ts.internal", "gw"] }],
      ulimits: [{ name: "nofile", soft: 1024, hard: 2048 }],
      stopTimeoutSeconds: 5,
    });
    expect(body).toMatchObject({
      name: "k3ts-dev-server-0",
      Image: "rancher/k3s:v1.33.5-k3s1",
      Hostname: "k3ts-dev-server-0",
      Entrypoint: ["/bin/k3s"],
      Cmd: ["server", "--tls-san", "127.0.0.1"],
      Env: ["K3S_TOKEN=t=1", "EMPTY="],
      Labels: { "k3ts.io/role": "server" },
      ExposedPorts: { "6443/tcp": {}, "53/udp": {} },
      StopTimeout: 5,
      HostConfig: {
        Privileged: true,
        Init: true,
        RestartPolicy: { Name: "unless-stopped" },
        PortBindings: {
          "6443/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
          "53/udp": [{ HostIp: "0.0.0.0", HostPort: "5353" }],
        },
        Binds: ["k3ts-dev-images:/k3ts/images", "/home/u/x:/x:ro"],
        Tmpfs: { "/run": "", "/var/run": "" },
        ExtraHosts: ["host.k3ts.internal:10.1.0.1", "gw:10.1.0.1"],
        Ulimits: [{ Name: "nofile", Soft: 1024, Hard: 2048 }],
        Memory: 1 << 30,
        NetworkMode: "k3ts-dev",
      },
      NetworkingConfig: { EndpointsConfig: { "k3ts-dev": { Aliases: ["server-0"], IPAMConfig: { IPv4Address: "10.1.0.3" } } } },
    });
  });

  it("keeps defaults minimal and safe: not privileged, no restart, ports on 127.0.0.1", () => {
    const body = toCreateOptions({ name: "n", image: "i", ports: [{ containerPort: 80 }] });
    expect(body.HostConfig?.Privileged).toBe(false);
    expect(body.HostConfig?.RestartPolicy).toEqual({ Name: "no" });
    expect(body.HostConfig?.PortBindings).toEqual({ "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] });
    expect(body).not.toHaveProperty("NetworkingConfig");
    expect(body).not.toHaveProperty("Cmd");
  });
});

describe("fromContainerInspect", () => {
  it("reads a running container: live ports, networks without the id alias, env with '=' in values", () => {
    const node = fromContainerInspect(fixture<Dockerode.ContainerInspectInfo>("running.json"));
    expect(node).toMatchObject({
      name: "sample",
      image: "k3ts-test/busybox:1",
      state: "running",
      labels: { "k3ts.io/role": "server" },
      env: { FOO: "a=b", PATH: "/bin" },
      command: ["sleep", "100"],
      privileged: false,
      memoryBytes: 67108864,
      networks: [{ name: "samplenet", ipv4: "10.99.0.2", aliases: ["alias1"] }],
    });
    expect(node.ports).toEqual([
      { containerPort: 8080, protocol: "tcp", hostIP: "127.0.0.1", hostPort: 18080 },
      { containerPort: 8080, protocol: "tcp", hostIP: "127.0.0.1", hostPort: 32771 },
    ]);
    expect(node.startedAt).toMatch(/^2026-/);
    expect(node).not.toHaveProperty("exitCode");
  });

  it("reads a created container: requested ports with 0 for engine-picked, no startedAt", () => {
    const node = fromContainerInspect(fixture<Dockerode.ContainerInspectInfo>("created.json"));
    expect(node.state).toBe("created");
    expect(node.ports.map((p) => p.hostPort)).toEqual([0, 18080]);
    expect(node).not.toHaveProperty("startedAt");
  });

  it("reports an exited container as stopped with its exit code", () => {
    const raw = fixture<Dockerode.ContainerInspectInfo>("running.json");
    raw.State = { ...raw.State, Status: "exited", Running: false, ExitCode: 3 };
    const node = fromContainerInspect(raw);
    expect(node.state).toBe("stopped");
    expect(node.exitCode).toBe(3);
    expect(node.ports.map((p) => p.hostPort)).toEqual([0, 18080]);
  });
});

describe("small mappings", () => {
  it.each([
    ["created", "created"],
    ["running", "running"],
    ["exited", "stopped"],
    ["removing", "dead"],
    ["paused", "paused"],
    ["weird", "unknown"],
  ] as const)("state %s → %s", (input, expected) => expect(toNodeState(input)).toBe(expected));

  it.each([
    ["10.99.0.0/24", "10.99.0.1"],
    ["172.28.0.0/16", "172.28.0.1"],
    ["10.0.5.128/25", "10.0.5.129"],
    ["192.168.7.77/24", "192.168.7.1"],
  ])("gateway of %s is %s", (subnet, gw) => expect(gatewayFor(subnet)).toBe(gw));

  it("rejects a malformed subnet with INVALID_ARGUMENT", () => {
    expect(() => gatewayFor("10.0.0/24")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("env and label filters", () => {
    expect(envRecord(["A=1", "B=x=y", "C="])).toEqual({ A: "1", B: "x=y", C: "" });
    expect(labelFilters({ "k3ts.io/cluster": "dev", "k3ts.io/role": "" })).toEqual(["k3ts.io/cluster=dev", "k3ts.io/role"]);
  });

  it("network inspect: subnet, gateway and members with bare IPv4", () => {
    const info = fromNetworkInspect(fixture<Dockerode.NetworkInspectInfo>("network.json"));
    expect(info).toMatchObject({ name: "samplenet", subnet: "10.99.0.0/24", gateway: "10.99.0.1", members: [{ name: "sample", ipv4: "10.99.0.2" }] });
  });

  it("runtime info: capabilities from the engine's own report", () => {
    const info = toRuntimeInfo(
      { ServerVersion: "20.10.24", OperatingSystem: "Debian GNU/Linux 12", Architecture: "x86_64", CgroupVersion: "2", SecurityOptions: ["name=seccomp", "name=cgroupns"] },
      { Version: "20.10.24", ApiVersion: "1.41" },
      "unix:///var/run/docker.sock",
    );
    expect(info).toMatchObject({ runtime: "docker", engine: { name: "docker", version: "20.10.24", apiVersion: "1.41" } });
    expect(info.capabilities).toEqual({ privileged: true, rootless: false, cgroupVersion: 2, memoryLimit: true, networkDns: true, hostGateway: true });
    const rootless = toRuntimeInfo({ SecurityOptions: ["name=rootless"], CgroupVersion: "1" }, { Version: "19.03.1" }, "x");
    expect(rootless.capabilities).toMatchObject({ rootless: true, privileged: true, cgroupVersion: 1, hostGateway: false });
    const podman = toRuntimeInfo({}, { Version: "4.3.1", Components: [{ Name: "Podman Engine", Version: "4.3.1" }] }, "x");
    expect(podman.engine.name).toBe("podman (docker api)");
  });
});

describe("errorCodeFor", () => {
  const node: Subject = { kind: "node", name: "n" };
  it.each([
    [{ statusCode: 404, json: { message: "No such container: n" } }, node, "NODE_NOT_FOUND"],
    [{ statusCode: 404, json: { message: "No such image: busybox:nope" } }, node, "IMAGE_NOT_FOUND"],
    [{ statusCode: 404, json: { message: "network k3ts-x not found" } }, node, "NETWORK_NOT_FOUND"],
    [{ statusCode: 404, message: "(HTTP code 404) no such container - Could not find the file /x in container n" }, { kind: "file", name: "/x", node: "n" }, "FILE_NOT_FOUND"],
    [{ statusCode: 404, json: { message: "get v: no such volume" } }, { kind: "volume", name: "v" }, "VOLUME_NOT_FOUND"],
    [{ statusCode: 409, json: { message: 'Conflict. The container name "/n" is already in use' } }, node, "NODE_ALREADY_EXISTS"],
    [{ statusCode: 409, json: { message: "Container abc is not running" } }, node, "NODE_NOT_RUNNING"],
    [{ statusCode: 409, json: { message: "remove v: volume is in use - [abc]" } }, { kind: "volume", name: "v" }, "VOLUME_IN_USE"],
    [{ statusCode: 403, json: { message: "error while removing network: network x id 1 has active endpoints" } }, { kind: "network", name: "x" }, "NETWORK_IN_USE"],
    [{ statusCode: 500, json: { message: "driver failed programming external connectivity: Bind for 127.0.0.1:80 failed: port is already allocated" } }, node, "PORT_IN_USE"],
    [{ statusCode: 500, json: { message: "listen tcp4 127.0.0.1:80: bind: address already in use" } }, node, "PORT_IN_USE"],
    [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED /var/run/docker.sock" }, { kind: "engine" }, "RUNTIME_UNAVAILABLE"],
    [{ statusCode: 500, json: { message: "something else" } }, node, "RUNTIME_ERROR"],
  ] as const)("%j about %j → %s", (err, subject, code) => expect(errorCodeFor(err, subject)).toBe(code));

  it("keeps the engine's words and the cause", () => {
    const cause = { statusCode: 409, json: { message: "Container abc is not running" } };
    const err = translateError(cause, { kind: "node", name: "k3ts-dev-agent-1" }, "exec");
    expect(err.message).toBe("node k3ts-dev-agent-1 is not running: Container abc is not running");
    expect(err.meta).toMatchObject({ runtime: "docker", action: "exec", statusCode: 409 });
    expect(err.cause).toBe(cause);
  });
});

describe("a daemon with userns-remap", () => {
  it("is read from /info's SecurityOptions", () => {
    expect(daemonTraits({ SecurityOptions: ["name=seccomp,profile=default", "name=userns"] })).toEqual({ usernsRemap: true });
    expect(daemonTraits({ SecurityOptions: ["name=seccomp,profile=default", "name=rootless"] })).toEqual({ usernsRemap: false });
    expect(daemonTraits({})).toEqual({ usernsRemap: false });
  });

  it("adds capabilities with Docker's CAP_ names, and reads them back without", () => {
    expect(toCreateOptions({ name: "n", image: "i", capAdd: ["SYS_ADMIN"] }).HostConfig?.CapAdd).toEqual(["CAP_SYS_ADMIN"]);
    expect(toCreateOptions({ name: "n", image: "i" }).HostConfig).not.toHaveProperty("CapAdd");
  });

  it("hostPid is PidMode host, and inspect reports it", () => {
    expect(toCreateOptions({ name: "n", image: "i", hostPid: true }).HostConfig?.PidMode).toBe("host");
    expect(toCreateOptions({ name: "n", image: "i" }).HostConfig).not.toHaveProperty("PidMode");
    const info = { Id: "x", Name: "/n", Config: {}, State: { Status: "running" }, HostConfig: { PidMode: "host" }, NetworkSettings: {} } as unknown as Dockerode.ContainerInspectInfo;
    expect(fromContainerInspect(info).hostPid).toBe(true);
    expect(fromContainerInspect({ ...info, HostConfig: {} } as Dockerode.ContainerInspectInfo).hostPid).toBe(false);
  });

  it("runs privileged nodes in the host's user namespace (Docker refuses privileged in a remapped one); others stay remapped", () => {
    const spec = { name: "n", image: "i", privileged: true };
    expect(toCreateOptions(spec, { usernsRemap: true }).HostConfig).toMatchObject({ Privileged: true, UsernsMode: "host" });
    expect(toCreateOptions(spec, { usernsRemap: false }).HostConfig).not.toHaveProperty("UsernsMode");
    expect(toCreateOptions({ ...spec, privileged: false }, { usernsRemap: true }).HostConfig).not.toHaveProperty("UsernsMode");
  });
});
