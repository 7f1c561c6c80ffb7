import type { Readable } from "node:stream";
import type { Progress, Runtime } from "@k3ts/core";
import type { Output } from "./output.js";

/** What every command handler gets; handlers never touch process.* themselves. */
export interface CommandContext {
  out: Output;
  /** Standard input (for `-` arguments). */
  stdin: Readable;
  progress: Progress;
  env: Record<string, string | undefined>;
  cwd: string;
  version: string;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  /** The runtime --runtime named (a plugin name or path), if it did. */
  runtimeName?: string;
  /** Picks the runtime (--runtime, K3TS_RUNTIME, or auto-detection) on first use. */
  runtime(): Promise<Runtime>;
}

export type CommandResult = number | void;
