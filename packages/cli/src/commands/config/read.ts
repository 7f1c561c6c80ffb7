import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { K3tsError, loadConfig, type LoadedConfig } from "@k3ts/core";
import type { CommandContext } from "../../context.js";

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

/** Reads a config file (`-`: standard input) and loads it; notices are printed as warnings. */
export function readConfig(ctx: CommandContext, file: string, options: { quiet?: boolean; text?: string } = {}): LoadedConfig {
  const text = options.text ?? readConfigText(ctx, file);
  const loaded = loadConfig(text, { file: file === "-" ? "<stdin>" : file, env: ctx.env });
  if (!options.quiet) for (const n of loaded.notices) ctx.out.warn(`${file}: ${n.path}: not honoured: ${n.reason}`);
  return loaded;
}
