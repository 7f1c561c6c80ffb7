/**
 * Podman argv builders. Every function here is pure: it turns a k3ts spec or request into the
 * arguments of one `podman` invocation (without the binary itself). Nothing here runs a process.
 */
import type { LabelFilter, NetworkSpec, NodeSpec, PortMapping, VolumeMount, VolumeSpec } from "@k3ts/core";

/** Where k3ts publishes ports when the spec names no host address. */
export const DEFAULT_HOST_IP = "127.0.0.1";

// ------------------------------------------------------------------------------------ labels

/**
 * Podman's CLI splits `--label key=value` at the first `=`, so a key that contains `=` cannot be
 * written as is. Such keys are stored percent-encoded (`%` → `%25`, `=` → `%3D`) and decoded again
 * by {@link decodeLabelKey} when read back. Keys without `%` or `=` (all of k3ts's own) are unchanged.
 */
export function encodeLabelKey(key: string): string {
  return key.replaceAll("%", "%25").replaceAll("=", "%3D");
}

/** The inverse of {@link encodeLabelKey}. */
export function decodeLabelKey(key: string): string {
  return key.replace(/%(3D|25)/gi, (_m, hex: string) => (hex === "25" ? "%" : "="));
}

function labelArgs(labels: Record<string, string> | undefined): string[] {
  return Object.entries(labels ?? {}).flatMap(([k, v]) => ["--label", `${encodeLabelKey(k)}=${v}`]);
}

/**
 * `--filter label=KEY` arguments that pre-select by key. Podman parses `--filter` as CSV and splits
 * values at commas, so values are never sent (and keys that would not survive CSV are skipped); the
 * caller always re-checks the exact filter with `matchesLabels`.
 */
export function labelFilterArgs(filter: LabelFilter | undefined): string[] {
  return Object.keys(filter?.labels ?? {})
    .map(encodeLabelKey)
    .filter((key) => !/[,"\s]/.test(key))
    .flatMap((key) => ["--filter", `label=${key}`]);
}

// ------------------------------------------------------------------------------------ engine

export function versionArgs(): string[] {
  return ["version", "--format", "json"];
}

export function infoArgs(): string[] {
  return ["info", "--format", "json"];
}

// ------------------------------------------------------------------------------------ nodes

/** `-p hostIP:hostPort:containerPort/proto`; an empty host port lets podman pick one. */
export function portArg(port: PortMapping): string {
  const ip = port.hostIP ?? DEFAULT_HOST_IP;
  const host = ip.includes(":") ? `[${ip}]` : ip;
  const hostPort = port.hostPort ? String(port.hostPort) : "";
  return `${host}:${hostPort}:${port.containerPort}/${port.protocol ?? "tcp"}`;
}

/** `-v source:target[:ro]` for a named volume or a bind mount (podman tells them apart by the leading `/`). */
export function volumeArg(mount: VolumeMount): string {
  return `${mount.source}:${mount.target}${mount.readOnly ? ":ro" : ""}`;
}

// Every positional (a name, an image, a command) comes after `--`: a value that begins with `-` is never read as a flag.

/** `podman create` for a node. Never pulls: a missing image is `IMAGE_NOT_FOUND`, pulling is `images.pull`. */
export function createArgs(spec: NodeSpec): string[] {
  const args = ["create", "--name", spec.name, "--pull", "never"];
  if (spec.hostname) args.push("--hostname", spec.hostname);
  if (spec.entrypoint) args.push("--entrypoint", JSON.stringify(spec.entrypoint));
  for (const [k, v] of Object.entries(spec.env ?? {})) args.push("--env", `${k}=${v}`);
  args.push(...labelArgs(spec.labels));
  if (spec.network) {
    args.push("--network", spec.network.name);
    for (const alias of spec.network.aliases ?? []) args.push("--network-alias", alias);
    if (spec.network.ipv4) args.push("--ip", spec.network.ipv4);
  }
  for (const port of spec.ports ?? []) args.push("--publish", portArg(port));
  for (const mount of spec.volumes ?? []) args.push("--volume", volumeArg(mount));
  for (const [path, options] of Object.entries(spec.tmpfs ?? {})) args.push("--tmpfs", options ? `${path}:${options}` : path);
  if (spec.privileged) args.push("--privileged");
  for (const c of spec.capAdd ?? []) args.push("--cap-add", `CAP_${c}`);
  if (spec.hostPid) args.push("--pid", "host");
  if (spec.init) args.push("--init");
  if (spec.restart) args.push("--restart", spec.restart);
  if (spec.memoryBytes !== undefined) args.push("--memory", `${spec.memoryBytes}b`);
  for (const host of spec.extraHosts ?? []) {
    for (const hostname of host.hostnames) args.push("--add-host", `${hostname}:${host.ip}`);
  }
  for (const u of spec.ulimits ?? []) args.push("--ulimit", `${u.name}=${u.soft}:${u.hard}`);
  if (spec.workdir) args.push("--workdir", spec.workdir);
  if (spec.user) args.push("--user", spec.user);
  if (spec.stopTimeoutSeconds !== undefined) args.push("--stop-timeout", String(spec.stopTimeoutSeconds));
  args.push("--", spec.image, ...(spec.command ?? []));
  return args;
}

export function startArgs(name: string): string[] {
  return ["start", "--", name];
}

export function stopArgs(name: string, timeoutSeconds?: number): string[] {
  return timeoutSeconds === undefined ? ["stop", "--", name] : ["stop", "--time", String(timeoutSeconds), "--", name];
}

/** `podman rm`; with force the node is killed at once (`--time 0`) instead of after podman's 10 s grace. */
export function removeArgs(name: string, force: boolean): string[] {
  return force ? ["rm", "--volumes", "--force", "--time", "0", "--", name] : ["rm", "--volumes", "--", name];
}

/** Exit status 0 when the container exists, 1 when not. */
export function containerExistsArgs(name: string): string[] {
  return ["container", "exists", "--", name];
}

export function inspectArgs(names: string[]): string[] {
  return ["container", "inspect", "--format", "json", "--", ...names];
}

/** Every container (any state), pre-selected by label keys. */
export function listArgs(filter?: LabelFilter): string[] {
  return ["ps", "--all", "--format", "json", ...labelFilterArgs(filter)];
}

/** Every container attached to a network (any state). */
export function listOnNetworkArgs(network: string): string[] {
  return ["ps", "--all", "--format", "json", "--filter", `network=${network}`];
}

export interface ExecArgsOptions {
  interactive?: boolean;
  env?: Record<string, string>;
  workdir?: string;
  user?: string;
}

export function execArgs(name: string, command: string[], options: ExecArgsOptions = {}): string[] {
  const args = ["exec"];
  if (options.interactive) args.push("--interactive");
  for (const [k, v] of Object.entries(options.env ?? {})) args.push("--env", `${k}=${v}`);
  if (options.workdir) args.push("--workdir", options.workdir);
  if (options.user) args.push("--user", options.user);
  args.push("--", name, ...command);
  return args;
}

export interface LogsArgsOptions {
  follow?: boolean;
  since?: string | Date;
  tail?: number;
}

export function logsArgs(name: string, options: LogsArgsOptions = {}): string[] {
  const args = ["logs"];
  if (options.follow) args.push("--follow");
  if (options.since !== undefined) {
    args.push("--since", options.since instanceof Date ? options.since.toISOString() : options.since);
  }
  if (options.tail !== undefined) args.push("--tail", String(options.tail));
  args.push("--", name);
  return args;
}

/** Copies a tar stream from stdin into the container's root. */
export function copyInArgs(name: string): string[] {
  return ["cp", "-", `${name}:/`];
}

/** Copies one path out of the container as a tar stream on stdout. */
export function copyOutArgs(name: string, path: string): string[] {
  return ["cp", `${name}:${path}`, "-"];
}

// ------------------------------------------------------------------------------------ networks

export function networkCreateArgs(spec: NetworkSpec): string[] {
  const args = ["network", "create", ...labelArgs(spec.labels)];
  if (spec.subnet) args.push("--subnet", spec.subnet);
  args.push("--", spec.name);
  return args;
}

export function networkInspectArgs(name: string): string[] {
  return ["network", "inspect", "--format", "json", "--", name];
}

/** Networks with every label key of the filter (values are matched by the caller: podman's filter cannot say "any value"). */
export function networkListArgs(filter?: LabelFilter): string[] {
  return ["network", "ls", "--format", "json", ...labelFilterArgs(filter)];
}

/** Exit status 0 when the network exists, 1 when not. */
export function networkExistsArgs(name: string): string[] {
  return ["network", "exists", "--", name];
}

export function networkRemoveArgs(name: string, force = false): string[] {
  return ["network", "rm", ...(force ? ["--force"] : []), "--", name];
}

export function networkConnectArgs(network: string, node: string, options: { aliases?: string[]; ipv4?: string } = {}): string[] {
  const args = ["network", "connect"];
  for (const alias of options.aliases ?? []) args.push("--alias", alias);
  if (options.ipv4) args.push("--ip", options.ipv4);
  args.push("--", network, node);
  return args;
}

export function networkDisconnectArgs(network: string, node: string): string[] {
  return ["network", "disconnect", "--", network, node];
}

// ------------------------------------------------------------------------------------ volumes

export function volumeCreateArgs(spec: VolumeSpec): string[] {
  return ["volume", "create", ...labelArgs(spec.labels), "--", spec.name];
}

export function volumeInspectArgs(name: string): string[] {
  return ["volume", "inspect", "--format", "json", "--", name];
}

export function volumeRemoveArgs(name: string): string[] {
  return ["volume", "rm", "--", name];
}

export function volumeListArgs(filter?: LabelFilter): string[] {
  return ["volume", "ls", "--format", "json", ...labelFilterArgs(filter)];
}

// ------------------------------------------------------------------------------------ images

/** Exit status 0 when the image exists, 1 when not. */
export function imageExistsArgs(ref: string): string[] {
  return ["image", "exists", "--", ref];
}

/** The image's ID (64 hex digits, without `sha256:`). */
export function imageIdArgs(ref: string): string[] {
  return ["image", "inspect", "--format", "{{.Id}}", "--", ref];
}

export function pullArgs(ref: string): string[] {
  return ["pull", "--", ref];
}

/** A docker-save archive of the images on stdout (`-m` keeps several images apart). */
export function saveArgs(refs: string[]): string[] {
  return ["save", "--format", "docker-archive", "--multi-image-archive", "--", ...refs];
}

/** Loads an archive from stdin. */
export function loadArgs(): string[] {
  return ["load"];
}
