/** Schema validation with ajv, its errors turned into k3ts problems: JSON pointer, place, plain message. */
import type { ErrorObject, ValidateFunction } from "ajv";
import type AjvType from "ajv";
import { ajv as loadAjv } from "../cluster/deps.js";
import type { JsonSchema } from "./schema.js";
import type { ConfigProblem } from "./types.js";
import { childPointer, type ParsedYaml } from "./yaml.js";

const cache = new WeakMap<JsonSchema, ValidateFunction>();
let ajv: AjvType | undefined;

function compile(schema: JsonSchema): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    ajv ??= (() => {
      const { Ajv, addFormats } = loadAjv();
      return addFormats(new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true }), ["hostname", "ipv4"]);
    })();
    fn = ajv.compile(schema);
    cache.set(schema, fn);
  }
  return fn;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest of `known` to `word`, if close enough to be a typo. */
export function suggest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(word, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** A short description of a value for messages: `string "abc"`, `number 3`, `a list`. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

const TYPE_WORDS: Record<string, string> = {
  integer: "a whole number",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  array: "a list",
  object: "a mapping",
};

function problemFor(e: ErrorObject, parsed: ParsedYaml): ConfigProblem {
  const at = (path: string, key = false): ConfigProblem => ({ path, ...parsed.locate(path, key), message: "" });
  switch (e.keyword) {
    case "additionalProperties": {
      const field = String((e.params as { additionalProperty: string }).additionalProperty);
      const known = Object.keys(((e.parentSchema as JsonSchema | undefined)?.properties as object | undefined) ?? {});
      const guess = suggest(field, known);
      const p = at(childPointer(e.instancePath, field), true);
      return { ...p, message: `unknown field ${JSON.stringify(field)}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ""}; want one of ${known.join(", ")}` };
    }
    case "required": {
      const field = String((e.params as { missingProperty: string }).missingProperty);
      return { ...at(e.instancePath), path: childPointer(e.instancePath, field), message: `missing required field ${JSON.stringify(field)}` };
    }
    case "type": {
      const want = String((e.params as { type: string | string[] }).type);
      const hint = want === "string" && typeof e.data === "number" ? ' (quote it, e.g. "6443")' : "";
      const words = want.split(",").map((t) => TYPE_WORDS[t] ?? t);
      return { ...at(e.instancePath), message: `want ${words.length > 1 ? `${words.slice(0, -1).join(", ")} or ${words.at(-1)}` : words[0]}, got ${describe(e.data)}${hint}` };
    }
    case "const":
      return { ...at(e.instancePath), message: `want ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}, got ${describe(e.data)}` };
    case "enum":
      return { ...at(e.instancePath), message: `want one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(", ")}, got ${describe(e.data)}` };
    case "minimum":
    case "maximum": {
      const limit = (e.params as { limit: number }).limit;
      return { ...at(e.instancePath), message: `${e.keyword === "minimum" ? `must be at least ${limit}` : `must be at most ${limit}`}, got ${describe(e.data)}` };
    }
    case "minItems": {
      const limit = (e.params as { limit: number }).limit;
      const description = (e.parentSchema as JsonSchema | undefined)?.description;
      return { ...at(e.instancePath), message: `want at least ${limit} item${limit === 1 ? "" : "s"}${typeof description === "string" ? ` (${description})` : ""}` };
    }
    case "pattern": {
      const description = (e.parentSchema as JsonSchema | undefined)?.description;
      return { ...at(e.instancePath), message: `${describe(e.data)} is not valid${typeof description === "string" ? ` (want ${description})` : ` (want ${(e.params as { pattern: string }).pattern})`}` };
    }
    case "minLength":
      return { ...at(e.instancePath), message: "must not be empty" };
    case "format":
      return { ...at(e.instancePath), message: `${describe(e.data)} is not a valid ${(e.params as { format: string }).format}${(e.params as { format: string }).format === "ipv4" ? " address" : ""}` };
    default:
      return { ...at(e.instancePath), message: e.message ?? e.keyword };
  }
}

/** Every way `value` breaks `schema`, placed in the file. */
export function schemaProblems(schema: JsonSchema, value: unknown, parsed: ParsedYaml): ConfigProblem[] {
  const validate = compile(schema);
  if (validate(value)) return [];
  const seen = new Set<string>();
  return (validate.errors ?? [])
    .map((e) => problemFor(e, parsed))
    .filter((p) => {
      const key = `${p.path}\u0000${p.message}`;
      return seen.has(key) ? false : (seen.add(key), true);
    });
}
