/** createRegistry's undo on the memory runtime: what it cannot remove is logged with how to remove it, and the create's error is thrown. */
import { describe, expect, it } from "vitest";
import { K3tsError } from "../../src/errors.js";
import { createRegistry } from "../../src/registry/lifecycle.js";
import type { Runtime } from "../../src/runtime.js";
import { createMemoryRuntime } from "../../src/testing/memory/index.js";
import { overriding } from "../cluster/helpers.js";

const spec = { name: "k3ts-reg", image: "k3ts-test/busybox:1", hostIP: "127.0.0.1", volumes: [], enforcePortMatch: false, deleteEnabled: false };

describe("createRegistry's undo", () => {
  it("logs what it could not remove and how, and throws the create's own error", async () => {
    const base = createMemoryRuntime();
    const failure = new K3tsError("COMMAND_FAILED", "the registry would not start");
    const runtime = overriding<Runtime>(base, {
      nodes: overriding(base.nodes, { start: () => Promise.reject(failure), delete: () => Promise.reject(new K3tsError("RUNTIME_ERROR", "device or resource busy")) }),
    });
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    const err = await createRegistry(spec, { runtime, logger }).catch((e: unknown) => e);
    expect(err).toBe(failure);
    expect(warnings).toEqual([
      "registry k3ts-reg could not be removed after the failed registry create (device or resource busy); remove it with k3ts registry delete k3ts-reg",
      `network k3ts-reg could not be removed after the failed registry create (network k3ts-reg has nodes attached: k3ts-reg); remove it with ${base.name} network rm k3ts-reg`,
    ]);
  });

  it("removes what it made and logs nothing when the undo works", async () => {
    const base = createMemoryRuntime();
    const runtime = overriding<Runtime>(base, { nodes: overriding(base.nodes, { start: () => Promise.reject(new K3tsError("COMMAND_FAILED", "no start")) }) });
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    await expect(createRegistry(spec, { runtime, logger })).rejects.toMatchObject({ code: "COMMAND_FAILED" });
    expect(warnings).toEqual([]);
    expect(await base.nodes.list()).toEqual([]);
    expect(await base.networks.list()).toEqual([]);
  });
});
