/** importImages against a fake runtime whose nodes run a tiny imitation of `ctr` (no engine). */
import { isK3tsError } from "../../src/errors.js";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { LABELS } from "../../src/labels.js";
import type { ExecOptions, ExecResult, Runtime } from "../../src/runtime.js";
import type { Node } from "../../src/types.js";
import { importImages, readImageArchive } from "../../src/images/index.js";
import { referenceWarnings } from "../../src/images/import.js";
import { dockerSave } from "./fixture.js";

function node(name: string, role: string, index: number, state: Node["state"] = "running"): Node {
  return {
    id: name,
    name,
    image: "k3s",
    labels: { [LABELS.managed]: "true", [LABELS.cluster]: "c", [LABELS.role]: role, [LABELS.nodeIndex]: String(index) },
    env: {},
    state,
    ports: [],
    networks: [],
    command: [],
    privileged: false,
    hostPid: false,
  };
}

async function drain(stdin: ExecOptions["stdin"]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stdin as Readable) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** Nodes hold images in maps; `ctr images import -` reads the archive like containerd. */
function fakeRuntime(opts: { nodes: Node[]; broken?: Set<string>; archive: Buffer }) {
  const stores = new Map(opts.nodes.map((n) => [n.name, new Map<string, string>()]));
  const execs: string[] = [];
  const result = (stdout: string, exitCode = 0, stderr = ""): ExecResult => ({ exitCode, stdout: Buffer.from(stdout), stderr: Buffer.from(stderr) });
  const runtime = {
    name: "fake",
    nodes: {
      list: async () => opts.nodes,
      exec: async (name: string, command: string[], o: ExecOptions = {}): Promise<ExecResult> => {
        execs.push(`${name} ${command.slice(3, 5).join(" ")}`);
        const store = stores.get(name)!;
        if (command[4] === "tag") {
          const [src, dst] = command.slice(-2) as [string, string];
          if (!store.has(src)) return result("", 1, `ctr: image "${src}": not found`);
          store.set(dst, store.get(src)!);
          return result(`${dst}\n`);
        }
        if (command[4] === "ls") {
          return result(["REF TYPE DIGEST SIZE PLATFORMS LABELS", ...[...store].map(([r, d]) => `${r} m ${d} 1.0 MiB linux/amd64 -`)].join("\n"));
        }
        const data = await drain(o.stdin);
        if (opts.broken?.has(name)) return result("", 1, "ctr: failed to dial \"/run/k3s/containerd/containerd.sock\"");
        try {
          const images = await readImageArchive(Readable.from([data]));
          for (const i of images) store.set(i.ref, i.digest);
          return result(images.map((i) => `unpacking ${i.ref} (${i.digest})...done\n`).join(""));
        } catch {
          return result("", 1, "ctr: unexpected EOF");
        }
      },
    },
    images: {
      exists: async (ref: string) => ref === "me/app:1",
      save: async () => Readable.from([opts.archive]),
    },
  } as unknown as Runtime;
  return { runtime, stores, execs };
}

const cluster = () => [node("k3ts-c-server-0", "server", 0), node("k3ts-c-agent-0", "agent", 0), node("k3ts-c-agent-1", "agent", 1), node("k3ts-c-serverlb", "loadbalancer", 0)];

describe("importImages", () => {
  it("imports into every server and agent (not the load balancer), then skips what is there", async () => {
    const archive = await dockerSave(["me/app:1"]);
    const { runtime, stores } = fakeRuntime({ nodes: cluster(), archive });
    const first = await importImages("c", ["me/app:1"], { runtime });
    expect(first.nodes.map((n) => `${n.node}:${n.status}`)).toEqual(["k3ts-c-server-0:imported", "k3ts-c-agent-0:imported", "k3ts-c-agent-1:imported"]);
    expect(first.nodes[0]!.bytes).toBe(archive.length);
    expect(stores.get("k3ts-c-serverlb")!.size).toBe(0);
    const second = await importImages("c", ["me/app:1"], { runtime });
    expect(second.nodes.map((n) => n.status)).toEqual(["skipped", "skipped", "skipped"]);
    expect(second.nodes[0]!.images[0]!.images[0]!.ref).toBe("docker.io/me/app:1");
  });

  it("Podman's localhost/ name also gets the name a manifest means (ctr images tag), so app:1 finds it", async () => {
    const archive = await dockerSave(["localhost/me/app:1"]);
    const { runtime, stores, execs } = fakeRuntime({ nodes: cluster(), archive });
    const r = await importImages("c", ["me/app:1"], { runtime });
    for (const n of r.nodes) expect(n.images[0]!.images.map((i) => i.ref).sort()).toEqual(["docker.io/me/app:1", "localhost/me/app:1"]);
    expect(stores.get("k3ts-c-agent-0")!.get("docker.io/me/app:1")).toBe(stores.get("k3ts-c-agent-0")!.get("localhost/me/app:1"));
    expect(execs.filter((e) => e.endsWith("images tag"))).toHaveLength(3);
    expect(r.warnings).toEqual([]);
  });

  it("warns that a :latest or untagged image will be pulled, not used, and says what to change", () => {
    expect(referenceWarnings("me/app")).toEqual([
      "me/app: pods that name it (no tag means :latest) get imagePullPolicy Always and pull it from its registry instead of using the imported copy; give it another tag (me/app:dev) or set imagePullPolicy: IfNotPresent",
    ]);
    expect(referenceWarnings("registry.local:5000/me/app:latest")[0]).toMatch(/^registry\.local:5000\/me\/app:latest: pods that name it get imagePullPolicy Always/);
    expect(referenceWarnings("me/app:1")).toEqual([]);
    expect(referenceWarnings(`me/app@sha256:${"a".repeat(64)}`)).toEqual([]);
  });

  it("a stale digest is re-imported; node filters pick nodes", async () => {
    const archive = await dockerSave(["me/app:1"]);
    const { runtime, stores } = fakeRuntime({ nodes: cluster(), archive });
    stores.get("k3ts-c-agent-1")!.set("docker.io/me/app:1", "sha256:old");
    const r = await importImages("c", ["me/app:1"], { runtime, nodeFilters: ["agent:1", "loadbalancer"] });
    expect(r.nodes.map((n) => `${n.node}:${n.status}`)).toEqual(["k3ts-c-agent-1:imported", "k3ts-c-serverlb:imported"]);
    expect(stores.get("k3ts-c-agent-1")!.get("docker.io/me/app:1")).not.toBe("sha256:old");
  });

  it("per-node failures are collected after the other nodes finished", async () => {
    const archive = await dockerSave(["me/app:1"]);
    const nodes = cluster();
    nodes[2] = node("k3ts-c-agent-1", "agent", 1, "stopped");
    const { runtime, stores } = fakeRuntime({ nodes, archive, broken: new Set(["k3ts-c-agent-0"]) });
    type Failure = { code: string; message: string; meta: { failures: Array<{ node: string }> } };
    const err = (await importImages("c", ["me/app:1"], { runtime }).then(() => undefined, (e: unknown) => e)) as Failure;
    expect(err.code).toBe("COMMAND_FAILED");
    expect(err.message).toContain("image import failed on 2 of 3 node(s)");
    expect(err.message).toContain("k3ts-c-agent-0: me/app:1: ctr images import exited 1: ctr: failed to dial");
    expect(err.message).toContain("k3ts-c-agent-1: me/app:1: node k3ts-c-agent-1 is stopped");
    expect(err.meta.failures.map((f) => f.node)).toEqual(["k3ts-c-agent-0", "k3ts-c-agent-1"]);
    // Each node's failure is a coded error too (the cause), with the node it happened on.
    const causes = ((err as unknown as { cause: AggregateError }).cause).errors;
    expect(causes.map((c: unknown) => [isK3tsError(c, "COMMAND_FAILED"), (c as { meta: { node: string } }).meta.node])).toEqual([[true, "k3ts-c-agent-0"], [true, "k3ts-c-agent-1"]]);
    expect(stores.get("k3ts-c-server-0")!.get("docker.io/me/app:1")).toMatch(/^sha256:/);
  });

  it("an image missing from the engine fails before anything is sent", async () => {
    const { runtime, execs } = fakeRuntime({ nodes: cluster(), archive: Buffer.alloc(0) });
    await expect(importImages("c", ["me/app:1", "nope:2"], { runtime })).rejects.toMatchObject({ code: "IMAGE_NOT_FOUND", message: "image not found in fake: nope:2" });
    expect(execs.filter((e) => e.endsWith("images import"))).toEqual([]); // only read-only `images ls`
  });

  it("a stream (-) is read once and goes to every node", async () => {
    const archive = await dockerSave(["me/app:1"]);
    const { runtime } = fakeRuntime({ nodes: cluster(), archive });
    const r = await importImages("c", ["-"], { runtime, stdin: Readable.from([archive.subarray(0, 1000), archive.subarray(1000)]) });
    expect(r.nodes.map((n) => n.images[0]!.bytes)).toEqual([archive.length, archive.length, archive.length]);
  });

  it("an aborted signal stops with ABORTED", async () => {
    const { runtime } = fakeRuntime({ nodes: cluster(), archive: await dockerSave(["me/app:1"]) });
    await expect(importImages("c", ["me/app:1"], { runtime, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "ABORTED" });
  });
});
