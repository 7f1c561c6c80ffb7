import { describe, expect, it } from "vitest";
import { flagsInput, specFromFlags } from "../src/commands/cluster/spec.js";

describe("cluster create flags → ClusterSpec", () => {
  it("defaults: k3s-default, 1 server, API on 127.0.0.1, privileged, load balancer, rollback, kubeconfig merged and switched", () => {
    const spec = specFromFlags(undefined, {}, {});
    expect(spec).toMatchObject({
      name: "k3s-default",
      servers: 1,
      agents: 0,
      api: { hostIP: "127.0.0.1" },
      privileged: true,
      wait: true,
      rollback: true,
      timeoutMs: 5 * 60_000,
      loadBalancer: { enabled: true },
      kubeconfig: { update: true, switchContext: true },
    });
    expect(spec.api.hostPort).toBeUndefined();
  });

  it("k3d's flags, repeated and filtered", () => {
    const spec = specFromFlags(
      "dev",
      {
        servers: "3",
        agents: "2",
        apiPort: "0.0.0.0:6550",
        port: ["8080:80@loadbalancer", "127.0.0.1:1234:4321/udp@agent:0:direct"],
        env: "MODE=edge@agent:1",
        k3sArg: ["--disable=traefik@server:*"],
        k3sNodeLabel: "tier=edge@agent:*",
        timeout: "2m",
        lb: false,
        rollback: false,
        serversMemory: "1g",
        hostAlias: "10.0.0.9:db.test,cache.test",
        privileged: false,
        kubeconfigSwitchContext: "false",
      },
      { K3TS_IMAGE: "example/k3s:test" },
    );
    expect(spec).toMatchObject({
      name: "dev",
      servers: 3,
      agents: 2,
      image: "example/k3s:test",
      api: { hostIP: "0.0.0.0", hostPort: 6550 },
      timeoutMs: 120_000,
      loadBalancer: { enabled: false },
      rollback: false,
      privileged: false,
      memory: { servers: 1024 ** 3 },
      hostAliases: [{ ip: "10.0.0.9", hostnames: ["db.test", "cache.test"] }],
      kubeconfig: { update: true, switchContext: false },
    });
    expect(spec.ports).toHaveLength(2);
    expect(spec.ports[1]).toMatchObject({ value: { hostIP: "127.0.0.1", hostPort: 1234, containerPort: 4321, protocol: "udp" }, filters: [{ group: "agent", suffix: "direct" }] });
    expect(spec.env[0]).toMatchObject({ value: { key: "MODE", value: "edge" }, filters: [{ group: "agent" }] });
    expect(spec.k3sArgs[0]!.value).toBe("--disable=traefik");
  });

  it.each([
    [{ servers: "zero" }, "--servers zero: expected a whole number ≥ 1"],
    [{ servers: "0" }, "--servers 0: expected a whole number ≥ 1"],
    [{ agents: ["1", "2"] }, "--agents was given 2 times"],
    [{ port: "8080:80@agnet:0" }, "--port 8080:80@agnet:0"],
    [{ port: "99999:80" }, "--port 99999:80"],
    [{ port: "8080:80@server:0:sideways" }, "--port 8080:80@server:0:sideways"],
    [{ timeout: "soon" }, "--timeout"],
    [{ wait: "maybe" }, "--wait=maybe: expected true or false"],
    [{ hostAlias: "nohost" }, "--host-alias nohost"],
  ])("%j is refused, naming the flag", (flags, message) => {
    expect(() => specFromFlags("dev", flags, {})).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringContaining(message) }));
  });

  it("--host-images[=false] and --host-images-mirror: absent unless given (create then decides); false off; mirrors on", () => {
    expect(flagsInput(undefined, {}).hostImages).toBeUndefined();
    expect(flagsInput(undefined, { hostImages: true }).hostImages).toEqual({ mirrors: [] });
    expect(flagsInput(undefined, { hostImages: "false" }).hostImages).toBe(false);
    expect(flagsInput(undefined, { hostImagesMirror: ["ghcr.io", "Registry.Local:5000"] }).hostImages).toEqual({ mirrors: ["ghcr.io", "registry.local:5000"] });
    expect(specFromFlags(undefined, { hostImages: "false" }, {})).not.toHaveProperty("hostImages");
    expect(() => flagsInput(undefined, { hostImagesMirror: "ghcr.io/org" })).toThrow(/--host-images-mirror ghcr\.io\/org: "ghcr\.io\/org" is not a registry host/);
    expect(() => flagsInput(undefined, { hostImages: "false", hostImagesMirror: "ghcr.io" })).toThrow(/--host-images=false and --host-images-mirror/);
    expect(() => flagsInput(undefined, { hostImages: "maybe" })).toThrow(/--host-images=maybe: expected true or false/);
  });

  it("refuses a cluster name that would not make valid hostnames", () => {
    expect(() => specFromFlags("Not_Valid", {}, {})).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => specFromFlags("a".repeat(33), {}, {})).toThrow(/32/);
  });
});

import { specFromConfig } from "../src/commands/cluster/spec.js";

describe("cluster create --config: flags > environment > file > defaults", () => {
  const file = {
    name: "fromfile",
    servers: 3,
    image: "file/k3s:1",
    wait: false,
    loadBalancer: { enabled: false },
    rollback: false,
    ports: [{ value: { containerPort: 80, hostPort: 8080, protocol: "tcp" as const }, filters: [] }],
  };
  it("the file fills what no flag says", () => {
    expect(specFromConfig(undefined, { lb: true, rollback: true, privileged: true }, {}, file)).toMatchObject({
      name: "fromfile",
      servers: 3,
      image: "file/k3s:1",
      wait: false,
      loadBalancer: { enabled: false },
      rollback: false,
    });
  });
  it("environment beats the file, flags beat both; lists add up", () => {
    const spec = specFromConfig("flagname", { servers: "1", image: "flag/k3s:1", port: "9090:90@loadbalancer", rollback: "true" }, { K3TS_IMAGE: "env/k3s:1" }, file);
    expect(spec).toMatchObject({ name: "flagname", servers: 1, image: "flag/k3s:1", rollback: true });
    expect(spec.ports.map((p) => p.value.containerPort)).toEqual([80, 90]);
    expect(specFromConfig(undefined, {}, { K3TS_IMAGE: "env/k3s:1" }, file).image).toBe("env/k3s:1");
  });
});
