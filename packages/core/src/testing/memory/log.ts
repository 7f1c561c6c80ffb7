/** A node's log: stdout and stderr lines in the order written, followed while the node runs. */
import { abortedError } from "../../errors.js";
import type { Output } from "./io.js";
import { EMPTY, toBuffer } from "./util.js";

interface LogLine {
  stream: "stdout" | "stderr";
  data: Buffer;
  time: number;
}

/** A node's output, one entry per line (as engines' log drivers store it), kept across restarts. */
export class NodeLog {
  readonly lines: LogLine[] = [];
  private readonly waiters = new Set<() => void>();

  writer(stream: LogLine["stream"]): Output & { flush(): void } {
    let partial = EMPTY;
    return {
      write: async (data) => {
        let rest = Buffer.concat([partial, toBuffer(data)]);
        for (let nl = rest.indexOf(10); nl >= 0; nl = rest.indexOf(10)) {
          this.push(stream, rest.subarray(0, nl + 1));
          rest = rest.subarray(nl + 1);
        }
        partial = rest;
      },
      flush: () => {
        if (partial.length > 0) this.push(stream, partial);
        partial = EMPTY;
      },
    };
  }

  /** Where reading starts: the later of the first line at or after `since` and the last `tail` lines. */
  startIndex(tail: number | undefined, since: number | undefined): number {
    const fromTail = tail === undefined || tail < 0 ? 0 : Math.max(0, this.lines.length - tail);
    const fromSince = since === undefined ? 0 : this.lines.findIndex((l) => l.time >= since);
    return Math.max(fromTail, fromSince < 0 ? this.lines.length : fromSince);
  }

  /** Wakes everyone waiting in {@link changed} (new output, or the node stopped). */
  notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  changed(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiters.delete(wake);
        reject(abortedError(signal, "following logs"));
      };
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      if (signal?.aborted) return onAbort();
      this.waiters.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  private push(stream: LogLine["stream"], data: Buffer): void {
    this.lines.push({ stream, data, time: Date.now() });
    this.notify();
  }
}
