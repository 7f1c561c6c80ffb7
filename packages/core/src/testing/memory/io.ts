/** Process I/O: the outputs and inputs a process of a memory node reads and writes (buffers, streams, files). */
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import { type Writable } from "node:stream";
import { raceAbort } from "../../errors.js";
import type { ExecOptions } from "../../runtime.js";
import type { NodeFs } from "./fs.js";
import { EMPTY, toBuffer } from "./util.js";

/** Where a process writes: a log, a buffer, a file, or a caller's stream. */
export interface Output {
  write(data: string | Uint8Array): Promise<void>;
}

/** What a process reads. The emulated programs all read their input to the end. */
export interface Input {
  readAll(): Promise<Buffer>;
}

export class BufferOutput implements Output {
  private readonly chunks: Buffer[] = [];

  async write(data: string | Uint8Array): Promise<void> {
    this.chunks.push(toBuffer(data));
  }

  contents(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Input that yields `data` once (like a pipe: a second read finds it drained). */
export function bufferInput(data: Buffer): Input {
  let rest: Buffer | undefined = data;
  return {
    async readAll() {
      const result = rest ?? EMPTY;
      rest = undefined;
      return result;
    },
  };
}

function streamInput(stream: Readable, signal: AbortSignal): Input {
  let consumed = false;
  return {
    async readAll() {
      if (consumed) return EMPTY;
      consumed = true;
      const read = async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of stream as AsyncIterable<string | Uint8Array>) chunks.push(toBuffer(chunk));
        return Buffer.concat(chunks);
      };
      return raceAbort(read(), signal, "reading stdin");
    },
  };
}

export function execInput(stdin: ExecOptions["stdin"], signal: AbortSignal): Input {
  if (stdin === undefined) return bufferInput(EMPTY);
  if (typeof stdin === "string" || stdin instanceof Uint8Array) return bufferInput(toBuffer(stdin));
  return streamInput(stdin, signal);
}

export function writableOutput(stream: Writable): Output {
  return {
    write: (data) =>
      new Promise<void>((resolve, reject) => {
        stream.write(toBuffer(data), (err) => (err ? reject(err) : resolve()));
      }),
  };
}

export function fileOutput(fs: NodeFs, path: string, append: boolean): Output {
  if (append) fs.append(path, EMPTY);
  else fs.write(path, EMPTY);
  return { write: async (data) => fs.append(path, toBuffer(data)) };
}

/** Joins two connections both ways, as a proxy does: either one ending or failing ends the other. */
export function splice(a: Socket, b: Socket): void {
  for (const [from, to] of [[a, b], [b, a]] as const) {
    from.on("error", () => to.destroy());
    from.on("close", () => to.destroy());
  }
  a.pipe(b).pipe(a);
}
