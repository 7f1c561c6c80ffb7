/** Host images for a cluster: where the registry listens, what it mirrors, and how a create wires it into the nodes (memory runtime). */
import { Readable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { createCluster } from "../../src/cluster/create.js";
import { defaultClusterSpec } from "../../src/config/merge.js";
import { isK3tsError, K3tsError } from "../../src/errors.js";
import { hostImagesAddress, hostImagesCacheDir, hostImagesMirrorKeys, parseHostImagesMirror, startClusterHostImages, wildcardMirrorSupported } from "../../src/hostimages/cluster.js";
import type { HostImagesRequest } from "../../src/hostimages/types.js";
import type { Runtime } from "../../src/runtime.js";
import { createMemoryRuntime } from "../../src/testing/memory/index.js";
import { buildImage, filler, sha256, tempDir, withStore } from "./helpers.js";

/** `client` with some methods replaced, the others its own. */
function overriding<T extends object>(client: T, overrides: Partial<T>): T {
  return new Proxy(client, {
    get(target, key) {
      if (key in overrides) return overrides[key as keyof T];
      const value = Reflect.get(target, key) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe("the k3s versions that read a * mirror", () => {
  it.each([
    ["rancher/k3s:v1.33.5-k3s1", true],
    ["rancher/k3s:v1.29.3-k3s1", true],
    ["rancher/k3s:v1.29.2-k3s1", false],
    ["rancher/k3s:v1.28.8-k3s1", true],
    ["rancher/k3s:v1.28.7-k3s1", false],
    ["rancher/k3s:v1.27.12-k3s1", true],
    ["rancher/k3s:v1.26.15-k3s1", true],
    ["rancher/k3s:v1.26.14-k3s1", false],
    ["rancher/k3s:v1.25.16-k3s4", false],
    ["rancher/k3s:v1.31.6-k3s1", false],
    ["rancher/k3s:v1.31.7-k3s1", true],
    ["rancher/k3s:v1.32.2-k3s1", false],
    ["rancher/k3s:v1.30.0-rc1-k3s1", true],
    ["registry.local:5000/rancher/k3s:v1.33.5-k3s1", true],
    ["registry.local:5000/k3s", false],
    ["k3ts-test/k3s-standin:2", false],
    ["rancher/k3s:latest", false],
  ])("%s → %s", (image, supported) => {
    expect(wildcardMirrorSupported(image)).toBe(supported);
  });

  it("the mirror keys: docker.io and localhost, the user's, and * where it is read", () => {
    expect(hostImagesMirrorKeys("k3ts-test/k3s-standin:2")).toEqual(["docker.io", "localhost"]);
    expect(hostImagesMirrorKeys("rancher/k3s:v1.33.5-k3s1", ["ghcr.io", "docker.io"])).toEqual(["docker.io", "localhost", "ghcr.io", "*"]);
  });
});

describe("registry hosts the host images mirror", () => {
  it.each(["ghcr.io", "registry.local:5000", "10.0.0.5:5000", "Quay.IO"])("%s is one", (host) => {
    expect(parseHostImagesMirror(host, "m")).toBe(host.toLowerCase());
  });
  it.each(["https://ghcr.io", "ghcr.io/app", "registry:99999", "registry:", "a:b:c", "*", "", "under_score.io"])("%j is not", (host) => {
    expect(() => parseHostImagesMirror(host, "hostImages.mirrors[0]")).toThrow(/^hostImages\.mirrors\[0\]: .* is not a registry host/);
  });
});

describe("where the host images listen", () => {
  const linux = { os: "Debian GNU/Linux 12", capabilities: { rootless: false, hostGateway: true } as never };
  it("the network's gateway, where the nodes reach the host (a rootful engine on Linux)", () => {
    expect(hostImagesAddress(linux, "172.18.0.1", "linux")).toBe("172.18.0.1");
  });
  it("nowhere yet where the nodes reach the host through host-gateway (rootless, or an engine in a VM): a coded error", () => {
    for (const [info, platform] of [
      [{ ...linux, capabilities: { rootless: true, hostGateway: true } as never }, "linux"],
      [linux, "darwin"],
    ] as const) {
      const err = (() => {
        try {
          return hostImagesAddress(info, "10.89.0.1", platform);
        } catch (e) {
          return e;
        }
      })();
      expect(isK3tsError(err, "RUNTIME_CAPABILITY_MISSING")).toBe(true);
    }
    expect(() => hostImagesAddress(linux, undefined, "linux")).toThrow(K3tsError);
  });
  it("never every address", async (t) => {
    for (const address of ["0.0.0.0", "::", "localhost"]) {
      await expect(startClusterHostImages({ runtime: withStore(), cacheDir: await tempDir(t), address })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
  });
  it("the cache under $XDG_STATE_HOME/k3ts/host-images, else ~/.local/state", () => {
    expect(hostImagesCacheDir("dev", { XDG_STATE_HOME: "/s" })).toBe("/s/k3ts/host-images/dev");
    expect(hostImagesCacheDir("dev", { HOME: "/home/u" })).toBe("/home/u/.local/state/k3ts/host-images/dev");
  });
});

describe("what the registry served", () => {
  it("counts manifests and blobs sent, and the blobs' bytes (a HEAD sends none)", async (t) => {
    const runtime = withStore();
    const image = await buildImage(["app:1"], ["small\n", filler(1 << 20, "layer")]);
    await runtime.images.load(Readable.from([image.archive]));
    const registry = await startClusterHostImages({ runtime, cacheDir: await tempDir(t), address: "127.0.0.1" });
    t.onTestFinished(() => registry.close());
    expect(registry.served).toEqual({ manifests: 0, blobs: 0, blobBytes: 0 });
    const manifest = (await (await fetch(`${registry.url}/v2/library/app/manifests/1?ns=docker.io`)).json()) as { config: { digest: string; size: number }; layers: Array<{ digest: string; size: number }> };
    await fetch(`${registry.url}/v2/library/app/blobs/${manifest.config.digest}`, { method: "HEAD" });
    for (const d of [manifest.config, ...manifest.layers]) await (await fetch(`${registry.url}/v2/library/app/blobs/${d.digest}`)).arrayBuffer();
    expect(manifest.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => sha256(l)));
    // Counted once the registry's side of each send has finished (a moment after the client has the bytes).
    await vi.waitFor(() => expect(registry.served).toEqual({ manifests: 1, blobs: 3, blobBytes: manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0) }));
  });
});

/** A memory runtime whose node starts fail ("stop here"), recording the paths written into nodes before. */
function stoppingAtStart(): { runtime: Runtime; paths: string[] } {
  const base = createMemoryRuntime();
  const paths: string[] = [];
  const runtime = overriding<Runtime>(base, {
    nodes: overriding(base.nodes, {
      writeFile: async (node, path, content, o) => (paths.push(path), base.nodes.writeFile(node, path, content, o)),
      start: () => Promise.reject(new K3tsError("COMMAND_FAILED", "stop here")),
    }),
  });
  return { runtime, paths };
}

describe("createCluster with hostImages (memory runtime)", () => {
  const spec = { ...defaultClusterSpec(), name: "hi", image: "k3ts-test/busybox:1", agents: 1, loadBalancer: { enabled: false, image: "" }, kubeconfig: { update: false, switchContext: false } };

  it("serves on the network's gateway once the network is there, before any node; the node's registries.yaml lists it first; a failed create stops it", async () => {
    const base = createMemoryRuntime();
    const events: string[] = [];
    const written = new Map<string, string>();
    const failure = new K3tsError("COMMAND_FAILED", "the node would not start");
    const runtime = overriding<Runtime>(base, {
      nodes: overriding(base.nodes, {
        create: (s, o) => (events.push(`create ${s.name}`), base.nodes.create(s, o)),
        writeFile: async (node, path, content, o) => {
          if (path === "/etc/rancher/k3s/registries.yaml") written.set(node, Buffer.from(content).toString());
          return base.nodes.writeFile(node, path, content, o);
        },
        start: () => Promise.reject(failure),
      }),
    });
    const requests: HostImagesRequest[] = [];
    const hostImages = async (request: HostImagesRequest) => {
      requests.push(request);
      events.push("serve");
      return { endpoint: "http://10.1.2.1:41000", close: async () => void events.push("close") };
    };
    const err = await createCluster({ ...spec, hostImages: { mirrors: ["ghcr.io"] } }, { runtime, hostImages }).catch((e: unknown) => e);
    expect(err).toBe(failure);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.cluster).toBe("hi");
    expect(requests[0]!.address).toBe(requests[0]!.network.gateway);
    expect(requests[0]!.network.name).toBe("k3ts-hi");
    // After the claim and the network, before any node; stopped by the rollback.
    expect(events.filter((e) => !e.includes("_claim"))).toEqual(["serve", "create k3ts-hi-server-0", "close"]);
    expect([...written.keys()]).toEqual(["k3ts-hi-server-0"]);
    for (const text of written.values()) {
      const doc = parse(text) as { mirrors: Record<string, { endpoint: string[] }> };
      expect(doc.mirrors).toEqual({ "docker.io": { endpoint: ["http://10.1.2.1:41000"] }, localhost: { endpoint: ["http://10.1.2.1:41000"] }, "ghcr.io": { endpoint: ["http://10.1.2.1:41000"] } });
    }
    expect(await base.nodes.list()).toEqual([]);
  });

  it("refuses a spec with hostImages when nothing serves them, and leaves nothing", async () => {
    const runtime = createMemoryRuntime();
    const err = await createCluster({ ...spec, hostImages: { mirrors: [] } }, { runtime }).catch((e: unknown) => e);
    expect(isK3tsError(err, "INVALID_ARGUMENT")).toBe(true);
    expect((err as Error).message).toMatch(/^hostImages: /);
    expect(await runtime.nodes.list()).toEqual([]);
    expect(await runtime.networks.list()).toEqual([]);
  });

  it("a server that declines (resolves undefined): the create goes on without host images, and no registries.yaml names them", async () => {
    const { runtime, paths } = stoppingAtStart();
    let asked = 0;
    const err = await createCluster({ ...spec, hostImages: { mirrors: [] } }, { runtime, hostImages: async () => void asked++ }).catch((e: unknown) => e);
    expect(asked).toBe(1);
    // It got as far as starting a node (the refusal injected there), with no registries.yaml written.
    expect((err as Error).message).toBe("stop here");
    expect(paths).not.toContain("/etc/rancher/k3s/registries.yaml");
  });

  it("optional (on by default, not asked for): where the nodes reach the host through host-gateway, no server is asked and the create goes on; asked for, it fails and leaves nothing", async () => {
    const rootless = (runtime: Runtime) =>
      overriding<Runtime>(runtime, { info: async (o) => ({ ...(await runtime.info(o)), capabilities: { ...(await runtime.info(o)).capabilities, rootless: true, hostGateway: true } }) });
    const { runtime, paths } = stoppingAtStart();
    let asked = 0;
    const serve = async () => void asked++;
    const err = await createCluster({ ...spec, hostImages: { mirrors: [], optional: true } }, { runtime: rootless(runtime), hostImages: serve }).catch((e: unknown) => e);
    expect(asked).toBe(0);
    expect((err as Error).message).toBe("stop here");
    expect(paths).not.toContain("/etc/rancher/k3s/registries.yaml");
    const base = createMemoryRuntime();
    const refused = await createCluster({ ...spec, hostImages: { mirrors: [] } }, { runtime: rootless(base), hostImages: serve }).catch((e: unknown) => e);
    expect(isK3tsError(refused, "RUNTIME_CAPABILITY_MISSING")).toBe(true);
    expect(asked).toBe(0);
    expect(await base.nodes.list()).toEqual([]);
    expect(await base.networks.list()).toEqual([]);
  });

  it("without hostImages, no server is asked and no registries.yaml is written", async () => {
    const { runtime, paths } = stoppingAtStart();
    let asked = false;
    await createCluster(spec, { runtime, hostImages: async () => ((asked = true), { endpoint: "http://x:1", close: async () => {} }) }).catch(() => undefined);
    expect(asked).toBe(false);
    expect(paths).not.toContain("/etc/rancher/k3s/registries.yaml");
  });
});

describe("an address that is not there yet (Podman makes a network's bridge when the first container joins it)", () => {
  it("the endpoint is returned at once with a port picked; close() ends the wait", async (t) => {
    const registry = await startClusterHostImages({ runtime: withStore(), cacheDir: await tempDir(t), address: "10.255.255.1" });
    expect(registry.url).toMatch(/^http:\/\/10\.255\.255\.1:\d+$/);
    expect(registry.port).toBeGreaterThan(0);
    await registry.close();
  });

  it("without a wait, it is an error at once naming the address", async (t) => {
    await expect(startClusterHostImages({ runtime: withStore(), cacheDir: await tempDir(t), address: "10.255.255.1", awaitAddressMs: 0 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: "host images: 10.255.255.1 is no address of this machine",
    });
  });
});
