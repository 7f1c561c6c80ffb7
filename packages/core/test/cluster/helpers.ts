import { expect } from "vitest";
import { isK3tsError, type K3tsError } from "../../src/errors.ts";

/** Runs fn, expects an INVALID_ARGUMENT whose message starts with `where` and names `mention` (default: the value). */
export function expectInvalid(fn: () => unknown, where: string, mention: string): K3tsError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected an error").toBeDefined();
  if (!isK3tsError(caught, "INVALID_ARGUMENT")) throw caught;
  expect(caught.message.startsWith(`${where}: `), caught.message).toBe(true);
  expect(caught.message, caught.message).toContain(mention);
  expect(caught.meta).toMatchObject({ where });
  return caught;
}

/** `client` (a memory runtime's nodes, networks …) with some methods replaced: the others are its own, bound to it. */
export function overriding<T extends object>(client: T, overrides: Partial<T>): T {
  return new Proxy(client, {
    get(target, key) {
      if (key in overrides) return overrides[key as keyof T];
      const value = Reflect.get(target, key) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
