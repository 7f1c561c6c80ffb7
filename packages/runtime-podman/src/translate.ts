/**
 * Pure translations from what podman prints (JSON documents, stderr text, exit codes) to k3ts's
 * types and error codes. Nothing here runs a process; every function is table-tested.
 */
import {
  K3tsError,
  type ErrorCode,
  type NetworkInfo,
  type Node,
  type NodeState,
  type Protocol,
  type PublishedPort,
  type RuntimeInfo,
  type VolumeInfo,
} from "@k3ts/core";
import { decodeLabelKey } from "./command.js";

// ------------------------------------------------------------------------------------ podman JSON shapes
// Only the fields k3ts reads, as podman 4.x prints them. Every field is optional: podman omits
// empty ones (`labels`, `Networks`), prints `null` for others, and shapes change between releases.

export interface PodmanVersion {
  Client?: { Version?: string; APIVersion?: string; OsArch?: string };
  /** Present when talking to a remote service (podman-remote, podman machine). */
  Server?: { Version?: string; APIVersion?: string; OsArch?: string };
}

export interface PodmanInfo {
  host?: {
    arch?: string;
    os?: string;
    cgroupVersion?: string;
    cgroupControllers?: string[] | null;
    networkBackend?: string;
    security?: { rootless?: boolean };
    remoteSocket?: { path?: string };
    serviceIsRemote?: boolean;
  };
  version?: { Version?: string; APIVersion?: string };
}

interface PodmanPortBinding {
  HostIp?: string;
  HostPort?: string;
}

interface PodmanEndpoint {
  IPAddress?: string;
  Aliases?: string[] | null;
}

export interface PodmanContainer {
  Id?: string;
  Name?: string;
  Created?: string;
  Path?: string;
  Args?: string[] | null;
  ImageName?: string;
  State?: {
    Status?: string;
    Running?: boolean;
    Paused?: boolean;
    Restarting?: boolean;
    Dead?: boolean;
    ExitCode?: number;
    StartedAt?: string;
  };
  Config?: {
    Env?: string[] | null;
    Labels?: Record<string, string> | null;
    Image?: string;
  };
  HostConfig?: {
    Privileged?: boolean;
    PidMode?: string;
    CapAdd?: string[] | null;
    Memory?: number;
    Init?: boolean;
    RestartPolicy?: { Name?: string } | null;
  };
  NetworkSettings?: {
    Ports?: Record<string, PodmanPortBinding[] | null> | null;
    Networks?: Record<string, PodmanEndpoint> | null;
  };
}

/** One row of `podman ps --all --format json`. */
export interface PodmanPsEntry {
  Id?: string;
  Names?: string[];
  Networks?: string[] | null;
  Labels?: Record<string, string> | null;
  State?: string;
}

export interface PodmanNetwork {
  name?: string;
  id?: string;
  labels?: Record<string, string> | null;
  subnets?: Array<{ subnet?: string; gateway?: string }> | null;
  dns_enabled?: boolean;
}

export interface PodmanVolume {
  Name?: string;
  Labels?: Record<string, string> | null;
  CreatedAt?: string;
}

// ------------------------------------------------------------------------------------ JSON parsing

/** Parses podman's JSON output; a document that is not JSON is a `RUNTIME_ERROR` naming the command. */
export function parseJson<T>(text: string, argv: readonly string[]): T {
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new K3tsError("RUNTIME_ERROR", `podman ${argv[0] ?? ""} printed output that is not JSON`, {
      cause,
      meta: { argv: [...argv], output: tail(text) },
    });
  }
}

/** Parses a JSON array document (`inspect`, `ps`, `ls`); `null` and empty output become `[]`. */
export function parseJsonArray<T>(text: string, argv: readonly string[]): T[] {
  if (text.trim() === "") return [];
  const value = parseJson<T[] | null>(text, argv);
  return Array.isArray(value) ? value : [];
}

// ------------------------------------------------------------------------------------ versions

export const MIN_PODMAN_VERSION = "4.0.0";
/** The first podman that accepts `host-gateway` in `--add-host`. */
export const HOST_GATEWAY_VERSION = "4.7.0";

/** `4.3.1`, `v5.0.0-rc1`, `4.9.4-dev` → `[4, 3, 1]` (missing parts are 0). */
export function parseVersion(version: string): [number, number, number] {
  const m = /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version);
  return [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0), Number(m?.[3] ?? 0)];
}

/** True when `version` is at least `minimum`. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const a = parseVersion(version);
  const b = parseVersion(minimum);
  for (let i = 0; i < 3; i++) {
    if (a[i]! !== b[i]!) return a[i]! > b[i]!;
  }
  return true;
}

/** The engine's version from `podman version`: the server's when remote, else the client's (they are one binary). */
export function engineVersion(doc: PodmanVersion): { version: string; apiVersion?: string } | undefined {
  const side = doc.Server?.Version ? doc.Server : doc.Client;
  if (!side?.Version) return undefined;
  return { version: side.Version, ...(side.APIVersion ? { apiVersion: side.APIVersion } : {}) };
}

export function unsupportedVersionError(version: string, endpoint: string): K3tsError<"RUNTIME_UNSUPPORTED_VERSION"> {
  return new K3tsError(
    "RUNTIME_UNSUPPORTED_VERSION",
    `podman ${version} is too old: k3ts needs podman ${MIN_PODMAN_VERSION} or newer`,
    { meta: { version, minimum: MIN_PODMAN_VERSION, endpoint }, hint: `upgrade podman to ${MIN_PODMAN_VERSION} or newer` },
  );
}

// ------------------------------------------------------------------------------------ info

/** What a Podman on CNI without the dnsname plugin needs (podman's own docs name both ways). */
export const CNI_DNS_HINT =
  "podman's CNI backend resolves container names only with the dnsname plugin: install it " +
  "(Debian/Ubuntu: apt-get install golang-github-containernetworking-plugin-dnsname; Fedora/RHEL: podman-plugins), " +
  'or use netavark with aardvark-dns (network_backend = "netavark" in containers.conf, then podman system reset)';
const NETWORK_DNS_HINT = 'use podman\'s netavark backend with aardvark-dns (network_backend = "netavark" in containers.conf)';

/**
 * Podman's Go architecture names are what k3ts reports (amd64, arm64). `networkDns` is what the
 * engine said of a user network it created (`dns_enabled`, see {@link PodmanRuntime.info}); without
 * that answer it follows the backend: netavark runs aardvark-dns on user networks, CNI needs the
 * separate dnsname plugin, which only such a network shows.
 */
export function toRuntimeInfo(info: PodmanInfo, endpointBinary: string, networkDns?: boolean): RuntimeInfo {
  const host = info.host ?? {};
  const rootless = host.security?.rootless === true;
  const version = info.version?.Version ?? "unknown";
  const cgroupVersion = host.cgroupVersion === "v2" ? 2 : host.cgroupVersion === "v1" ? 1 : undefined;
  const dns = networkDns ?? host.networkBackend === "netavark";
  return {
    runtime: "podman",
    engine: { name: "podman", version, ...(info.version?.APIVersion ? { apiVersion: info.version.APIVersion } : {}) },
    endpoint: `${endpointBinary} (${rootless ? "rootless" : "rootful"})`,
    os: host.os ?? "unknown",
    arch: host.arch ?? "unknown",
    capabilities: {
      // Podman accepts --privileged rootful and rootless alike (rootless gets the user's own privileges).
      privileged: true,
      rootless,
      cgroupVersion,
      memoryLimit: (host.cgroupControllers ?? []).includes("memory"),
      networkDns: dns,
      hostGateway: versionAtLeast(version, HOST_GATEWAY_VERSION),
    },
    ...(host.cgroupControllers ? { cgroupControllers: [...host.cgroupControllers] } : {}),
    ...(dns ? {} : { hints: { networkDns: host.networkBackend === "cni" ? CNI_DNS_HINT : NETWORK_DNS_HINT } }),
  };
}

// ------------------------------------------------------------------------------------ nodes

const ZERO_TIME = /^0001-01-01/;
/** Where `podman --init` puts catatonit; it wraps the real command as `podman-init -- cmd...`. */
const PODMAN_INIT = "/run/podman-init";

export function decodeLabels(labels: Record<string, string> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) out[decodeLabelKey(k)] = v;
  return out;
}

/** `["A=1", "B=x=y", "C="]` → `{ A: "1", B: "x=y", C: "" }`. */
export function parseEnv(env: string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of env ?? []) {
    const eq = entry.indexOf("=");
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
    else if (eq === -1 && entry) out[entry] = "";
  }
  return out;
}

/** Podman's container states (libpod `ContainerStatus`) as k3ts node states. */
export function toNodeState(state: PodmanContainer["State"] | undefined): NodeState {
  if (state?.Restarting) return "restarting";
  switch (state?.Status) {
    case "configured":
    case "created":
    case "initialized":
      return "created";
    case "running":
    case "stopping":
      return "running";
    case "paused":
      return "paused";
    case "exited":
    case "stopped":
      return "stopped";
    case "removing":
    case "dead":
      return "dead";
    default:
      return "unknown";
  }
}

/** `{"8080/tcp": [{HostIp, HostPort}]}` → published ports (unpublished entries are `null`). */
export function toPublishedPorts(ports: Record<string, PodmanPortBinding[] | null> | null | undefined): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [port, proto] = key.split("/");
    const protocol: Protocol = proto === "udp" ? "udp" : "tcp";
    for (const b of bindings ?? []) {
      const hostPort = Number(b.HostPort);
      if (!hostPort) continue;
      out.push({ containerPort: Number(port), protocol, hostIP: b.HostIp || "0.0.0.0", hostPort });
    }
  }
  return out;
}

/** The argv the node runs: entrypoint + command, without podman's own init wrapper. */
export function toCommand(c: PodmanContainer): string[] {
  const argv = [c.Path ?? "", ...(c.Args ?? [])].filter((part, i) => i > 0 || part !== "");
  if (c.HostConfig?.Init && argv[0] === PODMAN_INIT) {
    const rest = argv.slice(1);
    return rest[0] === "--" ? rest.slice(1) : rest;
  }
  return argv;
}

/** Aliases without the short container id podman adds to every endpoint. */
function userAliases(aliases: string[] | null | undefined, id: string): string[] {
  return (aliases ?? []).filter((a) => a !== id.slice(0, 12) && a !== id);
}

export function toNode(c: PodmanContainer): Node {
  const id = c.Id ?? "";
  const state = toNodeState(c.State);
  const startedAt = c.State?.StartedAt;
  return {
    id,
    name: (c.Name ?? "").replace(/^\//, ""),
    image: c.ImageName ?? c.Config?.Image ?? "",
    labels: decodeLabels(c.Config?.Labels),
    env: parseEnv(c.Config?.Env),
    state,
    ...(state === "stopped" || state === "dead" ? { exitCode: c.State?.ExitCode ?? 0 } : {}),
    ...(startedAt && !ZERO_TIME.test(startedAt) ? { startedAt } : {}),
    ...(c.Created ? { createdAt: c.Created } : {}),
    ports: toPublishedPorts(c.NetworkSettings?.Ports),
    networks: Object.entries(c.NetworkSettings?.Networks ?? {}).map(([name, ep]) => ({
      name,
      ...(ep.IPAddress ? { ipv4: ep.IPAddress } : {}),
      aliases: userAliases(ep.Aliases, id),
    })),
    command: toCommand(c),
    privileged: c.HostConfig?.Privileged === true,
    hostPid: c.HostConfig?.PidMode === "host",
    capAdd: (c.HostConfig?.CapAdd ?? []).map((x) => x.replace(/^CAP_/, "")),
    ...(c.HostConfig?.Memory ? { memoryBytes: c.HostConfig.Memory } : {}),
  };
}

// ------------------------------------------------------------------------------------ networks and volumes

const isIPv4Cidr = (cidr: string | undefined): cidr is string => !!cidr && !cidr.includes(":");

/** A network and the containers attached to it (from `podman ps --filter network=` + inspect). */
export function toNetworkInfo(net: PodmanNetwork, members: PodmanContainer[] = []): NetworkInfo {
  const name = net.name ?? "";
  const v4 = (net.subnets ?? []).find((s) => isIPv4Cidr(s.subnet));
  return {
    id: net.id ?? "",
    name,
    labels: decodeLabels(net.labels),
    ...(v4?.subnet ? { subnet: v4.subnet } : {}),
    ...(v4?.gateway ? { gateway: v4.gateway } : {}),
    // Members are the running containers, as Docker reports them.
    members: members.filter((c) => c.State?.Status === "running").map((c) => {
      const ip = c.NetworkSettings?.Networks?.[name]?.IPAddress;
      return { name: (c.Name ?? "").replace(/^\//, ""), ...(ip ? { ipv4: ip } : {}) };
    }),
  };
}

export function toVolumeInfo(v: PodmanVolume): VolumeInfo {
  return { name: v.Name ?? "", labels: decodeLabels(v.Labels), ...(v.CreatedAt ? { createdAt: v.CreatedAt } : {}) };
}

/** `Loaded image: a` / `Loaded image(s): a,b` lines of `podman load` → the references. */
export function parseLoadedImages(stdout: string): string[] {
  const refs: string[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^Loaded image(?:\(s\)|s)?:\s*(.+)$/.exec(line.trim());
    if (m?.[1]) refs.push(...m[1].split(",").map((r) => r.trim()).filter(Boolean));
  }
  return refs;
}

/** One stderr line of `podman pull` as a progress event (log-formatted warnings are dropped). */
export function parsePullLine(line: string): { id?: string; status: string } | undefined {
  const text = line.trim();
  if (!text || text.startsWith("time=")) return undefined;
  const m = /^(Copying (?:blob|config)) (?:sha256:)?([0-9a-f]{12,})/.exec(text);
  if (m?.[1] && m[2]) return { id: m[2].slice(0, 12), status: m[1] };
  return { status: text };
}

// ------------------------------------------------------------------------------------ errors

/** A podman invocation that exited non-zero. */
export interface CommandFailure {
  /** The podman arguments (without the binary). */
  argv: readonly string[];
  exitCode: number;
  stderr: string;
}

/** What the failing call was about; picks the code for ambiguous messages and names the object. */
export interface FailureSubject {
  node?: string;
  network?: string;
  volume?: string;
  image?: string;
  path?: string;
  /** The operation, for codes that depend on it: `pull` failures are IMAGE_PULL_FAILED, `cp` out is FILE_NOT_FOUND. */
  op?: "pull" | "copy-out";
}

const STDERR_TAIL = 2000;

export function tail(text: string, max = STDERR_TAIL): string {
  const trimmed = text.trim();
  return trimmed.length > max ? `…${trimmed.slice(-max)}` : trimmed;
}

/** The last `Error: ...` line podman printed (its own message), else the last non-empty line. */
export function podmanErrorLine(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => l.startsWith("Error:"));
  const line = errors.at(-1) ?? lines.at(-1) ?? "";
  return line.replace(/^Error:\s*/, "");
}

const COMMAND_GROUPS = new Set(["container", "image", "network", "volume", "system"]);

/** `["network", "rm", "x"]` → `network rm`; `["create", "--name", ...]` → `create`. */
export function subcommand(argv: readonly string[]): string {
  const [first = "", second] = argv;
  return COMMAND_GROUPS.has(first) && second ? `${first} ${second}` : first;
}

type Rule = [ErrorCode, RegExp];

/**
 * Podman 4.x messages, most specific first. Each is matched against podman's own `Error:` line.
 * (Podman's exit codes say little: 125 is "podman failed", `rm`/`network rm` use 1 and 2.)
 */
const RULES: Rule[] = [
  ["RUNTIME_UNAVAILABLE", /cannot connect to podman|unable to connect to podman|podman\.sock.*(connection refused|no such file)/i],
  ["PORT_IN_USE", /address already in use|port is already allocated|cannot listen on the (tcp|udp) port/i],
  ["NODE_ALREADY_EXISTS", /name ".*" is already in use|that name is already in use/i],
  ["NETWORK_IN_USE", /network is being used|has associated containers/i],
  ["VOLUME_IN_USE", /volume is being used|volume .* is being used/i],
  ["NETWORK_NOT_FOUND", /network not found|unable to find network/i],
  ["VOLUME_NOT_FOUND", /no such volume|no volume with name/i],
  ["IMAGE_NOT_FOUND", /image not known|no such image|image not found|failed to find image/i],
  ["NODE_NOT_RUNNING", /can only create exec sessions on running containers|is not running/i],
  ["NODE_NOT_FOUND", /no such container|no container with (name or id|id or name)|container ".*" does not exist/i],
  ["FILE_NOT_FOUND", /could not be found on container|no such file or directory/i],
];

/** The k3ts code for a podman failure, or undefined when podman's message names none. */
export function classifyFailure(failure: CommandFailure, subject: FailureSubject = {}): ErrorCode | undefined {
  const line = podmanErrorLine(failure.stderr);
  const named = RULES.find(([code, re]) => re.test(line) && (code !== "FILE_NOT_FOUND" || subject.op === "copy-out"))?.[0];
  // Whatever stops a pull (no registry, no such image there, no auth) is a failed pull.
  if (subject.op === "pull" && named !== "RUNTIME_UNAVAILABLE") return "IMAGE_PULL_FAILED";
  return named;
}

/** `network create` / `volume create` refused because the name is taken (a lost race in ensure). */
export function isAlreadyExists(failure: CommandFailure): boolean {
  return /already exists|already used/i.test(podmanErrorLine(failure.stderr));
}

function describe(code: ErrorCode, subject: FailureSubject, detail: string): string {
  switch (code) {
    case "NODE_NOT_FOUND":
      return `node ${subject.node ?? ""} not found`;
    case "NODE_ALREADY_EXISTS":
      return `node ${subject.node ?? ""} already exists`;
    case "NODE_NOT_RUNNING":
      return `node ${subject.node ?? ""} is not running`;
    case "NETWORK_NOT_FOUND":
      return `network ${subject.network ?? ""} not found`;
    case "NETWORK_IN_USE":
      return `network ${subject.network ?? ""} is in use by nodes`;
    case "VOLUME_NOT_FOUND":
      return `volume ${subject.volume ?? ""} not found`;
    case "VOLUME_IN_USE":
      return `volume ${subject.volume ?? ""} is in use by nodes`;
    case "IMAGE_NOT_FOUND":
      return `image ${subject.image ?? ""} not found`;
    case "IMAGE_PULL_FAILED":
      return `pulling image ${subject.image ?? ""} failed: ${detail}`;
    case "FILE_NOT_FOUND":
      return `file ${subject.path ?? ""} not found in node ${subject.node ?? ""}`;
    case "PORT_IN_USE":
      return `a host port of node ${subject.node ?? ""} is already in use: ${detail}`;
    case "RUNTIME_UNAVAILABLE":
      return `podman is not available: ${detail}`;
    default:
      return detail;
  }
}

/** A "not found" error for a lookup podman answered with silence (empty inspect, exit 1 of `exists`). */
export function notFoundError(
  code: "NODE_NOT_FOUND" | "NETWORK_NOT_FOUND" | "VOLUME_NOT_FOUND" | "IMAGE_NOT_FOUND" | "FILE_NOT_FOUND",
  subject: FailureSubject,
  argv: readonly string[],
): K3tsError {
  const { op: _op, ...names } = subject;
  return new K3tsError(code, describe(code, subject, ""), { meta: { ...names, argv: ["podman", ...argv] } });
}

const HINTS: Partial<Record<ErrorCode, string>> = {
  PORT_IN_USE: "pick another host port, or free the one in use",
  IMAGE_NOT_FOUND: "pull or load the image first",
  RUNTIME_UNAVAILABLE: "check that podman is installed and `podman info` works",
};

/**
 * A podman failure as a K3tsError: the code its message names (see {@link classifyFailure}), else
 * `COMMAND_FAILED`. `meta` always carries the argv, exit code and the tail of stderr.
 */
export function translateFailure(failure: CommandFailure, subject: FailureSubject = {}): K3tsError {
  const detail = podmanErrorLine(failure.stderr) || `exit code ${failure.exitCode}`;
  const code = classifyFailure(failure, subject) ?? "COMMAND_FAILED";
  const { op: _op, ...names } = subject;
  const message =
    code === "COMMAND_FAILED"
      ? `podman ${subcommand(failure.argv)} failed (exit code ${failure.exitCode}): ${detail}`
      : describe(code, subject, detail);
  const hint = HINTS[code];
  return new K3tsError(code, message, {
    meta: { ...names, argv: ["podman", ...failure.argv], exitCode: failure.exitCode, stderr: tail(failure.stderr) },
    ...(hint ? { hint } : {}),
  });
}
