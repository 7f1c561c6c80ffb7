/**
 * Kubeconfig handling: renaming the `default` entries k3s writes to `k3ts-<cluster>`, merging them
 * into a user's kubeconfig and removing them again, and updating the file under the same
 * `<file>.lock` that kubectl/client-go use, atomically.
 *
 * Edits go through the `yaml` Document API in place, so entries k3ts does not own keep their
 * formatting and comments; a file written by kubectl (sequences not indented, two-space maps) comes
 * back byte-for-byte after a merge followed by a remove.
 */
import { constants } from "node:fs";
import { access, lstat, mkdir, readFile, readlink, stat, unlink } from "node:fs/promises";
import { delimiter, dirname, join, resolve } from "node:path";
import type { Document, Node, YAMLMap, YAMLSeq } from "yaml";
import { lockfile as loadLockfile, writeFileAtomic as loadWriteFileAtomic, yaml } from "./deps.js";
import { K3tsError } from "../errors.js";
import { names } from "./spec.js";

type Section = "clusters" | "users" | "contexts";
const SECTIONS: readonly Section[] = ["clusters", "contexts", "users"];
/** The key holding each entry's body (`- name: x\n  cluster: {...}`). */
const BODY: Readonly<Record<Section, string>> = { clusters: "cluster", contexts: "context", users: "user" };

interface Style {
  indent: number;
  indentSeq: boolean;
  crlf: boolean;
}

/** kubectl's (client-go's) style: two-space maps, sequences at their key's indentation. */
const KUBECTL_STYLE: Style = { indent: 2, indentSeq: false, crlf: false };

function invalid(where: string, message: string, value?: unknown): K3tsError<"INVALID_ARGUMENT"> {
  return new K3tsError("INVALID_ARGUMENT", `${where}: ${message}`, { meta: { where, ...(value === undefined ? {} : { value }) } });
}

/** The column where a line's content starts, counting `- ` sequence markers as indentation. */
function contentColumn(line: string): number {
  const m = /^[ ]*(?:-[ ]+)*/.exec(line);
  return m ? m[0].length : 0;
}

/** Guesses the indentation style of existing YAML text so re-serialised parts match it. */
function detectStyle(text: string): Style {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
  let indent: number | undefined;
  let indentSeq: boolean | undefined;
  for (let i = 0; i + 1 < lines.length && (indent === undefined || indentSeq === undefined); i++) {
    const line = lines[i] ?? "";
    const next = lines[i + 1] ?? "";
    if (!/:\s*$/.test(line)) continue; // a key whose value is a nested block
    const keyCol = contentColumn(line);
    const nextIndent = /^ */.exec(next)?.[0].length ?? 0;
    if (next.slice(nextIndent).startsWith("- ") || next.slice(nextIndent) === "-") {
      indentSeq ??= nextIndent > keyCol;
    } else if (nextIndent > keyCol) {
      indent ??= nextIndent - keyCol;
    }
  }
  return { indent: indent ?? KUBECTL_STYLE.indent, indentSeq: indentSeq ?? KUBECTL_STYLE.indentSeq, crlf: text.includes("\r\n") };
}

function stringify(doc: Document, style: Style): string {
  const text = doc.toString({ indent: style.indent, indentSeq: style.indentSeq, lineWidth: 0 });
  return style.crlf ? text.replace(/\r?\n/g, "\r\n") : text;
}

function parseConfig(text: string, where: string): Document {
  const doc = yaml().parseDocument(text);
  const err = doc.errors[0];
  if (err) throw invalid(where, `not valid YAML: ${err.message}`);
  if (doc.contents !== null && !yaml().isMap(doc.contents)) throw invalid(where, "not a kubeconfig (the document is not a mapping)");
  keepTrailingComment(doc, text);
  return doc;
}

/**
 * `yaml` prints a comment at the end of a document after a blank line even when the source had
 * none; attaching it to the top-level mapping prints it directly after the last line instead.
 */
function keepTrailingComment(doc: Document, text: string): void {
  const contents = doc.contents;
  if (!doc.comment || !yaml().isMap(contents) || contents.comment) return;
  const lines = text.replace(/\s+$/, "").split(/\r?\n/);
  const before = lines[lines.length - doc.comment.split("\n").length - 1];
  if (before !== undefined && before.trim() !== "") {
    contents.comment = doc.comment;
    doc.comment = null;
  }
}

function scalarString(node: unknown): string | undefined {
  if (yaml().isScalar(node)) return node.value === null || node.value === undefined ? undefined : String(node.value);
  return undefined;
}

function entryName(item: unknown): string | undefined {
  return yaml().isMap(item) ? scalarString(item.get("name", true)) : undefined;
}

/** The section's sequence, or undefined when the key is missing or null. */
function section(map: YAMLMap, key: Section, where: string): YAMLSeq | undefined {
  const node = map.get(key, true);
  if (node === undefined || (yaml().isScalar(node) && (node.value === null || node.value === ""))) return undefined;
  if (!yaml().isSeq(node)) throw invalid(where, `${key} is not a list`);
  return node;
}

/** Inserts a key in sorted position when the map's keys are sorted (as kubectl writes them), else at the end. */
function insertKey(map: YAMLMap, key: string, value: Node): void {
  const keys = map.items.map((p) => scalarString(p.key) ?? "");
  const sorted = keys.every((k, i) => i === 0 || (keys[i - 1] ?? "") <= k);
  map.set(key, value);
  if (!sorted) return;
  const added = map.items.pop();
  if (!added) return;
  const at = keys.findIndex((k) => k > key);
  map.items.splice(at < 0 ? map.items.length : at, 0, added);
}

/** Sets current-context as a plain scalar (kubectl writes `""` when empty; the new name needs no quotes). */
function setCurrentContext(doc: Document, map: YAMLMap, name: string): void {
  const node = doc.createNode(name);
  const old = map.get("current-context", true);
  if (yaml().isScalar(old)) node.comment = old.comment;
  if (map.has("current-context")) map.set("current-context", node);
  else insertKey(map, "current-context", node);
}

function currentContext(map: YAMLMap): string | undefined {
  const v = scalarString(map.get("current-context", true));
  return v === "" ? undefined : v;
}

/**
 * Rewrites the kubeconfig k3s writes (cluster, user and context all named `default`) for a k3ts
 * cluster: cluster and context `k3ts-<cluster>`, user `admin@k3ts-<cluster>`, current-context set,
 * the cluster's `server` replaced by `opts.server`.
 */
export function rewriteKubeconfig(k3sYaml: string, opts: { cluster: string; server: string }): string {
  const where = "k3s kubeconfig";
  const doc = parseConfig(k3sYaml, where);
  if (!yaml().isMap(doc.contents)) throw invalid(where, "the file is empty");
  const map = doc.contents as unknown as YAMLMap;
  const entries = {} as Record<Section, { entry: YAMLMap; body: YAMLMap }>;
  for (const key of SECTIONS) {
    const seq = section(map, key, where);
    const count = seq?.items.length ?? 0;
    const entry = seq?.items[0];
    if (count !== 1 || !yaml().isMap(entry)) throw invalid(where, `want exactly one entry in ${key}, found ${count}`);
    const body = entry.get(BODY[key], true);
    if (!yaml().isMap(body)) throw invalid(where, `${key}[0] has no ${BODY[key]} mapping`);
    entries[key] = { entry, body };
  }
  const contextName = names.context(opts.cluster);
  const userName = names.user(opts.cluster);
  entries.clusters.entry.set("name", contextName);
  entries.clusters.body.set("server", opts.server);
  entries.users.entry.set("name", userName);
  entries.contexts.entry.set("name", contextName);
  entries.contexts.body.set("cluster", contextName);
  entries.contexts.body.set("user", userName);
  setCurrentContext(doc, map, contextName);
  return stringify(doc, detectStyle(k3sYaml));
}

interface Incoming {
  entries: Record<Section, Array<{ name: string; value: unknown }>>;
  current: string | undefined;
}

function readIncoming(incoming: string): Incoming {
  const where = "incoming kubeconfig";
  const doc = parseConfig(incoming, where);
  if (!yaml().isMap(doc.contents)) throw invalid(where, "the file is empty");
  const map = doc.contents as unknown as YAMLMap;
  const entries = { clusters: [], contexts: [], users: [] } as Incoming["entries"];
  for (const key of SECTIONS) {
    for (const item of section(map, key, where)?.items ?? []) {
      const name = entryName(item);
      if (name === undefined) throw invalid(where, `an entry in ${key} has no name`);
      entries[key].push({ name, value: (item as YAMLMap).toJSON() });
    }
  }
  const current = currentContext(map) ?? entries.contexts[0]?.name;
  return { entries, current };
}

function freshConfig(doc: Document): YAMLMap {
  const map = doc.createNode({ apiVersion: "v1", clusters: [], contexts: [], kind: "Config", preferences: {}, users: [] });
  doc.contents = map as unknown as Document["contents"];
  return map;
}

/**
 * Adds the incoming clusters, users and contexts to an existing kubeconfig, replacing entries with
 * the same names and keeping every other entry (and comment) as it was. current-context is set to
 * the incoming one when `switchContext` is set or the existing one is empty. An empty or missing
 * existing file becomes a fresh `apiVersion: v1, kind: Config` document.
 */
export function mergeKubeconfig(existing: string | undefined, incoming: string, opts: { switchContext: boolean }): string {
  const where = "existing kubeconfig";
  const add = readIncoming(incoming);
  const blank = existing === undefined || existing.trim() === "";
  const doc = blank ? new (yaml().Document)() : parseConfig(existing, where);
  const style = blank ? KUBECTL_STYLE : detectStyle(existing);
  const map = yaml().isMap(doc.contents) ? (doc.contents as unknown as YAMLMap) : freshConfig(doc);

  for (const key of SECTIONS) {
    if (add.entries[key].length === 0) continue;
    let seq = section(map, key, where);
    if (seq === undefined) {
      seq = new (yaml().YAMLSeq)();
      if (map.has(key)) map.set(key, seq);
      else insertKey(map, key, seq);
    }
    for (const { name, value } of add.entries[key]) {
      const node = doc.createNode(value);
      const i = seq.items.findIndex((item) => entryName(item) === name);
      const old = seq.items[i];
      if (i < 0 || !yaml().isMap(old)) {
        seq.items.push(node);
        continue;
      }
      node.commentBefore = old.commentBefore;
      node.spaceBefore = old.spaceBefore;
      node.comment = old.comment;
      seq.items[i] = node;
    }
  }

  if (add.current !== undefined && (opts.switchContext || currentContext(map) === undefined)) {
    setCurrentContext(doc, map, add.current);
  }
  return stringify(doc, style);
}

/**
 * Removes cluster and context `k3ts-<cluster>` and user `admin@k3ts-<cluster>`. When current-context
 * pointed at it, it becomes the first remaining context, or is removed. When nothing matched,
 * `content` is `existing` unchanged and `changed` is false.
 */
export function removeFromKubeconfig(existing: string, cluster: string): { content: string; changed: boolean } {
  if (existing.trim() === "") return { content: existing, changed: false };
  const where = "kubeconfig";
  const doc = parseConfig(existing, where);
  if (!yaml().isMap(doc.contents)) return { content: existing, changed: false };
  const map = doc.contents as unknown as YAMLMap;
  const target: Record<Section, string> = {
    clusters: names.context(cluster),
    contexts: names.context(cluster),
    users: names.user(cluster),
  };
  let changed = false;
  for (const key of SECTIONS) {
    const seq = section(map, key, where);
    if (!seq) continue;
    const kept = seq.items.filter((item) => entryName(item) !== target[key]);
    if (kept.length !== seq.items.length) {
      seq.items = kept;
      changed = true;
    }
  }
  if (currentContext(map) === target.contexts) {
    const first = section(map, "contexts", where)?.items.map(entryName).find((n) => n !== undefined);
    if (first !== undefined) setCurrentContext(doc, map, first);
    else map.delete("current-context");
    changed = true;
  }
  return changed ? { content: stringify(doc, detectStyle(existing)), changed } : { content: existing, changed };
}

/** The kubeconfig k3ts writes to: the first entry of KUBECONFIG, else `<home>/.kube/config`. */
export function kubeconfigPath(env: Record<string, string | undefined>, home: string): string {
  const first = (env.KUBECONFIG ?? "").split(delimiter).find((p) => p !== "");
  return first ?? join(home, ".kube", "config");
}

/** Follows symlinks (also dangling ones) to the file that is really written. */
async function linkTarget(path: string): Promise<string> {
  let current = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    try {
      const st = await lstat(current);
      if (!st.isSymbolicLink()) return current;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return current;
      throw err;
    }
    current = resolve(dirname(current), await readlink(current));
  }
  throw invalid(path, "too many levels of symbolic links", path);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

const PROBE_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters:\n- name: k3ts-probe\n  cluster: {server: https://127.0.0.1:6443}\nusers:\n- name: admin@k3ts-probe\n  user: {}\ncontexts:\n- name: k3ts-probe\n  context: {cluster: k3ts-probe, user: admin@k3ts-probe}\ncurrent-context: k3ts-probe\n";

/**
 * Would an update of this kubeconfig file work? Checked before a create makes anything, so a file k3ts
 * cannot merge into is said at once and not after the whole cluster came up (and was rolled back): the
 * file (symlinks followed) is a regular file k3ts can read and that parses as a kubeconfig it can merge
 * into, and the directory it and its `.lock` live in exists (or can be made) and is writable. Changes
 * nothing. Throws INVALID_ARGUMENT naming the file.
 */
export async function checkKubeconfigFile(path: string): Promise<void> {
  const abs = resolve(path);
  const bad = (message: string, cause?: unknown) => new K3tsError("INVALID_ARGUMENT", `kubeconfig ${abs}: ${message}`, { meta: { path: abs }, ...(cause ? { cause } : {}), hint: "fix or move the file, or name another with --kubeconfig-path / KUBECONFIG" });
  let target: string;
  try {
    target = await linkTarget(abs);
  } catch (err) {
    throw bad(`cannot follow it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
  const existing = await stat(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw bad(`cannot read it: ${err.code ?? err.message}`, err);
  });
  if (existing?.isDirectory()) throw bad("is a directory, not a file");
  if (existing) {
    const text = await readFile(target, "utf8").catch((err: NodeJS.ErrnoException) => {
      throw bad(`cannot read it: ${err.code ?? err.message}`, err);
    });
    try {
      mergeKubeconfig(text, PROBE_KUBECONFIG, { switchContext: false });
    } catch (err) {
      throw bad((err as Error).message.replace(/^existing kubeconfig: /, ""), err);
    }
  }
  for (const file of new Set([abs, target])) {
    // The nearest directory that exists must take new files (the lock, the atomic write's temp file, made directories).
    let dir = dirname(file);
    for (;;) {
      let st;
      try {
        st = await stat(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw bad(`cannot use ${dir}: ${(err as NodeJS.ErrnoException).code}`, err);
      }
      if (st) {
        if (!st.isDirectory()) throw bad(`${dir} is not a directory`);
        await access(dir, constants.W_OK | constants.X_OK).catch((err: NodeJS.ErrnoException) => {
          throw bad(`${dir} is not writable (${err.code}): neither the file nor its lock can be written`, err);
        });
        break;
      }
      if (dirname(dir) === dir) break;
      dir = dirname(dir);
    }
  }
}

/** How long a lock held by a crashed process is honoured. */
const LOCK_STALE_MS = 10_000;
/** Retries with backoff: 50 ms doubling up to 1 s, about 5.5 s in all. */
const LOCK_RETRIES = { retries: 9, factor: 2, minTimeout: 50, maxTimeout: 1000 };

/**
 * Runs `fn` holding `<path>.lock`, the lock kubectl/client-go take on a kubeconfig (they create it
 * with O_EXCL, proper-lockfile with mkdir: each excludes the other). `fn` gets the file really
 * written (symlinks followed) and a check that throws when the lock was lost meanwhile.
 */
async function withKubeconfigLock<T>(path: string, fn: (target: string, assertLocked: () => void) => Promise<T>): Promise<T> {
  const abs = resolve(path);
  const target = await linkTarget(abs);
  await mkdir(dirname(abs), { recursive: true, mode: 0o700 });
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  let lost: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await (await loadLockfile()).lock(abs, {
      realpath: false,
      lockfilePath: `${abs}.lock`,
      stale: LOCK_STALE_MS,
      retries: LOCK_RETRIES,
      onCompromised: (err) => {
        lost = err;
      },
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOCKED") {
      throw new K3tsError("TIMEOUT", `kubeconfig ${abs} is locked by another process (${abs}.lock)`, {
        meta: { path: abs, lockfile: `${abs}.lock` },
        cause: err,
        hint: `if no kubectl or k3ts is running, remove ${abs}.lock`,
      });
    }
    throw err;
  }
  const assertLocked = () => {
    if (lost) throw new K3tsError("ABORTED", `lost the lock on kubeconfig ${abs}`, { meta: { path: abs }, cause: lost });
  };
  try {
    // The link may have been changed while we waited for the lock.
    return await fn(await linkTarget(abs), assertLocked);
  } finally {
    await release().catch(() => undefined);
  }
}

async function writeKubeconfig(target: string, content: string): Promise<void> {
  await (await loadWriteFileAtomic())(target, content, { mode: 0o600 });
}

/**
 * Updates a kubeconfig file under its lock: reads it (undefined when missing), calls `update`, and
 * writes the result only if it differs — atomically (temp file + rename) with mode 0600, through a
 * symlink to its target (the link stays a link), creating the parent directory (0700) if needed.
 * `update` returning undefined means "no change". Returns whether it wrote and what was there before.
 */
export async function updateKubeconfigFile(
  path: string,
  update: (current: string | undefined) => string | undefined,
): Promise<{ changed: boolean; previous: string | undefined }> {
  return withKubeconfigLock(path, async (target, assertLocked) => {
    const previous = await readIfExists(target);
    const next = update(previous);
    if (next === undefined || next === previous) return { changed: false, previous };
    assertLocked();
    await writeKubeconfig(target, next);
    return { changed: true, previous };
  });
}

/**
 * Rolls back an {@link updateKubeconfigFile}: under the same lock, if the file still holds
 * `expectedCurrent` (nobody changed it since), puts `previous` back byte-for-byte, or deletes the
 * file when `previous` is undefined. Returns whether it restored.
 */
export async function restoreKubeconfigFile(path: string, previous: string | undefined, expectedCurrent: string): Promise<boolean> {
  return withKubeconfigLock(path, async (target, assertLocked) => {
    const current = await readIfExists(target);
    if (current !== expectedCurrent) return false;
    assertLocked();
    if (previous === undefined) await unlink(target);
    else await writeKubeconfig(target, previous);
    return true;
  });
}
