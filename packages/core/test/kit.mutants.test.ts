import { createHash } from "node:crypto";
/**
 * The conformance kit's own mutation suite: each mutant is a MemoryRuntime with one rule of the
 * contract broken (a small wrapper or override, never a source rewrite). The kit runs against every
 * mutant through runConformanceChecks; a mutant is killed when any check fails. The test fails when
 * fewer than 95 % are killed, or when a mutant crashes the kit (runConformanceChecks rejects, or an
 * error escapes it) or hangs it (no answer within the mutant's time limit). It prints the score.
 */
import { Readable, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { K3tsError, isK3tsError } from "../src/errors.ts";
import type { CallOptions, ExecOptions, ImageClient, NetworkClient, NodeClient, Runtime, RuntimeInfo, VolumeClient } from "../src/runtime.ts";
import { runConformanceChecks, type CheckResult } from "../src/testing/conformance.ts";
import { createMemoryRuntime, type MemoryRuntime } from "../src/testing/memory/index.ts";
import type { LabelFilter, Node, NodeSpec } from "../src/types.ts";

const IMAGE = "k3ts-test/busybox:1";
/** A check's time limit for mutants (the correct runtime needs about 2 s for the slowest check). */
const CHECK_MS = 8_000;
/** A mutant whose kit run does not answer within this is a hang. */
const MUTANT_MS = 120_000;
const CONCURRENCY = 12;
const THRESHOLD = 0.95;

// ------------------------------------------------------------------ how mutants are made

interface Clients {
  info: Runtime["info"];
  nodes: NodeClient;
  networks: NetworkClient;
  volumes: VolumeClient;
  images: ImageClient;
}

interface Patch {
  info?: (inner: Runtime["info"]) => Runtime["info"];
  nodes?: (inner: NodeClient, base: MemoryRuntime) => Partial<NodeClient>;
  networks?: (inner: NetworkClient, base: MemoryRuntime) => Partial<NetworkClient>;
  volumes?: (inner: VolumeClient, base: MemoryRuntime) => Partial<VolumeClient>;
  images?: (inner: ImageClient, base: MemoryRuntime) => Partial<ImageClient>;
}

function delegate<T extends object>(client: T): T {
  const out: Record<string, unknown> = {};
  let proto: object | null = client;
  while (proto && proto !== Object.prototype) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const value = (client as Record<string, unknown>)[key];
      if (key !== "constructor" && typeof value === "function" && !(key in out)) out[key] = (value as (...a: unknown[]) => unknown).bind(client);
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return out as T;
}

/** A MemoryRuntime with the patch's methods in place of its own. */
function patched(base: MemoryRuntime, patch: Patch): Runtime {
  const inner: Clients = {
    info: base.info.bind(base),
    nodes: delegate(base.nodes),
    networks: delegate(base.networks),
    volumes: delegate(base.volumes),
    images: delegate(base.images),
  };
  return {
    name: base.name,
    info: patch.info ? patch.info(inner.info) : inner.info,
    nodes: { ...inner.nodes, ...patch.nodes?.(inner.nodes, base) },
    networks: { ...inner.networks, ...patch.networks?.(inner.networks, base) },
    volumes: { ...inner.volumes, ...patch.volumes?.(inner.volumes, base) },
    images: { ...inner.images, ...patch.images?.(inner.images, base) },
    close: () => base.close(),
  };
}

interface Mutant {
  rule: string;
  patch: Patch;
}

const mutants: Mutant[] = [];
const mutant = (rule: string, patch: Patch) => mutants.push({ rule, patch });

/** The memory engine's state, for the few mutants no wrapper can express (deleting what the engine refuses to). */
interface Engine {
  volumes: Map<string, unknown>;
  nodes: Map<string, { spec: NodeSpec; attachments: Map<string, unknown>; running: boolean }>;
}
const engineOf = (base: MemoryRuntime) => (base as unknown as { engine: Engine }).engine;

/** create with the spec rewritten. */
const spec = (rule: string, fn: (spec: NodeSpec) => NodeSpec) => mutant(rule, { nodes: (n) => ({ create: (s, o) => n.create(fn(s), o) }) });
/** inspect (and list, unless `listToo` is false) report a rewritten node. */
const view = (rule: string, fn: (node: Node) => Node, listToo = true) =>
  mutant(rule, {
    nodes: (n) => ({
      inspect: async (name, o) => fn(await n.inspect(name, o)),
      ...(listToo ? { list: async (f, o) => (await n.list(f, o)).map(fn) } : {}),
    }),
  });
/** list alone reports rewritten nodes. */
const listView = (rule: string, fn: (nodes: Node[]) => Node[]) => mutant(rule, { nodes: (n) => ({ list: async (f, o) => fn(await n.list(f, o)) }) });
/** A call's error of one code is raised as another (or as a plain Error). */
function recode<A extends unknown[], R>(call: (...a: A) => Promise<R>, from: string, to: string | "plain"): (...a: A) => Promise<R> {
  return async (...args) => {
    try {
      return await call(...args);
    } catch (err) {
      if (isK3tsError(err) && err.code === from) throw to === "plain" ? new Error(err.message) : new K3tsError(to as "RUNTIME_ERROR", err.message);
      throw err;
    }
  };
}
/** A call that swallows errors of `code` and resolves with `value`. */
function swallow<A extends unknown[], R>(call: (...a: A) => Promise<R>, code: string, value: R): (...a: A) => Promise<R> {
  return async (...args) => {
    try {
      return await call(...args);
    } catch (err) {
      if (isK3tsError(err) && err.code === code) return value;
      throw err;
    }
  };
}
/** A list call (volumes, networks) that matches the suite's label and any one other label given, not all of them. */
function anyOneLabel<T extends { name: string }>(list: (filter?: LabelFilter, options?: CallOptions) => Promise<T[]>): (filter?: LabelFilter, options?: CallOptions) => Promise<T[]> {
  return async (f, o) => {
    const [suite, ...rest] = Object.entries(f?.labels ?? {});
    if (!suite || rest.length === 0) return list(f, o);
    const seen = new Map<string, T>();
    for (const [k, val] of rest) for (const x of await list({ labels: { [suite[0]]: suite[1], [k]: val } }, o)) seen.set(x.name, x);
    return [...seen.values()];
  };
}
const mapValues = (record: Record<string, string> | undefined, fn: (v: string) => string) =>
  Object.fromEntries(Object.entries(record ?? {}).map(([k, v]) => [k, fn(v)]));
/** An options object without its signal (anything else as it is). */
function withoutSignal<T>(options: T): T {
  if (typeof options !== "object" || options === null || !("signal" in options)) return options;
  const { signal: _s, ...rest } = options as { signal?: AbortSignal };
  return rest as T;
}
/** A writable that forwards to `target` only the first `limit` bytes. */
function truncating(target: Writable, limit: number): Writable {
  let seen = 0;
  return new Writable({
    write(chunk: Buffer, _e, cb) {
      const room = Math.max(0, limit - seen);
      seen += chunk.length;
      if (room === 0) return cb();
      target.write(chunk.subarray(0, room), () => cb());
    },
  });
}
/** Re-chunks log output into lines with the stream tags changed by `fn`. */
function relog(fn: (chunks: Array<{ stream: "stdout" | "stderr"; data: Buffer }>) => Array<{ stream: "stdout" | "stderr"; data: Buffer }>) {
  return (n: NodeClient): Partial<NodeClient> => ({
    logs: (name, o) =>
      (async function* () {
        if (o?.follow) {
          yield* n.logs(name, o);
          return;
        }
        const all: Array<{ stream: "stdout" | "stderr"; data: Buffer }> = [];
        for await (const chunk of n.logs(name, o)) all.push(chunk);
        yield* fn(all);
      })(),
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ info
mutant("info.os is the engine's prose (\"Debian GNU/Linux 12\"), not GOOS", { info: (i) => async (o) => ({ ...(await i(o)), os: "Debian GNU/Linux 12" }) });
mutant("info.arch is uname's x86_64, not GOARCH", { info: (i) => async (o) => ({ ...(await i(o)), arch: "x86_64" }) });
mutant("info.runtime differs from runtime.name", { info: (i) => async (o) => ({ ...(await i(o)), runtime: "other" }) });
mutant("info says networkDns: false", { info: (i) => async (o) => { const info = await i(o); return { ...info, capabilities: { ...info.capabilities, networkDns: false } } satisfies RuntimeInfo; } });
mutant("info.engine.version has no version", { info: (i) => async (o) => { const info = await i(o); return { ...info, engine: { ...info.engine, version: "dev" } }; } });

// ------------------------------------------------------------------ node specs the runtime drops or bends
spec("create drops labels", (s) => ({ ...s, labels: Object.fromEntries(Object.entries(s.labels ?? {}).filter(([k]) => k.startsWith("k3ts.io/conformance-suite"))) }));
spec("create drops labels with empty values", (s) => ({ ...s, labels: Object.fromEntries(Object.entries(s.labels ?? {}).filter(([, v]) => v !== "")) }));
spec("create cuts label values at a comma", (s) => ({ ...s, labels: mapValues(s.labels, (v) => v.split(",")[0]!) }));
spec("create mangles non-ASCII label values", (s) => ({ ...s, labels: mapValues(s.labels, (v) => v.replace(/[^ -~]/g, "?")) }));
spec("create drops env", (s) => ({ ...s, env: {} }));
spec("create cuts env values at '='", (s) => ({ ...s, env: mapValues(s.env, (v) => v.split("=")[0]!) }));
spec("create drops empty env values", (s) => ({ ...s, env: Object.fromEntries(Object.entries(s.env ?? {}).filter(([, v]) => v !== "")) }));
spec("create ignores capAdd", (s) => ({ ...s, capAdd: [] }));
spec("create ignores privileged: true", (s) => ({ ...s, privileged: false }));
spec("create makes every node privileged", (s) => ({ ...s, privileged: true }));
spec("create ignores hostPid: true", (s) => ({ ...s, hostPid: false }));
spec("create puts every node in the host's PID namespace", (s) => ({ ...s, hostPid: true }));
spec("create ignores hostname", (s) => ({ ...s, hostname: undefined }));
spec("create ignores entrypoint", (s) => ({ ...s, entrypoint: undefined }));
spec("create ignores workdir", (s) => ({ ...s, workdir: undefined }));
spec("create ignores extraHosts", (s) => ({ ...s, extraHosts: undefined }));
spec("create keeps only the first hostname of an extra host", (s) => ({ ...s, extraHosts: s.extraHosts?.map((h) => ({ ...h, hostnames: h.hostnames.slice(0, 1) })) }));
spec("create ignores tmpfs (writes land in the node's own filesystem)", (s) => ({ ...s, tmpfs: undefined }));
spec("create ignores init", (s) => ({ ...s, init: undefined }));
spec("create gives every node an init", (s) => ({ ...s, init: true }));
spec("create ignores restart", (s) => ({ ...s, restart: undefined }));
spec("create treats restart: always as on-failure", (s) => ({ ...s, restart: s.restart === "always" ? "on-failure" : s.restart }));
spec("create treats restart: no as always", (s) => ({ ...s, restart: s.restart === "no" ? "always" : s.restart }));
spec("create publishes ports without hostIP on every interface", (s) => ({ ...s, ports: s.ports?.map((p) => ({ ...p, hostIP: p.hostIP ?? "0.0.0.0" })) }));
spec("create ignores fixed host ports (the engine picks)", (s) => ({ ...s, ports: s.ports?.map((p) => ({ ...p, hostPort: undefined })) }));
spec("create drops network aliases", (s) => ({ ...s, network: s.network ? { ...s.network, aliases: [] } : undefined }));
spec("create ignores a static ipv4", (s) => ({ ...s, network: s.network ? { ...s.network, ipv4: undefined } : undefined }));
spec("create mounts volumes read-write even when read-only", (s) => ({ ...s, volumes: s.volumes?.map((v) => ({ ...v, readOnly: false })) }));
spec("create gives each node its own copy of a named volume", (s) => ({ ...s, volumes: s.volumes?.map((v) => (v.type === "volume" ? { ...v, source: `${v.source}-${s.name}` } : v)) }));

// ------------------------------------------------------------------ what inspect and list report
view("inspect drops the env the image sets (PATH)", (n) => ({ ...n, env: Object.fromEntries(Object.entries(n.env).filter(([k]) => k !== "PATH")) }));
view("inspect reports a PATH the processes do not get", (n) => ({ ...n, env: { ...n.env, PATH: "/opt/bin" } }));
view("inspect reports another image", (n) => ({ ...n, image: "k3ts-test/other:1" }));
view("inspect reports an image name exists() does not know", (n) => ({ ...n, image: `registry.example/${n.image}` }));
view("inspect's command leaves out the entrypoint", (n) => ({ ...n, command: n.command.slice(-1) }));
view("inspect reports capAdd it was not given", (n) => ({ ...n, capAdd: ["NET_ADMIN"] }));
view("inspect always says privileged: false", (n) => ({ ...n, privileged: false }));
view("inspect always says privileged: true", (n) => ({ ...n, privileged: true }));
view("inspect always says hostPid: false", (n) => ({ ...n, hostPid: false }));
view("inspect always says hostPid: true", (n) => ({ ...n, hostPid: true }));
view("inspect reports a node that exited as dead", (n) => (n.state === "stopped" && n.exitCode !== 143 && n.exitCode !== 137 ? { ...n, state: "dead" } : n));
view("inspect reports exit code 0 for every exit", (n) => (n.exitCode === undefined ? n : { ...n, exitCode: 0 }));
view("inspect has no startedAt", (n) => ({ ...n, startedAt: undefined }));
view("inspect reports a stopped node as created", (n) => (n.state === "stopped" ? { ...n, state: "created" } : n));
view("inspect reports published ports on 0.0.0.0", (n) => ({ ...n, ports: n.ports.map((p) => ({ ...p, hostIP: "0.0.0.0" })) }));
view("inspect reports no ports before start", (n) => (n.state === "running" ? n : { ...n, ports: [] }));
view("inspect reports a fixed host port as 0 before start", (n) => (n.state === "running" ? n : { ...n, ports: n.ports.map((p) => ({ ...p, hostPort: 0 })) }));
view("inspect reports only the first of two mappings before start", (n) => (n.state === "running" ? n : { ...n, ports: n.ports.slice(0, 1) }));
view("inspect reports engine-picked ports as 0 after start", (n) => ({ ...n, ports: n.ports.map((p, i) => (i === 0 ? { ...p, hostPort: 0 } : p)) }));
view("inspect reports ports as udp", (n) => ({ ...n, ports: n.ports.map((p) => ({ ...p, protocol: "udp" })) }));
view("inspect adds the node's name to its aliases (an engine-added alias)", (n) => ({ ...n, networks: n.networks.map((x) => ({ ...x, aliases: [...x.aliases, n.name] })) }));
view("inspect drops the aliases", (n) => ({ ...n, networks: n.networks.map((x) => ({ ...x, aliases: [] })) }));
view("inspect reports no network ipv4", (n) => ({ ...n, networks: n.networks.map((x) => ({ name: x.name, aliases: x.aliases })) }));
view("inspect reports no networks", (n) => ({ ...n, networks: [] }));
view("inspect drops labels with empty values", (n) => ({ ...n, labels: Object.fromEntries(Object.entries(n.labels).filter(([, v]) => v !== "")) }), false);
mutant("list ignores the label filter", { nodes: (n) => ({ list: (_f, o) => n.list({}, o) }) });
mutant("list takes an empty label value literally", {
  nodes: (n) => ({ list: async (f, o) => (await n.list(f, o)).filter((node) => Object.entries(f?.labels ?? {}).every(([k, v]) => v !== "" || node.labels[k] === "")) }),
});
listView("list returns running nodes only", (ns) => ns.filter((n) => n.state === "running"));
listView("list returns only the first node", (ns) => ns.slice(0, 1));
listView("list reports no labels", (ns) => ns.map((n) => ({ ...n, labels: {} })));
listView("list reports no ports", (ns) => ns.map((n) => ({ ...n, ports: [] })));
listView("list reports no image", (ns) => ns.map((n) => ({ ...n, image: "" })));
listView("list reports every node as created", (ns) => ns.map((n) => ({ ...n, state: "created" })));

// ------------------------------------------------------------------ node lifecycle
mutant("create starts the node", { nodes: (n) => ({ create: async (s, o) => { const node = await n.create(s, o); await n.start(s.name); return node; } }) });
mutant("start on a running node is an error", {
  nodes: (n) => ({ start: async (name, o) => { if ((await n.inspect(name)).state === "running") throw new K3tsError("RUNTIME_ERROR", "already running"); return n.start(name, o); } }),
});
mutant("stop on a stopped node is an error", {
  nodes: (n) => ({ stop: async (name, o) => { if ((await n.inspect(name)).state !== "running") throw new K3tsError("RUNTIME_ERROR", "not running"); return n.stop(name, o); } }),
});
mutant("stop does nothing", { nodes: (n) => ({ stop: async (name) => void (await n.inspect(name)) }) });
mutant("start does nothing", { nodes: (n) => ({ start: async (name) => void (await n.inspect(name)) }) });
mutant("stop does not end the restarts of a node with a restart policy", {
  nodes: (n) => ({
    stop: async (name, o) => {
      const { command } = await n.inspect(name);
      await n.stop(name, o);
      if (command.join(" ").includes("conformance-run")) setTimeout(() => void n.start(name).catch(() => {}), 100);
    },
  }),
});
mutant("delete does not remove the node", { nodes: (n) => ({ delete: async (name) => void (await n.inspect(name)) }) });
mutant("delete ignores force: false", { nodes: (n) => ({ delete: (name, o) => n.delete(name, { ...o, force: true }) }) });
mutant("delete with force: false refuses a stopped node too", {
  nodes: (n) => ({ delete: async (name, o) => { if (o?.force === false) throw new K3tsError("RUNTIME_ERROR", "refused"); return n.delete(name, o); } }),
});
mutant("create replaces a node whose name is taken", {
  nodes: (n) => ({ create: async (s, o) => { await n.delete(s.name, { force: true }).catch(() => {}); return n.create(s, o); } }),
});
mutant("create checks the name before the image and network", {
  nodes: (n) => ({ create: async (s, o) => { if (await n.inspect(s.name).then(() => true, () => false)) throw new K3tsError("NODE_ALREADY_EXISTS", "taken"); return n.create(s, o); } }),
});
mutant("create checks the network before the image", {
  nodes: (n, base) => ({ create: async (s, o) => { if (s.network) await base.networks.inspect(s.network.name); return n.create(s, o); } }),
});
mutant("create on a missing network makes the node without one", {
  nodes: (n) => ({ create: async (s, o) => n.create(s, o).catch((err: unknown) => { if (isK3tsError(err, "NETWORK_NOT_FOUND")) return n.create({ ...s, network: undefined }, o); throw err; }) }),
});
mutant("create: a missing image is RUNTIME_ERROR", { nodes: (n) => ({ create: recode(n.create, "IMAGE_NOT_FOUND", "RUNTIME_ERROR") }) });
mutant("create: a taken name is RUNTIME_ERROR", { nodes: (n) => ({ create: recode(n.create, "NODE_ALREADY_EXISTS", "RUNTIME_ERROR") }) });
mutant("create: a missing network is a plain error", { nodes: (n) => ({ create: recode(n.create, "NETWORK_NOT_FOUND", "plain") }) });
mutant("inspect: a missing node is a plain error", { nodes: (n) => ({ inspect: recode(n.inspect, "NODE_NOT_FOUND", "plain") }) });
mutant("start: a missing node is RUNTIME_ERROR", { nodes: (n) => ({ start: recode(n.start, "NODE_NOT_FOUND", "RUNTIME_ERROR") }) });
mutant("stop: a missing node is fine", { nodes: (n) => ({ stop: swallow(n.stop, "NODE_NOT_FOUND", undefined) }) });
mutant("delete: a missing node is fine", { nodes: (n) => ({ delete: swallow(n.delete, "NODE_NOT_FOUND", undefined) }) });
mutant("exec: a missing node is NODE_NOT_RUNNING", { nodes: (n) => ({ exec: recode(n.exec, "NODE_NOT_FOUND", "NODE_NOT_RUNNING") }) });
mutant("readFile: a missing node is FILE_NOT_FOUND", { nodes: (n) => ({ readFile: recode(n.readFile, "NODE_NOT_FOUND", "FILE_NOT_FOUND") }) });
mutant("writeFile: a missing node is fine", { nodes: (n) => ({ writeFile: swallow(n.writeFile, "NODE_NOT_FOUND", undefined) }) });
mutant("logs: a missing node yields nothing", {
  nodes: (n) => ({ logs: (name, o) => (async function* () { try { yield* n.logs(name, o); } catch (err) { if (!isK3tsError(err, "NODE_NOT_FOUND")) throw err; } })() }),
});
mutant("connect: a missing node is RUNTIME_ERROR", { networks: (n) => ({ connect: recode(n.connect, "NODE_NOT_FOUND", "RUNTIME_ERROR") }) });
mutant("disconnect: a missing node is NETWORK_NOT_FOUND", { networks: (n) => ({ disconnect: recode(n.disconnect, "NODE_NOT_FOUND", "NETWORK_NOT_FOUND") }) });
mutant("connect looks up the node before the network", {
  networks: (n, base) => ({ connect: async (net, node, o) => { await base.nodes.inspect(node); return n.connect(net, node, o); } }),
});
mutant("disconnect looks up the node before the network", {
  networks: (n, base) => ({ disconnect: async (net, node, o) => { await base.nodes.inspect(node); return n.disconnect(net, node, o); } }),
});

// ------------------------------------------------------------------ exec
mutant("exec reports exit code 0 always", { nodes: (n) => ({ exec: async (...a) => ({ ...(await n.exec(...a)), exitCode: 0 }) }) });
mutant("exec merges stderr into stdout", { nodes: (n) => ({ exec: async (...a) => { const r = await n.exec(...a); return { ...r, stdout: Buffer.concat([r.stdout, r.stderr]), stderr: Buffer.alloc(0) }; } }) });
mutant("exec swaps stdout and stderr", { nodes: (n) => ({ exec: async (...a) => { const r = await n.exec(...a); return { ...r, stdout: r.stderr, stderr: r.stdout }; } }) });
mutant("exec ignores env", { nodes: (n) => ({ exec: (name, c, o) => n.exec(name, c, { ...o, env: undefined }) }) });
mutant("exec ignores a string stdin", { nodes: (n) => ({ exec: (name, c, o) => n.exec(name, c, { ...o, stdin: typeof o?.stdin === "string" ? "" : o?.stdin }) }) });
mutant("exec ignores a stream stdin", { nodes: (n) => ({ exec: (name, c, o) => n.exec(name, c, { ...o, stdin: o?.stdin instanceof Readable ? Buffer.alloc(0) : o?.stdin }) }) });
mutant("exec collects stdout instead of streaming it", { nodes: (n) => ({ exec: (name, c, o) => n.exec(name, c, { ...o, stdout: undefined }) }) });
mutant("exec streams stdout and collects it too", {
  nodes: (n) => ({
    exec: async (name, c, o) => {
      const r = await n.exec(name, c, { ...o, stdout: undefined });
      if (o?.stdout) await new Promise<void>((res) => o.stdout!.write(r.stdout, () => res()));
      return r;
    },
  }),
});
mutant("exec collects stderr instead of streaming it", { nodes: (n) => ({ exec: (name, c, o) => n.exec(name, c, { ...o, stderr: undefined }) }) });
mutant("exec cuts collected stdout at 1 MiB", { nodes: (n) => ({ exec: async (...a) => { const r = await n.exec(...a); return { ...r, stdout: r.stdout.subarray(0, 1 << 20) }; } }) });
mutant("exec cuts streamed stderr at 1 MiB", { nodes: (n) => ({ exec: (name, c, o) => n.exec(name, c, { ...o, stderr: o?.stderr ? truncating(o.stderr, 1 << 20) : undefined }) }) });
mutant("exec ends the caller's stdout", { nodes: (n) => ({ exec: async (name, c, o) => { const r = await n.exec(name, c, o); o?.stdout?.end(); return r; } }) });
mutant("exec destroys the caller's stderr", { nodes: (n) => ({ exec: async (name, c, o) => { const r = await n.exec(name, c, o); o?.stderr?.destroy(); return r; } }) });
mutant("exec in a node that is not running is RUNTIME_ERROR", { nodes: (n) => ({ exec: recode(n.exec, "NODE_NOT_RUNNING", "RUNTIME_ERROR") }) });
mutant("exec ignores workdir", { nodes: (n) => ({ exec: (name, c, o) => n.exec(name, c, { ...o, workdir: undefined }) }) });
mutant("exec runs in / instead of the node's workdir", { nodes: (n) => ({ exec: (name, c, o) => n.exec(name, c, { ...o, workdir: o?.workdir ?? "/" }) }) });
mutant("exec throws on a non-zero exit", {
  nodes: (n) => ({ exec: async (...a) => { const r = await n.exec(...a); if (r.exitCode !== 0) throw new K3tsError("COMMAND_FAILED", `exit ${r.exitCode}`); return r; } }),
});

// ------------------------------------------------------------------ files
mutant("writeFile ignores mode", { nodes: (n) => ({ writeFile: (name, p, c, o) => n.writeFile(name, p, c, { ...o, mode: undefined }) }) });
mutant("writeFile defaults to 0600", { nodes: (n) => ({ writeFile: (name, p, c, o) => n.writeFile(name, p, c, { ...o, mode: o?.mode ?? 0o600 }) }) });
mutant("writeFile does not replace a file that exists", {
  nodes: (n) => ({ writeFile: async (name, p, c, o) => { if (await n.readFile(name, p).then(() => true, () => false)) return; return n.writeFile(name, p, c, o); } }),
});
mutant("writeFile keeps the mode a file had", {
  nodes: (n) => {
    const modes = new Map<string, number>();
    return { writeFile: (name, p, c, o) => { const key = `${name}:${p}`; const mode = modes.get(key) ?? o?.mode ?? 0o644; modes.set(key, mode); return n.writeFile(name, p, c, { ...o, mode }); } };
  },
});
mutant("writeFile passes bytes through a UTF-8 string", { nodes: (n) => ({ writeFile: (name, p, c, o) => n.writeFile(name, p, typeof c === "string" ? c : Buffer.from(c).toString("utf8"), o) }) });
mutant("readFile: a missing file is RUNTIME_ERROR", { nodes: (n) => ({ readFile: recode(n.readFile, "FILE_NOT_FOUND", "RUNTIME_ERROR") }) });
mutant("writeFile refuses a stopped node", {
  nodes: (n) => ({ writeFile: async (name, p, c, o) => { if ((await n.inspect(name)).state === "stopped") throw new K3tsError("NODE_NOT_RUNNING", "stopped"); return n.writeFile(name, p, c, o); } }),
});
mutant("readFile refuses a node that was never started", {
  nodes: (n) => ({ readFile: async (name, p, o) => { if ((await n.inspect(name)).state === "created") throw new K3tsError("NODE_NOT_RUNNING", "created"); return n.readFile(name, p, o); } }),
});

// ------------------------------------------------------------------ logs
mutant("logs tags stderr as stdout", { nodes: relog((cs) => cs.map((c) => ({ ...c, stream: "stdout" }))) });
mutant("logs drops stderr", { nodes: relog((cs) => cs.filter((c) => c.stream === "stdout")) });
mutant("logs returns stderr lines in reverse order", {
  nodes: relog((cs) => {
    const err = cs.filter((c) => c.stream === "stderr").reverse();
    return cs.map((c) => (c.stream === "stderr" ? err.shift()! : c));
  }),
});
mutant("logs ignores tail", { nodes: (n) => ({ logs: (name, o) => n.logs(name, { ...o, tail: undefined }) }) });
mutant("logs ignores follow", { nodes: (n) => ({ logs: (name, o) => n.logs(name, { ...o, follow: false }) }) });
mutant("logs follow does not end when the node stops", {
  nodes: (n) => ({
    logs: (name, o) =>
      (async function* () {
        yield* n.logs(name, o);
        if (o?.follow) await new Promise<never>((_, reject) => o.signal?.addEventListener("abort", () => reject(new K3tsError("ABORTED", "aborted"))));
      })(),
  }),
});
mutant("logs follow ends quietly when aborted", {
  nodes: (n) => ({ logs: (name, o) => (async function* () { try { yield* n.logs(name, o); } catch (err) { if (!isK3tsError(err, "ABORTED")) throw err; } })() }),
});

// ------------------------------------------------------------------ ports
mutant("start: a taken host port is RUNTIME_ERROR", { nodes: (n) => ({ start: recode(n.start, "PORT_IN_USE", "RUNTIME_ERROR") }) });

// ------------------------------------------------------------------ networks
mutant("networks.ensure says created: true every time", { networks: (n) => ({ ensure: async (s, o) => ({ ...(await n.ensure(s, o)), created: true }) }) });
mutant("networks.ensure fails when the network exists", {
  networks: (n) => ({ ensure: async (s, o) => { const r = await n.ensure(s, o); if (!r.created) throw new K3tsError("RUNTIME_ERROR", "exists"); return r; } }),
});
mutant("networks.ensure ignores the subnet", { networks: (n) => ({ ensure: (s, o) => n.ensure({ ...s, subnet: undefined }, o) }) });
mutant("networks.ensure drops labels", { networks: (n) => ({ ensure: (s, o) => n.ensure({ ...s, labels: Object.fromEntries(Object.entries(s.labels ?? {}).filter(([k]) => k === "k3ts.io/conformance-suite")) }, o) }) });
mutant("networks.inspect reports the gateway as the last address", { networks: (n) => ({ inspect: async (name, o) => { const i = await n.inspect(name, o); return { ...i, gateway: i.gateway?.replace(/\.1$/, ".254") }; } }) });
mutant("networks.inspect lists attached nodes that are not running as members", {
  networks: (n, base) => ({
    inspect: async (name, o) => {
      const info = await n.inspect(name, o);
      const attached = (await base.nodes.list()).filter((x) => x.networks.some((a) => a.name === name));
      return { ...info, members: attached.map((x) => ({ name: x.name, ipv4: x.networks.find((a) => a.name === name)?.ipv4 })) };
    },
  }),
});
mutant("networks.inspect lists members without ipv4", { networks: (n) => ({ inspect: async (name, o) => { const i = await n.inspect(name, o); return { ...i, members: i.members.map((m) => ({ name: m.name })) }; } }) });
mutant("networks.connect drops the aliases", { networks: (n) => ({ connect: (net, node, o) => n.connect(net, node, { ...o, aliases: undefined }) }) });
mutant("networks.connect of an attached node succeeds quietly", { networks: (n) => ({ connect: async (net, node, o) => { try { await n.connect(net, node, o); } catch (err) { if (!isK3tsError(err, "RUNTIME_ERROR")) throw err; } } }) });
mutant("networks.connect of an attached node replaces its aliases", {
  networks: (n) => ({ connect: async (net, node, o) => { await n.disconnect(net, node).catch(() => {}); return n.connect(net, node, o); } }),
});
mutant("networks.disconnect of a node not attached succeeds quietly", { networks: (n) => ({ disconnect: swallow(n.disconnect, "RUNTIME_ERROR", undefined) }) });
mutant("networks.disconnect does nothing", { networks: (n, base) => ({ disconnect: async (net, node) => { await n.inspect(net); await base.nodes.inspect(node); } }) });
mutant("networks.delete refuses only while a running node is attached", {
  networks: (n, base) => ({
    delete: async (name, o) => {
      const attached = (await base.nodes.list()).filter((x) => x.networks.some((a) => a.name === name));
      if (attached.length > 0 && attached.every((x) => x.state !== "running")) for (const x of attached) await n.disconnect(name, x.name);
      return n.delete(name, o);
    },
  }),
});
mutant("networks.delete: in use is RUNTIME_ERROR", { networks: (n) => ({ delete: recode(n.delete, "NETWORK_IN_USE", "RUNTIME_ERROR") }) });
mutant("networks.delete: a missing network is fine", { networks: (n) => ({ delete: swallow(n.delete, "NETWORK_NOT_FOUND", undefined) }) });
mutant("networks.delete does nothing", { networks: (n) => ({ delete: async (name) => void (await n.inspect(name)) }) });
mutant("networks.inspect: a missing network is RUNTIME_ERROR", { networks: (n) => ({ inspect: recode(n.inspect, "NETWORK_NOT_FOUND", "RUNTIME_ERROR") }) });
mutant("networks.connect: a missing network is a plain error", { networks: (n) => ({ connect: recode(n.connect, "NETWORK_NOT_FOUND", "plain") }) });
mutant("networks.list ignores the filter", { networks: (n) => ({ list: (_f, o) => n.list({}, o) }) });
mutant("networks.list returns nothing without a filter", { networks: (n) => ({ list: async (f, o) => (f?.labels && Object.keys(f.labels).length ? n.list(f, o) : []) }) });
mutant("networks.list takes an empty value literally", {
  networks: (n) => ({ list: async (f, o) => (await n.list(f, o)).filter((x) => Object.entries(f?.labels ?? {}).every(([k, val]) => val !== "" || x.labels[k] === "")) }),
});
mutant("networks.list matches any one label, not all", { networks: (n) => ({ list: anyOneLabel(n.list) }) });
mutant("networks.list reports no labels", { networks: (n) => ({ list: async (f, o) => (await n.list(f, o)).map((x) => ({ ...x, labels: {} })) }) });
mutant("networks.list reports no members", { networks: (n) => ({ list: async (f, o) => (await n.list(f, o)).map((x) => ({ ...x, members: [] })) }) });
mutant("networks.list reports no subnet or gateway", { networks: (n) => ({ list: async (f, o) => (await n.list(f, o)).map(({ subnet: _s, gateway: _g, ...x }) => x) }) });
mutant("networks.list still reports a deleted network", {
  networks: (n) => {
    const deleted: Array<Awaited<ReturnType<NetworkClient["inspect"]>>> = [];
    return {
      delete: async (name, o) => { const info = await n.inspect(name, o); await n.delete(name, o); deleted.push(info); },
      list: async (f, o) => [...(await n.list(f, o)), ...deleted.filter((x) => Object.entries(f?.labels ?? {}).every(([k, v]) => k in x.labels && (v === "" || x.labels[k] === v)))],
    };
  },
});

// ------------------------------------------------------------------ volumes
mutant("volumes.ensure says created: true every time", { volumes: (v) => ({ ensure: async (s, o) => ({ ...(await v.ensure(s, o)), created: true }) }) });
mutant("volumes.ensure drops labels", { volumes: (v) => ({ ensure: (s, o) => v.ensure({ ...s, labels: Object.fromEntries(Object.entries(s.labels ?? {}).filter(([k]) => k === "k3ts.io/conformance-suite")) }, o) }) });
mutant("volumes.list ignores the filter", { volumes: (v) => ({ list: (_f, o) => v.list({}, o) }) });
mutant("volumes.list takes an empty value literally", {
  volumes: (v) => ({ list: async (f, o) => (await v.list(f, o)).filter((x) => Object.entries(f?.labels ?? {}).every(([k, val]) => val !== "" || x.labels[k] === "")) }),
});
mutant("volumes.list matches any one label, not all", { volumes: (v) => ({ list: anyOneLabel(v.list) }) });
mutant("volumes.list reports no labels", { volumes: (v) => ({ list: async (f, o) => (await v.list(f, o)).map((x) => ({ ...x, labels: {} })) }) });
mutant("volumes.inspect: a missing volume is RUNTIME_ERROR", { volumes: (v) => ({ inspect: recode(v.inspect, "VOLUME_NOT_FOUND", "RUNTIME_ERROR") }) });
mutant("volumes.inspect: a missing volume is a plain error", { volumes: (v) => ({ inspect: recode(v.inspect, "VOLUME_NOT_FOUND", "plain") }) });
mutant("volumes.inspect of a missing volume reports an empty one", { volumes: (v) => ({ inspect: async (name, o) => v.inspect(name, o).catch((err: unknown) => { if (isK3tsError(err, "VOLUME_NOT_FOUND")) return { name, labels: {} }; throw err; }) }) });
mutant("volumes.inspect reports no labels", { volumes: (v) => ({ inspect: async (name, o) => ({ ...(await v.inspect(name, o)), labels: {} }) }) });
mutant("volumes.inspect drops labels with empty values", { volumes: (v) => ({ inspect: async (name, o) => { const x = await v.inspect(name, o); return { ...x, labels: Object.fromEntries(Object.entries(x.labels).filter(([, val]) => val !== "")) }; } }) });
mutant("volumes.inspect refuses a volume a node mounts", {
  volumes: (v, base) => ({
    inspect: async (name, o) => {
      if ([...engineOf(base).nodes.values()].some((n) => (n.spec.volumes ?? []).some((m) => m.source === name))) throw new K3tsError("VOLUME_IN_USE", `volume ${name} is in use`);
      return v.inspect(name, o);
    },
  }),
});
mutant("volumes.delete refuses only while a running node mounts the volume", {
  volumes: (v, base) => ({
    delete: async (name, o) => {
      const users = [...engineOf(base).nodes.values()].filter((n) => (n.spec.volumes ?? []).some((m) => m.source === name));
      if (users.length > 0 && users.every((n) => !n.running)) {
        engineOf(base).volumes.delete(name);
        return;
      }
      return v.delete(name, o);
    },
  }),
});
mutant("volumes.delete: in use is RUNTIME_ERROR", { volumes: (v) => ({ delete: recode(v.delete, "VOLUME_IN_USE", "RUNTIME_ERROR") }) });
mutant("volumes.delete: a missing volume is fine", { volumes: (v) => ({ delete: swallow(v.delete, "VOLUME_NOT_FOUND", undefined) }) });
mutant("volumes.delete does nothing", { volumes: () => ({ delete: async () => {} }) });
mutant("nodes.delete removes the named volumes the node mounted", {
  nodes: (n, base) => ({
    delete: async (name, o) => {
      const mounted = (engineOf(base).nodes.get(name)?.spec.volumes ?? []).filter((m) => m.type === "volume").map((m) => m.source);
      await n.delete(name, o);
      for (const source of mounted) if (![...engineOf(base).nodes.values()].some((x) => x.spec.volumes?.some((m) => m.source === source))) engineOf(base).volumes.delete(source);
    },
  }),
});

// ------------------------------------------------------------------ images
mutant("images.exists is always true", { images: () => ({ exists: async () => true }) });
mutant("images.exists does not know image IDs", { images: (i) => ({ exists: async (ref, o) => (ref.startsWith("sha256:") ? false : i.exists(ref, o)) }) });
mutant("images.save returns an empty stream", { images: (i) => ({ save: async (refs, o) => { await i.save(refs, o); return Readable.from([]); } }) });
mutant("images.save holds the first image only", { images: (i) => ({ save: (refs, o) => i.save(refs.slice(0, 1), o) }) });
mutant("images.save of a missing image fails only in the stream", {
  images: (i) => ({ save: async (refs, o) => i.save(refs, o).catch((err: unknown) => new Readable({ read() { this.destroy(err as Error); } })) }),
});
mutant("images.save leaves out missing images", {
  images: (i) => ({ save: async (refs, o) => { const present: string[] = []; for (const r of refs) if (await i.exists(r)) present.push(r); return i.save(present.length ? present : refs, o); } }),
});
mutant("images.load reports nothing", { images: (i) => ({ load: async (a, o) => { await i.load(a, o); return []; } }) });
mutant("images.load reports the first image only", { images: (i) => ({ load: async (a, o) => (await i.load(a, o)).slice(0, 1) }) });
mutant("images.load does not keep the images", {
  images: () => ({ load: async (a) => { const chunks: Buffer[] = []; for await (const c of a as AsyncIterable<Buffer>) chunks.push(c); const fresh = createMemoryRuntime({ images: [] }); try { return await fresh.images.load(Readable.from([Buffer.concat(chunks)])); } finally { await fresh.close(); } } }),
});
mutant("images.load reports nothing for an untagged image", { images: (i) => ({ load: async (a, o) => (await i.load(a, o)).filter((r) => !r.startsWith("sha256:")) }) });
mutant("images.load reports an untagged image as <none>:<none>", { images: (i) => ({ load: async (a, o) => (await i.load(a, o)).map((r) => (r.startsWith("sha256:") ? "<none>:<none>" : r)) }) });
mutant("images.inspect gives each name its own ID", { images: (i) => ({ inspect: async (ref, o) => { await i.inspect(ref, o); return { id: `sha256:${createHash("sha256").update(ref).digest("hex")}` }; } }) });
mutant("images.inspect gives the ID without sha256:", { images: (i) => ({ inspect: async (ref, o) => ({ id: (await i.inspect(ref, o)).id.slice("sha256:".length) }) }) });
mutant("images.inspect of a missing image answers an empty ID", { images: (i) => ({ inspect: async (ref, o) => i.inspect(ref, o).catch(() => ({ id: "" })) }) });
mutant("images.inspect: a missing image is RUNTIME_ERROR", { images: (i) => ({ inspect: recode(i.inspect, "IMAGE_NOT_FOUND", "RUNTIME_ERROR") }) });
mutant("images.pull: an unreachable registry is RUNTIME_ERROR", { images: (i) => ({ pull: recode(i.pull, "IMAGE_PULL_FAILED", "RUNTIME_ERROR") }) });
mutant("images.pull succeeds without a registry", { images: () => ({ pull: async () => {} }) });

// ------------------------------------------------------------------ abort
const deaf = <T extends object>(client: T, method: keyof T): Partial<T> => ({
  [method]: (...args: unknown[]) => (client[method] as (...a: unknown[]) => unknown)(...args.map(withoutSignal)),
}) as Partial<T>;
mutant("info ignores the signal", { info: (i) => (o) => i(withoutSignal(o)) });
for (const method of ["create", "start", "stop", "delete", "list", "inspect", "exec", "logs", "writeFile", "readFile"] as const) {
  mutant(`nodes.${method} ignores an already-fired signal`, { nodes: (n) => deaf(n, method) });
}
for (const method of ["ensure", "inspect", "list", "delete", "connect", "disconnect"] as const) {
  mutant(`networks.${method} ignores an already-fired signal`, { networks: (n) => deaf(n, method) });
}
for (const method of ["ensure", "delete", "inspect", "list"] as const) mutant(`volumes.${method} ignores an already-fired signal`, { volumes: (v) => deaf(v, method) });
for (const method of ["exists", "inspect", "pull", "save", "load"] as const) mutant(`images.${method} ignores an already-fired signal`, { images: (i) => deaf(i, method) });
mutant("nodes.delete deletes, then reports ABORTED", {
  nodes: (n) => ({ delete: async (name, o) => { await n.delete(name, withoutSignal(o)); if (o?.signal?.aborted) throw new K3tsError("ABORTED", "aborted"); } }),
});
mutant("nodes.exec ignores a signal that fires while it runs", {
  nodes: (n) => ({ exec: (name, c, o) => n.exec(name, c, o?.signal?.aborted ? o : (withoutSignal(o) as ExecOptions)) }),
});
mutant("nodes.exec reports an abort as a plain error", {
  nodes: (n) => ({ exec: recode(n.exec, "ABORTED", "plain") }),
});
mutant("nodes.logs follow ignores a signal that fires while it runs", {
  nodes: (n) => ({ logs: (name, o) => n.logs(name, o?.signal?.aborted ? o : withoutSignal(o)) }),
});

// ------------------------------------------------------------------ the run

interface Outcome {
  rule: string;
  killedBy?: string;
  /** The failed check's message. */
  why?: string;
  ms?: number;
  crashed?: string;
  hung?: boolean;
}

async function runMutant(m: Mutant): Promise<Outcome> {
  const started = Date.now();
  return { ...(await runMutantOnce(m)), ms: Date.now() - started };
}

async function runMutantOnce(m: Mutant): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<"hang">((resolve) => (timer = setTimeout(() => resolve("hang"), MUTANT_MS)));
  try {
    const results = await Promise.race([
      runConformanceChecks({ create: () => patched(createMemoryRuntime({ images: [IMAGE] }), m.patch), image: IMAGE, timeoutMs: CHECK_MS, bail: true }),
      hang,
    ]);
    if (results === "hang") return { rule: m.rule, hung: true };
    const failed = results.find((r: CheckResult) => !r.ok);
    const why = failed && [failed.error, failed.cleanupError].filter(Boolean).map((e) => (e as Error).message ?? String(e)).concat(failed.leaked ?? []).join(" / ");
    return failed ? { rule: m.rule, killedBy: failed.name, why } : { rule: m.rule };
  } catch (err) {
    return { rule: m.rule, crashed: (err as Error)?.stack ?? String(err) };
  } finally {
    clearTimeout(timer);
  }
}

async function pool<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

describe("the conformance kit's mutation score", () => {
  const escaped: unknown[] = [];
  const onEscape = (err: unknown) => escaped.push(err);
  beforeAll(() => {
    process.on("unhandledRejection", onEscape);
    process.on("uncaughtException", onEscape);
  });
  afterAll(() => {
    process.off("unhandledRejection", onEscape);
    process.off("uncaughtException", onEscape);
  });

  it("the unbroken memory runtime passes every check (the baseline the mutants are measured against)", async () => {
    const results = await runConformanceChecks({ create: () => patched(createMemoryRuntime({ images: [IMAGE] }), {}), image: IMAGE, timeoutMs: CHECK_MS });
    expect(results.filter((r) => !r.ok).map((r) => r.name)).toEqual([]);
  }, 120_000);

  it(`kills at least ${THRESHOLD * 100} % of ${mutants.length} mutants, none crashing or hanging the kit`, async () => {
    expect(mutants.length).toBeGreaterThanOrEqual(100);
    expect(new Set(mutants.map((m) => m.rule)).size, "every mutant breaks its own rule").toBe(mutants.length);
    const started = Date.now();
    const outcomes = await pool(mutants, CONCURRENCY, runMutant);
    await sleep(200); // let a late timer of a mutant surface as an escaped error
    const killed = outcomes.filter((o) => o.killedBy);
    const survived = outcomes.filter((o) => !o.killedBy && !o.crashed && !o.hung);
    const crashed = outcomes.filter((o) => o.crashed);
    const hung = outcomes.filter((o) => o.hung);
    const score = killed.length / outcomes.length;
    console.log(
      [
        `conformance kit mutation score: ${killed.length}/${outcomes.length} killed (${(score * 100).toFixed(1)} %), ${crashed.length} crashed, ${hung.length} hung, ${escaped.length} escaped errors, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        ...survived.map((o) => `  survived: ${o.rule}`),
        // K3TS_MUTANTS_VERBOSE=1 shows which check killed each mutant, and why.
        ...(process.env.K3TS_MUTANTS_VERBOSE ? killed.map((o) => `  killed (${o.ms} ms): ${o.rule}\n      by "${o.killedBy}": ${o.why?.split("\n")[0]}`) : []),
        ...crashed.map((o) => `  crashed: ${o.rule}: ${o.crashed}`),
        ...hung.map((o) => `  hung: ${o.rule}`),
      ].join("\n"),
    );
    expect(crashed.map((o) => o.rule), "mutants that crashed the kit").toEqual([]);
    expect(hung.map((o) => o.rule), "mutants that hung the kit").toEqual([]);
    expect(escaped.map(String), "errors that escaped the kit").toEqual([]);
    expect(score, `survivors: ${survived.map((o) => o.rule).join("; ")}`).toBeGreaterThanOrEqual(THRESHOLD);
  }, 600_000);
});
