/**
 * The runtime conformance suite against the real podman engine. Needs podman and the test image
 * (`node scripts/fixtures.mjs --engine podman` from the repository root). Under CI an unreachable
 * engine fails the file; elsewhere the suite is skipped with the reason.
 */
import { describe, it } from "vitest";
import { defineRuntimeConformance } from "@k3ts/core/testing";
import { createPodmanRuntime } from "../src/index.js";

const IMAGE = "k3ts-test/busybox:1";

async function engineProblem(): Promise<string | undefined> {
  try {
    const runtime = createPodmanRuntime();
    await runtime.version({ timeoutMs: 10_000 });
    if (!(await runtime.images.exists(IMAGE))) return `the test image ${IMAGE} is missing (run: node scripts/fixtures.mjs --engine podman)`;
    return undefined;
  } catch (err) {
    return `podman is not reachable: ${(err as Error).message}`;
  }
}

const problem = await engineProblem();

if (problem === undefined) {
  defineRuntimeConformance({
    title: "podman runtime conformance",
    create: () => createPodmanRuntime(),
    image: IMAGE,
    // This sandbox refuses --privileged; the product default stays with the caller's spec.
    nodeDefaults: { privileged: false },
  });
} else if (process.env.CI) {
  describe("podman runtime conformance", () => {
    it("needs a reachable podman engine under CI", () => {
      throw new Error(problem);
    });
  });
} else {
  describe.skip(`podman runtime conformance (skipped: ${problem})`, () => {
    it("runs against a real podman engine", () => {});
  });
}
