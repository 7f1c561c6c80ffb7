/**
 * Third-party modules the lifecycle needs, loaded on first use so that importing @k3ts/core (and
 * starting the CLI) stays cheap. yaml is required synchronously (its API is used in sync functions).
 */
import { createRequire } from "node:module";
import type * as YamlModule from "yaml";
import type AjvModule from "ajv";
import type AddFormatsModule from "ajv-formats";
import type LockfileModule from "proper-lockfile";
import type WriteFileAtomicModule from "write-file-atomic";

const require = createRequire(import.meta.url);
let yamlModule: typeof YamlModule | undefined;

export function yaml(): typeof YamlModule {
  return (yamlModule ??= require("yaml") as typeof YamlModule);
}

export async function lockfile(): Promise<typeof LockfileModule> {
  const mod = (await import("proper-lockfile")) as { default?: typeof LockfileModule } & typeof LockfileModule;
  return mod.default ?? mod;
}

export async function writeFileAtomic(): Promise<typeof WriteFileAtomicModule> {
  const mod = (await import("write-file-atomic")) as { default?: typeof WriteFileAtomicModule } & typeof WriteFileAtomicModule;
  return mod.default ?? mod;
}

type AjvClass = typeof AjvModule;
type AddFormats = typeof AddFormatsModule;
let ajvModules: { Ajv: AjvClass; addFormats: AddFormats } | undefined;

/** ajv and ajv-formats (CommonJS), for config validation only. */
export function ajv(): { Ajv: AjvClass; addFormats: AddFormats } {
  if (!ajvModules) {
    const a = require("ajv") as { default?: AjvClass } & AjvClass;
    const f = require("ajv-formats") as { default?: AddFormats } & AddFormats;
    ajvModules = { Ajv: a.default ?? a, addFormats: f.default ?? f };
  }
  return ajvModules;
}
