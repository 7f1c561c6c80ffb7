import { K3TS_API_VERSION, K3TS_ENVIRONMENT_KIND, loadEnvironmentConfig } from "@k3ts/core";
import { configKind } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";
import { fileArg, readConfig, readConfigInput } from "./read.js";

/** A cluster config (k3ts or k3d format) or an environment (`kind: Environment`, for `k3ts up -f`). */
export async function run(ctx: CommandContext, args: string[]): Promise<number> {
  const file = fileArg(args[0]!);
  const text = await readConfigInput(ctx, file);
  const { apiVersion, kind } = configKind(text);
  if (apiVersion === K3TS_API_VERSION && kind === K3TS_ENVIRONMENT_KIND) {
    loadEnvironmentConfig(text, { file: file === "-" ? "<stdin>" : file });
    ctx.out.print(`${file}: valid (${K3TS_API_VERSION} ${K3TS_ENVIRONMENT_KIND})`);
    return 0;
  }
  const loaded = readConfig(ctx, file, { text });
  ctx.out.print(`${file}: valid (${loaded.format})`);
  return 0;
}
