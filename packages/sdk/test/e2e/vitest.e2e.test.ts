import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { Runtime } from "@k3ts/core";
import { describe, expect, it } from "vitest";
import { KUBECONFIG_ENV, clusterSetup } from "../../src/vitest.ts";
import { childEnv, ENGINES, runtimeFor, fixtures, fresh, kubectl, leftovers, testOptions } from "./helpers.ts";

const vitestBin = fileURLToPath(new URL("../../node_modules/vitest/vitest.mjs", import.meta.url));

for (const engine of ENGINES) {
  const runtime = await runtimeFor(engine);
  describe.skipIf(!runtime)(`the vitest global setup, on ${engine}`, () => {
    const rt = runtime as Runtime;

    it("called directly: provides the cluster, sets K3TS_KUBECONFIG, and the teardown deletes it all", async () => {
      const name = await fresh(rt, `sdk-e2e-setup-${engine[0]}`);
      const provided = new Map<string, string>();
      const before = process.env[KUBECONFIG_ENV];
      const teardown = await clusterSetup(testOptions(name, rt))({ provide: (key, value) => void provided.set(key, value) });
      const path = provided.get("k3tsKubeconfigPath")!;
      try {
        expect(provided.get("k3tsCluster")).toBe(name);
        expect(process.env[KUBECONFIG_ENV]).toBe(path);
        expect(readFileSync(path, "utf8")).toBe(provided.get("k3tsKubeconfig"));
        const r = await kubectl(path, ["get", "nodes", "-o", "name"]);
        expect(r.stdout.trim(), r.stderr).toBe(`node/k3ts-${name}-server-0`);
      } finally {
        await teardown();
      }
      expect(process.env[KUBECONFIG_ENV]).toBe(before);
      expect(existsSync(path)).toBe(false);
      expect(await leftovers(rt, name)).toEqual([]);
    }, 180_000);

    it("in a nested vitest run: the tests there reach the cluster through inject(), and nothing is left after the run", async () => {
      const name = await fresh(rt, `sdk-e2e-vitest-${engine[0]}`);
      const r = await execa("node", [vitestBin, "run", "--root", `${fixtures}vitest-project`, "--config", "vitest.config.mjs"], {
        reject: false,
        env: { ...childEnv(name, engine), NO_COLOR: "1" },
      });
      expect(r.exitCode, `${String(r.stdout)}\n${String(r.stderr)}`).toBe(0);
      expect(String(r.stdout)).toMatch(/Tests\s+1 passed/);
      expect(await leftovers(rt, name)).toEqual([]);
    }, 180_000);
  });
}
