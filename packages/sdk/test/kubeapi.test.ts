/**
 * KubeApi's bound and retry policy against the fake API server: 429 (any method) and 5xx (reads) are
 * tried again after Retry-After (or a doubling back-off), at most REQUEST_ATTEMPTS times; writes that
 * failed with 5xx are not repeated.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeApi, REQUEST_ATTEMPTS } from "../src/manifests-api.ts";
import { FakeApiServer, status } from "./manifests-fake-api.ts";

let server: FakeApiServer;
let kc: KubeConfig;
beforeEach(async () => {
  server = new FakeApiServer();
  kc = await server.start();
});
afterEach(() => server.close());

const PATH = "/api/v1/namespaces/default/configmaps/c";
const OK = { status: 200, body: { kind: "ConfigMap", apiVersion: "v1", metadata: { name: "c", namespace: "default" } } };
const tooMany = (retryAfter?: string) => ({ ...status(429, "TooManyRequests", "Too many requests, please try again later."), ...(retryAfter ? { headers: { "retry-after": retryAfter } } : {}) });

function recorded(): { api: KubeApi; sleeps: number[] } {
  const sleeps: number[] = [];
  return { api: new KubeApi(kc, { sleep: async (ms) => void sleeps.push(ms) }), sleeps };
}

describe("KubeApi retry policy", () => {
  it("a 429 is tried again after Retry-After", async () => {
    server.script(PATH, [tooMany("2"), OK]);
    const { api, sleeps } = recorded();
    expect((await api.json<{ metadata: { name: string } }>(PATH)).body?.metadata.name).toBe("c");
    expect(sleeps).toEqual([2000]);
    expect(server.requests.filter((r) => r.path === PATH)).toHaveLength(2);
  });

  it("5xx on a read is tried again with a doubling back-off; Retry-After past 10 s waits 10 s", async () => {
    const unavailable = status(503, "ServiceUnavailable", "etcdserver: request timed out");
    server.script(PATH, [unavailable, unavailable, { ...unavailable, headers: { "retry-after": "120" } }, OK]);
    const { api, sleeps } = recorded();
    expect((await api.request(PATH)).status).toBe(200);
    expect(sleeps).toEqual([500, 1000, 10_000]);
  });

  it(`gives the last answer after ${REQUEST_ATTEMPTS} attempts, and never repeats a write that failed with 5xx`, async () => {
    server.script(PATH, [status(500, "InternalError", "boom")]);
    const { api, sleeps } = recorded();
    const err = await api.json(PATH).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`GET ${PATH}: boom (HTTP 500)`);
    expect(sleeps).toHaveLength(REQUEST_ATTEMPTS - 1);
    server.requests.length = 0;
    server.answer("PATCH", PATH, status(500, "InternalError", "boom"));
    expect((await api.request(PATH, { method: "PATCH", body: {}, contentType: "application/merge-patch+json" })).status).toBe(500);
    expect(server.requests.filter((r) => r.method === "PATCH")).toHaveLength(1);
  });

  it("a 429 on a write is tried again (the apiserver did not act on it)", async () => {
    let n = 0;
    server.answer("PATCH", PATH, () => (++n === 1 ? tooMany("1") : OK));
    const { api, sleeps } = recorded();
    expect((await api.request(PATH, { method: "PATCH", body: {}, contentType: "application/merge-patch+json" })).status).toBe(200);
    expect(sleeps).toEqual([1000]);
  });
});
