import { readFileSync } from "node:fs";
import { DEFAULT_CLUSTER_NAME, K3tsError, defaultClusterSpec, mergeSpec, type ClusterSpec, type ClusterSpecInput } from "@k3ts/core";
import {
  FILTERED_OPTIONS,
  FILTERED_OPTION_NAMES,
  SWITCH_OPTIONS,
  SWITCH_OPTION_NAMES,
  VALUE_OPTION_NAMES,
  parseApiPort,
  parseDuration,
  parseHostAlias,
  parseHostImagesMirror,
  parseMemory,
  parseRegistriesConfig,
  parseRegistryCreate,
  readFilteredString,
  specField,
  specFromEnvironment,
  validateClusterName,
  valueRow,
  type FilteredOption,
  type ValueOption,
  type ValueRow,
} from "@k3ts/core/internal";
import { bool, flagKey, integer, many, one } from "../../flags.js";

/** The `VALUE@FILTER;FILTER` flags (core's table names each option's flag), every error naming the flag and the value. */
function filteredFlags(o: Record<string, unknown>): Pick<ClusterSpecInput, FilteredOption> {
  return Object.fromEntries(
    FILTERED_OPTION_NAMES.map((option) => {
      const flag = FILTERED_OPTIONS[option].flag;
      return [option, many(o[flagKey(flag)]).map((raw) => readFilteredString(option, raw, `${flag} ${raw}`))];
    }),
  );
}

/** A boolean flag only when it was given (`--x`, `--x=false`); undefined otherwise. */
function given(value: unknown, flag: string): boolean | undefined {
  return value === undefined ? undefined : bool(value, flag, true);
}

/**
 * A `--no-x` flag: cac reports x=true when it is absent, so only false (or an explicit `--x=true`/`=false`)
 * counts as given; otherwise the file or the default decides.
 */
function negatable(value: unknown, flag: string): boolean | undefined {
  if (value === undefined || value === true) return undefined;
  return bool(value, flag, true);
}

function defined<T extends object>(o: T): T | undefined {
  const out = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return Object.keys(out).length ? out : undefined;
}

/** One value flag of core's table of value options, read as its kind says; undefined when it was not given. */
function valueFlag(o: Record<string, unknown>, row: ValueRow): unknown {
  const key = flagKey(row.flag);
  if (row.kind === "switch") {
    // A `--no-x` flag: cac reports x=true when it is absent, and only --no-x (or --x=false) turns it off.
    if (row.negated) return o[`no${key[0]!.toUpperCase()}${key.slice(1)}`] === true ? false : negatable(o[key], row.flag);
    return given(o[key], row.flag);
  }
  if (row.kind === "count") return integer(o[key], row.flag, row.min);
  const text = one(o[key], row.flag);
  if (!text) return undefined;
  const where = row.whereHasValue ? `${row.flag} ${text}` : row.flag;
  if (row.kind === "duration") return parseDuration(text, where);
  if (row.kind === "size") return parseMemory(text, where);
  return row.parse ? row.parse(text, where) : text;
}

/** Options whose flags the CLI reads itself: --token-file reads a file. */
const OWN_READERS: Partial<Record<ValueOption, (o: Record<string, unknown>) => unknown>> = { token: tokenInput };

/** The value options' flags (servers … kubeconfig, as core's table names them); an object option only with a field given. */
function valueFlags(o: Record<string, unknown>): ClusterSpecInput {
  return Object.fromEntries(
    VALUE_OPTION_NAMES.map((option) => {
      const row = valueRow(option);
      const own = OWN_READERS[option];
      if (own) return [specField(option), own(o)];
      if (row.kind !== "object") return [specField(option), valueFlag(o, row)];
      return [option, defined(Object.fromEntries(Object.entries(row.fields).map(([field, fieldRow]) => [field, valueFlag(o, fieldRow)])))];
    }),
  );
}

/** `--token` or `--token-file FILE` (its first line); both at once is a usage error. */
function tokenInput(o: Record<string, unknown>): string | undefined {
  const token = one(o.token, "--token");
  const file = one(o.tokenFile, "--token-file");
  if (token !== undefined && file !== undefined) throw new K3tsError("INVALID_ARGUMENT", "--token and --token-file: give the token one way", { meta: { flag: "--token-file" } });
  if (file === undefined) return token || undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new K3tsError("INVALID_ARGUMENT", `--token-file ${file}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { meta: { flag: "--token-file", path: file } });
  }
  const first = text.split(/\r?\n/)[0]!.trim();
  if (!first) throw new K3tsError("INVALID_ARGUMENT", `--token-file ${file}: the file holds no token (its first line is empty)`, { meta: { flag: "--token-file", path: file } });
  return first;
}

/** `--registry-config FILE` read and parsed now, so a bad file is refused naming the flag before anything is made. */
function readRegistriesConfigFile(file: string): void {
  const where = `--registry-config ${file}`;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new K3tsError("INVALID_ARGUMENT", `${where}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { meta: { flag: "--registry-config", path: file } });
  }
  parseRegistriesConfig(text, where);
}

/** `--registry-create`, `--registry-use`, `--registry-config` (k3d's flags, same meanings). */
function registriesInput(o: Record<string, unknown>): ClusterSpecInput["registries"] {
  const create = one(o.registryCreate, "--registry-create");
  const parsed = create ? parseRegistryCreate(create, "--registry-create") : undefined;
  const config = one(o.registryConfig, "--registry-config");
  if (config) readRegistriesConfigFile(config);
  return defined({
    create: parsed ? { name: parsed.name, ...(parsed.hostIP ? { host: parsed.hostIP } : {}), ...(parsed.hostPort ? { hostPort: String(parsed.hostPort) } : {}) } : undefined,
    use: many(o.registryUse).length ? many(o.registryUse) : undefined,
    config: config ? { path: config } : undefined,
  });
}

/** `--host-images[=BOOL]` and `--host-images-mirror REGISTRY`: undefined when neither was given (the file or the default decides). */
function hostImagesInput(o: Record<string, unknown>): ClusterSpecInput["hostImages"] {
  const on = given(o.hostImages, "--host-images");
  const mirrors = many(o.hostImagesMirror).map((m) => parseHostImagesMirror(m, `--host-images-mirror ${m}`));
  if (on === false && mirrors.length) throw new K3tsError("INVALID_ARGUMENT", "--host-images=false and --host-images-mirror: the mirrors need host images on", { meta: { flag: "--host-images-mirror" } });
  if (on === false) return false;
  return on || mirrors.length ? { mirrors: [...new Set(mirrors)] } : undefined;
}

/** What the `cluster create` flags given say (k3d's flag names and meanings); absent flags are left out. */
export function flagsInput(name: string | undefined, o: Record<string, unknown>): ClusterSpecInput {
  if (name !== undefined) validateClusterName(name, "NAME");
  const apiPort = one(o.apiPort, "--api-port");
  const input: ClusterSpecInput = {
    name,
    ...valueFlags(o),
    api: apiPort ? parseApiPort(apiPort, "--api-port") : undefined,
    ...filteredFlags(o),
    ...Object.fromEntries(SWITCH_OPTION_NAMES.map((option) => [option, given(o[flagKey(SWITCH_OPTIONS[option].flag)], SWITCH_OPTIONS[option].flag)])),
    hostAliases: many(o.hostAlias).map((h) => parseHostAlias(h, `--host-alias ${h}`)),
    registries: registriesInput(o),
    hostImages: hostImagesInput(o),
  };
  return defined(input) ?? {};
}

/**
 * The ClusterSpec `k3ts cluster create` builds: flags > environment (K3TS_IMAGE, K3TS_LB_IMAGE) >
 * config file (`--config`) > defaults. Lists from the file and the flags add up.
 */
export function specFromConfig(name: string | undefined, o: Record<string, unknown>, env: Record<string, string | undefined>, file?: ClusterSpecInput): ClusterSpec {
  const spec = mergeSpec(defaultClusterSpec(), file, specFromEnvironment(env), flagsInput(name, o));
  validateClusterName(spec.name ?? DEFAULT_CLUSTER_NAME, "NAME");
  return spec;
}

/** The ClusterSpec the `cluster create` flags alone describe (no config file). */
export function specFromFlags(name: string | undefined, o: Record<string, unknown>, env: Record<string, string | undefined>): ClusterSpec {
  return specFromConfig(name, o, env);
}
