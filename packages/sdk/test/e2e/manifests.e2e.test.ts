/**
 * Manifests, rollouts, Helm and environments on Docker with the k3s stand-in (a test double: server-side
 * apply, workload controllers, pods run as processes of the node with its busybox, and an imitation of
 * k3s's helm-controller for local charts; repo and OCI charts fail as klipper-helm does without a
 * network), with the real kubectl as referee: a kustomized directory applied, applied again (nothing
 * changes), deleted; waitForRollout of a Deployment, a StatefulSet, a DaemonSet and Jobs (one failing);
 * a local chart installed with merged values, upgraded, uninstalled, and a repo chart that cannot be
 * fetched; `up`/`down` of an environment with a chart, manifests and an endpoint that makes its own
 * cluster. Workloads serve or sleep with busybox from a shell command, so the same runs on a real k3s
 * (K3TS_E2E_K3S_IMAGE); each pod has its own port, as the stand-in's pods share the node's network.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isK3tsError, type Runtime } from "@k3ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCluster, getCluster, type Cluster } from "../../src/cluster.ts";
import { installHelmChart, uninstallHelmChart } from "../../src/helm.ts";
import { applyManifests, deleteManifests, type KubeObject } from "../../src/manifests.ts";
import { waitForRollout } from "../../src/manifests-rollout.ts";
import { down, up, type UpEvent } from "../../src/up.ts";
import { CAP_ADD, K3S_IMAGE, LB_IMAGE, POD_IMAGE, PRIVILEGED, API_ENGINES, runtimeFor, fixtures, fresh, kubectl, leftovers, testOptions } from "./helpers.ts";

const dir = join(fixtures, "manifests", "base");
const chart = join(fixtures, "chart");

/** A busybox container: a shell command, in the test machine's busybox image (imported into the nodes first). */
const sh = (script: string, extra: Record<string, unknown> = {}) => ({ name: "main", image: POD_IMAGE, command: ["sh", "-c", script], ...extra });
const httpd = (name: string, port: number) =>
  sh(`mkdir -p /tmp/www-${name} && echo ${name} > /tmp/www-${name}/index.html && exec httpd -f -p ${port} -h /tmp/www-${name}`, { ports: [{ name: "http", containerPort: port }] });
const podTemplate = (app: string, container: object, restartPolicy?: string) => ({ metadata: { labels: { app } }, spec: { ...(restartPolicy ? { restartPolicy } : {}), containers: [container] } });
const NS = "e2e-rollout";
const workloads: KubeObject[] = [
  { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
  { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: NS }, spec: { replicas: 1, selector: { matchLabels: { app: "web" } }, template: podTemplate("web", httpd("web", 8082)) } },
  { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "db", namespace: NS }, spec: { replicas: 1, serviceName: "db", selector: { matchLabels: { app: "db" } }, template: podTemplate("db", sh("exec sleep 3600")) } },
  { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "agent", namespace: NS }, spec: { selector: { matchLabels: { app: "agent" } }, template: podTemplate("agent", sh("exec sleep 3600")) } },
  { apiVersion: "batch/v1", kind: "Job", metadata: { name: "migrate", namespace: NS }, spec: { backoffLimit: 0, template: podTemplate("migrate", sh("echo migrated"), "Never") } },
];

for (const engine of API_ENGINES) {
  const runtime = await runtimeFor(engine);
  describe.skipIf(!runtime)(`manifests on ${engine} (k3s stand-in), kubectl as referee`, () => {
    const rt = runtime as Runtime;
    let cluster: Cluster;
    let name: string;
    let kubeconfig: string;

    beforeAll(async () => {
      name = await fresh(rt, `sdk-e2e-manifests-${engine[0]}`);
      cluster = await createCluster({ ...testOptions(name, rt), loadBalancer: false });
      kubeconfig = await cluster.writeKubeconfig();
      const imported = await cluster.importImages([POD_IMAGE]);
      expect(imported.warnings).toEqual([]);
    }, 180_000);

    afterAll(async () => {
      if (name && (await leftovers(rt, name)).length) await cluster?.delete();
    });

    it("applies a kustomized directory with server-side apply (field manager k3ts), then again without changes, then deletes it", async () => {
      const kc = await cluster.kubeConfig();
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

    it("waitForRollout waits for a Deployment, a StatefulSet, a DaemonSet and a Job that succeeds", async () => {
      const kc = await cluster.kubeConfig();
      await applyManifests(kc, workloads);
      const seen: string[] = [];
      await waitForRollout(kc, workloads, { timeout: "3m", onStatus: (o, s) => seen.push(`${o}: ${s}`) });
      expect(seen.filter((s) => s.endsWith("rolled out")).sort()).toEqual(
        ["DaemonSet/e2e-rollout/agent", "Deployment/e2e-rollout/web", "Job/e2e-rollout/migrate", "StatefulSet/e2e-rollout/db"].map((o) => `${o}: rolled out`),
      );
      // kubectl agrees: every rollout is complete, the job succeeded and printed its line.
      for (const w of ["deployment/web", "statefulset/db", "daemonset/agent"]) {
        const r = await kubectl(kubeconfig, ["rollout", "status", w, "-n", NS, "--timeout=10s"]);
        expect(r.exitCode, `${w}: ${r.stdout}${r.stderr}`).toBe(0);
      }
      const job = await kubectl(kubeconfig, ["get", "job", "migrate", "-n", NS, "-o", "jsonpath={.status.succeeded}"]);
      expect(job.stdout).toBe("1");
      expect((await kubectl(kubeconfig, ["logs", "job/migrate", "-n", NS])).stdout.trim()).toBe("migrated");
    }, 240_000);

    it("a Job that fails (backoffLimit 0) is COMMAND_FAILED carrying its pod's log", async () => {
      const kc = await cluster.kubeConfig();
      const failing: KubeObject = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "explode", namespace: NS }, spec: { backoffLimit: 0, template: podTemplate("explode", sh("echo boom; exit 3"), "Never") } };
      await applyManifests(kc, [failing]);
      const err = await waitForRollout(kc, [failing], { timeout: "3m" }).catch((e: unknown) => e);
      expect(isK3tsError(err, "COMMAND_FAILED")).toBe(true);
      const message = (err as Error).message;
      expect(message).toMatch(/^Job\/e2e-rollout\/explode failed: BackoffLimitExceeded: Job has reached the specified backoff limit\n--- pod explode-[a-z0-9]{5} ---\nboom$/);
      expect((err as { meta: { log?: string } }).meta.log).toContain("boom");
      const r = await kubectl(kubeconfig, ["get", "job", "explode", "-n", NS, "-o", "jsonpath={.status.conditions[?(@.type==\"Failed\")].status}"]);
      expect(r.stdout).toBe("True");
    }, 240_000);

    it("installs a local chart with values objects and files merged, upgrades it with a new value, then uninstalls it", async () => {
      const kc = await cluster.kubeConfig();
      const data = async () => {
        const r = await kubectl(kubeconfig, ["get", "configmap", "greeter-config", "-n", "e2e-helm", "-o", "jsonpath={.data}"]);
        expect(r.exitCode, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as Record<string, string>;
      };
      // "yes" stays a string although Helm reads values as YAML 1.1, where a plain yes is a boolean.
      const first = await installHelmChart(kc, { name: "greeter", chart, targetNamespace: "e2e-helm", values: [{ image: POD_IMAGE, config: { color: "yes", size: "medium" } }, join(fixtures, "chart-values.yaml")], timeout: "3m" });
      expect(first).toEqual({ name: "greeter", namespace: "kube-system", jobName: "helm-install-greeter", change: "created" });
      // chart defaults < the values object < the values file.
      expect(await data()).toEqual({ greeting: "hi", color: "yes", size: "large", namespace: "e2e-helm" });
      const objects = await kubectl(kubeconfig, ["get", "deployment,service", "-n", "e2e-helm", "-l", "app.kubernetes.io/managed-by=Helm", "-o", "name"]);
      expect(objects.stdout.trim().split("\n").sort()).toEqual(["deployment.apps/greeter", "service/greeter"]);
      await waitForRollout(kc, [{ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "greeter", namespace: "e2e-helm" } }], { timeout: "2m" });

      const again = await installHelmChart(kc, { name: "greeter", chart, targetNamespace: "e2e-helm", values: [{ image: POD_IMAGE, config: { color: "yes", size: "medium" } }, join(fixtures, "chart-values.yaml")], timeout: "3m" });
      expect(again.change).toBe("unchanged");

      // Only the ConfigMap changes (a new pod template would need the port its old pod holds on the stand-in's shared network).
      const upgraded = await installHelmChart(kc, { name: "greeter", chart, targetNamespace: "e2e-helm", values: [{ image: POD_IMAGE, config: { color: "green", size: "medium" } }, join(fixtures, "chart-values.yaml")], timeout: "3m" });
      expect(upgraded.change).toBe("configured");
      expect(await data()).toEqual({ greeting: "hi", color: "green", size: "large", namespace: "e2e-helm" });
      const releases = await kubectl(kubeconfig, ["get", "secret", "-n", "e2e-helm", "-l", "owner=helm,name=greeter", "-o", "jsonpath={range .items[*]}{.metadata.labels.version}={.metadata.labels.status} {end}"]);
      expect(releases.stdout.trim().split(" ").sort()).toEqual(["1=superseded", "2=deployed"]);

      expect(await uninstallHelmChart(kc, { name: "greeter", timeout: "3m" })).toEqual({ deleted: true });
      const gone = await kubectl(kubeconfig, ["get", "configmap/greeter-config", "deployment/greeter", "service/greeter", "-n", "e2e-helm", "--ignore-not-found", "-o", "name"]);
      expect(gone.exitCode, gone.stderr).toBe(0);
      expect(gone.stdout.trim()).toBe("");
      const chartGone = await kubectl(kubeconfig, ["get", "helmchart", "greeter", "-n", "kube-system"]);
      expect(chartGone.stderr).toContain('helmcharts.helm.cattle.io "greeter" not found');
      expect(await uninstallHelmChart(kc, { name: "greeter" })).toEqual({ deleted: false });
    }, 300_000);

    it("a repo chart that cannot be fetched fails with the helm pod's log (no such host), not after the whole timeout", async () => {
      const kc = await cluster.kubeConfig();
      // The helm Job retries with backoffLimit 1000 and never turns Failed; the SDK reads its pod. A
      // timeout longer than this test's own limit: only that early failure can pass.
      const err = await installHelmChart(kc, { name: "unreachable", chart: "nginx", repo: "https://charts.example.invalid", timeout: "10m" }).catch((e: unknown) => e);
      expect(isK3tsError(err, "COMMAND_FAILED")).toBe(true);
      const message = (err as Error).message;
      // The same failure three runs in a row (the kubelet's back-off: 10 s, then 20 s) is final.
      expect(message).toMatch(/^HelmChart\/kube-system\/unreachable: job helm-install-unreachable: helm failed 3 times the same way \(pod helm-install-unreachable-[a-z0-9]{5}: helm exited with code 1/);
      expect(message).toContain("charts.example.invalid");
      expect((err as { meta: { log?: string } }).meta.log).toContain("no such host");
    }, 180_000);

    it("a chart that fails once (its CRD applied beside it, a moment later) installs on the helm-controller's next run", async () => {
      const kc = await cluster.kubeConfig();
      const crd = {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "widgets.example.k3ts.io" },
        spec: {
          group: "example.k3ts.io",
          scope: "Namespaced",
          names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
          versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } } } }],
        },
      };
      const seen: string[] = [];
      const install = installHelmChart(kc, { name: "widget", chart: join(fixtures, "widget-chart"), targetNamespace: "e2e-widget", timeout: "2m", onStatus: (s) => seen.push(s) });
      // The first helm run fails (no Widget kind yet); the CRD arrives while the kubelet backs off.
      for (let i = 0; i < 60 && !seen.some((s) => s.includes("helm failed 1 time(s)")); i++) await new Promise((r) => setTimeout(r, 500));
      expect(seen.some((s) => s.includes('no matches for kind "Widget"')), seen.join("\n")).toBe(true);
      await applyManifests(kc, [crd]);
      expect(await install).toMatchObject({ name: "widget", jobName: "helm-install-widget" });
      const w = await kubectl(kubeconfig, ["get", "widget", "widget", "-n", "e2e-widget", "-o", "jsonpath={.spec.size}"]);
      expect(w.stdout, w.stderr).toBe("small");
    }, 180_000);

    it("a local chart of 600 KB (a large CRD-like template, as charts carry) packages whole and installs", async () => {
      const kc = await cluster.kubeConfig();
      const dir = await mkdtemp(join(tmpdir(), "k3ts-big-chart-"));
      await mkdir(join(dir, "templates"), { recursive: true });
      await writeFile(join(dir, "Chart.yaml"), "apiVersion: v2\nname: big\nversion: 0.1.0\n");
      // 600 KB of data that does not compress away (random), so the chart stays large in its HelmChart too.
      const blob = randomBytes(450 * 1024).toString("base64");
      await writeFile(join(dir, "templates", "big.yaml"), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: ${blob}\n`);
      const r = await installHelmChart(kc, { name: "big", chart: dir, targetNamespace: "e2e-big", timeout: "2m" });
      expect(r.jobName).toBe("helm-install-big");
      const got = await kubectl(kubeconfig, ["get", "configmap", "big", "-n", "e2e-big", "-o", "jsonpath={.data.blob}"]);
      expect(got.stdout.length).toBe(blob.length);
      expect(createHash("sha256").update(got.stdout).digest("hex")).toBe(createHash("sha256").update(blob).digest("hex"));
    }, 180_000);

    it("up makes the environment's cluster, installs a chart, applies manifests and opens an endpoint that answers; a second up changes nothing; down deletes it all", async () => {
      const envName = await fresh(rt, `sdk-e2e-env-${engine[0]}`);
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
          ...(CAP_ADD.length ? ["    capAdd:", ...CAP_ADD.map((c) => `      - ${c}`)] : []),
          `    images: [${POD_IMAGE}]`,
          "    timeout: 150s",
          "  helm:",
          "    - name: greeter",
          `      chart: ${chart}`,
          "      targetNamespace: e2e-up",
          "      values:",
          "        - greeting: hello-from-up",
          `          image: ${POD_IMAGE}`,
          "      timeout: 3m",
          "  manifests:",
          "    - name: app",
          `      sources: [${dir}]`,
          "  endpoints:",
          "    - name: web",
          "      service: greeter",
          "      namespace: e2e-up",
          "      port: http",
          "      dependsOn: [greeter]",
          "",
        ].join("\n"),
      );
      expect(LB_IMAGE).toBeTruthy();
      const opened: Array<{ close(): Promise<void> }> = [];
      try {
        const events: string[] = [];
        const describe = (e: UpEvent) => (e.type === "endpoint" ? `endpoint ${e.step} ${e.url}` : e.type === "images" ? `images +${e.imported.join(",")} =${e.skipped.join(",")} ${e.warnings.length} warnings` : e.type);
        const first = await up(file, { runtime: rt, environment: {}, onEvent: (e) => events.push(describe(e)) });
        opened.push(first);
        expect(first.cluster?.created).toBe(true);
        expect(first.steps).toEqual([
          { name: "greeter", kind: "helm", changed: 1, unchanged: 0 },
          { name: "app", kind: "manifests", changed: 5, unchanged: 0 },
          { name: "web", kind: "endpoint", changed: 0, unchanged: 0 },
        ]);
        const web = first.endpoints.get("web")!;
        expect(events).toContain(`endpoint web ${web.url}`);
        // The image went into the node before the chart that runs it.
        expect(events.indexOf(`images +${POD_IMAGE} = 0 warnings`)).toBeGreaterThan(events.indexOf("cluster"));
        await web.ready;
        const res = await fetch(`${web.url}/`, { headers: { connection: "close" } });
        expect(res.status).toBe(200);
        expect((await res.text()).trim()).toBe("hello-from-up");
        const path = await first.cluster!.writeKubeconfig();
        const get = await kubectl(path, ["get", "configmap", "settings", "-n", "e2e-shop", "-o", "jsonpath={.data.color}"]);
        expect(get.stdout).toBe("blue");
        const greeting = await kubectl(path, ["get", "configmap", "greeter-config", "-n", "e2e-up", "-o", "jsonpath={.data.greeting}"]);
        expect(greeting.stdout).toBe("hello-from-up");
        await first.close();
        expect(web.closed).toBe(true);

        const secondEvents: string[] = [];
        const second = await up(file, { runtime: rt, environment: {}, onEvent: (e) => secondEvents.push(describe(e)) });
        expect(secondEvents).toContain(`images + =${POD_IMAGE} 0 warnings`);
        opened.push(second);
        expect(second.cluster?.created).toBe(false);
        expect(second.changed).toBe(0);
        expect(second.steps.map((s) => `${s.name} ${s.changed}/${s.unchanged}`)).toEqual(["greeter 0/1", "app 0/5", "web 0/0"]);
        const again = second.endpoints.get("web")!;
        await again.ready;
        expect((await (await fetch(`${again.url}/`, { headers: { connection: "close" } })).text()).trim()).toBe("hello-from-up");
        await second.close();

        const result = await down(file, { runtime: rt, environment: {} });
        expect(result).toEqual({
          steps: [
            { name: "app", kind: "manifests", removed: 5 },
            { name: "greeter", kind: "helm", removed: 1 },
          ],
          clusterDeleted: true,
        });
        expect(await leftovers(rt, envName)).toEqual([]);
        const gone = await getCluster(envName, { runtime: rt }).catch((e: unknown) => e);
        expect(isK3tsError(gone, "CLUSTER_NOT_FOUND")).toBe(true);
      } finally {
        for (const o of opened) await o.close();
        if ((await leftovers(rt, envName)).length) await (await getCluster(envName, { runtime: rt, keep: false })).delete();
      }
    }, 300_000);
  });
}
