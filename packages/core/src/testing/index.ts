export {
  conformanceChecks,
  runConformanceChecks,
  expectCode,
  leftovers,
  CONFORMANCE_SUITE_LABEL,
  CONFORMANCE_COPY_IMAGE,
} from "./conformance.js";
export type { ConformanceOptions, ConformanceCheck, CheckContext, CheckResult } from "./conformance.js";
export { defineRuntimeConformance } from "./suite.js";
export { MemoryRuntime, createMemoryRuntime } from "./memory/index.js";
export type { MemoryRuntimeOptions } from "./memory/index.js";
