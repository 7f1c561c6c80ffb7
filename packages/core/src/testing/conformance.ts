import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { networkInterfaces } from "node:os";
import { Readable, Writable } from "node:stream";
import { isK3tsError, type ErrorCode } from "../errors.js";
import type { Runtime } from "../runtime.js";
import type { Node, NodeSpec } from "../types.js";
import { listTarEntries } from "../tar.js";
import * as tar from "tar-stream";
import { freePort } from "../cluster/query.js";

/**
 * The runtime conformance kit: the checks every k3ts Runtime (first- or third-party) must pass
 * against a real engine. Each check is plain async code using node:assert, so it can run under any
 * test runner; {@link defineRuntimeConformance} registers them with vitest.
 *
 * The test image is the author's to name ({@link ConformanceOptions.image}): busybox with `sh`, `cat`,
 * `echo`, `sleep`, `stat`, `wc`, `httpd` and `wget` on PATH, and PATH set by the image (`busybox:1.36`
 * from a registry, or a `docker import` of busybox-static: docs/plugins/authoring-a-runtime.md says how).
 * A run leaves one thing in the engine: a copy of that image named {@link CONFORMANCE_COPY_IMAGE}.
 */
export interface ConformanceOptions {
  /** Makes the runtime under test (called once per suite). */
  create: () => Runtime | Promise<Runtime>;
  /** The busybox test image, present in the engine (see above; any name the engine resolves). */
  image: string;
  /** Merged into every node the suite creates (e.g. `{ privileged: false }`). */
  nodeDefaults?: Partial<NodeSpec>;
  /** Prefix for every object the suite creates. */
  prefix?: string;
  /** How long one check may take before it fails (ms, default 60 s), in both runners. */
  timeoutMs?: number;
  /** runConformanceChecks only: stop after the first check that fails (the results end there). */
  bail?: boolean;
}

export interface CheckContext {
  runtime: Runtime;
  image: string;
  /** A unique name for an object of this check. */
  name(suffix: string): string;
  /** Labels that mark the suite's objects (for cleanup and for the leak check). */
  labels: Record<string, string>;
  /** Creates a node with the suite's defaults and labels; removed after the check. */
  node(spec: Partial<NodeSpec> & { name: string }): Promise<Node>;
  /** Registers a network or volume for removal after the check. */
  track(kind: "network" | "volume", name: string): void;
}

export interface ConformanceCheck {
  group: string;
  name: string;
  run(ctx: CheckContext): Promise<void>;
}

const SUITE_LABEL = "k3ts.io/conformance-suite";

/** Asserts that `promise` rejects with a k3ts error of `code`. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  try {
    await promise;
  } catch (err) {
    if (isK3tsError(err, code)) return;
    throw new assert.AssertionError({
      message: `expected a K3tsError with code ${code}, got ${isK3tsError(err) ? `code ${err.code}` : "a plain error"}: ${(err as Error)?.message}`,
      actual: isK3tsError(err) ? err.code : err,
      expected: code,
    });
  }
  throw new assert.AssertionError({ message: `expected a K3tsError with code ${code}, but the call succeeded`, expected: code });
}

/** When the running check's time limit ends: a wait inside it gives up a little earlier, saying what it waited for. */
const checkDeadline = new AsyncLocalStorage<number>();

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Math.min(Date.now() + timeoutMs, checkDeadline.getStore() ?? Infinity);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}


const text = (b: Buffer) => b.toString("utf8").trim();

/** This machine's non-loopback IPv4 addresses. */
function externalIPv4(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a): a is NonNullable<typeof a> => Boolean(a && a.family === "IPv4" && !a.internal))
    .map((a) => a.address);
}
const HTTPD = (dir = "/www", port = 8080) => ["httpd", "-f", "-p", String(port), "-h", dir];
const SLEEPER = ["sleep", "3600"];

/** Go's GOOS and GOARCH names: what `info().os` and `info().arch` report (Docker's "x86_64" is "amd64" here). */
const GOOS = new Set(["linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix", "android"]);
const GOARCH = new Set(["amd64", "arm64", "arm", "386", "ppc64le", "ppc64", "s390x", "riscv64", "mips64le", "mips64", "mipsle", "mips", "loong64"]);

/** The name a conformance run loads a copy of the test image under (the one thing the kit leaves in the engine). */
export const CONFORMANCE_COPY_IMAGE = "k3ts-conformance/busybox-copy:1";

/** `ref` as an engine may report it: as given, or qualified with a registry (`localhost/x`, `docker.io/x`). */
function sameImage(reported: string, ref: string): boolean {
  return reported === ref || reported.endsWith(`/${ref}`);
}

/** A writable that keeps what it is given, and whether anyone ended it. */
function collector(): Writable & { data(): Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return Object.assign(sink, { data: () => Buffer.concat(chunks) });
}

/** The entries of a `docker save` archive, read whole. */
async function readArchive(archive: Readable): Promise<Array<{ header: tar.Header; body: Buffer }>> {
  const extract = tar.extract();
  archive.on("error", (err) => extract.destroy(err));
  archive.pipe(extract);
  const entries: Array<{ header: tar.Header; body: Buffer }> = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
    entries.push({ header: entry.header, body: Buffer.concat(chunks) });
  }
  return entries;
}

type ManifestEntry = { Config?: string; RepoTags?: string[] | null; Layers?: string[] };

function manifestOf(entries: Array<{ header: tar.Header; body: Buffer }>): ManifestEntry[] {
  const manifest = entries.find((e) => e.header.name.replace(/^\.\//, "") === "manifest.json");
  assert.ok(manifest, `images.save: a docker-save archive has manifest.json (got ${entries.slice(0, 5).map((e) => e.header.name).join(", ")})`);
  return JSON.parse(manifest.body.toString("utf8")) as ManifestEntry[];
}

/**
 * A `docker save` archive of one image re-packed with other RepoTags (`null`: untagged). The OCI
 * index and the legacy `repositories` file go, so an engine reads the names from manifest.json only.
 */
async function retagged(archive: Readable, tags: string[] | null): Promise<Readable> {
  const entries = await readArchive(archive);
  const manifest = manifestOf(entries);
  assert.ok(manifest.length > 0, "images.save: manifest.json lists the image");
  const rewritten = Buffer.from(JSON.stringify([{ ...manifest[0], RepoTags: tags }]));
  return packEntries(
    entries
      .filter(({ header }) => !["index.json", "oci-layout", "repositories"].includes(header.name.replace(/^\.\//, "")))
      .map((e) => (e.header.name.replace(/^\.\//, "") === "manifest.json" ? { header: e.header, body: rewritten } : e)),
  );
}

/** A tar stream of `entries` (file bodies as given, other entries as headers only), as a node:stream Readable. */
async function packEntries(entries: Array<{ header: tar.Header; body: Buffer }>): Promise<Readable> {
  const pack = tar.pack();
  for (const { header, body } of entries) {
    if (header.type === "file") pack.entry({ ...header, size: body.length }, body);
    else pack.entry({ ...header, size: 0 });
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Readable.from([Buffer.concat(chunks)]);
}

/** Runs `call`, which must reject with some K3tsError (the rule leaves its code open), naming the call when it does not. */
async function expectRefusal(call: string, rule: string, promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (err) {
    if (isK3tsError(err)) return;
    assert.fail(`${call}: ${rule}: expected a K3tsError, got a plain error: ${(err as Error)?.message}`);
  }
  assert.fail(`${call} succeeded: ${rule}`);
}

/** Like {@link expectCode}, with the call and the rule in the message. */
async function expectCodeOf(call: string, rule: string, promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  try {
    await expectCode(promise, code);
  } catch (err) {
    throw new assert.AssertionError({ message: `${call}: ${rule}: ${(err as Error).message}`, expected: code });
  }
}

async function httpNode(ctx: CheckContext, name: string, body: string, extra: Partial<NodeSpec> = {}): Promise<Node> {
  await ctx.node({ name, command: HTTPD(), ...extra });
  await ctx.runtime.nodes.writeFile(name, "/www/index.html", body);
  await ctx.runtime.nodes.start(name);
  return ctx.runtime.nodes.inspect(name);
}

/** Label keys the list checks select by. */
const PICK = "k3ts.io/conformance-pick";
const MARK = "k3ts.io/conformance-mark";

/**
 * Makes three objects with `make` (a: pick=a mark=x, b: pick=b, c: mark=x, each with the suite's labels)
 * and holds `call` (volumes.list, networks.list) to the label-filter rules on them. Returns the names
 * and the listing function, for the caller's further checks.
 */
async function checkLabelFilter(
  ctx: CheckContext,
  call: string,
  prefix: string,
  make: (name: string, labels: Record<string, string>) => Promise<unknown>,
  list: (labels: Record<string, string>) => Promise<Array<{ name: string }>>,
): Promise<{ a: string; b: string; c: string; names: (labels: Record<string, string>) => Promise<string[]> }> {
  const [a, b, c] = [ctx.name(`${prefix}-a`), ctx.name(`${prefix}-b`), ctx.name(`${prefix}-c`)];
  const specs: Array<[string, Record<string, string>]> = [[a, { [PICK]: "a", [MARK]: "x" }], [b, { [PICK]: "b" }], [c, { [MARK]: "x" }]];
  for (const [name, labels] of specs) await make(name, { ...ctx.labels, ...labels });
  const names = async (labels: Record<string, string>) => (await list({ ...ctx.labels, ...labels })).map((x) => x.name).sort();
  assert.deepEqual(await names({}), [a, b, c].sort(), `${call}: the suite's label selects the suite's objects, and only them`);
  assert.deepEqual(await names({ [PICK]: "" }), [a, b].sort(), `${call}: an empty value matches any value of the key`);
  assert.deepEqual(await names({ [PICK]: "a" }), [a], `${call}: a value selects that value only`);
  assert.deepEqual(await names({ [PICK]: "a", [MARK]: "x" }), [a], `${call}: every label must match`);
  assert.deepEqual(await names({ [PICK]: "b", [MARK]: "x" }), [], `${call}: every label must match`);
  assert.deepEqual(await names({ [MARK]: "" }), [a, c].sort(), `${call}: an empty value matches any value of the key`);
  assert.deepEqual(await names({ [PICK]: "c" }), [], `${call}: no object has that value`);
  return { a, b, c, names };
}

export const conformanceChecks: ConformanceCheck[] = [
  // ---------------------------------------------------------------- info
  {
    group: "info",
    name: "reports the engine, its endpoint and capabilities",
    async run({ runtime }) {
      const info = await runtime.info();
      assert.equal(info.runtime, runtime.name, "info().runtime is the runtime's name");
      assert.ok(info.engine.name.length > 0, "info().engine.name is set");
      assert.match(info.engine.version, /\d+\.\d+/, "info().engine.version is a version (major.minor)");
      assert.ok(info.endpoint.length > 0, "info().endpoint says where the engine was reached");
      for (const key of ["privileged", "rootless", "memoryLimit", "networkDns", "hostGateway"] as const) {
        assert.equal(typeof info.capabilities[key], "boolean", `info().capabilities.${key} is a boolean`);
      }
      assert.ok(GOOS.has(info.os), `info().os is Go's GOOS name ("linux"), got ${JSON.stringify(info.os)}`);
      assert.ok(GOARCH.has(info.arch), `info().arch is Go's GOARCH name ("amd64", "arm64"), got ${JSON.stringify(info.arch)}`);
    },
  },
  // ---------------------------------------------------------------- nodes
  {
    group: "nodes",
    name: "create makes a node that is not started, with labels and env round-tripped exactly",
    async run(ctx) {
      const labels = {
        "k3ts.io/role": "server",
        "example.com/dotted.key_with-dash": "a=b,c d",
        "k3ts.io/unicode": "grüße ✓",
        "k3ts.io/empty": "",
      };
      const name = ctx.name("create");
      const created = await ctx.node({ name, command: SLEEPER, labels, env: { FOO: "bar baz", EMPTY: "", EQ: "x=y" } });
      assert.equal(created.name, name, "nodes.create returns the node it made");
      const node = await ctx.runtime.nodes.inspect(name);
      assert.equal(node.state, "created", "nodes.create does not start the node");
      for (const [k, v] of Object.entries(labels)) assert.equal(node.labels[k], v, `nodes.inspect: label ${k} comes back exactly as given`);
      assert.equal(node.env.FOO, "bar baz", "nodes.inspect: env comes back exactly as given (spaces)");
      assert.equal(node.env.EMPTY, "", "nodes.inspect: env comes back exactly as given (an empty value)");
      assert.equal(node.env.EQ, "x=y", "nodes.inspect: env comes back exactly as given (a value with =)");
      assert.ok(sameImage(node.image, ctx.image), `nodes.inspect: image is the reference given or its qualified form (got ${node.image})`);
      assert.deepEqual(node.command.slice(-2), SLEEPER, "nodes.inspect: command ends with the command given");
    },
  },
  {
    group: "nodes",
    name: "capAdd adds capabilities to the node's effective set, and inspect reports them",
    async run(ctx) {
      const name = ctx.name("caps");
      await ctx.node({ name, command: SLEEPER, capAdd: ["NET_ADMIN", "SYS_TIME"] });
      const node = await ctx.runtime.nodes.inspect(name);
      if (node.capAdd !== undefined) assert.deepEqual([...node.capAdd].sort(), ["NET_ADMIN", "SYS_TIME"], "nodes.inspect: capAdd, when reported, is what was given");
      await ctx.runtime.nodes.start(name);
      const status = text((await ctx.runtime.nodes.exec(name, ["cat", "/proc/self/status"])).stdout);
      const eff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? "0"}`);
      // CAP_NET_ADMIN is bit 12, CAP_SYS_TIME bit 25 (linux/capability.h).
      assert.ok((eff >> 12n) & 1n, `CAP_NET_ADMIN missing from CapEff ${eff.toString(16)}`);
      assert.ok((eff >> 25n) & 1n, `CAP_SYS_TIME missing from CapEff ${eff.toString(16)}`);
    },
  },
  {
    group: "nodes",
    name: "list selects by labels, in every state, and an empty value matches any value",
    async run(ctx) {
      const key = "k3ts.io/conformance-pick";
      const a = ctx.name("list-a");
      const b = ctx.name("list-b");
      await ctx.node({ name: a, command: SLEEPER, labels: { [key]: "a" } });
      await ctx.node({ name: b, command: SLEEPER, labels: { [key]: "b" } });
      await ctx.runtime.nodes.start(b);
      const onlyA = await ctx.runtime.nodes.list({ labels: { ...ctx.labels, [key]: "a" } });
      assert.deepEqual(onlyA.map((n) => n.name), [a], "nodes.list: a label value selects the nodes with that value only");
      const both = await ctx.runtime.nodes.list({ labels: { ...ctx.labels, [key]: "" } });
      assert.deepEqual(both.map((n) => n.name).sort(), [a, b].sort(), "nodes.list: an empty value matches any value, created and running nodes alike");
      assert.equal(both.find((n) => n.name === b)?.state, "running", "nodes.list reports each node's state");
      const none = await ctx.runtime.nodes.list({ labels: { ...ctx.labels, [key]: "c" } });
      assert.equal(none.length, 0, "nodes.list: no node has that label value");
    },
  },
  {
    group: "nodes",
    name: "list reports what inspect does: labels, image, state and a running node's published ports",
    async run(ctx) {
      const name = ctx.name("list-full");
      await httpNode(ctx, name, "listed\n", { labels: { "k3ts.io/conformance-note": "a=b, c" }, ports: [{ containerPort: 8080, hostIP: "127.0.0.1" }] });
      const [listed] = await ctx.runtime.nodes.list({ labels: { ...ctx.labels, "k3ts.io/conformance-note": "" } });
      const inspected = await ctx.runtime.nodes.inspect(name);
      assert.ok(listed, "nodes.list found the node");
      assert.equal(listed.labels["k3ts.io/conformance-note"], "a=b, c", "nodes.list reports labels as inspect does");
      assert.equal(listed.state, "running", "nodes.list reports the state");
      assert.equal(listed.image, inspected.image, "nodes.list reports the image as inspect does");
      assert.deepEqual(listed.ports, inspected.ports, "nodes.list reports published ports as inspect does");
      assert.ok(listed.ports.length === 1 && listed.ports[0]!.hostPort > 0, `nodes.list: a running node's engine-picked port is real (${JSON.stringify(listed.ports)})`);
    },
  },
  {
    group: "nodes",
    name: "start, stop, start again and delete move the node through its states",
    async run(ctx) {
      const name = ctx.name("life");
      await ctx.node({ name, command: SLEEPER, stopTimeoutSeconds: 1 });
      await ctx.runtime.nodes.start(name);
      const running = await ctx.runtime.nodes.inspect(name);
      assert.equal(running.state, "running", "nodes.start: the node runs");
      assert.ok(running.startedAt, "nodes.inspect: startedAt is set once started");
      await ctx.runtime.nodes.start(name); // starting a running node is not an error
      await ctx.runtime.nodes.stop(name, { timeoutSeconds: 1 });
      assert.equal((await ctx.runtime.nodes.inspect(name)).state, "stopped", "nodes.stop: the node is stopped");
      await ctx.runtime.nodes.stop(name); // stopping a stopped node is not an error
      await ctx.runtime.nodes.start(name);
      assert.equal((await ctx.runtime.nodes.inspect(name)).state, "running", "nodes.start of a stopped node runs it again");
      await ctx.runtime.nodes.delete(name);
      await expectCodeOf("nodes.inspect", "a node that does not exist is NODE_NOT_FOUND", ctx.runtime.nodes.inspect(name), "NODE_NOT_FOUND");
    },
  },
  {
    group: "nodes",
    name: "a node that exits reports stopped with its exit code",
    async run(ctx) {
      const name = ctx.name("exit");
      await ctx.node({ name, command: ["sh", "-c", "exit 3"] });
      await ctx.runtime.nodes.start(name);
      const node = await eventually("the node to exit", async () => {
        const n = await ctx.runtime.nodes.inspect(name);
        return n.state === "stopped" ? n : undefined;
      });
      assert.equal(node.exitCode, 3, "nodes.inspect: a node that exited reports its exit code");
    },
  },
  {
    group: "nodes",
    name: "error codes: NODE_ALREADY_EXISTS, NODE_NOT_FOUND, IMAGE_NOT_FOUND, NETWORK_NOT_FOUND",
    async run(ctx) {
      const name = ctx.name("dup");
      await ctx.node({ name, command: SLEEPER });
      await expectCodeOf("nodes.create", "a name that is taken is NODE_ALREADY_EXISTS", ctx.node({ name, command: SLEEPER }), "NODE_ALREADY_EXISTS");
      const missing = ctx.name("missing");
      await expectCodeOf("nodes.inspect", "a node that does not exist is NODE_NOT_FOUND", ctx.runtime.nodes.inspect(missing), "NODE_NOT_FOUND");
      await expectCodeOf("nodes.start", "a node that does not exist is NODE_NOT_FOUND", ctx.runtime.nodes.start(missing), "NODE_NOT_FOUND");
      await expectCodeOf("nodes.stop", "a node that does not exist is NODE_NOT_FOUND", ctx.runtime.nodes.stop(missing), "NODE_NOT_FOUND");
      await expectCodeOf("nodes.delete", "a node that does not exist is NODE_NOT_FOUND", ctx.runtime.nodes.delete(missing), "NODE_NOT_FOUND");
      await expectCodeOf("nodes.exec", "a node that does not exist is NODE_NOT_FOUND", ctx.runtime.nodes.exec(missing, ["true"]), "NODE_NOT_FOUND");
      await expectCodeOf("nodes.readFile", "a node that does not exist is NODE_NOT_FOUND", ctx.runtime.nodes.readFile(missing, "/etc/hostname"), "NODE_NOT_FOUND");
      await expectCodeOf("nodes.writeFile", "a node that does not exist is NODE_NOT_FOUND", ctx.runtime.nodes.writeFile(missing, "/tmp/x", "x"), "NODE_NOT_FOUND");
      await expectCodeOf("nodes.create", "an image the engine does not hold is IMAGE_NOT_FOUND",
        ctx.node({ name: ctx.name("noimage"), image: "k3ts.invalid/conformance/missing:never", command: SLEEPER }),
        "IMAGE_NOT_FOUND",
      );
      await expectCodeOf("nodes.create", "a network that does not exist is NETWORK_NOT_FOUND",
        ctx.node({ name: ctx.name("nonet"), command: SLEEPER, network: { name: ctx.name("no-such-net") } }),
        "NETWORK_NOT_FOUND",
      );
    },
  },
  {
    group: "nodes",
    name: "create reports a missing image before a missing network, and both before a taken name",
    async run(ctx) {
      const taken = ctx.name("taken");
      await ctx.node({ name: taken, command: SLEEPER });
      const noImage = "k3ts.invalid/conformance/missing:never";
      const noNet = { name: ctx.name("no-such-net") };
      const rule = "what a node needs is looked up before its name is claimed (image, then network, then name)";
      await expectCodeOf("nodes.create (taken name, missing image)", rule, ctx.node({ name: taken, image: noImage, command: SLEEPER }), "IMAGE_NOT_FOUND");
      await expectCodeOf("nodes.create (taken name, missing network)", rule, ctx.node({ name: taken, command: SLEEPER, network: noNet }), "NETWORK_NOT_FOUND");
      await expectCodeOf("nodes.create (missing image and network)", rule, ctx.node({ name: ctx.name("neither"), image: noImage, command: SLEEPER, network: noNet }), "IMAGE_NOT_FOUND");
    },
  },
  {
    group: "nodes",
    name: "every node call on a missing node is NODE_NOT_FOUND, logs and network calls included",
    async run(ctx) {
      const missing = ctx.name("gone");
      const net = ctx.name("nf-net");
      ctx.track("network", net);
      await ctx.runtime.networks.ensure({ name: net, labels: ctx.labels });
      const rule = "a call on a node that does not exist rejects with NODE_NOT_FOUND";
      const drain = async () => {
        for await (const _chunk of ctx.runtime.nodes.logs(missing)) break;
      };
      await expectCodeOf("nodes.logs", rule, drain(), "NODE_NOT_FOUND");
      await expectCodeOf("networks.connect", rule, ctx.runtime.networks.connect(net, missing), "NODE_NOT_FOUND");
      await expectCodeOf("networks.disconnect", rule, ctx.runtime.networks.disconnect(net, missing), "NODE_NOT_FOUND");
      const both = "a missing network is reported before a missing node";
      await expectCodeOf("networks.connect (missing network and node)", both, ctx.runtime.networks.connect(ctx.name("no-net"), missing), "NETWORK_NOT_FOUND");
      await expectCodeOf("networks.disconnect (missing network and node)", both, ctx.runtime.networks.disconnect(ctx.name("no-net"), missing), "NETWORK_NOT_FOUND");
    },
  },
  {
    group: "nodes",
    name: "delete with force: false refuses a running node and leaves it running; a stopped one goes",
    async run(ctx) {
      const name = ctx.name("noforce");
      await ctx.node({ name, command: SLEEPER, stopTimeoutSeconds: 1 });
      await ctx.runtime.nodes.start(name);
      await expectRefusal("nodes.delete(force: false) on a running node", "it must reject and leave the node running", ctx.runtime.nodes.delete(name, { force: false }));
      assert.equal((await ctx.runtime.nodes.inspect(name)).state, "running", "nodes.delete(force: false) refused, and the node still runs");
      await ctx.runtime.nodes.stop(name, { timeoutSeconds: 1 });
      await ctx.runtime.nodes.delete(name, { force: false });
      await expectCodeOf("nodes.inspect after nodes.delete(force: false) of a stopped node", "the node is gone", ctx.runtime.nodes.inspect(name), "NODE_NOT_FOUND");
    },
  },
  {
    group: "nodes",
    name: "hostname, entrypoint, command, workdir and env reach the node; inspect's env is what its processes see",
    async run(ctx) {
      const name = ctx.name("settings");
      const script = 'echo started > here.txt; echo "$CONF_VALUE" >> here.txt; sleep 3600';
      // A workdir the image has: Docker creates a missing one, Podman refuses to start (the contract leaves it to the caller).
      await ctx.node({ name, hostname: "conformance-host", entrypoint: ["sh", "-c"], command: [script], workdir: "/tmp", env: { CONF_VALUE: "a value" } });
      const created = await ctx.runtime.nodes.inspect(name);
      assert.deepEqual(created.command, ["sh", "-c", script], "nodes.inspect: command is entrypoint + command");
      assert.equal(created.env.CONF_VALUE, "a value", "nodes.inspect: env as given");
      assert.ok(created.env.PATH, "nodes.inspect: env includes what the image sets (PATH)");
      await ctx.runtime.nodes.start(name);
      const here = await eventually("the node's command to write /tmp/here.txt", async () => {
        const content = (await ctx.runtime.nodes.readFile(name, "/tmp/here.txt")).toString();
        return content.includes("\n") && content.split("\n").length >= 3 ? content : undefined;
      });
      assert.equal(here, "started\na value\n", "the entrypoint ran the command in the workdir with the env");
      assert.equal(text(await ctx.runtime.nodes.readFile(name, "/etc/hostname")), "conformance-host", "hostname is in /etc/hostname");
      const path = await ctx.runtime.nodes.exec(name, ["sh", "-c", 'echo "$PATH"']);
      assert.equal(text(path.stdout), created.env.PATH, "the PATH inspect reports is the one processes get");
      await ctx.runtime.nodes.exec(name, ["sh", "-c", "echo in-workdir > exec.txt"]);
      assert.equal(text(await ctx.runtime.nodes.readFile(name, "/tmp/exec.txt")), "in-workdir", "nodes.exec runs in the node's workdir by default");
      await ctx.runtime.nodes.exec(name, ["sh", "-c", "echo elsewhere > exec.txt"], { workdir: "/etc" });
      assert.equal(text(await ctx.runtime.nodes.readFile(name, "/etc/exec.txt")), "elsewhere", "nodes.exec honours ExecOptions.workdir");
    },
  },
  {
    group: "nodes",
    name: "extraHosts are in /etc/hosts, tmpfs is empty at every start, init runs as PID 1",
    async run(ctx) {
      const name = ctx.name("hosts");
      const hostnames = ["conformance-a.example", "conformance-b.example"];
      await ctx.node({ name, command: SLEEPER, extraHosts: [{ ip: "10.1.2.3", hostnames }], tmpfs: { "/scratch": "" }, init: true, stopTimeoutSeconds: 1 });
      await ctx.runtime.nodes.start(name);
      const hosts = (await ctx.runtime.nodes.exec(name, ["cat", "/etc/hosts"])).stdout.toString();
      for (const host of hostnames) {
        assert.ok(hosts.split("\n").some((line) => /^10\.1\.2\.3\s/.test(line) && line.split(/\s+/).includes(host)), `extraHosts: /etc/hosts maps ${host} to 10.1.2.3 (got ${JSON.stringify(hosts)})`);
      }
      const pid1 = (await ctx.runtime.nodes.exec(name, ["cat", "/proc/1/cmdline"])).stdout.toString().split("\0");
      assert.notEqual(pid1[0], "sleep", `init: true runs an init as PID 1, not the command (PID 1 is ${JSON.stringify(pid1)})`);
      assert.ok(pid1.includes("sleep"), `init: the init runs the command (PID 1 is ${JSON.stringify(pid1)})`);
      assert.equal((await ctx.runtime.nodes.exec(name, ["sh", "-c", "echo kept > /scratch/file"])).exitCode, 0, "tmpfs: the mount is writable");
      assert.equal(text((await ctx.runtime.nodes.exec(name, ["cat", "/scratch/file"])).stdout), "kept");
      await ctx.runtime.nodes.stop(name, { timeoutSeconds: 1 });
      await ctx.runtime.nodes.start(name);
      assert.notEqual((await ctx.runtime.nodes.exec(name, ["cat", "/scratch/file"])).exitCode, 0, "tmpfs: a restarted node finds its tmpfs empty");
      const plain = ctx.name("no-init");
      await ctx.node({ name: plain, command: SLEEPER });
      await ctx.runtime.nodes.start(plain);
      const own = (await ctx.runtime.nodes.exec(plain, ["cat", "/proc/1/cmdline"])).stdout.toString().split("\0");
      assert.equal(own[0], "sleep", `without init the command is PID 1 (PID 1 is ${JSON.stringify(own)})`);
    },
  },
  {
    group: "nodes",
    name: "restart: always and on-failure restart a node that exits, no leaves it stopped, stop ends the restarts",
    async run(ctx) {
      // Each run says so on stdout: a node's log keeps every run's output.
      const runs = async (name: string) => {
        let count = 0;
        for await (const chunk of ctx.runtime.nodes.logs(name)) count += chunk.data.toString().split("\n").filter((l) => l === "conformance-run").length;
        return count;
      };
      const failing = ["sh", "-c", "echo conformance-run; exit 1"];
      const onFailure = ctx.name("restart-onfail");
      const always = ctx.name("restart-always");
      const never = ctx.name("restart-no");
      await ctx.node({ name: onFailure, command: failing, restart: "on-failure" });
      await ctx.node({ name: always, command: ["sh", "-c", "echo conformance-run; exit 0"], restart: "always" });
      await ctx.node({ name: never, command: failing, restart: "no" });
      for (const name of [onFailure, always, never]) await ctx.runtime.nodes.start(name);
      for (const name of [onFailure, always]) {
        await eventually(`node ${name} to be restarted`, async () => ((await runs(name)) >= 2 ? true : undefined));
      }
      const stopped = await ctx.runtime.nodes.inspect(never);
      assert.equal(stopped.state, "stopped", "restart: no leaves a node that exited stopped");
      assert.equal(stopped.exitCode, 1, "nodes.inspect: the exit code of a node that exited");
      assert.equal(await runs(never), 1, "restart: no ran the command once");
      await ctx.runtime.nodes.stop(onFailure, { timeoutSeconds: 1 });
      const after = await runs(onFailure);
      await new Promise((r) => setTimeout(r, 700));
      assert.equal((await ctx.runtime.nodes.inspect(onFailure)).state, "stopped", "nodes.stop ends the restarts");
      assert.equal(await runs(onFailure), after, "nodes.stop: no run after the stop");
    },
  },
  {
    group: "nodes",
    name: "privileged is reported by inspect, and a node that is not privileged has the default capabilities only",
    async run(ctx) {
      const { capabilities } = await ctx.runtime.info();
      if (capabilities.privileged) {
        const priv = ctx.name("priv");
        await ctx.node({ name: priv, command: SLEEPER, privileged: true });
        assert.equal((await ctx.runtime.nodes.inspect(priv)).privileged, true, "nodes.inspect: privileged: true is reported");
      }
      const name = ctx.name("unpriv");
      await ctx.node({ name, command: SLEEPER, privileged: false });
      assert.equal((await ctx.runtime.nodes.inspect(name)).privileged, false, "nodes.inspect: privileged: false is reported");
      await ctx.runtime.nodes.start(name);
      const status = text((await ctx.runtime.nodes.exec(name, ["cat", "/proc/self/status"])).stdout);
      const eff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? "0"}`);
      // CAP_CHOWN is bit 0 (in every engine's default set), CAP_SYS_ADMIN bit 21 (in none).
      assert.ok(eff & 1n, `CAP_CHOWN missing from CapEff ${eff.toString(16)}`);
      assert.ok(!((eff >> 21n) & 1n), `a node that is not privileged has CAP_SYS_ADMIN (CapEff ${eff.toString(16)})`);
    },
  },
  {
    group: "nodes",
    name: "hostPid: the node is in the host's PID namespace (PID 1 is not its own), reported by inspect; without it, its command is PID 1",
    async run(ctx) {
      const name = ctx.name("hostpid");
      await ctx.node({ name, command: SLEEPER, hostPid: true });
      assert.equal((await ctx.runtime.nodes.inspect(name)).hostPid, true, "nodes.inspect: hostPid: true is reported");
      await ctx.runtime.nodes.start(name);
      const pid1 = (await ctx.runtime.nodes.exec(name, ["cat", "/proc/1/cmdline"])).stdout.toString().split("\0");
      assert.ok(pid1[0] !== "sleep" && !pid1.includes("sleep"), `hostPid: PID 1 is the host's, not the node's command (PID 1 is ${JSON.stringify(pid1)})`);
      const own = ctx.name("ownpid");
      await ctx.node({ name: own, command: SLEEPER });
      assert.equal((await ctx.runtime.nodes.inspect(own)).hostPid, false, "nodes.inspect: a node without hostPid reports hostPid: false");
      await ctx.runtime.nodes.start(own);
      const ownPid1 = (await ctx.runtime.nodes.exec(own, ["cat", "/proc/1/cmdline"])).stdout.toString().split("\0");
      assert.equal(ownPid1[0], "sleep", `without hostPid the node's command is PID 1 (PID 1 is ${JSON.stringify(ownPid1)})`);
    },
  },
  // ---------------------------------------------------------------- exec
  {
    group: "exec",
    name: "returns exit codes and keeps stdout and stderr apart",
    async run(ctx) {
      const name = ctx.name("exec");
      await ctx.node({ name, command: SLEEPER });
      await ctx.runtime.nodes.start(name);
      const ok = await ctx.runtime.nodes.exec(name, ["sh", "-c", "echo out; echo err >&2"]);
      assert.equal(ok.exitCode, 0, "nodes.exec: exit code 0");
      assert.equal(text(ok.stdout), "out", "nodes.exec: stdout holds what the process wrote to stdout only");
      assert.equal(text(ok.stderr), "err", "nodes.exec: stderr holds what the process wrote to stderr only");
      const failed = await ctx.runtime.nodes.exec(name, ["sh", "-c", "exit 7"]);
      assert.equal(failed.exitCode, 7, "nodes.exec: a non-zero exit is a result with its code");
      const env = await ctx.runtime.nodes.exec(name, ["sh", "-c", 'echo "$GREETING"'], { env: { GREETING: "hello there" } });
      assert.equal(text(env.stdout), "hello there", "nodes.exec passes ExecOptions.env");
    },
  },
  {
    group: "exec",
    name: "passes stdin (text, bytes and streams) and streams stdout to a writable",
    async run(ctx) {
      const name = ctx.name("stdin");
      await ctx.node({ name, command: SLEEPER });
      await ctx.runtime.nodes.start(name);
      const fromText = await ctx.runtime.nodes.exec(name, ["cat"], { stdin: "line one\nline two\n" });
      assert.equal(fromText.stdout.toString(), "line one\nline two\n", "nodes.exec passes a string stdin, then closes it");
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const fromBytes = await ctx.runtime.nodes.exec(name, ["sh", "-c", "cat > /tmp/bytes && wc -c < /tmp/bytes"], { stdin: bytes });
      assert.equal(text(fromBytes.stdout), "256", "nodes.exec passes a byte stdin whole");
      const { Readable } = await import("node:stream");
      const big = Buffer.alloc(3 * 1024 * 1024, 97);
      const chunks: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      });
      const streamed = await ctx.runtime.nodes.exec(name, ["cat"], { stdin: Readable.from([big.subarray(0, 1 << 20), big.subarray(1 << 20)]), stdout: sink });
      assert.equal(streamed.exitCode, 0, "nodes.exec with a stream stdin exits 0");
      assert.equal(streamed.stdout.length, 0, "nodes.exec: stdout streamed to ExecOptions.stdout is not collected too");
      assert.equal(Buffer.concat(chunks).length, big.length, "nodes.exec streams all of stdout to ExecOptions.stdout");
    },
  },
  {
    group: "exec",
    name: "large output is collected whole, stderr streams to a writable, and exec never ends the caller's streams",
    async run(ctx) {
      const name = ctx.name("bigexec");
      await ctx.node({ name, command: SLEEPER });
      await ctx.runtime.nodes.writeFile(name, "/tmp/big", Buffer.alloc(3 * 1024 * 1024 + 7, 98));
      await ctx.runtime.nodes.start(name);
      const collected = await ctx.runtime.nodes.exec(name, ["cat", "/tmp/big"]);
      assert.equal(collected.stdout.length, 3 * 1024 * 1024 + 7, "nodes.exec collects all of a large stdout");
      assert.ok(collected.stdout.every((b) => b === 98), "nodes.exec: the collected stdout is the bytes written");
      const out = collector();
      const err = collector();
      const streamed = await ctx.runtime.nodes.exec(name, ["sh", "-c", "cat /tmp/big >&2; echo done"], { stderr: err });
      assert.equal(streamed.stderr.length, 0, "nodes.exec: stderr streamed to ExecOptions.stderr is not collected too");
      assert.equal(err.data().length, 3 * 1024 * 1024 + 7, "nodes.exec streams all of stderr to ExecOptions.stderr");
      assert.equal(text(streamed.stdout), "done", "nodes.exec: stdout is collected while stderr streams");
      await ctx.runtime.nodes.exec(name, ["sh", "-c", "echo to-out; echo to-err >&2"], { stdout: out, stderr: err });
      assert.equal(out.writableEnded || out.destroyed, false, "nodes.exec must not end or destroy the caller's stdout");
      assert.equal(err.writableEnded || err.destroyed, false, "nodes.exec must not end or destroy the caller's stderr");
      assert.equal(out.data().toString(), "to-out\n", "nodes.exec streams stdout to the caller's writable");
      assert.ok(err.data().toString().endsWith("to-err\n"), "nodes.exec streams stderr to the caller's writable");
    },
  },
  {
    group: "exec",
    name: "exec in a node that is not running is NODE_NOT_RUNNING",
    async run(ctx) {
      const name = ctx.name("notrunning");
      await ctx.node({ name, command: SLEEPER });
      await expectCodeOf("nodes.exec", "exec in a node that is not running is NODE_NOT_RUNNING", ctx.runtime.nodes.exec(name, ["true"]), "NODE_NOT_RUNNING");
    },
  },
  // ---------------------------------------------------------------- files
  {
    group: "files",
    name: "writeFile and readFile work before start, after start and after stop",
    async run(ctx) {
      const name = ctx.name("files");
      await ctx.node({ name, command: SLEEPER, stopTimeoutSeconds: 1 });
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await ctx.runtime.nodes.writeFile(name, "/etc/k3ts/deep/dir/secret.bin", bytes, { mode: 0o600 });
      assert.deepEqual(await ctx.runtime.nodes.readFile(name, "/etc/k3ts/deep/dir/secret.bin"), bytes, "read before start");
      await ctx.runtime.nodes.start(name);
      const stat = await ctx.runtime.nodes.exec(name, ["stat", "-c", "%a %s", "/etc/k3ts/deep/dir/secret.bin"]);
      assert.equal(text(stat.stdout), "600 256", "nodes.writeFile: the mode and size seen inside the node");
      await ctx.runtime.nodes.exec(name, ["sh", "-c", "echo made-inside > /tmp/inside.txt"]);
      assert.equal(text(await ctx.runtime.nodes.readFile(name, "/tmp/inside.txt")), "made-inside");
      await ctx.runtime.nodes.writeFile(name, "/tmp/later.txt", "written while running\n");
      const cat = await ctx.runtime.nodes.exec(name, ["cat", "/tmp/later.txt"]);
      assert.equal(cat.stdout.toString(), "written while running\n", "nodes.writeFile on a running node: its processes see the file");
      await ctx.runtime.nodes.stop(name, { timeoutSeconds: 1 });
      await ctx.runtime.nodes.writeFile(name, "/tmp/stopped.txt", "while stopped");
      assert.equal(text(await ctx.runtime.nodes.readFile(name, "/tmp/stopped.txt")), "while stopped");
      assert.equal(text(await ctx.runtime.nodes.readFile(name, "/tmp/inside.txt")), "made-inside");
    },
  },
  {
    group: "files",
    name: "writeFile replaces a file, content and mode; without a mode it is 0644",
    async run(ctx) {
      const name = ctx.name("overwrite");
      await ctx.node({ name, command: SLEEPER, stopTimeoutSeconds: 1 });
      await ctx.runtime.nodes.writeFile(name, "/tmp/twice.txt", "a first, longer content\n", { mode: 0o600 });
      await ctx.runtime.nodes.writeFile(name, "/tmp/twice.txt", "second\n");
      await ctx.runtime.nodes.writeFile(name, "/tmp/plain.txt", "plain\n");
      assert.equal((await ctx.runtime.nodes.readFile(name, "/tmp/twice.txt")).toString(), "second\n", "the second write replaced the first");
      await ctx.runtime.nodes.start(name);
      const stat = await ctx.runtime.nodes.exec(name, ["stat", "-c", "%a", "/tmp/twice.txt", "/tmp/plain.txt"]);
      assert.equal(text(stat.stdout), "644\n644", "nodes.writeFile: the default mode is 0644, also over a file that was 0600");
    },
  },
  {
    group: "files",
    name: "reading a missing file is FILE_NOT_FOUND",
    async run(ctx) {
      const name = ctx.name("nofile");
      await ctx.node({ name, command: SLEEPER });
      await expectCodeOf("nodes.readFile", "a file that does not exist is FILE_NOT_FOUND", ctx.runtime.nodes.readFile(name, "/no/such/file"), "FILE_NOT_FOUND");
      await ctx.runtime.nodes.start(name);
      await expectCodeOf("nodes.readFile", "a file that does not exist is FILE_NOT_FOUND", ctx.runtime.nodes.readFile(name, "/no/such/file"), "FILE_NOT_FOUND");
    },
  },
  // ---------------------------------------------------------------- ports
  {
    group: "ports",
    name: "a node that is not running reports the mappings it holds; a running one the real host ports",
    async run(ctx) {
      const fixed = await freePort("127.0.0.1");
      const name = ctx.name("ports-created");
      await ctx.node({ name, command: HTTPD(), ports: [{ containerPort: 8080 }, { containerPort: 8080, hostPort: fixed }] });
      const created = await ctx.runtime.nodes.inspect(name);
      const describe = (n: Node) => JSON.stringify(n.ports);
      assert.equal(created.ports.length, 2, `nodes.inspect before start reports both mappings (${describe(created)})`);
      for (const port of created.ports) {
        assert.equal(port.containerPort, 8080, `nodes.inspect before start: containerPort (${describe(created)})`);
        assert.equal(port.protocol, "tcp", "nodes.inspect before start: the protocol defaults to tcp");
        assert.equal(port.hostIP, "127.0.0.1", `nodes.inspect before start: the default hostIP is 127.0.0.1 (${describe(created)})`);
      }
      assert.ok(created.ports.some((p) => p.hostPort === fixed), `nodes.inspect before start: the fixed host port (${describe(created)})`);
      const listed = (await ctx.runtime.nodes.list({ labels: ctx.labels })).find((n) => n.name === name);
      assert.deepEqual(listed?.ports, created.ports, "nodes.list reports the ports inspect does, before start too");
      await ctx.runtime.nodes.start(name);
      const running = await ctx.runtime.nodes.inspect(name);
      assert.ok(running.ports.length === 2 && running.ports.every((p) => p.hostPort > 0), `a running node reports real host ports (${describe(running)})`);
    },
  },
  {
    group: "ports",
    name: "published ports are reachable from the host on 127.0.0.1 (engine-picked and fixed)",
    async run(ctx) {
      const fixed = await freePort("127.0.0.1");
      const name = ctx.name("ports");
      const node = await httpNode(ctx, name, "hello from a node\n", {
        ports: [
          { containerPort: 8080, hostIP: "127.0.0.1" },
          { containerPort: 8080, hostIP: "127.0.0.1", hostPort: fixed },
        ],
      });
      const picked = node.ports.find((p) => p.hostPort !== fixed);
      assert.ok(picked && picked.hostPort > 0, `an engine-picked port is reported (${JSON.stringify(node.ports)})`);
      assert.equal(picked.hostIP, "127.0.0.1", "nodes.inspect: the hostIP given");
      assert.equal(picked.protocol, "tcp", "nodes.inspect: the protocol defaults to tcp");
      assert.ok(node.ports.some((p) => p.hostPort === fixed && p.containerPort === 8080), "nodes.inspect reports the fixed host port");
      for (const port of [picked.hostPort, fixed]) {
        const body = await eventually(`http on 127.0.0.1:${port}`, async () => {
          const res = await fetch(`http://127.0.0.1:${port}/index.html`);
          return res.ok ? res.text() : undefined;
        });
        assert.equal(body, "hello from a node\n", `a published port answers on 127.0.0.1:${port}`);
      }
    },
  },
  {
    group: "ports",
    name: "a port given without hostIP is published on 127.0.0.1 only, never on every interface",
    async run(ctx) {
      const name = ctx.name("ports-default");
      const node = await httpNode(ctx, name, "loopback only\n", { ports: [{ containerPort: 8080 }] });
      const [port] = node.ports;
      assert.ok(port && port.hostPort > 0, `the port is reported (${JSON.stringify(node.ports)})`);
      assert.equal(port.hostIP, "127.0.0.1", "published on 127.0.0.1 (k3ts sends user mappings without a hostIP)");
      const body = await eventually(`http on 127.0.0.1:${port.hostPort}`, async () => {
        const res = await fetch(`http://127.0.0.1:${port.hostPort}/index.html`);
        return res.ok ? res.text() : undefined;
      });
      assert.equal(body, "loopback only\n", "a port published without hostIP answers on 127.0.0.1");
      // Not on this machine's other addresses: a port on every interface would answer there too.
      for (const ip of externalIPv4()) {
        const reached: boolean = await fetch(`http://${ip}:${port.hostPort}/index.html`, { signal: AbortSignal.timeout(2000) }).then(
          () => true,
          () => false,
        );
        assert.equal(reached, false, `the port answers on ${ip}: it was published on every interface`);
      }
    },
  },
  {
    group: "ports",
    name: "a host port already taken is PORT_IN_USE when the node starts",
    async run(ctx) {
      const busy = createServer();
      await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
      const port = (busy.address() as { port: number }).port;
      try {
        const name = ctx.name("busy-port");
        await ctx.node({ name, command: HTTPD(), ports: [{ containerPort: 8080, hostIP: "127.0.0.1", hostPort: port }] });
        await expectCodeOf("nodes.start", "a host port that is taken is PORT_IN_USE", ctx.runtime.nodes.start(name), "PORT_IN_USE");
      } finally {
        busy.close();
      }
    },
  },
  // ---------------------------------------------------------------- networks
  {
    group: "networks",
    name: "ensure is idempotent and inspect reports subnet, gateway, labels and members",
    async run(ctx) {
      const net = ctx.name("net");
      ctx.track("network", net);
      const subnet = `10.${200 + (randomBytes(1)[0]! % 50)}.${randomBytes(1)[0]!}.0/24`;
      const first = await ctx.runtime.networks.ensure({ name: net, subnet, labels: { ...ctx.labels, "k3ts.io/x": "1" } });
      assert.equal(first.created, true, "networks.ensure of a new network says created: true");
      const again = await ctx.runtime.networks.ensure({ name: net, labels: ctx.labels });
      assert.equal(again.created, false, "networks.ensure of an existing network says created: false");
      assert.equal(again.network.id, first.network.id, "networks.ensure returns the existing network");
      const info = await ctx.runtime.networks.inspect(net);
      assert.equal(info.subnet, subnet, "networks.inspect: the subnet given");
      assert.equal(info.gateway, subnet.replace(/0\/24$/, "1"), "networks.inspect: the gateway is the subnet's first address");
      assert.equal(info.labels["k3ts.io/x"], "1", "networks.inspect: the labels given");
      const member = ctx.name("member");
      const ip = subnet.replace(/0\/24$/, "42");
      await ctx.node({ name: member, command: SLEEPER, network: { name: net, ipv4: ip } });
      await ctx.runtime.nodes.start(member);
      // A node that is attached but not running is not a member.
      await ctx.node({ name: ctx.name("not-started"), command: SLEEPER, network: { name: net } });
      const withMember = await ctx.runtime.networks.inspect(net);
      assert.deepEqual(withMember.members.map((m) => [m.name, m.ipv4]), [[member, ip]], "networks.inspect: members are the running nodes with their IPv4 (the static one given)");
      const node = await ctx.runtime.nodes.inspect(member);
      assert.equal(node.networks.find((n) => n.name === net)?.ipv4, ip, "nodes.inspect: the node's static IPv4 on the network");
    },
  },
  {
    group: "networks",
    name: "nodes on one network resolve each other by name and by alias",
    async run(ctx) {
      const { capabilities, hints } = await ctx.runtime.info();
      // k3ts clusters need it; a runtime that knows it has none says so here instead of timing out below.
      assert.ok(capabilities.networkDns, `the runtime reports networkDns: false${hints?.networkDns ? ` (${hints.networkDns})` : ""}`);
      const net = ctx.name("dns");
      ctx.track("network", net);
      await ctx.runtime.networks.ensure({ name: net, labels: ctx.labels });
      const server = ctx.name("dns-server");
      await httpNode(ctx, server, "found by name\n", { network: { name: net, aliases: ["conformance-alias"] } });
      const client = ctx.name("dns-client");
      await ctx.node({ name: client, command: SLEEPER, network: { name: net } });
      await ctx.runtime.nodes.start(client);
      for (const host of [server, "conformance-alias"]) {
        const out = await eventually(`http://${host}:8080 from another node`, async () => {
          const r = await ctx.runtime.nodes.exec(client, ["wget", "-q", "-O", "-", `http://${host}:8080/index.html`]);
          return r.exitCode === 0 ? r.stdout.toString() : undefined;
        });
        assert.equal(out, "found by name\n", `a node reaches ${host} by name or alias`);
      }
    },
  },
  {
    group: "networks",
    name: "connect and disconnect attach a running node to a second network",
    async run(ctx) {
      const netA = ctx.name("net-a");
      const netB = ctx.name("net-b");
      ctx.track("network", netA);
      ctx.track("network", netB);
      await ctx.runtime.networks.ensure({ name: netA, labels: ctx.labels });
      await ctx.runtime.networks.ensure({ name: netB, labels: ctx.labels });
      const server = ctx.name("multi");
      await httpNode(ctx, server, "second network\n", { network: { name: netA } });
      const client = ctx.name("on-b");
      await ctx.node({ name: client, command: SLEEPER, network: { name: netB } });
      await ctx.runtime.nodes.start(client);
      await ctx.runtime.networks.connect(netB, server, { aliases: ["joined-later"] });
      const node = await ctx.runtime.nodes.inspect(server);
      assert.deepEqual(node.networks.map((n) => n.name).sort(), [netA, netB].sort(), "networks.connect: nodes.inspect shows both networks");
      const out = await eventually("the connected node by alias", async () => {
        const r = await ctx.runtime.nodes.exec(client, ["wget", "-q", "-O", "-", "http://joined-later:8080/index.html"]);
        return r.exitCode === 0 ? r.stdout.toString() : undefined;
      });
      assert.equal(out, "second network\n", "networks.connect: the node is reachable by its alias on the second network");
      await ctx.runtime.networks.disconnect(netB, server);
      assert.deepEqual((await ctx.runtime.nodes.inspect(server)).networks.map((n) => n.name), [netA], "networks.disconnect: the node is off that network");
      assert.deepEqual((await ctx.runtime.networks.inspect(netB)).members.map((m) => m.name), [client], "networks.disconnect: the node is no member any more");
    },
  },
  {
    group: "networks",
    name: "aliases are exactly those asked for; connect twice and disconnect when not attached refuse and change nothing",
    async run(ctx) {
      const netA = ctx.name("alias-a");
      const netB = ctx.name("alias-b");
      ctx.track("network", netA);
      ctx.track("network", netB);
      await ctx.runtime.networks.ensure({ name: netA, labels: ctx.labels });
      await ctx.runtime.networks.ensure({ name: netB, labels: ctx.labels });
      const node = ctx.name("aliased");
      const plain = ctx.name("unaliased");
      await ctx.node({ name: node, command: SLEEPER, network: { name: netA, aliases: ["first-alias"] } });
      await ctx.node({ name: plain, command: SLEEPER, network: { name: netA } });
      await ctx.runtime.nodes.start(node);
      await ctx.runtime.nodes.start(plain);
      const aliases = async (name: string, net: string) => (await ctx.runtime.nodes.inspect(name)).networks.find((n) => n.name === net)?.aliases;
      assert.deepEqual(await aliases(node, netA), ["first-alias"], "nodes.inspect: a network's aliases are those asked for, none the engine adds");
      assert.deepEqual(await aliases(plain, netA), [], "nodes.inspect: no aliases asked for, none reported");
      await expectRefusal("networks.connect of a node already on the network", "connect is not idempotent: it must reject and change nothing", ctx.runtime.networks.connect(netA, node, { aliases: ["second-alias"] }));
      assert.deepEqual(await aliases(node, netA), ["first-alias"], "networks.connect refused: the aliases are unchanged");
      await expectRefusal("networks.disconnect of a node not on the network", "disconnect is not idempotent: it must reject", ctx.runtime.networks.disconnect(netB, node));
      await ctx.runtime.networks.connect(netB, node, { aliases: ["b-alias"] });
      assert.deepEqual(await aliases(node, netB), ["b-alias"], "networks.connect: the aliases given, none the engine adds");
      await ctx.runtime.networks.disconnect(netB, node);
      assert.deepEqual((await ctx.runtime.nodes.inspect(node)).networks.map((n) => n.name), [netA], "networks.disconnect: the node is off the network");
    },
  },
  {
    group: "networks",
    name: "error codes: NETWORK_IN_USE while a node is attached in any state (created, running, stopped), NETWORK_NOT_FOUND when missing; members are the running nodes only",
    async run(ctx) {
      const net = ctx.name("attached");
      ctx.track("network", net);
      await ctx.runtime.networks.ensure({ name: net, labels: ctx.labels });
      const node = ctx.name("attached-node");
      await ctx.node({ name: node, command: SLEEPER, network: { name: net }, stopTimeoutSeconds: 1 });
      const rule = "a network is in use while any node is attached, whatever its state";
      await expectCodeOf("networks.delete with a created node attached", rule, ctx.runtime.networks.delete(net), "NETWORK_IN_USE");
      assert.deepEqual((await ctx.runtime.networks.inspect(net)).members, [], "networks.inspect: a created node is attached but not a member");
      await ctx.runtime.nodes.start(node);
      await expectCodeOf("networks.delete with a running node attached", rule, ctx.runtime.networks.delete(net), "NETWORK_IN_USE");
      assert.deepEqual((await ctx.runtime.networks.inspect(net)).members.map((m) => m.name), [node], "networks.inspect: a running node is a member");
      await ctx.runtime.nodes.stop(node, { timeoutSeconds: 1 });
      await expectCodeOf("networks.delete with a stopped node attached", rule, ctx.runtime.networks.delete(net), "NETWORK_IN_USE");
      assert.deepEqual((await ctx.runtime.networks.inspect(net)).members, [], "networks.inspect: a stopped node is not a member");
      await ctx.runtime.nodes.delete(node);
      await ctx.runtime.networks.delete(net);
      await expectCodeOf("networks.inspect", "a network that does not exist is NETWORK_NOT_FOUND", ctx.runtime.networks.inspect(net), "NETWORK_NOT_FOUND");
      await expectCodeOf("networks.delete", "a network that does not exist is NETWORK_NOT_FOUND", ctx.runtime.networks.delete(net), "NETWORK_NOT_FOUND");
      await expectCodeOf("networks.connect", "a network that does not exist is NETWORK_NOT_FOUND", ctx.runtime.networks.connect(net, ctx.name("whatever")), "NETWORK_NOT_FOUND");
    },
  },
  {
    group: "networks",
    name: "list selects by every label given, an empty value matching any value, and reports what inspect does",
    async run(ctx) {
      const { a, b, c, names } = await checkLabelFilter(
        ctx,
        "networks.list",
        "nl",
        (name, labels) => (ctx.track("network", name), ctx.runtime.networks.ensure({ name, labels })),
        (labels) => ctx.runtime.networks.list({ labels }),
      );
      const all = (await ctx.runtime.networks.list()).map((n) => n.name);
      assert.ok([a, b, c].every((n) => all.includes(n)), `networks.list without a filter: every network, the suite's included (got ${all.length} networks)`);
      // A running member, so the members list is compared too.
      const member = ctx.name("nl-member");
      await ctx.node({ name: member, command: SLEEPER, network: { name: a } });
      await ctx.runtime.nodes.start(member);
      const listed = (await ctx.runtime.networks.list({ labels: { ...ctx.labels, [PICK]: "a" } }))[0];
      const inspected = await ctx.runtime.networks.inspect(a);
      assert.deepEqual(listed, inspected, "networks.list reports each network as networks.inspect does (id, labels, subnet, gateway, members)");
      assert.equal(listed?.labels[MARK], "x", "networks.list reports the labels");
      assert.deepEqual(listed?.members.map((m) => m.name), [member], "networks.list: the members are the running nodes attached");
      await ctx.runtime.nodes.delete(member);
      await ctx.runtime.networks.delete(b);
      assert.deepEqual(await names({ [PICK]: "" }), [a], "networks.delete: the network is gone from networks.list");
    },
  },
  // ---------------------------------------------------------------- volumes
  {
    group: "volumes",
    name: "list selects by every label given, an empty value matching any value",
    async run(ctx) {
      const { a } = await checkLabelFilter(
        ctx,
        "volumes.list",
        "vl",
        (name, labels) => (ctx.track("volume", name), ctx.runtime.volumes.ensure({ name, labels })),
        (labels) => ctx.runtime.volumes.list({ labels }),
      );
      const listed = (await ctx.runtime.volumes.list({ labels: ctx.labels })).find((v) => v.name === a);
      assert.equal(listed?.labels[MARK], "x", "volumes.list reports the labels");
    },
  },
  {
    group: "volumes",
    name: "VOLUME_IN_USE while a created or stopped node mounts it; a named volume outlives the node",
    async run(ctx) {
      const vol = ctx.name("kept-vol");
      ctx.track("volume", vol);
      await ctx.runtime.volumes.ensure({ name: vol, labels: ctx.labels });
      const node = ctx.name("vol-user");
      await ctx.node({ name: node, command: ["sh", "-c", "echo kept > /data/file; sleep 3600"], volumes: [{ type: "volume", source: vol, target: "/data" }], stopTimeoutSeconds: 1 });
      const rule = "a volume is in use while any node mounts it, whatever the node's state";
      await expectCodeOf("volumes.delete with a created node mounting it", rule, ctx.runtime.volumes.delete(vol), "VOLUME_IN_USE");
      await ctx.runtime.nodes.start(node);
      await eventually("the node to write to its volume", async () => ((await ctx.runtime.nodes.readFile(node, "/data/file").catch(() => undefined))?.length ? true : undefined));
      await ctx.runtime.nodes.stop(node, { timeoutSeconds: 1 });
      await expectCodeOf("volumes.delete with a stopped node mounting it", rule, ctx.runtime.volumes.delete(vol), "VOLUME_IN_USE");
      await ctx.runtime.nodes.delete(node);
      assert.ok((await ctx.runtime.volumes.list({ labels: ctx.labels })).some((v) => v.name === vol), "nodes.delete leaves the named volumes the node mounted");
      const reader = ctx.name("vol-reader2");
      await ctx.node({ name: reader, command: SLEEPER, volumes: [{ type: "volume", source: vol, target: "/data" }] });
      await ctx.runtime.nodes.start(reader);
      assert.equal(text((await ctx.runtime.nodes.exec(reader, ["cat", "/data/file"])).stdout), "kept", "the volume kept its content");
    },
  },
  {
    group: "volumes",
    name: "volumes are idempotent, listed by labels, shared between nodes, and refused while in use",
    async run(ctx) {
      const vol = ctx.name("vol");
      ctx.track("volume", vol);
      const first = await ctx.runtime.volumes.ensure({ name: vol, labels: { ...ctx.labels, "k3ts.io/vol": "yes" } });
      assert.equal(first.created, true, "volumes.ensure of a new volume says created: true");
      assert.equal((await ctx.runtime.volumes.ensure({ name: vol, labels: ctx.labels })).created, false, "volumes.ensure of an existing volume says created: false");
      const listed = await ctx.runtime.volumes.list({ labels: { ...ctx.labels, "k3ts.io/vol": "yes" } });
      assert.deepEqual(listed.map((v) => v.name), [vol], "volumes.list selects by labels");
      assert.equal(listed[0]?.labels["k3ts.io/vol"], "yes", "volumes.list reports the labels");
      const writer = ctx.name("vol-writer");
      await ctx.node({ name: writer, command: SLEEPER, volumes: [{ type: "volume", source: vol, target: "/data" }] });
      await ctx.runtime.nodes.start(writer);
      await ctx.runtime.nodes.exec(writer, ["sh", "-c", "echo persisted > /data/file"]);
      const reader = ctx.name("vol-reader");
      await ctx.node({ name: reader, command: SLEEPER, volumes: [{ type: "volume", source: vol, target: "/mnt", readOnly: true }] });
      await ctx.runtime.nodes.start(reader);
      assert.equal(text((await ctx.runtime.nodes.exec(reader, ["cat", "/mnt/file"])).stdout), "persisted");
      const ro = await ctx.runtime.nodes.exec(reader, ["sh", "-c", "echo x > /mnt/other"]);
      assert.notEqual(ro.exitCode, 0, "a read-only volume mount refuses writes");
      await expectCodeOf("volumes.delete", "a volume a node mounts is VOLUME_IN_USE", ctx.runtime.volumes.delete(vol), "VOLUME_IN_USE");
      await ctx.runtime.nodes.delete(writer);
      await ctx.runtime.nodes.delete(reader);
      await ctx.runtime.volumes.delete(vol);
      await expectCodeOf("volumes.delete", "a volume that does not exist is VOLUME_NOT_FOUND", ctx.runtime.volumes.delete(vol), "VOLUME_NOT_FOUND");
      assert.equal((await ctx.runtime.volumes.list({ labels: { ...ctx.labels, "k3ts.io/vol": "yes" } })).length, 0, "volumes.delete: the volume is gone from volumes.list");
    },
  },
  {
    group: "volumes",
    name: "inspect reports a volume's name and labels as list does; VOLUME_NOT_FOUND when missing",
    async run(ctx) {
      const vol = ctx.name("vol-inspect");
      ctx.track("volume", vol);
      const labels = { ...ctx.labels, "k3ts.io/vol": "inspected", "k3ts.io/empty": "" };
      await ctx.runtime.volumes.ensure({ name: vol, labels });
      const inspected = await ctx.runtime.volumes.inspect(vol);
      assert.equal(inspected.name, vol, "volumes.inspect: the volume's name");
      for (const [k, v] of Object.entries(labels)) assert.equal(inspected.labels[k], v, `volumes.inspect: the label ${k} as given`);
      const listed = (await ctx.runtime.volumes.list({ labels: { ...ctx.labels, "k3ts.io/vol": "inspected" } })).find((v) => v.name === vol);
      assert.deepEqual(inspected.labels, listed?.labels, "volumes.inspect reports the labels volumes.list does");
      // In use, it is inspected all the same.
      const user = ctx.name("vol-inspect-user");
      await ctx.node({ name: user, command: SLEEPER, volumes: [{ type: "volume", source: vol, target: "/data" }] });
      assert.equal((await ctx.runtime.volumes.inspect(vol)).name, vol, "volumes.inspect of a volume a node mounts");
      await ctx.runtime.nodes.delete(user);
      await ctx.runtime.volumes.delete(vol);
      await expectCodeOf("volumes.inspect", "a volume that does not exist is VOLUME_NOT_FOUND", ctx.runtime.volumes.inspect(vol), "VOLUME_NOT_FOUND");
      await expectCodeOf("volumes.inspect", "a volume that was never made is VOLUME_NOT_FOUND", ctx.runtime.volumes.inspect(ctx.name("never-made")), "VOLUME_NOT_FOUND");
    },
  },
  // ---------------------------------------------------------------- images
  {
    group: "images",
    name: "exists, save and load round-trip an image; missing images are IMAGE_NOT_FOUND",
    async run(ctx) {
      assert.equal(await ctx.runtime.images.exists(ctx.image), true, `images.exists(${ctx.image}) of the test image`);
      assert.equal(await ctx.runtime.images.exists("k3ts.invalid/conformance/missing:never"), false, "images.exists of a missing image is false");
      const entries = await listTarEntries(await ctx.runtime.images.save([ctx.image]));
      assert.ok(entries.includes("manifest.json"), `images.save: a docker-save archive has manifest.json (got ${entries.slice(0, 5).join(", ")})`);
      const loaded = await ctx.runtime.images.load(await ctx.runtime.images.save([ctx.image]));
      assert.ok(
        loaded.some((ref) => ref === ctx.image || ref.endsWith(`/${ctx.image}`)),
        `load reports the image it loaded (got ${JSON.stringify(loaded)})`,
      );
      await expectCodeOf("images.save", "an image the engine does not hold is IMAGE_NOT_FOUND", ctx.runtime.images.save(["k3ts.invalid/conformance/missing:never"]), "IMAGE_NOT_FOUND");
    },
  },
  {
    group: "images",
    name: "the image name inspect reports is one exists and save accept; a name without a tag is :latest",
    async run(ctx) {
      const name = ctx.name("imagename");
      await ctx.node({ name, command: SLEEPER });
      const reported = (await ctx.runtime.nodes.inspect(name)).image;
      assert.ok(sameImage(reported, ctx.image), `nodes.inspect: image is the reference given or its qualified form (got ${reported})`);
      assert.equal(await ctx.runtime.images.exists(reported), true, `images.exists(${reported}), the name nodes.inspect reported`);
      await listTarEntries(await ctx.runtime.images.save([reported]));
      const lastPart = ctx.image.slice(ctx.image.lastIndexOf("/") + 1);
      if (!lastPart.includes(":") && !ctx.image.includes("@")) {
        assert.equal(await ctx.runtime.images.exists(`${ctx.image}:latest`), true, `images.exists: ${ctx.image} is ${ctx.image}:latest`);
      } else if (lastPart.endsWith(":latest")) {
        assert.equal(await ctx.runtime.images.exists(ctx.image.slice(0, -":latest".length)), true, `images.exists: ${ctx.image} without its tag is the same image`);
      }
    },
  },
  {
    group: "images",
    name: "inspect gives the image's ID: one for every name of the image, kept by a copy loaded under another name; missing is IMAGE_NOT_FOUND",
    async run(ctx) {
      const { id } = await ctx.runtime.images.inspect(ctx.image);
      assert.match(id, /^sha256:[0-9a-f]{64}$/, `images.inspect(${ctx.image}).id is sha256:<64 hex> (got ${JSON.stringify(id)})`);
      const lastPart = ctx.image.slice(ctx.image.lastIndexOf("/") + 1);
      if (!lastPart.includes(":") && !ctx.image.includes("@")) {
        assert.equal((await ctx.runtime.images.inspect(`${ctx.image}:latest`)).id, id, `images.inspect: ${ctx.image} and ${ctx.image}:latest are one image`);
      }
      const copy = CONFORMANCE_COPY_IMAGE;
      await ctx.runtime.images.load(await retagged(await ctx.runtime.images.save([ctx.image]), [copy]));
      assert.equal((await ctx.runtime.images.inspect(copy)).id, id, `images.inspect: ${copy}, loaded from ${ctx.image}'s save archive, has its ID`);
      const untagged = await ctx.runtime.images.load(await retagged(await ctx.runtime.images.save([ctx.image]), null));
      assert.deepEqual(untagged, [id], "images.load reports an untagged image by the ID images.inspect gives");
      assert.equal((await ctx.runtime.images.inspect(id)).id, id, "images.inspect by the ID itself");
      await expectCodeOf("images.inspect", "an image the engine does not hold is IMAGE_NOT_FOUND", ctx.runtime.images.inspect("k3ts.invalid/conformance/missing:never"), "IMAGE_NOT_FOUND");
    },
  },
  {
    group: "images",
    name: "save holds every image asked for, load reports each, an untagged image loads as its ID; save checks before it streams",
    async run(ctx) {
      const copy = CONFORMANCE_COPY_IMAGE;
      const loadedCopy = await ctx.runtime.images.load(await retagged(await ctx.runtime.images.save([ctx.image]), [copy]));
      assert.ok(loadedCopy.some((ref) => sameImage(ref, copy)), `images.load reports the image it loaded (got ${JSON.stringify(loadedCopy)})`);
      assert.equal(await ctx.runtime.images.exists(copy), true, "images.exists: an image images.load loaded");
      const entries = await readArchive(await ctx.runtime.images.save([ctx.image, copy]));
      const tags = manifestOf(entries).flatMap((m) => m.RepoTags ?? []);
      for (const ref of [ctx.image, copy]) {
        assert.ok(tags.some((t) => sameImage(t, ref)), `images.save of two images holds ${ref} (manifest.json names ${JSON.stringify(tags)})`);
      }
      const both = await ctx.runtime.images.load(await packEntries(entries));
      for (const ref of [ctx.image, copy]) {
        assert.ok(both.some((r) => sameImage(r, ref)), `images.load of a two-image archive reports ${ref} (got ${JSON.stringify(both)})`);
      }
      const untagged = await ctx.runtime.images.load(await retagged(await ctx.runtime.images.save([ctx.image]), null));
      assert.ok(untagged.length === 1 && /^sha256:[0-9a-f]{64}$/.test(untagged[0]!), `images.load of an untagged image reports its ID, sha256:<64 hex> (got ${JSON.stringify(untagged)})`);
      assert.equal(await ctx.runtime.images.exists(untagged[0]!), true, "images.exists: the ID images.load reported");
      await expectCodeOf(
        "images.save of a present and a missing image",
        "save rejects before it returns a stream when any image is missing",
        ctx.runtime.images.save([ctx.image, "k3ts.invalid/conformance/missing:never"]),
        "IMAGE_NOT_FOUND",
      );
    },
  },
  {
    group: "images",
    name: "pulling from an unreachable registry is IMAGE_PULL_FAILED",
    async run(ctx) {
      await expectCodeOf("images.pull", "a pull from an unreachable registry is IMAGE_PULL_FAILED", ctx.runtime.images.pull("127.0.0.1:1/k3ts/conformance:none"), "IMAGE_PULL_FAILED");
    },
  },
  // ---------------------------------------------------------------- logs
  {
    group: "logs",
    name: "returns both streams, and follow delivers later lines until aborted",
    async run(ctx) {
      const name = ctx.name("logs");
      await ctx.node({ name, command: ["sh", "-c", "echo out-1; echo err-1 >&2; sleep 2; echo out-2; sleep 3600"] });
      await ctx.runtime.nodes.start(name);
      const first = await eventually("the first log lines", async () => {
        const seen: string[] = [];
        for await (const chunk of ctx.runtime.nodes.logs(name)) seen.push(`${chunk.stream}:${chunk.data.toString().trim()}`);
        return seen.includes("stdout:out-1") && seen.includes("stderr:err-1") ? seen : undefined;
      });
      assert.ok(!first.includes("stdout:out-2"), "nodes.logs without follow returns what was written so far");
      const ac = new AbortController();
      const followed: string[] = [];
      let ended: unknown;
      const timer = setTimeout(() => ac.abort(), 20_000);
      try {
        for await (const chunk of ctx.runtime.nodes.logs(name, { follow: true, signal: ac.signal })) {
          followed.push(...chunk.data.toString().split("\n").filter(Boolean));
          if (followed.includes("out-2")) ac.abort();
        }
      } catch (err) {
        ended = err;
      } finally {
        clearTimeout(timer);
      }
      assert.ok(followed.includes("out-2"), `nodes.logs with follow saw the later line (saw ${JSON.stringify(followed)})`);
      assert.ok(isK3tsError(ended, "ABORTED"), `nodes.logs: aborting a follow ends it with ABORTED (got ${String(ended)})`);
    },
  },
  {
    group: "logs",
    name: "follow ends by itself when the node stops; tail limits the lines",
    async run(ctx) {
      const name = ctx.name("logs-end");
      await ctx.node({ name, command: ["sh", "-c", "for i in 1 2 3 4 5; do echo line-$i; done; sleep 1"] });
      await ctx.runtime.nodes.start(name);
      const lines: string[] = [];
      for await (const chunk of ctx.runtime.nodes.logs(name, { follow: true })) lines.push(...chunk.data.toString().split("\n").filter(Boolean));
      assert.deepEqual(lines, ["line-1", "line-2", "line-3", "line-4", "line-5"], "nodes.logs with follow returns every line, then ends when the node stops");
      const tail: string[] = [];
      for await (const chunk of ctx.runtime.nodes.logs(name, { tail: 2 })) tail.push(...chunk.data.toString().split("\n").filter(Boolean));
      assert.deepEqual(tail, ["line-4", "line-5"], "nodes.logs with tail: 2 returns the last two lines");
    },
  },
  {
    group: "logs",
    name: "each stream keeps its order and every line carries its own stream's tag",
    async run(ctx) {
      const name = ctx.name("logs-order");
      await ctx.node({ name, command: ["sh", "-c", "for i in 1 2 3 4 5 6; do echo out-$i; echo err-$i >&2; done; sleep 3600"] });
      await ctx.runtime.nodes.start(name);
      const lines = await eventually("twelve log lines", async () => {
        const seen: Array<[string, string]> = [];
        for await (const chunk of ctx.runtime.nodes.logs(name)) {
          for (const line of chunk.data.toString().split("\n").filter(Boolean)) seen.push([chunk.stream, line]);
        }
        return seen.length >= 12 ? seen : undefined;
      });
      const order = [1, 2, 3, 4, 5, 6];
      assert.deepEqual(lines.filter(([s]) => s === "stdout").map(([, l]) => l), order.map((i) => `out-${i}`), "nodes.logs: stdout lines, in order, tagged stdout");
      assert.deepEqual(lines.filter(([s]) => s === "stderr").map(([, l]) => l), order.map((i) => `err-${i}`), "nodes.logs: stderr lines, in order, tagged stderr");
    },
  },
  // ---------------------------------------------------------------- abort
  {
    group: "abort",
    name: "a signal that already fired rejects every kind of call with ABORTED",
    async run(ctx) {
      const signal = AbortSignal.abort();
      await expectCodeOf("info", "a signal that already fired rejects with ABORTED", ctx.runtime.info({ signal }), "ABORTED");
      await expectCodeOf("nodes.list", "a signal that already fired rejects with ABORTED", ctx.runtime.nodes.list({ labels: ctx.labels }, { signal }), "ABORTED");
      await expectCodeOf("networks.ensure", "a signal that already fired rejects with ABORTED", ctx.runtime.networks.ensure({ name: ctx.name("never"), labels: ctx.labels }, { signal }), "ABORTED");
      await expectCodeOf("images.exists", "a signal that already fired rejects with ABORTED", ctx.runtime.images.exists(ctx.image, { signal }), "ABORTED");
      const name = ctx.name("never-node");
      await expectCodeOf("nodes.create", "a signal that already fired rejects with ABORTED", ctx.runtime.nodes.create({ name, image: ctx.image, labels: ctx.labels }, { signal }), "ABORTED");
      await expectCodeOf("nodes.inspect after an aborted nodes.create", "an aborted call changes nothing: no node was made", ctx.runtime.nodes.inspect(name), "NODE_NOT_FOUND");
    },
  },
  {
    group: "abort",
    name: "every call rejects an already-fired signal with ABORTED before it changes anything",
    async run(ctx) {
      const signal = AbortSignal.abort();
      const node = ctx.name("aborted-calls");
      const net = ctx.name("aborted-net");
      const vol = ctx.name("aborted-vol");
      await ctx.node({ name: node, command: SLEEPER, stopTimeoutSeconds: 1 });
      ctx.track("network", net);
      await ctx.runtime.networks.ensure({ name: net, labels: ctx.labels });
      ctx.track("volume", vol);
      await ctx.runtime.volumes.ensure({ name: vol, labels: ctx.labels });
      const { nodes, networks, volumes, images } = ctx.runtime;
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["nodes.start", () => nodes.start(node, { signal })],
        ["nodes.stop", () => nodes.stop(node, { signal })],
        ["nodes.delete", () => nodes.delete(node, { force: true, signal })],
        ["nodes.inspect", () => nodes.inspect(node, { signal })],
        ["nodes.exec", () => nodes.exec(node, ["true"], { signal })],
        ["nodes.logs", async () => {
          for await (const _chunk of nodes.logs(node, { signal })) break;
        }],
        ["nodes.writeFile", () => nodes.writeFile(node, "/tmp/aborted.txt", "never", { signal })],
        ["nodes.readFile", () => nodes.readFile(node, "/etc/passwd", { signal })],
        ["networks.inspect", () => networks.inspect(net, { signal })],
        ["networks.list", () => networks.list({ labels: ctx.labels }, { signal })],
        ["networks.connect", () => networks.connect(net, node, { signal })],
        ["networks.disconnect", () => networks.disconnect(net, node, { signal })],
        ["networks.delete", () => networks.delete(net, { signal })],
        ["volumes.ensure", () => volumes.ensure({ name: ctx.name("aborted-vol2"), labels: ctx.labels }, { signal })],
        ["volumes.list", () => volumes.list({ labels: ctx.labels }, { signal })],
        ["volumes.inspect", () => volumes.inspect(vol, { signal })],
        ["volumes.delete", () => volumes.delete(vol, { signal })],
        ["images.pull", () => images.pull("k3ts.invalid/conformance/never:1", { signal })],
        ["images.inspect", () => images.inspect(ctx.image, { signal })],
        ["images.save", () => images.save([ctx.image], { signal })],
        ["images.load", () => images.load(Readable.from([Buffer.alloc(0)]), { signal })],
      ];
      for (const [call, run] of calls) {
        try {
          await run();
        } catch (err) {
          if (isK3tsError(err, "ABORTED")) continue;
          assert.fail(`${call} with an already-fired signal: expected ABORTED, got ${isK3tsError(err) ? err.code : "a plain error"}: ${(err as Error).message}`);
        }
        assert.fail(`${call} with an already-fired signal succeeded: it must reject with ABORTED`);
      }
      // Nothing changed: the node is there and not started, no file was written, network and volume are there.
      assert.equal((await nodes.inspect(node)).state, "created", "after the aborted calls the node is as it was");
      await expectCodeOf("nodes.readFile after an aborted nodes.writeFile", "an aborted call changes nothing: no file was written", nodes.readFile(node, "/tmp/aborted.txt"), "FILE_NOT_FOUND");
      assert.equal((await networks.inspect(net)).name, net, "after the aborted calls the network is still there");
      assert.ok((await volumes.list({ labels: ctx.labels })).some((v) => v.name === vol), "the volume is still there");
      assert.ok(!(await volumes.list({ labels: ctx.labels })).some((v) => v.name === ctx.name("aborted-vol2")), "no volume was made");
    },
  },
  {
    group: "abort",
    name: "aborting a running exec rejects it promptly with ABORTED",
    async run(ctx) {
      const name = ctx.name("abort-exec");
      await ctx.node({ name, command: SLEEPER });
      await ctx.runtime.nodes.start(name);
      const ac = new AbortController();
      const started = Date.now();
      setTimeout(() => ac.abort(), 300);
      let deadline: NodeJS.Timeout | undefined;
      const tooLate = new Promise<never>((_, reject) => {
        deadline = setTimeout(() => reject(new assert.AssertionError({ message: "exec was not aborted within 5 s of the signal" })), 5_300);
      });
      try {
        await Promise.race([expectCode(ctx.runtime.nodes.exec(name, ["sleep", "30"], { signal: ac.signal }), "ABORTED"), tooLate]);
      } finally {
        clearTimeout(deadline);
      }
      assert.ok(Date.now() - started < 5_300, "the exec did not run to completion");
      // The runtime is still usable afterwards.
      assert.equal((await ctx.runtime.nodes.exec(name, ["true"])).exitCode, 0, "nodes.exec works again after an aborted exec");
    },
  },
];

function makeContext(runtime: Runtime, options: ConformanceOptions, prefix: string, cleanup: Array<() => Promise<void>>): CheckContext {
  const labels = { [SUITE_LABEL]: prefix };
  let counter = 0;
  return {
    runtime,
    image: options.image,
    labels,
    name: (suffix) => `${prefix}-${suffix}-${++counter}`,
    async node(spec) {
      const full: NodeSpec = {
        image: options.image,
        stopTimeoutSeconds: 1,
        ...options.nodeDefaults,
        ...spec,
        labels: { ...options.nodeDefaults?.labels, ...spec.labels, ...labels },
      };
      const node = await runtime.nodes.create(full);
      cleanup.push(() => runtime.nodes.delete(spec.name, { force: true }));
      return node;
    },
    track(kind, name) {
      cleanup.push(() => (kind === "network" ? runtime.networks.delete(name) : runtime.volumes.delete(name)));
    },
  };
}

async function runCleanup(cleanup: Array<() => Promise<void>>): Promise<void> {
  // Nodes first (they were pushed before networks/volumes of later steps, but order is not guaranteed).
  const ignoreMissing = (err: unknown) => {
    if (!isK3tsError(err, "NODE_NOT_FOUND", "NETWORK_NOT_FOUND", "VOLUME_NOT_FOUND")) throw err;
  };
  const tasks = cleanup.splice(0).reverse();
  const later: Array<() => Promise<void>> = [];
  for (const task of tasks) {
    try {
      await task();
    } catch (err) {
      if (isK3tsError(err, "NETWORK_IN_USE", "VOLUME_IN_USE")) later.push(task);
      else ignoreMissing(err);
    }
  }
  for (const task of later) await task().catch(ignoreMissing);
}

export interface CheckResult {
  group: string;
  name: string;
  /** The check passed, its clean-up worked and it left nothing behind. */
  ok: boolean;
  /** Why the check failed (an assertion, an unexpected error, or its time limit). */
  error?: unknown;
  /** A clean-up step that failed, reported beside the check's own result (never instead of it). */
  cleanupError?: unknown;
  /** What the check left after its clean-up (nodes, volumes, networks). */
  leaked?: string[];
}

/** How long one check may take before it is reported as failed (options.timeoutMs, default 60 s). */
const DEFAULT_CHECK_MS = 60_000;

/**
 * Runs one check with the kit's guarantees, the same for every runner: a time limit, its clean-up
 * (whose failure is reported beside the result), then a leak check of what the check made.
 */
export async function runCheck(check: ConformanceCheck, runtime: Runtime, options: ConformanceOptions, prefix: string): Promise<CheckResult> {
  const cleanup: Array<() => Promise<void>> = [];
  const ctx = makeContext(runtime, options, prefix, cleanup);
  const networks: string[] = [];
  const track = ctx.track;
  ctx.track = (kind, name) => {
    if (kind === "network") networks.push(name);
    track(kind, name);
  };
  const limit = options.timeoutMs ?? DEFAULT_CHECK_MS;
  let timer: NodeJS.Timeout | undefined;
  let error: unknown;
  try {
    await Promise.race([
      checkDeadline.run(Date.now() + limit * 0.8, () => check.run(ctx)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the check did not finish within ${limit / 1000}s (a call that never answers?)`)), limit);
      }),
    ]);
  } catch (err) {
    error = err;
  } finally {
    clearTimeout(timer);
  }
  let cleanupError: unknown;
  try {
    await runCleanup(cleanup);
  } catch (err) {
    cleanupError = err;
  }
  const leaked = [...new Set([...(await leftovers(runtime, prefix).catch(() => [])), ...(await leftNetworks(runtime, networks))])];
  return {
    group: check.group,
    name: check.name,
    ok: error === undefined && cleanupError === undefined && leaked.length === 0,
    ...(error !== undefined ? { error } : {}),
    ...(cleanupError !== undefined ? { cleanupError } : {}),
    ...(leaked.length ? { leaked } : {}),
  };
}

async function leftNetworks(runtime: Runtime, names: string[]): Promise<string[]> {
  const left: string[] = [];
  for (const name of names) {
    const gone = await runtime.networks.inspect(name).then(
      () => false,
      (err: unknown) => isK3tsError(err, "NETWORK_NOT_FOUND"),
    );
    if (!gone) left.push(`network ${name}`);
  }
  return left;
}

/** One error that says everything a failed result holds (the check's failure first). */
export function resultError(result: CheckResult): Error | undefined {
  if (result.ok) return undefined;
  const parts = [
    ...(result.error !== undefined ? [(result.error as Error)?.message ?? String(result.error)] : []),
    ...(result.cleanupError !== undefined ? [`clean-up failed: ${(result.cleanupError as Error)?.message ?? String(result.cleanupError)}`] : []),
    ...(result.leaked?.length ? [`left behind: ${result.leaked.join(", ")}`] : []),
  ];
  const err = new Error(parts.join("\n"), { cause: result.error });
  if (result.error instanceof Error && result.error.stack) err.stack = `${err.message}\n${result.error.stack.split("\n").slice(1).join("\n")}`;
  return err;
}

/**
 * Runs the checks without a test runner (used by the kit's own tests, and usable from any runner),
 * each with the guarantees of {@link runCheck}; every check's result is kept whatever another's was.
 */
export async function runConformanceChecks(
  options: ConformanceOptions,
  select: (check: ConformanceCheck) => boolean = () => true,
): Promise<CheckResult[]> {
  const runtime = await options.create();
  const prefix = options.prefix ?? `k3ts-conf-${randomBytes(3).toString("hex")}`;
  const results: CheckResult[] = [];
  try {
    for (const check of conformanceChecks.filter(select)) {
      const result = await runCheck(check, runtime, options, prefix);
      results.push(result);
      if (options.bail && !result.ok) break;
    }
  } finally {
    await runtime.close?.();
  }
  return results;
}

/** Everything the suite created that still exists (should be nothing). */
export async function leftovers(runtime: Runtime, prefix: string): Promise<string[]> {
  const nodes = await runtime.nodes.list({ labels: { [SUITE_LABEL]: prefix } });
  const volumes = await runtime.volumes.list({ labels: { [SUITE_LABEL]: prefix } });
  const networks = await runtime.networks.list({ labels: { [SUITE_LABEL]: prefix } });
  return [...nodes.map((n) => `node ${n.name}`), ...volumes.map((v) => `volume ${v.name}`), ...networks.map((n) => `network ${n.name}`)];
}

export { SUITE_LABEL as CONFORMANCE_SUITE_LABEL };
