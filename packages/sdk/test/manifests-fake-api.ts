/**
 * An in-process fake Kubernetes API server for unit tests, at the HTTP level. It answers with the
 * shapes the real apiserver sends (APIResourceList discovery, Status errors, server-side apply
 * answers with uid/resourceVersion/generation/managedFields, a resourceVersion that stays put when an
 * apply changes nothing), from a small object store, and with scripted answers for the state a
 * controller would move (`script(path, [...])`: one answer per GET, the last one repeated).
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

export interface Recorded {
  method: string;
  path: string;
  contentType?: string;
  body?: unknown;
}

type Obj = { apiVersion: string; kind: string; metadata: Record<string, unknown>; [k: string]: unknown };
export type Answer = { status: number; body: unknown; contentType?: string; headers?: Record<string, string> } | ((req: Recorded) => { status: number; body: unknown; contentType?: string; headers?: Record<string, string> });

interface Resource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  /** The apiserver gives these kinds a metadata.generation. */
  generation?: boolean;
}

const V = ["create", "delete", "get", "list", "patch", "update", "watch"];
export const DISCOVERY: Record<string, Resource[]> = {
  v1: [
    { name: "configmaps", singularName: "configmap", namespaced: true, kind: "ConfigMap", verbs: V },
    { name: "namespaces", singularName: "namespace", namespaced: false, kind: "Namespace", verbs: V },
    { name: "namespaces/status", singularName: "", namespaced: false, kind: "Namespace", verbs: ["get", "patch", "update"] },
    { name: "secrets", singularName: "secret", namespaced: true, kind: "Secret", verbs: V },
    { name: "services", singularName: "service", namespaced: true, kind: "Service", verbs: V },
    { name: "pods", singularName: "pod", namespaced: true, kind: "Pod", verbs: V },
    { name: "pods/log", singularName: "", namespaced: true, kind: "Pod", verbs: ["get"] },
  ],
  "apps/v1": [
    { name: "deployments", singularName: "deployment", namespaced: true, kind: "Deployment", verbs: V, generation: true },
    { name: "deployments/status", singularName: "", namespaced: true, kind: "Deployment", verbs: ["get", "patch", "update"] },
    { name: "statefulsets", singularName: "statefulset", namespaced: true, kind: "StatefulSet", verbs: V, generation: true },
    { name: "daemonsets", singularName: "daemonset", namespaced: true, kind: "DaemonSet", verbs: V, generation: true },
  ],
  "batch/v1": [{ name: "jobs", singularName: "job", namespaced: true, kind: "Job", verbs: V, generation: true }],
  "apiextensions.k8s.io/v1": [{ name: "customresourcedefinitions", singularName: "customresourcedefinition", namespaced: false, kind: "CustomResourceDefinition", verbs: V, generation: true }],
};

export const HELMCHART_DISCOVERY: Resource[] = [
  { name: "helmcharts", singularName: "helmchart", namespaced: true, kind: "HelmChart", verbs: V, generation: true },
  { name: "helmcharts/status", singularName: "", namespaced: true, kind: "HelmChart", verbs: ["get", "patch", "update"] },
  { name: "helmchartconfigs", singularName: "helmchartconfig", namespaced: true, kind: "HelmChartConfig", verbs: V, generation: true },
];

export function status(code: number, reason: string, message: string, details: Record<string, unknown> = {}): { status: number; body: unknown } {
  return { status: code, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, details, code } };
}

export class FakeApiServer {
  readonly requests: Recorded[] = [];
  readonly objects = new Map<string, Obj>();
  readonly discovery: Record<string, Resource[]> = structuredClone(DISCOVERY);
  readonly #scripts = new Map<string, Answer[]>();
  readonly #overrides = new Map<string, Answer>();
  /** Scripts that answer only once the object is in the store (a controller reports on what exists). */
  readonly #afterStore = new Set<string>();
  #server: Server | HttpsServer | undefined;
  #rv = 100;
  #uid = 0;

  /** Scripted answers for GETs of `path` (one per request, the last repeated). */
  script(path: string, answers: Answer[], options: { once?: "stored" } = {}): this {
    this.#scripts.set(path, [...answers]);
    if (options.once === "stored") this.#afterStore.add(path);
    return this;
  }

  /** A fixed answer for `METHOD path` (path with query string, as sent). */
  answer(method: string, path: string, answer: Answer): this {
    this.#overrides.set(`${method} ${path}`, answer);
    return this;
  }

  /** Requests other than discovery, as `METHOD path` without the query. */
  get calls(): string[] {
    return this.requests.filter((r) => !/^\/(api|apis)(\/[^/]+){0,2}$/.test(r.path.split("?")[0]!) || r.path.split("?")[0]!.split("/").length > 5).map((r) => `${r.method} ${r.path.split("?")[0]}`);
  }

  nextUid(): string {
    return `00000000-0000-4000-8000-${String(++this.#uid).padStart(12, "0")}`;
  }

  async start(): Promise<KubeConfig> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((r) => this.#server!.listen(0, "127.0.0.1", r));
    const port = (this.#server.address() as AddressInfo).port;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: "admin", token: "fake-token" }],
      contexts: [{ name: "fake", cluster: "fake", user: "admin" }],
      currentContext: "fake",
    });
    return kc;
  }

  /**
   * Serves HTTPS with client-certificate auth instead, as k3s does (test/fixtures/pki), and returns
   * the kubeconfig k3s would write in the node: everything named `default`, server 127.0.0.1:6443.
   */
  async startTls(): Promise<string> {
    const pki = (f: string) => readFileSync(new URL(`./fixtures/pki/${f}`, import.meta.url), "utf8");
    this.#server = createHttpsServer({ key: pki("server.key"), cert: pki("server.crt"), ca: pki("ca.crt"), requestCert: true, rejectUnauthorized: true }, (req, res) => void this.#handle(req, res));
    await new Promise<void>((r) => this.#server!.listen(0, "127.0.0.1", r));
    const b64 = (f: string) => Buffer.from(pki(f)).toString("base64");
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "default", server: "https://127.0.0.1:6443", caData: b64("ca.crt"), skipTLSVerify: false }],
      users: [{ name: "default", certData: b64("client.crt"), keyData: b64("client.key") }],
      contexts: [{ name: "default", cluster: "default", user: "default" }],
      currentContext: "default",
    });
    return kc.exportConfig(); // JSON, which is YAML too
  }

  /** The port it listens on. */
  get port(): number {
    return (this.#server!.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.#server?.close(() => r()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = "";
    for await (const c of req) text += String(c);
    const contentType = req.headers["content-type"];
    const rec: Recorded = { method: req.method!, path: req.url!, ...(contentType ? { contentType } : {}), ...(text ? { body: JSON.parse(text) } : {}) };
    this.requests.push(rec);
    const send = (a: { status: number; body: unknown; contentType?: string; headers?: Record<string, string> }) => {
      res.writeHead(a.status, { "content-type": a.contentType ?? "application/json", ...a.headers });
      res.end(typeof a.body === "string" ? a.body : JSON.stringify(a.body));
    };
    const resolveAnswer = (a: Answer) => (typeof a === "function" ? a(rec) : a);
    const override = this.#overrides.get(`${rec.method} ${rec.path}`);
    if (override) return send(resolveAnswer(override));
    const path = rec.path.split("?")[0]!;
    const scripted = rec.method === "GET" && (!this.#afterStore.has(path) || this.objects.has(path)) ? this.#scripts.get(path) : undefined;
    if (scripted?.length) return send(resolveAnswer(scripted.length > 1 ? scripted.shift()! : scripted[0]!));
    send(this.#serve(rec, path, new URLSearchParams(rec.path.split("?")[1] ?? "")));
  }

  #route(path: string): { gv: string; resource: Resource; namespace?: string; name?: string } | undefined {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (!m) return undefined;
    const gv = m[1] ?? m[2]!;
    const resource = this.discovery[gv]?.find((r) => r.name === m[4]);
    if (!resource) return undefined;
    return { gv, resource, ...(m[3] ? { namespace: decodeURIComponent(m[3]) } : {}), ...(m[5] ? { name: decodeURIComponent(m[5]) } : {}) };
  }

  #serve(rec: Recorded, path: string, query: URLSearchParams): { status: number; body: unknown } {
    const groupVersion = /^\/api\/(v1)$/.exec(path)?.[1] ?? /^\/apis\/([^/]+\/[^/]+)$/.exec(path)?.[1];
    if (groupVersion) {
      const resources = this.discovery[groupVersion];
      if (!resources) return status(404, "NotFound", "the server could not find the requested resource");
      return { status: 200, body: { kind: "APIResourceList", apiVersion: "v1", groupVersion, resources } };
    }
    const route = this.#route(path);
    if (!route?.name) return status(404, "NotFound", "the server could not find the requested resource");
    const { resource, name } = route;
    const key = path;
    const existing = this.objects.get(key);
    const notFound = () => status(404, "NotFound", `${resource.name}${route.gv.includes("/") ? `.${route.gv.split("/")[0]}` : ""} "${name}" not found`, { name, kind: resource.name });
    switch (rec.method) {
      case "GET":
        return existing ? { status: 200, body: existing } : notFound();
      case "DELETE":
        if (!existing) return notFound();
        this.objects.delete(key);
        return { status: 200, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, kind: resource.name, uid: existing.metadata.uid } } };
      case "PATCH": {
        if (rec.contentType !== "application/apply-patch+yaml") return status(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
        const manager = query.get("fieldManager");
        if (!manager) return status(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
        const sent = rec.body as Obj;
        const { metadata: sentMeta, apiVersion, kind, ...fields } = sent;
        const now = "2026-01-01T00:00:00Z";
        if (!existing) {
          const created: Obj = {
            apiVersion,
            kind,
            metadata: {
              ...sentMeta,
              uid: this.nextUid(),
              resourceVersion: String(++this.#rv),
              ...(resource.generation ? { generation: 1 } : {}),
              creationTimestamp: now,
              managedFields: [{ manager, operation: "Apply", apiVersion, time: now, fieldsType: "FieldsV1", fieldsV1: {} }],
            },
            ...fields,
          };
          this.objects.set(key, created);
          return { status: 201, body: created };
        }
        const { status: keptStatus, ...oldFields } = existing as Obj & { status?: unknown };
        const { metadata: oldMeta } = existing;
        const sameFields = JSON.stringify(sortKeys(Object.fromEntries(Object.entries(oldFields).filter(([k]) => k !== "metadata" && k !== "apiVersion" && k !== "kind")))) === JSON.stringify(sortKeys(fields));
        const sameMeta = ["labels", "annotations"].every((k) => JSON.stringify(sortKeys(oldMeta[k] ?? null)) === JSON.stringify(sortKeys(sentMeta[k] ?? null)));
        if (sameFields && sameMeta) return { status: 200, body: existing };
        const specChanged = JSON.stringify(sortKeys(oldFields.spec ?? null)) !== JSON.stringify(sortKeys(fields.spec ?? null));
        const updated: Obj = {
          apiVersion,
          kind,
          metadata: {
            ...oldMeta,
            ...sentMeta,
            resourceVersion: String(++this.#rv),
            ...(resource.generation ? { generation: (oldMeta.generation as number) + (specChanged ? 1 : 0) } : {}),
          },
          ...fields,
          ...(keptStatus !== undefined ? { status: keptStatus } : {}),
        };
        this.objects.set(key, updated);
        return { status: 200, body: updated };
      }
      default:
        return status(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
    }
  }

  /** Sets an object's status (as a controller would), keeping its resourceVersion moving. */
  setStatus(path: string, st: unknown, meta: Record<string, unknown> = {}): void {
    const o = this.objects.get(path);
    if (!o) throw new Error(`no object at ${path}`);
    this.objects.set(path, { ...o, metadata: { ...o.metadata, ...meta, resourceVersion: String(++this.#rv) }, status: st });
  }

  put(path: string, object: Obj): void {
    this.objects.set(path, { ...object, metadata: { uid: this.nextUid(), resourceVersion: String(++this.#rv), creationTimestamp: "2026-01-01T00:00:00Z", ...object.metadata } });
  }
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}
