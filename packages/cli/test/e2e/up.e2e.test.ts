/**
 * `k3ts up` end to end, on each engine with the k3s stand-in (a real k3s with K3TS_E2E_K3S_IMAGE): the real
 * CLI converges an environment (its own cluster, a Deployment + Service of busybox httpd started from a
 * shell command, an endpoint), prints the endpoint's URL and keeps it open; the test GETs the URL, then
 * sends SIGINT: with --down-on-exit the CLI closes the endpoint, takes the environment down and exits
 * 130 (interrupted, as every command Ctrl-C ends).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { ENGINES, K3S_IMAGE, POD_IMAGE, PRIVILEGE_YAML, bin, cleanupDir, clearName, kubeconfigWithOtherContext, leftovers, read, runtimeFor } from "./helpers.js";

const app = `
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
        image: ${POD_IMAGE}
        command: ["sh", "-c", "mkdir -p /tmp/www-web && echo served-by-up > /tmp/www-web/index.html && exec httpd -f -p 8081 -h /tmp/www-web"]
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

for (const engine of ENGINES) {
  const runtime = await runtimeFor(engine);
  describe.skipIf(!runtime)(`k3ts up on ${engine}`, () => {
    it("prints the endpoint's URL, which answers over HTTP; Ctrl-C with --down-on-exit closes it, removes the environment and exits 130", async () => {
      const name = await clearName(runtime!, `e2e${engine[0]}-up`);
      const work = mkdtempSync(join(tmpdir(), "k3ts-up-e2e-"));
      const kc = kubeconfigWithOtherContext();
      writeFileSync(join(work, "app.yaml"), app);
      writeFileSync(
        join(work, "k3ts.yaml"),
        [
          "apiVersion: k3ts.io/v1alpha1",
          "kind: Environment",
          "metadata:",
          "  name: cli-e2e",
          "spec:",
          "  cluster:",
          `    name: ${name}`,
          `    image: ${K3S_IMAGE}`,
          "    loadBalancer: false",
          ...PRIVILEGE_YAML,
          `    images: [${POD_IMAGE}]`,
          "    timeout: 150s",
          "  manifests:",
          "    - name: app",
          "      sources: [app.yaml]",
          "  endpoints:",
          "    - name: web",
          "      service: web",
          "      port: http",
          "      dependsOn: [app]",
          "",
        ].join("\n"),
      );
      const child = execa("node", [bin, "--runtime", engine, "up", "-f", "k3ts.yaml", "--down-on-exit"], { cwd: work, reject: false, env: { NO_COLOR: "1", KUBECONFIG: kc.path } });
      let exited = false;
      void child.then(() => (exited = true));
      try {
        let stdout = "";
        const open = new Promise<void>((resolve, reject) => {
          child.stdout.on("data", (d: Buffer) => {
            stdout += d.toString();
            if (stdout.includes("endpoints open; Ctrl-C")) resolve();
          });
          void child.then((r) => reject(new Error(`k3ts up exited (${r.exitCode}) before opening its endpoints:\n${stdout}\n${String(r.stderr)}`)));
        });
        await open;
        const url = /^web: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout)?.[1];
        expect(url, stdout).toBeDefined();
        expect(stdout).toContain(`cluster ${name}: created`);
        expect(stdout).toContain(`images: 1 imported (${POD_IMAGE}), 0 already there`);
        expect(stdout).toContain("app: 2 changed, 0 unchanged");
        const res = await fetch(`${url}/`, { headers: { connection: "close" } });
        expect(res.status).toBe(200);
        expect((await res.text()).trim()).toBe("served-by-up");

        child.kill("SIGINT");
        const r = await child;
        // 130, "interrupted", as for every command Ctrl-C ends (README: exit codes); the clean-up ran first.
        expect(r.exitCode, String(r.stderr)).toBe(130);
        expect(String(r.stdout)).toContain("environment cli-e2e is down");
        expect(await leftovers(runtime!, name)).toEqual([]);
        const after = await fetch(`${url}/`).catch((e: unknown) => e);
        expect(after).toBeInstanceOf(Error);
        // The user's other context is still there.
        expect(read(kc.path)).toContain("prod.example.test");
      } finally {
        if (!exited) child.kill("SIGKILL");
        if ((await leftovers(runtime!, name)).length) await clearName(runtime!, name);
        cleanupDir(work);
        cleanupDir(kc.dir);
      }
    }, 300_000);
  });
}
