import { K3tsError, editClusterPorts, type EditPortsOptions } from "@k3ts/core";
import { parseNodeFilter, parsePortSpec, splitFilters } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";
import { many } from "../../flags.js";
import { printValue } from "../../print.js";
import { clusterTable } from "./list.js";

/** `--port-add` / `--port-delete` as cluster edit and node edit take them; INVALID_ARGUMENT when neither is given. */
export function portEdits(options: Record<string, unknown>): Pick<EditPortsOptions, "add" | "remove"> {
  const add = many(options.portAdd).map((raw) => {
    const where = `--port-add ${raw}`;
    const { value, filters } = splitFilters(raw, where);
    return { value: parsePortSpec(value, where), filters: filters.map((f) => parseNodeFilter(f, where, { suffixes: ["proxy"] })) };
  });
  const remove = many(options.portDelete).map((raw) => parsePortSpec(splitFilters(raw, `--port-delete ${raw}`).value, `--port-delete ${raw}`));
  if (!add.length && !remove.length) throw new K3tsError("INVALID_ARGUMENT", "nothing to change: give --port-add or --port-delete", { meta: { flag: "--port-add" } });
  return { add, remove };
}

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  if (args.length !== 1) throw new K3tsError("INVALID_ARGUMENT", "name one cluster to edit", { meta: { flag: "CLUSTER" } });
  const edits = portEdits(options);
  const cluster = await editClusterPorts(args[0]!, { runtime: await ctx.runtime(), progress: ctx.progress, signal: ctx.signal, ...edits });
  printValue(ctx, options.output, cluster, () => clusterTable([cluster]));
  return 0;
}
