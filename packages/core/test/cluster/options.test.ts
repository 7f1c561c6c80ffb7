import { describe, expect, it } from "vitest";
import { FILTERED_OPTIONS, FILTERED_OPTION_NAMES, readFilteredString } from "../../src/cluster/options.js";
import { planCluster, type PlanContext } from "../../src/cluster/plan.js";
import { loadConfig } from "../../src/config/load.js";
import { defaultClusterSpec } from "../../src/config/merge.js";
import { toK3tsYaml } from "../../src/config/render.js";
import { k3dSchema } from "../../src/config/schema.js";
import { isK3tsError } from "../../src/errors.js";

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (isK3tsError(err, "INVALID_ARGUMENT")) return err.message;
    throw err;
  }
  throw new Error("expected INVALID_ARGUMENT");
};

describe("the table of filtered cluster options (one reader for flags, SDK options and files)", () => {
  it("reads a value and its filters; only ports take :proxy / :direct", () => {
    expect(readFilteredString("ports", "8080:80@server:0:direct", "--port 8080:80@server:0:direct")).toMatchObject({
      value: { containerPort: 80, hostPort: 8080, protocol: "tcp" },
      filters: [{ group: "server", suffix: "direct" }],
    });
    expect(readFilteredString("env", "A=b=c@agent:*", "env[0]")).toMatchObject({ value: { key: "A", value: "b=c" }, filters: [{ group: "agent", subset: "*" }] });
    expect(refusal(() => readFilteredString("volumes", "/data@server:0:direct", "volumes[1]"))).toMatch(/^volumes\[1\]: /);
  });

  it("an error names where the value came from, as the caller says it", () => {
    expect(refusal(() => readFilteredString("runtimeLabels", "=x", "--runtime-label =x"))).toMatch(/^--runtime-label =x: /);
    expect(refusal(() => readFilteredString("capAdd", "not a cap!", "capAdd[0]"))).toMatch(/^capAdd\[0\]: /);
  });

  it("each option has its own flag, and where k3d has it, k3d's schema has that field at that path", () => {
    const flags = FILTERED_OPTION_NAMES.map((o) => FILTERED_OPTIONS[o].flag);
    expect(new Set(flags).size).toBe(flags.length);
    const schema = k3dSchema(5) as { properties: Record<string, unknown> };
    for (const option of FILTERED_OPTION_NAMES) {
      const k3d = FILTERED_OPTIONS[option].k3d;
      if (!k3d) continue;
      const at = k3d.path.reduce<Record<string, unknown>>((s, key) => (s.properties as Record<string, Record<string, unknown>>)[key]!, schema as Record<string, unknown>);
      expect(((at.items as Record<string, unknown>).properties as Record<string, unknown>)[k3d.field], `${option}: ${k3d.path.join(".")}[].${k3d.field}`).toBeDefined();
    }
  });
});

describe("the switch options (hostPidMode): one row, read from every source, a NodeSpec setting on the k3s nodes", () => {
  const base = { ...defaultClusterSpec(), name: "dev", agents: 1 };
  const ctx: PlanContext = { apiHostPort: 41234, network: "k3ts-dev", networkExternal: false, gateway: "172.20.0.1", token: "t", k3tsVersion: "0.1.0" };

  it("on: servers and agents share the host's PID namespace, the load balancer does not; off: nobody", () => {
    const on = planCluster({ ...base, hostPidMode: true }, ctx);
    expect([...on.servers, ...on.agents].map((n) => n.spec.hostPid)).toEqual([true, true]);
    expect(on.loadBalancer!.spec.hostPid).toBeUndefined();
    const off = planCluster(base, ctx);
    expect([...off.servers, ...off.agents, off.loadBalancer!].map((n) => n.spec.hostPid)).toEqual([undefined, undefined, undefined]);
  });

  it("k3ts's file and k3d's (v1alpha4 on, where k3d has it) say it; the k3ts file written back keeps it", () => {
    const k3ts = loadConfig("apiVersion: k3ts.io/v1alpha1\nkind: Cluster\nspec:\n  hostPidMode: true\n");
    expect(k3ts.spec.hostPidMode).toBe(true);
    const k3d = loadConfig("apiVersion: k3d.io/v1alpha5\nkind: Simple\noptions:\n  runtime:\n    hostPidMode: true\n");
    expect(k3d.spec.hostPidMode).toBe(true);
    expect(k3d.notices.map((n) => n.path)).not.toContain("/options/runtime/hostPidMode");
    expect(loadConfig(toK3tsYaml(k3d.spec)).spec.hostPidMode).toBe(true);
    expect(() => loadConfig("apiVersion: k3ts.io/v1alpha1\nkind: Cluster\nspec:\n  hostPidMode: yes please\n")).toThrow(/hostPidMode/);
  });
});
