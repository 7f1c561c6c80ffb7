/**
 * `k3ts up`: converges the environment in k3ts.yaml (sdk `up`), prints each step and the endpoints'
 * URLs, then, when there are endpoints, keeps them open until Ctrl-C. The cluster and what was
 * deployed stay after exit unless --down-on-exit.
 */
import { resolve } from "node:path";
import { down, loadEnvironment, up, type UpEvent } from "@k3ts/sdk";
import type { CommandContext } from "../../context.js";
import { bool, one } from "../../flags.js";
import { targetOptions } from "./target.js";

export function describeEvent(e: UpEvent): string {
  switch (e.type) {
    case "cluster":
      return `cluster ${e.name}: ${e.created ? "created" : "already there"}`;
    case "images":
      return `images: ${e.imported.length} imported${e.imported.length ? ` (${e.imported.join(", ")})` : ""}, ${e.skipped.length} already there`;
    case "step":
      return `${e.step}: ${e.status}`;
    case "step-done":
      return `${e.step}: ${e.changed} changed, ${e.unchanged} unchanged`;
    case "endpoint":
      return `${e.step}: ${e.url}`;
  }
}

export async function run(ctx: CommandContext, _args: string[], options: Record<string, unknown>): Promise<number> {
  const file = resolve(ctx.cwd, one(options.file, "-f, --file") ?? "k3ts.yaml");
  const env = await loadEnvironment(file);
  const runtime = "create" in env.cluster ? await ctx.runtime() : undefined;
  const openEndpoints = bool(options.endpoints, "--endpoints", true);
  const result = await up(env, {
    ...(runtime ? { runtime } : {}),
    endpoints: openEndpoints,
    ...targetOptions(ctx, options),
    signal: ctx.signal,
    environment: ctx.env,
    onEvent: (e) => {
      if (e.type === "images") for (const w of e.warnings) ctx.out.warn(w);
      if (e.type === "step") ctx.out.info(describeEvent(e));
      else ctx.out.print(describeEvent(e));
    },
  });
  ctx.out.print(`environment ${env.name} is up: ${result.changed} changed`);
  if (result.endpoints.size && !ctx.signal.aborted) {
    ctx.out.print("endpoints open; Ctrl-C to close them" + (bool(options.downOnExit, "--down-on-exit", false) ? " and take the environment down" : ""));
    await new Promise<void>((r) => (ctx.signal.aborted ? r() : ctx.signal.addEventListener("abort", () => r(), { once: true })));
  }
  await result.close();
  if (bool(options.downOnExit, "--down-on-exit", false)) {
    // Confirmed when up began: the same target.
    await down(env, { ...(runtime ? { runtime } : {}), environment: ctx.env, confirmTarget: () => true, onEvent: (e) => ctx.out.print(`${e.name}: ${e.status}`) });
    ctx.out.print(`environment ${env.name} is down`);
  }
  return 0;
}
