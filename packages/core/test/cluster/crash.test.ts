import { describe, expect, it } from "vitest";
import { crashCheck, lastWords } from "../../src/cluster/crash.js";
import { isK3tsError } from "../../src/errors.js";
import { LABELS, baseLabels } from "../../src/labels.js";
import { createMemoryRuntime } from "../../src/testing/memory/index.js";
import type { NodeSpec } from "../../src/types.js";

const labels = baseLabels("0.0.0", { [LABELS.cluster]: "c" });
const node = (name: string, script: string, restart: NodeSpec["restart"] = "unless-stopped"): NodeSpec => ({
  name,
  image: "k3ts-test/busybox:1",
  command: ["sh", "-c", script],
  labels,
  restart,
});
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("crashCheck", () => {
  it("passes while the nodes keep running", async () => {
    const runtime = createMemoryRuntime();
    await runtime.nodes.create(node("k3ts-c-server-0", "sleep 60"));
    await runtime.nodes.start("k3ts-c-server-0");
    const check = crashCheck(runtime, ["k3ts-c-server-0"], { cluster: "c", intervalMs: 0 });
    await check();
    await settle(50);
    await expect(check()).resolves.toBeUndefined();
    await runtime.close();
  });

  it("fails with the node's fatal line first when k3s exits and the engine restarts it", async () => {
    const runtime = createMemoryRuntime();
    await runtime.nodes.create(node("k3ts-c-agent-0", 'echo "level=info msg=starting"; echo "level=fatal msg=\\"kubelet exited: malformed pair\\""; echo "level=info msg=bye"; exit 1'));
    await runtime.nodes.start("k3ts-c-agent-0");
    const check = crashCheck(runtime, ["k3ts-c-agent-0"], { cluster: "c", intervalMs: 0 });
    let err: unknown;
    for (let i = 0; i < 50 && !err; i++) {
      err = await check().then(() => undefined, (e: unknown) => e);
      await settle(20);
    }
    expect(isK3tsError(err, "CLUSTER_NOT_READY")).toBe(true);
    const message = (err as Error).message;
    expect(message).toMatch(/^node k3ts-c-agent-0 (exited|exited and is being restarted)/);
    const quoted = message.split("\n").slice(2).map((l) => l.trim());
    expect(quoted[0]).toBe('level=fatal msg="kubelet exited: malformed pair"');
    expect(quoted).toContain("level=info msg=bye");
    expect((err as { meta: { node: string } }).meta.node).toBe("k3ts-c-agent-0");
    await runtime.close();
  });

  it("fails for a node that exited and stays down, and for one that is gone", async () => {
    const runtime = createMemoryRuntime();
    await runtime.nodes.create(node("k3ts-c-server-0", "exit 3", "no"));
    await runtime.nodes.start("k3ts-c-server-0");
    await settle(50);
    const check = crashCheck(runtime, ["k3ts-c-server-0"], { cluster: "c", intervalMs: 0 });
    await expect(check()).rejects.toThrow(/^node k3ts-c-server-0 exited with code 3/);
    await expect(crashCheck(runtime, ["k3ts-c-agent-9"], { cluster: "c", intervalMs: 0 })()).rejects.toThrow(/^node k3ts-c-agent-9 is gone/);
    await runtime.close();
  });
});

describe("lastWords", () => {
  it("quotes the state and the last lines, a fatal line first", async () => {
    const runtime = createMemoryRuntime();
    await runtime.nodes.create(node("n", 'echo "level=fatal msg=first"; echo a; echo b; echo c; echo d; echo e; exit 1', "no"));
    await runtime.nodes.start("n");
    await settle(50);
    expect(await lastWords(runtime, "n")).toBe(["  n (stopped, exit 1):", '    level=fatal msg=first', "    b", "    c", "    d", "    e"].join("\n"));
    await runtime.close();
  });

  it("puts a Go panic's first line before its stack trace (the registry panics when its proxy remote does not answer)", async () => {
    const runtime = createMemoryRuntime();
    const trace = Array.from({ length: 40 }, (_, i) => `echo "\tgithub.com/x/y.go:${i} +0x25"`).join("; ");
    await runtime.nodes.create(node("r", `echo "level=info msg=listening"; echo "panic: Get \"http://remote:5000/v2/\": dial tcp: lookup remote: no such host"; echo; echo "goroutine 1 [running]:"; ${trace}; exit 2`, "no"));
    await runtime.nodes.start("r");
    await settle(50);
    const said = (await lastWords(runtime, "r")).split("\n");
    expect(said[0]).toBe("  r (stopped, exit 2):");
    expect(said[1]).toBe('    panic: Get http://remote:5000/v2/: dial tcp: lookup remote: no such host');
    expect(said.slice(2)).toEqual(["\tgithub.com/x/y.go:36 +0x25", "\tgithub.com/x/y.go:37 +0x25", "\tgithub.com/x/y.go:38 +0x25", "\tgithub.com/x/y.go:39 +0x25"].map((l) => `    ${l}`));
    await runtime.close();
  });
});
