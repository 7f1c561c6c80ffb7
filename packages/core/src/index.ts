export { VERSION } from "./version.js";
export {
  ERROR_CODES,
  K3tsError,
  isK3tsError,
  abortedError,
  throwIfAborted,
  raceAbort,
} from "./errors.js";
export type { ErrorCode, ErrorMeta, K3tsErrorOptions } from "./errors.js";
export { ROLES } from "./types.js";
export type {
  Role,
  Protocol,
  PortMapping,
  PublishedPort,
  VolumeMount,
  NetworkAttachment,
  HostAlias,
  Ulimit,
  RestartPolicy,
  NodeSpec,
  NodeState,
  Node,
  NetworkSpec,
  NetworkInfo,
  VolumeSpec,
  VolumeInfo,
  LabelFilter,
} from "./types.js";
export { LABELS, LABEL_PREFIX, baseLabels, matchesLabels } from "./labels.js";
export type { LabelKey } from "./labels.js";
export { silentLogger, silentProgress, withStep } from "./logger.js";
export type { Logger, LogFields, Progress, ProgressStep } from "./logger.js";
export { RUNTIME_API_VERSION, defineRuntime } from "./runtime.js";
export type {
  Runtime,
  RuntimeInfo,
  RuntimeCapabilities,
  RuntimeContext,
  RuntimePlugin,
  Availability,
  CallOptions,
  ExecOptions,
  ExecResult,
  LogOptions,
  LogChunk,
  WriteFileOptions,
  StopOptions,
  DeleteOptions,
  PullOptions,
  PullProgress,
  NetworkClient,
  VolumeClient,
  NodeClient,
  ImageClient,
} from "./runtime.js";
export {
  BUILTIN_RUNTIMES,
  loadRuntimePlugin,
  selectRuntime,
  runtimePackageCandidates,
  validatePlugin,
} from "./plugin.js";
export type { LoadPluginOptions, SelectRuntimeOptions, SelectedRuntime } from "./plugin.js";
export { packFile, extractFirstFile, listTarEntries } from "./tar.js";
