/**
 * What the lifecycle reads of clusters on a Runtime: a cluster is the nodes labelled with its name
 * (list, get, its kubeconfig), and the small facts every operation shares (options, free ports,
 * tokens). Everything that changes a cluster (create.ts, lifecycle.ts, nodes.ts, the registries)
 * builds on this and nothing here imports them.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { K3tsError, isK3tsError } from "../errors.js";
import { LABELS } from "../labels.js";
import type { HostImagesServer } from "../hostimages/types.js";
import type { Logger, Progress } from "../logger.js";
import type { Runtime } from "../runtime.js";
import type { Node, PublishedPort } from "../types.js";
import { kubeconfigPath as defaultKubeconfigPath, rewriteKubeconfig } from "./kubeconfig.js";
import { KUBECONFIG_IN_NODE, names, type ClusterSpec } from "./spec.js";
import { CLUSTER_SPEC_IN_NODE, readClusterSpecRecord } from "./plan.js";
import type { NodeReadiness } from "./kubeapi.js";

export interface LifecycleOptions {
  runtime: Runtime;
  logger?: Logger;
  progress?: Progress;
  signal?: AbortSignal;
  k3tsVersion?: string;
  env?: Record<string, string | undefined>;
  /** The kubeconfig file to merge into / clean up (default: $KUBECONFIG's first file or ~/.kube/config). */
  kubeconfigPath?: string;
  /**
   * One create's id (LABELS.createId). For a create: the id it labels what it makes with (default: a
   * random one). For a delete: delete only what that create made; a cluster of the name made by another
   * create since is left alone.
   */
  createId?: string;
  /**
   * For a create of a spec with `hostImages`: starts the cluster's host-images registry once its network
   * is there (before any node), on the address it is given. Closed by the create's rollback.
   */
  hostImages?: HostImagesServer;
}

export interface NodeSummary {
  name: string;
  role: string;
  index: number;
  state: Node["state"];
  ports: PublishedPort[];
  image: string;
}

export interface ClusterSummary {
  name: string;
  network: string;
  networkExternal: boolean;
  apiServerUrl: string;
  servers: NodeSummary[];
  agents: NodeSummary[];
  loadBalancer?: NodeSummary;
}

export interface CreateResult {
  cluster: ClusterSummary;
  /** The cluster's kubeconfig (context k3ts-NAME, server on the host). */
  kubeconfig: string;
  /** The file it was merged into, when it was. */
  kubeconfigPath?: string;
  nodes: NodeReadiness[];
  /** The id on everything this create made (LABELS.createId). */
  createId: string;
}

export function kubeconfigFile(opts: LifecycleOptions): string {
  return opts.kubeconfigPath ?? defaultKubeconfigPath(opts.env ?? process.env, homedir());
}

/** A free TCP port on `host` (the engine then binds it; the window in between is small). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", (err) =>
      reject(new K3tsError("PORT_IN_USE", `cannot find a free port on ${host}: ${err.message}`, { meta: { host }, cause: err })),
    );
    srv.listen(0, host === "0.0.0.0" ? undefined : host, () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/** A cluster token from the CSPRNG (k3s accepts any string; 32 random bytes as hex). */
export function generateToken(): string {
  return randomBytes(32).toString("hex");
}

function summarize(name: string, nodes: Node[]): ClusterSummary {
  const toSummary = (n: Node): NodeSummary => ({
    name: n.name,
    role: n.labels[LABELS.role] ?? "unknown",
    index: Number(n.labels[LABELS.nodeIndex] ?? 0),
    state: n.state,
    ports: n.ports,
    image: n.image,
  });
  const byIndex = (a: NodeSummary, b: NodeSummary) => a.index - b.index;
  const servers = nodes.filter((n) => n.labels[LABELS.role] === "server").map(toSummary).sort(byIndex);
  const agents = nodes.filter((n) => n.labels[LABELS.role] === "agent").map(toSummary).sort(byIndex);
  const lb = nodes.find((n) => n.labels[LABELS.role] === "loadbalancer");
  const any = nodes[0]?.labels ?? {};
  return {
    name,
    network: any[LABELS.network] ?? names.network(name),
    networkExternal: any[LABELS.networkExternal] === "true",
    apiServerUrl: `https://${any[LABELS.apiHost] ?? "127.0.0.1"}:${any[LABELS.apiPort] ?? "?"}`,
    servers,
    agents,
    ...(lb ? { loadBalancer: toSummary(lb) } : {}),
  };
}

export async function clusterNodes(runtime: Runtime, name: string, signal?: AbortSignal): Promise<Node[]> {
  return runtime.nodes.list({ labels: { [LABELS.managed]: "true", [LABELS.cluster]: name } }, signal ? { signal } : {});
}

/** What a query verb takes: the runtime to ask, and a signal that ends the asking. */
export type QueryOptions = Pick<LifecycleOptions, "runtime" | "signal">;

/** Every cluster k3ts manages on this runtime, by name. */
export async function listClusters({ runtime, signal }: QueryOptions): Promise<ClusterSummary[]> {
  const nodes = await runtime.nodes.list({ labels: { [LABELS.managed]: "true", [LABELS.cluster]: "" } }, signal ? { signal } : {});
  const groups = new Map<string, Node[]>();
  for (const n of nodes) {
    const c = n.labels[LABELS.cluster]!;
    groups.set(c, [...(groups.get(c) ?? []), n]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, ns]) => summarize(name, ns));
}

/** One cluster k3ts manages, by name; CLUSTER_NOT_FOUND when it has no node. */
export async function getCluster(name: string, { runtime, signal }: QueryOptions): Promise<ClusterSummary> {
  const nodes = await clusterNodes(runtime, name, signal);
  if (nodes.length === 0) {
    throw new K3tsError("CLUSTER_NOT_FOUND", `cluster ${name} does not exist`, { meta: { cluster: name }, hint: "k3ts cluster list shows the clusters there are" });
  }
  return summarize(name, nodes);
}

/** The cluster's kubeconfig, read from its first server and pointed at the published API port. */
export async function getKubeconfig(name: string, opts: QueryOptions): Promise<string> {
  const cluster = await getCluster(name, { runtime: opts.runtime, signal: opts.signal });
  const server = cluster.servers[0];
  if (!server) throw new K3tsError("CLUSTER_NOT_READY", `cluster ${name} has no server node`, { meta: { cluster: name } });
  const raw = (await opts.runtime.nodes.readFile(server.name, KUBECONFIG_IN_NODE, opts.signal ? { signal: opts.signal } : {})).toString("utf8");
  return rewriteKubeconfig(raw, { cluster: name, server: cluster.apiServerUrl });
}

/** The spec a cluster's servers keep (the first that has it answers), or undefined for a cluster made before k3ts kept one. */
export async function readKeptSpec(runtime: Runtime, servers: ReadonlyArray<{ name: string }>, options: { signal?: AbortSignal } = {}): Promise<ClusterSpec | undefined> {
  for (const server of servers) {
    try {
      return readClusterSpecRecord((await runtime.nodes.readFile(server.name, CLUSTER_SPEC_IN_NODE, options)).toString("utf8"));
    } catch (err) {
      if (!isK3tsError(err, "FILE_NOT_FOUND")) throw err;
    }
  }
  return undefined;
}
