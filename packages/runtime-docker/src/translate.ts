/**
 * Pure mapping between k3ts's domain types and the Docker Engine API: no I/O here, so every rule is
 * covered by table tests that need no engine.
 */
import type Dockerode from "dockerode";
import {
  K3tsError,
  type ErrorCode,
  type NetworkInfo,
  type Node,
  type NodeSpec,
  type NodeState,
  type Protocol,
  type PublishedPort,
  type RuntimeInfo,
  type VolumeInfo,
} from "@k3ts/core";

const DEFAULT_HOST_IP = "127.0.0.1";

/** `a.b.c.0/24` → `a.b.c.1`: Docker's own choice of gateway for a subnet. */
export function gatewayFor(subnet: string): string {
  const [addr, bits] = subnet.split("/");
  const octets = (addr ?? "").split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255) || bits === undefined) {
    throw new K3tsError("INVALID_ARGUMENT", `invalid IPv4 subnet ${JSON.stringify(subnet)} (want a.b.c.d/nn)`, { meta: { subnet } });
  }
  const value = octets.reduce((acc, o) => acc * 256 + o, 0);
  const mask = 2 ** (32 - Number(bits));
  const first = value - (value % mask) + 1;
  return [24, 16, 8, 0].map((s) => Math.floor(first / 2 ** s) % 256).join(".");
}

const portKey = (port: number, protocol: Protocol = "tcp") => `${port}/${protocol}`;

/** What of the daemon shapes a create. */
export interface DaemonTraits {
  /** The daemon remaps users (`userns-remap`): privileged containers must then run in the host's user namespace. */
  usernsRemap?: boolean;
}

/** A daemon remaps users when GET /info's SecurityOptions has `name=userns`. */
export function daemonTraits(info: Pick<DockerInfo, "SecurityOptions">): DaemonTraits {
  return { usernsRemap: (info.SecurityOptions ?? []).some((o) => o.split(",").includes("name=userns")) };
}

/** NodeSpec → the body of POST /containers/create. */
export function toCreateOptions(spec: NodeSpec, daemon: DaemonTraits = {}): Dockerode.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of spec.ports ?? []) {
    const key = portKey(p.containerPort, p.protocol);
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIP ?? DEFAULT_HOST_IP, HostPort: p.hostPort ? String(p.hostPort) : "" });
  }
  const hostConfig: Dockerode.HostConfig = {
    Privileged: spec.privileged ?? false,
    ...(spec.capAdd?.length ? { CapAdd: spec.capAdd.map((c) => `CAP_${c}`) } : {}),
    ...(spec.hostPid ? { PidMode: "host" } : {}),
    // Docker refuses a privileged container in a remapped user namespace (k3d sets the same).
    ...(spec.privileged && daemon.usernsRemap ? { UsernsMode: "host" } : {}),
    Init: spec.init ?? false,
    RestartPolicy: { Name: spec.restart ?? "no" },
    PortBindings: bindings,
    Binds: (spec.volumes ?? []).map((v) => `${v.source}:${v.target}${v.readOnly ? ":ro" : ""}`),
    Tmpfs: spec.tmpfs ?? {},
    ExtraHosts: (spec.extraHosts ?? []).flatMap((h) => h.hostnames.map((name) => `${name}:${h.ip}`)),
    Ulimits: (spec.ulimits ?? []).map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
    ...(spec.memoryBytes ? { Memory: spec.memoryBytes } : {}),
    ...(spec.network ? { NetworkMode: spec.network.name } : {}),
  };
  return {
    name: spec.name,
    Image: spec.image,
    ...(spec.hostname ? { Hostname: spec.hostname } : {}),
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    ...(spec.command ? { Cmd: spec.command } : {}),
    Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: spec.labels ?? {},
    ExposedPorts: exposed,
    ...(spec.workdir ? { WorkingDir: spec.workdir } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    ...(spec.stopTimeoutSeconds !== undefined ? { StopTimeout: spec.stopTimeoutSeconds } : {}),
    HostConfig: hostConfig,
    ...(spec.network
      ? {
          NetworkingConfig: {
            EndpointsConfig: {
              [spec.network.name]: {
                ...(spec.network.aliases?.length ? { Aliases: spec.network.aliases } : {}),
                ...(spec.network.ipv4 ? { IPAMConfig: { IPv4Address: spec.network.ipv4 } } : {}),
              },
            },
          },
        }
      : {}),
  };
}

export function toNodeState(status: string | undefined): NodeState {
  switch (status) {
    case "created":
    case "running":
    case "restarting":
    case "paused":
    case "dead":
      return status;
    case "exited":
      return "stopped";
    case "removing":
      return "dead";
    default:
      return "unknown";
  }
}

/** "K=V" list → record (values may contain "="). */
export function envRecord(env: string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of env ?? []) {
    const i = entry.indexOf("=");
    if (i === -1) out[entry] = "";
    else out[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return out;
}

type PortMap = Record<string, Array<{ HostIp?: string; HostPort?: string }> | null | undefined>;

function publishedPorts(map: PortMap | undefined): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const [key, binds] of Object.entries(map ?? {})) {
    const [port, proto] = key.split("/");
    for (const b of binds ?? []) {
      // Docker reports an IPv6 twin ("::") of each 0.0.0.0 binding; k3ts speaks of the IPv4 one.
      if (b.HostIp === "::") continue;
      out.push({
        containerPort: Number(port),
        protocol: proto === "udp" ? "udp" : "tcp",
        hostIP: b.HostIp || "0.0.0.0",
        hostPort: b.HostPort ? Number(b.HostPort) : 0,
      });
    }
  }
  return out.sort((a, b) => a.containerPort - b.containerPort || a.hostPort - b.hostPort);
}

const stripSlash = (name: string) => name.replace(/^\//, "");
const isZeroTime = (t: string | undefined) => !t || t.startsWith("0001-01-01");

/** GET /containers/{id}/json → Node. */
export function fromContainerInspect(info: Dockerode.ContainerInspectInfo): Node {
  const state = toNodeState(info.State?.Status);
  // Running containers report the ports they got; others only what was asked for.
  const live = state === "running" || state === "paused" || state === "restarting";
  const ports = publishedPorts((live ? info.NetworkSettings?.Ports : info.HostConfig?.PortBindings) as PortMap | undefined);
  const networks = Object.entries(info.NetworkSettings?.Networks ?? {}).map(([name, ep]) => {
    const ipv4 = ep.IPAddress || ep.IPAMConfig?.IPv4Address || undefined;
    return {
      name,
      ...(ipv4 ? { ipv4 } : {}),
      aliases: ((ep.Aliases ?? []) as string[]).filter((a) => a !== info.Id.slice(0, 12) && a !== stripSlash(info.Name)),
    };
  });
  const node: Node = {
    id: info.Id,
    name: stripSlash(info.Name),
    image: info.Config?.Image ?? info.Image,
    labels: info.Config?.Labels ?? {},
    env: envRecord(info.Config?.Env),
    state,
    ports,
    networks: networks.sort((a, b) => a.name.localeCompare(b.name)),
    command: [...(toArray(info.Config?.Entrypoint) ?? []), ...(info.Config?.Cmd ?? [])],
    privileged: info.HostConfig?.Privileged ?? false,
    hostPid: info.HostConfig?.PidMode === "host",
    capAdd: ((info.HostConfig?.CapAdd as string[] | null | undefined) ?? []).map((c) => c.replace(/^CAP_/, "")),
    ...(info.Created ? { createdAt: info.Created } : {}),
    ...(!isZeroTime(info.State?.StartedAt) ? { startedAt: info.State.StartedAt } : {}),
    ...(state === "stopped" || state === "dead" ? { exitCode: info.State.ExitCode } : {}),
    ...(info.HostConfig?.Memory ? { memoryBytes: info.HostConfig.Memory } : {}),
  };
  return node;
}

function toArray(v: string | string[] | undefined | null): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? v : [v];
}

/** GET /networks/{id} → NetworkInfo (members are the attached, running containers). */
export function fromNetworkInspect(info: Dockerode.NetworkInspectInfo): NetworkInfo {
  const ipam = info.IPAM?.Config?.[0];
  const members = Object.values(info.Containers ?? {})
    .map((c) => {
      const ipv4 = c.IPv4Address?.split("/")[0];
      return { name: c.Name, ...(ipv4 ? { ipv4 } : {}) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    id: info.Id,
    name: info.Name,
    labels: info.Labels ?? {},
    ...(ipam?.Subnet ? { subnet: ipam.Subnet } : {}),
    // Docker leaves Gateway out when a network was made with a subnet only; it then uses the first address.
    ...(ipam?.Gateway ? { gateway: ipam.Gateway } : ipam?.Subnet && !ipam.Subnet.includes(":") ? { gateway: gatewayFor(ipam.Subnet) } : {}),
    members,
  };
}

export function fromVolumeInspect(info: { Name: string; Labels?: Record<string, string> | null; CreatedAt?: string }): VolumeInfo {
  return { name: info.Name, labels: info.Labels ?? {}, ...(info.CreatedAt ? { createdAt: info.CreatedAt } : {}) };
}

/** Label filter → Docker's `label` filter list (`k=v`, or `k` for any value). */
export function labelFilters(labels: Record<string, string> = {}): string[] {
  return Object.entries(labels).map(([k, v]) => (v === "" ? k : `${k}=${v}`));
}

export interface DockerInfo {
  ServerVersion?: string;
  OperatingSystem?: string;
  OSType?: string;
  Architecture?: string;
  CgroupVersion?: string;
  MemoryLimit?: boolean;
  SecurityOptions?: string[];
  Name?: string;
}

interface DockerVersion {
  Version?: string;
  ApiVersion?: string;
  Components?: Array<{ Name: string; Version: string }>;
}

/** uname's machine names (what Docker's /info says) as Go's GOARCH names (what RuntimeInfo.arch holds). */
const GOARCH: Record<string, string> = {
  x86_64: "amd64",
  amd64: "amd64",
  aarch64: "arm64",
  arm64: "arm64",
  armv7l: "arm",
  armv6l: "arm",
  armhf: "arm",
  i386: "386",
  i686: "386",
  ppc64le: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loongarch64: "loong64",
};

function goArch(machine: string | undefined): string {
  return machine === undefined ? "unknown" : (GOARCH[machine] ?? machine);
}

/** GET /info + GET /version → RuntimeInfo. Podman's Docker-compatible API is reported as podman. */
export function toRuntimeInfo(info: DockerInfo, version: DockerVersion, endpoint: string): RuntimeInfo {
  const rootless = (info.SecurityOptions ?? []).some((o) => o.includes("name=rootless"));
  const isPodman = (version.Components ?? []).some((c) => c.Name === "Podman Engine");
  const engineVersion = version.Version ?? info.ServerVersion ?? "unknown";
  const [major, minor] = engineVersion.split(".").map(Number);
  return {
    runtime: "docker",
    engine: {
      name: isPodman ? "podman (docker api)" : "docker",
      version: engineVersion,
      ...(version.ApiVersion ? { apiVersion: version.ApiVersion } : {}),
    },
    endpoint,
    // The contract's names are Go's GOOS and GOARCH: OSType is "linux"; Architecture is uname's ("x86_64").
    os: info.OSType ?? "unknown",
    arch: goArch(info.Architecture),
    capabilities: {
      // Rootless Docker accepts --privileged too: the container gets every capability of the user namespace (kind and k3d rely on it).
      privileged: true,
      rootless,
      cgroupVersion: info.CgroupVersion === "2" ? 2 : info.CgroupVersion === "1" ? 1 : undefined,
      memoryLimit: info.MemoryLimit ?? true,
      networkDns: true,
      // host-gateway in extra hosts arrived with Docker 20.10.
      hostGateway: isPodman || (major ?? 0) > 20 || ((major ?? 0) === 20 && (minor ?? 0) >= 10),
    },
  };
}

/** What a failed call was about, so a 404 can name the right resource. */
export type Subject =
  | { kind: "node"; name: string }
  | { kind: "network"; name: string; node?: string }
  | { kind: "volume"; name: string }
  | { kind: "image"; name: string }
  | { kind: "file"; name: string; node: string }
  | { kind: "engine"; name?: string };

export interface DockerApiError {
  statusCode?: number;
  message?: string;
  reason?: string;
  json?: { message?: string } | null;
  code?: string;
}

function apiMessage(err: DockerApiError): string {
  const json = err.json && typeof err.json === "object" ? err.json.message : undefined;
  return (json ?? err.message ?? err.reason ?? "").trim();
}

/** Maps a dockerode failure to a k3ts error code. */
export function errorCodeFor(err: DockerApiError, subject: Subject): ErrorCode {
  const status = err.statusCode;
  const msg = apiMessage(err).toLowerCase();
  if (err.code === "ECONNREFUSED" || err.code === "ENOENT" || err.code === "EACCES") return "RUNTIME_UNAVAILABLE";
  if (/port is already allocated|address already in use|bind: address/.test(msg)) return "PORT_IN_USE";
  if (status === 404) {
    if (/no such image|pull access denied|reference does not exist/.test(msg)) return "IMAGE_NOT_FOUND";
    if (/network .*not found|no such network/.test(msg)) return "NETWORK_NOT_FOUND";
    // dockerode prefixes its own "no such container" to every 404 of the archive endpoint.
    if (/could not find the file|no such file/.test(msg)) return "FILE_NOT_FOUND";
    if (/no such container/.test(msg)) return "NODE_NOT_FOUND";
    if (/no such volume|get .*: no such volume/.test(msg)) return "VOLUME_NOT_FOUND";
    switch (subject.kind) {
      case "node":
        return "NODE_NOT_FOUND";
      case "network":
        return "NETWORK_NOT_FOUND";
      case "volume":
        return "VOLUME_NOT_FOUND";
      case "image":
        return "IMAGE_NOT_FOUND";
      case "file":
        return "FILE_NOT_FOUND";
      default:
        return "RUNTIME_ERROR";
    }
  }
  if (status === 409) {
    if (/is not running|is paused|is restarting/.test(msg)) return "NODE_NOT_RUNNING";
    if (/volume is in use/.test(msg)) return "VOLUME_IN_USE";
    if (/already in use|conflict/.test(msg) && subject.kind === "node") return "NODE_ALREADY_EXISTS";
    if (subject.kind === "volume") return "VOLUME_IN_USE";
    if (subject.kind === "network") return "NETWORK_IN_USE";
  }
  if (/has active endpoints/.test(msg)) return "NETWORK_IN_USE";
  return "RUNTIME_ERROR";
}

/** Wraps a dockerode failure in a K3tsError with a message that names the resource. */
export function translateError(err: unknown, subject: Subject, action: string): K3tsError {
  const e = (err ?? {}) as DockerApiError;
  const code = errorCodeFor(e, subject);
  const detail = apiMessage(e) || String(err);
  const what = subject.kind === "file" ? `file ${subject.name} in node ${subject.node}` : `${subject.kind}${subject.name ? ` ${subject.name}` : ""}`;
  const message: Partial<Record<ErrorCode, string>> = {
    NODE_NOT_FOUND: `node ${subject.name} does not exist`,
    NETWORK_NOT_FOUND: subject.kind === "network" ? `network ${subject.name} does not exist` : `a network node ${subject.name} needs does not exist`,
    VOLUME_NOT_FOUND: `volume ${subject.name} does not exist`,
    IMAGE_NOT_FOUND: subject.kind === "image" ? `image ${subject.name} is not present in the engine` : `the image of node ${subject.name} is not present in the engine`,
    FILE_NOT_FOUND: `${what} does not exist`,
    NODE_ALREADY_EXISTS: `node ${subject.name} already exists`,
    NODE_NOT_RUNNING: `node ${subject.name} is not running`,
    NETWORK_IN_USE: `network ${subject.name} still has nodes attached`,
    VOLUME_IN_USE: `volume ${subject.name} is still mounted by a node`,
  };
  return new K3tsError(code, `${message[code] ?? `docker: ${action} ${what} failed`}: ${detail}`, {
    meta: { runtime: "docker", action, subject, statusCode: e.statusCode, engineMessage: detail },
    cause: err,
  });
}
