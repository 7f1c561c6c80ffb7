/**
 * k3d config files, read unchanged: `apiVersion: k3d.io/v1alpha2…v1alpha5`, `kind: Simple`. Older
 * versions are migrated to v1alpha5 as k3d migrates them (pkg/config/v1alpha{3,4,5}/migrations.go),
 * then read with k3d's meaning (pkg/config/transform.go) into a ClusterSpecInput. What k3ts cannot
 * honour becomes a notice; what k3d would reject becomes a problem.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { yaml } from "../cluster/deps.js";
import type { ParsedNodeFilter } from "../cluster/filters.js";
import { FILTERED_OPTIONS, SWITCH_OPTIONS, SWITCH_OPTION_NAMES, type FilteredOption, type FilteredOptionRow, type FilteredValue } from "../cluster/options.js";
import {
  VOLUME_PATH_SHORTCUTS,
  isIPv4,
  parseApiPort,
  parseHostAlias,
  validateClusterName,
} from "../cluster/parse.js";
import type { ApiSpec, FileSpec, KeyValue, RegistriesSpec } from "../cluster/spec.js";
import type { HostAlias } from "../types.js";
import { type Collector, arr, atPath, bool, checkSelections, int, plain, readFiltered, readValueOptions, rec, requireFilters, str, type FilteredEntry } from "./common.js";
import type { ClusterSpecInput } from "./types.js";

export type K3dVersion = 2 | 3 | 4 | 5;

/** Where a pointer in migrated data came from: [new prefix, old prefix], longest first wins. */
export type Relocation = [string, string];

export interface Migrated {
  data: Record<string, unknown>;
  relocations: Relocation[];
  /** Fields the migration dropped (pointers in the file as written). */
  dropped: Array<{ path: string; reason: string }>;
}

/** v1alpha2 wrote node filters as `server[0]`; v1alpha3 made it `server:0`. */
function fixFilters(filters: unknown): unknown {
  return Array.isArray(filters) ? filters.map((f) => (typeof f === "string" ? f.replace(/\[/g, ":").replace(/\]/g, "") : f)) : filters;
}

function migrateV2(data: Record<string, unknown>, m: Migrated): void {
  for (const key of ["env", "volumes", "ports"]) {
    for (const item of arr(data[key])) if (rec(item) === item) (item as Record<string, unknown>).nodeFilters = fixFilters((item as Record<string, unknown>).nodeFilters);
  }
  const options = rec((data.options ??= {}));
  const runtime = rec((options.runtime ??= {}));
  if (data.labels !== undefined) {
    runtime.labels = arr(data.labels).map((l) => ({ ...rec(l), nodeFilters: fixFilters(rec(l).nodeFilters) }));
    m.relocations.push(["/options/runtime/labels", "/labels"]);
    delete data.labels;
  }
  const k3s = rec((options.k3s ??= {}));
  const extraArgs: unknown[] = [];
  for (const [field, filter] of [["extraServerArgs", "server:*"], ["extraAgentArgs", "agent:*"]] as const) {
    arr(k3s[field]).forEach((arg, j) => {
      const to = `/options/k3s/extraArgs/${extraArgs.length}`;
      const from = `/options/k3s/${field}/${j}`;
      m.relocations.push([to, from], [`${to}/arg`, from], [`${to}/nodeFilters`, from], [`${to}/nodeFilters/0`, from]);
      extraArgs.push({ arg, nodeFilters: [filter] });
    });
    delete k3s[field];
  }
  if (extraArgs.length) k3s.extraArgs = extraArgs;
  const registries = rec(data.registries);
  if (registries.create === true) {
    registries.create = { name: `k3d-${str(data.name) || "k3s-default"}-registry`, host: "0.0.0.0", hostPort: "random" };
  } else if (registries.create === false) {
    delete registries.create;
  }
  const k3d = rec(options.k3d);
  if ("disableHostIPInjection" in k3d) {
    m.dropped.push({ path: "/options/k3d/disableHostIPInjection", reason: "k3d dropped it in v1alpha3; k3ts always adds host.k3ts.internal" });
    delete k3d.disableHostIPInjection;
  }
}

function migrateV3(data: Record<string, unknown>, m: Migrated): void {
  if (data.name !== undefined) {
    data.metadata = { name: data.name };
    m.relocations.push(["/metadata/name", "/name"], ["/metadata", "/name"]);
    delete data.name;
  }
}

/** Migrates a k3d Simple config of `version` to v1alpha5 (a copy; the input is untouched). */
export function migrateK3d(input: unknown, version: K3dVersion): Migrated {
  const data = structuredClone(rec(input));
  const m: Migrated = { data, relocations: [], dropped: [] };
  if (version <= 2) migrateV2(data, m);
  if (version <= 3) migrateV3(data, m);
  data.apiVersion = "k3d.io/v1alpha5";
  m.relocations.sort((a, b) => b[0].length - a[0].length);
  return m;
}

/** Maps a pointer in migrated data back to the file as written. */
export function relocate(relocations: readonly Relocation[], pointer: string): string {
  for (const [to, from] of relocations) {
    if (pointer === to) return from;
    if (pointer.startsWith(`${to}/`)) return from + pointer.slice(to.length);
  }
  return pointer;
}

const ULIMIT_NAMES = ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"];


function readApi(c: Collector, kubeAPI: Record<string, unknown>): Partial<ApiSpec> | undefined {
  const api: Partial<ApiSpec> = {};
  const host = str(kubeAPI.host);
  const hostIP = str(kubeAPI.hostIP);
  const hostPort = str(kubeAPI.hostPort);
  if (host) api.host = host;
  if (hostIP && isIPv4(hostIP)) api.hostIP = hostIP;
  if (hostPort && hostPort !== "random") {
    const parsed = c.attempt("/kubeAPI/hostPort", (where) => parseApiPort(hostPort, where));
    if (parsed?.hostPort !== undefined) api.hostPort = parsed.hostPort;
  }
  return Object.keys(api).length ? api : undefined;
}

/** An option k3d keeps as filtered items, read where core's option table says k3d has it. */
function readK3dFiltered<K extends FilteredOption>(c: Collector, data: Record<string, unknown>, option: K): Array<FilteredEntry<FilteredValue<K>>> {
  const row = FILTERED_OPTIONS[option] as FilteredOptionRow<FilteredValue<K>>;
  const { path, field } = row.k3d!;
  const items = path.reduce<unknown>((at, key) => rec(at)[key], data);
  return readFiltered(c, items, `/${path.join("/")}`, field, row.parse, row.suffixes);
}

/** k3d rejects runtime label keys that would clash with its own (cmd/util ValidateRuntimeLabelKey). */
function readRuntimeLabels(c: Collector, data: Record<string, unknown>): Array<FilteredEntry<KeyValue>> {
  const entries = readK3dFiltered(c, data, "runtimeLabels");
  return entries.filter((e) => {
    const key = e.value.key;
    if (!(key.startsWith("k3s.") || key.startsWith("k3d.") || key === "app")) return true;
    c.problem(`${e.pointer}/label`, `label key ${JSON.stringify(key)} is reserved (k3d rejects keys starting with k3s. or k3d. and the key app)`);
    return false;
  });
}

function resolveDestination(c: Collector, pointer: string, destination: string): string | undefined {
  const [first = "", ...rest] = destination.split("/");
  const shortcut = VOLUME_PATH_SHORTCUTS[first];
  const resolved = shortcut !== undefined ? [shortcut, ...rest].join("/") : destination;
  if (!resolved.startsWith("/")) {
    c.problem(pointer, `${JSON.stringify(destination)} is neither an absolute path nor starts with a shortcut (${Object.keys(VOLUME_PATH_SHORTCUTS).join(", ")})`);
    return undefined;
  }
  return resolved;
}

export function readFiles(c: Collector, items: unknown, file: string | undefined, pointer = "/files"): Array<FilteredEntry<FileSpec>> {
  const out: Array<FilteredEntry<FileSpec>> = [];
  const base = file && file !== "-" ? dirname(file) : undefined;
  const read = readFiltered(c, items, pointer, "source", (text, where): FileSpec["source"] => {
    const inline = c.parsed.scalarType(c.original(where))?.startsWith("BLOCK_") ?? false;
    return inline || text.includes("\n") ? { content: text } : { path: isAbsolute(text) || !base ? text : resolve(base, text) };
  });
  for (const entry of read) {
    const item = rec(arr(items)[Number(entry.pointer.split("/").pop())]);
    const destination = str(item.destination);
    if (destination === undefined) continue;
    const resolved = resolveDestination(c, `${entry.pointer}/destination`, destination);
    if (resolved === undefined) continue;
    const description = str(item.description);
    out.push({ ...entry, value: { source: entry.value, destination: resolved, ...(description ? { description } : {}) } });
  }
  return out;
}

export function readRegistries(c: Collector, registries: Record<string, unknown>, pointer = "/registries", file?: string): RegistriesSpec | undefined {
  const spec: RegistriesSpec = {};
  const create = rec(registries.create);
  if (registries.create !== undefined && Object.keys(create).length > 0) {
    const proxy = rec(create.proxy);
    spec.create = {
      ...(str(create.name) ? { name: str(create.name)! } : {}),
      ...(str(create.host) ? { host: str(create.host)! } : {}),
      ...(str(create.hostPort) ? { hostPort: str(create.hostPort)! } : {}),
      ...(str(create.image) ? { image: str(create.image)! } : {}),
      ...(create.proxy !== undefined ? { proxy: Object.fromEntries(Object.entries(proxy).filter(([, v]) => typeof v === "string")) } : {}),
      ...(Array.isArray(create.volumes) ? { volumes: arr(create.volumes).filter((v): v is string => typeof v === "string") } : {}),
      ...(bool(create.enforcePortMatch) !== undefined ? { enforcePortMatch: bool(create.enforcePortMatch)! } : {}),
    };
  }
  const use = arr(registries.use).filter((u): u is string => typeof u === "string");
  if (use.length) spec.use = use;
  const config = str(registries.config);
  if (config) {
    if (config.includes("\n")) {
      try {
        yaml().parse(config);
        spec.config = { content: config };
      } catch (err) {
        c.problem(`${pointer}/config`, `the inline registries.yaml is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
      }
    } else {
      // A path is read relative to the config file, as files[] sources are.
      const base = file && file !== "-" ? dirname(file) : undefined;
      spec.config = { path: isAbsolute(config) || !base ? config : resolve(base, config) };
    }
  }
  return Object.keys(spec).length ? spec : undefined;
}

export function readHostAliases(c: Collector, items: unknown, pointer = "/hostAliases"): HostAlias[] {
  const out: HostAlias[] = [];
  arr(items).forEach((raw, i) => {
    const item = rec(raw);
    const ip = str(item.ip);
    const hostnames = arr(item.hostnames).filter((h): h is string => typeof h === "string");
    if (ip === undefined) return;
    const alias = c.attempt(`${pointer}/${i}`, (where) => parseHostAlias(`${ip}:${hostnames.join(",")}`, where));
    if (alias) out.push(alias);
  });
  return out;
}

export function readUlimits(c: Collector, items: unknown, pointer = "/options/runtime/ulimits"): Array<{ name: string; soft: number; hard: number }> {
  const out: Array<{ name: string; soft: number; hard: number }> = [];
  arr(items).forEach((raw, i) => {
    const item = rec(raw);
    const name = str(item.name);
    const soft = int(item.soft);
    const hard = int(item.hard);
    if (name === undefined || soft === undefined || hard === undefined) return;
    if (!ULIMIT_NAMES.includes(name)) {
      c.problem(`${pointer}/${i}/name`, `unknown ulimit ${JSON.stringify(name)} (want one of ${ULIMIT_NAMES.join(", ")})`);
      return;
    }
    if (soft > hard) c.problem(`${pointer}/${i}/soft`, `soft limit ${soft} is above the hard limit ${hard}`);
    else out.push({ name, soft, hard });
  });
  return out;
}

function noticeUnsupported(c: Collector, data: Record<string, unknown>): void {
  const options = rec(data.options);
  const k3d = rec(options.k3d);
  const runtime = rec(options.runtime);
  if (k3d.disableImageVolume !== undefined) c.notice("/options/k3d/disableImageVolume", "k3ts creates no image volume (k3d's k3d-NAME-images); the setting has no effect");
  if (arr(rec(k3d.loadbalancer).configOverrides).length) {
    c.notice("/options/k3d/loadbalancer/configOverrides", "k3ts's load balancer is nginx configured by k3ts, not k3d-proxy; the overrides are not applied");
  }
  if (str(runtime.gpuRequest)) c.notice("/options/runtime/gpuRequest", "k3ts does not request GPUs for nodes yet");
}

/** Reads migrated (v1alpha5) k3d data with k3d's meaning; problems and notices go to `c`. */
export function readK3d(c: Collector, data: Record<string, unknown>, file: string | undefined): ClusterSpecInput {
  const spec: ClusterSpecInput = {};
  const options = rec(data.options);
  const k3d = rec(options.k3d);
  const runtime = rec(options.runtime);

  const name = str(rec(data.metadata).name);
  if (name && c.attempt("/metadata/name", (where) => validateClusterName(name, where)) !== undefined) spec.name = name;
  const api = readApi(c, rec(data.kubeAPI));
  if (api) spec.api = api;
  // The value options of core's table, where the table says k3d keeps them.
  Object.assign(spec, readValueOptions(c, "k3d", (_option, row) => (row.k3d ? { raw: atPath(data, row.k3d.path), pointer: `/${row.k3d.path.join("/")}` } : undefined)));
  for (const option of SWITCH_OPTION_NAMES) {
    const on = bool(atPath(data, SWITCH_OPTIONS[option].k3d.path));
    if (on !== undefined) spec[option] = on;
  }

  const volumes = readK3dFiltered(c, data, "volumes");
  // k3d puts a volume without node filters on every node, the load balancer included.
  const all: ParsedNodeFilter = { group: "all", subset: "*", source: "all" };
  for (const v of volumes) if (v.filters.length === 0) v.filters = [all];
  const ports = readK3dFiltered(c, data, "ports");
  const seen = new Map<string, string>();
  for (const p of ports) {
    const key = JSON.stringify(p.value);
    if (seen.has(key)) c.problem(`${p.pointer}/port`, `the same port mapping is already given at ${seen.get(key)} (k3d rejects duplicates)`);
    else seen.set(key, `${p.pointer}/port`);
  }
  const env = readK3dFiltered(c, data, "env");
  const k3sArgs = readK3dFiltered(c, data, "k3sArgs");
  const nodeLabels = readK3dFiltered(c, data, "nodeLabels");
  const runtimeLabels = readRuntimeLabels(c, data);
  const files = readFiles(c, data.files, file);

  // The node counts the filter rules below check against (as the file says them, valid or not).
  const counts = { servers: int(data.servers) ?? 1, agents: int(data.agents) ?? 0, loadBalancer: bool(k3d.disableLoadbalancer) !== true };
  const nodes = counts.servers + counts.agents + (counts.loadBalancer ? 1 : 0);
  const why = `k3d requires one when the cluster has more than one node, and this one has ${nodes} (${counts.servers} server(s), ${counts.agents} agent(s)${counts.loadBalancer ? ", the load balancer" : ""})`;
  requireFilters(c, env, nodes, "envVar", why);
  requireFilters(c, k3sArgs, nodes, "arg", why);
  requireFilters(c, nodeLabels, nodes, "label", why);
  requireFilters(c, runtimeLabels, nodes, "label", why);
  checkSelections(c, [...volumes, ...ports, ...env, ...k3sArgs, ...nodeLabels, ...runtimeLabels, ...files], counts);

  if (volumes.length) spec.volumes = plain(volumes);
  if (ports.length) spec.ports = plain(ports);
  if (env.length) spec.env = plain(env);
  if (k3sArgs.length) spec.k3sArgs = plain(k3sArgs);
  if (nodeLabels.length) spec.nodeLabels = plain(nodeLabels);
  if (runtimeLabels.length) spec.runtimeLabels = plain(runtimeLabels);
  if (files.length) {
    spec.files = plain(files);
  }

  const registries = readRegistries(c, rec(data.registries), "/registries", file);
  if (registries) spec.registries = registries;
  const hostAliases = readHostAliases(c, data.hostAliases);
  if (hostAliases.length) spec.hostAliases = hostAliases;

  const ulimits = readUlimits(c, runtime.ulimits);
  if (ulimits.length) spec.ulimits = ulimits;
  noticeUnsupported(c, data);
  return spec;
}
