export { VERSION } from "./version.js";
export {
  ERROR_CODES,
  K3tsError,
  isK3tsError,
  redactSecrets,
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
  runtimeSearchDirs,
  validatePlugin,
} from "./plugin.js";
export type { LoadPluginOptions, SelectRuntimeOptions, SelectedRuntime } from "./plugin.js";
export { packFile, extractFirstFile, listTarEntries } from "./tar.js";
export {
  DEFAULT_CLUSTER_NAME,
  DEFAULT_CREATE_TIMEOUT_MS,
  DEFAULT_K3S_IMAGE,
  DEFAULT_LB_IMAGE,
  HOST_ALIAS,
  K3S_API_PORT,
  KUBECONFIG_IN_NODE,
  LB_CONFIG_PATH,
  REGISTRIES_YAML,
  names,
  parseNodeFilter,
  selectNodes,
  splitFilters,
  MAX_CLUSTER_NAME_LENGTH,
  parseApiPort,
  parseCapability,
  parseDuration,
  parseHostAlias,
  parseKeyValue,
  parseRuntimeLabel,
  parseSubnet,
  RESERVED_LABEL_PREFIX,
  parseMemory,
  parsePortSpec,
  parseVolumeSpec,
  validateClusterName,
  renderNginxConfig,
  kubeconfigPath,
  mergeKubeconfig,
  removeFromKubeconfig,
  restoreKubeconfigFile,
  rewriteKubeconfig,
  updateKubeconfigFile,
  checkKubeconfigFile,
} from "./cluster/index.js";
export type { ApiSpec, ClusterSpec, Filtered, KeyValue, NodeFilter, NodeGroup, PortSpec, MountSpec } from "./cluster/index.js";
export { MAX_NODES, checkNodeCounts, planCluster, apiHostName, apiForEngine, hostAddressFor, remoteEngineHost, TOKEN_FILE_IN_NODE } from "./cluster/plan.js";
export type { ClusterPlan, PlannedNode, PlanContext, ProxiedPort } from "./cluster/plan.js";
export { createCluster } from "./cluster/create.js";
export { deleteCluster, startCluster, stopCluster } from "./cluster/lifecycle.js";
export type { DeleteResult } from "./cluster/lifecycle.js";
export { getCluster, getKubeconfig, listClusters, generateToken, freePort } from "./cluster/query.js";
export type { ClusterSummary, NodeSummary, CreateResult, LifecycleOptions } from "./cluster/query.js";
export { accessFromKubeconfig, kubeApply, kubeGet, kubeRequest, listNodeReadiness, waitForReady } from "./cluster/kubeapi.js";
export type { KubeAccess, KubeRequestOptions, KubeResponse, NodeReadiness } from "./cluster/kubeapi.js";
export { ensureImages } from "./cluster/pull.js";
export { KUBELET_IN_USERNS_ARG, ROOTLESS_CONTROLLERS, adaptToEngine, preflight, preflightProblems, needsNetworkDns } from "./cluster/preflight.js";
export { NODE_HOSTS_ANNOTATION, corednsDisabled, mergeNodeHosts, publishHostNames, syncNodeHosts } from "./cluster/nodehosts.js";
export type { HostNamesSource } from "./cluster/nodehosts.js";
export type { PreflightProblem } from "./cluster/preflight.js";
export {
  DEFAULT_REGISTRY_IMAGE,
  REGISTRY_DATA_PATH,
  REGISTRY_INTERNAL_PORT,
  defaultClusterRegistryName,
  hostAddress,
  localRegistryHostingConfigMap,
  mirrorKeyForRemote,
  parseRegistriesConfig,
  parseRegistryCreate,
  parseRegistryPort,
  registryContainerName,
  registryMirrors,
  renderRegistriesYaml,
  updateRegistriesYaml,
  validateRegistryName,
} from "./registry/config.js";
export type { RegistriesConfig, RegistryEndpoint, RegistrySpec } from "./registry/config.js";
export { registryImage, resolveClusterRegistries } from "./registry/cluster.js";
export type { ClusterRegistries } from "./registry/cluster.js";
export {
  advertiseRegistry,
  connectRegistry,
  createRegistry,
  deleteRegistry,
  disconnectRegistry,
  getRegistry,
  listRegistries,
  registryEndpoint,
  startRegistry,
  stopRegistry,
} from "./registry/lifecycle.js";
export type { ConnectOptions, ConnectResult, CreateRegistryOptions, DeleteRegistryResult, RegistrySummary } from "./registry/lifecycle.js";
export { addNodes, deleteNodes, editClusterPorts } from "./cluster/nodes.js";
export type { AddNodesOptions, EditPortsOptions } from "./cluster/nodes.js";
export { loadBalancerConfig } from "./cluster/plan.js";
export type { LoadBalancerState } from "./cluster/plan.js";
export { LB_STATE_PATH } from "./cluster/spec.js";
export type { RegistriesSpec, FileSpec } from "./cluster/spec.js";
export {
  loadConfig,
  configError,
  formatProblem,
  SUPPORTED_CONFIGS,
  mergeSpec,
  defaultClusterSpec,
  specFromEnvironment,
  SPEC_ENVIRONMENT,
  toK3tsDocument,
  toK3tsYaml,
  STARTER_CONFIG,
  formatDuration,
  formatMemory,
  formatPort,
  formatMount,
  formatKeyValue,
  K3TS_CONFIG_SCHEMA,
  K3TS_API_VERSION,
  K3TS_KIND,
  K3TS_SCHEMA_ID,
  K3TS_ENVIRONMENT_SCHEMA,
  K3TS_ENVIRONMENT_KIND,
  K3TS_ENVIRONMENT_SCHEMA_ID,
  loadEnvironmentConfig,
  environmentProblems,
  configKind,
  k3dSchema,
  migrateK3d,
  expandGoEnv,
  expandBraces,
} from "./config/index.js";
export type { JsonSchema, ClusterSpecInput, ConfigFormat, ConfigNotice, ConfigProblem, LoadConfigOptions, LoadedConfig, EnvironmentDocument, LoadEnvironmentOptions } from "./config/index.js";
export {
  importImages,
  importFailures,
  resolveSources,
  readImageArchive,
  normalizeImageRef,
  dockerManifestDigest,
  parseCtrImageList,
  parseCtrImportOutput,
  ctrImportCommand,
  ctrListCommand,
  K8S_NAMESPACE,
  formatBytes,
  formatTransfer,
} from "./images/index.js";
export type {
  ImageSource,
  ImportImagesOptions,
  ImportImagesResult,
  ImportStatus,
  ImageImportOutcome,
  NodeImportReport,
  NodeFailure,
  ArchiveImage,
} from "./images/index.js";
export { DEFAULT_HOST_IMAGE_CACHE_BYTES, pruneHostImageCache, startHostImageRegistry } from "./hostimages/index.js";
export type { CachedImage, HostImageCache, HostImageRegistry, HostImageRegistryOptions } from "./hostimages/index.js";
