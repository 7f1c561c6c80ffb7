/**
 * The little of the Kubernetes API the lifecycle needs (readiness: /readyz and the Node list),
 * spoken over HTTPS with the kubeconfig's own credentials. k3s turns anonymous auth off, so every
 * call presents the admin client certificate. (The sdk uses @kubernetes/client-node; core stays lean.)
 */
import { yaml } from "./deps.js";
import { K3tsError, abortedError } from "../errors.js";

export interface KubeAccess {
  server: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

interface KubeconfigShape {
  clusters?: Array<{ name: string; cluster?: { server?: string; "certificate-authority-data"?: string } }>;
  users?: Array<{ name: string; user?: { "client-certificate-data"?: string; "client-key-data"?: string } }>;
  contexts?: Array<{ name: string; context?: { cluster?: string; user?: string } }>;
  "current-context"?: string;
}

/** Credentials of the kubeconfig's current context (or the named one). */
export function accessFromKubeconfig(text: string, context?: string): KubeAccess {
  const doc = (yaml().parse(text) ?? {}) as KubeconfigShape;
  const ctxName = context ?? doc["current-context"];
  const ctx = doc.contexts?.find((c) => c.name === ctxName) ?? doc.contexts?.[0];
  const cluster = doc.clusters?.find((c) => c.name === ctx?.context?.cluster) ?? doc.clusters?.[0];
  const user = doc.users?.find((u) => u.name === ctx?.context?.user) ?? doc.users?.[0];
  const ca = cluster?.cluster?.["certificate-authority-data"];
  const cert = user?.user?.["client-certificate-data"];
  const key = user?.user?.["client-key-data"];
  const server = cluster?.cluster?.server;
  if (!server || !ca || !cert || !key) {
    throw new K3tsError("INVALID_ARGUMENT", "the kubeconfig has no server with embedded CA and client certificate", { meta: { context: ctxName } });
  }
  return { server, ca: Buffer.from(ca, "base64"), cert: Buffer.from(cert, "base64"), key: Buffer.from(key, "base64") };
}

export interface KubeResponse {
  status: number;
  body: string;
}

export interface KubeRequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  accept?: string;
  method?: string;
  /** A request body (sent as JSON unless contentType says otherwise). */
  body?: string | object;
  contentType?: string;
}

/** One request to the API server. Network failures reject; HTTP statuses resolve. */
export async function kubeRequest(access: KubeAccess, path: string, options: KubeRequestOptions = {}): Promise<KubeResponse> {
  if (options.signal?.aborted) throw abortedError(options.signal, "API request");
  const url = new URL(path, access.server);
  const payload = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  // Loaded on use: node:https is the costliest built-in on the CLI's start-up path.
  const { request } = await import("node:https");
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? "GET",
        ca: access.ca,
        cert: access.cert,
        key: access.key,
        agent: false,
        timeout: options.timeoutMs ?? 5000,
        headers: {
          accept: options.accept ?? "application/json",
          ...(payload !== undefined ? { "content-type": options.contentType ?? "application/json", "content-length": Buffer.byteLength(payload) } : {}),
        },
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => {
      const ms = options.timeoutMs ?? 5000;
      req.destroy(new K3tsError("TIMEOUT", `no answer from ${url.host} within ${ms} ms (${options.method ?? "GET"} ${path})`, { meta: { server: url.host, path, timeoutMs: ms } }));
    });
    req.on("error", (err) => reject(options.signal?.aborted ? abortedError(options.signal, "API request") : err));
    req.end(payload);
  });
}

/** GET a path of the API server. Network failures reject; HTTP statuses resolve. */
export function kubeGet(access: KubeAccess, path: string, options: { signal?: AbortSignal; timeoutMs?: number; accept?: string } = {}): Promise<KubeResponse> {
  return kubeRequest(access, path, options);
}

/**
 * Server-side apply of one object (field manager `k3ts`, forced: k3ts owns what it writes).
 * `path` is the object's own path, e.g. /api/v1/namespaces/kube-public/configmaps/NAME.
 */
export async function kubeApply(access: KubeAccess, path: string, object: object, options: { signal?: AbortSignal } = {}): Promise<unknown> {
  const res = await kubeRequest(access, `${path}?fieldManager=k3ts&force=true`, {
    ...options,
    method: "PATCH",
    body: object,
    contentType: "application/apply-patch+yaml",
  });
  if (res.status >= 300) {
    let message = res.body.trim();
    try {
      message = (JSON.parse(res.body) as { message?: string }).message ?? message;
    } catch {
      // not a Status: keep the text
    }
    throw new K3tsError("KUBE_API_ERROR", `applying ${path} failed (HTTP ${res.status}): ${message}`, { meta: { path, status: res.status } });
  }
  return JSON.parse(res.body) as unknown;
}

export interface NodeReadiness {
  name: string;
  ready: boolean;
  roles: string[];
  version?: string;
  /** The address the kubelet registered (InternalIP, IPv4 first). */
  internalIP?: string;
}

interface NodeList {
  items?: Array<{
    metadata?: { name?: string; labels?: Record<string, string> };
    status?: { conditions?: Array<{ type?: string; status?: string }>; nodeInfo?: { kubeletVersion?: string }; addresses?: Array<{ type?: string; address?: string }> };
  }>;
}

function internalIP(addresses: Array<{ type?: string; address?: string }> = []): { internalIP?: string } {
  const ips = addresses.filter((a) => a.type === "InternalIP" && a.address).map((a) => a.address!);
  const ip = ips.find((a) => !a.includes(":")) ?? ips[0];
  return ip ? { internalIP: ip } : {};
}

/** The cluster's Nodes and whether each is Ready. */
export async function listNodeReadiness(access: KubeAccess, options: { signal?: AbortSignal } = {}): Promise<NodeReadiness[]> {
  const res = await kubeGet(access, "/api/v1/nodes", options);
  if (res.status !== 200) {
    throw new K3tsError("KUBE_API_ERROR", `GET /api/v1/nodes answered ${res.status}: ${res.body.slice(0, 200)}`, { meta: { path: "/api/v1/nodes", status: res.status } });
  }
  const list = JSON.parse(res.body) as NodeList;
  return (list.items ?? []).map((n) => ({
    name: n.metadata?.name ?? "",
    ready: n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    roles: Object.keys(n.metadata?.labels ?? {})
      .filter((l) => l.startsWith("node-role.kubernetes.io/"))
      .map((l) => l.slice("node-role.kubernetes.io/".length)),
    ...(n.status?.nodeInfo?.kubeletVersion ? { version: n.status.nodeInfo.kubeletVersion } : {}),
    ...internalIP(n.status?.addresses),
  }));
}

export interface WaitReadyOptions {
  signal?: AbortSignal;
  /** Absolute deadline (ms since epoch); undefined = no limit. */
  deadline?: number;
  /** Called with a short status whenever it changes ("readyz: 503", "2/3 nodes Ready"). */
  onStatus?: (status: string) => void;
  intervalMs?: number;
  /** Called on every round; what it throws ends the wait (a node that crashed, say). */
  check?: () => Promise<void>;
}

/**
 * Waits until /readyz answers 200 and every expected node is Ready. On the deadline it throws
 * CLUSTER_NOT_READY naming what was still missing.
 */
export async function waitForReady(access: KubeAccess, expected: string[], options: WaitReadyOptions = {}): Promise<NodeReadiness[]> {
  let last = "";
  let missing: string[] = [...expected];
  const say = (s: string) => {
    if (s !== last) options.onStatus?.(s);
    last = s;
  };
  for (;;) {
    if (options.signal?.aborted) throw abortedError(options.signal, "waiting for the cluster");
    try {
      const ready = await kubeGet(access, "/readyz", { ...(options.signal ? { signal: options.signal } : {}), timeoutMs: 3000 });
      if (ready.status !== 200) say(`API /readyz answered ${ready.status}`);
      else {
        const nodes = await listNodeReadiness(access, options.signal ? { signal: options.signal } : {});
        missing = expected.filter((name) => !nodes.some((n) => n.name === name && n.ready));
        if (missing.length === 0) return nodes;
        say(`${expected.length - missing.length}/${expected.length} nodes Ready`);
      }
    } catch (err) {
      if (options.signal?.aborted) throw abortedError(options.signal, "waiting for the cluster");
      say(`API not answering: ${(err as Error).message}`);
    }
    await options.check?.();
    if (options.deadline !== undefined && Date.now() >= options.deadline) {
      throw new K3tsError("CLUSTER_NOT_READY", `the cluster was not ready in time: ${last}${missing.length ? `; not Ready: ${missing.join(", ")}` : ""}`, {
        meta: { missing, last },
      });
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
  }
}
