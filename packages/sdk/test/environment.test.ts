/**
 * Environments: parsing (errors at FILE:LINE with the path), dependency order, and up/down against
 * the fake API server through an existing-cluster kubeconfig: order, idempotence (a second up
 * changes nothing), down in reverse.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isK3tsError } from "@k3ts/core";
import { environmentSteps, parseEnvironment } from "../src/environment.ts";
import { down, up, type EnvironmentTarget } from "../src/up.ts";
import { FakeApiServer, HELMCHART_DISCOVERY } from "./manifests-fake-api.ts";

const envDir = fileURLToPath(new URL("./manifests-data/env/", import.meta.url));

const ENV = (kubeconfig: string) => `apiVersion: k3ts.io/v1alpha1
kind: Environment
metadata:
  name: shop
spec:
  cluster:
    kubeconfig: ${kubeconfig}
    context: fake
  manifests:
    - name: app
      sources: [app.yaml]
      dependsOn: [redis]
    - name: namespace
      sources: [ns.yaml]
  helm:
    - name: redis
      chart: redis
      repo: https://charts.example.com
      targetNamespace: shop
      values: [redis-values.yaml, { auth: { enabled: false } }]
      dependsOn: [namespace]
`;

async function parseError(text: string): Promise<string> {
  const err = await parseEnvironment(text, "k3ts.yaml").catch((e: unknown) => e);
  if (!isK3tsError(err, "INVALID_ARGUMENT")) throw new Error(`expected INVALID_ARGUMENT, got ${String(err)}`);
  return err.message;
}

describe("parseEnvironment", () => {
  it("orders steps by dependsOn, else helm, manifests, endpoints in file order", async () => {
    const env = await parseEnvironment(ENV("kc.yaml"), join(envDir, "k3ts.yaml"));
    expect(environmentSteps(env).map((s) => `${s.type}:${s.name}`)).toEqual(["manifests:namespace", "helm:redis", "manifests:app"]);
    expect(env.cluster).toEqual({ kubeconfig: "kc.yaml", context: "fake" });
    expect(env.helm[0]!.values).toEqual([join(envDir, "redis-values.yaml"), { auth: { enabled: false } }]);
  });

  it("carries a chart's other HelmChart fields (plainHTTP for an oci:// chart in a k3ts registry, jobImage …), checked by the schema", async () => {
    const text = ENV("kc.yaml").replace("      dependsOn: [namespace]\n", "      dependsOn: [namespace]\n      plainHTTP: true\n      jobImage: mirror.example.com/rancher/klipper-helm:v0.9.8\n      helmTimeout: 10m\n      failurePolicy: abort\n");
    const env = await parseEnvironment(text, join(envDir, "k3ts.yaml"));
    expect(env.helm[0]!.chartFields).toEqual({ plainHTTP: true, jobImage: "mirror.example.com/rancher/klipper-helm:v0.9.8", helmTimeout: "10m", failurePolicy: "abort" });
    const bad = await parseError(ENV("kc.yaml").replace("      dependsOn: [namespace]\n", "      dependsOn: [namespace]\n      failurePolicy: retry\n"));
    expect(bad).toMatch(/k3ts\.yaml:\d+:\d+.*\/spec\/helm\/0\/failurePolicy/);
  });

  it("names the file, line, column and JSON pointer of what is wrong (core's schema and rules)", async () => {
    const head = "apiVersion: k3ts.io/v1alpha1\nkind: Environment\nmetadata:\n  name: x\nspec:\n";
    const one = (line: string) => `k3ts.yaml is not a valid environment (1 problem):\n  ${line}`;
    expect(await parseError(`${head}  cluster: { name: dev }\n  manifests:\n    - name: a\n      sources: [a.yaml]\n      dependsOn: [nope]\n`)).toBe(
      one("k3ts.yaml:10:19: /spec/manifests/0/dependsOn/0: no helm release, manifests or endpoint is named nope"),
    );
    expect(await parseError(`${head}  cluster: { name: dev }\n  manifests:\n    - name: a\n      sources: [a.yaml]\n      dependsOn: [b]\n    - name: b\n      sources: [b.yaml]\n      dependsOn: [a]\n`)).toBe(
      one("k3ts.yaml:10:18: /spec/manifests/0/dependsOn: dependsOn has a cycle among a, b"),
    );
    expect(await parseError(`${head}  cluster: { name: dev }\n  helm:\n    - name: a\n      chart: x\n  endpoints:\n    - name: a\n      service: web\n      port: 80\n`)).toBe(
      one("k3ts.yaml:11:13: /spec/endpoints/0/name: a is already the name of /spec/helm/0"),
    );
    expect(await parseError(`${head}  cluster: { name: dev, agentz: 2 }\n`)).toMatch(/^ {2}k3ts\.yaml:6:25: \/spec\/cluster\/agentz: unknown field "agentz" \(did you mean "agents"\?\)/m);
    expect(await parseError(`${head}  cluster: { kubeconfig: kc.yaml, agents: 2 }\n`)).toBe(one("k3ts.yaml:6:35: /spec/cluster/agents: an existing cluster (kubeconfig/context) takes no cluster options"));
    expect(await parseError("apiVersion: k3ts.io/v1alpha1\nkind: Cluster\n")).toBe(one('k3ts.yaml:2:7: /kind: want Environment, got "Cluster" (a Cluster file is for k3ts cluster create --config)'));
    // Every problem at once, in file order.
    const many = await parseError(`${head}  cluster: { name: Dev, agents: -1 }\n  manifests:\n    - name: a\n`);
    expect(many.split("\n").slice(1).map((l) => l.trim().split(": ")[0])).toEqual(["k3ts.yaml:6:20", "k3ts.yaml:6:33", "k3ts.yaml:8:7"]);
  });
});

describe("up / down against an existing cluster (kubeconfig + context)", () => {
  let server: FakeApiServer;
  let file: string;
  beforeEach(async () => {
    server = new FakeApiServer();
    server.discovery["helm.cattle.io/v1"] = HELMCHART_DISCOVERY;
    const kc = await server.start();
    const dir = await mkdtemp(join(tmpdir(), "k3ts-env-"));
    await writeFile(join(dir, "kubeconfig.json"), kc.exportConfig());
    file = join(envDir, "k3ts.yaml");
    // The helm-controller's part: every chart gets its job, and the job completes.
    server.script("/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/redis", [() => ({ status: 200, body: { ...server.objects.get("/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/redis"), status: { jobName: "helm-install-redis" } } })], { once: "stored" });
    server.script("/apis/batch/v1/namespaces/kube-system/jobs/helm-install-redis", [
      { status: 200, body: { apiVersion: "batch/v1", kind: "Job", metadata: { name: "helm-install-redis", namespace: "kube-system", uid: "j1", generation: 1 }, status: { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] } } },
    ]);
    const text = ENV(join(dir, "kubeconfig.json"));
    const { parseEnvironment: parse } = await import("../src/environment.ts");
    env = await parse(text, file);
  });
  afterEach(() => server.close());
  let env: Awaited<ReturnType<typeof parseEnvironment>>;

  it("converges in dependency order; a second up changes nothing; down removes in reverse", async () => {
    const events: string[] = [];
    const targets: string[] = [];
    const yes = { confirmTarget: (t: EnvironmentTarget) => (targets.push(`${t.context} ${t.server} ${t.k3ts}`), true) };
    const first = await up(env, { ...yes, onEvent: (e) => e.type === "step-done" && events.push(`${e.step} +${e.changed}`) });
    expect(targets).toEqual([`fake ${server.url} false`]);
    expect(events).toEqual(["namespace +1", "redis +1", "app +1"]);
    expect(first.changed).toBe(3);
    const patches = server.requests.filter((r) => r.method === "PATCH").map((r) => r.path.split("?")[0]);
    expect(patches).toEqual(["/api/v1/namespaces/shop", "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/redis", "/api/v1/namespaces/shop/configmaps/app-config"]);
    const chart = server.objects.get("/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/redis")!;
    expect((chart.spec as Record<string, unknown>).valuesContent).toBe("architecture: standalone\nauth:\n  enabled: false\n");

    const second = await up(env, yes);
    expect(second.changed).toBe(0);
    expect(second.steps.map((s) => `${s.name} ${s.changed}/${s.unchanged}`)).toEqual(["namespace 0/1", "redis 0/1", "app 0/1"]);

    server.requests.length = 0;
    server.answer("DELETE", "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/redis", () => {
      server.objects.delete("/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/redis");
      return { status: 200, body: { kind: "Status", apiVersion: "v1", status: "Success" } };
    });
    const result = await down(env, yes);
    expect(server.requests.filter((r) => r.method === "DELETE").map((r) => r.path)).toEqual([
      "/api/v1/namespaces/shop/configmaps/app-config",
      "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/redis",
      "/api/v1/namespaces/shop",
    ]);
    expect(result).toEqual({ steps: [{ name: "app", kind: "manifests", removed: 1 }, { name: "redis", kind: "helm", removed: 1 }, { name: "namespace", kind: "manifests", removed: 1 }], clusterDeleted: false });
  });

  it("a context k3ts did not make is changed only when confirmed: unconfirmed, up and down stop with ABORTED before any request", async () => {
    for (const run of [() => up(env), () => up(env, { confirmTarget: () => false }), () => down(env, { confirmTarget: async () => false })]) {
      server.requests.length = 0;
      const err = await run().catch((e: unknown) => e);
      expect(isK3tsError(err, "ABORTED") && err.message).toBe(`${file}: context fake (${server.url}) was not made by k3ts; nothing was changed there`);
      expect(server.requests).toEqual([]);
    }
  });

  it("a context that is not in the kubeconfig is INVALID_ARGUMENT naming the file", async () => {
    const err = await up({ ...env, cluster: { ...(env.cluster as { kubeconfig: string }), context: "prod" } }).catch((e: unknown) => e);
    expect(isK3tsError(err, "INVALID_ARGUMENT") && err.message).toBe(`${file}: spec.cluster.context: no context prod (there are: fake)`);
  });
});
