import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { K3tsError, loadConfig, type LoadedConfig } from "@k3ts/core";
import type { CommandContext } from "../../context.js";
import { STDIN_ARG } from "../image/stdin.js";

/** A config file's text (`-`: standard input). */
export function readConfigText(ctx: CommandContext, file: string): string {
  try {
    return file === "-" ? readFileSync(0, "utf8") : readFileSync(resolve(ctx.cwd, file), "utf8");
  } catch (err) {
    throw new K3tsError("INVALID_ARGUMENT", `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      meta: { file },
      cause: err,
    });
  }
}

/** A FILE argument as the command got it: `-` (stdin) comes through the parser as STDIN_ARG. */
export function fileArg(arg: string): string {
  return arg === STDIN_ARG ? "-" : arg;
}

/** The config text of FILE, `-` read from the command's standard input. */
export async function readConfigInput(ctx: CommandContext, file: string): Promise<string> {
  if (file !== "-") return readConfigText(ctx, file);
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads a config file (`-`: standard input) and loads it; notices are printed as warnings. */
export function readConfig(ctx: CommandContext, file: string, options: { quiet?: boolean; text?: string } = {}): LoadedConfig {
  const text = options.text ?? readConfigText(ctx, file);
  const loaded = loadConfig(text, { file: file === "-" ? "<stdin>" : file, env: ctx.env });
  if (!options.quiet) for (const n of loaded.notices) ctx.out.warn(`${file}: ${n.path}: not honoured: ${n.reason}`);
  return loaded;
}
