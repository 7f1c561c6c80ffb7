import { Readable } from "node:stream";
import { posix } from "node:path";
import { K3tsError } from "./errors.js";

/**
 * Packs one file into a tar archive, as engines want for copying into a container (extract at "/").
 * Only the file's own entry is written: engines create missing parents, and directory entries would
 * reset the modes of directories that exist (a /tmp entry would drop its sticky bit).
 */
export async function packFile(path: string, content: string | Uint8Array, mode = 0o644): Promise<Buffer> {
  if (!posix.isAbsolute(path) || path.endsWith("/")) {
    throw new K3tsError("INVALID_ARGUMENT", `file path must be absolute and name a file: ${path}`, { meta: { path } });
  }
  const tar = await import("tar-stream");
  const pack = tar.pack();
  const body = typeof content === "string" ? Buffer.from(content) : Buffer.from(content);
  pack.entry({ name: path.slice(1), mode, size: body.length }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Reads the first regular file out of a tar stream (what engines return for one copied-out path). */
export async function extractFirstFile(archive: Readable | Buffer): Promise<{ name: string; content: Buffer; mode: number } | undefined> {
  const tar = await import("tar-stream");
  const extract = tar.extract();
  const source = Buffer.isBuffer(archive) ? Readable.from([archive]) : archive;
  source.pipe(extract);
  let found: { name: string; content: Buffer; mode: number } | undefined;
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry as unknown as AsyncIterable<Buffer>) chunks.push(c);
    if (!found && entry.header.type === "file") {
      found = { name: entry.header.name, content: Buffer.concat(chunks), mode: entry.header.mode ?? 0o644 };
    }
  }
  return found;
}

/** Names of the entries of a tar stream (consumes it). */
export async function listTarEntries(archive: Readable): Promise<string[]> {
  const tar = await import("tar-stream");
  const extract = tar.extract();
  archive.pipe(extract);
  const names: string[] = [];
  for await (const entry of extract) {
    names.push(entry.header.name);
    entry.resume();
  }
  return names;
}
