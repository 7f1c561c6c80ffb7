import { describe, expect, it } from "vitest";
import { applyCommand, formatCommand, parseCommand, type ReaperCommand } from "../src/reaper-protocol.ts";
import { reapTarget, reapTargetFor, reaperEnabled } from "../src/reaper-client.ts";

describe("the reaper's line protocol", () => {
  it("registers and unregisters: + RUNTIME CLUSTER [ENV], - CLUSTER", () => {
    expect(formatCommand({ op: "+", runtime: "docker", cluster: "demo" })).toBe("+ docker demo\n");
    expect(formatCommand({ op: "-", cluster: "demo" })).toBe("- demo\n");
    expect(parseCommand("+ docker demo")).toEqual({ op: "+", runtime: "docker", cluster: "demo" });
    expect(parseCommand("- demo")).toEqual({ op: "-", cluster: "demo" });
  });

  it("round-trips runtime paths with spaces and the runtime's environment", () => {
    const commands: ReaperCommand[] = [
      { op: "+", runtime: "/opt/my plugins/rt.mjs", cluster: "a-1" },
      { op: "+", runtime: "podman", cluster: "b", env: { PATH: "/usr/bin:/bin", DOCKER_HOST: "unix:///run/x y.sock" } },
      { op: "+", runtime: "docker", cluster: "c", env: {} },
      { op: "+", runtime: "docker", cluster: "d", createId: "0a1b2c3d4e5f6071" },
      { op: "+", runtime: "podman", cluster: "e", createId: "ff00", env: { HOME: "/root" } },
      { op: "-", cluster: "a-1" },
    ];
    for (const c of commands) {
      const line = formatCommand(c);
      expect(line.endsWith("\n") && !line.slice(0, -1).includes("\n")).toBe(true);
      expect(parseCommand(line.slice(0, -1))).toEqual(c);
    }
    expect(parseCommand("+ docker demo\r")).toEqual({ op: "+", runtime: "docker", cluster: "demo" });
  });

  it("ignores what is not a command", () => {
    for (const line of ["", "+", "+ docker", "- ", "-", "- a b", "* docker demo", "+ docker demo !!!", "+ docker demo W10", "+ %E0%A4%A docker", "+  demo", "+ docker demo@", "+ docker demo@a@b", "+ docker @id"]) {
      expect(parseCommand(line), line).toBeUndefined();
    }
  });

  it("holds the clusters registered last, by name, with the create that made them", () => {
    const state = new Map<string, { runtime: string; createId?: string; env?: Record<string, string> }>();
    for (const line of ["+ docker a", "+ docker b", "+ podman a@77", "- b", "- nosuch"]) applyCommand(state, parseCommand(line)!);
    expect([...state]).toEqual([["a", { runtime: "podman", createId: "77" }]]);
  });
});

describe("when the reaper applies", () => {
  it("is on unless reaper: false or K3TS_REAPER=0", () => {
    expect(reaperEnabled(undefined, {})).toBe(true);
    expect(reaperEnabled(undefined, { K3TS_REAPER: "1" })).toBe(true);
    expect(reaperEnabled(false, {})).toBe(false);
    expect(reaperEnabled(undefined, { K3TS_REAPER: "0" })).toBe(false);
    expect(reaperEnabled(undefined, { K3TS_REAPER: "off" })).toBe(false);
    expect(reaperEnabled(true, { K3TS_REAPER: "0" })).toBe(true);
  });

  it("reaps runtimes given by name (with the environment given), and instances only of a built-in runtime", () => {
    const instance = (name: string) => ({ name }) as never;
    expect(reapTarget("docker", instance("docker"), { K3TS_X: "1", NOPE: undefined })).toEqual({ runtime: "docker", env: { K3TS_X: "1" } });
    expect(reapTarget(undefined, instance("podman"), { K3TS_RUNTIME: "podman" })).toEqual({ runtime: "podman", env: { K3TS_RUNTIME: "podman" } });
    expect(reapTarget("docker", instance("docker"), process.env)).toEqual({ runtime: "docker" });
    expect(reapTarget("./rt.mjs", instance("mine"), process.env)).toEqual({ runtime: `${process.cwd()}/rt.mjs` });
    expect(reapTarget(instance("docker"), instance("docker"), {})).toEqual({ runtime: "docker" });
    expect(reapTarget(instance("memory"), instance("memory"), {})).toBeUndefined();
  });

  it("a Docker runtime instance is reaped on the engine it talks to (its endpoint as DOCKER_HOST), not the default one", async () => {
    const docker = (endpoint: string) => ({ name: "docker", info: async () => ({ endpoint }) }) as never;
    expect(await reapTargetFor(docker("unix:///run/user/1000/docker.sock"), docker("unix:///run/user/1000/docker.sock"), {})).toEqual({ runtime: "docker", env: { DOCKER_HOST: "unix:///run/user/1000/docker.sock" } });
    expect(await reapTargetFor(docker("tcp://10.0.0.5:2376"), docker("tcp://10.0.0.5:2376"), {})).toEqual({ runtime: "docker", env: { DOCKER_HOST: "tcp://10.0.0.5:2376" } });
    // Given by name, the environment it was given says where; a Podman instance is remade as it is.
    expect(await reapTargetFor("docker", docker("unix:///x.sock"), { DOCKER_HOST: "unix:///x.sock" })).toEqual({ runtime: "docker", env: { DOCKER_HOST: "unix:///x.sock" } });
    expect(await reapTargetFor({ name: "podman" } as never, { name: "podman", info: async () => ({ endpoint: "/usr/bin/podman (rootful)" }) } as never, {})).toEqual({ runtime: "podman" });
  });
});
