/**
 * Parsers for the values `cluster create` takes (ports, API endpoint, volumes, KEY=VALUE, host
 * aliases, memory sizes, durations, cluster names). Each takes the text and a `where` (`--port`,
 * `ports[2].port`) and throws an INVALID_ARGUMENT K3tsError whose message starts with `where`, names
 * the bad value and says what was expected; `meta` is `{ where, value }`.
 */
import { K3tsError } from "../errors.js";
import type { HostAlias, Protocol } from "../types.js";
import type { ApiSpec, KeyValue, PortSpec, MountSpec } from "./spec.js";

function invalid(where: string, value: string, message: string, hint?: string): K3tsError<"INVALID_ARGUMENT"> {
  return new K3tsError("INVALID_ARGUMENT", `${where}: ${message}`, { meta: { where, value }, ...(hint ? { hint } : {}) });
}

const q = (s: string): string => JSON.stringify(s);

const IPV4_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const IPV4_RE = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);
const LABEL_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/** True for a dotted-quad IPv4 address without leading zeros (`10.0.0.1`). */
export function isIPv4(text: string): boolean {
  return IPV4_RE.test(text);
}

/** True for an RFC 1123 hostname: dot-separated labels of letters, digits and inner `-`, ≤ 253 chars. */
export function isHostname(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  const labels = text.endsWith(".") ? text.slice(0, -1).split(".") : text.split(".");
  return labels.every((l) => LABEL_RE.test(l));
}

function parsePort(text: string, where: string, value: string, what: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    const hint = /^\d+-\d+$/.test(text) ? "port ranges are not supported; give one port per flag" : undefined;
    throw invalid(where, value, `${what} ${q(text)} in ${q(value)} is not a port (want a number from 1 to 65535)`, hint);
  }
  return Number(text);
}

function parseHostIP(text: string, where: string, value: string): string {
  if (!isIPv4(text)) {
    const hint = text.includes("[") ? "IPv6 host addresses are not supported" : undefined;
    throw invalid(where, value, `host address ${q(text)} in ${q(value)} is not an IPv4 address (want e.g. 127.0.0.1 or 0.0.0.0)`, hint);
  }
  return text;
}

const PORT_FORMS = "[HOST:][HOSTPORT:]CONTAINERPORT[/PROTOCOL], e.g. 8080:80, 127.0.0.1:8080:80/udp or 80";

/** `[HOST:][HOSTPORT:]CONTAINERPORT[/PROTOCOL]`: HOST an IPv4, ports 1–65535, PROTOCOL tcp (default) or udp. `HOST::PORT` leaves the host port to the engine. */
export function parsePortSpec(text: string, where: string): PortSpec {
  const value = text.trim();
  if (value === "") throw invalid(where, text, `empty port mapping (want ${PORT_FORMS})`);
  const slash = value.lastIndexOf("/");
  let protocol: Protocol = "tcp";
  let ports = value;
  if (slash >= 0) {
    const proto = value.slice(slash + 1).toLowerCase();
    if (proto !== "tcp" && proto !== "udp") {
      throw invalid(where, text, `protocol ${q(value.slice(slash + 1))} in ${q(value)} is not supported (want tcp or udp)`);
    }
    protocol = proto;
    ports = value.slice(0, slash);
  }
  const parts = ports.split(":");
  if (parts.length > 3) {
    throw invalid(where, text, `${q(value)} has too many ":" parts (want ${PORT_FORMS})`, ports.includes("[") || parts.length > 4 ? "IPv6 host addresses are not supported" : undefined);
  }
  const containerText = parts[parts.length - 1] ?? "";
  if (containerText === "") throw invalid(where, text, `${q(value)} has no container port (want ${PORT_FORMS})`);
  const spec: PortSpec = { containerPort: parsePort(containerText, where, text, "container port"), protocol };
  if (parts.length === 3) {
    const [host = "", hostPort = ""] = parts;
    spec.hostIP = parseHostIP(host, where, text);
    if (hostPort !== "") spec.hostPort = parsePort(hostPort, where, text, "host port");
  } else if (parts.length === 2) {
    const [hostPort = ""] = parts;
    if (isIPv4(hostPort)) {
      throw invalid(where, text, `${q(value)} gives a host address but no host port (want HOST:HOSTPORT:CONTAINERPORT, or HOST::CONTAINERPORT for a free port)`);
    }
    spec.hostPort = parsePort(hostPort, where, text, "host port");
  }
  return spec;
}

const API_FORMS = "[HOST:]PORT, e.g. 6443, 127.0.0.1:6443, myhost.local:6443 or random";

/**
 * `[HOST:]PORT` for the Kubernetes API on the host. HOST is an IPv4 (the bind address) or a hostname
 * (written to the kubeconfig; the port is then bound on 127.0.0.1). PORT is a number or `random`.
 * The bind address defaults to 127.0.0.1, never 0.0.0.0.
 */
export function parseApiPort(text: string, where: string): ApiSpec {
  const value = text.trim();
  if (value === "") throw invalid(where, text, `empty API endpoint (want ${API_FORMS})`);
  const parts = value.split(":");
  if (parts.length > 2) throw invalid(where, text, `${q(value)} has too many ":" parts (want ${API_FORMS})`);
  const portText = parts[parts.length - 1] ?? "";
  const spec: ApiSpec = { hostIP: "127.0.0.1" };
  if (portText === "") throw invalid(where, text, `${q(value)} has no port (want ${API_FORMS})`);
  if (portText !== "random") {
    if (parts.length === 1 && !/^\d+$/.test(portText)) {
      throw invalid(where, text, `${q(value)} is not a port (want a number from 1 to 65535 or random)`, "to name the host, write HOST:PORT");
    }
    spec.hostPort = parsePort(portText, where, text, "port");
  }
  if (parts.length === 2) {
    const [host = ""] = parts;
    if (isIPv4(host)) spec.hostIP = host;
    else if (isHostname(host) && !/^[0-9.]+$/.test(host)) spec.host = host;
    else throw invalid(where, text, `host ${q(host)} in ${q(value)} is neither an IPv4 address nor a hostname (want ${API_FORMS})`);
  }
  return spec;
}

/** Volume destination shortcuts (k3d's `pkg/types/k3s/paths.go`). */
export const VOLUME_PATH_SHORTCUTS: Readonly<Record<string, string>> = {
  "k3s-storage": "/var/lib/rancher/k3s/storage",
  "k3s-manifests": "/var/lib/rancher/k3s/server/manifests",
  "k3s-manifests-custom": "/var/lib/rancher/k3s/server/manifests/custom",
  "k3s-containerd": "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
  "k3s-containerd-tmpl": "/var/lib/rancher/k3s/agent/etc/containerd/config.toml.tmpl",
  "k3s-registry-config": "/etc/rancher/k3s/registries.yaml",
};

const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const VOLUME_FORMS = "[SOURCE:]DEST[:ro|:rw] with SOURCE an absolute host path or a volume name and DEST an absolute path";

function parseVolumeTarget(dest: string, where: string, value: string): string {
  const shortcut = VOLUME_PATH_SHORTCUTS[dest];
  if (shortcut !== undefined) return shortcut;
  if (!dest.startsWith("/")) {
    throw invalid(where, value, `destination ${q(dest)} in ${q(value)} is not an absolute path (want ${VOLUME_FORMS})`, `or one of the shortcuts ${Object.keys(VOLUME_PATH_SHORTCUTS).join(", ")}`);
  }
  if (/^\/+$/.test(dest)) throw invalid(where, value, `destination ${q(dest)} in ${q(value)} cannot be the root directory (want ${VOLUME_FORMS})`);
  return dest;
}

function parseVolumeSource(source: string, where: string, value: string): string {
  if (source.startsWith("/")) return source;
  if (VOLUME_NAME_RE.test(source) && source !== "." && source !== "..") return source;
  const hint = source.startsWith("~")
    ? "~ was not expanded by a shell; use an absolute path such as $HOME/…"
    : "use an absolute host path (e.g. $PWD/" + source.replace(/^\.\//, "") + "), or a volume name made of letters, digits, _, . and -";
  throw invalid(where, value, `source ${q(source)} in ${q(value)} is neither an absolute host path nor a volume name (want ${VOLUME_FORMS})`, hint);
}

/** `[SOURCE:]DEST[:ro|:rw]`: SOURCE an absolute host path or a named volume (absent: anonymous volume); DEST absolute (or a k3d shortcut such as `k3s-storage`). */
export function parseVolumeSpec(text: string, where: string): MountSpec {
  const value = text.trim();
  if (value === "") throw invalid(where, text, `empty volume (want ${VOLUME_FORMS})`);
  const parts = value.split(":");
  let readOnly = false;
  const last = parts[parts.length - 1] ?? "";
  if (parts.length === 3 || (parts.length === 2 && (last === "ro" || last === "rw"))) {
    if (last !== "ro" && last !== "rw") {
      throw invalid(where, text, `mode ${q(last)} in ${q(value)} is not supported (want ro or rw)`);
    }
    readOnly = last === "ro";
    parts.pop();
  } else if (parts.length > 3) {
    throw invalid(where, text, `${q(value)} has too many ":" parts (want ${VOLUME_FORMS})`);
  }
  if (parts.some((p) => p === "")) throw invalid(where, text, `${q(value)} has an empty part (want ${VOLUME_FORMS})`);
  const [first = "", second] = parts;
  if (second === undefined) return { target: parseVolumeTarget(first, where, text), readOnly };
  return { source: parseVolumeSource(first, where, text), target: parseVolumeTarget(second, where, text), readOnly };
}

/** `KEY[=VALUE]` (env, labels): KEY non-empty without whitespace; VALUE may hold anything, `=` included. Without `=`, the value is "" unless `requireValue`. */
export function parseKeyValue(text: string, where: string, options: { requireValue?: boolean } = {}): KeyValue {
  const eq = text.indexOf("=");
  const key = eq < 0 ? text : text.slice(0, eq);
  const want = options.requireValue ? "KEY=VALUE" : "KEY[=VALUE]";
  if (key === "") throw invalid(where, text, `${q(text)} has no key (want ${want})`);
  if (/\s/.test(key)) throw invalid(where, text, `key ${q(key)} in ${q(text)} contains whitespace (want ${want})`);
  if (eq < 0 && options.requireValue) throw invalid(where, text, `${q(text)} has no value (want ${want})`);
  return { key, value: eq < 0 ? "" : text.slice(eq + 1) };
}

const IPV4_CIDR = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/;

/** Why `text` is not a subnet k3ts can give a network (an IPv4 CIDR up to /29: a gateway and a few nodes), or undefined. */
export function subnetProblem(text: string): string | undefined {
  const m = IPV4_CIDR.exec(text);
  if (!m || !isIPv4(m[1]!) || Number(m[2]) > 32) return `${q(text)} is not an IPv4 CIDR (want e.g. 172.28.0.0/16)`;
  if (Number(m[2]) > 29) return `${q(text)} is too small for a cluster network (want /29 or larger, e.g. 172.28.0.0/16)`;
  return undefined;
}

/** `--subnet`: an IPv4 CIDR a cluster network can have (`auto`, k3d's word for the engine's choice, is no subnet). */
export function parseSubnet(text: string, where: string): string | undefined {
  if (text === "auto") return undefined;
  const problem = subnetProblem(text);
  if (problem) throw invalid(where, text, problem);
  return text;
}

/** The label prefix k3ts keeps for itself: cluster, role, ownership and the SDK's spec digests. */
export const RESERVED_LABEL_PREFIX = "k3ts.io/";

/**
 * A container label a user asks for (`--runtime-label`, `runtimeLabels`): KEY[=VALUE], and never a
 * `k3ts.io/` key, which k3ts reads to tell clusters, nodes and specs apart (one given by hand could pass a
 * cluster off as another's, or as made from another spec).
 */
export function parseRuntimeLabel(text: string, where: string): KeyValue {
  const kv = parseKeyValue(text, where);
  if (kv.key.startsWith(RESERVED_LABEL_PREFIX)) {
    throw invalid(where, text, `label ${q(kv.key)} uses the reserved prefix ${RESERVED_LABEL_PREFIX} (k3ts's own labels: cluster, role, ownership, spec digests)`, "pick a key outside k3ts.io/, e.g. example.com/team=web");
  }
  return kv;
}

/** `IP:HOST[,HOST...]`: an IPv4 address, exactly one `:`, RFC 1123 hostnames. */
export function parseHostAlias(text: string, where: string): HostAlias {
  const value = text.trim();
  const want = "IP:HOST[,HOST...], e.g. 10.0.0.5:db.local,cache.local";
  const parts = value.split(":");
  if (parts.length !== 2) {
    throw invalid(where, text, `${q(value)} must have exactly one ":" (want ${want})`, parts.length > 2 ? "IPv6 addresses are not supported" : undefined);
  }
  const [ip = "", hostList = ""] = parts;
  if (!isIPv4(ip)) throw invalid(where, text, `${q(ip)} in ${q(value)} is not an IPv4 address (want ${want})`);
  const hostnames = hostList.split(",").map((h) => h.trim());
  for (const h of hostnames) {
    if (h === "") throw invalid(where, text, `${q(value)} has an empty hostname (want ${want})`);
    if (!isHostname(h)) {
      throw invalid(where, text, `${q(h)} in ${q(value)} is not a valid hostname (want letters, digits and inner "-" in dot-separated labels of at most 63 characters)`);
    }
  }
  return { ip, hostnames };
}

const MEMORY_UNITS: Readonly<Record<string, number>> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Docker memory sizes: `512m`, `1g`, `1.5g`, `1024k`, `1048576` (bytes); binary units k/m/g/t/p with optional `i`/`b` (`1GiB`, `512mb`). */
export function parseMemory(text: string, where: string): number {
  const value = text.trim();
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?(i?b)?$/i.exec(value);
  const want = "a size such as 512m, 1g or 1.5g (units b, k, m, g, t, p)";
  if (!m || (m[3] !== undefined && m[2] === undefined && m[3].toLowerCase() !== "b")) {
    throw invalid(where, text, `${q(text)} is not a memory size (want ${want})`);
  }
  const unit = MEMORY_UNITS[(m[2] ?? "").toLowerCase()] ?? 1;
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes <= 0) throw invalid(where, text, `${q(text)} is not more than 0 bytes (want ${want})`);
  if (!Number.isSafeInteger(bytes)) throw invalid(where, text, `${q(text)} is too large (want ${want})`);
  return bytes;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go-style durations (`90s`, `2m`, `1h30m`, `500ms`, `1.5h`, `0`) → milliseconds (sub-millisecond totals round up). */
export function parseDuration(text: string, where: string): number {
  const value = text.trim();
  const want = "a duration such as 90s, 2m, 1h30m or 500ms (units ns, us, ms, s, m, h)";
  if (value === "0") return 0;
  if (/^\d+(\.\d+)?$/.test(value)) throw invalid(where, text, `${q(text)} has no unit (want ${want})`);
  if (value.startsWith("-")) throw invalid(where, text, `${q(text)} is negative (want ${want})`);
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) {
    total += Number(m[1]) * (DURATION_UNITS_MS[m[2] ?? ""] ?? 0);
    pos = re.lastIndex;
  }
  if (value === "" || pos !== value.length) throw invalid(where, text, `${q(text)} is not a duration (want ${want})`);
  const ms = Math.ceil(total);
  if (!Number.isSafeInteger(ms)) throw invalid(where, text, `${q(text)} is too long (want ${want})`);
  return ms;
}

/** The longest cluster name (k3d's limit), so `k3ts-<name>-server-<i>` stays a valid hostname. */
export const MAX_CLUSTER_NAME_LENGTH = 32;

/** Checks a cluster name: an RFC 1123 label (lowercase letters, digits, inner `-`), at most 32 characters. Returns it. */
export function validateClusterName(name: string, where: string): string {
  return validateDnsLabel(name, where, "cluster name", MAX_CLUSTER_NAME_LENGTH);
}

/**
 * A name that becomes part of container and Kubernetes node names: lowercase letters, digits and
 * "-", starting and ending with a letter or digit (a DNS label), at most `max` characters.
 */
export function validateDnsLabel(name: string, where: string, what: string, max: number): string {
  const want = `lowercase letters, digits and "-", starting and ending with a letter or digit, at most ${max} characters`;
  const label = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
  if (name === "") throw invalid(where, name, `${what} is empty (want ${want})`);
  if (name.length > max) throw invalid(where, name, `${what} ${q(name)} is ${name.length} characters long (want ${want})`);
  if (!label.test(name)) {
    // Suggest a name only when a simple repair yields a valid one.
    const repaired = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-|-$/g, "").slice(0, max);
    const hint = repaired && repaired !== name && label.test(repaired) ? `try ${q(repaired)}` : undefined;
    throw invalid(where, name, `${what} ${q(name)} is not valid (want ${want})`, hint);
  }
  return name;
}

/**
 * A Linux capability as the engines take it: `SYS_ADMIN`, `cap_sys_admin` or `CAP_SYS_ADMIN` give
 * `SYS_ADMIN` (the runtimes add the prefix); `ALL` is every capability.
 */
export function parseCapability(text: string, where: string): string {
  const name = text.trim().toUpperCase().replace(/^CAP_/, "");
  if (!/^[A-Z][A-Z0-9_]*$/.test(name)) {
    throw invalid(where, text, `${q(text)} is not a Linux capability name (want e.g. SYS_ADMIN or NET_ADMIN, see capabilities(7))`);
  }
  return name;
}
