import { execa, type ResultPromise } from "execa";
import type { Runtime } from "@k3ts/core";
import { afterAll, describe, expect, it } from "vitest";
import { ENGINES, childEnv, fixtures, fresh, leftovers, runtimeFor, type Engine } from "./helpers.ts";


/** Starts the child program (it imports the built @k3ts/sdk) and resolves once it printed `line` (wrapped: the process is a thenable). */
async function child(name: string, engine: Engine, mode: string, line: RegExp): Promise<{ proc: ResultPromise<{ reject: false }> }> {
  const proc = execa("node", [`${fixtures}child.mjs`, mode], { reject: false, env: childEnv(name, engine), cwd: fixtures });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (line.test(out)) resolve();
    });
    void proc.then((r) => reject(new Error(`the child ended before printing ${line}: exit ${r.exitCode}\n${String(r.stderr)}`)));
  });
  return { proc };
}

/** What is left of the cluster once it is gone, or 30 s have passed (a deadline for the poll, not a measure of speed). */
async function gone(runtime: Runtime, name: string): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  let left = await leftovers(runtime, name);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    left = await leftovers(runtime, name);
  }
  return left;
}

for (const engine of ENGINES) {
  const runtime = await runtimeFor(engine);
  describe.skipIf(!runtime)(`a program that ends without deleting its cluster (no keep), on ${engine}`, () => {
    const rt = runtime as Runtime;
    // What a failed reaper test would leave behind.
    afterAll(async () => {
      for (const name of ["kill", "exit"]) await fresh(rt, `sdk-e2e-${name}-${engine[0]}`);
    });

    it.each(["SIGINT", "SIGTERM"] as const)("%s: the cluster is deleted, then the process ends by that signal", async (signal) => {
      const name = await fresh(rt, `sdk-e2e-${signal.toLowerCase()}-${engine[0]}`);
      const { proc } = await child(name, engine, "wait", /^ready /m);
      expect((await leftovers(rt, name)).length).toBeGreaterThan(0);
      proc.kill(signal);
      const r = await proc;
      expect(r.signal, String(r.stderr)).toBe(signal);
      expect(await leftovers(rt, name)).toEqual([]);
    }, 180_000);

    // On Podman an execa subprocess is in flight when the signal comes: signal-exit's handler (execa's cleanup) must
    // not pass for the program's own (test/signals.test.ts has the same without an engine).
    it("SIGINT while the cluster is being created: the create rolls back, nothing is left", async () => {
      const name = await fresh(rt, `sdk-e2e-early-${engine[0]}`);
      const { proc } = await child(name, engine, "early", /^creating$/m);
      // Signalled once the create has made something (its network or a node), so there is something to roll back.
      while ((await leftovers(rt, name)).length === 0) await new Promise((r) => setTimeout(r, 25));
      proc.kill("SIGINT");
      const r = await proc;
      expect(r.signal, String(r.stderr)).toBe("SIGINT");
      expect(String(r.stdout)).not.toContain("ready");
      expect(await leftovers(rt, name)).toEqual([]);
    }, 180_000);

    it("the program runs out of work (beforeExit): the cluster is deleted and it exits 0", async () => {
      const name = await fresh(rt, `sdk-e2e-end-${engine[0]}`);
      const r = await execa("node", [`${fixtures}child.mjs`, "end"], { reject: false, env: childEnv(name, engine), cwd: fixtures });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stdout)).toBe(`ready ${name}`);
      expect(await leftovers(rt, name)).toEqual([]);
    }, 180_000);

    it("SIGKILL: nothing runs in the program, and its reaper deletes the cluster", async () => {
      const name = await fresh(rt, `sdk-e2e-kill-${engine[0]}`);
      const { proc } = await child(name, engine, "wait", /^ready /m);
      expect((await leftovers(rt, name)).length).toBeGreaterThan(0);
      proc.kill("SIGKILL");
      const r = await proc;
      expect(r.signal).toBe("SIGKILL");
      expect(await gone(rt, name), "the reaper did not delete the cluster within 30 s").toEqual([]);
    }, 180_000);

    it("process.exit(): no asynchronous clean-up can run in the program; stderr says the reaper deletes the cluster, and it does", async () => {
      const name = await fresh(rt, `sdk-e2e-exit-${engine[0]}`);
      const r = await execa("node", [`${fixtures}child.mjs`, "exit"], { reject: false, env: childEnv(name, engine), cwd: fixtures });
      expect(r.exitCode).toBe(3);
      expect(String(r.stderr)).toContain(`could delete cluster(s) ${name}; its reaper deletes them now`);
      expect(await gone(rt, name), "the reaper did not delete the cluster within 30 s").toEqual([]);
    }, 180_000);

    it("process.exit() with reaper: false: the cluster stays, and stderr names it and how to delete it (the documented limit)", async () => {
      const name = await fresh(rt, `sdk-e2e-noreaper-${engine[0]}`);
      try {
        const r = await execa("node", [`${fixtures}child.mjs`, "exit-noreaper"], { reject: false, env: childEnv(name, engine), cwd: fixtures });
        expect(r.exitCode).toBe(3);
        expect(String(r.stderr)).toContain(`could delete cluster(s) ${name}; delete with: k3ts cluster delete ${name}`);
        // Longer than a reaper takes (see above), so a reaper that ran anyway would have been seen.
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        expect((await leftovers(rt, name)).length).toBeGreaterThan(0);
      } finally {
        await fresh(rt, name);
      }
    }, 180_000);
  });
}
