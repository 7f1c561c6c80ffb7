import type { CommandContext, CommandResult } from "../context.js";

export interface OptionSpec {
  /** cac flag syntax: "-o, --output <format>". */
  flags: string;
  description: string;
  default?: unknown;
}

export interface CommandHandler {
  run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<CommandResult>;
}

/** A command, declared as data: the registry builds the parser and the help from it. */
export interface CommandSpec {
  /** Noun and verb ("runtime info"), or one word ("version"). */
  name: string;
  aliases?: string[];
  /** Positional arguments in cac syntax: "<name>", "[names...]". */
  args?: string;
  description: string;
  options?: OptionSpec[];
  examples?: string[];
  /** Loaded only when the command runs, so start-up stays cheap. */
  load(): Promise<CommandHandler>;
}

export const OUTPUT_OPTION: OptionSpec = { flags: "-o, --output <format>", description: "table, json or yaml", default: "table" };

export const commands: CommandSpec[] = [
  {
    name: "version",
    description: "Print the versions of k3ts, its runtime API and Node.js",
    options: [OUTPUT_OPTION],
    examples: ["k3ts version", "k3ts version -o json"],
    load: () => import("./version.js"),
  },
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
];

/** Nouns that group verbs ("runtime" in "runtime info"). */
export const nouns = new Set(commands.filter((c) => c.name.includes(" ")).map((c) => c.name.split(" ")[0]!));

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
  return argv.flatMap((a, i) => (i === first ? [spec.name] : i === second ? [] : [a]));
}

/** Global options that take a value (so their value is not mistaken for a command word). */
const VALUE_OPTIONS = new Set(["--runtime"]);

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
