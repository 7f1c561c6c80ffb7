import { K3tsError } from "@k3ts/core";
import { FILTERED_OPTIONS, FILTERED_OPTION_NAMES, SWITCH_OPTIONS, SWITCH_OPTION_NAMES, interleave, optionFlagHelps, type FlagHelp } from "@k3ts/core/internal";
import { STDIN_ARG, imageCommands } from "./image/index.js";
import { CONFIG_OPTION, configCommands } from "./config/index.js";
import { registryCommands } from "./registry/index.js";
import { flagKey } from "../flags.js";

export type { CommandHandler, CommandSpec, OptionSpec } from "./spec.js";
import type { CommandSpec, OptionSpec } from "./spec.js";

import { OUTPUT_OPTION, YES_OPTION } from "./spec.js";

const ALL: OptionSpec = { flags: "-a, --all", description: "Every cluster" };
const KUBECONFIG_FILE: OptionSpec = { flags: "--kubeconfig <file>", description: "Kubeconfig file to update (default: $KUBECONFIG's first file, else ~/.kube/config)" };
const WAIT: OptionSpec = { flags: "--wait", description: "Wait for the API and every node to be Ready (--wait=false to return at once)", default: true };
/** cluster edit's and node edit's port changes. */
const PORT_EDITS: OptionSpec[] = [
  { flags: "--port-add <spec>", description: "[HOST:][HOSTPORT:]CONTAINERPORT[/PROTO][@FILTER] (repeatable)" },
  { flags: "--port-delete <spec>", description: "[HOST:][HOSTPORT:]CONTAINERPORT[/PROTO] to stop forwarding (repeatable)" },
];
/** A flag of core's option tables as cac takes it. */
const optionSpec = ({ flag, short, arg, help }: FlagHelp): OptionSpec => ({ flags: `${short ? `${short}, ` : ""}${flag}${arg ? ` <${arg}>` : ""}`, description: help });
const TIMEOUT: OptionSpec = { flags: "--timeout <duration>", description: "Give up after this long (e.g. 60s, 2m; 0 = no limit); create rolls back (create's default: 5m)" };

export const commands: CommandSpec[] = [
  {
    name: "version",
    description: "Print the versions of k3ts, its runtime API and Node.js",
    options: [OUTPUT_OPTION],
    examples: ["k3ts version", "k3ts version -o json"],
    load: () => import("./version.js"),
  },
  {
    name: "cluster create",
    args: "[name]",
    description: "Create a k3s cluster (default name k3s-default) and merge its kubeconfig",
    options: [
      CONFIG_OPTION,
      // The value options (servers … kubeconfig) as core's table declares them, the other flags after the option they follow.
      ...interleave((o) => optionFlagHelps(o).map(optionSpec), {
        image: [
          { flags: "--api-port <[host:]port>", description: "Where the Kubernetes API is published (default 127.0.0.1 and a free port)" },
          // The VALUE@FILTER flags, as core's table of filtered options declares them.
          ...FILTERED_OPTION_NAMES.map((o) => optionSpec(FILTERED_OPTIONS[o])),
          // The switches (off unless given), from the same table.
          ...SWITCH_OPTION_NAMES.map((o): OptionSpec => ({ flags: SWITCH_OPTIONS[o].flag, description: SWITCH_OPTIONS[o].help })),
        ],
        memory: [{ flags: "--host-alias <ip:host[,host]>", description: "Extra /etc/hosts entry in every node (repeatable)" }],
        privileged: [
          { flags: "--registry-create <NAME[:HOST][:PORT]>", description: "Create a registry with the cluster (deleted with it), e.g. myreg:5001" },
          { flags: "--registry-use <name>", description: "Use an existing registry (k3ts registry create) (repeatable)" },
          { flags: "--registry-config <file>", description: "A k3s registries.yaml for the nodes (merged over the registries' mirrors; yours wins)" },
          { flags: "--host-images", description: "Serve the engine's images to the nodes, so what you build runs with no import (default; =false to turn off)" },
          { flags: "--host-images-mirror <registry>", description: "Serve the engine's images for this registry too, besides docker.io and localhost (repeatable), e.g. ghcr.io" },
        ],
      }),
      KUBECONFIG_FILE,
      OUTPUT_OPTION,
    ],
    examples: [
      "k3ts cluster create dev",
      "k3ts cluster create dev --agents 2 -p 8080:80@loadbalancer",
      "k3ts cluster create ha --servers 3 --api-port 127.0.0.1:6550 --timeout 5m",
      "k3ts cluster create dev --k3s-arg --disable=traefik@server:* --k3s-node-label tier=edge@agent:0",
      "k3ts cluster create --config k3d.yaml --agents 3",
      "k3ts cluster create dev --registry-create dev-registry:5001",
      "k3ts cluster create dev --host-images=false",
    ],
    load: () => import("./cluster/create.js"),
  },
  {
    name: "cluster list",
    aliases: ["cluster ls", "cluster get"],
    args: "[...names]",
    description: "List clusters (servers and agents as running/total)",
    options: [{ flags: "--no-headers", description: "No table header" }, OUTPUT_OPTION],
    examples: ["k3ts cluster list", "k3ts cluster get dev -o json"],
    load: () => import("./cluster/list.js"),
  },
  {
    name: "cluster delete",
    aliases: ["cluster rm", "cluster del"],
    args: "[...names]",
    description: "Delete clusters: nodes, network, volumes and kubeconfig entries (idempotent)",
    options: [ALL, CONFIG_OPTION, KUBECONFIG_FILE, OUTPUT_OPTION],
    examples: ["k3ts cluster delete dev", "k3ts cluster delete --all", "k3ts cluster delete --config k3d.yaml"],
    load: () => import("./cluster/delete.js"),
  },
  {
    name: "cluster start",
    args: "[...names]",
    description: "Start stopped clusters (servers, then agents, then the load balancer) and wait until Ready",
    options: [ALL, WAIT, TIMEOUT, OUTPUT_OPTION],
    examples: ["k3ts cluster start dev", "k3ts cluster start --all --timeout 2m"],
    load: () => import("./cluster/start.js"),
  },
  {
    name: "cluster stop",
    args: "[...names]",
    description: "Stop clusters (their data stays)",
    options: [ALL, OUTPUT_OPTION],
    examples: ["k3ts cluster stop dev"],
    load: () => import("./cluster/stop.js"),
  },
  {
    name: "cluster edit",
    aliases: ["cluster update"],
    args: "<cluster>",
    description: "Add or remove ports the load balancer forwards (the load balancer alone is recreated)",
    options: [...PORT_EDITS, OUTPUT_OPTION],
    examples: ["k3ts cluster edit dev --port-add 8443:443@loadbalancer", "k3ts cluster edit dev --port-delete 8080:80"],
    load: () => import("./cluster/edit.js"),
  },
  {
    name: "node create",
    aliases: ["node add"],
    args: "[name]",
    description: "Add agents or servers to a running cluster (servers join the load balancer in place); NAME names them k3ts-NAME-0… as k3d does, else k3ts-CLUSTER-ROLE-N",
    options: [
      { flags: "-c, --cluster <name>", description: "Cluster to join", default: "k3s-default" },
      { flags: "--role <role>", description: "agent or server", default: "agent" },
      { flags: "--replicas <count>", description: "How many", default: 1 },
      { flags: "-i, --image <image>", description: "k3s image (default: the cluster's)" },
      { flags: "--memory <size>", description: "Memory limit (e.g. 512m)" },
      { flags: "--k3s-node-label <label>", description: "Kubernetes node label KEY[=VALUE] (repeatable)" },
      { flags: "--k3s-arg <arg>", description: "Extra k3s argument (repeatable)" },
      { flags: "--runtime-label <label>", description: "Container label KEY[=VALUE] (repeatable)" },
      WAIT,
      TIMEOUT,
      OUTPUT_OPTION,
    ],
    examples: ["k3ts node create -c dev --replicas 2", "k3ts node create -c ha --role server", "k3ts node create gpu --cluster dev --role agent   # k3ts-gpu-0, k3d's spelling"],
    load: () => import("./node/create.js"),
  },
  {
    name: "node edit",
    aliases: ["node update"],
    args: "<node>",
    description: "Add or remove ports on a cluster's load balancer, named as a node (k3d's node edit; as cluster edit)",
    options: [...PORT_EDITS, OUTPUT_OPTION],
    examples: ["k3ts node edit k3ts-dev-serverlb --port-add 8443:443", "k3ts node edit k3ts-dev-serverlb --port-delete 8080:80"],
    load: () => import("./node/edit.js"),
  },
  {
    name: "node list",
    aliases: ["node ls", "node get"],
    args: "[...names]",
    description: "List the nodes of every cluster",
    options: [OUTPUT_OPTION],
    examples: ["k3ts node list", "k3ts node list -o json"],
    load: () => import("./node/list.js"),
  },
  {
    name: "node start",
    args: "<name>",
    description: "Start one node",
    examples: ["k3ts node start k3ts-dev-agent-1"],
    load: () => import("./node/start.js"),
  },
  {
    name: "node stop",
    args: "<name>",
    description: "Stop one node",
    examples: ["k3ts node stop k3ts-dev-agent-1"],
    load: () => import("./node/stop.js"),
  },
  {
    name: "node delete",
    aliases: ["node rm", "node del"],
    args: "<...names>",
    description: "Delete nodes from their cluster (servers leave the load balancer first)",
    examples: ["k3ts node delete k3ts-dev-agent-1"],
    load: () => import("./node/delete.js"),
  },
  {
    name: "kubeconfig get",
    aliases: ["kubeconfig print", "kubeconfig show"],
    args: "[...clusters]",
    description: "Print clusters' kubeconfigs (YAML documents) on stdout",
    options: [ALL],
    examples: ["k3ts kubeconfig get dev > dev.yaml"],
    load: () => import("./kubeconfig/get.js"),
  },
  {
    name: "kubeconfig merge",
    args: "[...clusters]",
    description: "Merge clusters' kubeconfigs into a file (default: one per cluster under ~/.config/k3ts)",
    options: [
      ALL,
      { flags: "-o, --output <file>", description: "Merge into FILE (- for stdout)" },
      { flags: "-d, --kubeconfig-merge-default", description: "Merge into $KUBECONFIG / ~/.kube/config" },
      { flags: "-s, --kubeconfig-switch-context", description: "Make the context current (=false to keep)", default: true },
    ],
    examples: ["k3ts kubeconfig merge dev -d", "k3ts kubeconfig merge --all -o ./kubeconfig.yaml"],
    load: () => import("./kubeconfig/merge.js"),
  },
  {
    name: "kubeconfig write",
    args: "[...clusters]",
    description: "Write each cluster's kubeconfig to its own file and print the paths",
    options: [ALL],
    examples: ["export KUBECONFIG=$(k3ts kubeconfig write dev)"],
    load: () => import("./kubeconfig/write.js"),
  },
  ...configCommands,
  {
    name: "runtime list",
    aliases: ["runtime ls"],
    description: "List the container runtimes k3ts knows and whether their engines answer",
    options: [OUTPUT_OPTION],
    examples: ["k3ts runtime list", "K3TS_RUNTIME=./my-plugin.js k3ts runtime list -o json"],
    load: () => import("./runtime/list.js"),
  },
  {
    name: "runtime info",
    description: "Show the engine behind the selected runtime and what it can do",
    options: [OUTPUT_OPTION],
    examples: ["k3ts runtime info", "k3ts --runtime podman runtime info -o json"],
    load: () => import("./runtime/info.js"),
  },
  {
    name: "up",
    description: "Converge the environment in k3ts.yaml (cluster, Helm releases, manifests, endpoints); keeps endpoints open until Ctrl-C",
    options: [
      { flags: "-f, --file <file>", description: "The environment file (default k3ts.yaml)" },
      { flags: "--endpoints", description: "Open the endpoints (default; --endpoints=false to skip them and return)" },
      { flags: "--down-on-exit", description: "Take the environment down on Ctrl-C (default: it stays)" },
      YES_OPTION,
    ],
    examples: ["k3ts up", "k3ts up -f envs/dev.yaml", "k3ts up --endpoints=false", "k3ts up -f staging.yaml --yes   # an existing cluster (kubeconfig/context) k3ts did not make"],
    load: () => import("./environment/up.js"),
  },
  {
    name: "down",
    description: "Remove what k3ts up made: manifests and Helm releases in reverse order, then the cluster if the environment made it",
    options: [
      { flags: "-f, --file <file>", description: "The environment file (default k3ts.yaml)" },
      { flags: "--keep-cluster", description: "Leave the cluster the environment made" },
      YES_OPTION,
    ],
    examples: ["k3ts down", "k3ts down -f envs/dev.yaml --keep-cluster"],
    load: () => import("./environment/down.js"),
  },
  ...imageCommands,
  ...registryCommands,
];

/** Config commands whose FILE may be `-` (standard input). */
const STDIN_CONFIG_COMMANDS = new Set(["config validate", "config convert"]);

/** Nouns that group verbs ("runtime" in "runtime info"). */
export const nouns = new Set(commands.flatMap((c) => [c.name, ...(c.aliases ?? [])]).filter((n) => n.includes(" ")).map((n) => n.split(" ")[0]!));

/**
 * cac matches one word per command, so "runtime info" arrives as two argv entries. Folds a known
 * noun and verb (or alias) into the command's full name; anything else is left for cac to reject.
 */
export function foldCommand(argv: string[]): string[] {
  const words = positionalIndexes(argv);
  const [first, second] = words;
  if (first === undefined || second === undefined) return argv;
  const joined = `${argv[first]} ${argv[second]}`;
  if (!nouns.has(argv[first]!)) return argv;
  const spec = commands.find((c) => c.name === joined || c.aliases?.includes(joined));
  if (!spec) return argv;
  const folded = argv.flatMap((a, i) => (i === first ? [spec.name] : i === second ? [] : [a]));
  return imageCommands.includes(spec) || STDIN_CONFIG_COMMANDS.has(spec.name) ? folded.map((a) => (a === "-" ? STDIN_ARG : a)) : folded;
}

/** A value-taking flag: cac's option key (`--k3s-arg` → `k3sArg`) and its long spelling. */
interface ValueFlag {
  key: string;
  flag: string;
}

/** A command's flags by spelling: those that take a value, and the long spellings of those that do not (both `--x` and `--no-x`). */
interface FlagTable {
  values: Map<string, ValueFlag>;
  booleans: Set<string>;
}

const flagTables = new WeakMap<CommandSpec, FlagTable>();
/** Global flags that take no value. */
const GLOBAL_BOOLEANS = ["--help", "--verbose", "--version", "--no-color", "--color"];

/** The command's flag table (every spelling: `-o`, `--output`), made once per command. */
function flagTable(spec: CommandSpec | undefined): FlagTable {
  let table = spec ? flagTables.get(spec) : undefined;
  if (!table) {
    table = { values: new Map(), booleans: new Set(GLOBAL_BOOLEANS) };
    for (const o of spec?.options ?? []) {
      const names = o.flags.split(/[ ,]+/).filter((w) => w.startsWith("-"));
      const long = names.filter((n) => n.startsWith("--"));
      if (!/[<[]/.test(o.flags)) {
        for (const n of long) table.booleans.add(n).add(n.startsWith("--no-") ? `--${n.slice(5)}` : `--no-${n.slice(2)}`);
        continue;
      }
      const flag = long[0];
      if (!flag) continue;
      for (const n of names) table.values.set(n, { key: flagKey(flag), flag });
    }
    if (spec) flagTables.set(spec, table);
  }
  return table;
}

/** The command a folded argv names (foldCommand put its name in one word). */
export function commandIn(folded: string[]): CommandSpec | undefined {
  return commands.find((c) => folded.includes(c.name));
}

/**
 * k3d's (cobra/pflag's) rule for a flag that takes a value: the next word is its value even when it
 * starts with `-`, so `--k3s-arg "--disable=traefik@server:*"` means what it says. The command's value
 * flags (and the global ones) are rewritten as `--flag=VALUE` for the parser; after `--` nothing is.
 */
export function attachDashValues(argv: string[], spec: CommandSpec | undefined): string[] {
  const table = spec ? flagTable(spec).values : undefined;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    if ((VALUE_OPTIONS.has(a) || table?.has(a)) && next !== undefined && next.startsWith("-") && next !== "-") {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/**
 * The values of the command's value-taking flags exactly as typed, by cac's option key: the parser
 * underneath (mri) turns `0123` into 123, `0x10` into 16 and `""` into 0, which a token, an image or a
 * network name must never be. `--flag=V`, `--flag V`, `-f V`, `-f=V`; none after `--`.
 */
export function typedValues(argv: string[], spec: CommandSpec): Map<string, { flag: string; values: string[] }> {
  const table = flagTable(spec).values;
  const out = new Map<string, { flag: string; values: string[] }>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    const eq = a.indexOf("=");
    const known = table.get(eq > 0 ? a.slice(0, eq) : a);
    if (!known) continue;
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) continue;
    const entry = out.get(known.key) ?? { flag: known.flag, values: [] };
    entry.values.push(value);
    out.set(known.key, entry);
  }
  return out;
}

/**
 * A flag that takes no value may be written `--flag=true` / `--flag=false` (how `--wait=false` and
 * `--kubeconfig-update-default=false` read); any other `=VALUE` is refused naming the flag, instead of
 * the value turning into a stray argument.
 */
export function checkBooleanValues(argv: string[], spec: CommandSpec | undefined): void {
  const flags = flagTable(spec).booleans;
  for (const a of argv) {
    if (a === "--") return;
    const eq = a.indexOf("=");
    if (eq < 0 || !flags.has(a.slice(0, eq))) continue;
    const value = a.slice(eq + 1);
    if (value !== "true" && value !== "false") {
      throw new K3tsError("INVALID_ARGUMENT", `${a.slice(0, eq)}=${value}: expected true or false`, { meta: { flag: a.slice(0, eq), value } });
    }
  }
}

/** Global options that take a value (so their value is not mistaken for a command word). */
const VALUE_OPTIONS = new Set(["--runtime"]);

/**
 * The words of an argv that name no command, when `--help` asks for one (`k3ts clustr create --help`):
 * the parser would print the global help and exit 0; the words are an unknown command instead.
 */
export function unknownCommandForHelp(folded: string[]): string | undefined {
  if (!folded.includes("--help") && !folded.includes("-h")) return undefined;
  if (commandIn(folded)) return undefined;
  const words = positionalIndexes(folded).map((i) => folded[i]!);
  const first = words[0];
  if (first === undefined || nouns.has(first) || commands.some((c) => c.name === first || c.aliases?.includes(first))) return undefined;
  return words.join(" ");
}

/** Indexes of the first two words that are neither options nor values of global options. */
function positionalIndexes(argv: string[]): number[] {
  const found: number[] = [];
  for (let i = 0; i < argv.length && found.length < 2; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    if (a.startsWith("-")) {
      if (VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    found.push(i);
  }
  return found;
}
