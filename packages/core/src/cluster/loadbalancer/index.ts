/**
 * The cluster's load balancer, in one place (as k3d's loadbalancer.go): its nginx configuration, the state it is
 * rendered from, its container, and how it is started, updated, reloaded and recreated.
 */
export { renderNginxConfig } from "./nginx.js";
export type { LbPort, NginxConfigInput } from "./nginx.js";
export {
  LB_CONFIG_PATH,
  LB_STATE_PATH,
  addTargets,
  editPorts,
  joinsProxiedPort,
  keptSelect,
  loadBalancerConfig,
  loadBalancerFiles,
  publishedPorts,
  removeTarget,
} from "./state.js";
export type { LoadBalancerState, ProxiedPort } from "./state.js";
export { loadBalancerNodeSpec } from "./node.js";
export type { LoadBalancerNodeInput } from "./node.js";
export { applyLoadBalancerState, readLoadBalancerState, recreateLoadBalancer, reloadLoadBalancer, startLoadBalancer } from "./apply.js";
export type { StartLoadBalancerOptions } from "./apply.js";
