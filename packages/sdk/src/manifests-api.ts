/**
 * The Kubernetes API as the manifest, rollout and Helm code speaks it: raw HTTP(S) requests with
 * the KubeConfig's own TLS material and credentials (client-node's `applyToHTTPSOptions`, whose
 * https.Agent is cached per cluster and user, so requests reuse connections), objects sent as parsed
 * (client-node's typed serializers drop fields they do not know, which server-side apply must see),
 * and the plural and scope of any apiVersion/kind from legacy discovery (`/api/v1`,
 * `/apis/GROUP/VERSION`: the APIResourceList every apiserver serves), cached per client and
 * re-read when a kind is missing (a CRD that was just established).
 */
import type { RequestOptions as HttpsRequestOptions } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { K3tsError, abortedError } from "@k3ts/core";
import { parseDuration } from "@k3ts/core/internal";

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; generation?: number; resourceVersion?: string; uid?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface ApiResource {
  plural: string;
  namespaced: boolean;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal | undefined;
}

export interface ApiResponse {
  status: number;
  body: string;
  /** The Retry-After header, when the answer had one. */
  retryAfter?: string;
}

interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
}

/** `kind/namespace/name` (or `kind/name` for cluster-scoped objects): how errors and progress name an object. */
export function describeObject(o: Pick<KubeObject, "kind" | "metadata">): string {
  return o.metadata.namespace ? `${o.kind}/${o.metadata.namespace}/${o.metadata.name ?? "?"}` : `${o.kind}/${o.metadata.name ?? "?"}`;
}

/** The message of an apiserver Status body, else the text. */
export function statusMessage(body: string): { message: string; reason?: string } {
  try {
    const s = JSON.parse(body) as StatusBody;
    if (s && typeof s.message === "string") return { message: s.message, ...(s.reason ? { reason: s.reason } : {}) };
  } catch {
    // not JSON
  }
  return { message: body.trim().slice(0, 500) || "(empty answer)" };
}

/** How long one API request may take before it is given up (and, for a read, tried again). */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Attempts of one request that the apiserver answered 429 or 5xx (or not at all, for reads). */
export const REQUEST_ATTEMPTS = 5;
/** Longest wait between attempts, whatever Retry-After asks. */
const MAX_RETRY_DELAY_MS = 10_000;

/** Retry-After (seconds, or an HTTP date) in ms, if the answer has one. */
function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface KubeApiOptions {
  /** How the retry policy waits (tests record it). Default: a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** One client over a KubeConfig's current context. */
export class KubeApi {
  readonly #kc: KubeConfig;
  readonly #resources = new Map<string, Map<string, ApiResource>>();
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(kc: KubeConfig, options: KubeApiOptions = {}) {
    if (typeof kc !== "object" || kc === null || typeof (kc as KubeConfig).getCurrentCluster !== "function") {
      throw new K3tsError("INVALID_ARGUMENT", "kubeConfig: not a @kubernetes/client-node KubeConfig (cluster.kubeConfig() returns one)", { meta: { where: "kubeConfig" } });
    }
    this.#kc = kc;
    this.#sleep = options.sleep ?? pause;
  }

  /** The current context's namespace, else `default`. */
  get defaultNamespace(): string {
    const ctx = this.#kc.getContextObject(this.#kc.getCurrentContext());
    return ctx?.namespace || "default";
  }

  get server(): string {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new K3tsError("INVALID_ARGUMENT", `kubeConfig: context ${JSON.stringify(this.#kc.getCurrentContext())} has no cluster`, { meta: { where: "kubeConfig" } });
    return cluster.server;
  }

  /**
   * One request, bounded and retried: each attempt may take {@link REQUEST_TIMEOUT_MS}; a 429 (any
   * method: the apiserver did not act on it) or a 5xx / no answer to a read (GET) is tried again, up to
   * {@link REQUEST_ATTEMPTS} times, after Retry-After when the answer gives one (else 0.5 s, doubling),
   * at most 10 s. Network failures throw KUBE_API_ERROR; HTTP statuses resolve (the last one).
   */
  async request(path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const method = options.method ?? "GET";
    const read = method === "GET";
    for (let attempt = 1; ; attempt++) {
      const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      let res: ApiResponse | undefined;
      try {
        res = await this.#once(path, { ...options, signal });
      } catch (err) {
        if (options.signal?.aborted) throw err;
        const timedOut = timeout.aborted;
        if (attempt >= REQUEST_ATTEMPTS || !read) {
          if (timedOut) throw new K3tsError("KUBE_API_ERROR", `${method} ${path}: no answer within ${REQUEST_TIMEOUT_MS} ms`, { meta: { path, method }, cause: err, hint: "is the cluster running, and is the kubeconfig's server reachable?" });
          throw err;
        }
      }
      const retry = res ? res.status === 429 || (read && res.status >= 500) : true;
      if (res && (!retry || attempt >= REQUEST_ATTEMPTS)) return res;
      const delay = Math.min(MAX_RETRY_DELAY_MS, retryAfterMs(res?.retryAfter) ?? 500 * 2 ** (attempt - 1));
      await this.#sleep(delay, options.signal);
    }
  }

  async #once(path: string, options: RequestOptions): Promise<ApiResponse> {
    const signal = options.signal;
    if (signal?.aborted) throw abortedError(signal, "API request");
    const url = new URL(this.server + path);
    const opts: HttpsRequestOptions = {};
    await this.#kc.applyToHTTPSOptions(opts);
    const plain = url.protocol === "http:";
    const { request } = plain ? await import("node:http") : await import("node:https");
    const payload = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    const method = options.method ?? "GET";
    return new Promise<ApiResponse>((resolve, reject) => {
      const req = request(
        url,
        {
          ...opts,
          ...(plain ? { agent: undefined } : {}),
          method,
          headers: {
            ...(opts.headers as Record<string, string> | undefined),
            accept: options.accept ?? "application/json",
            "user-agent": "k3ts",
            ...(payload !== undefined ? { "content-type": options.contentType ?? "application/json", "content-length": String(Buffer.byteLength(payload)) } : {}),
          },
          ...(signal ? { signal } : {}),
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (body += d));
          const retryAfter = res.headers["retry-after"];
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body, ...(typeof retryAfter === "string" ? { retryAfter } : {}) }));
          res.on("error", reject);
        },
      );
      req.on("error", (err) => {
        if (signal?.aborted) reject(abortedError(signal, "API request"));
        else reject(new K3tsError("KUBE_API_ERROR", `${method} ${url.origin}${path}: ${err.message}`, { meta: { path, method }, cause: err, hint: "is the cluster running, and is the kubeconfig's server reachable?" }));
      });
      req.end(payload);
    });
  }

  /** A request whose answer must be 2xx (or one of `allow`): JSON-parsed; else KUBE_API_ERROR with the Status message. */
  async json<T>(path: string, options: RequestOptions & { allow?: number[]; what?: string; meta?: Record<string, unknown> } = {}): Promise<{ status: number; body: T | undefined }> {
    const res = await this.request(path, options);
    if (res.status >= 200 && res.status < 300) return { status: res.status, body: res.body ? (JSON.parse(res.body) as T) : undefined };
    if (options.allow?.includes(res.status)) return { status: res.status, body: undefined };
    const { message, reason } = statusMessage(res.body);
    const what = options.what ?? `${options.method ?? "GET"} ${path}`;
    throw new K3tsError("KUBE_API_ERROR", `${what}: ${message} (HTTP ${res.status})`, {
      meta: { path, status: res.status, ...(reason ? { reason } : {}), ...options.meta },
    });
  }

  /** The plural and scope of apiVersion/kind, from discovery (re-read once when the kind is not there). */
  async resource(apiVersion: string, kind: string, signal?: AbortSignal): Promise<ApiResource | undefined> {
    const cached = this.#resources.get(apiVersion)?.get(kind);
    if (cached) return cached;
    const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const { body } = await this.json<{ resources?: Array<{ name: string; kind: string; namespaced: boolean }> }>(path, { signal, allow: [404], what: `discovery of ${apiVersion}` });
    const map = new Map<string, ApiResource>();
    for (const r of body?.resources ?? []) {
      if (r.name.includes("/")) continue; // subresources (deployments/status)
      map.set(r.kind, { plural: r.name, namespaced: r.namespaced });
    }
    this.#resources.set(apiVersion, map);
    return map.get(kind);
  }

  /** Forgets what discovery said (after CRDs are established). */
  forgetDiscovery(): void {
    this.#resources.clear();
  }

  /** The collection path of a resource (`/apis/apps/v1/namespaces/NS/deployments`). */
  static collectionPath(apiVersion: string, resource: ApiResource, namespace: string | undefined): string {
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    return resource.namespaced ? `${base}/namespaces/${encodeURIComponent(namespace ?? "default")}/${resource.plural}` : `${base}/${resource.plural}`;
  }

  static objectPath(apiVersion: string, resource: ApiResource, namespace: string | undefined, name: string): string {
    return `${KubeApi.collectionPath(apiVersion, resource, namespace)}/${encodeURIComponent(name)}`;
  }
}

/** Sleeps, unless the signal fires first. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal, "waiting"));
    const onAbort = () => {
      clearTimeout(t);
      reject(abortedError(signal, "waiting"));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** `90s`, `5m`, or milliseconds → milliseconds (INVALID_ARGUMENT naming `where`). */
export function toMs(value: string | number | undefined, where: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === "string") return parseDuration(value, where);
  throw new K3tsError("INVALID_ARGUMENT", `${where}: ${JSON.stringify(value)} is neither a duration such as 90s nor milliseconds`, { meta: { where, value } });
}
