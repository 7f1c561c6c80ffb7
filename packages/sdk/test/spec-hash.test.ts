import { LABELS } from "@k3ts/core";
import { describe, expect, it } from "vitest";
import { clusterSpec } from "../src/options.ts";
import { SPEC_FIELDS, differingFields, hashSpec, specLabels } from "../src/spec-hash.ts";

const spec = (o: Parameters<typeof clusterSpec>[0] = {}) => clusterSpec({ environment: {}, name: "same", ...o });
const labelsOf = (s: ReturnType<typeof spec>) => Object.fromEntries(specLabels(hashSpec(s)).map((l) => [l.value.key, l.value.value]));

describe("spec hash", () => {
  it("a switch that is off leaves the hash as it was before the switch existed (a cluster kept then is still reused)", () => {
    // The hash of this spec as the version before hostPidMode computed it (its labels are on clusters kept since).
    const before = "70e5c58459c50f3e6d491601093a3d227edeaab67f1cc28ee9111aecdf3a17df";
    expect(hashSpec(spec({ agents: 1 })).hash).toBe(before);
    expect(hashSpec(spec({ agents: 1, hostPidMode: false })).hash).toBe(before);
    expect(labelsOf(spec({ agents: 1 }))[LABELS.specFields]).not.toContain("hostPidMode");
    const on = hashSpec(spec({ agents: 1, hostPidMode: true }));
    expect(differingFields(labelsOf(spec({ agents: 1 })), on)).toEqual(["hostPidMode"]);
  });

  it("hostImages off (absent or false) leaves the hash as it was before the option existed; on, it is named as what differs", () => {
    const before = "70e5c58459c50f3e6d491601093a3d227edeaab67f1cc28ee9111aecdf3a17df";
    expect(hashSpec(spec({ agents: 1, hostImages: false })).hash).toBe(before);
    expect(labelsOf(spec({ agents: 1, hostImages: false }))[LABELS.specFields]).not.toContain("hostImages");
    const on = hashSpec(spec({ agents: 1, hostImages: true }));
    expect(on.hash).not.toBe(before);
    expect(differingFields(labelsOf(spec({ agents: 1 })), on)).toEqual(["hostImages"]);
    expect(differingFields(labelsOf(spec({ agents: 1, hostImages: true })), hashSpec(spec({ agents: 1, hostImages: { mirrors: ["ghcr.io"] } })))).toEqual(["hostImages"]);
    expect(hashSpec(spec({ hostImages: true }))).toEqual(hashSpec(spec({ hostImages: { mirrors: [] } })));
  });

  it("is the same for the same cluster, whatever steers the create (name, token, wait, timeout, rollback, kubeconfig)", () => {
    const a = hashSpec(spec({ agents: 1, ports: ["8080:80@loadbalancer"] }));
    const b = hashSpec(spec({ name: "other", agents: 1, ports: ["8080:80@loadbalancer"], token: "t", wait: false, timeout: "1m", rollback: false, updateKubeconfig: true }));
    expect(b).toEqual(a);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("ignores how a node filter was spelled", () => {
    expect(hashSpec(spec({ env: ["A=1@servers:0"] }))).toEqual(hashSpec(spec({ env: ["A=1@server:0"] })));
  });

  it("changes with each field that shapes the cluster, and names it", () => {
    const base = spec();
    const cases: Array<[Parameters<typeof clusterSpec>[0], string]> = [
      [{ servers: 3 }, "servers"],
      [{ agents: 2 }, "agents"],
      [{ image: "other/k3s:1" }, "image"],
      [{ k3sVersion: "v1.32.1-k3s1" }, "image"],
      [{ dataVolume: "data", token: "t" }, "volumes"],
      [{ api: "6550" }, "api"],
      [{ ports: ["8080:80"] }, "ports"],
      [{ env: ["A=1"] }, "env"],
      [{ k3sArgs: ["--disable=traefik"] }, "k3sArgs"],
      [{ loadBalancer: false }, "loadBalancer"],
      [{ privileged: false }, "privileged"],
      [{ hostPidMode: true }, "hostPidMode"],
      [{ hostImages: true }, "hostImages"],
      [{ memory: { agents: "1g" } }, "memory"],
    ];
    for (const [options, field] of cases) {
      const other = spec(options);
      expect(hashSpec(other).hash).not.toBe(hashSpec(base).hash);
      expect(differingFields(labelsOf(base), hashSpec(other))).toEqual([field]);
    }
  });

  it("does not count its own labels among the runtime labels", () => {
    const base = spec();
    const labelled = { ...base, runtimeLabels: [...base.runtimeLabels, ...specLabels(hashSpec(base))] };
    expect(hashSpec(labelled)).toEqual(hashSpec(base));
  });

  it("stores the hash and a digest per field, never a value in clear", () => {
    const labels = labelsOf(spec({ env: ["PASSWORD=hunter2"], token: "sekret" }));
    expect(Object.keys(labels)).toEqual([LABELS.specHash, LABELS.specFields]);
    // Every field, but a switch that is off (hostPidMode, hostImages) does not count.
    expect(labels[LABELS.specFields]!.split(",").map((p) => p.split("=")[0])).toEqual(SPEC_FIELDS.filter((f) => f !== "hostPidMode" && f !== "hostImages"));
    expect(JSON.stringify(labels)).not.toMatch(/hunter2|sekret|PASSWORD/);
  });

  it("says every field differs when a cluster records no digests, none when the hash matches", () => {
    expect(differingFields({}, hashSpec(spec()))).toEqual(SPEC_FIELDS.filter((f) => f !== "hostPidMode" && f !== "hostImages"));
    expect(differingFields({}, hashSpec(spec({ hostPidMode: true, hostImages: true })))).toEqual([...SPEC_FIELDS]);
    expect(differingFields(labelsOf(spec()), hashSpec(spec()))).toEqual([]);
  });
});
