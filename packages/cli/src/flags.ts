/** Turning cac's option values into typed values, with errors that name the flag. */
import { K3tsError } from "@k3ts/core";

/** cac gives a string for one use of a flag and an array for several. */
/** cac's option key for a long flag: `--k3s-node-label` → `k3sNodeLabel`. */
export function flagKey(flag: string): string {
  return flag.replace(/^--/, "").replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export function many(value: unknown): string[] {
  if (value === undefined || value === null || value === false) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

export function one(value: unknown, flag: string): string | undefined {
  const all = many(value);
  if (all.length > 1) throw new K3tsError("INVALID_ARGUMENT", `${flag} was given ${all.length} times; it takes one value`, { meta: { flag } });
  return all[0];
}

export function integer(value: unknown, flag: string, min = 0): number | undefined {
  const text = one(value, flag);
  if (text === undefined) return undefined;
  // Decimal digits only: Number() would also take 0x10, 1e3, " 7" and "".
  const n = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < min) {
    throw new K3tsError("INVALID_ARGUMENT", `${flag} ${text}: expected a whole number ≥ ${min}`, { meta: { flag, value: text } });
  }
  return n;
}

/** Booleans accept --x, --no-x and k3d's --x=false / --x=true. */
export function bool(value: unknown, flag: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === "boolean") return value;
  const text = one(value, flag);
  if (text === "true" || text === "") return true;
  if (text === "false") return false;
  throw new K3tsError("INVALID_ARGUMENT", `${flag}=${text}: expected true or false`, { meta: { flag, value: text } });
}
