import { K3tsError, getKubeconfig, listClusters } from "@k3ts/core";
import type { CommandContext } from "../../context.js";

/** Prints each cluster's kubeconfig as a YAML document on stdout. */
export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  const runtime = await ctx.runtime();
  const names = options.all === true ? (await listClusters({ runtime })).map((c) => c.name) : args;
  if (!names.length) throw new K3tsError("INVALID_ARGUMENT", "name a cluster, or use --all", { meta: { flag: "CLUSTER" } });
  for (const name of names) ctx.out.print(`---\n${await getKubeconfig(name, { runtime, signal: ctx.signal })}`);
  return 0;
}
