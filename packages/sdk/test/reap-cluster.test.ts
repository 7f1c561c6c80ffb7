/** The reaper's step for one cluster, on the memory runtime playing k3s: the cluster goes, and its host-images cache with it. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createCluster, defaultClusterSpec, listClusters } from "@k3ts/core";
import { createMemoryRuntime, k3sImitation, type MemoryRuntime } from "@k3ts/core/testing";
import { hostImagesCacheDir } from "@k3ts/core/internal";
import { reapCluster } from "../src/reap-cluster.ts";

const pki = (f: string) => readFileSync(new URL(`./fixtures/pki/${f}`, import.meta.url), "utf8");
const K3S = "k3ts-test/k3s:imitation";
const made: Array<{ runtime: MemoryRuntime; dir: string }> = [];
afterEach(async () => {
  for (const { runtime, dir } of made.splice(0)) {
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

async function clusterWithCache(): Promise<{ runtime: MemoryRuntime; env: Record<string, string>; cache: string; createId: string }> {
  const runtime = createMemoryRuntime({
    images: [{ ref: K3S, ...k3sImitation({ pki: { ca: pki("ca.crt"), serverCert: pki("server.crt"), serverKey: pki("server.key"), clientCert: pki("client.crt"), clientKey: pki("client.key") } }) }],
  });
  const dir = mkdtempSync(join(tmpdir(), "k3ts-reap-"));
  made.push({ runtime, dir });
  const env = { XDG_STATE_HOME: dir };
  const { createId } = await createCluster(
    { ...defaultClusterSpec(), name: "dev", image: K3S, loadBalancer: { enabled: false, image: K3S }, kubeconfig: { update: false, switchContext: false } },
    { runtime },
  );
  const cache = hostImagesCacheDir("dev", env);
  mkdirSync(join(cache, "blobs"), { recursive: true });
  writeFileSync(join(cache, "blobs", "x"), "cached layer");
  return { runtime, env, cache, createId };
}

describe("reapCluster", () => {
  it("deletes the cluster its program left, then the host-images cache kept for it", async () => {
    const { runtime, env, cache, createId } = await clusterWithCache();
    await reapCluster("dev", runtime, { env, createId });
    expect(await runtime.nodes.list()).toEqual([]);
    expect(await listClusters({ runtime })).toEqual([]);
    expect(existsSync(cache)).toBe(false);
  });

  it("leaves a cluster of the name that another create made, and the cache it uses", async () => {
    const { runtime, env, cache } = await clusterWithCache();
    await reapCluster("dev", runtime, { env, createId: "someone-elses-create" });
    expect((await listClusters({ runtime })).map((c) => c.name)).toEqual(["dev"]);
    expect(readFileSync(join(cache, "blobs", "x"), "utf8")).toBe("cached layer");
  });
});
