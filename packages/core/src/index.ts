/**
 * `@k3ts/core`, the public API: the Runtime contract a plugin implements (and the helpers it may use), the
 * domain types, and the lifecycle verbs, each called as `verb(target, { runtime, signal, … })`. This surface
 * changes only on purpose: `api/index.api.md` is its report and `pnpm test` fails when they differ.
 * What only k3ts's own packages use is in `./internal.ts` (`@k3ts/core/internal`, no compatibility promise).
 */
export { VERSION } from "./version.js";
export { ERROR_CODES, K3tsError, isK3tsError, abortedError, throwIfAborted, raceAbort } from "./errors.js";
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
export { silentLogger, silentProgress } from "./logger.js";
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
  ImageInfo,
} from "./runtime.js";
export { BUILTIN_RUNTIMES, loadRuntimePlugin, selectRuntime } from "./plugin.js";
export type { LoadPluginOptions, SelectRuntimeOptions, SelectedRuntime } from "./plugin.js";
export { packFile, extractFirstFile } from "./tar.js";
export { DEFAULT_CLUSTER_NAME, DEFAULT_CREATE_TIMEOUT_MS, DEFAULT_K3S_IMAGE, DEFAULT_LB_IMAGE } from "./cluster/spec.js";
export type { ApiSpec, ClusterSpec, Filtered, HostImagesSpec, KeyValue, NodeFilter, NodeGroup, PortSpec, MountSpec } from "./cluster/spec.js";
export type { HostImagesRequest, HostImagesServer, HostImagesService } from "./hostimages/types.js";
export { MAX_NODES } from "./cluster/plan.js";
export { createCluster } from "./cluster/create.js";
export { deleteCluster, startCluster, stopCluster } from "./cluster/lifecycle.js";
export type { DeleteResult } from "./cluster/lifecycle.js";
export { getCluster, getKubeconfig, listClusters } from "./cluster/query.js";
export type { ClusterSummary, NodeSummary, CreateResult, LifecycleOptions, QueryOptions } from "./cluster/query.js";
export { DEFAULT_REGISTRY_IMAGE } from "./registry/config.js";
export type { RegistrySpec } from "./registry/config.js";
export {
  connectRegistry,
  createRegistry,
  deleteRegistry,
  disconnectRegistry,
  getRegistry,
  listRegistries,
  startRegistry,
  stopRegistry,
} from "./registry/lifecycle.js";
export type { ConnectOptions, ConnectResult, CreateRegistryOptions, DeleteRegistryResult, RegistrySummary } from "./registry/lifecycle.js";
export { addNodes, deleteNodes, editClusterPorts } from "./cluster/nodes.js";
export type { AddNodesOptions, EditPortsOptions } from "./cluster/nodes.js";
export type { RegistriesSpec, FileSpec } from "./cluster/spec.js";
export {
  loadConfig,
  mergeSpec,
  defaultClusterSpec,
  K3TS_API_VERSION,
  K3TS_KIND,
  K3TS_ENVIRONMENT_KIND,
  loadEnvironmentConfig,
} from "./config/index.js";
export type {
  ClusterSpecInput,
  ConfigFormat,
  ConfigNotice,
  ConfigProblem,
  LoadConfigOptions,
  LoadedConfig,
  EnvironmentDocument,
  LoadEnvironmentOptions,
} from "./config/index.js";
export { importImages } from "./images/index.js";
export type { ImageSource, ImportImagesOptions, ImportImagesResult } from "./images/index.js";
