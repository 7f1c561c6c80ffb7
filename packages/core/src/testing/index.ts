export {
  conformanceChecks,
  runConformanceChecks,
  expectCode,
  leftovers,
  CONFORMANCE_SUITE_LABEL,
} from "./conformance.js";
export type { ConformanceOptions, ConformanceCheck, CheckContext, CheckResult } from "./conformance.js";
export { defineRuntimeConformance } from "./suite.js";
export { MemoryRuntime, createMemoryRuntime } from "./memory.js";
export type { MemoryRuntimeOptions } from "./memory.js";
