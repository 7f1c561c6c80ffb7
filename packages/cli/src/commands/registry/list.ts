import { getRegistry, listRegistries, type RegistrySummary } from "@k3ts/core";
import { hostAddress } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";
import { formatTable } from "../../output.js";
import { printValue } from "../../print.js";

export function registryTable(registries: RegistrySummary[], noHeaders = false): string {
  const table = formatTable(
    ["name", "state", "host", "in-cluster", "proxy", "clusters"],
    registries.map((r) => [
      r.name,
      r.state,
      r.hostPort ? `${hostAddress(r.hostIP)}:${r.hostPort}` : "-",
      `${r.name}:${r.port}`,
      r.proxyRemoteURL ?? "-",
      r.clusters.length ? r.clusters.join(",") : "-",
    ]),
  );
  return noHeaders ? table.split("\n").slice(1).join("\n") : table;
}

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  const runtime = await ctx.runtime();
  const registries = args.length ? await Promise.all(args.map((n) => getRegistry(n, { runtime, signal: ctx.signal }))) : await listRegistries({ runtime, signal: ctx.signal });
  printValue(ctx, options.output, registries, () => (registries.length ? registryTable(registries, options.headers === false) : "No registries."));
  return 0;
}
