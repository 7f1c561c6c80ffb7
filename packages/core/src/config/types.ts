/** The shapes config loading works with: problems, notices, and the partial spec a file describes. */
import type { ApiSpec, ClusterSpec } from "../cluster/spec.js";

/** One thing wrong with a config file. `path` is a JSON pointer into the file as written. */
export interface ConfigProblem {
  path: string;
  /** 1-based; 0 when the problem has no place in the file (e.g. an empty file). */
  line: number;
  column: number;
  message: string;
}

/** A field k3ts read but does not honour (yet): printed as a warning, never dropped silently. */
export interface ConfigNotice {
  path: string;
  reason: string;
}

/** What one source (a file, the environment, the flags) says about a cluster: every field optional. */
export interface ClusterSpecInput extends Partial<Omit<ClusterSpec, "api" | "loadBalancer" | "memory" | "kubeconfig" | "hostImages">> {
  api?: Partial<ApiSpec>;
  /** On with these mirrors; `false`: off, over what an earlier source said (absent: as the earlier source says). */
  hostImages?: ClusterSpec["hostImages"] | false;
  loadBalancer?: Partial<ClusterSpec["loadBalancer"]>;
  memory?: ClusterSpec["memory"];
  kubeconfig?: Partial<ClusterSpec["kubeconfig"]>;
}

/** The formats {@link loadConfig} reads. */
export type ConfigFormat = "k3ts.io/v1alpha1" | "k3d.io/v1alpha5" | "k3d.io/v1alpha4" | "k3d.io/v1alpha3" | "k3d.io/v1alpha2";

export interface LoadedConfig {
  /** The apiVersion the file declared (k3d files are migrated to v1alpha5 before reading). */
  format: ConfigFormat;
  spec: ClusterSpecInput;
  notices: ConfigNotice[];
}

export interface LoadConfigOptions {
  /** Shown in messages (`k3d.yaml:12:5: …`); relative `files[].source` paths resolve against its directory. Default `config`. */
  file?: string;
  /** Variables for `$VAR` / `${VAR}` expansion (default: none, so nothing leaks from the process by accident). */
  env?: Record<string, string | undefined>;
}
