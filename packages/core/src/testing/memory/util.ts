/** Constants and small helpers the memory engine's parts share (names, paths, ids, delays). */
import { createHash, randomBytes } from "node:crypto";
import { posix } from "node:path";
import { K3tsError, abortedError } from "../../errors.js";

export const DEFAULT_IMAGES = ["k3ts-test/busybox:1"];
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** What a busybox image runs when the node spec names no command. */
export const IMAGE_COMMAND = ["sh"];
export const EXIT_SIGTERM = 143;
export const EXIT_SIGKILL = 137;
export const RESTART_DELAY_MS = 100;
export const EMPTY = Buffer.alloc(0);
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export const newId = (): string => randomBytes(32).toString("hex");
export const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");
export const toBuffer = (data: string | Uint8Array): Buffer => (typeof data === "string" ? Buffer.from(data) : Buffer.from(data));
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function validateName(kind: string, name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new K3tsError("INVALID_ARGUMENT", `invalid ${kind} name ${JSON.stringify(name)}`, { meta: { name } });
  }
}

export function absolutePath(path: string): string {
  if (!posix.isAbsolute(path)) {
    throw new K3tsError("INVALID_ARGUMENT", `path must be absolute: ${path}`, { meta: { path } });
  }
  return posix.resolve(path);
}

/** Rejects with ABORTED when the signal fires; resolves after `ms` (Infinity: never). */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal, "sleep"));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    const arm = (remaining: number) => {
      if (remaining === Infinity) return;
      const step = Math.min(remaining, 2 ** 31 - 1); // setTimeout's limit
      timer = setTimeout(() => {
        if (remaining > step) return arm(remaining - step);
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, step);
    };
    arm(ms);
  });
}
