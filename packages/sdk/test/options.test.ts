import { DEFAULT_K3S_IMAGE, DEFAULT_LB_IMAGE, isK3tsError, type ClusterSpec } from "@k3ts/core";
import { describe, expect, it } from "vitest";
import { DEFAULT_TIMEOUT_MS, clusterSpec, randomClusterName, withSdkLabels } from "../src/options.ts";

const NO_ENV = { environment: {} };

function invalidWhere(fn: () => unknown): { where: unknown; message: string } {
  try {
    fn();
  } catch (err) {
    if (!isK3tsError(err, "INVALID_ARGUMENT")) throw err;
    return { where: err.meta.where, message: err.message };
  }
  throw new Error("no INVALID_ARGUMENT was thrown");
}

describe("clusterSpec", () => {
  it("builds core's default spec with the sdk's defaults: a random name, no kubeconfig change, a 5 minute limit", () => {
    const spec = clusterSpec(NO_ENV);
    expect(spec.name).toMatch(/^sdk-[0-9a-f]{8}$/);
    expect(spec).toMatchObject({
      servers: 1,
      agents: 0,
      image: DEFAULT_K3S_IMAGE,
      loadBalancer: { enabled: true, image: DEFAULT_LB_IMAGE },
      privileged: true,
      wait: true,
      rollback: true,
      timeoutMs: DEFAULT_TIMEOUT_MS,
      kubeconfig: { update: false, switchContext: true },
    } satisfies Partial<ClusterSpec>);
    expect(clusterSpec(NO_ENV).name).not.toBe(spec.name);
  });

  it("parses the CLI's string forms with core's parsers", () => {
    const spec = clusterSpec({
      ...NO_ENV,
      name: "demo",
      agents: 2,
      api: "127.0.0.1:6550",
      ports: ["8080:80@loadbalancer", "127.0.0.1::9000/udp@agent:0:direct"],
      volumes: ["/tmp/data:/data:ro@server:0"],
      env: ["A=1@all"],
      k3sArgs: ["--disable=traefik@server:*"],
      nodeLabels: ["tier=db@agent:1"],
      hostAliases: ["10.0.0.5:db.local,cache.local"],
      memory: { servers: "1g", agents: 1024 },
      timeout: "90s",
      loadBalancer: { image: "k3ts-test/nginx:1" },
      privileged: false,
      updateKubeconfig: { switchContext: false },
    });
    expect(spec.name).toBe("demo");
    expect(spec.api).toEqual({ hostIP: "127.0.0.1", hostPort: 6550 });
    expect(spec.ports).toEqual([
      { value: { hostPort: 8080, containerPort: 80, protocol: "tcp" }, filters: [expect.objectContaining({ group: "loadbalancer" })] },
      { value: { hostIP: "127.0.0.1", containerPort: 9000, protocol: "udp" }, filters: [expect.objectContaining({ group: "agent", subset: [0], suffix: "direct" })] },
    ]);
    expect(spec.volumes[0]).toMatchObject({ value: { source: "/tmp/data", target: "/data", readOnly: true }, filters: [{ group: "server", subset: [0] }] });
    expect(spec.env[0]).toMatchObject({ value: { key: "A", value: "1" }, filters: [{ group: "all" }] });
    expect(spec.k3sArgs[0]).toMatchObject({ value: "--disable=traefik", filters: [{ group: "server", subset: "*" }] });
    expect(spec.nodeLabels[0]).toMatchObject({ value: { key: "tier", value: "db" } });
    expect(spec.hostAliases).toEqual([{ ip: "10.0.0.5", hostnames: ["db.local", "cache.local"] }]);
    expect(spec.memory).toEqual({ servers: 1024 ** 3, agents: 1024 });
    expect(spec.timeoutMs).toBe(90_000);
    expect(spec.loadBalancer).toEqual({ enabled: true, image: "k3ts-test/nginx:1" });
    expect(spec.privileged).toBe(false);
    expect(spec.kubeconfig).toEqual({ update: true, switchContext: false });
  });

  it("takes K3TS_IMAGE and K3TS_LB_IMAGE from the environment, below the options", () => {
    const environment = { K3TS_IMAGE: "env/k3s:1", K3TS_LB_IMAGE: "env/nginx:1" };
    expect(clusterSpec({ environment })).toMatchObject({ image: "env/k3s:1", loadBalancer: { image: "env/nginx:1" } });
    expect(clusterSpec({ environment, image: "mine/k3s:2", loadBalancer: false })).toMatchObject({
      image: "mine/k3s:2",
      loadBalancer: { enabled: false, image: "env/nginx:1" },
    });
  });

  it("accepts a timeout in milliseconds, 0 for none", () => {
    expect(clusterSpec({ ...NO_ENV, timeout: 1500 }).timeoutMs).toBe(1500);
    expect(clusterSpec({ ...NO_ENV, timeout: 0 }).timeoutMs).toBe(0);
  });

  it.each([
    [{ ports: ["8080:80@loadbalancer", "99999:80"] }, "ports[1]", /host port "99999"/],
    [{ ports: ["8080:80@nodes:0"] }, "ports[0]", /nodes/],
    [{ ports: "8080:80" }, "ports", /array of strings/],
    [{ volumes: ["relative/path:/data"] }, "volumes[0]", /neither an absolute host path nor a volume name/],
    [{ env: ["=x"] }, "env[0]", /no key/],
    [{ subnet: "172.28.0.0/33" }, "subnet", /not an IPv4 CIDR/],
    [{ runtimeLabels: ["team=a", "k3ts.io/spec-hash=forged"] }, "runtimeLabels[1]", /label "k3ts\.io\/spec-hash" uses the reserved prefix k3ts\.io\//],
    [{ hostAliases: ["nope"] }, "hostAliases[0]", /exactly one ":"/],
    [{ name: "Not_Valid" }, "name", /not valid/],
    [{ servers: 0 }, "servers", /at least 1/],
    [{ agents: 1.5 }, "agents", /whole number/],
    [{ api: "host:1:2" }, "api", /too many/],
    [{ timeout: "soon" }, "timeout", /not a duration/],
    [{ timeout: -1 }, "timeout", /at least 0/],
    [{ memory: { servers: "lots" } }, "memory.servers", /not a memory size/],
    [{ loadBalancer: "yes" }, "loadBalancer", /want true, false/],
    [{ privileged: "no" }, "privileged", /true or false/],
    [{ agent: 2 }, "agent", /unknown option/],
    [{ updateKubeconfig: "yes" }, "updateKubeconfig", /want true, false/],
  ])("%j is INVALID_ARGUMENT naming %s", (options, where, message) => {
    const err = invalidWhere(() => clusterSpec({ ...NO_ENV, ...(options as object) }));
    expect(err.where).toBe(where);
    expect(err.message.startsWith(`${where}: `)).toBe(true);
    expect(err.message).toMatch(message);
  });

  describe("k3sVersion", () => {
    it("is the image rancher/k3s:<version> (core's default repository), + spelled - as image tags need", () => {
      const repo = DEFAULT_K3S_IMAGE.slice(0, DEFAULT_K3S_IMAGE.lastIndexOf(":"));
      expect(clusterSpec({ ...NO_ENV, k3sVersion: "v1.33.4-k3s1" }).image).toBe(`${repo}:v1.33.4-k3s1`);
      expect(clusterSpec({ ...NO_ENV, k3sVersion: "v1.30.0-rc1+k3s2" }).image).toBe(`${repo}:v1.30.0-rc1-k3s2`);
    });

    it("wins over K3TS_IMAGE, as image does", () => {
      expect(clusterSpec({ environment: { K3TS_IMAGE: "mine/k3s:x" }, k3sVersion: "v1.32.1-k3s1" }).image).toMatch(/:v1\.32\.1-k3s1$/);
    });

    it.each([
      [{ k3sVersion: "v1.33.4-k3s1", image: "mine/k3s:1" }, /conflicts with image "mine\/k3s:1"/],
      [{ k3sVersion: "1.33" }, /"1\.33" is not a k3s release \(want e\.g\. v1\.33\.4-k3s1\)/],
      [{ k3sVersion: "v1.33.4" }, /not a k3s release/],
      [{ k3sVersion: "v1.33.4-k3s1 " }, /not a k3s release/],
      [{ k3sVersion: 133 }, /not a non-empty string/],
    ])("%j is INVALID_ARGUMENT naming k3sVersion", (options, message) => {
      const err = invalidWhere(() => clusterSpec({ ...NO_ENV, ...(options as object) }));
      expect(err.where).toBe("k3sVersion");
      expect(err.message).toMatch(message);
    });
  });

  describe("dataVolume", () => {
    it("mounts the named volume at k3s's data directory of server-0 only", () => {
      const spec = clusterSpec({ ...NO_ENV, dataVolume: "shop-data", token: "s3cret", volumes: ["/srv/seed:/seed@server:0"] });
      expect(spec.volumes.map((v) => ({ ...v.value, filters: v.filters.map((f) => f.source) }))).toEqual([
        { source: "/srv/seed", target: "/seed", readOnly: false, filters: ["server:0"] },
        { source: "shop-data", target: "/var/lib/rancher/k3s", readOnly: false, filters: ["server:0"] },
      ]);
    });

    it.each([
      [{ dataVolume: "shop-data" }, /needs token/],
      [{ dataVolume: "/srv/k3s", token: "t" }, /"\/srv\/k3s" is not a volume name/],
      [{ dataVolume: "data:ro", token: "t" }, /not a volume name/],
      [{ dataVolume: "", token: "t" }, /not a non-empty string/],
      [{ dataVolume: "d", token: "t", servers: 3 }, /only with one server \(servers is 3\)/],
      [{ dataVolume: "d", token: "t", agents: 1 }, /only without agents \(agents is 1\)/],
      [{ dataVolume: "d", token: "t", volumes: ["/tmp/x:/data", "other:/var/lib/rancher/k3s@server:0"] }, /conflicts with volumes\[1\]/],
    ])("%j is INVALID_ARGUMENT naming dataVolume", (options, message) => {
      const err = invalidWhere(() => clusterSpec({ ...NO_ENV, ...(options as object) }));
      expect(err.where).toBe("dataVolume");
      expect(err.message).toMatch(message);
    });
  });

  describe("hostImages", () => {
    it("is off by default and when false: absent from the spec", () => {
      expect(clusterSpec(NO_ENV).hostImages).toBeUndefined();
      expect(clusterSpec({ ...NO_ENV, hostImages: false }).hostImages).toBeUndefined();
    });

    it("true mirrors the defaults only; mirrors adds registry hosts, lowercased, once each", () => {
      expect(clusterSpec({ ...NO_ENV, hostImages: true }).hostImages).toEqual({ mirrors: [] });
      expect(clusterSpec({ ...NO_ENV, hostImages: { mirrors: ["ghcr.io", "Registry.Local:5000", "ghcr.io"] } }).hostImages).toEqual({ mirrors: ["ghcr.io", "registry.local:5000"] });
      expect(clusterSpec({ ...NO_ENV, hostImages: {} }).hostImages).toEqual({ mirrors: [] });
    });

    it.each([
      [{ hostImages: "yes" }, "hostImages", /want true, false or \{ mirrors\?: string\[\] \}/],
      [{ hostImages: ["ghcr.io"] }, "hostImages", /want true, false/],
      [{ hostImages: null }, "hostImages", /want true, false/],
      [{ hostImages: { registries: ["ghcr.io"] } }, "hostImages.registries", /unknown option \(known: mirrors\)/],
      [{ hostImages: { mirrors: "ghcr.io" } }, "hostImages.mirrors", /want an array of strings/],
      [{ hostImages: { mirrors: [1] } }, "hostImages.mirrors[0]", /1 is not a string/],
      [{ hostImages: { mirrors: ["https://ghcr.io"] } }, "hostImages.mirrors[0]", /is not a registry host/],
      [{ hostImages: { mirrors: ["ok.io", "*"] } }, "hostImages.mirrors[1]", /is not a registry host/],
    ])("%j is INVALID_ARGUMENT naming %s", (options, where, message) => {
      const err = invalidWhere(() => clusterSpec({ ...NO_ENV, ...(options as object) }));
      expect(err.where).toBe(where);
      expect(err.message).toMatch(message);
    });
  });

  it("k3ts.io/ labels come only from the sdk itself (up's environment label), after the user's", () => {
    const spec = clusterSpec(withSdkLabels({ ...NO_ENV, runtimeLabels: ["team=a"] }, { "k3ts.io/environment": "shop" }));
    expect(spec.runtimeLabels.map((l) => l.value)).toEqual([{ key: "team", value: "a" }, { key: "k3ts.io/environment", value: "shop" }]);
    // The same options object without the sdk's blessing carries no such label.
    expect(clusterSpec({ ...NO_ENV, runtimeLabels: ["team=a"] }).runtimeLabels.map((l) => l.value.key)).toEqual(["team"]);
  });

  it("names random clusters within core's name rules", () => {
    for (let i = 0; i < 20; i++) expect(randomClusterName()).toMatch(/^sdk-[0-9a-f]{8}$/);
  });
});
