/** What both formats share: collecting problems and notices, typed reads of plain data, node filters. */
import { isK3tsError } from "../errors.js";
import { parseNodeFilter, selectNodes, type ParsedNodeFilter } from "../cluster/filters.js";
import { parseDuration, parseMemory } from "../cluster/parse.js";
import { VALUE_OPTION_NAMES, specField, valueRow, type ValueOption, type ValueRow } from "../cluster/value-options.js";
import type { Filtered } from "../cluster/spec.js";
import type { ConfigNotice, ConfigProblem } from "./types.js";
import { childPointer, type ParsedYaml } from "./yaml.js";

/** Collects problems and notices; `original` maps a pointer in migrated data back to the file as written. */
export class Collector {
  readonly problems: ConfigProblem[] = [];
  readonly notices: ConfigNotice[] = [];

  constructor(
    readonly parsed: ParsedYaml,
    readonly original: (pointer: string) => string = (p) => p,
  ) {}

  problem(pointer: string, message: string, key = false): void {
    const path = this.original(pointer);
    this.problems.push({ path, ...this.parsed.locate(path, key), message });
  }

  notice(pointer: string, reason: string): void {
    this.notices.push({ path: this.original(pointer), reason });
  }

  /** Runs one of core's parsers; its INVALID_ARGUMENT becomes a problem at `pointer` (message without the `where:` prefix). */
  attempt<T>(pointer: string, parse: (where: string) => T): T | undefined {
    try {
      return parse(pointer);
    } catch (err) {
      if (!isK3tsError(err, "INVALID_ARGUMENT")) throw err;
      const message = err.message.startsWith(`${pointer}: `) ? err.message.slice(pointer.length + 2) : err.message;
      this.problem(pointer, err.hint ? `${message} (${err.hint})` : message);
      return undefined;
    }
  }
}

/** Plain data as a record (anything else: empty; the schema has already reported it). */
export function rec(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function int(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) ? value : undefined;
}

export function bool(value: unknown): boolean | undefined {
  return typeof value === "boolean" ? value : undefined;
}

export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * One value of core's table of value options, as a config file holds it at `pointer` (read with the row's kind;
 * a value of the wrong type is left out: the schema has already reported it).
 */
export function readValue(c: Collector, row: ValueRow, raw: unknown, pointer: string, format: "k3ts" | "k3d"): unknown {
  switch (row.kind) {
    case "count": {
      const n = int(raw);
      return n !== undefined && n >= (row.min ?? 0) ? n : undefined;
    }
    case "text": {
      const text = str(raw);
      if (!text) return undefined;
      return row.fileRead ? row.fileRead(c, text, pointer, format) : text;
    }
    case "duration": {
      const text = str(raw);
      return text === undefined ? undefined : c.attempt(pointer, (where) => parseDuration(text, where));
    }
    case "size": {
      const text = str(raw);
      // k3d reads an empty size as none (Go's zero value); k3ts's own format refuses it.
      if (text === undefined || (text === "" && format === "k3d")) return undefined;
      return c.attempt(pointer, (where) => parseMemory(text, where));
    }
    case "switch": {
      const on = bool(raw);
      return on !== undefined && format === "k3d" && row.k3d?.invert ? !on : on;
    }
  }
}

/**
 * Every option of core's table of value options that a config file says, in the table's order: `at` finds a
 * value row's raw value and its pointer (undefined where the format has no such field). An object option is set
 * when one of its fields is.
 */
export function readValueOptions(c: Collector, format: "k3ts" | "k3d", at: (option: ValueOption, row: ValueRow, field?: string) => { raw: unknown; pointer: string } | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const one = (option: ValueOption, row: ValueRow, field?: string): unknown => {
    const found = at(option, row, field);
    return found === undefined ? undefined : readValue(c, row, found.raw, found.pointer, format);
  };
  for (const option of VALUE_OPTION_NAMES) {
    const row = valueRow(option);
    if (row.kind !== "object") {
      const value = one(option, row);
      if (value !== undefined) out[specField(option)] = value;
      continue;
    }
    const fields = Object.fromEntries(Object.entries(row.fields).map(([field, fieldRow]) => [field, one(option, fieldRow, field)]).filter(([, v]) => v !== undefined));
    if (Object.keys(fields).length) out[option] = fields;
  }
  return out;
}

/** A value at a path of fields (`["options", "k3d", "wait"]`), undefined where a step is missing. */
export function atPath(data: Record<string, unknown>, path: readonly string[]): unknown {
  return path.reduce<unknown>((at, key) => rec(at)[key], data);
}

/** A filtered item read from a file, with where it was (for the node-count checks). */
export interface FilteredEntry<T> extends Filtered<T> {
  pointer: string;
  filters: ParsedNodeFilter[];
}

/**
 * Reads `[{ FIELD: value, nodeFilters: [...] }]` at `pointer`: each value through `parse`, each filter
 * through core's parseNodeFilter (ports allow the proxy/direct suffixes). Bad items are reported and left out.
 */
export function readFiltered<T>(
  c: Collector,
  items: unknown,
  pointer: string,
  field: string,
  parse: (text: string, where: string) => T,
  suffixes?: readonly string[],
): Array<FilteredEntry<T>> {
  const out: Array<FilteredEntry<T>> = [];
  arr(items).forEach((raw, i) => {
    const item = rec(raw);
    const itemPointer = childPointer(pointer, i);
    const text = str(item[field]);
    if (text === undefined) return;
    const value = c.attempt(childPointer(itemPointer, field), (where) => parse(text, where));
    const filtersPointer = childPointer(itemPointer, "nodeFilters");
    let ok = value !== undefined;
    const filters: ParsedNodeFilter[] = [];
    arr(item.nodeFilters).forEach((f, j) => {
      if (typeof f !== "string") return;
      const parsed = c.attempt(childPointer(filtersPointer, j), (where) => parseNodeFilter(f, where, suffixes ? { suffixes } : {}));
      if (parsed) filters.push(parsed);
      else ok = false;
    });
    if (ok) out.push({ value: value as T, filters, pointer: itemPointer });
  });
  return out;
}

export interface NodeCounts {
  servers: number;
  agents: number;
  loadBalancer: boolean;
}

type Slot = { role: "server" | "agent" | "loadbalancer"; index: number };

function slots(n: NodeCounts): Slot[] {
  return [
    ...Array.from({ length: n.servers }, (_, index) => ({ role: "server" as const, index })),
    ...Array.from({ length: n.agents }, (_, index) => ({ role: "agent" as const, index })),
    ...(n.loadBalancer ? [{ role: "loadbalancer" as const, index: 0 }] : []),
  ];
}

/** Each filter must select nodes the file's cluster has (core's selectNodes says why not). */
export function checkSelections(c: Collector, entries: ReadonlyArray<FilteredEntry<unknown>>, counts: NodeCounts): void {
  const nodes = slots(counts);
  for (const entry of entries) {
    entry.filters.forEach((filter, j) => {
      c.attempt(childPointer(childPointer(entry.pointer, "nodeFilters"), j), (where) => selectNodes([filter], nodes, where));
    });
  }
}

/** An item without node filters where the cluster has more nodes than `limit`: `what` names the setting. */
export function requireFilters(c: Collector, entries: ReadonlyArray<FilteredEntry<unknown>>, nodes: number, field: string, why: string): void {
  for (const entry of entries) {
    if (entry.filters.length > 0 || nodes <= 1) continue;
    c.problem(childPointer(entry.pointer, field), `needs nodeFilters: ${why} (e.g. nodeFilters: [server:0] or [agent:*])`);
  }
}

/** Drops the `pointer` bookkeeping. */
export function plain<T>(entries: ReadonlyArray<FilteredEntry<T>>): Array<Filtered<T>> {
  return entries.map(({ value, filters }) => ({ value, filters }));
}
