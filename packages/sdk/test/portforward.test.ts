/**
 * Endpoints and the port-forward protocol against an in-process fake API server (HTTPS with client
 * certificates, recorded API shapes, the kubelet's websocket frames: see portforward-fake-api.ts) that
 * forwards to local TCP servers standing in for pods. No engine needed.
 */
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { forwardPod, forwardService, isK3tsError, type Endpoint, type K3tsError } from "../src/index.ts";
import { startPortForwardFakeApi, type PortForwardFakeApi } from "./portforward-fake-api.ts";

let api: PortForwardFakeApi;
let kc: KubeConfig;
const servers: Server[] = [];
const endpoints: Endpoint[] = [];

beforeEach(async () => {
  api = await startPortForwardFakeApi();
  kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig);
});

afterEach(async () => {
  for (const e of endpoints.splice(0)) await e.close();
  for (const s of servers.splice(0)) {
    s.close();
    (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  }
  await api.close();
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** A "pod" that echoes, each reply prefixed with its tag. */
function echo(tag = ""): Promise<number> {
  return listen(
    createServer((s) => {
      s.on("error", () => {});
      s.on("data", (d) => s.write(tag ? Buffer.concat([Buffer.from(tag), d]) : d));
      s.on("end", () => s.end());
    }),
  );
}

/** A port where nothing listens. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function track(p: Promise<Endpoint>): Promise<Endpoint> {
  const e = await p;
  endpoints.push(e);
  return e;
}

/** Connects, sends, reads until `expected` bytes came back (or the remote ended), then ends. */
async function roundTrip(port: number, payload: Buffer | string, expected = Buffer.byteLength(payload)): Promise<Buffer> {
  const s = connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise<Buffer>((resolve) => {
    // A destroyed forward resets the connection: what arrived before is the answer.
    s.on("error", () => resolve(Buffer.concat(chunks)));
    s.on("data", (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= expected) {
        s.end();
        resolve(Buffer.concat(chunks));
      }
    });
    s.on("end", () => resolve(Buffer.concat(chunks)));
    s.on("close", () => resolve(Buffer.concat(chunks)));
    s.write(payload);
  });
}

function webService(targetPort: number | string = 8080, portName = "http") {
  api.addService({ name: "web", selector: { app: "web" }, ports: [{ name: portName, port: 80, targetPort }] });
}

describe("forwardService", () => {
  it("carries data both ways over v4.channel.k8s.io, the port prefixes stripped", async () => {
    webService();
    api.addPod({ name: "web-1", labels: { app: "web" }, ports: [{ name: "web", containerPort: 8080 }], backend: { 8080: await echo() } });
    const ep = await track(forwardService(kc, { service: "web", port: 80 }));
    expect(ep.host).toBe("127.0.0.1");
    expect(ep.url).toBe(`http://127.0.0.1:${ep.port}`);
    await expect(ep.ready).resolves.toEqual({ namespace: "default", pod: "web-1", port: 8080 });

    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 9)) & 0xff;
    const back = await roundTrip(ep.port, big);
    expect(back.length).toBe(big.length);
    expect(back.equals(big)).toBe(true);

    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining(["GET /api/v1/namespaces/default/services/web", "GET /api/v1/namespaces/default/pods?labelSelector=app%3Dweb", "UPGRADE /api/v1/namespaces/default/pods/web-1/portforward?ports=8080"]),
    );
    expect(api.requests.find((r) => r.method === "UPGRADE")?.protocol).toBe("v4.channel.k8s.io");
  });

  it("serves HTTP to fetch", async () => {
    const http = createHttpServer((req, res) => res.end(`hello from web-1 ${req.url}`));
    servers.push(http);
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    webService();
    api.addPod({ name: "web-1", labels: { app: "web" }, backend: { 8080: (http.address() as AddressInfo).port } });
    const ep = await track(forwardService(kc, { service: "web", port: "http" }));
    await ep.ready;
    const res = await fetch(`${ep.url}/x?y=1`);
    expect(await res.text()).toBe("hello from web-1 /x?y=1");
    const res2 = await fetch(`${ep.url}/again`, { headers: { connection: "close" } });
    expect(await res2.text()).toBe("hello from web-1 /again");
  });

  it("serves 50 concurrent connections, one websocket each", async () => {
    webService();
    api.addPod({ name: "web-1", labels: { app: "web" }, backend: { 8080: await echo() } });
    const ep = await track(forwardService(kc, { service: "web", port: 80 }));
    await ep.ready;
    const payloads = Array.from({ length: 50 }, (_, i) => Buffer.from(`connection ${i} `.repeat(2000)));
    const backs = await Promise.all(payloads.map((p) => roundTrip(ep.port, p)));
    backs.forEach((b, i) => expect(b.equals(payloads[i]!)).toBe(true));
    expect(api.requests.filter((r) => r.method === "UPGRADE")).toHaveLength(50);
    // One lookup served them all.
    expect(api.requests.filter((r) => r.path.startsWith("/api/v1/namespaces/default/services/web"))).toHaveLength(1);
  });

  it("ends the local socket when the pod closes the connection (no hang), and closes the websocket", async () => {
    const pod = await listen(createServer((s) => s.end("bye\n")));
    webService();
    api.addPod({ name: "web-1", labels: { app: "web" }, backend: { 8080: pod } });
    const ep = await track(forwardService(kc, { service: "web", port: 80 }));
    await ep.ready;
    const s = connect(ep.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    await once(s, "end"); // the local client never ended its side
    expect(Buffer.concat(chunks).toString()).toBe("bye\n");
    s.end();
    await once(s, "close");
    await expect.poll(() => api.openForwards()).toBe(0);
    await expect.poll(() => ep.connections).toBe(0);
  });

  it("after the local client ends its writes, the answer still arrives, then the forward closes", async () => {
    webService();
    api.addPod({ name: "web-1", labels: { app: "web" }, backend: { 8080: await echo() } });
    const ep = await track(forwardService(kc, { service: "web", port: 80, halfCloseGraceMs: 200 }));
    await ep.ready;
    const s = connect({ port: ep.port, host: "127.0.0.1", allowHalfOpen: true });
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    s.end("ping");
    await once(s, "end");
    expect(Buffer.concat(chunks).toString()).toBe("ping");
    await expect.poll(() => api.openForwards()).toBe(0);
  });

  it("a refused connection inside the pod reaches the caller as an error event; the socket is destroyed, the endpoint keeps serving", async () => {
    webService();
    const pod = { name: "web-1", labels: { app: "web" }, backend: { 8080: await closedPort() } };
    api.addPod(pod);
    const ep = await track(forwardService(kc, { service: "web", port: 80 }));
    await ep.ready;
    const errors: K3tsError[] = [];
    ep.on("error", (e) => errors.push(e));
    const s = connect(ep.port, "127.0.0.1");
    s.on("error", () => {});
    s.write("hello?");
    await once(s, "close");
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]!.code).toBe("KUBE_API_ERROR");
    expect(errors[0]!.message).toMatch(/error forwarding port 8080 to pod .*connection refused/);
    expect(errors[0]!.meta).toMatchObject({ pod: "web-1", port: 8080, errorChannel: true });

    pod.backend[8080] = await echo();
    expect((await roundTrip(ep.port, "again")).toString()).toBe("again");
  });

  it("a failed connect without an error listener does not crash the process", async () => {
    webService();
    api.addPod({ name: "web-1", labels: { app: "web" }, backend: { 8080: await closedPort() } });
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => void warnings.push(m) };
    const ep = await track(forwardService(kc, { service: "web", port: 80, logger }));
    await ep.ready;
    const back = await roundTrip(ep.port, "x");
    expect(back.length).toBe(0);
    await expect.poll(() => warnings.length).toBe(1);
  });

  it("re-resolves when the pod is replaced: the next connection goes to the new pod", async () => {
    webService();
    api.addPod({ name: "web-a", labels: { app: "web" }, backend: { 8080: await echo("A:") } });
    const ep = await track(forwardService(kc, { service: "web", port: 80, pollIntervalMs: 50 }));
    await ep.ready;
    const targets: string[] = [];
    ep.on("target", (t) => targets.push(t.pod));
    expect((await roundTrip(ep.port, "1", 3)).toString()).toBe("A:1");

    api.deletePod("web-a");
    api.addPod({ name: "web-b", labels: { app: "web" }, backend: { 8080: await echo("B:") } });
    expect((await roundTrip(ep.port, "2", 3)).toString()).toBe("B:2");
    expect(ep.target?.pod).toBe("web-b");
    expect(targets).toEqual(["web-b"]);
    // The refused upgrade to the gone pod, then the lookup, then the new pod.
    const upgrades = api.requests.filter((r) => r.method === "UPGRADE").map((r) => r.path);
    expect(upgrades.slice(-2)).toEqual(["/api/v1/namespaces/default/pods/web-a/portforward?ports=8080", "/api/v1/namespaces/default/pods/web-b/portforward?ports=8080"]);
  });

  it("re-resolves when the pod stopped running but its object stays (the kubelet answers 500)", async () => {
    webService();
    api.addPod({ name: "web-a", labels: { app: "web" }, backend: { 8080: await echo("A:") } });
    const ep = await track(forwardService(kc, { service: "web", port: 80, pollIntervalMs: 50 }));
    await ep.ready;
    expect((await roundTrip(ep.port, "1", 3)).toString()).toBe("A:1");
    // Evicted: the object stays with phase Failed; a replacement runs.
    const a = api.pods.get("default/web-a")!;
    a.phase = "Failed";
    a.ready = false;
    api.addPod({ name: "web-b", labels: { app: "web" }, backend: { 8080: await echo("B:") } });
    expect((await roundTrip(ep.port, "2", 3)).toString()).toBe("B:2");
    expect(ep.target?.pod).toBe("web-b");
  });

  it("skips pods that are terminating or not Ready", async () => {
    webService();
    api.addPod({ name: "web-0", labels: { app: "web" }, deleting: true, backend: { 8080: await echo("0:") } });
    api.addPod({ name: "web-1", labels: { app: "web" }, ready: false, backend: { 8080: await echo("1:") } });
    api.addPod({ name: "web-2", labels: { app: "web" }, backend: { 8080: await echo("2:") } });
    api.addPod({ name: "db-0", labels: { app: "db" }, backend: { 8080: await echo("db:") } });
    const ep = await track(forwardService(kc, { service: "web", port: 80 }));
    expect((await ep.ready).pod).toBe("web-2");
  });

  it("maps a named targetPort to a sidecar's port (an init container with restartPolicy Always), as the EndpointSlice controller does; not to a plain init container's", async () => {
    webService("web", "http");
    api.addPod({
      name: "web-1",
      labels: { app: "web" },
      ports: [{ name: "metrics", containerPort: 9090 }],
      initContainers: [
        { name: "setup", ports: [{ name: "web", containerPort: 7070 }] },
        { name: "proxy", sidecar: true, ports: [{ name: "web", containerPort: 8080 }] },
      ],
      backend: { 8080: await echo() },
    });
    const ep = await track(forwardService(kc, { service: "web", port: "http" }));
    await expect(ep.ready).resolves.toMatchObject({ pod: "web-1", port: 8080 });
  });

  it("maps a named targetPort to the pod's container port", async () => {
    webService("web", "http");
    api.addPod({ name: "web-1", labels: { app: "web" }, ports: [{ name: "metrics", containerPort: 9090 }, { name: "web", containerPort: 8080 }], backend: { 8080: await echo() } });
    const ep = await track(forwardService(kc, { service: "web", port: "http" }));
    await expect(ep.ready).resolves.toMatchObject({ pod: "web-1", port: 8080 });
    expect((await roundTrip(ep.port, "named")).toString()).toBe("named");
    expect(api.requests.some((r) => r.path === "/api/v1/namespaces/default/pods/web-1/portforward?ports=8080")).toBe(true);
  });

  it("is not ready while no pod is ready, and becomes ready when one is; connections wait for it", async () => {
    webService();
    const pod = { name: "web-1", labels: { app: "web" }, phase: "Pending" as "Pending" | "Running", ready: false, backend: { 8080: await echo() } };
    api.addPod(pod);
    const ep = await track(forwardService(kc, { service: "web", port: 80, pollIntervalMs: 50 }));
    let ready = false;
    void ep.ready.then(() => (ready = true));
    const early = roundTrip(ep.port, "early");
    await new Promise((r) => setTimeout(r, 400));
    expect(ready).toBe(false);
    expect(api.requests.filter((r) => r.path.includes("/pods?")).length).toBeGreaterThan(2);

    pod.phase = "Running";
    pod.ready = true;
    await expect(ep.ready).resolves.toMatchObject({ pod: "web-1" });
    expect((await early).toString()).toBe("early");
  });

  it("rejects ready for a Service that does not exist, a port it does not have, or one without a selector", async () => {
    const missing = await track(forwardService(kc, { service: "nope", port: 80 }));
    const err = await missing.ready.catch((e: unknown) => e);
    expect(isK3tsError(err, "KUBE_API_ERROR")).toBe(true);
    expect((err as K3tsError).meta.status).toBe(404);
    expect((err as K3tsError).message).toMatch(/services "nope" not found/);

    webService();
    const wrongPort = await track(forwardService(kc, { service: "web", port: 8443 }));
    await expect(wrongPort.ready).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringMatching(/has no port 8443 \(it has http 80\/TCP\)/) });

    api.addService({ name: "external", ports: [{ port: 5432 }] });
    const noSelector = await track(forwardService(kc, { service: "external", port: 5432 }));
    await expect(noSelector.ready).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });

    await expect(forwardService(kc, { service: "web", port: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("aborts through its signal: ready rejects with ABORTED, connections end, the port is free again", async () => {
    webService();
    api.addPod({ name: "web-1", labels: { app: "web" }, ready: false, backend: { 8080: await echo() } });
    const ac = new AbortController();
    const ep = await track(forwardService(kc, { service: "web", port: 80, signal: ac.signal, pollIntervalMs: 50 }));
    const s = connect(ep.port, "127.0.0.1");
    s.on("error", () => {});
    await once(s, "connect");
    ac.abort();
    await expect(ep.ready).rejects.toMatchObject({ code: "ABORTED" });
    await once(s, "close");
    expect(ep.closed).toBe(true);
    const again = createServer();
    servers.push(again);
    await new Promise<void>((resolve) => again.listen(ep.port, "127.0.0.1", resolve));
    await expect(forwardService(kc, { service: "web", port: 80, signal: ac.signal })).rejects.toMatchObject({ code: "ABORTED" });
  });

  it("close() ends open connections and frees the port (a chosen localPort can be taken again)", async () => {
    webService();
    api.addPod({ name: "web-1", labels: { app: "web" }, backend: { 8080: await echo() } });
    const localPort = await closedPort();
    const ep = await forwardService(kc, { service: "web", port: 80, localPort });
    expect(ep.port).toBe(localPort);
    await ep.ready;
    const s = connect(localPort, "127.0.0.1");
    s.on("error", () => {});
    s.write("hold");
    await once(s, "data");
    await expect(forwardService(kc, { service: "web", port: 80, localPort })).rejects.toMatchObject({ code: "PORT_IN_USE" });
    await ep.close();
    await ep.close();
    await once(s, "close");
    await expect.poll(() => api.openForwards()).toBe(0);
    const again = await track(forwardService(kc, { service: "web", port: 80, localPort }));
    await again.ready;
    expect((await roundTrip(localPort, "again")).toString()).toBe("again");
  });

  it("await using closes it", async () => {
    webService();
    api.addPod({ name: "web-1", labels: { app: "web" }, backend: { 8080: await echo() } });
    let port: number;
    {
      await using ep = await forwardService(kc, { service: "web", port: 80 });
      port = ep.port;
      await ep.ready;
    }
    const s = connect(port, "127.0.0.1");
    const [err] = (await once(s, "error")) as [NodeJS.ErrnoException];
    expect(err.code).toBe("ECONNREFUSED");
  });
});

describe("forwardPod", () => {
  it("forwards to a pod by port number or container port name, waiting until it runs", async () => {
    const pod = { name: "db-0", labels: { app: "db" }, phase: "Pending" as "Pending" | "Running", ports: [{ name: "pg", containerPort: 5432 }], backend: { 5432: await echo("pg:") } };
    api.addPod(pod);
    const byName = await track(forwardPod(kc, { pod: "db-0", port: "pg", pollIntervalMs: 50 }));
    const byNumber = await track(forwardPod(kc, { pod: "db-0", port: 5432, namespace: "default", pollIntervalMs: 50 }));
    let ready = false;
    void byName.ready.then(() => (ready = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(ready).toBe(false);
    pod.phase = "Running";
    await expect(byName.ready).resolves.toEqual({ namespace: "default", pod: "db-0", port: 5432 });
    await byNumber.ready;
    expect((await roundTrip(byName.port, "q", 4)).toString()).toBe("pg:q");
    expect((await roundTrip(byNumber.port, "r", 4)).toString()).toBe("pg:r");
  });

  it("a pod that is gone: ready rejects (404), and a connection after it went reports the refused upgrade", async () => {
    const missing = await track(forwardPod(kc, { pod: "ghost", port: 80 }));
    await expect(missing.ready).rejects.toMatchObject({ code: "KUBE_API_ERROR", meta: { status: 404 } });

    api.addPod({ name: "db-0", labels: {}, backend: { 5432: await echo() } });
    const ep = await track(forwardPod(kc, { pod: "db-0", port: 5432 }));
    await ep.ready;
    api.deletePod("db-0");
    const errors: K3tsError[] = [];
    ep.on("error", (e) => errors.push(e));
    expect((await roundTrip(ep.port, "x")).length).toBe(0);
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]!.code).toBe("KUBE_API_ERROR");
    expect(errors[0]!.meta.status).toBe(404);
  });
});

/** The period of {@link pattern}: a prime, so no read or frame size lines up with it. */
const PERIOD = 65521;
const bases = new Map<number, Buffer>();

/** Bytes `from` … `from + length` of stream `seed`: a pattern that shows any byte lost, repeated or out of place. */
function pattern(seed: number, from: number, length: number): Buffer {
  let base = bases.get(seed);
  if (!base) {
    base = Buffer.allocUnsafe(2 * PERIOD);
    for (let i = 0; i < base.length; i++) {
      const n = i % PERIOD;
      base[i] = (n * 31 + (n >>> 8) * 7 + seed * 13) & 0xff;
    }
    bases.set(seed, base);
  }
  const at = from % PERIOD;
  if (length <= PERIOD) return base.subarray(at, at + length);
  const out = Buffer.allocUnsafe(length);
  for (let done = 0; done < length; ) {
    const start = (from + done) % PERIOD;
    const n = Math.min(PERIOD, length - done);
    base.copy(out, done, start, start + n);
    done += n;
  }
  return out;
}

/** Resolves once `read()` stopped changing for a few polls: the pipe is full and stays full. */
async function stalled(read: () => number): Promise<number> {
  let last = -1;
  let same = 0;
  while (same < 4) {
    await new Promise((r) => setTimeout(r, 100));
    const now = read();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

describe("the byte path", () => {
  it("later connections of an endpoint resume its TLS session instead of a full handshake", async () => {
    api.addPod({ name: "db-0", labels: {}, backend: { 5432: await echo() } });
    const ep = await track(forwardPod(kc, { pod: "db-0", port: 5432 }));
    await ep.ready;
    for (const word of ["one", "two", "three"]) expect((await roundTrip(ep.port, word)).toString()).toBe(word);
    expect(api.requests.filter((r) => r.method === "UPGRADE").map((r) => r.resumed)).toEqual([false, true, true]);
  });

  it("carries 4 concurrent streams of 6 MB each way intact, written in chunks of every size", async () => {
    api.addPod({ name: "db-0", labels: {}, backend: { 5432: await echo() } });
    const ep = await track(forwardPod(kc, { pod: "db-0", port: 5432 }));
    await ep.ready;
    const size = 6 << 20;
    const one = async (seed: number) => {
      const s = connect(ep.port, "127.0.0.1");
      await once(s, "connect");
      const want = pattern(seed, 0, size);
      const got: Buffer[] = [];
      let n = 0;
      const done = new Promise<void>((resolve) =>
        s.on("data", (d: Buffer) => {
          got.push(d);
          n += d.length;
          if (n >= size) resolve();
        }),
      );
      // Chunk sizes from 1 byte to 256 KiB, so frames hold anything from one byte to many reads.
      for (let at = 0, k = seed; at < size; k++) {
        const len = Math.min(size - at, [1, 7, 1500, 65536, 65537, 262144, 33333][k % 7]!);
        if (!s.write(want.subarray(at, at + len))) await once(s, "drain");
        at += len;
      }
      await done;
      s.end();
      const back = Buffer.concat(got);
      expect(back.length).toBe(size);
      expect(back.equals(want)).toBe(true);
    };
    await Promise.all([1, 2, 3, 4].map(one));
  });

  it("every byte written right before the local client ends its writes reaches the pod", async () => {
    const size = 8 << 20;
    const pod = await listen(
      createServer({ allowHalfOpen: true }, (s) => {
        s.on("error", () => {});
        let n = 0;
        let mismatch = -1;
        s.on("data", (d: Buffer) => {
          if (mismatch < 0 && !d.equals(pattern(3, n, d.length))) mismatch = n;
          n += d.length;
          if (n === size) s.end(mismatch < 0 ? "all" : `mismatch at ${mismatch}`);
        });
      }),
    );
    api.addPod({ name: "db-0", labels: {}, backend: { 5432: pod } });
    const ep = await track(forwardPod(kc, { pod: "db-0", port: 5432, halfCloseGraceMs: 5000 }));
    await ep.ready;
    for (let i = 0; i < 3; i++) {
      const s = connect({ port: ep.port, host: "127.0.0.1", allowHalfOpen: true });
      const chunks: Buffer[] = [];
      s.on("data", (d: Buffer) => chunks.push(d));
      s.end(pattern(3, 0, size)); // all of it at once, then the end right behind it
      await once(s, "end");
      expect(Buffer.concat(chunks).toString()).toBe("all");
      s.destroy();
    }
  });

  it("a local client that stops reading holds the pod back: what is in flight stays bounded, and nothing is lost", async () => {
    const size = 96 << 20;
    let podWritten = 0;
    const pod = await listen(
      createServer((s) => {
        s.on("error", () => {});
        let at = 0;
        const block = 256 << 10;
        const pump = () => {
          while (at < size) {
            const chunk = pattern(9, at, Math.min(block, size - at));
            at += chunk.length;
            podWritten = at;
            if (!s.write(chunk)) return void s.once("drain", pump);
          }
          s.end();
        };
        pump();
      }),
    );
    api.addPod({ name: "db-0", labels: {}, backend: { 5432: pod } });
    const ep = await track(forwardPod(kc, { pod: "db-0", port: 5432 }));
    await ep.ready;
    const s = connect(ep.port, "127.0.0.1");
    s.pause();
    const inFlight = await stalled(() => podWritten);
    expect(inFlight).toBeLessThan(48 << 20);
    let n = 0;
    let mismatch = -1;
    s.on("data", (d: Buffer) => {
      if (mismatch < 0 && !d.equals(pattern(9, n, d.length))) mismatch = n;
      n += d.length;
    });
    s.resume();
    await once(s, "end");
    expect(mismatch).toBe(-1);
    expect(n).toBe(size);
  }, 60_000);

  it("a pod that stops reading holds the local client back: what it accepts stays bounded, and nothing is lost", async () => {
    const size = 96 << 20;
    let podSocket: Socket | undefined;
    let podRead = 0;
    let mismatch = -1;
    const pod = await listen(
      createServer((s) => {
        s.on("error", () => {});
        s.pause();
        podSocket = s;
        s.on("data", (d: Buffer) => {
          if (mismatch < 0 && !d.equals(pattern(5, podRead, d.length))) mismatch = podRead;
          podRead += d.length;
          if (podRead === size) s.end("k");
        });
      }),
    );
    api.addPod({ name: "db-0", labels: {}, backend: { 5432: pod } });
    const ep = await track(forwardPod(kc, { pod: "db-0", port: 5432 }));
    await ep.ready;
    const s = connect(ep.port, "127.0.0.1");
    let accepted = 0;
    const writing = (async () => {
      const block = 256 << 10;
      for (let at = 0; at < size; at += block) {
        const ok = s.write(pattern(5, at, block));
        accepted = at + block - s.writableLength;
        if (!ok) await once(s, "drain");
        accepted = at + block - s.writableLength;
      }
    })();
    const inFlight = await stalled(() => accepted);
    expect(podRead).toBe(0);
    expect(inFlight).toBeLessThan(48 << 20);
    const answer = once(s, "data");
    podSocket!.resume();
    await writing;
    expect((await answer)[0].toString()).toBe("k");
    expect(mismatch).toBe(-1);
    expect(podRead).toBe(size);
    s.destroy();
  }, 60_000);
});
