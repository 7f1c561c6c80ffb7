/**
 * The load balancer's container: nginx in the foreground, publishing the API port first and then the proxied
 * ports, on the cluster network, restarted unless stopped. The planner gives it what every node of the cluster
 * gets (labels, volumes, capabilities, host aliases); what makes it the load balancer is here.
 */
import { LABELS } from "../../labels.js";
import type { HostAlias, NodeSpec, PortMapping, VolumeMount } from "../../types.js";
import { K3S_API_PORT } from "../spec.js";

export interface LoadBalancerNodeInput {
  name: string;
  image: string;
  network: string;
  /** The labels every node of the cluster carries (and the user's runtime labels for this node). */
  labels: Record<string, string>;
  /** The API server's port on the host. */
  api: PortMapping;
  /** The proxied ports (an API port among them is the API's, already published). */
  published: readonly PortMapping[];
  volumes: VolumeMount[];
  capAdd?: string[];
  extraHosts: HostAlias[];
}

export function loadBalancerNodeSpec(input: LoadBalancerNodeInput): NodeSpec {
  return {
    name: input.name,
    hostname: input.name,
    image: input.image,
    command: ["nginx", "-g", "daemon off;"],
    labels: { ...input.labels, [LABELS.role]: "loadbalancer", [LABELS.nodeIndex]: "0" },
    network: { name: input.network },
    ports: [input.api, ...input.published.filter((p) => !(p.containerPort === K3S_API_PORT && p.protocol === "tcp"))],
    volumes: input.volumes,
    ...(input.capAdd?.length ? { capAdd: input.capAdd } : {}),
    restart: "unless-stopped",
    init: true,
    extraHosts: input.extraHosts,
  };
}
