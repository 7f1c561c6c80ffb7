import { describe, expect, it } from "vitest";
import { isK3tsError } from "../src/errors.ts";
import type { NodeClient, Runtime } from "../src/runtime.ts";
import { runConformanceChecks, type CheckResult } from "../src/testing/conformance.ts";
import { createMemoryRuntime } from "../src/testing/memory/index.ts";

const IMAGE = "k3ts-test/busybox:1";

const CREATE = "create makes a node that is not started, with labels and env round-tripped exactly";
const LIST = "list selects by labels, in every state, and an empty value matches any value";
const NODE_ERRORS = "error codes: NODE_ALREADY_EXISTS, NODE_NOT_FOUND, IMAGE_NOT_FOUND, NETWORK_NOT_FOUND";
const ABORT_FIRED = "a signal that already fired rejects every kind of call with ABORTED";
const ABORT_EVERY = "every call rejects an already-fired signal with ABORTED before it changes anything";
const FILES = "writeFile and readFile work before start, after start and after stop";

/** A runtime that is a MemoryRuntime except for the node calls in `nodes`. */
function withNodes(base: Runtime, nodes: (inner: NodeClient) => Partial<NodeClient>): Runtime {
  const inner = base.nodes;
  const delegate: NodeClient = {
    create: (spec, o) => inner.create(spec, o),
    start: (name, o) => inner.start(name, o),
    stop: (name, o) => inner.stop(name, o),
    delete: (name, o) => inner.delete(name, o),
    list: (filter, o) => inner.list(filter, o),
    inspect: (name, o) => inner.inspect(name, o),
    exec: (name, command, o) => inner.exec(name, command, o),
    logs: (name, o) => inner.logs(name, o),
    writeFile: (name, path, content, o) => inner.writeFile(name, path, content, o),
    readFile: (name, path, o) => inner.readFile(name, path, o),
  };
  return {
    name: base.name,
    info: (o) => base.info(o),
    networks: base.networks,
    volumes: base.volumes,
    images: base.images,
    nodes: { ...delegate, ...nodes(inner) },
    close: () => base.close?.() ?? Promise.resolve(),
  };
}

/** Re-raises NODE_NOT_FOUND as a plain Error, as a careless runtime would pass its engine's error on. */
function plainErrors<A extends unknown[], R>(call: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await call(...args);
    } catch (err) {
      if (isK3tsError(err, "NODE_NOT_FOUND")) throw new Error(`No such container: ${String(args[0])}`, { cause: err });
      throw err;
    }
  };
}

/** Drops `signal` from every options object passed to any method of `target` (recursively for the clients). */
function ignoreSignals<T extends object>(target: T): T {
  return new Proxy(target, {
    get(obj, prop) {
      const value: unknown = Reflect.get(obj, prop, obj);
      if (typeof value === "function") {
        return (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(obj, args.map(withoutSignal));
      }
      return typeof value === "object" && value !== null ? ignoreSignals(value) : value;
    },
  });
}

function withoutSignal(arg: unknown): unknown {
  if (typeof arg !== "object" || arg === null || !("signal" in arg)) return arg;
  const { signal: _signal, ...rest } = arg as { signal?: AbortSignal };
  return rest;
}

async function run(create: () => Runtime, names: string[]): Promise<Map<string, CheckResult>> {
  const results = await runConformanceChecks({ create, image: IMAGE }, (check) => names.includes(check.name));
  expect(results.map((r) => r.name).sort()).toEqual([...names].sort());
  return new Map(results.map((r) => [r.name, r]));
}

function failure(results: Map<string, CheckResult>, name: string): string {
  const result = results.get(name);
  expect(result?.ok, `check "${name}" should fail`).toBe(false);
  return result?.error instanceof Error ? result.error.message : String(result?.error);
}

describe("the conformance kit catches broken runtimes", () => {
  it("a correct MemoryRuntime passes the checks the broken wrappers fail", async () => {
    const results = await run(() => createMemoryRuntime(), [CREATE, LIST, NODE_ERRORS, ABORT_FIRED]);
    for (const result of results.values()) expect(result, result.name).toMatchObject({ ok: true });
  });

  it("a runtime that drops labels on create fails the create and list checks", async () => {
    const dropLabels = () => withNodes(createMemoryRuntime(), (inner) => ({ create: (spec, o) => inner.create({ ...spec, labels: {} }, o) }));
    const results = await run(dropLabels, [CREATE, LIST]);
    expect(failure(results, CREATE)).toContain("label k3ts.io/role");
    const listMessage = failure(results, LIST);
    expect(listMessage).toContain("nodes.list: a label value selects the nodes with that value only");
    expect(listMessage).toContain("list-a");
  });

  it("a runtime that throws plain errors for missing nodes fails the error-codes check", async () => {
    const plain = () =>
      withNodes(createMemoryRuntime(), (inner) => ({
        inspect: plainErrors(inner.inspect.bind(inner)),
        start: plainErrors(inner.start.bind(inner)),
        stop: plainErrors(inner.stop.bind(inner)),
        delete: plainErrors(inner.delete.bind(inner)),
      }));
    const results = await run(plain, [NODE_ERRORS]);
    const message = failure(results, NODE_ERRORS);
    expect(message).toContain("expected a K3tsError with code NODE_NOT_FOUND, got a plain error");
    expect(message).toContain("No such container");
  });

  it("a runtime that honours an already-fired signal on some calls only fails the every-call check, naming the call", async () => {
    const partly = () => withNodes(createMemoryRuntime(), (inner) => ({ writeFile: (name, path, content, o) => inner.writeFile(name, path, content, withoutSignal(o) as typeof o) }));
    const results = await run(partly, [ABORT_EVERY]);
    expect(failure(results, ABORT_EVERY)).toBe("nodes.writeFile with an already-fired signal succeeded: it must reject with ABORTED");
  });

  it("a check that never ends fails at its time limit, the others still run, and its clean-up still runs", async () => {
    const hanging = () => withNodes(createMemoryRuntime(), (inner) => ({ readFile: (name, path, o) => (path.endsWith("secret.bin") ? new Promise<never>(() => {}) : inner.readFile(name, path, o)) }));
    const results = await runConformanceChecks({ create: hanging, image: IMAGE, timeoutMs: 1500 }, (c) => [FILES, CREATE].includes(c.name));
    const byName = new Map(results.map((r) => [r.name, r]));
    expect(byName.get(FILES)).toMatchObject({ ok: false });
    expect(String((byName.get(FILES)!.error as Error).message)).toContain("did not finish within 1.5s");
    expect(byName.get(FILES)!.leaked).toBeUndefined();
    expect(byName.get(CREATE)).toMatchObject({ ok: true });
  });

  it("a clean-up that fails is reported beside the check's own result, and what it left is named", async () => {
    // delete never removes anything: the check itself passes, its clean-up "succeeds", but the node stays.
    const sticky = () => withNodes(createMemoryRuntime(), () => ({ delete: async () => undefined }));
    const left = await runConformanceChecks({ create: sticky, image: IMAGE }, (c) => c.name === CREATE);
    expect(left[0]).toMatchObject({ ok: false });
    expect(left[0]!.error).toBeUndefined();
    expect(left[0]!.leaked?.join(" ")).toMatch(/^node k3ts-conf-\w+-create/);
    // delete throws: reported as cleanupError, and the check's own pass is kept.
    const failing = () => withNodes(createMemoryRuntime(), () => ({ delete: async () => Promise.reject(new Error("engine went away")) }));
    const broken = await runConformanceChecks({ create: failing, image: IMAGE }, (c) => c.name === CREATE);
    expect(broken[0]).toMatchObject({ ok: false });
    expect(broken[0]!.error).toBeUndefined();
    expect((broken[0]!.cleanupError as Error).message).toBe("engine went away");
  });

  it("a runtime that ignores AbortSignal fails the abort check", async () => {
    const deaf = () => ignoreSignals<Runtime>(createMemoryRuntime());
    const results = await run(deaf, [ABORT_FIRED]);
    expect(failure(results, ABORT_FIRED)).toBe("info: a signal that already fired rejects with ABORTED: expected a K3tsError with code ABORTED, but the call succeeded");
  });
});
