import { K3tsError, addNodes } from "@k3ts/core";
import { parseKeyValue, parseMemory, parseDuration, parseRuntimeLabel } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";
import { bool, integer, many, one } from "../../flags.js";
import { printValue } from "../../print.js";

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  if (args.length > 1) throw new K3tsError("INVALID_ARGUMENT", `one NAME at most (got ${args.length}: ${args.join(" ")}); use --replicas for several nodes`, { meta: { flag: "NAME" } });
  const name = args[0];
  const role = one(options.role, "--role") ?? "agent";
  if (role !== "agent" && role !== "server") throw new K3tsError("INVALID_ARGUMENT", `--role ${role}: expected agent or server`, { meta: { flag: "--role", value: role } });
  const cluster = one(options.cluster, "--cluster") ?? "k3s-default";
  const memory = one(options.memory, "--memory");
  const timeout = one(options.timeout, "--timeout");
  const image = one(options.image, "--image");
  const added = await addNodes(cluster, {
    runtime: await ctx.runtime(),
    progress: ctx.progress,
    signal: ctx.signal,
    role,
    count: integer(options.replicas, "--replicas", 1) ?? 1,
    ...(name ? { name } : {}),
    ...(image ? { image } : {}),
    ...(memory ? { memoryBytes: parseMemory(memory, "--memory") } : {}),
    nodeLabels: many(options.k3sNodeLabel).map((l) => parseKeyValue(l, `--k3s-node-label ${l}`)),
    k3sArgs: many(options.k3sArg),
    runtimeLabels: Object.fromEntries(many(options.runtimeLabel).map((l) => parseRuntimeLabel(l, `--runtime-label ${l}`)).map((kv) => [kv.key, kv.value])),
    wait: bool(options.wait, "--wait", true),
    ...(timeout ? { timeoutMs: parseDuration(timeout, "--timeout") } : {}),
  });
  printValue(ctx, options.output, added, () => added.map((n) => `Added ${n}`).join("\n"));
  return 0;
}
