/** The cluster model and the pure parts of its lifecycle: parsers, node filters, load balancer config, kubeconfig. */
export {
  DEFAULT_CLUSTER_NAME,
  DEFAULT_CREATE_TIMEOUT_MS,
  DEFAULT_K3S_IMAGE,
  DEFAULT_LB_IMAGE,
  HOST_ALIAS,
  K3S_API_PORT,
  KUBECONFIG_IN_NODE,
  REGISTRIES_YAML,
  names,
} from "./spec.js";
export type { ApiSpec, ClusterSpec, Filtered, KeyValue, NodeFilter, NodeGroup, PortSpec, MountSpec } from "./spec.js";
export { parseNodeFilter, selectNodes, splitFilters } from "./filters.js";
export type { ParsedNodeFilter } from "./filters.js";
export {
  MAX_CLUSTER_NAME_LENGTH,
  VOLUME_PATH_SHORTCUTS,
  isHostname,
  isIPv4,
  parseApiPort,
  parseCapability,
  parseDuration,
  parseHostAlias,
  parseKeyValue,
  parseRuntimeLabel,
  parseSubnet,
  subnetProblem,
  RESERVED_LABEL_PREFIX,
  parseMemory,
  parsePortSpec,
  parseVolumeSpec,
  validateClusterName,
} from "./parse.js";
export {
  kubeconfigPath,
  mergeKubeconfig,
  removeFromKubeconfig,
  restoreKubeconfigFile,
  rewriteKubeconfig,
  updateKubeconfigFile,
  checkKubeconfigFile,
} from "./kubeconfig.js";
