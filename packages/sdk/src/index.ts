/**
 * @k3ts/sdk — k3s clusters in programs and test suites.
 *
 * `createCluster(options)` makes a cluster on the Runtime the caller names (the sdk never picks one)
 * and returns a handle: kubeconfigs for the host and for the cluster's network, a
 * @kubernetes/client-node KubeConfig, nodes, stop/start/delete and `await using`. Test runners get a
 * global setup in `@k3ts/sdk/vitest`. The handle deploys (`cluster.apply()`, `cluster.helm()`,
 * `cluster.rollout()`) and forwards (`cluster.endpoint()`); the same as free functions take any
 * KubeConfig (`applyManifests`, `installHelmChart`, `waitForRollout`, `forwardService`, `forwardPod`).
 */
export { Cluster, createCluster, getCluster } from "./cluster.js";
export type { GetClusterOptions, HostImagesInfo, KubeconfigOptions, WriteKubeconfigOptions } from "./cluster.js";
export { Endpoint, forwardPod, forwardService } from "./endpoint.js";
export type { EndpointEvents, EndpointOptions, EndpointTarget, ForwardPodOptions, ForwardServiceOptions } from "./endpoint.js";
export { DEFAULT_TIMEOUT_MS } from "./options.js";
export { applyManifests, deleteManifests, loadManifests } from "./manifests.js";
export type {
  ApplyChange,
  ApplyManifestsOptions,
  ApplyResult,
  AppliedObject,
  DeleteManifestsOptions,
  DeleteResult as DeleteManifestsResult,
  KubeObject,
  LoadManifestsOptions,
  ManifestObject,
  ManifestSource,
} from "./manifests.js";
export { waitForRollout } from "./manifests-rollout.js";
export type { RolloutOptions } from "./manifests-rollout.js";
export { installHelmChart, uninstallHelmChart } from "./helm.js";
export type { HelmChartFieldOption, HelmChartOptions, HelmChartResult, HelmValues, UninstallHelmChartOptions } from "./helm.js";
export { ENVIRONMENT_API_VERSION, ENVIRONMENT_KIND, loadEnvironment, parseEnvironment } from "./environment.js";
export type { Environment, EnvironmentCluster, EnvironmentEndpoint, EnvironmentHelm, EnvironmentManifests, EnvironmentStep } from "./environment.js";
export { ENVIRONMENT_LABEL, down, up } from "./up.js";
export type { DownOptions, DownResult, EnvironmentTarget, TargetOptions, UpEvent, UpOptions, UpResult, UpStepResult } from "./up.js";
export type { ClusterOptions, ClusterSpecOptions } from "./options.js";
export { VERSION, RUNTIME_API_VERSION, K3tsError, isK3tsError, LABELS } from "@k3ts/core";
export type {
  ClusterSummary,
  DeleteResult,
  ErrorCode,
  ImageSource,
  ImportImagesResult,
  Logger,
  Node,
  NodeSpec,
  NodeSummary,
  Progress,
  ProgressStep,
  Runtime,
  RuntimeInfo,
} from "@k3ts/core";
