import { delimiter, isAbsolute, resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { K3tsError, isK3tsError } from "./errors.js";
import { silentLogger } from "./logger.js";
import {
  RUNTIME_API_CHANGES,
  RUNTIME_API_VERSION,
  type ImageClient,
  type NetworkClient,
  type NodeClient,
  type Runtime,
  type RuntimeContext,
  type RuntimePlugin,
  type VolumeClient,
} from "./runtime.js";

/** The first-party runtimes, in auto-detection order. */
export const BUILTIN_RUNTIMES = ["docker", "podman"] as const;

function looksLikePath(name: string): boolean {
  return name.startsWith(".") || isAbsolute(name) || name.startsWith("file:");
}

/**
 * Package names to try for a runtime name, in order (ESLint's naming convention):
 * `docker` → `@k3ts/runtime-docker`, `k3ts-runtime-docker`; `@acme/lima` → `@acme/k3ts-runtime-lima`;
 * `@acme` → `@acme/k3ts-runtime`; a full `k3ts-runtime-*` or `@scope/k3ts-runtime*` name is used as is.
 */
export function runtimePackageCandidates(name: string): string[] {
  if (!name || /\s/.test(name)) {
    throw new K3tsError("INVALID_ARGUMENT", `invalid runtime name ${JSON.stringify(name)}`, { meta: { name } });
  }
  if (name.startsWith("@")) {
    const [scope, rest] = name.split("/", 2);
    if (!rest) return [`${scope}/k3ts-runtime`];
    if (rest.startsWith("k3ts-runtime")) return [name];
    if (scope === "@k3ts") return [rest.startsWith("runtime-") ? name : `@k3ts/runtime-${rest}`];
    return [`${scope}/k3ts-runtime-${rest}`];
  }
  if (name.startsWith("k3ts-runtime-")) return [name];
  return [`@k3ts/runtime-${name}`, `k3ts-runtime-${name}`];
}

/**
 * Where runtime packages are looked up. Package names resolve from the k3ts installation that asks
 * (`resolveFrom`: the CLI and the SDK pass their own module URL, so the CLI's first-party runtimes, the
 * packages installed beside a global k3ts, and a program's own dependencies are found), then from the
 * directories `searchDirs` names (K3TS_RUNTIME_PATH), and never from the working directory and its
 * parents unless asked: a `node_modules` there (a shared /tmp, a checked-out repository) must not get to
 * run code as whoever runs k3ts. Paths (`./my-runtime.js`) are the explicit way to load one from the project.
 */
export interface LoadPluginOptions {
  /** Directory relative plugin paths (`./my-runtime.js`) resolve against (default: process.cwd()); package names are not looked up here. */
  cwd?: string;
  /** Module URLs to resolve packages from, in order: the caller's installation (its import.meta.url). */
  resolveFrom?: string[];
  /** Directories to resolve packages from after `resolveFrom`, only when asked (selectRuntime: K3TS_RUNTIME_PATH). */
  searchDirs?: string[];
  /** Told which file each plugin was loaded from (the CLI prints it with --verbose). */
  onLoaded?: (name: string, url: string) => void;
}

/** The directories K3TS_RUNTIME_PATH names (separated as PATH is), made absolute against `cwd`. */
export function runtimeSearchDirs(env: Record<string, string | undefined>, cwd = process.cwd()): string[] {
  return (env.K3TS_RUNTIME_PATH ?? "")
    .split(delimiter)
    .filter(Boolean)
    .map((d) => resolvePath(cwd, d));
}

/** Checks that a module's export is a runtime plugin for this core. */
export function validatePlugin(candidate: unknown, source: string): RuntimePlugin {
  let value = candidate as Record<string, unknown> | undefined;
  // CJS interop and `export default` both nest the plugin under `default`, sometimes twice.
  for (let i = 0; i < 2 && value && typeof value === "object" && "default" in value && !("create" in value); i++) {
    value = value.default as Record<string, unknown>;
  }
  const problems: string[] = [];
  if (!value || typeof value !== "object") problems.push("the default export is not an object");
  else {
    const meta = value.meta as Record<string, unknown> | undefined;
    if (!meta || typeof meta.name !== "string") problems.push("meta.name is missing");
    if (typeof value.apiVersion !== "number") problems.push("apiVersion is missing");
    if (typeof value.create !== "function") problems.push("create() is missing");
    if (typeof value.isAvailable !== "function") problems.push("isAvailable() is missing");
  }
  if (problems.length) {
    throw new K3tsError("PLUGIN_INVALID", `${source} is not a k3ts runtime plugin: ${problems.join(", ")}`, {
      meta: { source, problems },
      hint: "a runtime plugin's default export comes from defineRuntime() in @k3ts/core",
    });
  }
  const plugin = value as unknown as RuntimePlugin;
  if (plugin.apiVersion !== RUNTIME_API_VERSION) {
    // An older plugin lacks what the versions since added: it is refused, never used with a fallback.
    const added = apiChangesSince(plugin.apiVersion);
    throw new K3tsError(
      "PLUGIN_API_MISMATCH",
      `runtime plugin ${plugin.meta.name} (${source}) implements runtime API v${plugin.apiVersion}, but this k3ts needs v${RUNTIME_API_VERSION}${added.length ? ` (added since: ${added.join("; ")})` : ""}`,
      {
        meta: { source, plugin: plugin.meta.name, pluginApiVersion: plugin.apiVersion, coreApiVersion: RUNTIME_API_VERSION },
        hint: `install a version of ${plugin.meta.name} built for runtime API v${RUNTIME_API_VERSION}`,
      },
    );
  }
  return plugin;
}

/** What each runtime API version after `version` added, up to this core's (`v2: …`). */
function apiChangesSince(version: number): string[] {
  return Object.entries(RUNTIME_API_CHANGES)
    .filter(([v]) => Number(v) > version && Number(v) <= RUNTIME_API_VERSION)
    .map(([v, what]) => `v${v}: ${what}`);
}

/** Every method of the contract, by group (the types make each list whole: a method the interface adds must be named here). */
const CONTRACT: { [G in "networks" | "volumes" | "nodes" | "images"]: Record<keyof { networks: NetworkClient; volumes: VolumeClient; nodes: NodeClient; images: ImageClient }[G], true> } = {
  networks: { ensure: true, inspect: true, list: true, delete: true, connect: true, disconnect: true },
  volumes: { ensure: true, delete: true, inspect: true, list: true },
  nodes: { create: true, start: true, stop: true, delete: true, list: true, inspect: true, exec: true, logs: true, writeFile: true, readFile: true },
  images: { exists: true, inspect: true, pull: true, save: true, load: true },
};

/**
 * Checks that what a plugin's create() made has every call of the API version it declares. A plugin
 * that takes its apiVersion from @k3ts/core's RUNTIME_API_VERSION follows the core it runs with, not what
 * it implements: built for v1, it would claim v2 and lack v2's calls. That is PLUGIN_INVALID naming them,
 * here, not a TypeError in the middle of a delete.
 */
function validateRuntime(candidate: unknown, plugin: RuntimePlugin): Runtime {
  const value = candidate as Record<string, Record<string, unknown> | undefined> | undefined;
  const missing: string[] = [];
  if (typeof value?.info !== "function") missing.push("info()");
  for (const [group, methods] of Object.entries(CONTRACT)) {
    for (const method of Object.keys(methods)) if (typeof value?.[group]?.[method] !== "function") missing.push(`${group}.${method}()`);
  }
  if (missing.length) {
    const added = apiChangesSince(0);
    throw new K3tsError("PLUGIN_INVALID", `runtime plugin ${plugin.meta.name} declares runtime API v${plugin.apiVersion}, but its runtime lacks ${missing.join(", ")}`, {
      meta: { plugin: plugin.meta.name, apiVersion: plugin.apiVersion, missing },
      hint: `install a version of ${plugin.meta.name} built for runtime API v${RUNTIME_API_VERSION} (${added.join("; ")}); a plugin declares the version it implements, not @k3ts/core's RUNTIME_API_VERSION`,
    });
  }
  return candidate as Runtime;
}

async function resolveSpecifier(specifier: string, parents: string[]): Promise<string | undefined> {
  // Loaded on use: it is the heaviest import on the CLI's start-up path otherwise.
  const { resolve: resolveModule } = await import("import-meta-resolve");
  for (const parent of parents) {
    try {
      return resolveModule(specifier, parent);
    } catch {
      // not resolvable from this parent: try the next one
    }
  }
  return undefined;
}

/** Resolves and imports a runtime plugin by short name, package name or path. */
export async function loadRuntimePlugin(name: string, options: LoadPluginOptions = {}): Promise<RuntimePlugin> {
  const cwd = options.cwd ?? process.cwd();
  if (looksLikePath(name)) {
    const url = name.startsWith("file:") ? name : pathToFileURL(resolvePath(cwd, name)).href;
    let mod: unknown;
    try {
      mod = await import(url);
    } catch (err) {
      throw new K3tsError("PLUGIN_NOT_FOUND", `cannot load runtime plugin from ${name}: ${(err as Error).message}`, {
        meta: { name, url },
        cause: err,
      });
    }
    options.onLoaded?.(name, url);
    return validatePlugin(mod, name);
  }
  const parents = [...(options.resolveFrom ?? []), ...(options.searchDirs ?? []).map((d) => pathToFileURL(`${resolvePath(cwd, d)}/`).href)];
  const candidates = runtimePackageCandidates(name);
  for (const pkg of candidates) {
    const url = await resolveSpecifier(pkg, parents);
    if (!url) continue;
    let mod: unknown;
    try {
      mod = await import(url);
    } catch (err) {
      throw new K3tsError("PLUGIN_INVALID", `runtime plugin ${pkg} is installed but failed to load: ${(err as Error).message}`, {
        meta: { name, package: pkg, url },
        cause: err,
        hint: `reinstall ${pkg}, or check that it is built`,
      });
    }
    options.onLoaded?.(name, url);
    return validatePlugin(mod, pkg);
  }
  const dirs = options.searchDirs ?? [];
  throw new K3tsError("PLUGIN_NOT_FOUND", `no runtime plugin named ${JSON.stringify(name)}: looked for ${candidates.join(", ")} beside k3ts${dirs.length ? ` and in ${dirs.join(", ")}` : ""}`, {
    meta: { name, candidates, searchDirs: dirs },
    hint: `install it where k3ts is (npm install -g ${candidates.at(-1)} for a global k3ts, a dependency of your program for the SDK), name a directory whose node_modules has it in K3TS_RUNTIME_PATH, or pass a path to the plugin's entry file`,
  });
}

export interface SelectRuntimeOptions extends LoadPluginOptions {
  /** The name asked for (e.g. the --runtime flag). Wins over the environment. */
  name?: string;
  env?: Record<string, string | undefined>;
  context?: Partial<RuntimeContext>;
  /** Runtimes to try, in order, when none is named (default {@link BUILTIN_RUNTIMES}). */
  detect?: readonly string[];
  /** Options passed to the plugin's create(). */
  pluginOptions?: Record<string, unknown>;
}

export interface SelectedRuntime {
  runtime: Runtime;
  plugin: RuntimePlugin;
  /** How it was chosen, for messages. */
  reason: "flag" | "env" | "detected";
}

/**
 * Picks a runtime: the name given, else `K3TS_RUNTIME`, else the first built-in whose engine answers.
 * When nothing answers, the error says, per runtime, why.
 */
export async function selectRuntime(options: SelectRuntimeOptions = {}): Promise<SelectedRuntime> {
  const env = options.env ?? process.env;
  const ctx: RuntimeContext = {
    logger: options.context?.logger ?? silentLogger,
    k3tsVersion: options.context?.k3tsVersion ?? "0.0.0",
    env,
    ...(options.context?.signal ? { signal: options.context.signal } : {}),
  };
  options = {
    ...options,
    searchDirs: options.searchDirs ?? runtimeSearchDirs(env, options.cwd),
    onLoaded: options.onLoaded ?? ((name, url) => ctx.logger.debug(`runtime plugin ${name} loaded from ${url}`)),
  };
  const named = options.name ?? env.K3TS_RUNTIME;
  if (named) {
    const plugin = await loadRuntimePlugin(named, options);
    const runtime = validateRuntime(await plugin.create(ctx, options.pluginOptions), plugin);
    return { runtime, plugin, reason: options.name ? "flag" : "env" };
  }
  const reasons: string[] = [];
  for (const name of options.detect ?? BUILTIN_RUNTIMES) {
    let plugin: RuntimePlugin;
    try {
      plugin = await loadRuntimePlugin(name, options);
    } catch (err) {
      if (!isK3tsError(err, "PLUGIN_NOT_FOUND")) throw err;
      reasons.push(`${name}: not installed`);
      continue;
    }
    const availability = await plugin.isAvailable(ctx).catch((err: unknown) => ({
      available: false,
      reason: (err as Error).message,
      endpoint: undefined,
    }));
    if (availability.available) {
      ctx.logger.debug(`runtime ${name} detected`, { endpoint: availability.endpoint });
      return { runtime: validateRuntime(await plugin.create(ctx, options.pluginOptions), plugin), plugin, reason: "detected" };
    }
    reasons.push(`${name}: ${availability.reason ?? "not reachable"}${availability.endpoint ? ` (${availability.endpoint})` : ""}`);
  }
  throw new K3tsError("RUNTIME_UNAVAILABLE", `no container runtime is reachable:\n  ${reasons.join("\n  ")}`, {
    meta: { reasons },
    hint: "start Docker or Podman, or name one with --runtime / K3TS_RUNTIME",
  });
}
