/**
 * installHelmChart / uninstallHelmChart against the fake API server: the HelmChart sent with SSA
 * (values merged in order, set, chartContent packaged from a directory), the wait for
 * status.jobName's Job of the current spec (not the stale one of the previous generation), failures
 * with the helm pod's log, and uninstall waiting out the finalizer.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KubeConfig } from "@kubernetes/client-node";
import { isK3tsError } from "@k3ts/core";
import { SAME_HELM_FAILURE_LIMIT, helmChartObject, installHelmChart, uninstallHelmChart } from "../src/helm.ts";
import { helmIgnore, mergeValues, packageChart } from "../src/helm-chart.ts";
import { FakeApiServer, HELMCHART_DISCOVERY, status } from "./manifests-fake-api.ts";

const data = fileURLToPath(new URL("./manifests-data/", import.meta.url));
const CHART = "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/web";
const JOB = "/apis/batch/v1/namespaces/kube-system/jobs/helm-install-web";

let server: FakeApiServer;
let kc: KubeConfig;
beforeEach(async () => {
  server = new FakeApiServer();
  server.discovery["helm.cattle.io/v1"] = HELMCHART_DISCOVERY;
  kc = await server.start();
});
afterEach(() => server.close());

const job = (uid: string, st: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({
  status: 200,
  body: {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "helm-install-web", namespace: "kube-system", uid, generation: 1, labels: { "helmcharts.helm.cattle.io/chart": "web" }, ...meta },
    spec: { backoffLimit: 1000, template: { metadata: { annotations: { "helmcharts.helm.cattle.io/configHash": "SHA256=00" } } } },
    status: st,
  },
});
const complete = { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] };

/** The helm-controller's part: status.jobName and JobCreated once the chart exists. */
function controllerSetsJobName(): void {
  server.script(CHART, [() => ({ status: 200, body: { ...server.objects.get(CHART), status: { jobName: "helm-install-web", conditions: [{ type: "JobCreated", status: "True", reason: "Job created", message: "Applying HelmChart using Job kube-system/helm-install-web" }, { type: "Failed", status: "False" }] } } })], { once: "stored" });
}

async function untar(tgz: Buffer): Promise<Record<string, string>> {
  const tar = await import("tar-stream");
  const extract = tar.extract();
  Readable.from([gunzipSync(tgz)]).pipe(extract);
  const files: Record<string, string> = {};
  for await (const entry of extract) {
    let body = "";
    for await (const c of entry as unknown as AsyncIterable<Buffer>) body += c.toString();
    files[entry.header.name] = body;
  }
  return files;
}

describe("the HelmChart object", () => {
  it("merges values objects and files in order (maps deep, the rest replaced) into valuesContent, and set into spec.set", async () => {
    const o = await helmChartObject({
      name: "web",
      chart: "nginx",
      repo: "https://charts.example.com",
      version: "1.2.3",
      targetNamespace: "shop",
      values: [{ image: { tag: "0.9", pullPolicy: "Always" }, extra: [1, 2] }, "values-a.yaml", { replicas: 3, extra: [3] }],
      set: { "service.port": 8080, "ingress.enabled": true, name: "x,y" },
      cwd: data,
    });
    expect(o).toEqual({
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChart",
      metadata: { name: "web", namespace: "kube-system" },
      spec: {
        chart: "nginx",
        repo: "https://charts.example.com",
        version: "1.2.3",
        targetNamespace: "shop",
        createNamespace: true,
        valuesContent: "image:\n  tag: \"1.0\"\n  pullPolicy: Always\n  repository: nginx\nextra:\n  - 3\nreplicas: 3\n",
        set: { "service.port": 8080, "ingress.enabled": "true", name: "x,y" },
      },
    });
    expect(mergeValues({ a: { b: 1, c: 2 } }, { a: { c: null } })).toEqual({ a: { b: 1, c: null } });
  });

  it("valuesContent reads back, as Helm reads it (YAML 1.1), as exactly the values given: ambiguous strings and keys are quoted", async () => {
    const tricky = { enabled: "yes", mode: "on", flag: "n", perm: "0755", big: "1_000", sci: "1e3", inf: ".inf", tilde: "~", on: "key named on", yes: { no: "nested" }, real: true, count: 7, none: null };
    const o = await helmChartObject({ name: "web", chart: "nginx", repo: "https://charts.example.com", values: [tricky] });
    const text = (o.spec as Record<string, string>).valuesContent!;
    const { parse } = await import("yaml");
    expect(parse(text, { version: "1.1" })).toEqual(tricky);
    // Plain YAML 1.2 output would not survive Helm's reading: the keys on and yes both became true.
    expect(() => parse("on: a\nyes: b\n", { version: "1.1" })).toThrow(/unique/);
  });

  it("values files are read as Helm reads -f files: YAML 1.1 (a plain yes is true, 010 is 8)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k3ts-values-"));
    writeFileSync(join(dir, "v.yaml"), "enabled: yes\nmode: 010\nname: plain\n");
    const o = await helmChartObject({ name: "web", chart: "nginx", repo: "https://charts.example.com", values: ["v.yaml"], cwd: dir });
    const { parse } = await import("yaml");
    expect(parse((o.spec as Record<string, string>).valuesContent!, { version: "1.1" })).toEqual({ enabled: true, mode: 8, name: "plain" });
    rmSync(dir, { recursive: true, force: true });
  });

  it("packages a local chart directory into chartContent (entries under the chart's name, .helmignore honoured, the same bytes every time)", async () => {
    const o = await helmChartObject({ name: "web", chart: "./chart", cwd: data });
    const spec = o.spec as Record<string, string>;
    expect(spec.chart).toBeUndefined();
    const files = await untar(Buffer.from(spec.chartContent!, "base64"));
    expect(Object.keys(files).sort()).toEqual([".helmignore", "Chart.yaml", "templates/cm.yaml", "values.yaml"].map((f) => `demo/${f}`));
    expect(files["demo/values.yaml"]).toBe("greeting: hello\n");
    const again = await packageChart(`${data}chart`);
    expect(again.tgz.toString("base64")).toBe(spec.chartContent);
  });

  it("an OCI reference is a chart, a missing chart directory and bad values files are errors naming them", async () => {
    expect((await helmChartObject({ name: "web", chart: "oci://registry.example.com/charts/web" })).spec).toEqual({ chart: "oci://registry.example.com/charts/web" });
    const missing = await helmChartObject({ name: "web", chart: "./nochart", cwd: data }).catch((e: unknown) => e);
    expect(isK3tsError(missing, "FILE_NOT_FOUND") && missing.message).toBe("chart: ./nochart is not a chart directory (no Chart.yaml)");
    const values = await helmChartObject({ name: "web", chart: "x", values: ["nope.yaml"], cwd: data }).catch((e: unknown) => e);
    expect(isK3tsError(values, "FILE_NOT_FOUND") && values.message).toMatch(/^values\[0\]: cannot read values file nope\.yaml/);
    const name = await helmChartObject({ name: "Web", chart: "x" }).catch((e: unknown) => e);
    expect(isK3tsError(name, "INVALID_ARGUMENT")).toBe(true);
  });

  it("packages a chart with a 600 KB CRD (templates past the archive stream's buffer) whole", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k3ts-crdchart-"));
    writeFileSync(join(dir, "Chart.yaml"), "apiVersion: v2\nname: crds\nversion: 0.1.0\n");
    mkdirSync(join(dir, "templates"));
    const crd = `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n${Array.from({ length: 12000 }, (_, i) => `# field ${i}: ${"x".repeat(40)}`).join("\n")}\n`;
    expect(crd.length).toBeGreaterThan(600 * 1024);
    writeFileSync(join(dir, "templates", "crd.yaml"), crd);
    const o = await helmChartObject({ name: "crds", chart: dir });
    const files = await untar(Buffer.from((o.spec as Record<string, string>).chartContent!, "base64"));
    expect(files["crds/templates/crd.yaml"]).toBe(crd);
    rmSync(dir, { recursive: true, force: true });
  });

  it(".helmignore as Helm applies it: its default templates/.?*, first match wins, ! ignores what it does not match, dir/ and anchored rules", () => {
    const none = helmIgnore("");
    expect(none("templates/.hidden.yaml", false)).toBe(true);
    expect(none("templates/a.yaml", false)).toBe(false);
    expect(none(".hidden", false)).toBe(false);
    const rules = helmIgnore("# comment\n*.tgz\nci/\n/top.txt\ndocs/*.md\n");
    expect(rules("charts/dep.tgz", false)).toBe(true);
    expect(rules("ci", true)).toBe(true);
    expect(rules("ci", false)).toBe(false);
    expect(rules("top.txt", false)).toBe(true);
    expect(rules("sub/top.txt", false)).toBe(false);
    expect(rules("docs/a.md", false)).toBe(true);
    expect(rules("docs/x/a.md", false)).toBe(false);
    // Helm's negation: a path the ! rule does not match is ignored; a matching one goes on to the next rules.
    const keep = helmIgnore("!values.yaml\n");
    expect(keep("values.yaml", false)).toBe(false);
    expect(keep("Chart.yaml", false)).toBe(true);
    expect(() => helmIgnore("templates/**/x\n")).toThrow(/double-star \(\*\*\) syntax is not supported/);
    // A class without its ] is refused as Helm refuses it, as bad input (INVALID_ARGUMENT naming the file and the rule).
    let bad: unknown;
    try {
      helmIgnore("ok.txt\nfile[ab.txt\n");
    } catch (err) {
      bad = err;
    }
    expect(bad).toMatchObject({ code: "INVALID_ARGUMENT", message: ".helmignore: file[ab.txt: syntax error in pattern (a [ without its ])", meta: { where: ".helmignore" } });
  });

  it("every other HelmChart field the controller reads is reachable, checked before anything is sent", async () => {
    const o = await helmChartObject({
      name: "web",
      chart: "oci://k3ts-registry:5000/charts/web",
      repoCA: "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n",
      repoCAConfigMap: "repo-ca",
      authSecret: "repo-auth",
      authPassCredentials: true,
      dockerRegistrySecret: "regcred",
      insecureSkipTLSVerify: false,
      plainHTTP: true,
      jobImage: "registry.example.com/rancher/klipper-helm:v0.9.8",
      helmTimeout: "10m",
      backOffLimit: 5,
      failurePolicy: "abort",
    });
    expect(o.spec).toEqual({
      chart: "oci://k3ts-registry:5000/charts/web",
      repoCA: "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n",
      repoCAConfigMap: { name: "repo-ca" },
      authSecret: { name: "repo-auth" },
      authPassCredentials: true,
      dockerRegistrySecret: { name: "regcred" },
      insecureSkipTLSVerify: false,
      plainHTTP: true,
      jobImage: "registry.example.com/rancher/klipper-helm:v0.9.8",
      timeout: "10m",
      backOffLimit: 5,
      failurePolicy: "abort",
    });
    for (const [bad, message] of [
      [{ helmTimeout: "ten minutes" }, 'helmTimeout: "ten minutes" is not a duration such as 90s, 10m or 1h30m'],
      [{ plainHTTP: "yes" }, 'plainHTTP: "yes" is not true or false'],
      [{ failurePolicy: "retry" }, 'failurePolicy: "retry" is not reinstall or abort'],
      [{ authSecret: "Repo Auth" }, "authSecret: \"Repo Auth\" is not the name of an object in the HelmChart's namespace"],
      [{ backOffLimit: -1 }, "backOffLimit: -1 is not a whole number from 0"],
    ] as const) {
      const err = await helmChartObject({ name: "web", chart: "nginx", repo: "https://charts.example.com", ...(bad as object) }).catch((e: unknown) => e);
      expect(isK3tsError(err, "INVALID_ARGUMENT") && err.message).toBe(message);
    }
  });

  it("refuses up front what the helm-controller cannot run: a name past 50, a set number past int32, a chart past its 1 MiB ConfigMap", async () => {
    expect((await helmChartObject({ name: "a".repeat(50), chart: "nginx", repo: "https://charts.example.com" })).metadata.name).toHaveLength(50);
    const long = await helmChartObject({ name: "a".repeat(51), chart: "nginx", repo: "https://charts.example.com" }).catch((e: unknown) => e);
    expect(isK3tsError(long, "INVALID_ARGUMENT") && long.message).toMatch(/at most 50: the helm-controller's Job helm-install-NAME must fit 63 characters/);

    expect((await helmChartObject({ name: "web", chart: "nginx", repo: "https://charts.example.com", set: { n: 2 ** 31 - 1 } })).spec).toMatchObject({ set: { n: 2 ** 31 - 1 } });
    const big = await helmChartObject({ name: "web", chart: "nginx", repo: "https://charts.example.com", set: { "limits.bytes": 2 ** 31 } }).catch((e: unknown) => e);
    expect(isK3tsError(big, "INVALID_ARGUMENT") && big.message).toBe(
      'set.limits.bytes: 2147483648 does not fit the int32 the helm-controller decodes set numbers into; give it as a string ("2147483648", passed to helm as --set-string) or in values',
    );

    // A chart whose packaged size is past the ConfigMap's 1 MiB (random bytes do not compress).
    const dir = mkdtempSync(join(tmpdir(), "k3ts-bigchart-"));
    writeFileSync(join(dir, "Chart.yaml"), "apiVersion: v2\nname: big\nversion: 0.1.0\n");
    mkdirSync(join(dir, "files"));
    writeFileSync(join(dir, "files", "blob.bin"), randomBytes(900 * 1024));
    const huge = await helmChartObject({ name: "big", chart: dir }).catch((e: unknown) => e);
    expect(isK3tsError(huge, "INVALID_ARGUMENT") && huge.message).toMatch(/^chart: .* packages to \d+ bytes \(\d+ as base64\), more than the 1048562 the helm-controller's chart-content ConfigMap can hold \(1 MiB\)/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("installHelmChart", () => {
  it("applies the HelmChart with SSA and waits for status.jobName's Job to complete; a second install changes nothing", async () => {
    controllerSetsJobName();
    server.script(JOB, [{ status: 404, body: status(404, "NotFound", 'jobs.batch "helm-install-web" not found').body }, job("job-1", { active: 1 }), job("job-1", complete)]);
    const seen: string[] = [];
    const first = await installHelmChart(kc, { name: "web", chart: "nginx", repo: "https://charts.example.com", intervalMs: 1, onStatus: (s) => seen.push(s) });
    expect(first).toEqual({ name: "web", namespace: "kube-system", jobName: "helm-install-web", change: "created" });
    const patch = server.requests.find((r) => r.method === "PATCH")!;
    expect(patch.path).toBe(`${CHART}?fieldManager=k3ts&force=true&fieldValidation=Strict`);
    expect(patch.contentType).toBe("application/apply-patch+yaml");
    expect(seen).toContain("job helm-install-web: 1 active, 0 succeeded, 0 failed pods");
    const second = await installHelmChart(kc, { name: "web", chart: "nginx", repo: "https://charts.example.com", intervalMs: 1 });
    expect(second.change).toBe("unchanged");
  });

  it("after a spec change, the Job of the previous generation is stale: it waits for the new one", async () => {
    server.put(CHART, { apiVersion: "helm.cattle.io/v1", kind: "HelmChart", metadata: { name: "web", namespace: "kube-system", generation: 1 }, spec: { chart: "nginx", version: "1.0.0" } });
    controllerSetsJobName();
    const answers = [
      job("job-old", complete), // read before the apply
      job("job-old", complete), // the controller has not reacted yet
      job("job-old", complete, { deletionTimestamp: "2026-01-01T00:00:05Z" }), // foreground deletion
      status(404, "NotFound", 'jobs.batch "helm-install-web" not found'),
      job("job-new", { active: 1 }),
      job("job-new", complete),
    ];
    server.script(JOB, answers);
    const seen: string[] = [];
    const result = await installHelmChart(kc, { name: "web", chart: "nginx", version: "2.0.0", intervalMs: 1, onStatus: (s) => seen.push(s) });
    expect(result.change).toBe("configured");
    expect(server.requests.filter((r) => r.method === "GET" && r.path === JOB)).toHaveLength(6);
    expect(seen).toEqual([
      "waiting for the helm-controller to replace job helm-install-web of the previous spec",
      "waiting for job helm-install-web",
      "job helm-install-web: 1 active, 0 succeeded, 0 failed pods",
    ]);
  });

  it("the chart's Failed condition is COMMAND_FAILED with the helm pod's log", async () => {
    server.script(CHART, [() => ({ status: 200, body: { ...server.objects.get(CHART), status: { jobName: "helm-install-web", conditions: [{ type: "JobCreated", status: "False" }, { type: "Failed", status: "True", reason: "Job failed", message: "Job has reached configured number of retries without succeeding" }] } } })], { once: "stored" });
    server.answer("GET", "/api/v1/namespaces/kube-system/pods?labelSelector=job-name%3Dhelm-install-web", {
      status: 200,
      body: { kind: "PodList", apiVersion: "v1", metadata: {}, items: [{ metadata: { name: "helm-install-web-abcde", namespace: "kube-system" }, status: { containerStatuses: [{ name: "helm", restartCount: 1 }] } }] },
    });
    server.answer("GET", "/api/v1/namespaces/kube-system/pods/helm-install-web-abcde/log?tailLines=40&container=helm&previous=true", { status: 200, body: "Error: chart \"nginx\" not found in https://charts.example.com repository\n" });
    server.answer("GET", "/api/v1/namespaces/kube-system/pods/helm-install-web-abcde/log?tailLines=40&container=helm", { status: 200, body: "+ helm_v3 install web nginx\n" });
    const err = await installHelmChart(kc, { name: "web", chart: "nginx", repo: "https://charts.example.com", intervalMs: 1 }).catch((e: unknown) => e);
    expect(isK3tsError(err, "COMMAND_FAILED")).toBe(true);
    expect((err as Error).message).toBe(
      [
        "HelmChart/kube-system/web: Job failed: Job has reached configured number of retries without succeeding",
        "--- pod helm-install-web-abcde (previous run) ---",
        'Error: chart "nginx" not found in https://charts.example.com repository',
        "--- pod helm-install-web-abcde ---",
        "+ helm_v3 install web nginx",
      ].join("\n"),
    );
  });

  /** The pod list (scripts match the path, whatever the label selector). */
  const PODS = "/api/v1/namespaces/kube-system/pods";
  const helmPod = (name: string, owner: string, cs: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    metadata: { name, namespace: "kube-system", labels: { "job-name": "helm-install-web" }, ownerReferences: [{ kind: "Job", name: "helm-install-web", uid: owner, controller: true }], ...extra },
    status: { phase: "Running", containerStatuses: [{ name: "helm", ...cs }] },
  });
  const podList = (...items: unknown[]) => ({ status: 200, body: { kind: "PodList", apiVersion: "v1", metadata: {}, items } });

  const NO_HOST = 'Error: looks like "https://charts.example.com" is not a valid chart repository or cannot be reached: dial tcp: lookup charts.example.com on 10.43.0.10:53: no such host';
  const crashing = (restartCount: number) =>
    helmPod("helm-install-web-abcde", "job-1", {
      restartCount,
      state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 10s restarting failed container=helm" } },
      lastState: { terminated: { exitCode: 1, reason: "Error" } },
    });

  it(`the same helm failure ${SAME_HELM_FAILURE_LIMIT} times (the Job retries for ever) is COMMAND_FAILED with its log; other Jobs' pods do not count`, async () => {
    controllerSetsJobName();
    server.script(JOB, [job("job-1", { active: 1, failed: 0 })]);
    // A stale Job's pod (another owner uid) that failed does not count; these runs do (each listed twice:
    // once when the run is seen, once when its log is read).
    server.script(PODS, [podList(helmPod("helm-install-web-old00", "job-0", { state: { terminated: { exitCode: 1, reason: "Error" } } })), ...[1, 2, 3].flatMap((n) => [podList(crashing(n)), podList(crashing(n))])]);
    server.answer("GET", "/api/v1/namespaces/kube-system/pods/helm-install-web-abcde/log?tailLines=40&container=helm&previous=true", { status: 200, body: `+ helm_v3 install web nginx\n${NO_HOST}\n` });
    const seen: string[] = [];
    const err = await installHelmChart(kc, { name: "web", chart: "nginx", repo: "https://charts.example.com", intervalMs: 1, onStatus: (s) => seen.push(s) }).catch((e: unknown) => e);
    expect(isK3tsError(err, "COMMAND_FAILED")).toBe(true);
    expect((err as Error).message.split("\n")).toEqual([
      `HelmChart/kube-system/web: job helm-install-web: helm failed 3 times the same way (pod helm-install-web-abcde: helm exited with code 1 (CrashLoopBackOff)): ${NO_HOST}; the helm-controller keeps retrying it`,
      "--- pod helm-install-web-abcde (previous run) ---",
      "+ helm_v3 install web nginx",
      NO_HOST,
    ]);
    expect((err as { meta: Record<string, unknown> }).meta).toMatchObject({ job: "helm-install-web", failures: 3, log: expect.stringContaining("no such host") });
    expect(seen).toContain(`job helm-install-web: 1 active, 0 succeeded, 0 failed pods; helm failed 2 time(s), last: ${NO_HOST}`);
  });

  it("a chart that fails once (a CRD not there yet) and installs on the helm-controller's next run succeeds", async () => {
    controllerSetsJobName();
    server.script(JOB, [job("job-1", { active: 1 }), job("job-1", { active: 1 }), job("job-1", { active: 1 }), job("job-1", complete)]);
    server.script(PODS, [podList(crashing(1)), podList(helmPod("helm-install-web-abcde", "job-1", { restartCount: 1, state: { running: { startedAt: "2026-01-01T00:00:20Z" } }, lastState: { terminated: { exitCode: 1, reason: "Error" } } }))]);
    server.answer("GET", "/api/v1/namespaces/kube-system/pods/helm-install-web-abcde/log?tailLines=40&container=helm&previous=true", {
      status: 200,
      body: 'Error: INSTALLATION FAILED: unable to build kubernetes objects from release manifest: resource mapping not found for name: "w" namespace: "" from "": no matches for kind "Widget" in version "example.com/v1"\n',
    });
    const seen: string[] = [];
    const result = await installHelmChart(kc, { name: "web", chart: "nginx", intervalMs: 1, onStatus: (s) => seen.push(s) });
    expect(result).toMatchObject({ jobName: "helm-install-web", change: "created" });
    expect(seen.some((s) => s.includes('helm failed 1 time(s), last: Error: INSTALLATION FAILED: unable to build kubernetes objects'))).toBe(true);
  });

  it("a helm pod that cannot start (ImagePullBackOff) is reported at once, and the timeout says so", async () => {
    controllerSetsJobName();
    server.script(JOB, [job("job-1", { active: 1 })]);
    server.script(PODS, [podList(helmPod("helm-install-web-abcde", "job-1", { restartCount: 0, state: { waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "rancher/klipper-helm:v0.9.8-build20250709"' } } }))]);
    const seen: string[] = [];
    const err = await installHelmChart(kc, { name: "web", chart: "nginx", timeout: 0, onStatus: (s) => seen.push(s) }).catch((e: unknown) => e);
    const stuck = 'job helm-install-web: pod helm-install-web-abcde: helm ImagePullBackOff: Back-off pulling image "rancher/klipper-helm:v0.9.8-build20250709"';
    expect(seen).toContain(stuck);
    expect(isK3tsError(err, "TIMEOUT") && err.message.split("\n")[0]).toBe(`HelmChart/kube-system/web was not installed within 0 ms (${stuck})`);
    expect((err as { meta: Record<string, unknown> }).meta).toMatchObject({ stuck: expect.stringContaining("ImagePullBackOff") });
  });

  it("a helm container that failed once and runs again (a retry in progress) is still waited for", async () => {
    controllerSetsJobName();
    server.script(JOB, [job("job-1", { active: 1 }), job("job-1", { active: 1 }), job("job-1", complete)]);
    server.script(PODS, [podList(helmPod("helm-install-web-abcde", "job-1", { restartCount: 1, state: { running: { startedAt: "2026-01-01T00:00:20Z" } }, lastState: { terminated: { exitCode: 1, reason: "Error" } } }))]);
    const result = await installHelmChart(kc, { name: "web", chart: "nginx", intervalMs: 1 });
    expect(result).toMatchObject({ jobName: "helm-install-web", change: "created" });
  });

  it("a 429 from the apiserver in the middle of the wait is waited out (Retry-After), not a failure", async () => {
    controllerSetsJobName();
    server.script(JOB, [job("job-1", { active: 1 }), { ...status(429, "TooManyRequests", "Too many requests, please try again later."), headers: { "retry-after": "0" } }, job("job-1", complete)]);
    const result = await installHelmChart(kc, { name: "web", chart: "nginx", intervalMs: 1 });
    expect(result).toMatchObject({ jobName: "helm-install-web", change: "created" });
    expect(server.requests.filter((r) => r.path === JOB).length).toBeGreaterThanOrEqual(3);
  });

  it("a Job that never completes is TIMEOUT naming the chart and what it waited for", async () => {
    controllerSetsJobName();
    server.script(JOB, [job("job-1", { active: 1, failed: 0 })]);
    const err = await installHelmChart(kc, { name: "web", chart: "nginx", timeout: 0 }).catch((e: unknown) => e);
    expect(isK3tsError(err, "TIMEOUT") && err.message).toBe("HelmChart/kube-system/web was not installed within 0 ms (job helm-install-web: 1 active, 0 succeeded, 0 failed pods)");
  });

  it("without the HelmChart CRD it says the helm-controller is missing", async () => {
    delete server.discovery["helm.cattle.io/v1"];
    const err = await installHelmChart(kc, { name: "web", chart: "nginx" }).catch((e: unknown) => e);
    expect(isK3tsError(err, "KUBE_API_ERROR") && err.message).toMatch(/serves no HelmChart .* helm-controller/);
  });
});

describe("uninstallHelmChart", () => {
  it("deletes the chart and waits until its finalizer let it go; a missing chart is not an error", async () => {
    server.put(CHART, { apiVersion: "helm.cattle.io/v1", kind: "HelmChart", metadata: { name: "web", namespace: "kube-system", finalizers: ["wrangler.cattle.io/on-helm-chart-remove"] }, spec: { chart: "nginx" } });
    const terminating = { status: 200, body: { ...server.objects.get(CHART), metadata: { ...server.objects.get(CHART)!.metadata, deletionTimestamp: "2026-01-01T00:00:09Z" }, status: { jobName: "helm-delete-web" } } };
    server.answer("DELETE", CHART, terminating);
    server.script(CHART, [terminating, terminating, status(404, "NotFound", 'helmcharts.helm.cattle.io "web" not found')]);
    expect(await uninstallHelmChart(kc, { name: "web", intervalMs: 1 })).toEqual({ deleted: true });
    expect(server.requests.filter((r) => r.path === CHART).map((r) => r.method)).toEqual(["DELETE", "GET", "GET", "GET"]);
    expect(await uninstallHelmChart(kc, { name: "other", intervalMs: 1 })).toEqual({ deleted: false });
  });
});
