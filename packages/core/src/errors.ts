/**
 * The error catalog. Every error k3ts raises on purpose is a {@link K3tsError} with a string `code`.
 * Runtimes translate their engine's failures into these codes; callers branch on `code` (with
 * {@link isK3tsError}), never on `instanceof` (a plugin may carry its own copy of core) and never on
 * message text.
 */

export const ERROR_CODES = [
  // engines and runtimes
  "RUNTIME_UNAVAILABLE",
  "RUNTIME_UNSUPPORTED_VERSION",
  // the engine lacks something the cluster needs (container DNS, privileged containers …)
  "RUNTIME_CAPABILITY_MISSING",
  "RUNTIME_ERROR",
  // plugins
  "PLUGIN_NOT_FOUND",
  "PLUGIN_INVALID",
  "PLUGIN_API_MISMATCH",
  // clusters
  "CLUSTER_NOT_FOUND",
  "CLUSTER_ALREADY_EXISTS",
  "CLUSTER_NOT_READY",
  // registries
  "REGISTRY_NOT_FOUND",
  "REGISTRY_ALREADY_EXISTS",
  // the Kubernetes API answered with an error Status
  "KUBE_API_ERROR",
  // resources
  "NODE_NOT_FOUND",
  "NODE_ALREADY_EXISTS",
  "NODE_NOT_RUNNING",
  "NETWORK_NOT_FOUND",
  "NETWORK_IN_USE",
  "VOLUME_NOT_FOUND",
  "VOLUME_IN_USE",
  "IMAGE_NOT_FOUND",
  "IMAGE_PULL_FAILED",
  "FILE_NOT_FOUND",
  "PORT_IN_USE",
  // processes and input
  "COMMAND_FAILED",
  "INVALID_ARGUMENT",
  "ABORTED",
  "TIMEOUT",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const BRAND = Symbol.for("k3ts.error");

export type ErrorMeta = Record<string, unknown>;

export interface K3tsErrorOptions<M extends ErrorMeta> {
  meta?: M;
  cause?: unknown;
  /** A short next step for a person ("start dockerd", "pass --runtime podman"). */
  hint?: string;
}

export class K3tsError<C extends ErrorCode = ErrorCode, M extends ErrorMeta = ErrorMeta> extends Error {
  readonly code: C;
  readonly meta: M;
  readonly hint: string | undefined;
  readonly [BRAND] = true;

  constructor(code: C, message: string, options: K3tsErrorOptions<M> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "K3tsError";
    this.code = code;
    this.meta = options.meta ?? ({} as M);
    this.hint = options.hint;
  }

  /** The error as data, with secrets in its metadata redacted (see {@link redactSecrets}). */
  toJSON(): { code: C; message: string; meta: M; hint?: string } {
    return { code: this.code, message: this.message, meta: redactSecrets(this.meta), ...(this.hint ? { hint: this.hint } : {}) };
  }
}

const SECRET_KEY = /token|password|passwd|secret|credential|auth/i;
export const REDACTED = "********";

/**
 * A copy of `value` with secrets replaced by ********: values under keys that name one (`token`,
 * `password`, …), `KEY=VALUE` strings whose KEY does (an argv's `--env REGISTRY_PROXY_PASSWORD=…`), and
 * the value after a `--token`/`--password`-like flag in string arrays. For what errors carry and print.
 */
export function redactSecrets<T>(value: T): T {
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === "string") {
      if (key !== undefined && SECRET_KEY.test(key)) return REDACTED;
      const eq = v.indexOf("=");
      return eq > 0 && SECRET_KEY.test(v.slice(0, eq)) && !v.startsWith("-") ? `${v.slice(0, eq)}=${REDACTED}` : v;
    }
    if (Array.isArray(v)) return v.map((x, i) => (i > 0 && typeof v[i - 1] === "string" && /^--?[\w-]*(token|password|secret)[\w-]*$/i.test(v[i - 1] as string) ? REDACTED : walk(x)));
    if (v && typeof v === "object" && !(v instanceof Error)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return v;
  };
  return walk(value) as T;
}

/** True when `err` is a k3ts error (from any copy of core), optionally with one of the given codes. */
export function isK3tsError<C extends ErrorCode>(err: unknown, ...codes: C[]): err is K3tsError<C> {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { [BRAND]?: unknown; code?: unknown };
  if (e[BRAND] !== true || typeof e.code !== "string") return false;
  return codes.length === 0 || (codes as string[]).includes(e.code);
}

/** The error every runtime raises when its caller's AbortSignal fires. */
export function abortedError(signal?: AbortSignal, what = "operation"): K3tsError<"ABORTED"> {
  const reason: unknown = signal?.reason;
  if (isK3tsError(reason)) return reason as K3tsError<"ABORTED">;
  return new K3tsError("ABORTED", `${what} was aborted`, { cause: reason });
}

/** Throws {@link abortedError} when the signal has already fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw abortedError(signal, what);
}

/**
 * Races a promise against an AbortSignal. The underlying work is not cancelled by this helper; use it
 * only where the work is cancelled separately or is harmless to finish in the background.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, what?: string): Promise<T> {
  if (!signal) return promise;
  throwIfAborted(signal, what);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal, what));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
