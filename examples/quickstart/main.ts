/**
 * k3ts quickstart: a program that creates a k3s cluster, applies manifests (a kustomization), installs a
 * Helm chart through k3s's helm-controller, waits for the rollout, and reaches the chart's Service through an
 * in-process port-forward.
 *
 *   node main.ts                       # Docker (K3TS_RUNTIME=podman for Podman)
 *   APP_IMAGE=my-httpd:dev node main.ts  # an image of your engine (with sh and httpd), imported into the nodes
 *
 * The cluster is deleted when the program ends (`await using`), also on Ctrl-C.
 */
import { fileURLToPath } from "node:url";
import { createCluster, type ClusterOptions } from "@k3ts/sdk";

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export interface QuickstartResult {
  cluster: string;
  /** What the Service answered over HTTP. */
  greeting: string;
  /** Objects the manifests created (kind/namespace/name). */
  applied: string[];
  /** The Job that installed the chart (helm-install-hello). */
  helmJob: string | undefined;
}

export async function quickstart(options: Partial<ClusterOptions> = {}, log: (line: string) => void = console.log, appImage = process.env.APP_IMAGE): Promise<QuickstartResult> {
  await using cluster = await createCluster({ runtime: process.env.K3TS_RUNTIME ?? "docker", agents: 1, ...options });
  log(`cluster ${cluster.name} is ready`);

  // 0. An image built on this machine goes into the nodes' containerd (k3s would otherwise pull the chart's busybox:1.36).
  if (appImage) {
    const imported = await cluster.importImages([appImage]);
    for (const warning of imported.warnings) log(`warning: ${warning}`);
  }

  // 1. Manifests: the demo namespace and its settings, built with kustomize, applied server-side.
  const applied = await cluster.apply([here("./manifests")]);
  log(`applied ${applied.objects.length} objects (${applied.changed} changed)`);

  // 2. A Helm chart from a local directory: packaged into the HelmChart's chartContent, installed by k3s.
  const release = await cluster.helm({
    name: "hello",
    chart: here("./chart"),
    targetNamespace: "demo",
    values: [here("./chart/values.yaml"), { greeting: "Hello from k3ts", ...(appImage ? { image: appImage } : {}) }],
  });
  log(`helm release ${release.name} installed by job ${release.jobName}`);
  await cluster.rollout({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "hello", namespace: "demo" } }, { timeout: "2m" });

  // 3. The Service, on a local port, for as long as this scope lives.
  await using web = await cluster.endpoint("hello", "http", { namespace: "demo" });
  await web.ready;
  const greeting = (await (await fetch(web.url)).text()).trim();
  log(`${web.url} answered: ${greeting}`);

  return {
    cluster: cluster.name,
    greeting,
    applied: applied.objects.map((o) => `${o.kind}/${o.namespace ?? ""}/${o.name}`),
    helmJob: release.jobName,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await quickstart();
