/**
 * Talking to a node's containerd through k3s' own `ctr` (the k3s binary under another name:
 * `k3s pkg/ctr/main.go` defaults the address to /run/k3s/containerd/containerd.sock and the
 * namespace to k8s.io, the namespace the kubelet's CRI uses). The namespace is passed explicitly
 * anyway, so a `CONTAINERD_NAMESPACE` in the node cannot send images elsewhere. Pure.
 */

/** The containerd namespace the kubelet (CRI) sees. */
export const K8S_NAMESPACE = "k8s.io";

/**
 * Imports an archive from stdin into the node's containerd, every platform's content kept, as k3s
 * imports archives from its agent images directory (`client.Import(..., WithAllPlatforms(true))`).
 */
export function ctrImportCommand(): string[] {
  return ["ctr", "-n", K8S_NAMESPACE, "images", "import", "--all-platforms", "-"];
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

/** `unpacking <ref> (sha256:…)...done` lines of `ctr images import` → what was imported. */
export function parseCtrImportOutput(stdout: string): Array<{ ref: string; digest: string }> {
  const out: Array<{ ref: string; digest: string }> = [];
  for (const m of stdout.matchAll(/^unpacking (\S+) \((sha256:[0-9a-f]{64})\)/gm)) out.push({ ref: m[1]!, digest: m[2]! });
  return out;
}
