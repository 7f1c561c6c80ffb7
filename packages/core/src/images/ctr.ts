/**
 * Talking to a node's containerd through k3s' own `ctr` (the k3s binary under another name:
 * `k3s pkg/ctr/main.go` defaults the address to /run/k3s/containerd/containerd.sock and the
 * namespace to k8s.io, the namespace the kubelet's CRI uses). The namespace is passed explicitly
 * anyway, so a `CONTAINERD_NAMESPACE` in the node cannot send images elsewhere. Pure.
 */

/** The containerd namespace the kubelet (CRI) sees. */
export const K8S_NAMESPACE = "k8s.io";

/**
 * Imports an archive from stdin into the node's containerd, for the node's platform (ctr's default).
 * Not `--all-platforms`: that makes containerd walk every manifest the archive's index names, and an
 * archive that names platforms it does not carry (what Docker's containerd image store exports for a
 * pulled multi-arch image) fails with `content digest sha256:…: not found` (containerd PR #12908,
 * k3d-io/k3d#1538). k3s imports its images directory with `WithSkipMissing` for the same reason
 * (k3s-io/k3s#10132); ctr cannot ask for that, so the node's own platform is what gets imported.
 */
export function ctrImportCommand(): string[] {
  return ["ctr", "-n", K8S_NAMESPACE, "images", "import", "-"];
}

/** Gives an image another name in the node (`--force`: re-points the name if it exists). */
export function ctrTagCommand(source: string, target: string): string[] {
  return ["ctr", "-n", K8S_NAMESPACE, "images", "tag", "--force", source, target];
}

export function ctrListCommand(): string[] {
  return ["ctr", "-n", K8S_NAMESPACE, "images", "ls"];
}

/** `ctr images ls` (REF TYPE DIGEST SIZE PLATFORMS LABELS) → reference → target digest. */
export function parseCtrImageList(stdout: string): Map<string, string> {
  const images = new Map<string, string>();
  const lines = stdout.split("\n").filter((l) => l.trim() !== "");
  const header = lines[0]?.trim().split(/\s+/) ?? [];
  const refCol = header.indexOf("REF");
  const digestCol = header.indexOf("DIGEST");
  if (refCol < 0 || digestCol < 0) return images;
  for (const line of lines.slice(1)) {
    // References and digests never contain spaces; SIZE ("2.0 MiB") does, so count from the left.
    const cells = line.trim().split(/\s+/);
    const ref = cells[refCol];
    const digest = cells[digestCol];
    if (ref && digest?.startsWith("sha256:")) images.set(ref, digest);
  }
  return images;
}

/**
 * `unpacking <ref> (sha256:…)...done` lines of `ctr images import` → what was imported. containerd
 * 1.x prints them; 2.x (k3s ≥ 1.31) imports through its transfer service and prints progress
 * instead, so {@link importedImages} also compares `ctr images ls` before and after.
 */
export function parseCtrImportOutput(stdout: string): Array<{ ref: string; digest: string }> {
  const out: Array<{ ref: string; digest: string }> = [];
  for (const m of stdout.matchAll(/^unpacking (\S+) \((sha256:[0-9a-f]{64})\)/gm)) out.push({ ref: m[1]!, digest: m[2]! });
  return out;
}

/** A reference the CRI plugin adds for an image's id (`sha256:<config digest>`), not a name. */
function isImageId(ref: string): boolean {
  return /^sha256:[0-9a-f]{64}$/.test(ref);
}

/**
 * What one import gave the node, by name: the references ctr printed (containerd 1.x), those that are
 * new or re-pointed since the listing before, and the archive's own references (when known) that the
 * node now holds with the archive's digest.
 */
export function importedImages(
  printed: ReadonlyArray<{ ref: string; digest: string }>,
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
  expected: ReadonlyArray<{ ref: string; digest: string }> = [],
): Array<{ ref: string; digest: string }> {
  const out = new Map<string, string>();
  for (const { ref, digest } of printed) out.set(ref, after.get(ref) ?? digest);
  for (const [ref, digest] of after) if (!isImageId(ref) && before.get(ref) !== digest) out.set(ref, digest);
  for (const { ref, digest } of expected) if (after.get(ref) === digest) out.set(ref, digest);
  return [...out].map(([ref, digest]) => ({ ref, digest })).sort((a, b) => a.ref.localeCompare(b.ref));
}
