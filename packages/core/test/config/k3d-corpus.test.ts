/**
 * Every file of k3d's config corpus, read as k3d reads it (pkg/config/transform.go): the expectations are
 * written out from k3d's semantics (reference §2.1, §6) and the files themselves.
 */
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig, type ClusterSpecInput, type LoadedConfig } from "../../src/config/index.js";
import { corpusMissingReason, corpusPath, corpusPresent, corpusRequired, inCI, readCorpus } from "./corpus.js";

const ENV = { HOME: "/home/me", K3D_TEST_SERVERS: "3" };
const load = (name: string, env: Record<string, string> = ENV): LoadedConfig => loadConfig(readCorpus(name), { file: corpusPath(name), env });

/** Filters as their source text, values as they are: what the assertions compare. */
function view(spec: ClusterSpecInput) {
  const f = <T>(items?: Array<{ value: T; filters: Array<{ source: string }> }>) => items?.map((i) => ({ value: i.value, filters: i.filters.map((x) => x.source) }));
  return { ...spec, volumes: f(spec.volumes), ports: f(spec.ports), env: f(spec.env), k3sArgs: f(spec.k3sArgs), nodeLabels: f(spec.nodeLabels), runtimeLabels: f(spec.runtimeLabels), files: f(spec.files) };
}

const MIRROR = 'mirrors:\n  "my.company.registry":\n    endpoint:\n      - http://my.company.registry:5000\n';

describe("the k3d config corpus is present", () => {
  it.runIf(inCI)("under CI=true a missing corpus is a failure", () => {
    expect(corpusPresent, corpusMissingReason).toBe(true);
  });
});

describe.runIf(corpusRequired)(corpusRequired ? "k3d config corpus (read unchanged)" : `k3d config corpus: skipped outside CI (${corpusMissingReason})`, () => {
  it("config_test_simple.yaml: 3 servers + 2 agents, $HOME volume on all, filtered env/args/labels, registries, wait + 360s", () => {
    const { format, spec, notices } = load("config_test_simple.yaml");
    expect(format).toBe("k3d.io/v1alpha5");
    expect(view(spec)).toEqual({
      name: "test",
      servers: 3,
      agents: 2,
      volumes: [{ value: { source: "/home/me", target: "/some/path", readOnly: false }, filters: ["all"] }],
      ports: undefined,
      env: [{ value: { key: "bar", value: "baz,bob" }, filters: ["all"] }],
      k3sArgs: [{ value: "--tls-san=127.0.0.1", filters: ["server:*"] }],
      nodeLabels: [{ value: { key: "foo", value: "bar" }, filters: ["server:0", "loadbalancer"] }],
      runtimeLabels: [{ value: { key: "foo", value: "bar" }, filters: ["server:0", "loadbalancer"] }],
      files: undefined,
      registries: { create: { name: "registry.localhost" }, config: { content: MIRROR } },
      wait: true,
      timeoutMs: 360_000,
      loadBalancer: { enabled: true },
      kubeconfig: { update: true, switchContext: true },
    });
    // kubeAPI: not in the file, so k3ts's default (127.0.0.1, a free port) applies: no api in the input.
    expect(spec.api).toBeUndefined();
    expect(notices.map((n) => n.path)).toEqual(["/options/k3d/disableImageVolume"]);
  });

  it("the v1alpha2 and v1alpha3 migration files produce identical specs, as k3d's migration test demands", () => {
    const v2 = load("config_test_simple_migration_v1alpha2.yaml");
    const v3 = load("config_test_simple_migration_v1alpha3.yaml");
    expect(v2.format).toBe("k3d.io/v1alpha2");
    expect(v3.format).toBe("k3d.io/v1alpha3");
    expect(v2.spec).toEqual(v3.spec);
    expect(view(v3.spec)).toEqual({
      name: "test",
      servers: 3,
      agents: 2,
      api: { hostIP: "0.0.0.0", hostPort: 6446 },
      volumes: [{ value: { source: "/my/path", target: "/some/path", readOnly: false }, filters: ["all"] }],
      ports: [
        { value: { hostPort: 80, containerPort: 80, protocol: "tcp" }, filters: ["loadbalancer"] },
        { value: { hostIP: "0.0.0.0", hostPort: 443, containerPort: 443, protocol: "tcp" }, filters: ["loadbalancer"] },
      ],
      env: [{ value: { key: "bar", value: "baz,bob" }, filters: ["all"] }],
      // v1alpha2's extraServerArgs become extraArgs on server:*; its labels (server[0]) runtime labels on server:0
      k3sArgs: [{ value: "--tls-san=127.0.0.1", filters: ["server:*"] }],
      nodeLabels: undefined,
      runtimeLabels: [{ value: { key: "foo", value: "bar" }, filters: ["server:0", "loadbalancer"] }],
      files: undefined,
      // v1alpha2's `create: true` becomes k3d-<name>-registry on 0.0.0.0 and a random port
      registries: { create: { name: "k3d-test-registry", host: "0.0.0.0", hostPort: "random" }, config: { content: MIRROR } },
      wait: true,
      timeoutMs: 360_000,
      loadBalancer: { enabled: true },
      kubeconfig: { update: true, switchContext: true },
    });
    expect(v2.notices).toEqual(v3.notices);
  });

  it("config_env.yaml: ${K3D_TEST_SERVERS} is expanded (and read as a number)", () => {
    expect(load("config_env.yaml").spec).toEqual({ name: "testenvexpand", servers: 3 });
    // Unset, k3d's os.ExpandEnv leaves an empty value: servers is then not a number.
    expect(() => load("config_env.yaml", {})).toThrow(/config_env\.yaml:5:10: \/servers: want a whole number, got nothing/);
  });

  it("test_registries.yaml: a bare registries.yaml is not a cluster config, but is what the inline registries config says", () => {
    expect(() => load("test_registries.yaml")).toThrow(/1:1: \/apiVersion: missing apiVersion/);
    expect(parse(readCorpus("test_registries.yaml"))).toEqual(parse(MIRROR));
    const { spec } = loadConfig(`apiVersion: k3d.io/v1alpha5\nkind: Simple\nregistries:\n  config: ${corpusPath("test_registries.yaml")}\n`, { file: "r.yaml" });
    expect(spec.registries).toEqual({ config: { path: corpusPath("test_registries.yaml") } });
  });

  it("docs_full_example.yaml: every v1alpha5 field, with the notices of what k3ts does not honour", () => {
    const { spec, notices } = load("docs_full_example.yaml");
    expect(view(spec)).toMatchObject({
      name: "mycluster",
      servers: 1,
      agents: 2,
      api: { host: "myhost.my.domain", hostIP: "127.0.0.1", hostPort: 6445 },
      image: "rancher/k3s:v1.35.2-k3s1",
      network: "my-custom-net",
      subnet: "172.28.0.0/16",
      token: "superSecretToken",
      volumes: [{ value: { source: "/my/host/path", target: "/path/in/node", readOnly: false }, filters: ["server:0", "agent:*"] }],
      ports: [{ value: { hostPort: 8080, containerPort: 80, protocol: "tcp" }, filters: ["loadbalancer"] }],
      env: [{ value: { key: "bar", value: "baz" }, filters: ["server:0"] }],
      k3sArgs: [{ value: "--tls-san=my.host.domain", filters: ["server:*"] }],
      nodeLabels: [{ value: { key: "foo", value: "bar" }, filters: ["agent:1"] }],
      runtimeLabels: [{ value: { key: "bar", value: "baz" }, filters: ["agent:1"] }],
      hostAliases: [
        { ip: "1.2.3.4", hostnames: ["my.host.local", "that.other.local"] },
        { ip: "1.1.1.1", hostnames: ["cloud.flare.dns"] },
      ],
      wait: true,
      timeoutMs: 60_000,
      loadBalancer: { enabled: true },
      rollback: true,
      kubeconfig: { update: true, switchContext: true },
      ulimits: [{ name: "nofile", soft: 26677, hard: 26677 }],
      registries: {
        create: { name: "registry.localhost", host: "0.0.0.0", hostPort: "5000", proxy: { remoteURL: "https://registry-1.docker.io", username: "", password: "" }, volumes: ["/some/path:/var/lib/registry"] },
        use: ["k3d-myotherregistry:5000"],
        config: { content: MIRROR },
      },
    });
    expect(spec.files).toEqual([
      { value: { source: { content: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n" }, destination: "/var/lib/rancher/k3s/server/manifests/custom/foo.yaml", description: "Source: Embedded, Destination: Magic shortcut path" }, filters: [] },
      {
        value: { source: { path: corpusPath("ns-baz.yaml") }, destination: "/var/lib/rancher/k3s/server/manifests/baz.yaml", description: "Source: Relative, Destination: Absolute path, Node: Servers only" },
        filters: [{ group: "server", subset: "*", source: "server:*" }],
      },
    ]);
    expect(notices.map((n) => n.path).sort()).toEqual(
      [
        "/options/k3d/disableImageVolume",
        "/options/k3d/loadbalancer/configOverrides",
        "/options/runtime/gpuRequest",
      ].sort(),
    );
    for (const n of notices) expect(n.reason).toMatch(/k3ts/);
  });

  it("k3d's own v1alpha5 schema (ajv) accepts the v1alpha5 corpus files that k3ts accepts, and rejects what k3ts rejects", () => {
    const schema = JSON.parse(readCorpus("k3d-v1alpha5-schema.json")) as object;
    const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
    const validate = ajv.compile(schema);
    for (const name of ["config_test_simple.yaml", "config_env.yaml", "docs_full_example.yaml"]) {
      const { expandGoEnv } = { expandGoEnv: (t: string) => t.replace(/\$\{?(\w+)\}?/g, (_, v: string) => ENV[v as keyof typeof ENV] ?? "") };
      const data = parse(expandGoEnv(readCorpus(name)));
      expect(validate(data), `${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      expect(() => load(name)).not.toThrow();
    }
    // The older versions are not v1alpha5: k3d's schema rejects them, k3ts migrates them.
    expect(validate(parse(readCorpus("config_test_simple_migration_v1alpha3.yaml")))).toBe(false);
    // Both reject these.
    for (const bad of ["apiVersion: k3d.io/v1alpha5\nkind: Simple\nservers: 0\n", "apiVersion: k3d.io/v1alpha5\nkind: Simple\nbogus: 1\n", "apiVersion: k3d.io/v1alpha5\nkind: Simple\nkubeAPI:\n  hostIP: not-an-ip\n"]) {
      expect(validate(parse(bad))).toBe(false);
      expect(() => loadConfig(bad)).toThrow(/problem/);
    }
  });
});
