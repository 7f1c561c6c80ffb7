/**
 * Reading a config file's YAML: one document, parsed with positions, turned into plain data with
 * every value's (and key's) line and column kept by JSON pointer, environment variables expanded per
 * scalar (see expand.ts). Syntax errors and duplicate keys come back as problems with their places.
 */
import type { Document, LineCounter, Node, Scalar } from "yaml";
import { yaml } from "../cluster/deps.js";
import { expandBraces, expandGoEnv } from "./expand.js";
import type { ConfigProblem } from "./types.js";

export type Expansion = "go" | "braces" | "none";

export interface Position {
  line: number;
  column: number;
}

export interface ParsedYaml {
  /** The document as plain data (undefined when it had syntax errors). */
  value: unknown;
  problems: ConfigProblem[];
  /** Where the value at `pointer` is (or its key, with `key`), else its nearest located ancestor. */
  locate(pointer: string, key?: boolean): Position;
  /** How a string scalar was written (`BLOCK_LITERAL`, `PLAIN`, `QUOTE_DOUBLE` …), by pointer. */
  scalarType(pointer: string): string | undefined;
}

/** RFC 6901 escaping of one pointer segment. */
export function pointerSegment(key: string | number): string {
  return String(key).replace(/~/g, "~0").replace(/\//g, "~1");
}

export function childPointer(pointer: string, key: string | number): string {
  return `${pointer}/${pointerSegment(key)}`;
}

function parentPointer(pointer: string): string | undefined {
  if (pointer === "") return undefined;
  return pointer.slice(0, pointer.lastIndexOf("/"));
}

/**
 * How many values a document may expand to. Aliases repeat what they name, so a few hundred bytes of
 * nested aliases (an "alias bomb") can stand for billions of values; a k3ts config has a few hundred.
 */
export const MAX_YAML_VALUES = 100_000;

/** Thrown (and turned into one problem) when a document expands past MAX_YAML_VALUES. */
class TooLarge extends Error {}

/** How many values `node` stands for with its aliases expanded (capped just past MAX_YAML_VALUES), in one pass over the tree. */
function expandedSize(doc: Document, node: unknown, sizes: Map<unknown, number>, depth = 0): number {
  if (node === null || node === undefined) return 0;
  if (yaml().isAlias(node)) {
    const target = node.resolve(doc);
    if (depth > 50 || target === undefined) return 1;
    let size = sizes.get(target);
    if (size === undefined) {
      size = expandedSize(doc, target, sizes, depth + 1);
      sizes.set(target, size);
    }
    return size;
  }
  let total = 1;
  const add = (n: number) => {
    total = Math.min(total + n, MAX_YAML_VALUES + 1);
  };
  if (yaml().isMap(node)) for (const pair of node.items) add(expandedSize(doc, pair.value, sizes, depth));
  else if (yaml().isSeq(node)) for (const item of node.items) add(expandedSize(doc, item, sizes, depth));
  return total;
}

/** Where the document's first alias is (for the message). */
function firstAlias(doc: Document, lines: LineCounter): Position | undefined {
  let found: number | undefined;
  yaml().visit(doc, {
    Alias(_key, node) {
      found = node.range?.[0];
      return yaml().visit.BREAK;
    },
  });
  if (found === undefined) return undefined;
  const { line, col } = lines.linePos(found);
  return { line, column: col };
}

class Reader {
  /** Values produced so far (aliases count each time they are expanded). */
  private produced = 0;
  /** Where the first alias was, for the message. */
  firstAlias: Position | undefined;
  readonly values = new Map<string, Position>();
  readonly keys = new Map<string, Position>();
  readonly types = new Map<string, string>();
  readonly problems: ConfigProblem[] = [];

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly expansion: Expansion,
    private readonly env: Record<string, string | undefined>,
  ) {}

  pos(offset: number | undefined): Position {
    if (offset === undefined) return { line: 0, column: 0 };
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  node(node: unknown, pointer: string, depth = 0): unknown {
    if (node === null || node === undefined) return null;
    if (++this.produced > MAX_YAML_VALUES) throw new TooLarge();
    if (yaml().isAlias(node)) {
      this.firstAlias ??= this.pos(node.range?.[0]);
      return depth > 50 ? null : this.node(node.resolve(this.doc), pointer, depth + 1);
    }
    const n = node as Node;
    if (!this.values.has(pointer)) this.values.set(pointer, this.pos(n.range?.[0]));
    if (yaml().isMap(n)) return this.map(n.items, pointer, depth);
    if (yaml().isSeq(n)) return n.items.map((item, i) => this.node(item, childPointer(pointer, i), depth));
    if (yaml().isScalar(n)) return this.scalar(n, pointer);
    return null;
  }

  private map(items: Array<{ key: unknown; value: unknown }>, pointer: string, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const pair of items) {
      const keyNode = pair.key as Node | null;
      const key = yaml().isScalar(keyNode) ? String(keyNode.value) : undefined;
      const keyPos = this.pos(keyNode?.range?.[0]);
      if (key === undefined) {
        this.problems.push({ path: pointer, ...keyPos, message: "keys must be plain strings" });
        continue;
      }
      const ptr = childPointer(pointer, key);
      if (Object.prototype.hasOwnProperty.call(out, key)) {
        const first = this.keys.get(ptr);
        this.problems.push({ path: ptr, ...keyPos, message: `duplicate key ${JSON.stringify(key)} (first at line ${first?.line ?? "?"})` });
        continue;
      }
      this.keys.set(ptr, keyPos);
      if (pair.value === null || pair.value === undefined) this.values.set(ptr, keyPos);
      out[key] = this.node(pair.value, ptr, depth);
    }
    return out;
  }

  private scalar(n: Scalar, pointer: string): unknown {
    if (typeof n.value !== "string") return n.value;
    if (n.type) this.types.set(pointer, n.type);
    const text = n.value;
    if (this.expansion === "none" || !text.includes("$")) return text;
    if (this.expansion === "braces") {
      const { value, missing } = expandBraces(text, this.env);
      for (const name of missing) {
        this.problems.push({ path: pointer, ...this.values.get(pointer)!, message: `environment variable ${name} is not set (write $$ for a literal $)` });
      }
      return this.retype(n, text, value);
    }
    return this.retype(n, text, expandGoEnv(text, this.env));
  }

  /** An unquoted scalar that changed under expansion is read again, so `${N}` can be a number. */
  private retype(n: Scalar, before: string, after: string): unknown {
    if (after === before || n.type !== yaml().Scalar.PLAIN) return after;
    try {
      const again: unknown = yaml().parse(after);
      return again !== null && typeof again === "object" ? after : again;
    } catch {
      return after;
    }
  }
}

/** The deepest node of `doc` whose range holds `offset`, as a JSON pointer (for syntax errors). */
function pointerAt(doc: Document, offset: number): string {
  let pointer = "";
  let node: unknown = doc.contents;
  for (let guard = 0; guard < 100; guard++) {
    let next: { node: unknown; key: string | number } | undefined;
    if (yaml().isMap(node)) {
      for (const pair of node.items) {
        const k = pair.key as Node | null;
        const v = pair.value as Node | null;
        const start = k?.range?.[0] ?? v?.range?.[0] ?? 0;
        const end = v?.range?.[2] ?? k?.range?.[2] ?? 0;
        if (offset >= start && offset <= end && yaml().isScalar(k)) next = { node: v, key: String(k.value) };
      }
    } else if (yaml().isSeq(node)) {
      node.items.forEach((item, i) => {
        const r = (item as Node | null)?.range;
        if (r && offset >= r[0] && offset <= r[2]) next = { node: item, key: i };
      });
    }
    if (!next) break;
    pointer = childPointer(pointer, next.key);
    node = next.node;
  }
  return pointer;
}

/** Parses one YAML document with positions; see {@link ParsedYaml}. */
export function readYaml(text: string, options: { expansion?: Expansion; env?: Record<string, string | undefined>; pickExpansion?: (doc: Document) => Expansion } = {}): ParsedYaml {
  const lines = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: false, strict: true });
  const env = options.env ?? {};
  const expansion = options.pickExpansion ? options.pickExpansion(doc) : (options.expansion ?? "none");
  const reader = new Reader(doc, lines, expansion, env);
  const syntax = doc.errors.map((e): ConfigProblem => {
    const [line, column] = e.linePos?.[0] ? [e.linePos[0].line, e.linePos[0].col] : [0, 0];
    const message = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    return { path: pointerAt(doc, e.pos[0]), line, column, message: `YAML syntax: ${message}` };
  });
  const locate = (pointer: string, key = false): Position => {
    for (let p: string | undefined = pointer; p !== undefined; p = parentPointer(p)) {
      const found = (key && p === pointer ? reader.keys.get(p) : undefined) ?? reader.values.get(p);
      if (found) return found;
    }
    return { line: 1, column: 1 };
  };
  if (syntax.length) return { value: undefined, problems: syntax, locate, scalarType: () => undefined };
  let value: unknown;
  try {
    // Counted on the syntax tree first (each anchor's size once), so an alias bomb is refused without
    // building any of what it stands for.
    if (expandedSize(doc, doc.contents, new Map()) > MAX_YAML_VALUES) throw new TooLarge();
    value = reader.node(doc.contents, "");
  } catch (err) {
    if (!(err instanceof TooLarge)) throw err;
    const at = reader.firstAlias ?? firstAlias(doc, lines) ?? { line: 1, column: 1 };
    const problem = { path: "", ...at, message: `the document expands to more than ${MAX_YAML_VALUES} values through its aliases (*name); refused (an alias bomb, or a document far larger than a k3ts config)` };
    return { value: undefined, problems: [problem], locate, scalarType: () => undefined };
  }
  return { value, problems: reader.problems, locate, scalarType: (p) => reader.types.get(p) };
}
