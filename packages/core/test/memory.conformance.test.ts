import { defineRuntimeConformance } from "../src/testing/suite.ts";
import { createMemoryRuntime } from "../src/testing/memory/index.ts";

defineRuntimeConformance({
  title: "memory runtime conformance",
  create: () => createMemoryRuntime(),
  image: "k3ts-test/busybox:1",
});
