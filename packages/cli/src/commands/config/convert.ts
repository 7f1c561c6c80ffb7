import { chmodSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { type ClusterSpecInput } from "@k3ts/core";
import { toK3tsYaml } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";
import { fileArg, readConfig, readConfigInput } from "./read.js";

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  const file = fileArg(args[0]!);
  const loaded = readConfig(ctx, file, { text: await readConfigInput(ctx, file) });
  const yaml = toK3tsYaml(loaded.spec, { from: `${file} (${loaded.format})`, notices: loaded.notices });
  const target = typeof options.output === "string" ? options.output : "-";
  if (target === "-") ctx.out.print(yaml.trimEnd());
  else {
    const path = resolve(ctx.cwd, target);
    const secret = secretsIn(loaded.spec);
    writeFileSync(path, yaml, secret.length ? { mode: 0o600 } : {});
    if (secret.length) chmodSync(path, 0o600); // an existing file keeps its mode otherwise
    ctx.out.info(`Wrote ${target}${secret.length ? ` (mode 0600: it holds ${secret.join(", ")})` : ""}`);
  }
  return 0;
}

/** What in a spec is a secret once written out (environment references are expanded by the time it is converted). */
export function secretsIn(spec: ClusterSpecInput): string[] {
  const proxy = spec.registries?.create?.proxy;
  const config = spec.registries?.config;
  return [
    ...(spec.token !== undefined ? ["the cluster token"] : []),
    ...(proxy?.password !== undefined || proxy?.username !== undefined ? ["registry proxy credentials"] : []),
    ...(config && "content" in config && /^\s*(auth|password|identitytoken)\s*:/m.test(config.content) ? ["registry credentials"] : []),
  ];
}
