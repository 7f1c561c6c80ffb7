import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { K3tsError, LABELS, deleteCluster, selectRuntime, type Runtime } from "@k3ts/core";
import { freePort, hostImagesCacheDir } from "@k3ts/core/internal";
import { removeHostImages } from "../../src/hostimages/process.js";

export const bin = fileURLToPath(new URL("../../bin/k3ts.js", import.meta.url));

/** The k3s image the e2e suite runs: the stand-in by default, a real k3s when K3TS_E2E_K3S_IMAGE names one. */
export const K3S_IMAGE = process.env.K3TS_E2E_K3S_IMAGE ?? "k3ts-test/k3s-standin:2";
export const LB_IMAGE = process.env.K3TS_E2E_LB_IMAGE ?? (process.env.K3TS_E2E_K3S_IMAGE ? "nginx:1.29-alpine" : "k3ts-test/nginx:1");
/** An image with `node`, for pods that check what they resolve (imported from the engine: the stand-in image has node). */
export const NODE_POD_IMAGE = process.env.K3TS_E2E_NODE_IMAGE ?? (process.env.K3TS_E2E_K3S_IMAGE ? "node:22-alpine" : "k3ts-test/node:1");
/**
 * Real k3s needs privileged nodes; the stand-in (and this sandbox, which cannot run privileged
 * containers) run without, with CAP_SYS_ADMIN: its real containerd mounts snapshots to unpack images.
 */
export const PRIVILEGE_FLAGS = process.env.K3TS_E2E_K3S_IMAGE ? [] : ["--no-privileged", "--runtime-cap-add", "SYS_ADMIN"];
/** The same for a k3ts.yaml Environment's cluster (YAML lines under `cluster:`). */
export const PRIVILEGE_YAML = process.env.K3TS_E2E_K3S_IMAGE ? ["    privileged: true"] : ["    privileged: false", "    capAdd: [SYS_ADMIN]"];
/** The image the test pods run (busybox: sh, httpd), imported from the engine into the nodes (no registry here). */
export const POD_IMAGE = process.env.K3TS_E2E_POD_IMAGE ?? "k3ts-test/busybox:1";
const ALL_ENGINES = ["docker", "podman"] as const;
export type Engine = (typeof ALL_ENGINES)[number];
/** The engines the suites run on: both, or those K3TS_E2E_ENGINES names (`pnpm test:repeat --engine` sets it). */
export const ENGINES: readonly Engine[] = enginesFromEnv(process.env.K3TS_E2E_ENGINES);

export function enginesFromEnv(value: string | undefined): Engine[] {
  if (!value) return [...ALL_ENGINES];
  const asked = value.split(",").map((e) => e.trim());
  const unknown = asked.filter((e) => !(ALL_ENGINES as readonly string[]).includes(e));
  if (unknown.length) throw new Error(`K3TS_E2E_ENGINES: ${unknown.join(", ")} is not one of ${ALL_ENGINES.join(", ")}`);
  return ALL_ENGINES.filter((e) => asked.includes(e));
}

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

/** A kubeconfig file that already holds someone else's context, to prove it is kept. */
export function kubeconfigWithOtherContext(): { dir: string; path: string; original: string } {
  const dir = mkdtempSync(join(tmpdir(), "k3ts-e2e-"));
  const path = join(dir, "config");
  const original = [
    "apiVersion: v1",
    "kind: Config",
    "# a comment the user wrote",
    "clusters:",
    "- cluster:",
    "    server: https://prod.example.test:6443",
    "  name: prod",
    "contexts:",
    "- context:",
    "    cluster: prod",
    "    user: prod-admin",
    "  name: prod",
    "current-context: prod",
    "preferences: {}",
    "users:",
    "- name: prod-admin",
    "  user:",
    "    token: not-a-real-token",
    "",
  ].join("\n");
  writeFileSync(path, original, { mode: 0o600 });
  return { dir, path, original };
}

export const read = (path: string) => readFileSync(path, "utf8");
export const cleanupDir = (dir: string) => rmSync(dir, { recursive: true, force: true });

export function k3ts(engine: Engine, args: string[], env: Record<string, string> = {}): ResultPromise<{ reject: false; env: Record<string, string> }> {
  return execa("node", [bin, "--runtime", engine, ...args], { reject: false, env: { NO_COLOR: "1", ...env } });
}

export function createArgs(name: string, extra: string[] = []): string[] {
  return ["cluster", "create", name, "--image", K3S_IMAGE, "--lb-image", LB_IMAGE, ...PRIVILEGE_FLAGS, "--timeout", "150s", ...extra];
}

export async function kubectl(kubeconfig: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  // A discovery cache of its own per kubeconfig: API ports are reused from one cluster to the next.
  const r = await execa("kubectl", ["--kubeconfig", kubeconfig, ...args], { reject: false, env: { KUBECACHEDIR: `${kubeconfig}.kube-cache` } });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * Everything of the cluster still on the engine, and its host images on this host (the host process, its cache,
 * state and log under the default state directory): should be nothing after delete or rollback.
 */
export async function leftovers(runtime: Runtime, cluster: string): Promise<string[]> {
  const nodes = await runtime.nodes.list({ labels: { [LABELS.cluster]: cluster } });
  const volumes = await runtime.volumes.list({ labels: { [LABELS.cluster]: cluster } });
  const network = await runtime.networks.inspect(`k3ts-${cluster}`).then(
    (n) => [`network ${n.name}`],
    () => [],
  );
  return [...nodes.map((n) => `node ${n.name}`), ...volumes.map((v) => `volume ${v.name}`), ...network, ...hostImagesLeftovers(cluster)];
}

/** The cluster's host-images process (found by its command line) and files under the default state directory. */
function hostImagesLeftovers(cluster: string): string[] {
  const cmdline = (pid: string) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      return "";
    }
  };
  const processes = (existsSync("/proc") ? readdirSync("/proc") : [])
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      const args = cmdline(pid).split("\0");
      return args.some((a) => a.endsWith("host-images.js")) && args.some((a) => a.includes(`"cluster":${JSON.stringify(cluster)}`));
    });
  const files = hostImagesCacheDir(cluster, process.env);
  return [...processes.map((pid) => `host images process ${pid}`), ...[files, `${files}.process.json`, `${files}.log`].filter((f) => existsSync(f)).map((f) => `host images file ${f}`)];
}

/** A free TCP port on 127.0.0.1 (core's own helper). */
export const freeHostPort = (): Promise<number> => freePort("127.0.0.1");

/** Removes whatever an earlier, interrupted run left under this cluster name. */
export async function clearName(runtime: Runtime, cluster: string): Promise<string> {
  await deleteCluster(cluster, { runtime, updateKubeconfig: false });
  await removeHostImages(cluster, process.env);
  return cluster;
}

/**
 * What a pod resolves each name to (or the error code), through the cluster's DNS: a pod runs
 * `node` to look them up, and its log is read back. The node image is imported into server-0 first
 * (no registry here; the kubelet pulls what a node lacks) and the pod is placed there. The pod is
 * deleted afterwards.
 */
export async function resolveInPod(engine: Engine, cluster: string, kubeconfig: string, names: string[], env: Record<string, string> = {}, pod = "k3ts-e2e-dns"): Promise<Record<string, string>> {
  const script = `const dns=require("dns");Promise.all(${JSON.stringify(names)}.map(n=>dns.promises.lookup(n,{family:4}).then(r=>[n,r.address],e=>[n,e.code]))).then(r=>console.log(JSON.stringify(Object.fromEntries(r))))`;
  const imported = await k3ts(engine, ["image", "import", NODE_POD_IMAGE, "-c", cluster, "--nodes", "server:0"], env);
  if (imported.exitCode !== 0) throw new Error(`image import ${NODE_POD_IMAGE}: ${String(imported.stderr)}`);
  const placed = JSON.stringify({ apiVersion: "v1", spec: { nodeSelector: { "kubernetes.io/hostname": `k3ts-${cluster}-server-0` } } });
  await kubectl(kubeconfig, ["delete", "pod", pod, "--ignore-not-found", "--wait=true"]);
  const run = await kubectl(kubeconfig, ["run", pod, `--image=${NODE_POD_IMAGE}`, "--restart=Never", `--overrides=${placed}`, "--command", "--", "node", "-e", script]);
  if (run.exitCode !== 0) throw new Error(`kubectl run: ${run.stderr}`);
  try {
    const done = await kubectl(kubeconfig, ["wait", `pod/${pod}`, "--for=jsonpath={.status.phase}=Succeeded", "--timeout=90s"]);
    const logs = await kubectl(kubeconfig, ["logs", pod]);
    if (done.exitCode !== 0) {
      const state = await kubectl(kubeconfig, ["get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0].state}"]);
      throw new Error(`pod ${pod} did not succeed: ${done.stderr}\n${state.stdout}\n${logs.stdout}${logs.stderr}`);
    }
    return JSON.parse(logs.stdout.trim().split("\n").pop() ?? "{}") as Record<string, string>;
  } finally {
    await kubectl(kubeconfig, ["delete", "pod", pod, "--ignore-not-found", "--wait=false"]);
  }
}

/** The address a node's /etc/hosts gives a name: what the engine made of the extra hosts k3ts asked for. */
export async function hostsEntry(runtime: Runtime, node: string, name: string): Promise<string | undefined> {
  const text = (await runtime.nodes.readFile(node, "/etc/hosts")).toString("utf8");
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .find(([, ...names]) => names.includes(name))?.[0];
}

/** A runtime that fails the first call for which `when(method, args)` is true (everything else passes through). */
export function failing(runtime: Runtime, when: (method: string, args: unknown[]) => boolean): Runtime {
  let fired = false;
  const wrap = <T extends object>(group: string, target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (!fired && when(`${group}.${String(prop)}`, args)) {
            fired = true;
            return Promise.reject(new K3tsError("RUNTIME_ERROR", `injected failure in ${group}.${String(prop)}`));
          }
          return (value as (...a: unknown[]) => unknown).apply(obj, args);
        };
      },
    });
  return withGroups(runtime, {
    nodes: wrap("nodes", runtime.nodes),
    networks: wrap("networks", runtime.networks),
    volumes: wrap("volumes", runtime.volumes),
    images: wrap("images", runtime.images),
  });
}

/**
 * The runtime with some of its client groups replaced. Its own methods (info, close) are called on the
 * runtime itself, never on a copy: a runtime may keep its state in private fields (Podman's does).
 */
export function withGroups(runtime: Runtime, groups: Partial<Pick<Runtime, "nodes" | "networks" | "volumes" | "images">>): Runtime {
  return {
    name: runtime.name,
    nodes: groups.nodes ?? runtime.nodes,
    networks: groups.networks ?? runtime.networks,
    volumes: groups.volumes ?? runtime.volumes,
    images: groups.images ?? runtime.images,
    info: (options) => runtime.info(options),
    close: async () => runtime.close?.(),
  };
}
