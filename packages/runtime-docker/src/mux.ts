import type { LogChunk } from "@k3ts/core";

/**
 * Docker multiplexes a non-TTY container's stdout and stderr into frames: an 8-byte header (stream
 * type, three zero bytes, big-endian payload length) and the payload. Frames may be split across
 * chunks, and one chunk may hold several frames.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns every complete frame they finish. */
  push(chunk: Buffer): LogChunk[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: LogChunk[] = [];
    while (this.pending.length >= 8) {
      const type = this.pending[0];
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const data = this.pending.subarray(8, 8 + size);
      this.pending = this.pending.subarray(8 + size);
      // 0 = stdin (echoed with a TTY only), 1 = stdout, 2 = stderr, 3 = system error on exec.
      if (type === 2 || type === 3) out.push({ stream: "stderr", data });
      else out.push({ stream: "stdout", data });
    }
    return out;
  }

  /** Bytes left over that do not form a whole frame (a truncated stream). */
  get remainder(): number {
    return this.pending.length;
  }
}

/** Decodes a whole multiplexed buffer (non-follow logs). */
export function decodeFrames(buffer: Buffer): LogChunk[] {
  return new FrameDecoder().push(buffer);
}
