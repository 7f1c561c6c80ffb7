/**
 * `K3TS_TRACE=1`: where a command's time goes, on stderr. Every progress step (core's create,
 * delete, start … report theirs) and every call into the runtime is timed; each is printed as it
 * ends (`trace +1.234s …`, time since the process started), and a summary closes the command: each
 * step's wall time with the engine calls started while it was open, then every engine method's
 * count, total and longest time.
 *
 * Calls are named by method and by what they act on (a node, network, volume or image name; the
 * file path for writeFile/readFile; the program for exec), never by their other arguments: a node's
 * spec holds the cluster token.
 */
import type { Progress, ProgressStep, Runtime } from "@k3ts/core";

interface StepRecord {
  title: string;
  start: number;
  end?: number;
  ok?: boolean;
  calls: Map<string, { count: number; ms: number }>;
}

interface MethodRecord {
  count: number;
  ms: number;
  max: number;
  failed: number;
}

const CLIENTS = ["networks", "volumes", "nodes", "images"] as const;

export class Tracer {
  readonly #write: (line: string) => void;
  readonly #now: () => number;
  readonly #started: number;
  readonly #steps: StepRecord[] = [];
  readonly #open = new Set<StepRecord>();
  readonly #methods = new Map<string, MethodRecord>();
  #outside = 0;

  /** `write` gets whole lines (no newline); `now` is milliseconds since the process started. */
  constructor(write: (line: string) => void, now: () => number = () => performance.now()) {
    this.#write = write;
    this.#now = now;
    this.#started = now();
  }

  #line(text: string): void {
    this.#write(`trace +${(this.#now() / 1000).toFixed(3)}s ${text}`);
  }

  /** The same progress, its steps timed. */
  progress(inner: Progress): Progress {
    return {
      start: (title: string): ProgressStep => {
        const step: StepRecord = { title, start: this.#now(), calls: new Map() };
        this.#steps.push(step);
        this.#open.add(step);
        this.#line(`step start ${title}`);
        const end = (ok: boolean) => {
          if (step.end !== undefined) return;
          step.end = this.#now();
          step.ok = ok;
          this.#open.delete(step);
          this.#line(`step ${ok ? "done" : "failed"} ${title} ${ms(step.end - step.start)}`);
        };
        const s = inner.start(title);
        return {
          update: (detail) => s.update(detail),
          succeed: (detail) => {
            end(true);
            s.succeed(detail);
          },
          fail: (error) => {
            end(false);
            s.fail(error);
          },
        };
      },
    };
  }

  /** The same runtime, every call timed. */
  runtime(runtime: Runtime): Runtime {
    const clients = new Map<string | symbol, unknown>();
    return new Proxy(runtime, {
      get: (t, prop) => {
        if ((CLIENTS as readonly (string | symbol)[]).includes(prop)) {
          if (!clients.has(prop)) clients.set(prop, this.#timed(String(prop), Reflect.get(t, prop) as object));
          return clients.get(prop);
        }
        const value = Reflect.get(t, prop) as unknown;
        if (typeof value !== "function") return value;
        if (prop === "info" || prop === "close") return (...args: unknown[]) => this.#call(prop, "", () => Reflect.apply(value, t, args) as unknown);
        return value.bind(t);
      },
    });
  }

  /** A client (nodes, networks …) whose methods are timed; `this` stays the real client. */
  #timed(client: string, target: object): unknown {
    return new Proxy(target, {
      get: (t, prop) => {
        const value = Reflect.get(t, prop) as unknown;
        if (typeof value !== "function" || typeof prop !== "string") return value;
        const method = `${client}.${prop}`;
        return (...args: unknown[]) => this.#call(method, subject(method, args), () => Reflect.apply(value, t, args) as unknown);
      },
    });
  }

  #call<T>(method: string, what: string, run: () => T): T {
    const start = this.#now();
    const steps = [...this.#open];
    if (steps.length === 0) this.#outside++;
    const done = (ok: boolean) => {
      const took = this.#now() - start;
      const m = this.#methods.get(method) ?? { count: 0, ms: 0, max: 0, failed: 0 };
      m.count++;
      m.ms += took;
      m.max = Math.max(m.max, took);
      if (!ok) m.failed++;
      this.#methods.set(method, m);
      for (const s of steps) {
        const c = s.calls.get(method) ?? { count: 0, ms: 0 };
        c.count++;
        c.ms += took;
        s.calls.set(method, c);
      }
      this.#line(`engine ${method}${what ? ` ${what}` : ""} ${ms(took)}${ok ? "" : " failed"}`);
    };
    let result: T;
    try {
      result = run();
    } catch (err) {
      done(false);
      throw err;
    }
    if (isThenable(result)) {
      return result.then(
        (v) => {
          done(true);
          return v;
        },
        (err: unknown) => {
          done(false);
          throw err;
        },
      ) as T;
    }
    // A stream (logs): timed until it is handed back.
    done(true);
    return result;
  }

  /** The closing summary. */
  summary(): void {
    const total = this.#now() - this.#started;
    const lines = [`trace summary: ${ms(total)} in all`];
    if (this.#steps.length) {
      lines.push("  steps (wall time; engine calls started while the step was open: count, summed time):");
      for (const s of this.#steps) {
        const wall = s.end === undefined ? "unfinished" : ms(s.end - s.start);
        const calls = [...s.calls].map(([m, c]) => `${m} ×${c.count} ${ms(c.ms)}`).join(", ");
        lines.push(`    ${wall.padStart(9)}  ${s.ok === false ? "✗ " : ""}${s.title}${calls ? ` (${calls})` : ""}`);
      }
    }
    const methods = [...this.#methods].sort((a, b) => b[1].ms - a[1].ms);
    const count = methods.reduce((n, [, m]) => n + m.count, 0);
    lines.push(`  engine calls: ${count}${this.#outside ? ` (${this.#outside} outside any step)` : ""}`);
    for (const [method, m] of methods) {
      lines.push(`    ${method.padEnd(20)} ×${String(m.count).padEnd(4)} total ${ms(m.ms).padStart(9)}  longest ${ms(m.max).padStart(9)}${m.failed ? `  ${m.failed} failed` : ""}`);
    }
    for (const l of lines) this.#write(l);
  }
}


function ms(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(2)}s` : `${n.toFixed(1)}ms`;
}

function isThenable(v: unknown): v is PromiseLike<unknown> & { then: Promise<unknown>["then"] } {
  return typeof (v as { then?: unknown } | null)?.then === "function";
}

/** What a call acts on, from the arguments that name things (never a spec's other fields, nor file content). */
function subject(method: string, args: unknown[]): string {
  const [first, second] = args;
  const name = typeof first === "string" ? first : Array.isArray(first) && first.every((x) => typeof x === "string") ? first.join(",") : nameOf(first);
  if (method === "nodes.writeFile" || method === "nodes.readFile") return `${name} ${typeof second === "string" ? second : ""}`.trim();
  if (method === "nodes.exec") return `${name} ${Array.isArray(second) && typeof second[0] === "string" ? second[0] : ""}`.trim();
  if (method.startsWith("networks.") && (method.endsWith("connect") || method.endsWith("disconnect")) && typeof second === "string") return `${name} ${second}`;
  return name;
}

function nameOf(v: unknown): string {
  const n = (v as { name?: unknown } | null | undefined)?.name;
  return typeof n === "string" ? n : "";
}
