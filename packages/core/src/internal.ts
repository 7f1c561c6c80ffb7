/**
 * `@k3ts/core/internal`: what k3ts's own packages (the CLI, the SDK, the runtimes) share beyond the public API:
 * the string forms of flags, kubeconfig file handling, node naming. No compatibility promise: it changes with
 * any release, and third-party code should not import it.
 */
export { redactSecrets } from "./errors.js";
export { runtimeSearchDirs } from "./plugin.js";
export { K3S_API_PORT, KUBECONFIG_IN_NODE, REGISTRIES_YAML, names } from "./cluster/spec.js";
export { parseNodeFilter, splitFilters } from "./cluster/filters.js";
export { FILTERED_OPTIONS, FILTERED_OPTION_NAMES, SWITCH_OPTIONS, SWITCH_OPTION_NAMES, readFilteredString } from "./cluster/options.js";
export type { FilteredOption, FilteredOptionRow, FilteredValue, SwitchOption, SwitchOptionRow } from "./cluster/options.js";
export { VALUE_OPTIONS, VALUE_OPTION_NAMES, interleave, optionFlagHelps, specField, valueRow } from "./cluster/value-options.js";
export type { FlagHelp, ValueOption, ValueRow } from "./cluster/value-options.js";
export {
  parseApiPort,
  parseCapability,
  parseDuration,
  parseHostAlias,
  parseKeyValue,
  parseMemory,
  parsePortSpec,
  parseRuntimeLabel,
  parseSubnet,
  parseVolumeSpec,
  validateClusterName,
} from "./cluster/parse.js";
export { checkKubeconfigFile, kubeconfigPath, mergeKubeconfig, rewriteKubeconfig, updateKubeconfigFile } from "./cluster/kubeconfig.js";
export { planCluster, TOKEN_FILE_IN_NODE } from "./cluster/plan.js";
export { freePort } from "./cluster/query.js";
export {
  hostAddress,
  mirrorKeyForRemote,
  parseRegistriesConfig,
  parseRegistryCreate,
  registryContainerName,
  validateRegistryName,
} from "./registry/config.js";
export { registryImage } from "./registry/cluster.js";
export { specFromEnvironment, toK3tsYaml, STARTER_CONFIG, configKind, K3TS_CONFIG_SCHEMA, K3TS_ENVIRONMENT_SCHEMA } from "./config/index.js";
export { formatBytes } from "./images/index.js";
export { hostImagesAddress, hostImagesCacheDir, parseHostImagesMirror, recordedHostImagesEndpoint, startClusterHostImages } from "./hostimages/cluster.js";
export { pruneHostImageCache } from "./hostimages/cache.js";
export type { ClusterHostImagesOptions } from "./hostimages/cluster.js";
export type { HostImageRegistry, HostImagesServed } from "./hostimages/server.js";
