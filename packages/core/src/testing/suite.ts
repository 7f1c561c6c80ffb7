import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, it } from "vitest";
import type { Runtime } from "../runtime.js";
import { CONFORMANCE_SUITE_LABEL, conformanceChecks, resultError, runCheck, type ConformanceOptions } from "./conformance.js";

/**
 * Removes nodes, volumes and networks that an earlier run of the suite left behind when it was killed
 * before its clean-up (another prefix, same suite label), all found by that label. A stale object that
 * cannot be removed is skipped (the run's own leak checks only look at its own prefix).
 */
async function sweepStale(runtime: Runtime, prefix: string): Promise<void> {
  const label = { [CONFORMANCE_SUITE_LABEL]: "" };
  for (const node of await runtime.nodes.list({ labels: label })) {
    if (node.labels[CONFORMANCE_SUITE_LABEL] !== prefix) await runtime.nodes.delete(node.name, { force: true }).catch(() => {});
  }
  for (const volume of await runtime.volumes.list({ labels: label })) {
    if (volume.labels[CONFORMANCE_SUITE_LABEL] !== prefix) await runtime.volumes.delete(volume.name).catch(() => {});
  }
  for (const network of await runtime.networks.list({ labels: label })) {
    if (network.labels[CONFORMANCE_SUITE_LABEL] !== prefix) await runtime.networks.delete(network.name).catch(() => {});
  }
}

/**
 * Registers the runtime conformance suite with vitest. Call it at the top level of a test file:
 *
 * ```ts
 * import { defineRuntimeConformance } from "@k3ts/core/testing";
 * defineRuntimeConformance({ create: () => createMyRuntime(), image: "k3ts-test/busybox:1" });
 * ```
 */
export function defineRuntimeConformance(options: ConformanceOptions & { title?: string }): void {
  const timeout = options.timeoutMs ?? 60_000;
  describe(options.title ?? "runtime conformance", () => {
    let runtime: Runtime;
    const prefix = options.prefix ?? `k3ts-conf-${randomBytes(3).toString("hex")}`;

    beforeAll(async () => {
      runtime = await options.create();
      await sweepStale(runtime, prefix);
    }, timeout);

    afterAll(async () => {
      await runtime?.close?.();
    });

    const groups = [...new Set(conformanceChecks.map((c) => c.group))];
    for (const group of groups) {
      describe(group, () => {
        for (const check of conformanceChecks.filter((c) => c.group === group)) {
          // The same guarantees as runConformanceChecks: a time limit, clean-up failures reported beside the
          // check's result, and a leak check of what it made.
          it(
            check.name,
            async () => {
              const failure = resultError(await runCheck(check, runtime, options, prefix));
              if (failure) throw failure;
            },
            timeout + 30_000,
          );
        }
      });
    }
  });
}
