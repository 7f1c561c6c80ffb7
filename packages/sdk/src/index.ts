/**
 * @k3ts/sdk — k3s clusters in programs and test suites.
 *
 * `createCluster(options)` makes a cluster on the Runtime the caller names (the sdk never picks one)
 * and returns a handle: kubeconfigs for the host and for the cluster's network, a
 * @kubernetes/client-node KubeConfig, nodes, stop/start/delete and `await using`. Test runners get a
 * global setup in `@k3ts/sdk/vitest`. Endpoints (`forwardService`, `forwardPod`, `cluster.endpoint()`)
 * forward a local port to a Service or Pod over the Kubernetes port-forward protocol.
 */
export { Cluster, createCluster, getCluster } from "./cluster.js";
export type { GetClusterOptions, KubeconfigOptions, WriteKubeconfigOptions } from "./cluster.js";
export { Endpoint, forwardPod, forwardService } from "./endpoint.js";
export type { EndpointEvents, EndpointOptions, EndpointTarget, ForwardPodOptions, ForwardServiceOptions } from "./endpoint.js";
export { DEFAULT_TIMEOUT_MS } from "./options.js";
export { applyManifests, deleteManifests, loadManifests, kustomizeBuild } from "./manifests.js";
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
export { waitForRollout, rolloutState } from "./manifests-rollout.js";
export type { RolloutOptions, RolloutState } from "./manifests-rollout.js";
export { installHelmChart, uninstallHelmChart, helmChartObject, mergeValues, packageChart } from "./helm.js";
export type { HelmChartOptions, HelmChartResult, HelmValues, UninstallHelmChartOptions } from "./helm.js";
export { ENVIRONMENT_API_VERSION, ENVIRONMENT_KIND, environmentSteps, loadEnvironment, parseEnvironment } from "./environment.js";
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
