/**
 * The line protocol between a program and its reaper (see reaper.ts): one line per change, fields
 * separated by one space, each percent-encoded (cluster names never need it; runtime paths may).
 *
 * - `+ RUNTIME CLUSTER[@CREATEID] [ENV]` registers a cluster to delete on RUNTIME (a name for core's
 *   plugin loader) if the program ends without deleting it; with CREATEID only what that create made
 *   (a cluster of the name made since by someone else is left alone); ENV, when present, is the base64url
 *   JSON of the environment the runtime is made with (else the reaper's own, inherited from the program).
 * - `- CLUSTER` forgets it (the program deleted it, or handed it over).
 */

export type ReaperCommand =
  | { op: "+"; runtime: string; cluster: string; createId?: string; env?: Record<string, string> }
  | { op: "-"; cluster: string };

export function formatCommand(command: ReaperCommand): string {
  if (command.op === "-") return `- ${encodeURIComponent(command.cluster)}\n`;
  const env = command.env ? ` ${Buffer.from(JSON.stringify(command.env)).toString("base64url")}` : "";
  const id = command.createId ? `@${encodeURIComponent(command.createId)}` : "";
  return `+ ${encodeURIComponent(command.runtime)} ${encodeURIComponent(command.cluster)}${id}${env}\n`;
}

function decode(field: string | undefined): string | undefined {
  if (field === undefined || field === "") return undefined;
  try {
    return decodeURIComponent(field);
  } catch {
    return undefined;
  }
}

function decodeEnv(field: string): Record<string, string> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(field, "base64url").toString("utf8"));
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    const entries = Object.entries(value as Record<string, unknown>);
    if (!entries.every(([, v]) => typeof v === "string")) return undefined;
    return Object.fromEntries(entries) as Record<string, string>;
  } catch {
    return undefined;
  }
}

/** One line (without its newline) → the command, or undefined for a line that is not one (ignored). */
export function parseCommand(line: string): ReaperCommand | undefined {
  const fields = line.replace(/\r$/, "").split(" ");
  const [op, ...rest] = fields;
  if (op === "-" && rest.length === 1) {
    const cluster = decode(rest[0]);
    return cluster ? { op, cluster } : undefined;
  }
  if (op === "+" && (rest.length === 2 || rest.length === 3)) {
    const runtime = decode(rest[0]);
    const [name, id, extra] = rest[1]!.split("@");
    const cluster = decode(name);
    const createId = id === undefined ? undefined : decode(id);
    if (!runtime || !cluster || extra !== undefined || (id !== undefined && !createId)) return undefined;
    const base = { op, runtime, cluster, ...(createId ? { createId } : {}) } as const;
    if (rest.length === 2) return base;
    const env = decodeEnv(rest[2]!);
    return env ? { ...base, env } : undefined;
  }
  return undefined;
}

/** What the reaper holds: the registered clusters by name (a later `+` for a name replaces the earlier one). */
export function applyCommand(state: Map<string, { runtime: string; createId?: string; env?: Record<string, string> }>, command: ReaperCommand): void {
  if (command.op === "-") state.delete(command.cluster);
  else state.set(command.cluster, { runtime: command.runtime, ...(command.createId ? { createId: command.createId } : {}), ...(command.env ? { env: command.env } : {}) });
}
