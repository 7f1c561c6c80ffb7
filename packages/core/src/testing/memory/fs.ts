/** Each node's in-memory filesystem: files by absolute path (directories implicit), with volumes, binds and tmpfs mounted as separate stores; read-only mounts refuse writes. */
import { posix } from "node:path";
import { EMPTY } from "./util.js";

interface FileEntry {
  content: Buffer;
  mode: number;
}

/** The files of one filesystem (a node's root, a volume, a bind source, a tmpfs), by absolute path within it. */
export type FileStore = Map<string, FileEntry>;

export interface Mount {
  target: string;
  store: FileStore;
  readOnly: boolean;
}

type FsErrorKind = "ENOENT" | "EROFS" | "EISDIR" | "ENOTDIR";

const FS_MESSAGES: Record<FsErrorKind, string> = {
  ENOENT: "No such file or directory",
  EROFS: "Read-only file system",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
};

export class FsError extends Error {
  constructor(
    readonly kind: FsErrorKind,
    readonly path: string,
  ) {
    super(FS_MESSAGES[kind]);
  }
}

export interface FileStat {
  kind: "file" | "directory";
  mode: number;
  size: number;
}

/**
 * A node's view of its files: the root store with mounts laid over it (the longest matching target
 * wins). Directories are implicit: a directory exists while something lies below it.
 */
export class NodeFs {
  private readonly mounts: Mount[];

  constructor(
    private readonly root: FileStore,
    mounts: Mount[],
  ) {
    this.mounts = [...mounts].sort((a, b) => b.target.length - a.target.length);
  }

  read(path: string): FileEntry {
    const entry = this.lookup(path);
    if (entry) return entry;
    throw new FsError(this.isDirectory(path) ? "EISDIR" : "ENOENT", path);
  }

  stat(path: string): FileStat | undefined {
    const entry = this.lookup(path);
    if (entry) return { kind: "file", mode: entry.mode, size: entry.content.length };
    return this.isDirectory(path) ? { kind: "directory", mode: 0o755, size: 4096 } : undefined;
  }

  /** Replaces a file (parents are implicit). Without `mode`, an existing file keeps its mode. */
  write(path: string, content: Uint8Array, mode?: number): void {
    const { store, key } = this.locateWritable(path);
    store.set(key, { content: Buffer.from(content), mode: mode ?? store.get(key)?.mode ?? 0o644 });
  }

  append(path: string, data: Uint8Array): void {
    const { store, key } = this.locateWritable(path);
    const previous = store.get(key);
    store.set(key, { content: Buffer.concat([previous?.content ?? EMPTY, data]), mode: previous?.mode ?? 0o644 });
  }

  /** Removes a file; a missing one is ENOENT. */
  remove(path: string): void {
    const { store, key, readOnly } = this.locate(path);
    if (!store.has(key)) throw new FsError("ENOENT", path);
    if (readOnly) throw new FsError("EROFS", path);
    store.delete(key);
  }

  /** The names in a directory (files and directories, mounts included), sorted; none for a missing one. */
  list(dir: string): string[] {
    const prefix = dir === "/" ? "/" : `${dir}/`;
    const names = new Set<string>();
    const add = (path: string) => {
      if (!path.startsWith(prefix) || path.length === prefix.length) return;
      const name = path.slice(prefix.length).split("/")[0]!;
      if (this.stat(prefix + name)) names.add(name);
    };
    for (const key of this.root.keys()) add(key);
    for (const mount of this.mounts) {
      add(mount.target);
      for (const key of mount.store.keys()) add(posix.join(mount.target, key));
    }
    return [...names].sort();
  }

  private lookup(path: string): FileEntry | undefined {
    const { store, key } = this.locate(path);
    return store.get(key);
  }

  private isDirectory(path: string): boolean {
    if (path === "/" || this.mounts.some((m) => m.target === path || m.target.startsWith(`${path}/`))) return true;
    const { store, key } = this.locate(path);
    const prefix = key === "/" ? "/" : `${key}/`;
    for (const name of store.keys()) if (name.startsWith(prefix)) return true;
    return false;
  }

  private locate(path: string): { store: FileStore; key: string; readOnly: boolean } {
    for (const mount of this.mounts) {
      if (path === mount.target || path.startsWith(`${mount.target}/`)) {
        return { store: mount.store, key: path.slice(mount.target.length) || "/", readOnly: mount.readOnly };
      }
    }
    return { store: this.root, key: path, readOnly: false };
  }

  private locateWritable(path: string): { store: FileStore; key: string } {
    const location = this.locate(path);
    if (location.readOnly) throw new FsError("EROFS", path);
    if (this.isDirectory(path)) throw new FsError("EISDIR", path);
    for (let parent = posix.dirname(path); parent !== "/"; parent = posix.dirname(parent)) {
      if (this.lookup(parent)) throw new FsError("ENOTDIR", path);
    }
    return location;
  }
}
