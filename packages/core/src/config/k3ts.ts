/** k3ts's own format, `apiVersion: k3ts.io/v1alpha1`, `kind: Cluster`: `spec` says what ClusterSpec can say. */
import { FILTERED_OPTIONS, SWITCH_OPTION_NAMES, type FilteredOption, type FilteredOptionRow, type FilteredValue } from "../cluster/options.js";
import { isHostname, isIPv4, validateClusterName } from "../cluster/parse.js";
import type { ApiSpec } from "../cluster/spec.js";
import { type Collector, bool, checkSelections, int, plain, readFiltered, readValueOptions, rec, requireFilters, str } from "./common.js";
import { readFiles, readHostAliases, readRegistries, readUlimits } from "./k3d.js";
import type { ClusterSpecInput } from "./types.js";
import { parseHostImagesMirror } from "../hostimages/cluster.js";

function readApi(c: Collector, api: Record<string, unknown>): Partial<ApiSpec> | undefined {
  const out: Partial<ApiSpec> = {};
  const host = str(api.host);
  const hostIP = str(api.hostIP);
  const hostPort = int(api.hostPort);
  if (host !== undefined) {
    if (isHostname(host) || isIPv4(host)) out.host = host;
    else c.problem("/spec/api/host", `${JSON.stringify(host)} is neither a hostname nor an IPv4 address`);
  }
  if (hostIP !== undefined) {
    if (isIPv4(hostIP)) out.hostIP = hostIP;
    else c.problem("/spec/api/hostIP", `${JSON.stringify(hostIP)} is not an IPv4 address (want e.g. 127.0.0.1 or 0.0.0.0)`);
  }
  if (hostPort !== undefined && hostPort >= 1 && hostPort <= 65535) out.hostPort = hostPort;
  return Object.keys(out).length ? out : undefined;
}

/** `hostImages: true | false | { enabled, mirrors }` (absent: the creator's default). */
function readHostImages(c: Collector, value: unknown): ClusterSpecInput["hostImages"] {
  if (value === undefined) return undefined;
  if (typeof value === "boolean") return value ? { mirrors: [] } : false;
  const o = rec(value);
  if (bool(o.enabled) === false) return false;
  const mirrors = Array.isArray(o.mirrors) ? o.mirrors : [];
  const read = mirrors.map((m, i) => c.attempt(`/spec/hostImages/mirrors/${i}`, (where) => parseHostImagesMirror(String(m), where)));
  return { mirrors: [...new Set(read.filter((m): m is string => m !== undefined))] };
}

function setIf<K extends keyof ClusterSpecInput>(spec: ClusterSpecInput, key: K, value: ClusterSpecInput[K] | undefined): void {
  if (value !== undefined) spec[key] = value;
}

/** Reads a k3ts config document (already schema-checked) into a ClusterSpecInput. */
export function readK3ts(c: Collector, data: Record<string, unknown>, file: string | undefined): ClusterSpecInput {
  const spec: ClusterSpecInput = {};
  const s = rec(data.spec);
  const name = str(rec(data.metadata).name);
  if (name !== undefined && c.attempt("/metadata/name", (where) => validateClusterName(name, where)) !== undefined) spec.name = name;
  setIf(spec, "api", readApi(c, rec(s.api)));

  const read = <K extends FilteredOption>(option: K) => {
    const row = FILTERED_OPTIONS[option] as FilteredOptionRow<FilteredValue<K>>;
    return readFiltered(c, s[option], `/spec/${option}`, row.fileField, row.parse, row.suffixes);
  };
  const ports = read("ports");
  const volumes = read("volumes");
  const env = read("env");
  const k3sArgs = read("k3sArgs");
  const nodeLabels = read("nodeLabels");
  const runtimeLabels = read("runtimeLabels");
  const capAdd = read("capAdd");
  const files = readFiles(c, s.files, file, "/spec/files");
  // The node counts the filter rules below check against (as the file says them, valid or not).
  const counts = { servers: int(s.servers) ?? 1, agents: int(s.agents) ?? 0, loadBalancer: bool(rec(s.loadBalancer).enabled) !== false };
  // The planner's rule: env, k3s args and node labels need filters when there is more than one k3s node.
  const k3sNodes = counts.servers + counts.agents;
  const why = `the cluster has ${k3sNodes} k3s nodes (${counts.servers} server(s), ${counts.agents} agent(s))`;
  requireFilters(c, env, k3sNodes, "value", why);
  requireFilters(c, k3sArgs, k3sNodes, "value", why);
  requireFilters(c, nodeLabels, k3sNodes, "value", why);
  checkSelections(c, [...ports, ...volumes, ...env, ...k3sArgs, ...nodeLabels, ...runtimeLabels, ...capAdd, ...files], counts);
  if (ports.length) spec.ports = plain(ports);
  if (volumes.length) spec.volumes = plain(volumes);
  if (env.length) spec.env = plain(env);
  if (k3sArgs.length) spec.k3sArgs = plain(k3sArgs);
  if (nodeLabels.length) spec.nodeLabels = plain(nodeLabels);
  if (runtimeLabels.length) spec.runtimeLabels = plain(runtimeLabels);
  if (capAdd.length) spec.capAdd = plain(capAdd);

  // The value options of core's table, each at spec.OPTION (an object's fields at spec.OPTION.FIELD).
  Object.assign(spec, readValueOptions(c, "k3ts", (option, _row, field) => ({
    raw: field === undefined ? s[option] : rec(s[option])[field],
    pointer: field === undefined ? `/spec/${option}` : `/spec/${option}/${field}`,
  })));
  const hostAliases = readHostAliases(c, s.hostAliases, "/spec/hostAliases");
  if (hostAliases.length) spec.hostAliases = hostAliases;
  for (const option of SWITCH_OPTION_NAMES) setIf(spec, option, bool(s[option]));
  setIf(spec, "registries", readRegistries(c, rec(s.registries), "/spec/registries", file));
  setIf(spec, "hostImages", readHostImages(c, s.hostImages));
  if (files.length) {
    spec.files = plain(files);
  }
  const ulimits = readUlimits(c, s.ulimits, "/spec/ulimits");
  if (ulimits.length) spec.ulimits = ulimits;
  return spec;
}
