import { readFileSync } from "node:fs";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  K3TS_CONFIG_SCHEMA,
  STARTER_CONFIG,
  defaultClusterSpec,
  expandBraces,
  expandGoEnv,
  loadConfig,
  mergeSpec,
  specFromEnvironment,
  toK3tsYaml,
} from "../../src/config/index.js";
import { corpusRequired, readCorpus } from "./corpus.js";

const published = JSON.parse(readFileSync(new URL("../../schema/k3ts-config.schema.json", import.meta.url), "utf8")) as object;

describe("k3ts's own format", () => {
  it("the published schema is the one k3ts validates with", () => {
    expect(published).toEqual(K3TS_CONFIG_SCHEMA);
  });

  it("the starter from config init is valid, for k3ts and for the published schema through plain ajv", () => {
    const { spec, notices } = loadConfig(STARTER_CONFIG, { file: "k3ts.yaml" });
    expect(notices).toEqual([]);
    expect(spec).toMatchObject({ name: "dev", servers: 1, agents: 2, api: { hostIP: "127.0.0.1" }, wait: true, timeoutMs: 300_000, privileged: true });
    expect(spec.ports?.[0]).toMatchObject({ value: { hostPort: 8080, containerPort: 80 }, filters: [{ group: "loadbalancer" }] });
    const validate = addFormats(new Ajv({ strict: true })).compile(published);
    expect(validate(parse(STARTER_CONFIG))).toBe(true);
  });

  it("reads every spec field", () => {
    const text = `apiVersion: k3ts.io/v1alpha1
kind: Cluster
metadata: { name: full }
spec:
  servers: 3
  agents: 1
  image: example/k3s:1
  api: { host: k3s.test, hostIP: 0.0.0.0, hostPort: 6550 }
  ports: [{ port: "127.0.0.1:1234:4321/udp", nodeFilters: ["agent:0:direct"] }]
  volumes: [{ volume: "data:/data:ro", nodeFilters: ["server:*"] }]
  env: [{ value: "MODE=edge", nodeFilters: ["agents:0"] }]
  k3sArgs: [{ value: "--disable=traefik", nodeFilters: ["server:*"] }]
  nodeLabels: [{ value: "tier=edge", nodeFilters: ["agent:*"] }]
  runtimeLabels: [{ value: "team=a" }]
  capAdd: [{ value: cap_sys_admin }, { value: NET_ADMIN, nodeFilters: [loadbalancer] }]
  network: shared
  subnet: 10.9.0.0/16
  token: \${TOKEN}
  wait: false
  timeout: 1m30s
  loadBalancer: { enabled: true, image: nginx:x }
  rollback: false
  memory: { servers: 1g, agents: 512m }
  hostAliases: [{ ip: 10.0.0.9, hostnames: [db.test] }]
  privileged: false
  kubeconfig: { update: false, switchContext: false }
`;
    const { spec } = loadConfig(text, { env: { TOKEN: "s3cr$t" } });
    expect(spec).toMatchObject({
      name: "full",
      servers: 3,
      agents: 1,
      image: "example/k3s:1",
      api: { host: "k3s.test", hostIP: "0.0.0.0", hostPort: 6550 },
      network: "shared",
      subnet: "10.9.0.0/16",
      token: "s3cr$t",
      wait: false,
      timeoutMs: 90_000,
      loadBalancer: { enabled: true, image: "nginx:x" },
      rollback: false,
      memory: { servers: 1024 ** 3, agents: 512 * 1024 ** 2 },
      hostAliases: [{ ip: "10.0.0.9", hostnames: ["db.test"] }],
      privileged: false,
      kubeconfig: { update: false, switchContext: false },
    });
    expect(spec.ports?.[0]).toMatchObject({ value: { hostIP: "127.0.0.1", hostPort: 1234, containerPort: 4321, protocol: "udp" }, filters: [{ group: "agent", subset: [0], suffix: "direct" }] });
    expect(spec.volumes?.[0]).toMatchObject({ value: { source: "data", target: "/data", readOnly: true } });
    expect(spec.runtimeLabels?.[0]).toMatchObject({ value: { key: "team", value: "a" }, filters: [] });
    expect(spec.capAdd).toMatchObject([{ value: "SYS_ADMIN", filters: [] }, { value: "NET_ADMIN", filters: [{ group: "loadbalancer" }] }]);
    // And back: rendered as k3ts YAML, read again.
    expect(loadConfig(toK3tsYaml(spec), { file: "again.yaml" }).spec.capAdd).toEqual(spec.capAdd);
  });

  it("refuses k3ts.io/ runtime labels, in k3ts and k3d files alike, saying where", () => {
    const problem = (text: string) => {
      try {
        loadConfig(text, { file: "labels.yaml" });
      } catch (e) {
        return (e as Error).message;
      }
      return "accepted";
    };
    expect(problem("apiVersion: k3ts.io/v1alpha1\nkind: Cluster\nmetadata: { name: x }\nspec:\n  runtimeLabels: [{ value: 'k3ts.io/cluster=y' }]\n")).toMatch(/labels\.yaml:5:\d+: \/spec\/runtimeLabels\/0\/value: .*reserved prefix k3ts\.io\//);
    expect(problem("apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata: { name: x }\noptions:\n  runtime:\n    labels: [{ label: 'k3ts.io/managed=true', nodeFilters: [server:0] }]\n")).toMatch(/\/options\/runtime\/labels\/0\/label: .*reserved prefix k3ts\.io\//);
  });

  it("hostImages: true, false or { enabled, mirrors }; a later false turns an earlier on off; a bad mirror is refused where it is", () => {
    const read = (value: string) => loadConfig(`apiVersion: k3ts.io/v1alpha1\nkind: Cluster\nmetadata: { name: x }\nspec:\n  hostImages: ${value}\n`, { file: "hi.yaml" }).spec.hostImages;
    expect(read("true")).toEqual({ mirrors: [] });
    expect(read("false")).toBe(false);
    expect(read("{ enabled: false, mirrors: [ghcr.io] }")).toBe(false);
    expect(read("{ mirrors: [GHCR.io, 'registry.local:5000', ghcr.io] }")).toEqual({ mirrors: ["ghcr.io", "registry.local:5000"] });
    expect(() => read("{ mirrors: ['http://ghcr.io'] }")).toThrow(/hi\.yaml:5:\d+: \/spec\/hostImages\/mirrors\/0: .*not a registry host/);
    expect(() => read("{ mirror: [ghcr.io] }")).toThrow(/hi\.yaml:5:\d+: \/spec\/hostImages/);
    expect(() => read("yes please")).toThrow(/hi\.yaml:5:\d+: \/spec\/hostImages/);
    const on = mergeSpec(defaultClusterSpec(), { hostImages: { mirrors: ["ghcr.io"] } });
    expect(on.hostImages).toEqual({ mirrors: ["ghcr.io"] });
    expect(mergeSpec(defaultClusterSpec(), { hostImages: { mirrors: ["ghcr.io"] } }, { hostImages: false })).not.toHaveProperty("hostImages");
    expect(mergeSpec(defaultClusterSpec(), { hostImages: false }, {}).hostImages).toBeUndefined();
    // Written back as it reads.
    expect(loadConfig(toK3tsYaml({ name: "x", hostImages: { mirrors: ["ghcr.io"] } }), { file: "back.yaml" }).spec.hostImages).toEqual({ mirrors: ["ghcr.io"] });
    expect(loadConfig(toK3tsYaml({ name: "x", hostImages: false }), { file: "back.yaml" }).spec.hostImages).toBe(false);
  });

  it("refuses what is no capability name, saying where", () => {
    const err = (() => {
      try {
        loadConfig("apiVersion: k3ts.io/v1alpha1\nkind: Cluster\nmetadata: { name: x }\nspec:\n  capAdd: [{ value: 'sys admin' }]\n", { file: "bad.yaml" });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err?.message).toMatch(/\/spec\/capAdd\/0/);
    expect(err?.message).toContain("is not a Linux capability name");
  });

  it.runIf(corpusRequired)("config convert: a k3d file as k3ts YAML reads back to the same spec, its notices as comments", () => {
    for (const name of ["config_test_simple.yaml", "docs_full_example.yaml", "config_test_simple_migration_v1alpha2.yaml"]) {
      const k3d = loadConfig(readCorpus(name), { file: `/corpus/${name}`, env: { HOME: "/home/me" } });
      const yaml = toK3tsYaml(k3d.spec, { from: name, notices: k3d.notices });
      for (const n of k3d.notices) expect(yaml).toContain(`#   ${n.path}: ${n.reason}`);
      const back = loadConfig(yaml, { file: "converted.yaml" });
      expect(back.spec).toEqual(k3d.spec);
    }
  });
});

describe("precedence: flags > environment > file > defaults", () => {
  it("scalars: the later source wins; lists add up; nested objects merge field by field", () => {
    const file = loadConfig("apiVersion: k3ts.io/v1alpha1\nkind: Cluster\nmetadata: { name: fromfile }\nspec:\n  servers: 3\n  image: file/k3s:1\n  loadBalancer: { enabled: true, image: file/lb }\n  rollback: false\n  ports: [{ port: 80:80, nodeFilters: [loadbalancer] }]\n").spec;
    const env = specFromEnvironment({ K3TS_IMAGE: "env/k3s:1", K3TS_LB_IMAGE: "env/lb", HOME: "/x" });
    const flags = { servers: 5, ports: [{ value: { containerPort: 443, hostPort: 443, protocol: "tcp" as const }, filters: [] }] };
    const spec = mergeSpec(defaultClusterSpec(), file, env, flags);
    expect(spec).toMatchObject({ name: "fromfile", servers: 5, agents: 0, image: "env/k3s:1", loadBalancer: { enabled: true, image: "env/lb" }, rollback: false, wait: true });
    expect(spec.ports.map((p) => p.value.containerPort)).toEqual([80, 443]);
    expect(mergeSpec(defaultClusterSpec())).toEqual(defaultClusterSpec());
  });

  it("an API endpoint replaces the file's as a whole, its address defaulting to 127.0.0.1", () => {
    const spec = mergeSpec(defaultClusterSpec(), { api: { hostIP: "0.0.0.0", hostPort: 6445 } }, {}, { api: { hostPort: 7000 } });
    expect(spec.api).toEqual({ hostIP: "127.0.0.1", hostPort: 7000 });
  });
});

describe("environment expansion", () => {
  it("k3d files: Go's os.ExpandEnv", () => {
    const env = { A: "x", B_1: "y" };
    expect(expandGoEnv("$A ${B_1} $UNSET. ${} $ end$ $$ $1 ${A", env)).toBe("x y .  $ end$   A");
  });
  it("k3ts files: ${VAR} and $$ only; unset names are reported", () => {
    expect(expandBraces("${A}-$A-$$-${NOPE}", { A: "x" })).toEqual({ value: "x-$A-$-${NOPE}", missing: ["NOPE"] });
  });
  it("quoted values stay strings; unquoted ones are read again", () => {
    const ok = 'apiVersion: k3d.io/v1alpha5\nkind: Simple\nservers: $N\ntoken: "$N"\n';
    expect(loadConfig(ok, { env: { N: "2" } }).spec).toEqual({ servers: 2, token: "2" });
  });
});
