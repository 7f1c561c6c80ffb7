/**
 * @k3ts/sdk/vitest — one cluster for a whole vitest run.
 *
 * ```ts
 * // vitest.config.ts: test: { globalSetup: ["./test/k3s.setup.ts"] }
 * // test/k3s.setup.ts
 * import { clusterSetup } from "@k3ts/sdk/vitest";
 * export default clusterSetup({ runtime: "docker", agents: 1 });
 *
 * // in a test
 * import { inject } from "vitest";
 * const kubeconfigPath = inject("k3tsKubeconfigPath"); // also process.env.K3TS_KUBECONFIG
 * ```
 *
 * The setup creates the cluster before any test file runs, writes its kubeconfig to a temporary file
 * (0600), provides `k3tsCluster`, `k3tsKubeconfig` and `k3tsKubeconfigPath` to the tests and sets
 * K3TS_KUBECONFIG for the workers it starts; the teardown deletes the cluster (unless `keep`).
 */
import { createCluster, type Cluster } from "./cluster.js";
import type { ClusterOptions } from "./options.js";
import type {} from "vitest";

declare module "vitest" {
  interface ProvidedContext {
    /** The cluster's name. */
    k3tsCluster: string;
    /** Its kubeconfig (server on the host). */
    k3tsKubeconfig: string;
    /** A file holding it, also in K3TS_KUBECONFIG. */
    k3tsKubeconfigPath: string;
  }
}

/** The environment variable the setup sets to the kubeconfig file's path. */
export const KUBECONFIG_ENV = "K3TS_KUBECONFIG";

/** What vitest hands a global setup function (its TestProject); only `provide` is used. */
export interface GlobalSetupProject {
  provide(key: "k3tsCluster" | "k3tsKubeconfig" | "k3tsKubeconfigPath", value: string): void;
}

export interface ClusterSetupOptions extends ClusterOptions {
  /** Called once the cluster is ready, before any test file runs (e.g. to install what every test needs). */
  onReady?: (cluster: Cluster) => void | Promise<void>;
}

/**
 * A vitest global setup that creates one cluster for the run and deletes it at the end: export it as
 * the default of a `globalSetup` file. Without a name the cluster is `sdk-<random>`; with `reuse`
 * and `keep`, a second run attaches to the first run's cluster instead of creating one.
 */
export function clusterSetup(options: ClusterSetupOptions = {}): (project: GlobalSetupProject) => Promise<() => Promise<void>> {
  return async (project) => {
    const { onReady, ...clusterOptions } = options;
    const cluster = await createCluster(clusterOptions);
    const previous = process.env[KUBECONFIG_ENV];
    try {
      const kubeconfig = await cluster.kubeconfig();
      const path = await cluster.writeKubeconfig();
      project.provide("k3tsCluster", cluster.name);
      project.provide("k3tsKubeconfig", kubeconfig);
      project.provide("k3tsKubeconfigPath", path);
      process.env[KUBECONFIG_ENV] = path;
      await onReady?.(cluster);
    } catch (err) {
      await cluster[Symbol.asyncDispose]();
      throw err;
    }
    return async () => {
      if (previous === undefined) delete process.env[KUBECONFIG_ENV];
      else process.env[KUBECONFIG_ENV] = previous;
      await cluster[Symbol.asyncDispose]();
    };
  };
}
