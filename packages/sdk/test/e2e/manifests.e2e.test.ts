/**
 * Manifests and environments on Docker with the k3s stand-in (a test double: it serves ConfigMaps,
 * Secrets, ServiceAccounts and Namespaces with server-side apply; no workloads, CRDs or
 * helm-controller), with the real kubectl as referee: a kustomized directory applied, applied again
 * (nothing changes), deleted; `up`/`down` of an environment that makes its own cluster.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isK3tsError, type Runtime } from "@k3ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCluster, getCluster, type Cluster } from "../../src/cluster.ts";
import { applyManifests, deleteManifests } from "../../src/manifests.ts";
import { down, up } from "../../src/up.ts";
import { K3S_IMAGE, LB_IMAGE, PRIVILEGED, docker, fixtures, fresh, kubectl, leftovers, testOptions } from "./helpers.ts";

const runtime = await docker();
const dir = join(fixtures, "manifests", "base");

describe.skipIf(!runtime)("manifests on Docker (k3s stand-in), kubectl as referee", () => {
  const rt = runtime as Runtime;
  let cluster: Cluster;
  let name: string;
  let kubeconfig: string;

  beforeAll(async () => {
    name = await fresh(rt, "sdk-e2e-manifests");
    cluster = await createCluster({ ...testOptions(name, rt), loadBalancer: false });
    kubeconfig = await cluster.writeKubeconfig();
  }, 180_000);

  afterAll(async () => {
    if (name && (await leftovers(rt, name)).length) await cluster?.delete();
  });

  it("applies a kustomized directory with server-side apply (field manager k3ts), then again without changes, then deletes it", async () => {
    const kc = await cluster.kubeClient();
    const first = await applyManifests(kc, dir);
    expect(first.objects.map((o) => `${o.kind}/${o.name} ${o.change}`)).toEqual([
      // kustomize's own order (it sorts by kind), Namespaces first.
      "Namespace/e2e-shop created",
      "ServiceAccount/worker created",
      "ConfigMap/generated created",
      "ConfigMap/settings created",
      "Secret/token created",
    ]);
    const get = await kubectl(kubeconfig, ["get", "configmap,secret,serviceaccount", "-n", "e2e-shop", "-o", "name"]);
    expect(get.exitCode, get.stderr).toBe(0);
    expect(get.stdout.split("\n").filter((l) => /generated|settings|token|worker/.test(l)).sort()).toEqual(["configmap/generated", "configmap/settings", "secret/token", "serviceaccount/worker"]);
    const managers = await kubectl(kubeconfig, ["get", "configmap", "settings", "-n", "e2e-shop", "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[*].manager} {.metadata.managedFields[*].operation} {.data.color}"]);
    expect(managers.stdout).toBe("k3ts Apply blue");
    const secret = await kubectl(kubeconfig, ["get", "secret", "token", "-n", "e2e-shop", "-o", "jsonpath={.data.token}"]);
    expect(Buffer.from(secret.stdout, "base64").toString()).toBe("s3cret");

    const second = await applyManifests(kc, dir);
    expect(second).toMatchObject({ changed: 0, unchanged: 5 });

    const removed = await deleteManifests(kc, dir, { wait: true, timeout: "60s" });
    expect(removed.deleted.at(-1)).toBe("Namespace/e2e-shop");
    const after = await kubectl(kubeconfig, ["get", "namespace", "e2e-shop"]);
    expect(after.exitCode).not.toBe(0);
    expect(after.stderr).toContain('namespaces "e2e-shop" not found');
  }, 120_000);

  it("up makes the environment's cluster and deploys; a second up changes nothing; down deletes both", async () => {
    const envName = await fresh(rt, "sdk-e2e-env");
    const work = await mkdtemp(join(tmpdir(), "k3ts-env-e2e-"));
    const file = join(work, "k3ts.yaml");
    await writeFile(
      file,
      [
        "apiVersion: k3ts.io/v1alpha1",
        "kind: Environment",
        "metadata:",
        "  name: e2e",
        "spec:",
        "  cluster:",
        `    name: ${envName}`,
        `    image: ${K3S_IMAGE}`,
        "    loadBalancer: false",
        `    privileged: ${PRIVILEGED}`,
        "    timeout: 150s",
        "  manifests:",
        "    - name: app",
        `      sources: [${dir}]`,
        "",
      ].join("\n"),
    );
    expect(LB_IMAGE).toBeTruthy();
    try {
      const first = await up(file, { runtime: rt, environment: {} });
      expect(first.cluster?.created).toBe(true);
      expect(first.steps).toEqual([{ name: "app", kind: "manifests", changed: 5, unchanged: 0 }]);
      const path = await first.cluster!.writeKubeconfig();
      const get = await kubectl(path, ["get", "configmap", "settings", "-n", "e2e-shop", "-o", "jsonpath={.data.color}"]);
      expect(get.stdout).toBe("blue");
      await first.close();

      const second = await up(file, { runtime: rt, environment: {} });
      expect(second.cluster?.created).toBe(false);
      expect(second.changed).toBe(0);

      const result = await down(file, { runtime: rt, environment: {} });
      expect(result).toEqual({ steps: [{ name: "app", kind: "manifests", removed: 5 }], clusterDeleted: true });
      expect(await leftovers(rt, envName)).toEqual([]);
      const gone = await getCluster(envName, { runtime: rt }).catch((e: unknown) => e);
      expect(isK3tsError(gone, "CLUSTER_NOT_FOUND")).toBe(true);
    } finally {
      if ((await leftovers(rt, envName)).length) await (await getCluster(envName, { runtime: rt, keep: false })).delete();
    }
  }, 300_000);
});
