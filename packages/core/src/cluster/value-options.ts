/**
 * The cluster options that hold one value (a count, a text, a duration, a size, a switch) or a few named ones
 * (memory per role, the load balancer, the kubeconfig settings), one row each: the `cluster create` flag and its
 * help, the k3ts config field and its JSON-schema fragment, the SDK option and the Environment's schema fragment,
 * where k3d keeps it, and whether it counts for the SDK's spec hash. The CLI's flags, the SDK's options, both
 * config readers, the schemas, mergeSpec and `config convert` iterate this table; the row's kind says how each
 * of them reads and writes the value. (The VALUE@FILTER lists and the switches are in options.ts.)
 *
 * Not here, hand-written in each reader: `api` (one `[HOST:]PORT` string on the CLI and in the SDK, three fields
 * with their own checks in each file format, replaced as a whole by mergeSpec) and `registries` (three flags, one
 * reading a file, merged field by field with `use` lists added up), besides the lists (host aliases, files,
 * ulimits) and hostImages.
 */
import { parseSubnet, subnetProblem } from "./parse.js";
import type { ClusterSpec } from "./spec.js";

type JsonSchema = Record<string, unknown>;

/** What a config reader reports to (core's config Collector). */
export interface ValueReport {
  problem(pointer: string, message: string): void;
  notice(pointer: string, reason: string): void;
}

/** A `cluster create` flag: `-s, --servers <count>` and its help line. */
export interface FlagHelp {
  flag: string;
  short?: string;
  arg?: string;
  help: string;
}

/**
 * How a value reads, everywhere:
 * - count: a whole number of at least `min` (flag `--servers 3`, SDK `servers: 3`, file `servers: 3`);
 * - text: a non-empty string, checked by `parse` where the row has one (an empty one is no value);
 * - duration: `90s`, `5m` as core's parseDuration reads them, milliseconds in the spec (the SDK also takes a number of ms);
 * - size: `512m`, `1g` as core's parseMemory reads them, bytes in the spec (the SDK also takes a number of bytes);
 * - switch: true or false (`--wait`, `--wait=false`; with `negated`, the flag is `--no-x` and only turns it off).
 */
export type ValueKind = "count" | "text" | "duration" | "size" | "switch";

/** One value: how it reads, its flag, its k3ts file schema, and where k3d keeps it. */
export interface ValueRow extends FlagHelp {
  kind: ValueKind;
  /** count: the least value. */
  min?: number;
  /** text: checks and normalises the string (a flag's value, an SDK option, a file field); errors name `where`. */
  parse?: (text: string, where: string) => string | undefined;
  /** text: reads a config file's string instead of `parse` (problems and notices go to `report`; undefined: no value). */
  fileRead?: (report: ValueReport, text: string, pointer: string, format: "k3ts" | "k3d") => string | undefined;
  /** A flag error names the flag and the value (`--subnet 10.0.0.0/33: …`), not the flag alone. */
  whereHasValue?: true;
  /** switch: the flag is `--no-FLAG` (help) and only turns the value off; `flag` is the option cac reads (`--rollback`). */
  negated?: true;
  /** Further flags that give the value, for the help (the CLI's reader for the row reads them). */
  moreFlags?: readonly FlagHelp[];
  /** The k3ts config field's JSON schema. */
  schema: JsonSchema;
  /** Where k3d's Simple config keeps it (a path of fields); `invert` for k3d's `disableX` switches. */
  k3d?: { path: readonly string[]; invert?: true };
}

/** What every option row says besides its values. */
interface OptionRowBase {
  /** The SDK's option and the Environment's `spec.cluster` field: its JSON schema. Absent: no SDK option. */
  sdk?: JsonSchema;
  /** Counts for the SDK's spec hash (what makes two clusters the same, not what only steers the create). */
  hash: boolean;
}

/** An option with one value, the ClusterSpec field `spec` (default: the option's name). */
export interface ScalarOptionRow extends ValueRow, OptionRowBase {
  spec?: keyof ClusterSpec;
}

/** An option with named values (`memory: { servers, agents }`), each a value row; merged field by field. */
export interface ObjectOptionRow extends OptionRowBase {
  kind: "object";
  fields: Readonly<Record<string, ValueRow>>;
  /** The k3ts config's description of the object. */
  description?: string;
  /** The SDK's `true`/`false` stands for this field (`loadBalancer: false` is `{ enabled: false }`). */
  sdkShorthand?: string;
}

export type ValueOptionRow = ScalarOptionRow | ObjectOptionRow;

const text = (description: string): JsonSchema => ({ type: "string", description });
const nonEmpty = (description: string): JsonSchema => ({ type: "string", minLength: 1, description });
const flag = (description: string): JsonSchema => ({ type: "boolean", description });
const object = (properties: Record<string, JsonSchema>, extra: JsonSchema = {}): JsonSchema => ({ type: "object", properties, additionalProperties: false, ...extra });

/** An empty value is no value (a file's `network: ""`, k3d's zero values). */
const orUnset = (value: string): string | undefined => value || undefined;

/** A subnet in a file: k3d's `auto` is a notice (k3ts's own format does not take it); a bad one is a problem. */
function fileSubnet(report: ValueReport, subnet: string, pointer: string, format: "k3ts" | "k3d"): string | undefined {
  const allowAuto = format === "k3d";
  if (subnet === "auto" && allowAuto) {
    report.notice(pointer, "\"auto\" is what k3ts does without a subnet: the engine picks it (servers with embedded etcd still get fixed addresses in it)");
    return undefined;
  }
  const problem = subnetProblem(subnet);
  if (problem) {
    report.problem(pointer, allowAuto ? problem.replace(/\)$/, " or auto)") : problem);
    return undefined;
  }
  return subnet;
}

export const VALUE_OPTIONS = {
  servers: {
    kind: "count", min: 1,
    flag: "--servers", short: "-s", arg: "count", help: "Server nodes (3 or more for HA with embedded etcd; default 1)",
    schema: { type: "integer", minimum: 1, description: "server nodes (3 or more: HA with embedded etcd); default 1" },
    sdk: { type: "integer", minimum: 1, description: "server nodes; default 1" },
    k3d: { path: ["servers"] },
    hash: true,
  },
  agents: {
    kind: "count", min: 0,
    flag: "--agents", short: "-a", arg: "count", help: "Agent nodes (default 0)",
    schema: { type: "integer", minimum: 0, description: "agent nodes; default 0" },
    sdk: { type: "integer", minimum: 0, description: "agent nodes; default 0" },
    k3d: { path: ["agents"] },
    hash: true,
  },
  image: {
    kind: "text",
    flag: "--image", short: "-i", arg: "image", help: "k3s image (env K3TS_IMAGE)",
    fileRead: (report, image, pointer, format) => {
      if (format === "k3d" && (image === "latest" || image === "stable" || image.startsWith("+"))) {
        report.notice(pointer, `k3ts does not look up k3s release channels (${JSON.stringify(image)}); it uses its default image or --image / K3TS_IMAGE`);
        return undefined;
      }
      return image;
    },
    schema: nonEmpty("k3s image"),
    sdk: nonEmpty("k3s image"),
    k3d: { path: ["image"] },
    hash: true,
  },
  network: {
    kind: "text", parse: orUnset,
    flag: "--network", arg: "name", help: "Join an existing network (kept when the cluster is deleted)",
    fileRead: (report, network, pointer, format) => {
      if (format === "k3d" && network === "host") {
        report.problem(pointer, "the host network is not supported by k3ts (nodes need their own network); drop it or name a bridge network");
        return undefined;
      }
      return network;
    },
    schema: text("existing network to join (kept when the cluster is deleted)"),
    sdk: nonEmpty("existing network to join instead of creating k3ts-NAME"),
    k3d: { path: ["network"] },
    hash: true,
  },
  subnet: {
    kind: "text", parse: parseSubnet, whereHasValue: true, fileRead: fileSubnet,
    flag: "--subnet", arg: "cidr", help: "IPv4 subnet for the cluster network",
    schema: text("IPv4 CIDR for the created network"),
    sdk: nonEmpty("IPv4 CIDR for the created network"),
    k3d: { path: ["subnet"] },
    hash: true,
  },
  token: {
    kind: "text", parse: orUnset,
    flag: "--token", arg: "token", help: "Cluster token (default: K3TS_TOKEN, else random from a CSPRNG); --token-file keeps it out of ps and shell history",
    moreFlags: [{ flag: "--token-file", arg: "file", help: "Read the cluster token from a file (its first line)" }],
    schema: text("cluster token (default: random)"),
    sdk: nonEmpty("cluster token (default: random)"),
    k3d: { path: ["token"] },
    hash: false,
  },
  wait: {
    kind: "switch",
    flag: "--wait", help: "Wait for the API and every node to be Ready (default; --wait=false to return at once)",
    schema: flag("wait for the API and every node to be Ready (default true)"),
    sdk: flag("wait for the API and every node to be Ready (default true)"),
    k3d: { path: ["options", "k3d", "wait"] },
    hash: false,
  },
  timeout: {
    kind: "duration", spec: "timeoutMs",
    flag: "--timeout", arg: "duration", help: "Give up after this long (e.g. 60s, 2m; 0 = no limit); create rolls back (create's default: 5m)",
    schema: text("give up after this long, e.g. 60s or 5m (default: no limit)"),
    sdk: { type: ["string", "integer"], minimum: 0, description: "give up (and roll back) after this long: a duration (90s, 5m) or milliseconds; 0 = no limit (default 5m)" },
    k3d: { path: ["options", "k3d", "timeout"] },
    hash: false,
  },
  loadBalancer: {
    kind: "object",
    fields: {
      enabled: {
        kind: "switch", negated: true,
        flag: "--lb", help: "No load balancer: the API is published on server-0",
        schema: flag("run the load balancer (default true)"),
        k3d: { path: ["options", "k3d", "disableLoadbalancer"], invert: true },
      },
      image: {
        kind: "text",
        flag: "--lb-image", arg: "image", help: "nginx image for the load balancer (env K3TS_LB_IMAGE)",
        schema: { type: "string", minLength: 1 },
      },
    },
    sdkShorthand: "enabled",
    sdk: {
      type: ["boolean", "object"],
      properties: { enabled: flag("run the load balancer (default true)"), image: nonEmpty("nginx image for the load balancer") },
      additionalProperties: false,
      description: "false for no load balancer; { image } for another nginx image (default: enabled)",
    },
    hash: true,
  },
  rollback: {
    kind: "switch", negated: true,
    flag: "--rollback", help: "Keep what was created when create fails",
    schema: flag("remove what a failed create made (default true)"),
    sdk: flag("remove what a failed create made (default true)"),
    k3d: { path: ["options", "k3d", "disableRollback"], invert: true },
    hash: false,
  },
  memory: {
    kind: "object",
    fields: {
      servers: {
        kind: "size",
        flag: "--servers-memory", arg: "size", help: "Memory limit per server (e.g. 1g)",
        schema: text("memory limit per server, e.g. 1g"),
        k3d: { path: ["options", "runtime", "serversMemory"] },
      },
      agents: {
        kind: "size",
        flag: "--agents-memory", arg: "size", help: "Memory limit per agent (e.g. 512m)",
        schema: text("memory limit per agent, e.g. 512m"),
        k3d: { path: ["options", "runtime", "agentsMemory"] },
      },
    },
    sdk: object({
      servers: { type: ["string", "integer"], description: "memory limit per server: 512m, 1g or bytes" },
      agents: { type: ["string", "integer"], description: "memory limit per agent: 512m, 1g or bytes" },
    }),
    hash: true,
  },
  privileged: {
    kind: "switch", negated: true,
    flag: "--privileged", help: "Run nodes unprivileged (real k3s needs privileged nodes)",
    schema: flag("run nodes privileged (real k3s needs it; default true)"),
    sdk: flag("run nodes privileged (real k3s needs it; default true)"),
    hash: true,
  },
  kubeconfig: {
    kind: "object",
    fields: {
      update: {
        kind: "switch",
        flag: "--kubeconfig-update-default", help: "Merge into the default kubeconfig (default; =false to skip)",
        schema: flag("merge into the default kubeconfig (default true)"),
        k3d: { path: ["options", "kubeconfig", "updateDefaultKubeconfig"] },
      },
      switchContext: {
        kind: "switch",
        flag: "--kubeconfig-switch-context", help: "Make the new context current (default; =false to keep it)",
        schema: flag("make the context current (default true)"),
        k3d: { path: ["options", "kubeconfig", "switchCurrentContext"] },
      },
    },
    // The SDK's own option is updateKubeconfig (programs leave ~/.kube/config alone by default).
    hash: false,
  },
} as const satisfies Record<string, ValueOptionRow>;

export type ValueOption = keyof typeof VALUE_OPTIONS;
/** The options with named values (merged field by field). */
export type ObjectOption = { [K in ValueOption]: (typeof VALUE_OPTIONS)[K] extends { kind: "object" } ? K : never }[ValueOption];
/** The options in the table's order (the order of the help, of a k3ts file's spec, of `config convert`'s output). */
export const VALUE_OPTION_NAMES = Object.keys(VALUE_OPTIONS) as ValueOption[];

/** The row of an option, typed as its kind's row. */
export function valueRow(option: ValueOption): ValueOptionRow {
  return VALUE_OPTIONS[option];
}

/** The ClusterSpec field an option sets (`timeout` → `timeoutMs`). */
export function specField(option: ValueOption): keyof ClusterSpec {
  const row = valueRow(option);
  // An option whose name is not its field says the field in `spec`.
  return (row.kind !== "object" && row.spec) || (option as keyof ClusterSpec);
}

/** The `cluster create` flags of a value (its `--no-x` form for a negated switch, then its further flags). */
export function flagHelps(row: ValueRow): FlagHelp[] {
  return [{ ...row, flag: row.negated ? `--no-${row.flag.slice(2)}` : row.flag }, ...(row.moreFlags ?? [])];
}

/** The `cluster create` flags of an option in help order. */
export function optionFlagHelps(option: ValueOption): FlagHelp[] {
  const row = valueRow(option);
  return row.kind === "object" ? Object.values(row.fields).flatMap(flagHelps) : flagHelps(row);
}

/** Builds an ordered list from the table's options, with hand-written items placed after the option they follow. */
export function interleave<T>(each: (option: ValueOption) => T[], after: Partial<Record<ValueOption, T[]>> = {}): T[] {
  return VALUE_OPTION_NAMES.flatMap((option) => [...each(option), ...(after[option] ?? [])]);
}
