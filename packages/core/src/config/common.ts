/** What both formats share: collecting problems and notices, typed reads of plain data, node filters. */
import { isK3tsError } from "../errors.js";
import { parseNodeFilter, selectNodes, type ParsedNodeFilter } from "../cluster/filters.js";
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
