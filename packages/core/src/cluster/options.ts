/**
 * The cluster options whose values carry node filters, one row each: how a value is read, which filter
 * suffixes it allows, and what it is called in each source (the `cluster create` flag, the field of a k3ts
 * config item). The CLI's flags (`--port 8080:80@loadbalancer`), the SDK's options (`ports: ["8080:80@…"]`)
 * and the config files (`{ port: "8080:80", nodeFilters: [loadbalancer] }`, k3ts's and k3d's) read them through this one table.
 */
import { parseNodeFilter, splitFilters } from "./filters.js";
import { parseCapability, parseKeyValue, parsePortSpec, parseRuntimeLabel, parseVolumeSpec } from "./parse.js";
import type { ClusterSpec, Filtered } from "./spec.js";

type FilteredFields = { [K in keyof ClusterSpec]-?: NonNullable<ClusterSpec[K]> extends Array<Filtered<unknown>> ? K : never }[keyof ClusterSpec];
/** A cluster option that holds `VALUE@FILTER` items. */
export type FilteredOption = Exclude<FilteredFields, "files">;
/** The value one item of the option holds. */
export type FilteredValue<K extends FilteredOption> = NonNullable<ClusterSpec[K]>[number]["value"];

export interface FilteredOptionRow<T> {
  /** Reads one value (without its filters); an error names `where`. */
  parse: (text: string, where: string) => T;
  /** The suffixes its node filters may carry (`:proxy`, `:direct` for ports). */
  suffixes?: readonly string[];
  /** The `k3ts cluster create` flag, its one-letter alias, the name of its value, and its help line. */
  flag: string;
  short?: string;
  arg: string;
  help: string;
  /** The field of a k3ts config file's item that holds the value (`{ port: …, nodeFilters: […] }`). */
  fileField: string;
  /** Where k3d's Simple config keeps the option (a path of fields) and its items' value field; absent where k3d has none. */
  k3d?: { path: readonly string[]; field: string };
}

export const FILTERED_OPTIONS: { readonly [K in FilteredOption]: FilteredOptionRow<FilteredValue<K>> } = {
  ports: {
    parse: parsePortSpec, suffixes: ["proxy", "direct"],
    flag: "--port",
    short: "-p", arg: "spec", help: "[HOST:][HOSTPORT:]CONTAINERPORT[/PROTO][@FILTER] (repeatable), e.g. 8080:80@loadbalancer",
    fileField: "port", k3d: { path: ["ports"], field: "port" },
  },
  volumes: {
    parse: parseVolumeSpec,
    flag: "--volume",
    short: "-v", arg: "spec", help: "[SOURCE:]DEST[:ro][@FILTER] (repeatable)",
    fileField: "volume", k3d: { path: ["volumes"], field: "volume" },
  },
  env: {
    parse: (text, where) => parseKeyValue(text, where),
    flag: "--env",
    short: "-e", arg: "spec", help: "KEY[=VALUE][@FILTER] (repeatable)",
    fileField: "value", k3d: { path: ["env"], field: "envVar" },
  },
  k3sArgs: {
    parse: (text) => text,
    flag: "--k3s-arg",
    arg: "arg", help: "Extra k3s argument ARG[@FILTER] (repeatable), e.g. --disable=traefik@server:*",
    fileField: "value", k3d: { path: ["options", "k3s", "extraArgs"], field: "arg" },
  },
  nodeLabels: {
    parse: (text, where) => parseKeyValue(text, where),
    flag: "--k3s-node-label",
    arg: "label", help: "Kubernetes node label KEY[=VALUE][@FILTER] (repeatable)",
    fileField: "value", k3d: { path: ["options", "k3s", "nodeLabels"], field: "label" },
  },
  runtimeLabels: {
    parse: parseRuntimeLabel,
    flag: "--runtime-label",
    arg: "label", help: "Container label KEY[=VALUE][@FILTER] (repeatable)",
    fileField: "value", k3d: { path: ["options", "runtime", "labels"], field: "label" },
  },
  capAdd: {
    parse: parseCapability,
    flag: "--runtime-cap-add",
    arg: "cap", help: "Linux capability for the nodes CAP[@FILTER] (repeatable), e.g. SYS_ADMIN; for unprivileged nodes (--no-privileged)",
    fileField: "value",
  },
};

/** The options in the table's order. */
export const FILTERED_OPTION_NAMES = Object.keys(FILTERED_OPTIONS) as FilteredOption[];

/**
 * The cluster options that switch a node setting on for every k3s node (servers and agents, not the load balancer),
 * one row each: the flag and its help, the config files' description, where k3d keeps it, and the NodeSpec setting
 * it turns on. Off by default, and only what is on counts for an SDK cluster's identity.
 */
export interface SwitchOptionRow {
  flag: string;
  help: string;
  /** The k3ts config's and the Environment's description of the field. */
  description: string;
  /** Where k3d's Simple config keeps it, and from which config version. */
  k3d: { path: readonly string[]; since: 2 | 3 | 4 | 5 };
  /** The NodeSpec setting it turns on (the translate layers: the runtimes, the kit). */
  node: "hostPid";
}

export const SWITCH_OPTIONS = {
  hostPidMode: {
    flag: "--host-pid-mode",
    help: "Run servers and agents in the host's PID namespace (k3d's --host-pid-mode)",
    description: "run servers and agents in the host's PID namespace (default false)",
    k3d: { path: ["options", "runtime", "hostPidMode"], since: 4 },
    node: "hostPid",
  },
} as const satisfies Record<string, SwitchOptionRow>;

export type SwitchOption = keyof typeof SWITCH_OPTIONS;
export const SWITCH_OPTION_NAMES = Object.keys(SWITCH_OPTIONS) as SwitchOption[];

/** The node settings a spec's switches turn on. */
export function switchedNodeSettings(spec: Partial<Record<SwitchOption, boolean>>): Partial<Record<SwitchOptionRow["node"], true>> {
  return Object.fromEntries(SWITCH_OPTION_NAMES.filter((o) => spec[o] === true).map((o) => [SWITCH_OPTIONS[o].node, true]));
}

/** A value and its filters (already split) as the option reads them; errors name `where`. */
export function readFilteredParts<K extends FilteredOption>(option: K, value: string, filters: readonly string[], where: string): Filtered<FilteredValue<K>> {
  const row = FILTERED_OPTIONS[option] as FilteredOptionRow<FilteredValue<K>>;
  return { value: row.parse(value, where), filters: filters.map((f) => parseNodeFilter(f, where, row.suffixes ? { suffixes: row.suffixes } : {})) };
}

/** One `VALUE@FILTER;FILTER` string of the option (a flag's, an SDK option's); errors name `where`. */
export function readFilteredString<K extends FilteredOption>(option: K, text: string, where: string): Filtered<FilteredValue<K>> {
  const { value, filters } = splitFilters(text, where);
  return readFilteredParts(option, value, filters, where);
}
