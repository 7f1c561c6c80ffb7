/**
 * What a HelmChart (helm.cattle.io/v1) is made of: a local chart directory packaged as helm
 * packages it (a gzipped tar of `<chart name>/…`), deterministic (fixed times, sorted entries) so
 * the same directory gives the same `spec.chartContent` and a second `up` changes nothing; values
 * (objects and YAML files) merged in order as Helm merges `-f` files (maps deep, everything else
 * replaced) into `spec.valuesContent`; `set` into `spec.set`.
 */
import { readFile, readdir, stat } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { K3tsError } from "@k3ts/core";

export type HelmValues = Record<string, unknown>;

function invalid(where: string, message: string): K3tsError<"INVALID_ARGUMENT"> {
  return new K3tsError("INVALID_ARGUMENT", `${where}: ${message}`, { meta: { where } });
}

const isMap = (v: unknown): v is HelmValues => typeof v === "object" && v !== null && !Array.isArray(v);

/** `b` over `a`: maps merge key by key, recursively; anything else in `b` replaces. */
export function mergeValues(a: HelmValues, b: HelmValues): HelmValues {
  const out: HelmValues = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isMap(out[k]) && isMap(v) ? mergeValues(out[k], v) : v;
  return out;
}

/** Values objects and YAML files (paths, relative to `cwd`), merged in order; `where` names the option in errors. */
export async function loadValues(values: ReadonlyArray<HelmValues | string>, cwd: string, where = "values"): Promise<HelmValues> {
  if (!Array.isArray(values)) throw invalid(where, "want a list of values objects and values file paths");
  let merged: HelmValues = {};
  for (const [i, v] of values.entries()) {
    if (typeof v === "string") {
      const path = resolve(cwd, v);
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (err) {
        throw new K3tsError("FILE_NOT_FOUND", `${where}[${i}]: cannot read values file ${v}: ${(err as Error).message}`, { meta: { where: `${where}[${i}]`, file: v }, cause: err });
      }
      const { parseDocument } = await import("yaml");
      const doc = parseDocument(text);
      if (doc.errors.length) throw invalid(`${v}:${doc.errors[0]!.linePos?.[0]?.line ?? 1}`, `not valid YAML: ${doc.errors[0]!.message.split("\n")[0]}`);
      const data: unknown = doc.toJS();
      if (data === null || data === undefined) continue;
      if (!isMap(data)) throw invalid(v, "a values file must be a mapping");
      merged = mergeValues(merged, data);
    } else if (isMap(v)) merged = mergeValues(merged, v);
    else throw invalid(`${where}[${i}]`, `${JSON.stringify(v)} is neither a values object nor a file path`);
  }
  return merged;
}

/** `set` → HelmChart `spec.set` (IntOrString: integers stay numbers, everything else is a string). */
export function setValues(set: Record<string, unknown> | undefined, where = "set"): Record<string, string | number> | undefined {
  if (set === undefined) return undefined;
  if (!isMap(set)) throw invalid(where, "want a mapping of KEY: value");
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(set)) {
    if (typeof v === "number" && Number.isInteger(v)) out[k] = v;
    else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[k] = String(v);
    else throw invalid(`${where}.${k}`, `${JSON.stringify(v)} is not a string, number or boolean`);
  }
  return out;
}

/** A .helmignore line → a test on a path relative to the chart (name globs, `dir/`, `#` comments). */
function ignoreRules(text: string): Array<(rel: string, dir: boolean) => boolean> {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#") && !l.startsWith("!"))
    .map((pattern) => {
      const dirOnly = pattern.endsWith("/");
      const p = dirOnly ? pattern.slice(0, -1) : pattern;
      const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`);
      return (rel: string, dir: boolean) => (!dirOnly || dir) && (re.test(rel) || re.test(rel.split("/").pop()!));
    });
}

/** True when `path` is a directory with a Chart.yaml. */
export async function isChartDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(join(path, "Chart.yaml"))).isFile();
  } catch {
    return false;
  }
}

/** Packages a chart directory into a .tgz (entries under `<name>/`, as `helm package` lays them out). */
export async function packageChart(dir: string): Promise<{ name: string; version: string; tgz: Buffer }> {
  const { parse } = await import("yaml");
  let chart: { name?: unknown; version?: unknown };
  try {
    chart = (parse(await readFile(join(dir, "Chart.yaml"), "utf8")) ?? {}) as typeof chart;
  } catch (err) {
    throw new K3tsError("INVALID_ARGUMENT", `${dir}: not a chart directory (Chart.yaml: ${(err as Error).message})`, { meta: { where: dir }, cause: err });
  }
  if (typeof chart.name !== "string" || !chart.name) throw invalid(join(dir, "Chart.yaml"), "name is missing");
  const name = chart.name;
  let ignore: Array<(rel: string, dir: boolean) => boolean> = [];
  try {
    ignore = ignoreRules(await readFile(join(dir, ".helmignore"), "utf8"));
  } catch {
    // no .helmignore
  }
  const files: Array<{ rel: string; mode: number }> = [];
  const walk = async (at: string): Promise<void> => {
    const entries = (await readdir(at, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const full = join(at, e.name);
      const rel = relative(dir, full).split("\\").join("/");
      if (e.name === ".git" || ignore.some((t) => t(rel, e.isDirectory()))) continue;
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) files.push({ rel, mode: (await stat(full)).mode & 0o777 });
    }
  };
  await walk(dir);
  const tar = await import("tar-stream");
  const pack = tar.pack();
  const mtime = new Date(0);
  for (const f of files) {
    const body = await readFile(join(dir, f.rel));
    await new Promise<void>((ok, fail) => pack.entry({ name: `${name}/${f.rel}`, mode: f.mode || 0o644, size: body.length, mtime }, body, (err) => (err ? fail(err) : ok())));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return { name, version: String(chart.version ?? ""), tgz: gzipSync(Buffer.concat(chunks)) };
}
