/**
 * Endpoints end to end: a Deployment and a Service applied with kubectl, reached over HTTP through
 * `cluster.endpoint()`, then the pod deleted and the next request served by its replacement.
 *
 * NOT IN THE DEFAULT RUN YET: the k3s stand-in does not run pods or serve pods/portforward (it lists
 * the subresource in discovery only). The suite runs when K3TS_E2E_PORTFORWARD=1 (once the stand-in
 * grows pods and the kubelet's port-forward) or against a real k3s (K3TS_E2E_K3S_IMAGE). The pods run
 * K3TS_E2E_WEB_IMAGE (default nginx:1.29-alpine: it must serve HTTP on port 80).
 */
import { writeFile } from "node:fs/promises";
import type { Runtime } from "@k3ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCluster, type Cluster } from "../../src/cluster.ts";
import type { Endpoint } from "../../src/endpoint.ts";
import { docker, fresh, kubectl, testOptions } from "./helpers.ts";

const enabled = process.env.K3TS_E2E_PORTFORWARD === "1" || process.env.K3TS_E2E_K3S_IMAGE !== undefined;
const runtime = enabled ? await docker() : undefined;
const WEB_IMAGE = process.env.K3TS_E2E_WEB_IMAGE ?? "nginx:1.29-alpine";

const manifest = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: default }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
      - name: web
        image: ${WEB_IMAGE}
        ports: [{ name: web, containerPort: 80 }]
        readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 8080, targetPort: web }]
`;

describe.skipIf(!runtime)("endpoints, on Docker", () => {
  const rt = runtime as Runtime;
  let cluster: Cluster;
  let kubeconfig: string;
  let web: Endpoint | undefined;

  beforeAll(async () => {
    const name = await fresh(rt, "sdk-e2e-endpoint");
    cluster = await createCluster({ ...testOptions(name, rt) });
    kubeconfig = await cluster.writeKubeconfig();
    const file = `${kubeconfig}.web.yaml`;
    await writeFile(file, manifest);
    const r = await kubectl(kubeconfig, ["apply", "-f", file]);
    expect(r.exitCode, r.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await web?.close();
    await cluster?.delete();
  });

  it("reaches the Service over HTTP by its port's name, through the named targetPort", async () => {
    web = await cluster.endpoint("web", "http", { signal: AbortSignal.timeout(180_000) });
    const target = await web.ready;
    expect(target.port).toBe(80);
    const res = await fetch(`${web.url}/`);
    expect(res.status).toBe(200);
  }, 200_000);

  it("serves concurrent requests", async () => {
    const statuses = await Promise.all(Array.from({ length: 20 }, () => fetch(`${web!.url}/`, { headers: { connection: "close" } }).then((r) => r.status)));
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it("follows the Deployment to the pod that replaced the deleted one", async () => {
    const before = web!.target!.pod;
    const r = await kubectl(kubeconfig, ["delete", "pod", before, "--wait=true"]);
    expect(r.exitCode, r.stderr).toBe(0);
    await expect
      .poll(async () => (await fetch(`${web!.url}/`, { headers: { connection: "close" } }).catch(() => undefined))?.status, { timeout: 120_000, interval: 1000 })
      .toBe(200);
    expect(web!.target!.pod).not.toBe(before);
  }, 150_000);
});
