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
export type { MemoryImageBehaviour, MemoryRuntimeOptions } from "./memory/index.js";
export type { Machine, Program, ProcessContext, ProcessIo } from "./memory/programs.js";
export type { Input, Output } from "./memory/io.js";
export type { NodeFs, FileStat } from "./memory/fs.js";
export { k3sImitation, NOT_READY_AFTER_MS } from "./imitations/k3s.js";
export type { K3sImitationOptions, K3sImitationPki } from "./imitations/k3s.js";
export { nginxImitation } from "./imitations/nginx.js";
