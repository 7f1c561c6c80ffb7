/** `k3ts down`: removes what `k3ts up` made (manifests and releases in reverse order, then the cluster the environment made). */
import { resolve } from "node:path";
import { down, loadEnvironment } from "@k3ts/sdk";
import type { CommandContext } from "../../context.js";
import { bool, one } from "../../flags.js";
import { targetOptions } from "./target.js";

export async function run(ctx: CommandContext, _args: string[], options: Record<string, unknown>): Promise<number> {
  const file = resolve(ctx.cwd, one(options.file, "-f, --file") ?? "k3ts.yaml");
  const env = await loadEnvironment(file);
  const runtime = "create" in env.cluster ? await ctx.runtime() : undefined;
  const result = await down(env, {
    ...(runtime ? { runtime } : {}),
    deleteCluster: !bool(options.keepCluster, "--keep-cluster", false),
    ...targetOptions(ctx, options),
    signal: ctx.signal,
    environment: ctx.env,
    onEvent: (e) => ctx.out.print(`${e.name}: ${e.status}`),
  });
  ctx.out.print(`environment ${env.name} is down${result.clusterDeleted ? " (cluster deleted)" : ""}`);
  return 0;
}
