import { K3tsError } from "@k3ts/core";
import type * as Yaml from "yaml";
import type { CommandContext } from "./context.js";
import { OUTPUT_FORMATS, type OutputFormat } from "./output.js";

export function parseFormat(value: unknown): OutputFormat {
  const format = String(value ?? "table");
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new K3tsError("INVALID_ARGUMENT", `--output ${format}: expected one of ${OUTPUT_FORMATS.join(", ")}`, {
      meta: { flag: "--output", value: format },
    });
  }
  return format as OutputFormat;
}

/** Prints a value as JSON, YAML, or (table) the human text `human()` makes. */
export function printValue(ctx: CommandContext, format: unknown, value: unknown, human: () => string): void {
  const f = parseFormat(format);
  if (f === "json") ctx.out.print(JSON.stringify(value, null, 2));
  else if (f === "yaml") ctx.out.print(yamlStringify(value));
  else ctx.out.print(human());
}

let yamlModule: typeof Yaml | undefined;
function yamlStringify(value: unknown): string {
  if (!yamlModule) throw new Error("yaml output was asked for before the yaml module was loaded");
  return yamlModule.stringify(value);
}

/** Loads the YAML printer (kept off the start-up path). */
export async function loadYaml(): Promise<void> {
  yamlModule ??= await import("yaml");
}
