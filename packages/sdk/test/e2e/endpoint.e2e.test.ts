/**
 * Endpoints end to end: a Deployment and a Service applied with kubectl, reached over HTTP through
 * `cluster.endpoint()` (the SDK's websocket port-forward, v4.channel.k8s.io), 20 requests at once,
 * then the pod deleted and the next request served by its replacement.
 *
 * The pod serves with busybox httpd from a shell command, in the test machine's busybox image imported
 * into the nodes first, so it runs the same against the k3s stand-in (a test double that runs a
 * container's command as a process of the node inside the image's filesystem; probes are ignored) and
 * against a real k3s (K3TS_E2E_K3S_IMAGE, which honours the readinessProbe). Port 8081: the
 * stand-in's pods share the node's network, where 80 (its default ingress) and 6443 are taken.
 */
import { writeFile } from "node:fs/promises";
import type { Runtime } from "@k3ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCluster, type Cluster } from "../../src/cluster.ts";
import type { Endpoint } from "../../src/endpoint.ts";
import { API_ENGINES, POD_IMAGE, runtimeFor, fresh, kubectl, testOptions } from "./helpers.ts";


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
      # httpd is the container's PID 1 and has no SIGTERM handler: only the SIGKILL after the grace period ends it.
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: ${POD_IMAGE}
        command: ["sh", "-c", "mkdir -p /tmp/www-web && echo hello from $HOSTNAME > /tmp/www-web/index.html && exec httpd -f -p 8081 -h /tmp/www-web"]
        ports: [{ name: web, containerPort: 8081 }]
        readinessProbe: { tcpSocket: { port: 8081 }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 8080, targetPort: web }]
`;

for (const engine of API_ENGINES) {
  const runtime = await runtimeFor(engine);
  describe.skipIf(!runtime)(`endpoints, on ${engine}`, () => {
    const rt = runtime as Runtime;
    let cluster: Cluster;
    let kubeconfig: string;
    let web: Endpoint | undefined;

    beforeAll(async () => {
      const name = await fresh(rt, `sdk-e2e-endpoint-${engine[0]}`);
      cluster = await createCluster({ ...testOptions(name, rt) });
      kubeconfig = await cluster.writeKubeconfig();
      await cluster.importImages([POD_IMAGE]);
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
      expect(target.port).toBe(8081);
      const res = await fetch(`${web.url}/`);
      expect(res.status).toBe(200);
      // HOSTNAME is the pod's name: the answer comes from the pod the endpoint targets.
      expect((await res.text()).trim()).toBe(`hello from ${target.pod}`);
    }, 200_000);

    it("serves concurrent requests", async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${web!.url}/`, { headers: { connection: "close" } }).then(async (r) => `${r.status} ${(await r.text()).trim()}`)));
      expect(new Set(answers)).toEqual(new Set([`200 hello from ${web!.target!.pod}`]));
    });

    it("follows the Deployment to the pod that replaced the deleted one", async () => {
      const before = web!.target!.pod;
      const r = await kubectl(kubeconfig, ["delete", "pod", before, "--wait=true"]);
      expect(r.exitCode, r.stderr).toBe(0);
      await expect
        .poll(async () => (await fetch(`${web!.url}/`, { headers: { connection: "close" } }).catch(() => undefined))?.status, { timeout: 120_000, interval: 1000 })
        .toBe(200);
      const now = web!.target!.pod;
      expect(now).not.toBe(before);
      expect((await (await fetch(`${web!.url}/`, { headers: { connection: "close" } })).text()).trim()).toBe(`hello from ${now}`);
    }, 150_000);
  });
}
