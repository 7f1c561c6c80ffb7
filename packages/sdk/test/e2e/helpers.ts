import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { LABELS, deleteCluster, selectRuntime, type Runtime } from "@k3ts/core";
import { names } from "@k3ts/core/internal";
import type { ClusterOptions } from "../../src/options.ts";

/** The k3s image: the stand-in (a test double) unless K3TS_E2E_K3S_IMAGE names a real k3s. */
export const K3S_IMAGE = process.env.K3TS_E2E_K3S_IMAGE ?? "k3ts-test/k3s-standin:2";
export const LB_IMAGE = process.env.K3TS_E2E_LB_IMAGE ?? (process.env.K3TS_E2E_K3S_IMAGE ? "nginx:1.29-alpine" : "k3ts-test/nginx:1");
/** Real k3s needs privileged nodes; the stand-in (and this sandbox) run without. */
export const PRIVILEGED = process.env.K3TS_E2E_K3S_IMAGE !== undefined;
/** Unprivileged stand-in nodes get SYS_ADMIN: their real containerd mounts snapshots to unpack images. */
export const CAP_ADD = PRIVILEGED ? [] : ["SYS_ADMIN"];
/**
 * The image the test pods run (busybox: sh, httpd), imported from the engine into the nodes before
 * anything runs it: no registry is reachable here, and the kubelet (the stand-in's too) pulls what a
 * node lacks.
 */
export const POD_IMAGE = process.env.K3TS_E2E_POD_IMAGE ?? "k3ts-test/busybox:1";

export const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

const ALL_ENGINES = ["docker", "podman"] as const;
export type Engine = (typeof ALL_ENGINES)[number];

/** The engines the suites run on: both, or those K3TS_E2E_ENGINES names (`pnpm test:repeat --engine` sets it). */
export const ENGINES: readonly Engine[] = (() => {
  const value = process.env.K3TS_E2E_ENGINES;
  if (!value) return ALL_ENGINES;
  const asked = value.split(",").map((e) => e.trim());
  const unknown = asked.filter((e) => !(ALL_ENGINES as readonly string[]).includes(e));
  if (unknown.length) throw new Error(`K3TS_E2E_ENGINES: ${unknown.join(", ")} is not one of ${ALL_ENGINES.join(", ")}`);
  return ALL_ENGINES.filter((e) => asked.includes(e));
})();

/**
 * The engine the suites whose subject is the Kubernetes API (manifests, Helm, endpoints) run on: the first of
 * ENGINES. What they test goes through the API server the same way whichever engine runs the node; the
 * engine's part (published ports, networks, volumes, the reaper) is tested on both by the cluster and exit
 * suites here and by the CLI's e2e suites (whose `up` applies manifests and opens an endpoint on both).
 */
export const API_ENGINES: readonly Engine[] = ENGINES.slice(0, 1);

/** The engine's runtime, or undefined when it does not answer (under CI=true that fails the run instead). */
export async function runtimeFor(engine: Engine): Promise<Runtime | undefined> {
  try {
    const { runtime } = await selectRuntime({ name: engine, resolveFrom: [import.meta.url] });
    await runtime.info({ signal: AbortSignal.timeout(5000) });
    return runtime;
  } catch (err) {
    if (process.env.CI) throw err;
    return undefined;
  }
}

/** What every e2e cluster is made with: the test images, no privilege (unless real k3s), a generous limit, no K3TS_* from outside. */
export function testOptions(name: string, runtime: Runtime | string): ClusterOptions {
  return { name, runtime, image: K3S_IMAGE, loadBalancer: { image: LB_IMAGE }, privileged: PRIVILEGED, ...(CAP_ADD.length ? { capAdd: CAP_ADD } : {}), timeout: "150s", environment: {} };
}

/** The same, as environment variables for the child processes and nested runs. */
export const childEnv = (name: string, engine: Engine): Record<string, string> => ({
  CLUSTER: name,
  RUNTIME: engine,
  K3S_IMAGE,
  LB_IMAGE,
  PRIVILEGED: String(PRIVILEGED),
  CAP_ADD: CAP_ADD.join(","),
});

/** Everything of the cluster still on the engine: nodes, volumes, its network. */
export async function leftovers(runtime: Runtime, cluster: string): Promise<string[]> {
  const byLabel = { labels: { [LABELS.cluster]: cluster } };
  const [nodes, volumes, network] = await Promise.all([
    runtime.nodes.list(byLabel),
    runtime.volumes.list(byLabel),
    runtime.networks.inspect(names.network(cluster)).catch(() => undefined),
  ]);
  return [...nodes.map((n) => `node ${n.name}`), ...volumes.map((v) => `volume ${v.name}`), ...(network ? [`network ${network.name}`] : [])];
}

/** Clears what an interrupted earlier run left under this name, and returns the name. */
export async function fresh(runtime: Runtime, cluster: string): Promise<string> {
  await deleteCluster(cluster, { runtime, updateKubeconfig: false });
  return cluster;
}

export async function kubectl(kubeconfig: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  // Its own discovery cache per kubeconfig: API ports are reused from one cluster to the next.
  const r = await execa("kubectl", ["--kubeconfig", kubeconfig, ...args], { reject: false, env: { KUBECACHEDIR: `${kubeconfig}.kube-cache` } });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
