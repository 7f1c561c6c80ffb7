/**
 * K3TS_TRACE=1 through main(), against the recording runtime (core's memory runtime that refuses to
 * start nodes, so a create makes server-0, fails and rolls back): each step and engine call is timed on
 * stderr, a summary closes the command, nothing secret is printed, and without the variable nothing is.
 */
import { fileURLToPath } from "node:url";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runMain } from "./harness.js";
import { Tracer } from "../src/trace.js";
import { recording } from "./fixtures/recording-runtime.mjs";

const RUNTIME = fileURLToPath(new URL("./fixtures/recording-runtime.mjs", import.meta.url));
const kubeconfig = join(mkdtempSync(join(tmpdir(), "k3ts-trace-")), "config");
const create = ["cluster", "create", "dev", "--token", "s3cret-token-0042", "--kubeconfig", kubeconfig];

describe("K3TS_TRACE", () => {
  it("times each step and every engine call on stderr, then sums them up; the token never shows", async () => {
    recording.calls.length = 0;
    const r = await runMain(create, { env: { K3TS_RUNTIME: RUNTIME, K3TS_TRACE: "1", KUBECONFIG: kubeconfig } });
    expect(r.code).toBe(1); // the recording runtime refuses to start server-0
    const trace = r.err.split("\n").filter((l) => l.startsWith("trace"));
    // Every call that reached the runtime is in the trace, as it ended, with its time.
    const engine = trace.filter((l) => / engine /.test(l));
    // (the recording runtime does not record close, which the CLI calls last)
    expect(engine.map((l) => l.split(" ")[3])).toEqual([...recording.calls, "close"]);
    for (const l of engine) expect(l).toMatch(/^trace \+\d+\.\d{3}s engine (info|close|[a-z]+\.[a-zA-Z]+) (.* )?\d+(\.\d+)?m?s( failed)?$/);
    expect(engine.find((l) => l.includes("engine nodes.start "))).toMatch(/ failed$/);
    expect(engine.some((l) => / engine nodes\.create k3ts-dev-server-0 \d/.test(l))).toBe(true);
    expect(engine.some((l) => / engine nodes\.writeFile k3ts-dev-server-0 \/etc\/rancher\/k3ts\/token \d/.test(l))).toBe(true);
    // Steps: started and ended, the failed one marked.
    expect(trace.some((l) => /step start Starting server k3ts-dev-server-0$/.test(l))).toBe(true);
    expect(trace.some((l) => /step failed Starting server k3ts-dev-server-0 \d/.test(l))).toBe(true);
    // The summary: steps with the calls made in them, then the methods.
    const summary = r.err.slice(r.err.indexOf("trace summary"));
    expect(summary).toMatch(/steps \(wall time/);
    expect(summary).toMatch(/✗ Starting server k3ts-dev-server-0 \(.*nodes\.start ×1/);
    expect(summary).toMatch(new RegExp(`engine calls: ${recording.calls.length + 1} \\(\\d+ outside any step\\)`));
    expect(summary).toMatch(/nodes\.create +×2 +total +\d+(\.\d)?m?s +longest/);
    expect(r.err).not.toContain("s3cret-token-0042");
  });

  it("prints nothing without K3TS_TRACE (or with K3TS_TRACE=0)", async () => {
    for (const env of [{}, { K3TS_TRACE: "0" }]) {
      const r = await runMain(create, { env: { K3TS_RUNTIME: RUNTIME, KUBECONFIG: kubeconfig, ...env } });
      expect(r.code).toBe(1);
      expect(r.err).not.toMatch(/^trace/m);
    }
  });

  it("a call is counted once and in every step open when it started; a thrown call is marked failed", async () => {
    let t = 0;
    const lines: string[] = [];
    const tracer = new Tracer((l) => lines.push(l), () => t);
    const steps: string[] = [];
    const progress = tracer.progress({ start: (title) => (steps.push(title), { update() {}, succeed() {}, fail() {} }) });
    const runtime = tracer.runtime({
      name: "fake",
      info: async () => ({}) as never,
      networks: {} as never,
      volumes: {} as never,
      images: {} as never,
      nodes: {
        create: async (spec: { name: string }) => ((t += 5), { name: spec.name }),
        exec: () => {
          t += 2;
          throw new Error("boom");
        },
      } as never,
    });
    const outer = progress.start("outer");
    const inner = progress.start("inner");
    await runtime.nodes.create({ name: "n1", image: "x", env: { K3S_TOKEN: "hidden" } } as never);
    inner.succeed();
    expect(() => runtime.nodes.exec("n1", ["sh", "-c", "echo hidden"])).toThrow("boom");
    outer.fail();
    tracer.summary();
    expect(steps).toEqual(["outer", "inner"]);
    expect(lines).toContain("trace +0.005s engine nodes.create n1 5.0ms");
    expect(lines).toContain("trace +0.007s engine nodes.exec n1 sh 2.0ms failed");
    expect(lines.find((l) => l.includes("✗ outer"))).toMatch(/nodes\.create ×1 5\.0ms, nodes\.exec ×1 2\.0ms/);
    expect(lines.find((l) => / inner/.test(l) && l.startsWith("   "))).toMatch(/inner \(nodes\.create ×1 5\.0ms\)$/);
    expect(lines.find((l) => l.includes("engine calls:"))).toMatch(/engine calls: 2$/);
    expect(lines.join("\n")).not.toContain("hidden");
  });
});
