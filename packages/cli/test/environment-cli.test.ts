/**
 * `k3ts up` / `k3ts down` in-process, against the sdk's fake API server through an existing-cluster
 * environment (kubeconfig + context): progress lines, idempotence as printed, exit codes.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeApiServer } from "../../sdk/test/manifests-fake-api.ts";
import { runMain } from "./harness.ts";

let server: FakeApiServer;
let dir: string;
beforeEach(async () => {
  server = new FakeApiServer();
  const kc = await server.start();
  dir = await mkdtemp(join(tmpdir(), "k3ts-up-"));
  await writeFile(join(dir, "kubeconfig.json"), kc.exportConfig());
  await writeFile(join(dir, "ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n");
  await writeFile(join(dir, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  mode: dev\n");
  await writeFile(
    join(dir, "k3ts.yaml"),
    ["apiVersion: k3ts.io/v1alpha1", "kind: Environment", "metadata:", "  name: shop", "spec:", "  cluster:", "    kubeconfig: kubeconfig.json", "  manifests:", "    - name: config", "      sources: [cm.yaml]", "      dependsOn: [namespace]", "    - name: namespace", "      sources: [ns.yaml]", ""].join("\n"),
  );
});
afterEach(() => server.close());

describe("k3ts up / down", () => {
  it("converges, prints each step; a second up changes nothing; down removes in reverse", async () => {
    const first = await runMain(["up", "--yes"], { cwd: dir });
    // Per-object progress goes to stderr, the summary to stdout.
    expect(first.err).toBe("namespace: Namespace/shop created\nconfig: ConfigMap/shop/settings created\n");
    expect(first.code).toBe(0);
    const target = `cluster: context fake, server ${server.url} (not made by k3ts)\n`;
    expect(first.out).toBe(`${target}namespace: 1 changed, 0 unchanged\nconfig: 1 changed, 0 unchanged\nenvironment shop is up: 2 changed\n`);
    const second = await runMain(["up", "-f", "k3ts.yaml", "-y"], { cwd: dir });
    expect(second.out).toBe(`${target}namespace: 0 changed, 1 unchanged\nconfig: 0 changed, 1 unchanged\nenvironment shop is up: 0 changed\n`);
    const gone = await runMain(["down", "--yes"], { cwd: dir });
    expect(gone.code).toBe(0);
    expect(gone.out).toBe(`${target}config: 1 deleted, 0 not there\nnamespace: 1 deleted, 0 not there\nenvironment shop is down\n`);
    expect(server.objects.size).toBe(0);
  });

  it("a context k3ts did not make is changed only with --yes (no terminal to ask at): up and down stop before any change", async () => {
    const refused = await runMain(["up"], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.out).toBe(`cluster: context fake, server ${server.url} (not made by k3ts)\n`);
    expect(refused.err).toContain("context fake (" + server.url + ") was not made by k3ts; nothing was changed there");
    expect(refused.err).toContain("--yes");
    expect(server.objects.size).toBe(0);
    expect((await runMain(["up", "--yes"], { cwd: dir })).code).toBe(0);
    const size = server.objects.size;
    const keep = await runMain(["down"], { cwd: dir });
    expect(keep.code).toBe(1);
    expect(server.objects.size).toBe(size);
  });

  it("a bad environment file exits 2 naming the file and line", async () => {
    await writeFile(join(dir, "bad.yaml"), "apiVersion: k3ts.io/v1alpha1\nkind: Environment\nmetadata:\n  name: x\nspec:\n  cluster: { kubeconfig: k.yaml }\n  manifests:\n    - name: a\n");
    const r = await runMain(["up", "-f", "bad.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.err).toContain('bad.yaml:8:7: /spec/manifests/0/sources: missing required field "sources"');
  });
});
