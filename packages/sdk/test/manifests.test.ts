/**
 * applyManifests / deleteManifests / waitForRollout against the fake API server (HTTP level, the
 * apiserver's shapes): ordering, idempotence, errors naming the file and the object, CRDs waited
 * for, kustomize, rollout decisions and timeouts.
 */
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KubeConfig } from "@kubernetes/client-node";
import { isK3tsError } from "@k3ts/core";
import { applyManifests, deleteManifests, loadManifests } from "../src/manifests.ts";
import { rolloutState, waitForRollout } from "../src/manifests-rollout.ts";
import { FakeApiServer, status } from "./manifests-fake-api.ts";

const data = fileURLToPath(new URL("./manifests-data/", import.meta.url));
const CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com";

let server: FakeApiServer;
let kc: KubeConfig;

beforeEach(async () => {
  server = new FakeApiServer();
  kc = await server.start();
});
afterEach(() => server.close());

/** The CRD as the apiserver shows it: not yet Established on the first read, then Established (and its group served). */
function establishOnSecondRead(): void {
  let reads = 0;
  server.script(CRD, [
    () => {
      reads++;
      return { status: 200, body: { ...server.objects.get(CRD), status: { conditions: [{ type: "NamesAccepted", status: "True", reason: "NoConflicts" }, { type: "Established", status: "False", reason: "Installing" }] } } };
    },
    () => {
      reads++;
      server.discovery["example.com/v1"] = [{ name: "widgets", singularName: "widget", namespaced: true, kind: "Widget", verbs: ["get", "patch", "delete"] }];
      return { status: 200, body: { ...server.objects.get(CRD), status: { conditions: [{ type: "NamesAccepted", status: "True", reason: "NoConflicts" }, { type: "Established", status: "True", reason: "InitialNamesAccepted" }] } } };
    },
  ], { once: "stored" });
  expect(reads).toBe(0);
}

describe("loadManifests", () => {
  it("reads a directory recursively, *.yaml/*.yml/*.json only, sorted by path, each object placed at file:line", async () => {
    const objects = await loadManifests("dir", { cwd: data });
    expect(objects.map((o) => `${o.object.kind} ${o.source}`)).toEqual([
      "Namespace dir/a-namespace.yaml:1",
      "ConfigMap dir/b-app.yaml:1",
      "Deployment dir/b-app.yaml:8",
      "CustomResourceDefinition dir/sub/crd.json:1",
      "Widget dir/sub/widget.yml:1",
    ]);
  });

  it("builds a directory with a kustomization with kustomize (kubectl kustomize here)", async () => {
    const objects = await loadManifests(`${data}kustomized`);
    expect(objects.map((o) => [o.object.metadata.name, o.object.metadata.namespace])).toEqual([["k-conf", "kz"]]);
    expect(objects[0]!.source).toMatch(/^kustomize .*kustomized#1$/);
  });

  it("names the file and line of a document that is not an object, and of invalid YAML", async () => {
    const bad = await loadManifests([{ apiVersion: "v1", kind: "ConfigMap", metadata: {} } as never]).catch((e: unknown) => e);
    expect(isK3tsError(bad, "INVALID_ARGUMENT") && bad.message).toBe("objects[0]: ConfigMap: metadata.name is missing");
    const { parseManifests } = await import("../src/manifests.ts");
    const err = await parseManifests("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkind: [\n", "x.yaml").catch((e: unknown) => e);
    expect(isK3tsError(err, "INVALID_ARGUMENT") && err.message).toMatch(/^x\.yaml:\d+:\d+: not valid YAML/);
    const missing = await parseManifests("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkind: Secret\nmetadata:\n  name: b\n", "y.yaml").catch((e: unknown) => e);
    expect(isK3tsError(missing, "INVALID_ARGUMENT") && missing.message).toBe("y.yaml:6: apiVersion is missing");
  });

  it("a missing path is FILE_NOT_FOUND naming it", async () => {
    const err = await loadManifests("nowhere", { cwd: data }).catch((e: unknown) => e);
    expect(isK3tsError(err, "FILE_NOT_FOUND") && err.message).toBe("nowhere: no such file or directory");
  });
});

describe("applyManifests", () => {
  it("applies Namespaces, then CRDs (waited for until Established), then the rest, with SSA as field manager k3ts; a second apply changes nothing", async () => {
    establishOnSecondRead();
    const first = await applyManifests(kc, "dir", { cwd: data });
    const patches = server.requests.filter((r) => r.method === "PATCH");
    expect(patches.map((r) => r.path)).toEqual([
      "/api/v1/namespaces/shop?fieldManager=k3ts&fieldValidation=Strict&force=true",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com?fieldManager=k3ts&fieldValidation=Strict&force=true",
      "/api/v1/namespaces/default/configmaps/settings?fieldManager=k3ts&fieldValidation=Strict&force=true",
      "/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=k3ts&fieldValidation=Strict&force=true",
      "/apis/example.com/v1/namespaces/shop/widgets/gear?fieldManager=k3ts&fieldValidation=Strict&force=true",
    ]);
    expect(new Set(patches.map((r) => r.contentType))).toEqual(new Set(["application/apply-patch+yaml"]));
    // The CRD was read until Established before anything that is not a Namespace or CRD was applied.
    const order = server.requests.map((r) => `${r.method} ${r.path.split("?")[0]}`);
    expect(order.lastIndexOf(`GET ${CRD}`)).toBeLessThan(order.indexOf("PATCH /api/v1/namespaces/default/configmaps/settings"));
    expect(order.filter((r) => r === `GET ${CRD}`).length).toBeGreaterThanOrEqual(3); // before the apply, then twice until Established
    expect(first.objects.map((o) => `${o.kind}/${o.name} ${o.change}`)).toEqual([
      "Namespace/shop created",
      "CustomResourceDefinition/widgets.example.com created",
      "ConfigMap/settings created",
      "Deployment/web created",
      "Widget/gear created",
    ]);
    expect(first).toMatchObject({ changed: 5, unchanged: 0 });

    const second = await applyManifests(kc, "dir", { cwd: data });
    expect(second).toMatchObject({ changed: 0, unchanged: 5 });
  });

  it("reports configured when an object's content changed, and sends the object as given (no client-side defaults, no managedFields)", async () => {
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "a", managedFields: [{ manager: "x" }] }, data: { k: "1" }, unknownField: true };
    await applyManifests(kc, [cm]);
    const sent = server.requests.find((r) => r.method === "PATCH")!.body as Record<string, unknown>;
    expect(sent).toEqual({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "a" }, data: { k: "1" }, unknownField: true });
    const again = await applyManifests(kc, [{ ...cm, data: { k: "2" } }]);
    expect(again.objects[0]!.change).toBe("configured");
  });

  it("force: false leaves force off; the server's conflict comes back as KUBE_API_ERROR naming source and object", async () => {
    server.answer("PATCH", "/api/v1/namespaces/default/configmaps/settings?fieldManager=k3ts&fieldValidation=Strict", status(409, "Conflict", 'Apply failed with 1 conflict: conflict with "kubectl": .data.mode'));
    const err = await applyManifests(kc, "dir/b-app.yaml", { cwd: data, force: false }).catch((e: unknown) => e);
    expect(isK3tsError(err, "KUBE_API_ERROR")).toBe(true);
    const e = err as { message: string; meta: Record<string, unknown> };
    expect(e.message).toBe('dir/b-app.yaml:1: applying ConfigMap/default/settings: Apply failed with 1 conflict: conflict with "kubectl": .data.mode (HTTP 409)');
    expect(e.meta).toMatchObject({ source: "dir/b-app.yaml:1", object: "ConfigMap/default/settings", status: 409, reason: "Conflict" });
  });

  it("a kind the cluster does not serve is KUBE_API_ERROR naming the file and the kind", async () => {
    const err = await applyManifests(kc, "dir/sub/widget.yml", { cwd: data }).catch((e: unknown) => e);
    expect(isK3tsError(err, "KUBE_API_ERROR") && err.message).toBe("dir/sub/widget.yml:1: Widget/shop/gear: the cluster serves no Widget in example.com/v1 (is its CRD installed?)");
  });

  it("a CRD that never becomes Established is TIMEOUT naming it", async () => {
    server.script(CRD, [() => ({ status: 200, body: { ...server.objects.get(CRD), status: { conditions: [{ type: "Established", status: "False" }] } } })], { once: "stored" });
    const err = await applyManifests(kc, "dir/sub/crd.json", { cwd: data, crdTimeout: 0 }).catch((e: unknown) => e);
    expect(isK3tsError(err, "TIMEOUT") && err.message).toBe("dir/sub/crd.json:1: CustomResourceDefinition/widgets.example.com was not Established within 0 ms");
  });

  it("applies objects and URLs", async () => {
    server.answer("GET", "/manifests/cm.yaml", { status: 200, body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-url\n", contentType: "application/yaml" });
    const r = await applyManifests(kc, [`${server.url}/manifests/cm.yaml`, { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: { a: "b" } }], { namespace: "ns1" });
    expect(r.objects.map((o) => `${o.kind}/${o.namespace}/${o.name} ${o.source}`)).toEqual([`ConfigMap/ns1/from-url ${server.url}/manifests/cm.yaml#1`, "Secret/ns1/s objects[0]"]);
  });
});

describe("deleteManifests", () => {
  it("deletes in reverse apply order (the rest last-first, then CRDs, then Namespaces), 404s counted as missing", async () => {
    establishOnSecondRead();
    await applyManifests(kc, "dir", { cwd: data });
    server.objects.delete("/api/v1/namespaces/default/configmaps/settings");
    server.requests.length = 0;
    const result = await deleteManifests(kc, "dir", { cwd: data });
    expect(server.requests.filter((r) => r.method === "DELETE").map((r) => r.path)).toEqual([
      "/apis/example.com/v1/namespaces/shop/widgets/gear",
      "/apis/apps/v1/namespaces/shop/deployments/web",
      "/api/v1/namespaces/default/configmaps/settings",
      CRD,
      "/api/v1/namespaces/shop",
    ]);
    expect(result).toEqual({
      deleted: ["Widget/shop/gear", "Deployment/shop/web", "CustomResourceDefinition/widgets.example.com", "Namespace/shop"],
      missing: ["ConfigMap/default/settings"],
    });
  });

  it("takes an apply result, and a kind no longer served is missing, not an error", async () => {
    const applied = await applyManifests(kc, [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }]);
    const result = await deleteManifests(kc, { ...applied, objects: [...applied.objects, { ...applied.objects[0]!, apiVersion: "gone.io/v1", kind: "Gone", name: "g" }] });
    expect(result).toEqual({ deleted: ["ConfigMap/default/x"], missing: ["Gone/default/g"] });
  });
});

describe("waitForRollout", () => {
  const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "shop" }, spec: { replicas: 2 } };
  const path = "/apis/apps/v1/namespaces/shop/deployments/web";
  const at = (generation: number, st: Record<string, unknown>) => ({ status: 200, body: { ...deployment, metadata: { ...deployment.metadata, generation }, status: st } });

  it("waits through the Deployment's status transitions (observedGeneration, updated, old replicas, available) and reports each", async () => {
    server.script(path, [
      at(2, { observedGeneration: 1, replicas: 2, updatedReplicas: 0, availableReplicas: 2 }),
      at(2, { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 }),
      at(2, { observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2 }),
      at(2, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1 }),
      at(2, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }),
    ]);
    const seen: string[] = [];
    await waitForRollout(kc, [deployment, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ignored" } }], { intervalMs: 1, onStatus: (_o, s) => seen.push(s) });
    expect(seen).toEqual([
      "waiting for the controller to observe generation 2 (observed 1)",
      "1 of 2 replicas updated",
      "1 old replicas pending termination",
      "1 of 2 updated replicas available",
      "rolled out",
    ]);
  });

  it("a rollout that does not finish in time is TIMEOUT naming the object and what it waited for", async () => {
    server.script(path, [at(1, { observedGeneration: 1, replicas: 2, updatedReplicas: 1, availableReplicas: 1 })]);
    const err = await waitForRollout(kc, [deployment], { timeout: 0 }).catch((e: unknown) => e);
    expect(isK3tsError(err, "TIMEOUT") && err.message).toBe("not rolled out within 0 ms: Deployment/shop/web (1 of 2 replicas updated)");
  });

  it("a failed Job is COMMAND_FAILED with its pod's log", async () => {
    const job = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "migrate", namespace: "shop" } };
    server.script("/apis/batch/v1/namespaces/shop/jobs/migrate", [
      { status: 200, body: { ...job, metadata: { ...job.metadata, generation: 1 }, status: { active: 1 } } },
      { status: 200, body: { ...job, metadata: { ...job.metadata, generation: 1 }, status: { failed: 2, conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" }] } } },
    ]);
    server.answer("GET", "/api/v1/namespaces/shop/pods?labelSelector=job-name%3Dmigrate", {
      status: 200,
      body: { kind: "PodList", apiVersion: "v1", metadata: {}, items: [{ metadata: { name: "migrate-x7k2p", namespace: "shop", creationTimestamp: "2026-01-01T00:00:01Z" }, status: { containerStatuses: [{ name: "main", restartCount: 0 }] } }] },
    });
    server.answer("GET", "/api/v1/namespaces/shop/pods/migrate-x7k2p/log?tailLines=40", { status: 200, body: "error: relation \"users\" does not exist\n", contentType: "text/plain" });
    const err = await waitForRollout(kc, [job], { intervalMs: 1 }).catch((e: unknown) => e);
    expect(isK3tsError(err, "COMMAND_FAILED") && err.message).toBe(
      'Job/shop/migrate failed: BackoffLimitExceeded: Job has reached the specified backoff limit\n--- pod migrate-x7k2p ---\nerror: relation "users" does not exist',
    );
  });

  it("decides StatefulSets and DaemonSets as kubectl rollout status does", () => {
    const sts = (spec: object, st: object) => rolloutState({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "db", generation: 1 }, spec: { replicas: 3, ...spec }, status: { observedGeneration: 1, ...st } });
    expect(sts({ updateStrategy: { type: "OnDelete" } }, {})).toMatchObject({ failed: expect.stringContaining("RollingUpdate") });
    expect(sts({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } } }, { readyReplicas: 3, updatedReplicas: 2 })).toEqual({ done: true });
    expect(sts({ updateStrategy: { type: "RollingUpdate" } }, { readyReplicas: 3, updateRevision: "b", currentRevision: "a" })).toMatchObject({ done: false });
    const ds = (st: object) => rolloutState({ apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "agent", generation: 1 }, spec: {}, status: { observedGeneration: 1, ...st } });
    expect(ds({ desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 1 })).toEqual({ done: false, waiting: "1 of 2 updated pods available" });
    expect(ds({ desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 })).toEqual({ done: true });
    expect(rolloutState({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } })).toBeUndefined();
  });
});
