/** Config files: k3ts's own format and k3d's (v1alpha2–5), read into a ClusterSpecInput with every problem placed. */
export { loadConfig, configError, formatProblem, SUPPORTED_CONFIGS } from "./load.js";
export { mergeSpec, defaultClusterSpec, specFromEnvironment, SPEC_ENVIRONMENT } from "./merge.js";
export { toK3tsDocument, toK3tsYaml, STARTER_CONFIG, formatDuration, formatMemory, formatPort, formatMount, formatKeyValue } from "./render.js";
export { K3TS_CONFIG_SCHEMA, K3TS_API_VERSION, K3TS_KIND, K3TS_SCHEMA_ID, K3TS_ENVIRONMENT_SCHEMA, K3TS_ENVIRONMENT_KIND, K3TS_ENVIRONMENT_SCHEMA_ID, k3dSchema } from "./schema.js";
export { loadEnvironmentConfig, environmentProblems, configKind } from "./environment.js";
export type { EnvironmentDocument, LoadEnvironmentOptions } from "./environment.js";
export type { JsonSchema } from "./schema.js";
export { migrateK3d } from "./k3d.js";
export { expandGoEnv, expandBraces } from "./expand.js";
export type { ClusterSpecInput, ConfigFormat, ConfigNotice, ConfigProblem, LoadConfigOptions, LoadedConfig } from "./types.js";
