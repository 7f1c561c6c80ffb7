import { DEFAULT_CLUSTER_NAME, importImages, isK3tsError, type ImportImagesResult } from "@k3ts/core";
import { formatBytes } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";
import { STDIN_ARG } from "./stdin.js";
import { many, one } from "../../flags.js";
import { formatTable } from "../../output.js";
import { loadYaml, parseFormat, printValue } from "../../print.js";

function human(result: ImportImagesResult): string {
  const rows = result.nodes.flatMap((n) =>
    n.images.map((o) => [
      n.node,
      o.source,
      o.status,
      o.status === "skipped" ? "-" : formatBytes(o.bytes),
      o.status === "skipped" ? "-" : `${(o.durationMs / 1000).toFixed(1)}s`,
      o.error ?? o.images.map((i) => i.ref).join(", "),
    ]),
  );
  return formatTable(["node", "source", "status", "size", "time", "images"], rows);
}

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  const cluster = one(options.cluster, "--cluster") ?? DEFAULT_CLUSTER_NAME;
  const nodeFilters = many(options.nodes).flatMap((f) => f.split(";")).map((f) => f.trim()).filter(Boolean);
  if (parseFormat(options.output) === "yaml") await loadYaml();
  const sources = args.map((a) => (a === STDIN_ARG ? "-" : a));
  const runtime = await ctx.runtime();
  const show = (result: ImportImagesResult) => printValue(ctx, options.output, result, () => human(result));
  try {
    const result = await importImages(cluster, sources, {
      runtime,
      progress: ctx.progress,
      signal: ctx.signal,
      ...(nodeFilters.length ? { nodeFilters } : {}),
      ...(sources.includes("-") ? { stdin: ctx.stdin } : {}),
    });
    for (const w of result.warnings) ctx.out.warn(w);
    show(result);
    return 0;
  } catch (err) {
    // The per-node table still goes to stdout; the failure (each node's) to stderr, exit 1.
    if (isK3tsError(err, "COMMAND_FAILED") && err.meta.result) show(err.meta.result as ImportImagesResult);
    throw err;
  }
}
