/** The API client's failures are coded: an error status and a server that never answers. */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeGet, listNodeReadiness, type KubeAccess } from "../../src/cluster/kubeapi.js";
import { isK3tsError } from "../../src/errors.js";

const pki = (f: string) => readFileSync(new URL(`../fixtures/pki/${f}`, import.meta.url));

describe("the Kubernetes API client", () => {
  let server: Server;
  let access: KubeAccess;
  beforeAll(async () => {
    server = createServer({ key: pki("server.key"), cert: pki("server.crt"), ca: pki("ca.crt"), requestCert: true }, (req, res) => {
      if (req.url === "/api/v1/nodes") {
        res.statusCode = 403;
        return res.end('{"kind":"Status","message":"nodes is forbidden"}');
      }
      // /slow: never answers.
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    access = { server: `https://127.0.0.1:${(server.address() as { port: number }).port}`, ca: pki("ca.crt"), cert: pki("client.crt"), key: pki("client.key") };
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("a node list the API refuses is KUBE_API_ERROR with the status", async () => {
    const err = await listNodeReadiness(access).catch((e: unknown) => e);
    expect(isK3tsError(err, "KUBE_API_ERROR")).toBe(true);
    expect((err as Error).message).toBe('GET /api/v1/nodes answered 403: {"kind":"Status","message":"nodes is forbidden"}');
    expect((err as { meta: unknown }).meta).toEqual({ path: "/api/v1/nodes", status: 403 });
  });

  it("a server that does not answer in time is TIMEOUT naming the server and the request", async () => {
    const err = await kubeGet(access, "/slow", { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(isK3tsError(err, "TIMEOUT")).toBe(true);
    expect((err as Error).message).toBe(`no answer from ${new URL(access.server).host} within 200 ms (GET /slow)`);
  });
});
