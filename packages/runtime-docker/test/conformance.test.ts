import { describe, it } from "vitest";
import { defineRuntimeConformance } from "@k3ts/core/testing";
import { DockerRuntime, dockerAvailability } from "../src/index.js";

const image = process.env.K3TS_TEST_BUSYBOX_IMAGE ?? "k3ts-test/busybox:1";
const availability = await dockerAvailability(process.env);

if (availability.available) {
  defineRuntimeConformance({
    title: `docker conformance (${availability.endpoint})`,
    create: () => new DockerRuntime(),
    image,
    // This sandbox cannot run privileged containers; the product default stays privileged.
    nodeDefaults: { privileged: false },
  });
} else if (process.env.CI) {
  describe("docker conformance", () => {
    it("needs a reachable Docker engine under CI", () => {
      throw new Error(`Docker is not reachable (${availability.endpoint ?? "no endpoint"}): ${availability.reason}`);
    });
  });
} else {
  describe.skip(`docker conformance: engine not reachable (${availability.reason})`, () => {
    it("skipped", () => {});
  });
}
