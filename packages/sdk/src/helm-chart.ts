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
      // Read as Helm reads `-f` files: YAML 1.1 (sigs.k8s.io/yaml over go-yaml v2), where a plain yes is true.
      const { parseDocument } = await import("yaml");
      const doc = parseDocument(text, { version: "1.1" });
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

/**
 * `spec.valuesContent` for values: YAML that Helm, which reads values as YAML 1.1, reads back as exactly
 * these values (a string `yes`, `on`, `0755` or `1_000`, as a value or as a key, is quoted: plain, 1.1
 * would make it a boolean or a number).
 */
export async function valuesContent(values: HelmValues): Promise<string> {
  const { stringify } = await import("yaml");
  return stringify(values, { version: "1.1" });
}

/** `set` → HelmChart `spec.set` (IntOrString: integers stay numbers, everything else is a string). */
export function setValues(set: Record<string, unknown> | undefined, where = "set"): Record<string, string | number> | undefined {
  if (set === undefined) return undefined;
  if (!isMap(set)) throw invalid(where, "want a mapping of KEY: value");
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(set)) {
    if (typeof v === "number" && Number.isInteger(v)) {
      // hc decodes set into intstr.IntOrString, whose number is an int32: a larger one fails the whole chart.
      if (v < -(2 ** 31) || v >= 2 ** 31) throw invalid(`${where}.${k}`, `${v} does not fit the int32 the helm-controller decodes set numbers into; give it as a string ("${v}", passed to helm as --set-string) or in values`);
      out[k] = v;
    }
    else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[k] = String(v);
    else throw invalid(`${where}.${k}`, `${JSON.stringify(v)} is not a string, number or boolean`);
  }
  return out;
}

/** Go's filepath.Match pattern as a RegExp: `*` and `?` never cross `/`, `[...]`/`[^...]` classes, `\\` escapes. */
function globRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "\\" && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close < 0) throw invalid(".helmignore", `${pattern}: syntax error in pattern (a [ without its ])`);
      const body = pattern.slice(i + 1, close);
      re += `[${body.startsWith("^") ? `^/${body.slice(1)}` : body}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * .helmignore as Helm applies it (helm `pkg/ignore/rules.go`), the file's rules then Helm's default
 * `templates/.?*` (`AddDefaults`): in order, the first positive rule that matches ignores the path; a
 * `!` rule ignores every path it does NOT match (and lets a matching one go on to the next rule); `dir/`
 * rules apply to directories only; a rule with a `/` matches the whole relative path (a leading `/`
 * anchors it), one without matches the base name. `**` is refused, as Helm refuses it.
 */
export function helmIgnore(text: string): (rel: string, isDir: boolean) => boolean {
  const rules = [...text.split("\n"), "templates/.?*"]
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((raw) => {
      if (raw.includes("**")) throw invalid(".helmignore", `${raw}: double-star (**) syntax is not supported`);
      let rule = raw;
      const negate = rule.startsWith("!");
      if (negate) rule = rule.slice(1);
      const mustDir = rule.endsWith("/");
      if (mustDir) rule = rule.slice(0, -1);
      const whole = rule.includes("/");
      const re = globRegExp(rule.replace(/^\//, ""));
      return { negate, mustDir, match: (rel: string) => re.test(whole ? rel : rel.split("/").pop()!) };
    });
  return (rel, isDir) => {
    for (const r of rules) {
      if (r.negate) {
        if ((r.mustDir && !isDir) || !r.match(rel)) return true;
        continue;
      }
      if (r.mustDir && !isDir) continue;
      if (r.match(rel)) return true;
    }
    return false;
  };
}

/** True when `path` is a directory with a Chart.yaml. */
export async function isChartDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(join(path, "Chart.yaml"))).isFile();
  } catch {
    return false;
  }
}

/** Packages a chart directory into a .tgz (entries under `<name>/`, as `helm package` lays them out; .git is never packaged). */
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
  let ignoreText = "";
  try {
    ignoreText = await readFile(join(dir, ".helmignore"), "utf8");
  } catch {
    // no .helmignore: Helm's default rule alone
  }
  const ignored = helmIgnore(ignoreText);
  const files: Array<{ rel: string; mode: number }> = [];
  const walk = async (at: string): Promise<void> => {
    const entries = (await readdir(at, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const full = join(at, e.name);
      const rel = relative(dir, full).split("\\").join("/");
      if (e.name === ".git" || ignored(rel, e.isDirectory())) continue;
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) files.push({ rel, mode: (await stat(full)).mode & 0o777 });
    }
  };
  await walk(dir);
  const tar = await import("tar-stream");
  const pack = tar.pack();
  const mtime = new Date(0);
  // Read while writing: an entry's callback waits until the archive was read past it (backpressure),
  // so collecting only after the last entry would never finish for files past the stream's buffer.
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  for (const f of files) {
    const body = await readFile(join(dir, f.rel));
    await new Promise<void>((ok, fail) => pack.entry({ name: `${name}/${f.rel}`, mode: f.mode || 0o644, size: body.length, mtime }, body, (err) => (err ? fail(err) : ok())));
  }
  pack.finalize();
  await collected;
  return { name, version: String(chart.version ?? ""), tgz: gzipSync(Buffer.concat(chunks)) };
}
