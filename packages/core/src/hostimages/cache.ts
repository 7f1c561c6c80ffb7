/**
 * The host-images cache: blobs on the host by the sha256 of their bytes, grouped into images (the
 * config, the layers and the manifest k3ts serves for them), bounded in bytes, least recently served
 * image evicted first.
 *
 * Layout of the cache directory:
 *   k3ts-host-images      marker: the directory is a cache (prune refuses a directory without it)
 *   blobs/sha256/<hex>    every blob, once
 *   images/<hex>.json     one record per image id (its config's digest); its mtime is when it was last served
 *   tmp/                  files being written; emptied at open
 *
 * One process owns a cache directory. Within it nothing needs a lock: every file appears whole, by
 * rename of a temp file; a record only after its blobs; and eviction deletes a blob only when no record
 * references it and no lease (a transfer, an export) holds it.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { K3tsError } from "../errors.js";

export const CACHE_MARKER = "k3ts-host-images";
/** The default bound of a cache: 10 GiB. */
export const DEFAULT_HOST_IMAGE_CACHE_BYTES = 10 * 1024 ** 3;

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** One image as the cache keeps it. */
export interface CachedImage {
  /** The image id: `sha256:` and the digest of its config. */
  id: string;
  manifest: { mediaType: string; digest: string; size: number };
  /** The config and the layers, in manifest order. */
  blobs: string[];
}

/** What was written: the digest and size of the bytes, and their first bytes (to sniff compression). */
export interface WrittenBlob {
  digest: string;
  size: number;
  head: Buffer;
}

/** Hashes bytes as they pass: their digest, size and first bytes. */
export class Digester {
  readonly #hash = createHash("sha256");
  #size = 0;
  #head = Buffer.alloc(0);

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    if (this.#head.length < 8) this.#head = Buffer.concat([this.#head, chunk.subarray(0, 8 - this.#head.length)]);
  }

  result(): WrittenBlob {
    return { digest: `sha256:${this.#hash.digest("hex")}`, size: this.#size, head: this.#head };
  }
}

interface Entry {
  image: CachedImage;
  lastUsed: number;
}

/** Holds blobs against eviction while a transfer or an export uses them; `release` when done. */
export interface Lease {
  /** Holds a blob that is in the cache already; false when it is not. */
  hold(digest: string): boolean;
  /** Streams bytes into the cache and holds the blob (bytes the cache has are not stored twice). */
  write(source: AsyncIterable<Uint8Array>): Promise<WrittenBlob>;
  /** Writes bytes into the cache and holds the blob. */
  put(bytes: Uint8Array): Promise<WrittenBlob>;
  /** Lets go of every blob; those no image references any longer are deleted. */
  release(): Promise<void>;
}

export class HostImageCache {
  readonly #blobs = new Map<string, number>();
  readonly #images = new Map<string, Entry>();
  readonly #byManifest = new Map<string, string>();
  readonly #held = new Map<string, number>();
  readonly #deleting = new Map<string, Promise<void>>();
  #clock = 0;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** Opens (or makes) the cache in `dir`, dropping half-written files and records whose blobs are gone. */
  static async open(dir: string, options: { maxBytes?: number } = {}): Promise<HostImageCache> {
    const maxBytes = options.maxBytes ?? DEFAULT_HOST_IMAGE_CACHE_BYTES;
    if (!Number.isFinite(maxBytes) || maxBytes <= 0) {
      throw new K3tsError("INVALID_ARGUMENT", `host image cache size must be a positive number of bytes, not ${maxBytes}`, { meta: { maxBytes } });
    }
    const cache = new HostImageCache(dir, maxBytes);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const entries = await readdir(dir);
    if (entries.length > 0 && !entries.includes(CACHE_MARKER)) {
      throw new K3tsError("INVALID_ARGUMENT", `${dir} is not empty and not a k3ts host image cache`, { meta: { dir } });
    }
    await writeFile(join(dir, CACHE_MARKER), "");
    await rm(join(dir, "tmp"), { recursive: true, force: true });
    await Promise.all(["tmp", "images", join("blobs", "sha256")].map((d) => mkdir(join(dir, d), { recursive: true, mode: 0o700 })));
    await cache.#load();
    return cache;
  }

  /** Bytes of all blobs in the cache. */
  get size(): number {
    let total = 0;
    for (const size of this.#blobs.values()) total += size;
    return total;
  }

  /** The cached images, least recently served first. */
  images(): CachedImage[] {
    return [...this.#images.values()].sort((a, b) => a.lastUsed - b.lastUsed).map((e) => e.image);
  }

  image(id: string): CachedImage | undefined {
    return this.#images.get(id)?.image;
  }

  imageByManifest(digest: string): CachedImage | undefined {
    const id = this.#byManifest.get(digest);
    return id === undefined ? undefined : this.image(id);
  }

  /** Where a blob's bytes are, when the cache has it. */
  blob(digest: string): { path: string; size: number } | undefined {
    const size = this.#blobs.get(digest);
    return size === undefined ? undefined : { path: this.#blobPath(digest), size };
  }

  lease(): Lease {
    const held: string[] = [];
    let released = false;
    const hold = (digest: string) => {
      if (released) throw new Error("lease already released");
      held.push(digest);
      this.#held.set(digest, (this.#held.get(digest) ?? 0) + 1);
    };
    const commit = async (written: WrittenBlob, tmp: string) => {
      hold(written.digest);
      await this.#deleting.get(written.digest);
      if (this.#blobs.has(written.digest)) await rm(tmp, { force: true });
      else {
        await rename(tmp, this.#blobPath(written.digest));
        this.#blobs.set(written.digest, written.size);
      }
      return written;
    };
    return {
      hold: (digest) => {
        if (!this.#blobs.has(digest)) return false;
        hold(digest);
        return true;
      },
      write: async (source) => {
        const tmp = this.#tmpPath();
        const digester = new Digester();
        try {
          await pipeline(
            source,
            async function* (chunks: AsyncIterable<Uint8Array>) {
              for await (const chunk of chunks) {
                digester.update(chunk);
                yield chunk;
              }
            },
            createWriteStream(tmp, { flags: "wx", mode: 0o600 }),
          );
        } catch (err) {
          await rm(tmp, { force: true });
          throw err;
        }
        return commit(digester.result(), tmp);
      },
      put: async (bytes) => {
        const digester = new Digester();
        digester.update(bytes);
        const written = digester.result();
        if (this.#blobs.has(written.digest) && !this.#deleting.has(written.digest)) {
          hold(written.digest);
          return written;
        }
        const tmp = this.#tmpPath();
        await writeFile(tmp, bytes, { flag: "wx", mode: 0o600 });
        return commit(written, tmp);
      },
      release: async () => {
        if (released) return;
        released = true;
        for (const digest of held) {
          const n = (this.#held.get(digest) ?? 1) - 1;
          if (n > 0) this.#held.set(digest, n);
          else this.#held.delete(digest);
        }
        await this.#sweep(held);
      },
    };
  }

  /**
   * Records an image whose blobs are in the cache (held by the caller's lease), marks it served now,
   * then evicts the least recently served images that nothing holds until the cache fits its bound.
   */
  async addImage(image: CachedImage): Promise<void> {
    const missing = [image.manifest.digest, ...image.blobs].filter((d) => !this.#blobs.has(d));
    if (missing.length > 0) throw new Error(`image ${image.id}: blobs not in the cache: ${missing.join(", ")}`);
    const record = this.#recordPath(image.id);
    const tmp = this.#tmpPath();
    await writeFile(tmp, JSON.stringify(image), { mode: 0o600 });
    await rename(tmp, record);
    const old = this.#images.get(image.id);
    if (old) this.#byManifest.delete(old.image.manifest.digest);
    this.#images.set(image.id, { image, lastUsed: ++this.#clock });
    this.#byManifest.set(image.manifest.digest, image.id);
    if (old) await this.#sweep([old.image.manifest.digest, ...old.image.blobs]);
    await this.evict();
  }

  /** Marks an image served now (its place in the eviction order, kept across restarts). */
  async touch(id: string): Promise<void> {
    const entry = this.#images.get(id);
    if (!entry) return;
    entry.lastUsed = ++this.#clock;
    const now = new Date();
    await utimes(this.#recordPath(id), now, now).catch(() => {});
  }

  /** Marks every image that references the blob served now. */
  async touchBlob(digest: string): Promise<void> {
    const ids = [...this.#images.values()].filter((e) => e.image.manifest.digest === digest || e.image.blobs.includes(digest)).map((e) => e.image.id);
    await Promise.all(ids.map((id) => this.touch(id)));
  }

  /**
   * Drops the least recently served images until the blobs fit `maxBytes`. An image with a held blob
   * (being served or exported) stays; so the cache may stay over its bound while all of it is in use.
   */
  async evict(): Promise<CachedImage[]> {
    const evicted: CachedImage[] = [];
    const freed = new Set<string>();
    for (const { image } of [...this.#images.values()].sort((a, b) => a.lastUsed - b.lastUsed)) {
      if (this.#sizeWithout(freed) <= this.maxBytes) break;
      const digests = [image.manifest.digest, ...image.blobs];
      if (digests.some((d) => this.#held.has(d))) continue;
      this.#images.delete(image.id);
      this.#byManifest.delete(image.manifest.digest);
      evicted.push(image);
      for (const d of digests) if (!this.#referenced(d)) freed.add(d);
    }
    await Promise.all(evicted.map((image) => rm(this.#recordPath(image.id), { force: true })));
    await this.#sweep(freed);
    return evicted;
  }

  /** Removes every image and blob (files being read stay readable until closed). */
  async clear(): Promise<void> {
    const digests = [...this.#blobs.keys()];
    const ids = [...this.#images.keys()];
    this.#images.clear();
    this.#byManifest.clear();
    await Promise.all(ids.map((id) => rm(this.#recordPath(id), { force: true })));
    await Promise.all(digests.map((d) => this.#delete(d)));
  }

  #sizeWithout(freed: Set<string>): number {
    let total = 0;
    for (const [digest, size] of this.#blobs) if (!freed.has(digest)) total += size;
    return total;
  }

  #referenced(digest: string): boolean {
    for (const { image } of this.#images.values()) if (image.manifest.digest === digest || image.blobs.includes(digest)) return true;
    return false;
  }

  /** Deletes those of `digests` that no image references and no lease holds. */
  async #sweep(digests: Iterable<string>): Promise<void> {
    const gone = [...new Set(digests)].filter((d) => this.#blobs.has(d) && !this.#held.has(d) && !this.#referenced(d));
    await Promise.all(gone.map((d) => this.#delete(d)));
  }

  #delete(digest: string): Promise<void> {
    this.#blobs.delete(digest);
    const done = rm(this.#blobPath(digest), { force: true }).finally(() => {
      if (this.#deleting.get(digest) === done) this.#deleting.delete(digest);
    });
    this.#deleting.set(digest, done);
    return done;
  }

  async #load(): Promise<void> {
    for (const name of await readdir(join(this.dir, "blobs", "sha256"))) {
      const digest = `sha256:${name}`;
      const path = this.#blobPath(digest);
      if (!DIGEST.test(digest)) await rm(path, { recursive: true, force: true });
      else this.#blobs.set(digest, (await stat(path)).size);
    }
    const loaded: Array<{ image: CachedImage; mtime: number }> = [];
    for (const name of await readdir(join(this.dir, "images"))) {
      const path = join(this.dir, "images", name);
      const image = await readRecord(path);
      if (!image || `${image.id.slice("sha256:".length)}.json` !== name || ![image.manifest.digest, ...image.blobs].every((d) => this.#blobs.has(d))) {
        await rm(path, { force: true });
        continue;
      }
      loaded.push({ image, mtime: (await stat(path)).mtimeMs });
    }
    for (const { image } of loaded.sort((a, b) => a.mtime - b.mtime)) {
      this.#images.set(image.id, { image, lastUsed: ++this.#clock });
      this.#byManifest.set(image.manifest.digest, image.id);
    }
    await this.#sweep([...this.#blobs.keys()]);
    await this.evict();
  }

  #blobPath(digest: string): string {
    const hex = DIGEST.exec(digest)?.[1];
    if (!hex) throw new Error(`not a sha256 digest: ${digest}`);
    return join(this.dir, "blobs", "sha256", hex);
  }

  #recordPath(id: string): string {
    return join(this.dir, "images", `${id.slice("sha256:".length)}.json`);
  }

  #tmpPath(): string {
    return join(this.dir, "tmp", `${process.pid}-${randomBytes(8).toString("hex")}`);
  }
}

async function readRecord(path: string): Promise<CachedImage | undefined> {
  try {
    const value = JSON.parse(await readFile(path, "utf8")) as Partial<CachedImage>;
    const ok =
      typeof value.id === "string" &&
      DIGEST.test(value.id) &&
      typeof value.manifest?.digest === "string" &&
      DIGEST.test(value.manifest.digest) &&
      typeof value.manifest.mediaType === "string" &&
      typeof value.manifest.size === "number" &&
      Array.isArray(value.blobs) &&
      value.blobs.every((d) => typeof d === "string" && DIGEST.test(d));
    return ok ? (value as CachedImage) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes a host image cache directory and everything in it; returns the bytes its blobs held. A
 * directory that does not exist is 0; one without the cache's marker is refused (`INVALID_ARGUMENT`),
 * so a wrong path never deletes someone's files. The cache must not be open in a running registry.
 */
export async function pruneHostImageCache(dir: string): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw err;
  }
  if (entries.length > 0 && !entries.includes(CACHE_MARKER)) {
    throw new K3tsError("INVALID_ARGUMENT", `${dir} is not a k3ts host image cache: refusing to delete it`, { meta: { dir } });
  }
  let bytes = 0;
  const blobs = join(dir, "blobs", "sha256");
  for (const name of await readdir(blobs).catch(() => [] as string[])) {
    bytes += await stat(join(blobs, name)).then((s) => s.size, () => 0);
  }
  await rm(dir, { recursive: true, force: true });
  return bytes;
}
