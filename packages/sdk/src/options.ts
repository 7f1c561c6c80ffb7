/**
 * ClusterOptions → ClusterSpec: the strings `k3ts cluster create` accepts (`8080:80@loadbalancer`,
 * `K=V@server:0`, `90s`), parsed by core's own parsers, over core's defaults and the K3TS_IMAGE /
 * K3TS_LB_IMAGE environment, as the CLI builds its spec. Every error is INVALID_ARGUMENT naming the
 * option (`ports[1]: …`).
 */
import { randomBytes } from "node:crypto";
import { DEFAULT_CREATE_TIMEOUT_MS, DEFAULT_K3S_IMAGE, K3tsError, defaultClusterSpec, mergeSpec, type ClusterSpec, type ClusterSpecInput, type Filtered, type Logger, type MountSpec, type Progress, type Runtime } from "@k3ts/core";
import {
  FILTERED_OPTION_NAMES,
  SWITCH_OPTION_NAMES,
  VALUE_OPTION_NAMES,
  interleave,
  parseApiPort,
  parseDuration,
  parseHostAlias,
  parseMemory,
  parseHostImagesMirror,
  parseNodeFilter,
  readFilteredString,
  specField,
  specFromEnvironment,
  validateClusterName,
  valueRow,
  type ValueOption,
  type ValueRow,
  type VALUE_OPTIONS,
} from "@k3ts/core/internal";

/** How a cluster is described in a program: every field optional, in the CLI's string forms. */
export interface ClusterSpecOptions {
  /** Cluster name (lowercase letters, digits, `-`; at most 32). Default: `sdk-<random>`, or with `reuse`, `sdk-<spec hash>`. */
  name?: string;
  /** Default 1. */
  servers?: number;
  /** Default 0. */
  agents?: number;
  /** The k3s image. Default: K3TS_IMAGE, else core's default (rancher/k3s). Not with `k3sVersion`. */
  image?: string;
  /**
   * A k3s release, `v1.33.4-k3s1` (or `v1.33.4+k3s1` as `k3s --version` prints it): the image
   * `rancher/k3s:<version>` with `+` as `-` (image tags cannot hold `+`). Not with `image`.
   */
  k3sVersion?: string;
  /** The API endpoint on the host, `[HOST:]PORT` as `--api-port` takes it (`6443`, `127.0.0.1:6550`, `random`). Default: 127.0.0.1 and a free port. */
  api?: string;
  /** `[HOST:][HOSTPORT:]CONTAINERPORT[/PROTOCOL][@NODEFILTER]`, e.g. `8080:80@loadbalancer`. */
  ports?: string[];
  /** `[SOURCE:]DEST[:ro|rw][@NODEFILTER]`. */
  volumes?: string[];
  /** Node environment, `KEY=VALUE[@NODEFILTER]`. */
  env?: string[];
  /** Extra k3s arguments, `ARG[@NODEFILTER]`, e.g. `--disable=traefik@server:*`. */
  k3sArgs?: string[];
  /** Kubernetes node labels, `KEY=VALUE[@NODEFILTER]`. */
  nodeLabels?: string[];
  /** Container labels, `KEY=VALUE[@NODEFILTER]`. */
  runtimeLabels?: string[];
  /** Linux capabilities added to the nodes, `CAPABILITY[@NODEFILTER]` (e.g. `SYS_ADMIN` for unprivileged nodes whose containerd unpacks images). */
  capAdd?: string[];
  /** `IP:HOST[,HOST…]` entries for every node's /etc/hosts. */
  hostAliases?: string[];
  /** Join this existing network instead of creating `k3ts-NAME`. */
  network?: string;
  /** IPv4 CIDR for the created network. */
  subnet?: string;
  /** Cluster token; 32 random bytes when absent. */
  token?: string;
  /**
   * A named volume of the engine for server-0's k3s data directory (`/var/lib/rancher/k3s`: the
   * datastore, certificates, local-path volumes, images). It is not the cluster's: delete leaves it,
   * and a cluster made again on it starts with that data. k3s encrypts its data with the cluster
   * token, so `token` is required; one server and no agents (a new agent, or an embedded-etcd peer,
   * with the name of one the data remembers is refused by k3s).
   */
  dataVolume?: string;
  /** Memory limits (`512m`, `1g` or bytes). */
  memory?: { servers?: string | number; agents?: string | number };
  /** `false` for no load balancer; `{ image }` for another nginx image. Default: enabled, K3TS_LB_IMAGE or nginx. */
  loadBalancer?: boolean | { enabled?: boolean; image?: string };
  /** Nodes run privileged (real k3s needs it). Default true. */
  privileged?: boolean;
  /** Servers and agents share the host's PID namespace (k3d's `--host-pid-mode`). Default false. */
  hostPidMode?: boolean;
  /**
   * Run the host engine's images in the cluster with no import or push: a pull-only registry in this
   * process, serving the engine's images (only the layers a node lacks move), is the nodes' first
   * mirror of docker.io, `localhost` (Podman's `localhost/app:dev`), the registries in `mirrors` and,
   * where the k3s version reads it, every other registry (`*`). An image the engine does not have is
   * pulled from its registry as before. It runs from before the nodes start until the handle is
   * disposed or the cluster deleted (or the program ends); its cache, under
   * `$XDG_STATE_HOME/k3ts/host-images/<cluster>`, goes with the cluster. Needs the nodes to reach the
   * host at the network's gateway (a rootful engine on Linux). Default false.
   */
  hostImages?: boolean | { mirrors?: string[] };
  /** Wait for the API and every node to be Ready. Default true. */
  wait?: boolean;
  /** Give up (and roll back) after this long: a duration (`90s`, `5m`) or milliseconds; 0 = no limit. Default 5m. */
  timeout?: string | number;
  /** Remove what a failed create made. Default true. */
  rollback?: boolean;
}

/** Everything {@link createCluster} takes. */
export interface ClusterOptions extends ClusterSpecOptions {
  /**
   * The container runtime: a Runtime instance (e.g. from @k3ts/runtime-docker), or a runtime name
   * (`docker`, `podman`, a plugin package or a path) loaded by core's plugin loader. Default:
   * K3TS_RUNTIME. The sdk never guesses one.
   */
  runtime?: Runtime | string;
  /** Attach to an existing cluster of this name when it was made from the same spec (else an error naming what differs). Implies `keep` unless `keep: false`. */
  reuse?: boolean;
  /** Leave the cluster when the process exits and when the handle is disposed. Default false (true with `reuse`). */
  keep?: boolean;
  /**
   * Unless the cluster is kept, register it with the reaper: a detached watchdog process (one per
   * program) that deletes it when the program ends without doing so (process.exit(), an uncaught
   * exception, SIGKILL, a crash). Needs a runtime given by name, or a Runtime instance of a built-in
   * runtime (`docker`, `podman`, made again from the environment). Default true; `false` or
   * K3TS_REAPER=0 in the environment turn it off.
   */
  reaper?: boolean;
  /** Merge the cluster into the kubeconfig file (and switch to its context). Default false: programs leave ~/.kube/config alone. */
  updateKubeconfig?: boolean | { switchContext?: boolean };
  /** The kubeconfig file `updateKubeconfig` writes (default $KUBECONFIG's first file or ~/.kube/config). */
  kubeconfigPath?: string;
  signal?: AbortSignal;
  logger?: Logger;
  progress?: Progress;
  /** The environment K3TS_RUNTIME, K3TS_IMAGE, K3TS_LB_IMAGE and K3TS_REAPER are read from (default process.env). */
  environment?: Record<string, string | undefined>;
}

/** The SDK's default timeout: a program should not wait forever for a cluster that never comes up (the CLI's too). */
export const DEFAULT_TIMEOUT_MS = DEFAULT_CREATE_TIMEOUT_MS;

/** The value options of core's table the sdk takes (servers … rollback), in the table's order. */
const VALUE_OPTIONS_TAKEN = VALUE_OPTION_NAMES.filter((option) => valueRow(option).sdk);

const KNOWN: ReadonlySet<string> = new Set<string>([
  "name",
  ...interleave((option) => (valueRow(option).sdk ? [option] : []), {
    image: ["k3sVersion", "api", ...FILTERED_OPTION_NAMES, "hostAliases"],
    token: ["dataVolume"],
    privileged: ["hostImages"],
  }),
  "runtime", "reuse", "keep", "reaper", "updateKubeconfig", "kubeconfigPath", "signal", "logger", "progress", "environment",
  ...SWITCH_OPTION_NAMES,
]);

/** Each option of core's table the sdk takes is a field of ClusterSpecOptions (the compiler says which is missing). */
type TakenOption = { [K in ValueOption]: (typeof VALUE_OPTIONS)[K] extends { sdk: object } ? K : never }[ValueOption];
const everyTakenOptionIsTyped: TakenOption extends keyof ClusterSpecOptions ? true : never = true;
void everyTakenOptionIsTyped;

function invalid(where: string, message: string, value?: unknown): K3tsError<"INVALID_ARGUMENT"> {
  return new K3tsError("INVALID_ARGUMENT", `${where}: ${message}`, { meta: { where, ...(value === undefined ? {} : { value }) } });
}

function count(value: unknown, where: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw invalid(where, `${JSON.stringify(value)} is not a whole number of at least ${min}`, value);
  }
  return value;
}

function text(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") throw invalid(where, `${JSON.stringify(value)} is not a non-empty string`, value);
  return value;
}

function flag(value: unknown, where: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw invalid(where, `${JSON.stringify(value)} is not true or false`, value);
  return value;
}

function list(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(where, "want an array of strings", value);
  return value.map((v, i) => {
    if (typeof v !== "string") throw invalid(`${where}[${i}]`, `${JSON.stringify(v)} is not a string`, v);
    return v;
  });
}

/** One value of core's table of value options, as its kind reads an SDK option (a string in the CLI's form, or a number). */
function value(row: ValueRow, v: unknown, where: string): unknown {
  switch (row.kind) {
    case "count":
      return count(v, where, row.min ?? 0);
    case "switch":
      return flag(v, where);
    case "text": {
      const t = text(v, where);
      return t !== undefined && row.parse ? row.parse(t, where) : t;
    }
    case "duration":
      if (v === undefined) return undefined;
      if (typeof v === "number") return count(v, where, 0);
      if (typeof v === "string") return parseDuration(v, where);
      throw invalid(where, `${JSON.stringify(v)} is neither a duration such as 90s nor milliseconds`, v);
    case "size":
      if (v === undefined) return undefined;
      if (typeof v === "number") return count(v, where, 1);
      if (typeof v === "string") return parseMemory(v, where);
      throw invalid(where, `${JSON.stringify(v)} is neither a size such as 512m nor a number of bytes`, v);
  }
}

/** An option of core's table as the sdk takes it: one value, or an object of its fields (or true/false for its shorthand field). */
function valueOption(name: (typeof VALUE_OPTION_NAMES)[number], v: unknown): unknown {
  const row = valueRow(name);
  if (row.kind !== "object") return value(row, v, name);
  if (v === undefined) return undefined;
  if (row.sdkShorthand !== undefined && typeof v === "boolean") return { [row.sdkShorthand]: v };
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    const fields = Object.keys(row.fields).map((f) => `${f}?`).join(", ");
    throw invalid(name, `want ${row.sdkShorthand !== undefined ? "true, false or " : ""}{ ${fields} }`, v);
  }
  const o = v as Record<string, unknown>;
  const out = Object.fromEntries(Object.entries(row.fields).map(([field, fieldRow]) => [field, value(fieldRow, o[field], `${name}.${field}`)]).filter(([, x]) => x !== undefined));
  return Object.keys(out).length ? out : undefined;
}

/** `hostImages`: off (absent from the spec, so it leaves the spec hash alone), or on with the registries it mirrors besides the defaults. */
function hostImages(value: unknown): ClusterSpecInput["hostImages"] {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { mirrors: [] };
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid("hostImages", "want true, false or { mirrors?: string[] }", value);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) if (key !== "mirrors") throw invalid(`hostImages.${key}`, "unknown option (known: mirrors)");
  return { mirrors: [...new Set(list(o.mirrors, "hostImages.mirrors").map((m, i) => parseHostImagesMirror(m, `hostImages.mirrors[${i}]`)))] };
}

/** k3s's data directory, where `dataVolume` is mounted. */
const K3S_DATA_DIR = "/var/lib/rancher/k3s";

/** A k3s release as its image tags and `k3s --version` spell it: v1.33.4-k3s1, v1.30.0-rc1+k3s2. */
const K3S_VERSION = /^v\d+\.\d+\.\d+(?:-rc\d+)?[+-]k3s\d+$/;

/** `image`, or the image of `k3sVersion` in core's default repository (the two conflict). */
function k3sImage(o: Record<string, unknown>): string | undefined {
  const image = text(o.image, "image");
  const version = text(o.k3sVersion, "k3sVersion");
  if (version === undefined) return image;
  if (image !== undefined) throw invalid("k3sVersion", `conflicts with image ${JSON.stringify(image)}: give one of k3sVersion and image`, version);
  if (!K3S_VERSION.test(version)) throw invalid("k3sVersion", `${JSON.stringify(version)} is not a k3s release (want e.g. v1.33.4-k3s1)`, version);
  return `${DEFAULT_K3S_IMAGE.slice(0, DEFAULT_K3S_IMAGE.lastIndexOf(":"))}:${version.replace("+", "-")}`;
}

/** A volume name as Docker and Podman accept it. */
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * `dataVolume`: the named volume at server-0's k3s data directory, as a `volumes` entry; checked
 * against what k3s needs to start again on the data it holds (see {@link ClusterSpecOptions.dataVolume}).
 */
function dataVolume(o: Record<string, unknown>, volumes: Array<Filtered<MountSpec>> | undefined): Filtered<MountSpec> | undefined {
  const name = text(o.dataVolume, "dataVolume");
  if (name === undefined) return undefined;
  if (!VOLUME_NAME.test(name)) throw invalid("dataVolume", `${JSON.stringify(name)} is not a volume name (letters, digits, _, . and -, starting with a letter or digit)`, name);
  const why = "k3s on the volume's data refuses";
  if (o.token === undefined) throw invalid("dataVolume", `needs token: k3s encrypts its data with the cluster token, and a cluster made again on volume ${name} must have the same one`);
  if ((o.servers ?? 1) !== 1) throw invalid("dataVolume", `only with one server (servers is ${JSON.stringify(o.servers)}): ${why} embedded-etcd peers at new addresses`);
  if ((o.agents ?? 0) !== 0) throw invalid("dataVolume", `only without agents (agents is ${JSON.stringify(o.agents)}): ${why} a new agent with the name and another node password of one it remembers`);
  const i = (volumes ?? []).findIndex((v) => v.value.target === K3S_DATA_DIR);
  if (i >= 0) throw invalid("dataVolume", `conflicts with volumes[${i}], which mounts ${K3S_DATA_DIR} too`);
  return { value: { source: name, target: K3S_DATA_DIR, readOnly: false }, filters: [parseNodeFilter("server:0", "dataVolume")] };
}

/** A fresh cluster name: `sdk-` and 8 random hex digits. */
export function randomClusterName(): string {
  return `sdk-${randomBytes(4).toString("hex")}`;
}

/** What the options say about the cluster (core's ClusterSpecInput); absent options are left out. */
export function specInput(options: ClusterOptions): ClusterSpecInput {
  if (typeof options !== "object" || options === null) throw invalid("options", "want an object", options);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw invalid(key, `unknown option (known: ${[...KNOWN].join(", ")})`);
  }
  const o = options as Record<string, unknown>;
  const api = text(o.api, "api");
  const input: ClusterSpecInput = {
    name: o.name === undefined ? undefined : validateClusterName(text(o.name, "name")!, "name"),
    ...Object.fromEntries(VALUE_OPTIONS_TAKEN.map((name) => [specField(name), valueOption(name, o[name])])),
    image: k3sImage(o),
    api: api ? parseApiPort(api, "api") : undefined,
    ...Object.fromEntries(FILTERED_OPTION_NAMES.map((option) => [option, list(o[option], option).map((raw, i) => readFilteredString(option, raw, `${option}[${i}]`))])),
    hostAliases: list(o.hostAliases, "hostAliases").map((h, i) => parseHostAlias(h, `hostAliases[${i}]`)),
    hostImages: hostImages(o.hostImages),
    ...Object.fromEntries(SWITCH_OPTION_NAMES.map((option) => [option, flag(o[option], option)])),
  };
  // The sdk's own default: a program should not wait forever for a cluster that never comes up.
  input.timeoutMs ??= DEFAULT_TIMEOUT_MS;
  const data = dataVolume(o, input.volumes);
  if (data) input.volumes = [...(input.volumes ?? []), data];
  flag(o.reuse, "reuse");
  flag(o.keep, "keep");
  flag(o.reaper, "reaper");
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as ClusterSpecInput;
}

/**
 * The ClusterSpec {@link createCluster} creates: options > environment (K3TS_IMAGE, K3TS_LB_IMAGE) >
 * core's defaults, with the sdk's own defaults (no kubeconfig change unless asked, a 5 minute
 * timeout). Without a name, `nameless` supplies one (a random one by default).
 */
/** The sdk's own `k3ts.io/` container labels for an options object (up's environment label): past the check user input gets. */
const sdkLabels = new WeakMap<ClusterOptions, Record<string, string>>();

/** @internal Options with labels of the sdk's own added (not exported from the package). */
export function withSdkLabels<T extends ClusterOptions>(options: T, labels: Record<string, string>): T {
  const copy = { ...options };
  sdkLabels.set(copy, labels);
  return copy;
}

export function clusterSpec(options: ClusterOptions, nameless: (spec: ClusterSpec) => string = randomClusterName): ClusterSpec {
  const input = specInput(options);
  const own = Object.entries(sdkLabels.get(options) ?? {}).map(([key, value]) => ({ value: { key, value }, filters: [] }));
  if (own.length) input.runtimeLabels = [...(input.runtimeLabels ?? []), ...own];
  const update = options.updateKubeconfig;
  if (update !== undefined && typeof update !== "boolean" && (typeof update !== "object" || update === null)) {
    throw invalid("updateKubeconfig", "want true, false or { switchContext? }", update);
  }
  const kubeconfig = {
    update: update !== undefined && update !== false,
    switchContext: typeof update === "object" ? (flag(update.switchContext, "updateKubeconfig.switchContext") ?? true) : true,
  };
  const spec = mergeSpec(defaultClusterSpec(), specFromEnvironment(options.environment ?? process.env), { ...input, kubeconfig });
  if (input.name === undefined) spec.name = nameless(spec);
  return spec;
}
