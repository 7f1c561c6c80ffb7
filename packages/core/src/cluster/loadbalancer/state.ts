/**
 * What the load balancer forwards (its state: the proxied ports, each with its target nodes and the filters that
 * chose them), kept in the LB node beside the nginx.conf rendered from it, so a node added or removed later, or a
 * port edit, regenerates the configuration from the cluster's own record.
 */
import { K3tsError } from "../../errors.js";
import type { PortMapping } from "../../types.js";
import { filterSelects, selectNodes } from "../filters.js";
import { K3S_API_PORT, type Filtered, type NodeFilter, type PortSpec } from "../spec.js";
import { renderNginxConfig } from "./nginx.js";

/** Where the nginx load balancer reads its generated configuration. */
export const LB_CONFIG_PATH = "/etc/nginx/nginx.conf";
/** Beside it, the port table it was generated from (read back to add nodes or edit ports). */
export const LB_STATE_PATH = "/etc/nginx/k3ts-lb.json";

export interface ProxiedPort {
  port: number;
  protocol: "tcp" | "udp";
  targets: string[];
  hostIP?: string;
  hostPort?: number;
  /**
   * The node filters that chose the targets ([] = every k3s node, `-p …@loadbalancer`), so nodes
   * added later join the ports their filters select. Absent in states written before k3ts kept it.
   */
  select?: NodeFilter[];
}

/** Whether a node added to the cluster belongs among a proxied port's targets. */
export function joinsProxiedPort(port: ProxiedPort, node: { role: "server" | "agent"; index: number }, current: { k3sNodes: string[] }): boolean {
  if (port.select === undefined) return current.k3sNodes.length > 0 && current.k3sNodes.every((n) => port.targets.includes(n)); // an older state: every node means every node
  return port.select.length === 0 || port.select.some((f) => filterSelects(f, node));
}

/**
 * A proxied port's filters as the load balancer's state keeps them: [] when the port goes to every
 * k3s node (no filter, or only `loadbalancer`), else the filters without their suffix.
 */
export function keptSelect(filters: readonly NodeFilter[]): NodeFilter[] {
  if (filters.length === 0 || filters.every((f) => f.group === "loadbalancer")) return [];
  return filters.map(({ source, group, subset, from }) => ({ source, group, subset, ...(from !== undefined ? { from } : {}) }));
}

/** nginx refuses an upstream without servers: a port whose targets are all gone is left out until one joins. */
function servedPorts(state: LoadBalancerState): ProxiedPort[] {
  return state.ports.filter((p) => p.targets.length > 0);
}

/** What the load balancer forwards: its own record, kept in the LB node so it can be regenerated. */
export interface LoadBalancerState {
  ports: ProxiedPort[];
}

/** nginx.conf for a load-balancer state (k3d sizes worker connections by ports × servers). */
export function loadBalancerConfig(state: LoadBalancerState, servers: number): string {
  return renderNginxConfig({
    ports: servedPorts(state).map((p) => ({ port: p.port, protocol: p.protocol, targets: p.targets })),
    workerConnections: 1024 + state.ports.length * Math.max(servers, 1),
  });
}

/** The files that hold a state in the LB node: the state itself and the nginx.conf rendered from it. */
export function loadBalancerFiles(state: LoadBalancerState, servers: number): Array<{ path: string; content: string; mode: number }> {
  // The configuration first, the state last: a write that fails half-way leaves a state that says the change is not
  // made yet, so the change made again writes both (a state that ran ahead of nginx.conf made a node delete skip it).
  return [
    { path: LB_CONFIG_PATH, content: loadBalancerConfig(state, servers), mode: 0o644 },
    { path: LB_STATE_PATH, content: `${JSON.stringify(state, null, 2)}\n`, mode: 0o644 },
  ];
}

/**
 * Nodes added to the cluster join the ports they belong to: servers serve the API; every new node joins the
 * proxied ports whose filters select it (`-p …@loadbalancer`: all). Whether the state changed.
 */
export function addTargets(state: LoadBalancerState, role: "server" | "agent", added: ReadonlyArray<{ name: string; index: number }>, existing: readonly string[]): boolean {
  let changed = false;
  for (const p of state.ports) {
    for (const node of added) {
      const joins = p.port === K3S_API_PORT && p.protocol === "tcp" ? role === "server" : joinsProxiedPort(p, { role, index: node.index }, { k3sNodes: [...existing] });
      if (joins && !p.targets.includes(node.name)) {
        p.targets.push(node.name);
        changed = true;
      }
    }
  }
  return changed;
}

/** A node leaves every port's targets (nginx refuses to reload while an upstream name no longer resolves). Whether it was a target. */
export function removeTarget(state: LoadBalancerState, name: string): boolean {
  if (!state.ports.some((p) => p.targets.includes(name))) return false;
  for (const p of state.ports) p.targets = p.targets.filter((t) => t !== name);
  return true;
}

/**
 * `cluster edit --port-add/--port-delete` on a state: removed ports go (never the API's), added ones go to the
 * nodes their filters select (`@loadbalancer` or none: every k3s node). Bad input is INVALID_ARGUMENT naming the flag.
 */
export function editPorts(state: LoadBalancerState, slots: ReadonlyArray<{ role: "server" | "agent" | "loadbalancer"; index: number; name: string }>, edit: { add?: ReadonlyArray<Filtered<PortSpec>>; remove?: ReadonlyArray<{ containerPort: number; protocol: string }> }): void {
  for (const r of edit.remove ?? []) {
    const before = state.ports.length;
    state.ports = state.ports.filter((p) => p.port === K3S_API_PORT || !(p.port === r.containerPort && p.protocol === r.protocol));
    if (state.ports.length === before) {
      throw new K3tsError("INVALID_ARGUMENT", `--port-delete ${r.containerPort}/${r.protocol}: the load balancer does not forward that port`, { meta: { flag: "--port-delete" } });
    }
  }
  (edit.add ?? []).forEach((item, i) => {
    const where = `--port-add[${i}]`;
    if (item.filters.some((f) => f.suffix === "direct")) throw new K3tsError("INVALID_ARGUMENT", `${where}: :direct ports cannot be added after create`, { meta: { flag: "--port-add" } });
    if (state.ports.some((p) => p.port === item.value.containerPort && p.protocol === item.value.protocol)) {
      throw new K3tsError("INVALID_ARGUMENT", `${where}: port ${item.value.containerPort}/${item.value.protocol} is already forwarded`, { meta: { flag: "--port-add" } });
    }
    const toAll = item.filters.length === 0 || item.filters.every((f) => f.group === "loadbalancer");
    const targets = (toAll ? slots : selectNodes(item.filters, slots, where)).filter((s) => s.role !== "loadbalancer").map((s) => s.name);
    state.ports.push({
      port: item.value.containerPort,
      protocol: item.value.protocol,
      targets,
      select: keptSelect(item.filters),
      ...(item.value.hostIP ? { hostIP: item.value.hostIP } : {}),
      ...(item.value.hostPort ? { hostPort: item.value.hostPort } : {}),
    });
  });
}

/** The port mappings the LB publishes for a state, keeping the host ports the engine picked before (existing URLs stay valid). */
export function publishedPorts(state: LoadBalancerState, before: ReadonlyArray<PortMapping>): PortMapping[] {
  return state.ports.map((p) => {
    const published = before.find((x) => x.containerPort === p.port && x.protocol === p.protocol);
    const hostPort = p.hostPort ?? (published?.hostPort || undefined);
    return { containerPort: p.port, protocol: p.protocol, ...(p.hostIP ? { hostIP: p.hostIP } : {}), ...(hostPort ? { hostPort } : {}) };
  });
}
