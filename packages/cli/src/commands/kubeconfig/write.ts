import type { CommandContext } from "../../context.js";
import { run as merge } from "./merge.js";

/** `kubeconfig write`: one file per cluster under k3ts's config dir; prints the paths for KUBECONFIG. */
export function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  return merge(ctx, args, options, true);
}
