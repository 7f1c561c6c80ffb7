import type { CommandContext } from "../../context.js";
import { printValue } from "../../print.js";

export async function run(ctx: CommandContext, _args: string[], options: Record<string, unknown>): Promise<number> {
  const runtime = await ctx.runtime();
  const info = await runtime.info({ signal: ctx.signal });
  printValue(ctx, options.output, info, () => {
    const caps = Object.entries(info.capabilities)
      .map(([k, v]) => {
        const hint = info.hints?.[k as keyof typeof info.capabilities];
        return `  ${k}: ${v ?? "unknown"}${hint ? `\n    fix: ${hint}` : ""}`;
      })
      .join("\n");
    return [
      `runtime:   ${info.runtime}`,
      `engine:    ${info.engine.name} ${info.engine.version}${info.engine.apiVersion ? ` (API ${info.engine.apiVersion})` : ""}`,
      `endpoint:  ${info.endpoint}`,
      `os/arch:   ${info.os} / ${info.arch}`,
      `capabilities:\n${caps}`,
    ].join("\n");
  });
  return 0;
}
