import { describe, expect, it } from "vitest";
import { VALUE_OPTIONS, VALUE_OPTION_NAMES, optionFlagHelps, valueRow, type ValueRow } from "../../src/cluster/value-options.js";
import { loadConfig } from "../../src/config/load.js";
import { defaultClusterSpec, mergeSpec } from "../../src/config/merge.js";
import { toK3tsYaml } from "../../src/config/render.js";
import { K3TS_CONFIG_SCHEMA, k3dSchema } from "../../src/config/schema.js";

/** Every value row of the table, with its option and field. */
const rows = VALUE_OPTION_NAMES.flatMap((option): Array<[string, ValueRow]> => {
  const row = valueRow(option);
  return row.kind === "object" ? Object.entries(row.fields).map(([field, r]): [string, ValueRow] => [`${option}.${field}`, r]) : [[option, row]];
});

describe("the table of value options (servers … kubeconfig)", () => {
  it("each flag is its own, and where k3d keeps a value, k3d's schema has that field at that path", () => {
    const flags = VALUE_OPTION_NAMES.flatMap((o) => optionFlagHelps(o).map((f) => f.flag));
    expect(new Set(flags).size).toBe(flags.length);
    const schema = k3dSchema(5) as Record<string, unknown>;
    for (const [name, row] of rows) {
      if (!row.k3d) continue;
      const at = row.k3d.path.reduce<Record<string, unknown> | undefined>((s, key) => (s?.properties as Record<string, Record<string, unknown>> | undefined)?.[key], schema);
      expect(at, `${name}: ${row.k3d.path.join(".")}`).toBeDefined();
    }
  });

  it("k3ts's schema has every option at spec.OPTION", () => {
    const spec = (K3TS_CONFIG_SCHEMA.properties as Record<string, { properties: Record<string, unknown> }>).spec!.properties;
    for (const option of VALUE_OPTION_NAMES) expect(spec[option], option).toBeDefined();
    expect(Object.keys(VALUE_OPTIONS)).toEqual(VALUE_OPTION_NAMES);
  });

  it("a k3ts file says every option, config convert writes it back, and mergeSpec puts it over the defaults", () => {
    const text = `apiVersion: k3ts.io/v1alpha1
kind: Cluster
spec:
  servers: 3
  agents: 2
  image: k3s:x
  network: net
  subnet: 10.9.0.0/16
  token: t
  wait: false
  timeout: 90s
  loadBalancer: { enabled: false, image: lb:x }
  rollback: false
  memory: { servers: 1g, agents: 512m }
  privileged: false
  kubeconfig: { update: false, switchContext: false }
`;
    const spec = loadConfig(text).spec;
    expect(spec).toMatchObject({ servers: 3, agents: 2, image: "k3s:x", network: "net", subnet: "10.9.0.0/16", token: "t", wait: false, timeoutMs: 90_000, rollback: false, privileged: false });
    expect(spec).toMatchObject({ loadBalancer: { enabled: false, image: "lb:x" }, memory: { servers: 1024 ** 3, agents: 512 * 1024 ** 2 }, kubeconfig: { update: false, switchContext: false } });
    expect(loadConfig(toK3tsYaml(spec)).spec).toEqual(spec);
    const merged = mergeSpec(defaultClusterSpec(), spec, { memory: { agents: 1 }, loadBalancer: { image: "other" } });
    expect(merged).toMatchObject({ servers: 3, timeoutMs: 90_000, memory: { servers: 1024 ** 3, agents: 1 }, loadBalancer: { enabled: false, image: "other" }, kubeconfig: { update: false } });
  });
});
