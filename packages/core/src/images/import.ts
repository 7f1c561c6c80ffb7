/**
 * `image import`: images from the engine, archive files or a stream, into the containerd of a
 * cluster's nodes. Each archive is read once and streamed into `ctr images import -` in every node
 * that needs it (runtime exec with stdin): no helper container, no temporary file. Images a node
 * already holds with the same digest are skipped. Per-node failures are collected and reported
 * together after the other nodes finished.
 */
import { createReadStream, statSync } from "node:fs";
import type { Readable } from "node:stream";
import { K3tsError, abortedError, isK3tsError, throwIfAborted } from "../errors.js";
import { silentProgress, type Progress } from "../logger.js";
import type { Runtime } from "../runtime.js";
import { getCluster, type NodeSummary } from "../cluster/query.js";
import { parseNodeFilter, selectNodes } from "../cluster/filters.js";
import { normalizeImageRef, readImageArchive, type ArchiveImage } from "./archive.js";
import { ctrImportCommand, ctrListCommand, ctrTagCommand, importedImages, parseCtrImageList, parseCtrImportOutput } from "./ctr.js";
import { fanOut, formatTransfer } from "./fanout.js";
import { alreadyPresent, candidateRefs, worthChecking, type NodeImages } from "./plan.js";

/** An image in the engine, an archive file on this machine, or a stream (stdin). */
export type ImageSource = { kind: "image"; ref: string } | { kind: "file"; path: string } | { kind: "stream"; name: string; stream: Readable };

export interface ImportImagesOptions {
  runtime: Runtime;
  /** k3d node filters (`server:0`, `agent:*`, `all` …); default every server and agent. */
  nodeFilters?: string[];
  progress?: Progress;
  signal?: AbortSignal;
  /** What `-` reads (the CLI passes its stdin). */
  stdin?: Readable;
}

export type ImportStatus = "imported" | "skipped" | "failed";

/** One archive in one node. */
export interface ImageImportOutcome {
  source: string;
  status: ImportStatus;
  /** The references the node holds for this archive afterwards (as `ctr images ls` names them). */
  images: Array<{ ref: string; digest: string }>;
  bytes: number;
  durationMs: number;
  error?: string;
}

export interface NodeImportReport {
  node: string;
  role: string;
  /** `failed` if any archive failed there, else `imported` if any was imported, else `skipped`. */
  status: ImportStatus;
  bytes: number;
  durationMs: number;
  images: ImageImportOutcome[];
}

export interface ImportImagesResult {
  cluster: string;
  nodes: NodeImportReport[];
  /** What will keep an imported image from being used as named (a `:latest` reference …), and what to change. */
  warnings: string[];
}

export interface NodeFailure {
  node: string;
  source: string;
  message: string;
}

function describe(source: ImageSource): string {
  return source.kind === "image" ? source.ref : source.kind === "file" ? source.path : source.name;
}

/**
 * Turns command-line arguments into sources: `-` is the stream, an existing file is an archive
 * (files win over image names, as in k3d), anything else an image in the engine.
 */
export function resolveSources(args: readonly string[], stdin?: Readable, isFile: (p: string) => boolean = defaultIsFile): ImageSource[] {
  if (args.length === 0) throw new K3tsError("INVALID_ARGUMENT", "name at least one image, archive file or - (stdin)", { meta: { flag: "IMAGE" } });
  if (args.filter((a) => a === "-").length > 1) throw new K3tsError("INVALID_ARGUMENT", "- (stdin) can be given once", { meta: { flag: "IMAGE" } });
  return args.map((arg): ImageSource => {
    if (arg === "-") {
      if (!stdin) throw new K3tsError("INVALID_ARGUMENT", "- reads an archive from stdin, but no stdin was given", { meta: { flag: "IMAGE" } });
      return { kind: "stream", name: "-", stream: stdin };
    }
    return isFile(arg) ? { kind: "file", path: arg } : { kind: "image", ref: arg };
  });
}

function toSources(sources: ReadonlyArray<string | ImageSource>, stdin?: Readable): ImageSource[] {
  if (sources.length === 0) return resolveSources([]);
  const list = sources.flatMap((s) => (typeof s === "string" ? resolveSources([s], stdin) : [s]));
  if (list.filter((s) => s.kind === "stream").length > 1) throw new K3tsError("INVALID_ARGUMENT", "- (stdin) can be given once", { meta: { flag: "IMAGE" } });
  return list;
}

function defaultIsFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

async function checkImagesExist(runtime: Runtime, sources: ImageSource[], signal?: AbortSignal): Promise<void> {
  const refs = sources.flatMap((s) => (s.kind === "image" ? [s.ref] : []));
  const found = await Promise.all(refs.map((r) => runtime.images.exists(r, signal ? { signal } : {})));
  const missing = refs.filter((_, i) => !found[i]);
  if (missing.length > 0) {
    throw new K3tsError("IMAGE_NOT_FOUND", `${missing.length === 1 ? "image" : "images"} not found in ${runtime.name}: ${missing.join(", ")}`, {
      meta: { images: missing },
      hint: `pull or build ${missing.length === 1 ? "it" : "them"} first (${runtime.name} pull …), or name an archive file`,
    });
  }
}

function targetNodes(nodes: NodeSummary[], parsed: ReturnType<typeof parseNodeFilter>[]): NodeSummary[] {
  if (!parsed.length) return nodes.filter((n) => n.role === "server" || n.role === "agent");
  return selectNodes(
    parsed,
    nodes.map((n) => ({ ...n, role: n.role as "server" | "agent" | "loadbalancer" })),
    "--nodes",
  );
}

async function openSource(runtime: Runtime, source: ImageSource, signal?: AbortSignal): Promise<Readable> {
  if (source.kind === "image") return runtime.images.save([source.ref], signal ? { signal } : {});
  if (source.kind === "file") return createReadStream(source.path);
  return source.stream;
}

/** What the node's containerd holds, or the reason it cannot tell. */
async function listNodeImages(runtime: Runtime, node: string, signal?: AbortSignal): Promise<NodeImages> {
  const r = await runtime.nodes.exec(node, ctrListCommand(), signal ? { signal } : {});
  if (r.exitCode !== 0) {
    const output = r.stderr.toString("utf8").trim() || r.stdout.toString("utf8").trim();
    throw new K3tsError("COMMAND_FAILED", `ctr images ls exited ${r.exitCode}: ${output}`, { meta: { node, command: ctrListCommand(), exitCode: r.exitCode, output } });
  }
  return parseCtrImageList(r.stdout.toString("utf8"));
}

interface NodeState {
  node: NodeSummary;
  present?: NodeImages;
  /** Set when the node cannot take any image (not running, ctr unusable). */
  broken?: string;
  outcomes: ImageImportOutcome[];
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Streams one opened archive into the nodes at once; their outcomes (a node's failure is an outcome). */
async function streamInto(
  runtime: Runtime,
  label: string,
  archive: Readable,
  nodes: NodeState[],
  opts: { progress: Progress; signal?: AbortSignal; expected?: ArchiveImage[] },
): Promise<Map<NodeState, ImageImportOutcome>> {
  const branches = fanOut(archive, nodes.length);
  let archiveError: unknown;
  archive.once("error", (err) => (archiveError = err));
  const outcomes = new Map<NodeState, ImageImportOutcome>();
  await Promise.all(
    nodes.map(async (state, i) => {
      const branch = branches[i]!;
      const step = opts.progress.start(`Importing ${label} into ${state.node.name}`);
      const started = performance.now();
      const ticker = setInterval(() => step.update(formatTransfer(branch.bytes(), performance.now() - started)), 1000);
      try {
        const r = await runtime.nodes.exec(state.node.name, ctrImportCommand(), { stdin: branch.stream, ...(opts.signal ? { signal: opts.signal } : {}) });
        const ms = performance.now() - started;
        if (archiveError) throw archiveError;
        if (r.exitCode !== 0) {
          const output = r.stderr.toString("utf8").trim() || "no output";
          throw new K3tsError("COMMAND_FAILED", `ctr images import exited ${r.exitCode}: ${output}`, { meta: { node: state.node.name, command: ctrImportCommand(), exitCode: r.exitCode, output } });
        }
        const before = state.present ?? new Map<string, string>();
        // What the node holds now (the import's references are read from it); without it, ctr's own lines.
        const after = await listNodeImages(runtime, state.node.name, opts.signal).catch(() => undefined);
        if (after) state.present = after;
        const images = importedImages(parseCtrImportOutput(r.stdout.toString("utf8")), before, after ?? before, opts.expected);
        outcomes.set(state, { source: label, status: "imported", images, bytes: branch.bytes(), durationMs: Math.round(ms) });
        step.succeed(formatTransfer(branch.bytes(), ms));
      } catch (err) {
        branch.detach();
        if (opts.signal?.aborted) {
          step.fail(err);
          throw abortedError(opts.signal, "image import");
        }
        const e = archiveError ?? err;
        outcomes.set(state, { source: label, status: "failed", images: [], bytes: branch.bytes(), durationMs: Math.round(performance.now() - started), error: message(e) });
        step.fail(e);
      } finally {
        clearInterval(ticker);
      }
    }),
  );
  return outcomes;
}

/** Reads an archive only to learn its references and digests (nothing is sent to a node). */
async function expectedImages(runtime: Runtime, source: ImageSource, signal?: AbortSignal): Promise<ArchiveImage[]> {
  return readImageArchive(await openSource(runtime, source, signal), describe(source));
}

async function importOne(runtime: Runtime, source: ImageSource, states: NodeState[], progress: Progress, signal?: AbortSignal): Promise<void> {
  const label = describe(source);
  const ready = states.filter((s) => !s.broken);
  for (const s of states.filter((x) => x.broken)) {
    s.outcomes.push({ source: label, status: "failed", images: [], bytes: 0, durationMs: 0, error: s.broken! });
  }
  if (ready.length === 0) return;
  // Files are read twice when useful (cheap, local); the engine's archive only when a node may
  // already hold the image; a stream can be read once only, so it is never skipped.
  let expected: ArchiveImage[] | undefined;
  if (source.kind === "file" || (source.kind === "image" && worthChecking(source.ref, ready.map((s) => s.present!)))) {
    expected = await expectedImages(runtime, source, signal);
  }
  const needing = ready.filter((s) => !(expected && alreadyPresent(expected, s.present!)));
  for (const s of ready.filter((x) => !needing.includes(x))) {
    s.outcomes.push({ source: label, status: "skipped", images: expected!.map(({ ref, digest }) => ({ ref, digest })), bytes: 0, durationMs: 0 });
    progress.start(`Importing ${label} into ${s.node.name}`).succeed(`already present (${expected!.map((e) => e.digest.slice(7, 19)).join(", ")})`);
  }
  if (needing.length === 0) {
    if (source.kind === "stream") source.stream.resume();
    return;
  }
  throwIfAborted(signal, "image import");
  const archive = await openSource(runtime, source, signal);
  const outcomes = await streamInto(runtime, label, archive, needing, { progress, ...(signal ? { signal } : {}), ...(expected ? { expected } : {}) });
  for (const s of needing) s.outcomes.push(outcomes.get(s)!);
}

/**
 * Podman saves `app:1` as `localhost/app:1`, which containerd keeps under that name, while a manifest's
 * `app:1` means `docker.io/library/app:1`: the node gets that name too (`ctr images tag`), so the
 * reference the user imported is the one that finds the image.
 */
async function aliasLocalhost(runtime: Runtime, ref: string, states: NodeState[], signal?: AbortSignal): Promise<void> {
  const [wanted, local] = candidateRefs(ref);
  if (!local) return;
  for (const state of states) {
    const outcome = state.outcomes.find((o) => o.source === ref && o.status !== "failed");
    const held = outcome?.images.find((i) => i.ref === local);
    if (!outcome || !held || outcome.images.some((i) => i.ref === wanted)) continue;
    const r = await runtime.nodes.exec(state.node.name, ctrTagCommand(local, wanted!), signal ? { signal } : {});
    if (r.exitCode === 0) {
      outcome.images.push({ ref: wanted!, digest: held.digest });
      outcome.images.sort((a, b) => a.ref.localeCompare(b.ref));
    }
    else Object.assign(outcome, { status: "failed", error: `imported as ${local}, but naming it ${wanted} failed: ${r.stderr.toString("utf8").trim()}` });
  }
}

/** A `:latest` (or untagged) image is pulled by the kubelet (imagePullPolicy Always by default): the imported copy is not used. */
export function referenceWarnings(ref: string): string[] {
  if (ref.includes("@") || !normalizeImageRef(ref).endsWith(":latest")) return [];
  const name = ref.replace(/:latest$/, "");
  return [`${ref}: pods that name it ${ref === name ? "(no tag means :latest) " : ""}get imagePullPolicy Always and pull it from its registry instead of using the imported copy; give it another tag (${name}:dev) or set imagePullPolicy: IfNotPresent`];
}

async function nodeState(runtime: Runtime, node: NodeSummary, signal?: AbortSignal): Promise<NodeState> {
  if (node.state !== "running") return { node, broken: `node ${node.name} is ${node.state}; start it first (k3ts node start ${node.name})`, outcomes: [] };
  try {
    return { node, present: await listNodeImages(runtime, node.name, signal), outcomes: [] };
  } catch (err) {
    if (signal?.aborted) throw abortedError(signal, "image import");
    return { node, broken: `cannot read the images of ${node.name}: ${message(err)}`, outcomes: [] };
  }
}

function summarize(state: NodeState): NodeImportReport {
  const statuses = state.outcomes.map((o) => o.status);
  const status: ImportStatus = statuses.includes("failed") ? "failed" : statuses.includes("imported") ? "imported" : "skipped";
  return {
    node: state.node.name,
    role: state.node.role,
    status,
    bytes: state.outcomes.reduce((n, o) => n + o.bytes, 0),
    durationMs: state.outcomes.reduce((n, o) => n + o.durationMs, 0),
    images: state.outcomes,
  };
}

/** Every failure of a result, one per node and archive. */
export function importFailures(result: ImportImagesResult): NodeFailure[] {
  return result.nodes.flatMap((n) => n.images.filter((o) => o.status === "failed").map((o) => ({ node: n.node, source: o.source, message: o.error ?? "failed" })));
}

/**
 * Imports images into a cluster's nodes (default: every server and agent). Fails with
 * `COMMAND_FAILED` listing each node's failure after every node finished (`meta.result` holds the
 * whole result); `IMAGE_NOT_FOUND` before anything is sent when an engine image is missing.
 */
export async function importImages(clusterName: string, sources: ReadonlyArray<string | ImageSource>, opts: ImportImagesOptions): Promise<ImportImagesResult> {
  const { runtime, signal } = opts;
  const progress = opts.progress ?? silentProgress;
  const list = toSources(sources, opts.stdin);
  // Input first: a bad filter is said before the engine is asked anything.
  const filters = (opts.nodeFilters ?? []).map((f) => parseNodeFilter(f, "--nodes"));
  const cluster = await getCluster(clusterName, { runtime, signal });
  const all = [...cluster.servers, ...cluster.agents, ...(cluster.loadBalancer ? [cluster.loadBalancer] : [])];
  const targets = targetNodes(all, filters);
  if (targets.length === 0) throw new K3tsError("INVALID_ARGUMENT", `cluster ${clusterName} has no node to import into`, { meta: { cluster: clusterName } });
  // The engine check and the nodes' image lists are independent: ask both at once.
  const [, states] = await Promise.all([checkImagesExist(runtime, list, signal), Promise.all(targets.map((node) => nodeState(runtime, node, signal)))]);
  for (const source of list) {
    throwIfAborted(signal, "image import");
    try {
      await importOne(runtime, source, states, progress, signal);
    } catch (err) {
      if (signal?.aborted || isK3tsError(err, "ABORTED")) throw abortedError(signal, "image import");
      // The archive itself could not be read: every node fails for it.
      for (const s of states.filter((x) => !x.outcomes.some((o) => o.source === describe(source)))) {
        s.outcomes.push({ source: describe(source), status: "failed", images: [], bytes: 0, durationMs: 0, error: message(err) });
      }
    }
  }
  for (const source of list) if (source.kind === "image") await aliasLocalhost(runtime, source.ref, states, signal);
  const result: ImportImagesResult = { cluster: clusterName, nodes: states.map(summarize), warnings: list.flatMap((s) => (s.kind === "image" ? referenceWarnings(s.ref) : [])) };
  const failures = importFailures(result);
  if (failures.length > 0) {
    const lines = failures.map((f) => `  ${f.node}: ${f.source}: ${f.message}`).join("\n");
    throw new K3tsError("COMMAND_FAILED", `image import failed on ${new Set(failures.map((f) => f.node)).size} of ${states.length} node(s):\n${lines}`, {
      meta: { cluster: clusterName, failures, result },
      cause: new AggregateError(failures.map((f) => new K3tsError("COMMAND_FAILED", `${f.node}: ${f.source}: ${f.message}`, { meta: { node: f.node, source: f.source } })), "image import failed"),
    });
  }
  return result;
}
