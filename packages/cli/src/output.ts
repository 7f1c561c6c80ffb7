import { styleText } from "node:util";
import type { Writable } from "node:stream";
import { isK3tsError, type Logger, type Progress, type ProgressStep } from "@k3ts/core";

export type OutputFormat = "table" | "json" | "yaml";
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["table", "json", "yaml"];

export interface OutputOptions {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  verbose?: boolean;
  color?: boolean;
}

type Style = Parameters<typeof styleText>[0];

/**
 * Where everything a command prints goes: data to stdout (so it pipes), messages and progress to
 * stderr. Colour follows the stream (NO_COLOR, FORCE_COLOR and --no-color are honoured).
 */
export class Output implements Logger {
  readonly stdout: OutputOptions["stdout"];
  readonly stderr: OutputOptions["stderr"];
  readonly verbose: boolean;
  private readonly color: boolean;

  constructor(options: OutputOptions) {
    this.stdout = options.stdout;
    this.stderr = options.stderr;
    this.verbose = options.verbose ?? false;
    this.color = options.color ?? true;
  }

  style(format: Style, text: string): string {
    return this.color ? styleText(format, text, { stream: this.stderr }) : text;
  }

  /** Data for stdout. */
  print(text: string): void {
    this.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    if (this.verbose) this.stderr.write(`${this.style("gray", `debug ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`)}\n`);
  }
  info(message: string): void {
    this.stderr.write(`${message}\n`);
  }
  warn(message: string): void {
    this.stderr.write(`${this.style("yellow", "warning")} ${message}\n`);
  }
  error(message: string): void {
    this.stderr.write(`${this.style("red", "error")} ${message}\n`);
  }

  /** Prints an error the way users should see it: message, hint, code; the stack only with --verbose. */
  failure(err: unknown): void {
    if (isK3tsError(err)) {
      this.error(err.message);
      if (err.hint) this.stderr.write(`  ${this.style("cyan", "hint")} ${err.hint}\n`);
      this.stderr.write(`  ${this.style("gray", `code ${err.code}`)}\n`);
      if (this.verbose && err.stack) this.stderr.write(`${this.style("gray", err.stack)}\n`);
      return;
    }
    const e = err as Error;
    this.error(e?.message ?? String(err));
    if (this.verbose && e?.stack) this.stderr.write(`${this.style("gray", e.stack)}\n`);
  }
}

/** Progress lines on stderr: "• title …" then "✓ title (1.2s)" or "✗ title (0.3s)". */
export function createProgress(out: Output): Progress {
  return {
    start(title: string): ProgressStep {
      const started = performance.now();
      const took = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
      out.stderr.write(`${out.style("gray", "•")} ${title} …\n`);
      return {
        update: (detail) => out.debug(`${title}: ${detail}`),
        succeed: (detail) => out.stderr.write(`${out.style("green", "✓")} ${title}${detail ? `: ${detail}` : ""} ${out.style("gray", `(${took()})`)}\n`),
        fail: () => out.stderr.write(`${out.style("red", "✗")} ${title} ${out.style("gray", `(${took()})`)}\n`),
      };
    },
  };
}

/** A plain aligned table (kubectl style): upper-case headers, two spaces between columns. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join("\n");
}
