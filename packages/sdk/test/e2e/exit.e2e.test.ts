import { execa, type ResultPromise } from "execa";
import type { Runtime } from "@k3ts/core";
import { describe, expect, it } from "vitest";
import { childEnv, docker, fixtures, fresh, leftovers } from "./helpers.ts";

const runtime = await docker();

/** Starts the child program (it imports the built @k3ts/sdk) and resolves once it printed `line` (wrapped: the process is a thenable). */
async function child(name: string, mode: string, line: RegExp): Promise<{ proc: ResultPromise<{ reject: false }> }> {
  const proc = execa("node", [`${fixtures}child.mjs`, mode], { reject: false, env: childEnv(name), cwd: fixtures });
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

describe.skipIf(!runtime)("a program that ends without deleting its cluster (no keep), on Docker", () => {
  const rt = runtime as Runtime;

  it.each(["SIGINT", "SIGTERM"] as const)("%s: the cluster is deleted, then the process ends by that signal", async (signal) => {
    const name = await fresh(rt, `sdk-e2e-${signal.toLowerCase()}`);
    const { proc } = await child(name, "wait", /^ready /m);
    expect((await leftovers(rt, name)).length).toBeGreaterThan(0);
    proc.kill(signal);
    const r = await proc;
    expect(r.signal, String(r.stderr)).toBe(signal);
    expect(await leftovers(rt, name)).toEqual([]);
  }, 180_000);

  it("SIGINT while the cluster is being created: the create rolls back, nothing is left", async () => {
    const name = await fresh(rt, "sdk-e2e-early");
    const { proc } = await child(name, "early", /^creating$/m);
    // Signalled once the create has made something (its network or a node), so there is something to roll back.
    while ((await leftovers(rt, name)).length === 0) await new Promise((r) => setTimeout(r, 25));
    proc.kill("SIGINT");
    const r = await proc;
    expect(r.signal, String(r.stderr)).toBe("SIGINT");
    expect(String(r.stdout)).not.toContain("ready");
    expect(await leftovers(rt, name)).toEqual([]);
  }, 180_000);

  it("the program runs out of work (beforeExit): the cluster is deleted and it exits 0", async () => {
    const name = await fresh(rt, "sdk-e2e-end");
    const r = await execa("node", [`${fixtures}child.mjs`, "end"], { reject: false, env: childEnv(name), cwd: fixtures });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toBe(`ready ${name}`);
    expect(await leftovers(rt, name)).toEqual([]);
  }, 180_000);

  it("process.exit(): no asynchronous clean-up can run, so stderr names the cluster and how to delete it (the documented limit)", async () => {
    const name = await fresh(rt, "sdk-e2e-exit");
    const r = await execa("node", [`${fixtures}child.mjs`, "exit"], { reject: false, env: childEnv(name), cwd: fixtures });
    expect(r.exitCode).toBe(3);
    expect(String(r.stderr)).toContain(`could delete cluster(s) ${name}; delete with: k3ts cluster delete ${name}`);
    expect((await leftovers(rt, name)).length).toBeGreaterThan(0);
    await fresh(rt, name);
  }, 180_000);
});
