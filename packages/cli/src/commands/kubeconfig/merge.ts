import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { K3tsError, getKubeconfig, listClusters } from "@k3ts/core";
import { kubeconfigPath, mergeKubeconfig, updateKubeconfigFile } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";
import { bool, one } from "../../flags.js";

/** k3ts's own config directory: $XDG_CONFIG_HOME/k3ts or ~/.config/k3ts (k3d forgot the suffix). */
export function configDir(env: Record<string, string | undefined>): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "k3ts");
}

/**
 * `kubeconfig merge`: into $KUBECONFIG / ~/.kube/config with -d, into FILE with -o, and otherwise
 * into one file per cluster under k3ts's config dir (`kubeconfig write` prints those paths).
 */
export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>, writeMode = false): Promise<number> {
  const runtime = await ctx.runtime();
  const names = options.all === true ? (await listClusters({ runtime })).map((c) => c.name) : args;
  if (!names.length) throw new K3tsError("INVALID_ARGUMENT", "name a cluster, or use --all", { meta: { flag: "CLUSTER" } });
  const output = one(options.output, "--output");
  const toDefault = bool(options.kubeconfigMergeDefault, "--kubeconfig-merge-default", false);
  const switchContext = bool(options.kubeconfigSwitchContext, "--kubeconfig-switch-context", !writeMode);
  const written: string[] = [];
  for (const name of names) {
    const kubeconfig = await getKubeconfig(name, { runtime, signal: ctx.signal });
    if (output === "-") {
      ctx.out.print(kubeconfig);
      continue;
    }
    let path: string;
    if (output) path = output;
    else if (toDefault) path = kubeconfigPath(ctx.env, homedir());
    else {
      mkdirSync(configDir(ctx.env), { recursive: true, mode: 0o700 });
      path = join(configDir(ctx.env), `kubeconfig-${name}.yaml`);
    }
    await updateKubeconfigFile(path, (current) => mergeKubeconfig(current, kubeconfig, { switchContext: switchContext || !current }));
    written.push(path);
  }
  if (written.length) ctx.out.print([...new Set(written)].join(":"));
  return 0;
}
