/**
 * @k3ts/sdk — k3s clusters in programs and test suites.
 *
 * For now this package re-exports the contract from @k3ts/core that programs build on (a Runtime is
 * handed in by the caller; the sdk never picks one). Cluster handles, Helm releases, manifests and
 * port-forwarded endpoints arrive with the lifecycle and SDK work.
 */
export { VERSION, RUNTIME_API_VERSION, K3tsError, isK3tsError, LABELS } from "@k3ts/core";
export type { Runtime, RuntimeInfo, Node, NodeSpec, Logger, Progress, ErrorCode } from "@k3ts/core";
