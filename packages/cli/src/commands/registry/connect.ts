import { connectRegistry, disconnectRegistry, type ConnectResult } from "@k3ts/core";
import { parseDuration } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";
import { one } from "../../flags.js";
import { printValue } from "../../print.js";

function say(r: ConnectResult, verb: "Connected" | "Disconnected"): string {
  const lines = [`${verb} registry ${r.registry} ${verb === "Connected" ? "to" : "from"} cluster ${r.cluster}`];
  if (r.changed && !r.restarted) lines.push("registries.yaml changed in the nodes; it takes effect when they next start (k3s reads it at start)");
  if (r.advertised) lines.push("advertised in kube-public/local-registry-hosting");
  return lines.join("\n");
}

async function act(ctx: CommandContext, args: string[], options: Record<string, unknown>, fn: typeof connectRegistry, verb: "Connected" | "Disconnected"): Promise<number> {
  const [registry, cluster] = args as [string, string];
  const timeout = one(options.timeout, "--timeout");
  const runtime = await ctx.runtime();
  const r = await fn(registry, cluster, {
    runtime,
    progress: ctx.progress,
    signal: ctx.signal,
    env: ctx.env,
    logger: ctx.out,
    restart: options.restart !== false,
    ...(timeout ? { timeoutMs: parseDuration(timeout, "--timeout") } : {}),
  });
  printValue(ctx, options.output, r, () => say(r, verb));
  return 0;
}

export const connect = (ctx: CommandContext, args: string[], options: Record<string, unknown>) => act(ctx, args, options, connectRegistry, "Connected");
export const disconnect = (ctx: CommandContext, args: string[], options: Record<string, unknown>) => act(ctx, args, options, disconnectRegistry, "Disconnected");
