/**
 * Images a cluster needs, pulled before anything is created: a runtime's `nodes.create` never
 * pulls (a missing image is IMAGE_NOT_FOUND), so create, node add and registry create call this.
 */
import { throwIfAborted } from "../errors.js";
import { silentProgress, withStep, type Progress } from "../logger.js";
import type { Runtime } from "../runtime.js";

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Pulls each image that is not present yet, one step per image with its layers' progress. */
export async function ensureImages(runtime: Runtime, refs: string[], options: { progress?: Progress; signal?: AbortSignal } = {}): Promise<string[]> {
  const progress = options.progress ?? silentProgress;
  const o = options.signal ? { signal: options.signal } : {};
  const pulled: string[] = [];
  const unique = [...new Set(refs)];
  throwIfAborted(options.signal, "pulling images");
  // Asked all at once; the pulls of what is missing then go one at a time (one progress line each).
  const present = await Promise.all(unique.map((ref) => runtime.images.exists(ref, o)));
  for (const [i, ref] of unique.entries()) {
    throwIfAborted(options.signal, "pulling images");
    if (present[i]) continue;
    await withStep(progress, `Pulling image ${ref}`, async (step) => {
      const layers = new Map<string, { current: number; total: number }>();
      await runtime.images.pull(ref, {
        ...o,
        onProgress: (e) => {
          if (!e.id || !e.total) return;
          layers.set(e.id, { current: e.current ?? 0, total: e.total });
          let current = 0;
          let total = 0;
          for (const l of layers.values()) {
            current += l.current;
            total += l.total;
          }
          step.update(`${mib(current)} / ${mib(total)}`);
        },
      });
    });
    pulled.push(ref);
  }
  return pulled;
}
