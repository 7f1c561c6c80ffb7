/**
 * Manifests: files, directories (every *.yaml/*.yml/*.json below, sorted; a directory with a
 * kustomization is built with `kustomize build`, else `kubectl kustomize`), URLs and objects,
 * applied with server-side apply (field manager `k3ts`): Namespaces first, then
 * CustomResourceDefinitions (waited for until Established, then discovery is re-read), then the rest
 * in the order given. Every error names the source (file:line, URL) and the object (kind/namespace/name).
 */
import { execFile } from "node:child_process";
import { readFile, readdir, stat } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { K3tsError, isK3tsError } from "@k3ts/core";
import { KubeApi, describeObject, pause, toMs, type KubeObject } from "./manifests-api.js";
import { waitForRollout, type RolloutOptions } from "./manifests-rollout.js";

export type { KubeObject } from "./manifests-api.js";

/** A file or directory path, an http(s) URL, or objects. */
export type ManifestSource = string | URL | KubeObject | KubeObject[];

/** One object read from a source, with where it came from. */
export interface ManifestObject {
  object: KubeObject;
  /** `path/to/file.yaml:12` (the document's first line), `https://…#2` (the document's index), `kustomize DIR#3`, `objects[0]`. */
  source: string;
}

export interface LoadManifestsOptions {
  /** Relative paths resolve against this (default process.cwd()). */
  cwd?: string;
  signal?: AbortSignal;
}

export interface ApplyManifestsOptions extends LoadManifestsOptions {
  /** Field manager (default `k3ts`). */
  fieldManager?: string;
  /** Take fields another manager owns (`force=true`, as `kubectl apply --server-side --force-conflicts`). Default true. */
  force?: boolean;
  /** Namespace for namespaced objects that name none (default: the context's namespace, else `default`). */
  namespace?: string;
  /** How long to wait for CRDs to be Established (default 60s). */
  crdTimeout?: string | number;
  /** Wait for Deployments, StatefulSets, DaemonSets and Jobs to roll out after applying (default false). */
  wait?: boolean | RolloutOptions;
  /** Called once per object, after it is applied. */
  onApplied?: (applied: AppliedObject) => void;
}

export type ApplyChange = "created" | "configured" | "unchanged";

export interface AppliedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  source: string;
  /** created (it was not there), configured (its resourceVersion moved), unchanged. */
  change: ApplyChange;
  /** The object as the server answered the apply. */
  object: KubeObject;
}

export interface ApplyResult {
  objects: AppliedObject[];
  changed: number;
  unchanged: number;
}

export interface DeleteManifestsOptions extends LoadManifestsOptions {
  namespace?: string;
  /** Wait until each deleted object is gone (finalizers done). Default false. */
  wait?: boolean;
  timeout?: string | number;
}

export interface DeleteResult {
  deleted: string[];
  /** Objects that were not there (404): not an error. */
  missing: string[];
}

const DOC_EXTENSIONS = /\.(ya?ml|json)$/i;
const KUSTOMIZATIONS = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

function invalid(source: string, message: string, meta: Record<string, unknown> = {}): K3tsError<"INVALID_ARGUMENT"> {
  return new K3tsError("INVALID_ARGUMENT", `${source}: ${message}`, { meta: { source, ...meta } });
}

/** YAML (or JSON) text with one or more documents → objects (List kinds flattened), each placed. */
export async function parseManifests(text: string, where: string, placeBy: "line" | "index" = "line"): Promise<ManifestObject[]> {
  const { parseAllDocuments, LineCounter } = await import("yaml");
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines });
  const out: ManifestObject[] = [];
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const line = doc.contents?.range ? lines.linePos(doc.contents.range[0]).line : lines.linePos(doc.range[0]).line;
    const place = placeBy === "line" ? `${where}:${line}` : `${where}#${i + 1}`;
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      const pos = e.linePos?.[0];
      throw invalid(pos ? `${where}:${pos.line}:${pos.col}` : place, `not valid YAML: ${e.message.split("\n")[0]}`);
    }
    const value: unknown = doc.toJS({ maxAliasCount: 1000 });
    if (value === null || value === undefined) return;
    const items = isList(value) ? (value as { items: unknown[] }).items : [value];
    items.forEach((item, j) => out.push({ object: checkObject(item, items.length > 1 || isList(value) ? `${place} items[${j}]` : place), source: items.length > 1 || isList(value) ? `${place} items[${j}]` : place }));
  });
  return out;
}

function isList(value: unknown): boolean {
  const v = value as { kind?: unknown; items?: unknown };
  return typeof v === "object" && v !== null && typeof v.kind === "string" && v.kind.endsWith("List") && Array.isArray(v.items);
}

/** apiVersion, kind and metadata.name must be there; server-owned fields are dropped (an apply body may not carry managedFields). */
function checkObject(value: unknown, source: string): KubeObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(source, "not a Kubernetes object (want a mapping with apiVersion, kind and metadata)");
  const o = value as Record<string, unknown>;
  if (typeof o.apiVersion !== "string" || !o.apiVersion) throw invalid(source, "apiVersion is missing");
  if (typeof o.kind !== "string" || !o.kind) throw invalid(source, "kind is missing");
  const meta = o.metadata as Record<string, unknown> | undefined;
  if (typeof meta !== "object" || meta === null || typeof meta.name !== "string" || !meta.name) {
    throw invalid(source, `${o.kind}: metadata.name is missing${meta && typeof meta.generateName === "string" ? " (generateName cannot be applied: server-side apply needs a name)" : ""}`);
  }
  const { managedFields: _m, resourceVersion: _r, uid: _u, creationTimestamp: _c, generation: _g, selfLink: _s, ...metadata } = meta;
  const { status: _status, ...rest } = o;
  return { ...rest, metadata } as KubeObject;
}

function run(command: string, args: string[], signal?: AbortSignal): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, args, { maxBuffer: 256 * 1024 * 1024, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolvePromise({ stdout, stderr });
    });
  });
}

/** `kustomize build DIR` if kustomize is on PATH, else `kubectl kustomize DIR`. */
export async function kustomizeBuild(dir: string, signal?: AbortSignal): Promise<string> {
  const tries: Array<[string, string[]]> = [
    ["kustomize", ["build", dir]],
    ["kubectl", ["kustomize", dir]],
  ];
  for (const [command, args] of tries) {
    try {
      return (await run(command, args, signal)).stdout;
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === "ENOENT") continue;
      if (signal?.aborted) throw err;
      throw new K3tsError("COMMAND_FAILED", `${command} ${args.join(" ")} failed: ${(e.stderr ?? e.message).trim()}`, { meta: { source: dir, command: [command, ...args] }, cause: err });
    }
  }
  throw new K3tsError("COMMAND_FAILED", `${dir} has a kustomization, but neither kustomize nor kubectl is on PATH to build it`, {
    meta: { source: dir },
    hint: "install kubectl (it has kustomize built in, `kubectl kustomize`) or kustomize",
  });
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(full)));
    else if (e.isFile() && DOC_EXTENSIONS.test(e.name)) out.push(full);
  }
  return out;
}

async function loadPath(path: string, shown: string, signal?: AbortSignal): Promise<ManifestObject[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new K3tsError("FILE_NOT_FOUND", `${shown}: no such file or directory`, { meta: { source: shown }, cause: err });
  }
  if (info.isFile()) return parseManifests(await readFile(path, "utf8"), shown);
  const names = await readdir(path);
  const kustomization = KUSTOMIZATIONS.find((k) => names.includes(k));
  if (kustomization) return parseManifests(await kustomizeBuild(path, signal), `kustomize ${shown}`, "index");
  const files = (await walk(path)).sort((a, b) => relative(path, a).localeCompare(relative(path, b)));
  const out: ManifestObject[] = [];
  for (const f of files) out.push(...(await parseManifests(await readFile(f, "utf8"), join(shown, relative(path, f)))));
  return out;
}

async function loadUrl(url: URL, signal?: AbortSignal): Promise<ManifestObject[]> {
  let res: Response;
  try {
    res = await fetch(url, signal ? { signal } : {});
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new K3tsError("FILE_NOT_FOUND", `${url.href}: ${(err as Error).message}`, { meta: { source: url.href }, cause: err });
  }
  if (!res.ok) throw new K3tsError("FILE_NOT_FOUND", `${url.href}: HTTP ${res.status} ${res.statusText}`, { meta: { source: url.href, status: res.status } });
  return parseManifests(await res.text(), url.href, "index");
}

/** Reads every source into objects, in order (nothing is sent to a cluster). */
export async function loadManifests(sources: ManifestSource | ManifestSource[], options: LoadManifestsOptions = {}): Promise<ManifestObject[]> {
  const list: ManifestSource[] = Array.isArray(sources) && !sources.every(isObjectLike) ? sources : [sources as ManifestSource];
  const cwd = options.cwd ?? process.cwd();
  const out: ManifestObject[] = [];
  let objects = 0;
  for (const [i, source] of list.entries()) {
    if (source instanceof URL || (typeof source === "string" && /^https?:\/\//i.test(source))) {
      out.push(...(await loadUrl(new URL(String(source)), options.signal)));
    } else if (typeof source === "string") {
      if (!source) throw invalid(`sources[${i}]`, "an empty path");
      out.push(...(await loadPath(resolve(cwd, source), source, options.signal)));
    } else if (Array.isArray(source)) {
      for (const o of source) {
        const where = `objects[${objects++}]`;
        out.push({ object: checkObject(o, where), source: where });
      }
    } else if (isObjectLike(source)) {
      const where = `objects[${objects++}]`;
      out.push({ object: checkObject(source, where), source: where });
    } else {
      throw invalid(`sources[${i}]`, `${JSON.stringify(source)} is neither a path, a URL nor an object`);
    }
  }
  return out;
}

function isObjectLike(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof URL);
}

const isNamespace = (o: KubeObject) => o.kind === "Namespace" && o.apiVersion === "v1";
const isCrd = (o: KubeObject) => o.kind === "CustomResourceDefinition" && o.apiVersion.startsWith("apiextensions.k8s.io/");

/** Namespaces, then CRDs, then the rest, each group in the order given. */
export function applyOrder(objects: ManifestObject[]): ManifestObject[] {
  return [...objects.filter((m) => isNamespace(m.object)), ...objects.filter((m) => isCrd(m.object)), ...objects.filter((m) => !isNamespace(m.object) && !isCrd(m.object))];
}

interface Located {
  path: string;
  object: KubeObject;
  label: string;
}

async function locate(api: KubeApi, m: ManifestObject, namespace: string, signal: AbortSignal | undefined, retries = 0): Promise<Located> {
  const o = m.object;
  let resource = await api.resource(o.apiVersion, o.kind, signal);
  for (let attempt = 0; !resource && attempt < retries; attempt++) {
    // A CRD's group can show in discovery a moment after it is Established.
    await pause(500, signal);
    api.forgetDiscovery();
    resource = await api.resource(o.apiVersion, o.kind, signal);
  }
  if (!resource) {
    throw new K3tsError("KUBE_API_ERROR", `${m.source}: ${describeObject(o)}: the cluster serves no ${o.kind} in ${o.apiVersion} (is its CRD installed?)`, {
      meta: { source: m.source, object: describeObject(o), apiVersion: o.apiVersion, kind: o.kind, reason: "NotFound" },
    });
  }
  const object: KubeObject = resource.namespaced
    ? { ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace || namespace } }
    : { ...o, metadata: Object.fromEntries(Object.entries(o.metadata).filter(([k]) => k !== "namespace")) as KubeObject["metadata"] };
  return { path: KubeApi.objectPath(o.apiVersion, resource, object.metadata.namespace, o.metadata.name!), object, label: describeObject(object) };
}

async function applyOne(api: KubeApi, m: ManifestObject, target: Located, options: ApplyManifestsOptions): Promise<AppliedObject> {
  const meta = { source: m.source, object: target.label };
  const before = await api.json<KubeObject>(target.path, { signal: options.signal, allow: [404], what: `${m.source}: ${target.label}: reading it`, meta });
  const query = new URLSearchParams({ fieldManager: options.fieldManager ?? "k3ts", fieldValidation: "Strict" });
  if (options.force !== false) query.set("force", "true");
  const { body } = await api.json<KubeObject>(`${target.path}?${query}`, {
    method: "PATCH",
    body: target.object,
    contentType: "application/apply-patch+yaml",
    signal: options.signal,
    what: `${m.source}: applying ${target.label}`,
    meta,
  });
  const after = body!;
  const change: ApplyChange = before.status === 404 ? "created" : before.body?.metadata.resourceVersion === after.metadata.resourceVersion ? "unchanged" : "configured";
  return {
    apiVersion: target.object.apiVersion,
    kind: target.object.kind,
    name: target.object.metadata.name!,
    ...(target.object.metadata.namespace ? { namespace: target.object.metadata.namespace } : {}),
    source: m.source,
    change,
    object: after,
  };
}

async function waitEstablished(api: KubeApi, crds: Array<{ m: ManifestObject; t: Located }>, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const { m, t } of crds) {
    for (;;) {
      const { body } = await api.json<KubeObject & { status?: { conditions?: Array<{ type: string; status: string; message?: string }> } }>(t.path, { signal, what: `${m.source}: reading ${t.label}` });
      const conditions = body?.status?.conditions ?? [];
      if (conditions.some((c) => c.type === "Established" && c.status === "True")) break;
      const refused = conditions.find((c) => c.type === "NamesAccepted" && c.status === "False");
      if (refused) {
        throw new K3tsError("KUBE_API_ERROR", `${m.source}: ${t.label}: names not accepted: ${refused.message ?? ""}`, { meta: { source: m.source, object: t.label, reason: "NamesNotAccepted" } });
      }
      if (Date.now() >= deadline) {
        throw new K3tsError("TIMEOUT", `${m.source}: ${t.label} was not Established within ${timeoutMs} ms`, { meta: { source: m.source, object: t.label, timeoutMs } });
      }
      await pause(250, signal);
    }
  }
  api.forgetDiscovery();
}

/**
 * Applies every source's objects with server-side apply (Namespaces, then CRDs, waited for until
 * Established, then the rest) and reports each one as created, configured or unchanged. A second
 * apply of the same sources changes nothing.
 */
export async function applyManifests(kubeConfig: KubeConfig, sources: ManifestSource | ManifestSource[], options: ApplyManifestsOptions = {}): Promise<ApplyResult> {
  const api = new KubeApi(kubeConfig);
  const loaded = applyOrder(await loadManifests(sources, options));
  const namespace = options.namespace ?? api.defaultNamespace;
  const crdTimeout = toMs(options.crdTimeout, "crdTimeout", 60_000);
  const applied: AppliedObject[] = [];
  const crds: Array<{ m: ManifestObject; t: Located }> = [];
  let crdsWaited = false;
  for (const m of loaded) {
    if (!isNamespace(m.object) && !isCrd(m.object) && crds.length && !crdsWaited) {
      await waitEstablished(api, crds, crdTimeout, options.signal);
      crdsWaited = true;
    }
    const target = await locate(api, m, namespace, options.signal, crdsWaited ? 10 : 0);
    const result = await applyOne(api, m, target, options);
    if (isCrd(m.object)) crds.push({ m, t: target });
    applied.push(result);
    options.onApplied?.(result);
  }
  if (crds.length && !crdsWaited) await waitEstablished(api, crds, crdTimeout, options.signal);
  if (options.wait) {
    await waitForRollout(kubeConfig, applied.map((a) => a.object), { ...(typeof options.wait === "object" ? options.wait : {}), ...(options.signal ? { signal: options.signal } : {}) });
  }
  const changed = applied.filter((a) => a.change !== "unchanged").length;
  return { objects: applied, changed, unchanged: applied.length - changed };
}

/**
 * Deletes what the sources describe (or what an {@link applyManifests} result lists), in reverse
 * apply order: the rest from last to first, then CRDs, then Namespaces. Objects that are not there
 * (404) and kinds the cluster no longer serves are counted as missing, not errors.
 */
export async function deleteManifests(kubeConfig: KubeConfig, sources: ManifestSource | ManifestSource[] | ApplyResult, options: DeleteManifestsOptions = {}): Promise<DeleteResult> {
  const api = new KubeApi(kubeConfig);
  const loaded = isApplyResult(sources)
    ? sources.objects.map((a) => ({ object: { apiVersion: a.apiVersion, kind: a.kind, metadata: { name: a.name, ...(a.namespace ? { namespace: a.namespace } : {}) } }, source: a.source }))
    : applyOrder(await loadManifests(sources, options));
  const namespace = options.namespace ?? api.defaultNamespace;
  const timeoutMs = toMs(options.timeout, "timeout", 120_000);
  const result: DeleteResult = { deleted: [], missing: [] };
  const gone: Located[] = [];
  for (const m of [...loaded].reverse()) {
    let target: Located;
    try {
      target = await locate(api, m, namespace, options.signal);
    } catch (err) {
      if (isK3tsError(err, "KUBE_API_ERROR") && err.meta.reason === "NotFound") {
        result.missing.push(describeObject(m.object));
        continue;
      }
      throw err;
    }
    const { status } = await api.json(target.path, {
      method: "DELETE",
      body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Background" },
      signal: options.signal,
      allow: [404],
      what: `${m.source}: deleting ${target.label}`,
      meta: { source: m.source, object: target.label },
    });
    if (status === 404) result.missing.push(target.label);
    else {
      result.deleted.push(target.label);
      gone.push(target);
    }
  }
  if (options.wait) {
    const deadline = Date.now() + timeoutMs;
    for (const t of gone) {
      while ((await api.request(t.path, options.signal ? { signal: options.signal } : {})).status !== 404) {
        if (Date.now() >= deadline) throw new K3tsError("TIMEOUT", `${t.label} was still there ${timeoutMs} ms after it was deleted (finalizers?)`, { meta: { object: t.label, timeoutMs } });
        await pause(250, options.signal);
      }
    }
  }
  return result;
}

function isApplyResult(v: unknown): v is ApplyResult {
  const r = v as ApplyResult;
  return typeof r === "object" && r !== null && !Array.isArray(r) && Array.isArray(r.objects) && typeof r.changed === "number";
}
