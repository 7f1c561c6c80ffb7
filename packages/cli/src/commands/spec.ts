/** How a command is declared (data the registry in index.ts builds the parser and the help from). */
import type { CommandContext, CommandResult } from "../context.js";

export interface OptionSpec {
  /** cac flag syntax: "-o, --output <format>". */
  flags: string;
  description: string;
  default?: unknown;
  /** The value is an output format (table/json/yaml): the YAML printer is loaded before the command runs. */
  format?: boolean;
}

/** `-o, --output table|json|yaml`, the one declaration every command that prints a result shares. */
/** `up`/`down`: act on an existing cluster whose context k3ts did not make without asking. */
export const YES_OPTION: OptionSpec = { flags: "-y, --yes", description: "Act on an existing cluster whose context k3ts did not make, without asking" };

export const OUTPUT_OPTION: OptionSpec = { flags: "-o, --output <format>", description: "table, json or yaml", default: "table", format: true };

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
