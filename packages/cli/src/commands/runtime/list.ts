import { BUILTIN_RUNTIMES, isK3tsError, loadRuntimePlugin } from "@k3ts/core";
import { runtimeSearchDirs } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";
import { formatTable } from "../../output.js";
import { printValue } from "../../print.js";

interface Row {
  name: string;
  plugin?: string;
  version?: string;
  apiVersion?: number;
  available: boolean;
  selected: boolean;
  endpoint?: string;
  reason?: string;
}

export async function run(ctx: CommandContext, _args: string[], options: Record<string, unknown>): Promise<number> {
  const names = [...BUILTIN_RUNTIMES] as string[];
  const named = (options.runtime as string | undefined) ?? ctx.env.K3TS_RUNTIME;
  if (named && !names.includes(named)) names.push(named);
  const rows: Row[] = [];
  for (const name of names) {
    try {
      const plugin = await loadRuntimePlugin(name, { cwd: ctx.cwd, resolveFrom: [import.meta.url], searchDirs: runtimeSearchDirs(ctx.env, ctx.cwd), onLoaded: (n, url) => ctx.out.debug(`runtime plugin ${n} loaded from ${url}`) });
      const availability = await plugin.isAvailable({ logger: ctx.out, k3tsVersion: ctx.version, env: ctx.env });
      rows.push({
        name,
        plugin: plugin.meta.name,
        version: plugin.meta.version,
        apiVersion: plugin.apiVersion,
        available: availability.available,
        selected: false,
        ...(availability.endpoint ? { endpoint: availability.endpoint } : {}),
        ...(availability.reason ? { reason: availability.reason } : {}),
      });
    } catch (err) {
      if (!isK3tsError(err)) throw err;
      rows.push({ name, available: false, selected: false, reason: err.message });
    }
  }
  const chosen = named ? rows.find((r) => r.name === named) : rows.find((r) => r.available);
  if (chosen) chosen.selected = true;
  printValue(ctx, options.output, rows, () =>
    formatTable(
      ["name", "version", "api", "available", "endpoint"],
      rows.map((r) => [
        `${r.name}${r.selected ? " *" : ""}`,
        r.version ?? "-",
        r.apiVersion !== undefined ? `v${r.apiVersion}` : "-",
        r.available ? "yes" : "no",
        r.available ? (r.endpoint ?? "") : `${r.reason ?? ""}${r.endpoint ? ` (${r.endpoint})` : ""}`,
      ]),
    ),
  );
  return 0;
}
