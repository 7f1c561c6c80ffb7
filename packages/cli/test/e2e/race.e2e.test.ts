/**
 * Two `cluster create` of one name started together, on the real engines: the cluster network is the
 * name's claim (the engine makes it for one create only), so exactly one create succeeds, the other
 * exits with CLUSTER_ALREADY_EXISTS, and nothing of the loser is left while the winner is untouched.
 * K3TS_E2E_RACE_TRIES tries per engine (default 2; the 10 are run with it set).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LABELS } from "@k3ts/core";
import { ENGINES, cleanupDir, clearName, createArgs, k3ts, leftovers, runtimeFor } from "./helpers.js";

const TRIES = Number(process.env.K3TS_E2E_RACE_TRIES ?? 2);

for (const engine of ENGINES) {
  const runtime = await runtimeFor(engine);
  describe.skipIf(!runtime)(`two creates of one name at once, on ${engine}`, () => {
    it(`exactly one succeeds, the other is CLUSTER_ALREADY_EXISTS and leaves nothing (${TRIES} tries)`, async () => {
      const name = await clearName(runtime!, `e2e${engine[0]}-race`);
      const dir = mkdtempSync(join(tmpdir(), "k3ts-e2e-race-"));
      const env = { KUBECONFIG: join(dir, "config") };
      try {
        for (let i = 0; i < TRIES; i++) {
          const [a, b] = await Promise.all([k3ts(engine, createArgs(name, ["--no-lb"]), env), k3ts(engine, createArgs(name, ["--no-lb"]), env)]);
          const results = [a, b].map((r) => ({ code: r.exitCode, err: String(r.stderr) }));
          const winners = results.filter((r) => r.code === 0);
          const losers = results.filter((r) => r.code !== 0);
          expect(winners, JSON.stringify(results)).toHaveLength(1);
          expect(losers[0]!.code, losers[0]!.err).toBe(1);
          expect(losers[0]!.err).toContain("CLUSTER_ALREADY_EXISTS");
          // The winner's cluster is whole: its server, its network; the loser left nothing of its own.
          const nodes = await runtime!.nodes.list({ labels: { [LABELS.cluster]: name } });
          expect(nodes.map((n) => `${n.name} ${n.state}`)).toEqual([`k3ts-${name}-server-0 running`]);
          expect(new Set(nodes.map((n) => n.labels[LABELS.createId])).size).toBe(1);
          const net = await runtime!.networks.inspect(`k3ts-${name}`);
          expect(net.labels[LABELS.createId]).toBe(nodes[0]!.labels[LABELS.createId]);
          const deleted = await k3ts(engine, ["cluster", "delete", name], env);
          expect(deleted.exitCode, String(deleted.stderr)).toBe(0);
          expect(await leftovers(runtime!, name)).toEqual([]);
        }
      } finally {
        if ((await leftovers(runtime!, name)).length) await clearName(runtime!, name);
        cleanupDir(dir);
      }
    }, 120_000 + TRIES * 120_000);
  });
}
