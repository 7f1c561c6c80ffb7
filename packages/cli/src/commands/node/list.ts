import { LABELS } from "@k3ts/core";
import type { CommandContext } from "../../context.js";
import { formatTable } from "../../output.js";
import { printValue } from "../../print.js";

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  const runtime = await ctx.runtime();
  const all = await runtime.nodes.list({ labels: { [LABELS.managed]: "true", [LABELS.cluster]: "" } }, { signal: ctx.signal });
  const nodes = (args.length ? all.filter((n) => args.includes(n.name)) : all).map((n) => ({
    name: n.name,
    role: n.labels[LABELS.role] ?? "",
    cluster: n.labels[LABELS.cluster] ?? "",
    state: n.state,
    image: n.image,
    ports: n.ports,
  }));
  printValue(ctx, options.output, nodes, () =>
    nodes.length ? formatTable(["name", "role", "cluster", "status"], nodes.map((n) => [n.name, n.role, n.cluster, n.state])) : "No nodes.",
  );
  return 0;
}
