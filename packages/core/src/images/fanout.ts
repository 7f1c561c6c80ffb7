/**
 * One source stream read once and written to several consumers, at the pace of the slowest one
 * still reading (backpressure: the source pauses while any branch is full). A consumer that stops
 * (its node failed) is detached so it cannot stall the others.
 */
import { PassThrough, type Readable } from "node:stream";

export interface Branch {
  stream: PassThrough;
  /** Bytes handed to this branch so far. */
  bytes(): number;
  /** Stops feeding this branch (its consumer is gone); the others go on. */
  detach(): void;
}

const BRANCH_BUFFER = 1 << 20;

export function fanOut(source: Readable, count: number): Branch[] {
  interface State {
    stream: PassThrough;
    bytes: number;
    live: boolean;
    waiting: boolean;
  }
  const states: State[] = Array.from({ length: count }, () => ({
    stream: new PassThrough({ highWaterMark: BRANCH_BUFFER }),
    bytes: 0,
    live: true,
    waiting: false,
  }));
  let waits = 0;
  const release = (s: State) => {
    if (!s.waiting) return;
    s.waiting = false;
    if (--waits === 0) source.resume();
  };
  const liveOnes = () => states.filter((s) => s.live);
  const drop = (s: State) => {
    if (!s.live) return;
    s.live = false;
    release(s);
    if (liveOnes().length === 0) source.destroy();
  };
  for (const s of states) {
    s.stream.on("drain", () => release(s));
    s.stream.on("close", () => drop(s));
    s.stream.on("error", () => drop(s));
  }
  source.on("data", (chunk: Buffer) => {
    for (const s of liveOnes()) {
      s.bytes += chunk.length;
      if (!s.stream.write(chunk) && !s.waiting) {
        s.waiting = true;
        waits++;
      }
    }
    if (waits > 0) source.pause();
  });
  source.once("end", () => {
    for (const s of liveOnes()) s.stream.end();
  });
  source.once("error", (err) => {
    for (const s of liveOnes()) s.stream.destroy(err);
  });
  return states.map((s) => ({
    stream: s.stream,
    bytes: () => s.bytes,
    detach: () => {
      if (s.live) s.stream.destroy();
      drop(s);
    },
  }));
}

/** `12.3 MiB` */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** `12.3 MiB at 45.6 MiB/s` */
export function formatTransfer(bytes: number, ms: number): string {
  const rate = ms > 0 ? (bytes * 1000) / ms : 0;
  return `${formatBytes(bytes)} at ${formatBytes(Math.round(rate))}/s`;
}
