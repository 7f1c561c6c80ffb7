/** Deciding which node needs which image, from what each node's containerd already holds. Pure. */
import { normalizeImageRef, type ArchiveImage } from "./archive.js";

/** What a node's containerd holds: reference → target digest (`ctr images ls`). */
export type NodeImages = ReadonlyMap<string, string>;

/** True when the node holds every reference of the archive, each with the archive's digest. */
export function alreadyPresent(expected: readonly ArchiveImage[], present: NodeImages): boolean {
  return expected.length > 0 && expected.every((img) => present.get(img.ref) === img.digest);
}

/** The nodes that need the archive: those where {@link alreadyPresent} does not hold. */
export function nodesNeeding<N extends string>(expected: readonly ArchiveImage[], present: ReadonlyMap<N, NodeImages>): N[] {
  return [...present.keys()].filter((node) => !alreadyPresent(expected, present.get(node)!));
}

/**
 * The references an engine image may carry once imported (docker keeps `me/app:1` and containerd
 * names it `docker.io/me/app:1`; podman's short names live under `localhost/`).
 */
export function candidateRefs(ref: string): string[] {
  const normalized = normalizeImageRef(ref);
  return ref.includes("/") && /^[^/]*[.:]|^localhost\//.test(ref) ? [normalized] : [normalized, normalizeImageRef(`localhost/${ref}`)];
}

/**
 * Whether reading the engine's archive to learn its digests can pay off: only when some node
 * already holds a reference the image may carry. Otherwise every node needs it anyway.
 */
export function worthChecking(ref: string, present: Iterable<NodeImages>): boolean {
  const names = candidateRefs(ref);
  for (const images of present) if (names.some((n) => images.has(n))) return true;
  return false;
}
