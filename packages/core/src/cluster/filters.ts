/**
 * Node filters: k3d's `VALUE@FILTER[;FILTER...]` flag syntax, the `GROUP[:SUBSET][:SUFFIX]` filter
 * grammar, and selecting nodes with parsed filters. Pure functions; errors are INVALID_ARGUMENT
 * K3tsErrors whose message starts with `where`.
 */
import { K3tsError } from "../errors.js";
import type { NodeFilter, NodeGroup } from "./spec.js";

/**
 * A {@link NodeFilter} as {@link parseNodeFilter} returns it. `from` carries an open-ended range
 * (`1-`): the filter also selects every index >= from, resolved by {@link selectNodes}, which knows
 * how many nodes the group has. (Assignable to NodeFilter; the field belongs in spec.ts.)
 */
export interface ParsedNodeFilter extends NodeFilter {
  from?: number;
}

const FILTER_FORMS =
  "server[:SUBSET], agent[:SUBSET], loadbalancer or all, where SUBSET is *, an index (0), a list (1,3,5) or a range (2-4, -2, 1-)";

function invalid(where: string, value: string, message: string, hint?: string): K3tsError<"INVALID_ARGUMENT"> {
  return new K3tsError("INVALID_ARGUMENT", `${where}: ${message}`, { meta: { where, value }, ...(hint ? { hint } : {}) });
}

/**
 * Splits k3d's `VALUE@FILTER[;FILTER...]`. Only one unescaped `@` is allowed; `\@` is a literal `@`;
 * `\\@` is a literal backslash followed by the separator. Filters are separated by `;` (surrounding
 * whitespace ignored); empty filters are rejected. Without `@`, `filters` is empty.
 */
export function splitFilters(value: string, where: string): { value: string; filters: string[] } {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === "\\" && value[i + 1] === "\\" && value[i + 2] === "@") {
      current += "\\";
      i += 1; // the next iteration sees the '@' as a separator
    } else if (c === "\\" && value[i + 1] === "@") {
      current += "@";
      i += 1;
    } else if (c === "@") {
      parts.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  parts.push(current);

  const [head = "", filterText] = parts;
  if (parts.length > 2) {
    throw invalid(
      where,
      value,
      `${JSON.stringify(value)} has more than one "@" (want VALUE@FILTER[;FILTER...]; write a literal @ as \\@)`,
    );
  }
  if (filterText === undefined) return { value: head, filters: [] };
  if (filterText.trim() === "") {
    throw invalid(
      where,
      value,
      `${JSON.stringify(value)} ends with "@" but names no node filter (want VALUE@FILTER, e.g. @server:0; write a literal @ as \\@)`,
    );
  }
  const filters = filterText.split(";").map((f) => f.trim());
  if (filters.some((f) => f === "")) {
    throw invalid(where, value, `${JSON.stringify(value)} has an empty node filter (separate filters with a single ";")`);
  }
  return { value: head, filters };
}

const GROUPS: Readonly<Record<string, NodeGroup>> = {
  server: "server",
  servers: "server",
  agent: "agent",
  agents: "agent",
  loadbalancer: "loadbalancer",
  all: "all",
};

const SUBSET_RE = /^(\*|[0-9,\s-]+)$/;
const SUFFIX_RE = /^[a-zA-Z]+$/;

interface Subset {
  subset: "*" | number[];
  from?: number;
}

function parseIndex(text: string, filter: string, where: string): number {
  if (!/^\d{1,6}$/.test(text)) {
    throw invalid(where, filter, `node filter ${JSON.stringify(filter)}: ${JSON.stringify(text)} is not a node index (want a number from 0)`);
  }
  return Number(text);
}

/** SUBSET: `*`, or comma-separated indices and ranges (`0`, `1,3,5`, `2-4`, `-2`, `1-`, `0,3-5`). */
function parseSubset(text: string, filter: string, where: string): Subset {
  if (text === "*") return { subset: "*" };
  const items = text.split(",").map((s) => s.trim());
  if (items.length > 1 && items[items.length - 1] === "") items.pop(); // k3d tolerates a trailing comma
  const indices = new Set<number>();
  let from: number | undefined;
  for (const item of items) {
    if (item === "") {
      throw invalid(where, filter, `node filter ${JSON.stringify(filter)} has an empty index in its subset (want ${FILTER_FORMS})`);
    }
    const dash = item.indexOf("-");
    if (dash < 0) {
      indices.add(parseIndex(item, filter, where));
      continue;
    }
    const startText = item.slice(0, dash);
    const endText = item.slice(dash + 1);
    const start = startText === "" ? 0 : parseIndex(startText, filter, where);
    if (endText === "") {
      from = from === undefined ? start : Math.min(from, start);
      continue;
    }
    const end = parseIndex(endText, filter, where);
    if (end < start) {
      throw invalid(where, filter, `node filter ${JSON.stringify(filter)}: range ${item} ends before it starts (want START-END with START <= END)`);
    }
    for (let i = start; i <= end; i++) indices.add(i);
  }
  if (from === 0) return { subset: "*" };
  const sorted = [...indices].filter((i) => from === undefined || i < from).sort((a, b) => a - b);
  return from === undefined ? { subset: sorted } : { subset: sorted, from };
}

/**
 * Parses one node filter, `GROUP[:SUBSET][:SUFFIX]`. GROUP is server(s), agent(s), loadbalancer or
 * all (plurals normalised). `server`/`agent` without a subset mean all nodes of that role (k3d
 * rejects it). `loadbalancer` and `all` take no subset (`loadbalancer:0` and `:*`, `all:*` are
 * accepted for k3d compatibility). A SUFFIX (`proxy`, `direct`) is allowed only if listed in
 * `options.suffixes`.
 */
export function parseNodeFilter(text: string, where: string, options: { suffixes?: readonly string[] } = {}): ParsedNodeFilter {
  const source = text.trim();
  const suffixes = options.suffixes ?? [];
  const prefix = `node filter ${JSON.stringify(source)}`;
  if (source === "") throw invalid(where, text, `empty node filter (want ${FILTER_FORMS})`);

  const [groupText = "", ...rest] = source.split(":");
  const group = GROUPS[groupText.toLowerCase()];
  if (group === undefined) {
    throw invalid(where, text, `unknown node group ${JSON.stringify(groupText)} (want server, agent, loadbalancer or all)`, `node filters look like ${FILTER_FORMS}`);
  }
  if (rest.length > 2) {
    throw invalid(where, text, `${prefix} has too many ":" parts (want GROUP[:SUBSET][:SUFFIX])`);
  }

  let subsetText: string | undefined;
  let suffix: string | undefined;
  if (rest.length === 2) {
    [subsetText, suffix] = rest;
  } else if (rest.length === 1) {
    const [only = ""] = rest;
    if (SUFFIX_RE.test(only)) suffix = only;
    else subsetText = only;
  }

  if (suffix !== undefined) {
    if (!SUFFIX_RE.test(suffix)) {
      throw invalid(where, text, `${prefix}: ${JSON.stringify(suffix)} is not a suffix (want letters${suffixes.length ? `: ${suffixes.join(" or ")}` : ""})`);
    }
    if (!suffixes.includes(suffix)) {
      const allowed = suffixes.length ? `want ${suffixes.join(" or ")}` : "this setting takes no suffix";
      if (rest.length === 1) {
        throw invalid(
          where,
          text,
          `${prefix}: ${JSON.stringify(suffix)} is neither a subset nor a known suffix (want ${FILTER_FORMS}${suffixes.length ? `, optionally followed by :${suffixes.join(" or :")}` : ""})`,
        );
      }
      throw invalid(where, text, `${prefix}: unknown suffix ${JSON.stringify(suffix)} (${allowed})`);
    }
  }

  let parsed: Subset = { subset: "*" };
  if (subsetText !== undefined) {
    if (subsetText === "" || !SUBSET_RE.test(subsetText)) {
      throw invalid(where, text, `${prefix}: ${JSON.stringify(subsetText)} is not a subset (want ${FILTER_FORMS})`);
    }
    parsed = parseSubset(subsetText, source, where);
    if (group === "loadbalancer" && !(parsed.subset === "*" || (parsed.subset.length === 1 && parsed.subset[0] === 0 && parsed.from === undefined))) {
      throw invalid(where, text, `${prefix}: the load balancer is a single node and takes no subset (want loadbalancer)`);
    }
    if (group === "loadbalancer") parsed = { subset: "*" };
    if (group === "all" && parsed.subset !== "*") {
      throw invalid(where, text, `${prefix}: all selects every node and takes no subset (want all, or server:SUBSET / agent:SUBSET)`);
    }
  }

  const filter: ParsedNodeFilter = { group, subset: parsed.subset, source };
  if (parsed.from !== undefined) filter.from = parsed.from;
  if (suffix !== undefined) filter.suffix = suffix;
  return filter;
}

type SelectableRole = "server" | "agent" | "loadbalancer";

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function describeRole(role: "server" | "agent", members: readonly { index: number }[]): string {
  if (members.length === 0) return `the cluster has no ${role}s`;
  const indices = members.map((m) => m.index).sort((a, b) => a - b);
  return `the cluster has ${plural(members.length, role)} (${indices.length === 1 ? "index" : "indices"} ${indices.join(", ")})`;
}

/**
 * Whether a filter selects this node: `all` every node, a role group its nodes by `*`, index or open
 * range. (selectNodes also refuses an index no node has; a node that was not there yet cannot.)
 */
export function filterSelects(filter: Pick<ParsedNodeFilter, "group" | "subset" | "from">, node: { role: SelectableRole; index: number }): boolean {
  if (filter.group === "all") return true;
  if (filter.group !== node.role) return false;
  return filter.subset === "*" || filter.subset.includes(node.index) || (filter.from !== undefined && node.index >= filter.from);
}

/**
 * The nodes the filters select: de-duplicated, in the order of `nodes`. `all` selects every node,
 * the load balancer included. An index with no node of that role, or `loadbalancer` in a cluster
 * without one, is an error.
 */
export function selectNodes<N extends { role: SelectableRole; index: number }>(
  filters: readonly ParsedNodeFilter[],
  nodes: readonly N[],
  where: string,
): N[] {
  const selected = new Set<N>();
  for (const filter of filters) {
    if (filter.group === "all") {
      for (const n of nodes) selected.add(n);
      continue;
    }
    if (filter.group === "loadbalancer") {
      const lbs = nodes.filter((n) => n.role === "loadbalancer");
      if (lbs.length === 0) {
        throw invalid(where, filter.source, `node filter ${JSON.stringify(filter.source)}: the cluster has no load balancer`, "drop the filter or create the cluster with its load balancer");
      }
      for (const n of lbs) selected.add(n);
      continue;
    }
    const role = filter.group;
    const members = nodes.filter((n) => n.role === role);
    // A filter that names a node the cluster does not have is a mistake, not an empty choice.
    const missing = filter.subset === "*" ? undefined : filter.subset.find((index) => !members.some((n) => n.index === index));
    if (missing !== undefined) {
      throw invalid(where, filter.source, `node filter ${JSON.stringify(filter.source)}: there is no ${role} ${missing}; ${describeRole(role, members)}`);
    }
    if (filter.from !== undefined && !members.some((n) => n.index >= filter.from!)) {
      throw invalid(where, filter.source, `node filter ${JSON.stringify(filter.source)}: range ${filter.from}- selects no ${role}; ${describeRole(role, members)}`);
    }
    for (const n of members) if (filterSelects(filter, n)) selected.add(n);
  }
  return nodes.filter((n) => selected.has(n));
}
