#!/usr/bin/env node
// Benchmark: port-forward throughput. Bytes through an sdk endpoint (forwardPod: local TCP → websocket
// over TLS with v4.channel.k8s.io frames → the fake API server's kubelet-style forwarder → TCP) against
// a direct TCP connection to the same sink, both directions (upload then download), interleaved runs,
// medians. The fake API server (packages/sdk/test/portforward-fake-api.ts) and the sink run in a child
// process, so the forwarder and the far side do not share an event loop; no engine needed.
//
// Beside it, the floor of any forward built this way: the same hops with no websocket and no
// protocol, a plain byte relay (local TCP → TLS with the same certificates, client certificate
// included → a relay in the child → the sink), stream.pipe both ways. What the endpoint costs
// beyond that floor is the port-forward protocol and its implementation; the floor's own ratio to
// direct TCP is what TLS and two extra hops cost on the machine. The same relay without TLS shows
// the hops' share alone.
//
//   import { benchPortForward } from "./bench-portforward.mjs";   const r = await benchPortForward(5);
//   node scripts/bench-portforward.mjs [--runs N] [--mb N]         prints the result as JSON
// Needs the sdk built (pnpm bench builds first).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { connect as tlsConnect, createServer as createTlsServer } from "node:tls";
import { fileURLToPath, pathToFileURL } from "node:url";

const sdkDir = new URL("../packages/sdk/", import.meta.url);
const self = fileURLToPath(import.meta.url);

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * The sink's connection handler. The protocol: the client's first byte says what to do. "U" + 4-byte
 * length: read that many bytes, answer "k". "D" + 4-byte length: send that many bytes, then end.
 * Self-contained (no imports), so that its source also runs as `node -e` inside a node's container
 * (bench-portforward-kubectl.mjs).
 */
export function sinkHandler(s) {
  const block = Buffer.alloc(64 << 10, 0x5a);
  s.on("error", () => {});
  let header = Buffer.alloc(0);
  let left = -1;
  s.on("data", (d) => {
    if (left < 0) {
      header = Buffer.concat([header, d]);
      if (header.length < 5) return;
      const op = String.fromCharCode(header[0]);
      const n = header.readUInt32BE(1);
      d = header.subarray(5);
      if (op === "D") {
        let sent = 0;
        const pump = () => {
          while (sent < n) {
            const chunk = block.subarray(0, Math.min(block.length, n - sent));
            sent += chunk.length;
            if (!s.write(chunk)) return void s.once("drain", pump);
          }
          s.end();
        };
        left = 0;
        return pump();
      }
      left = n;
    }
    left -= d.length;
    if (left === 0) s.write("k");
  });
}

/** Child side: the fake API server with one pod whose port 9000 is a sink/source. */
async function serve() {
  const { startPortForwardFakeApi, APISERVER_TLS } = await import(new URL("test/portforward-fake-api.ts", sdkDir).href);
  const sink = createServer(sinkHandler);
  await new Promise((resolve) => sink.listen(0, "127.0.0.1", resolve));
  const api = await startPortForwardFakeApi();
  api.addPod({ name: "sink-0", labels: { app: "sink" }, ports: [{ name: "sink", containerPort: 9000 }], backend: { 9000: sink.address().port } });
  // The floor's far end: TLS as the fake API server terminates it, then straight to the sink.
  const pki = (f) => readFileSync(new URL(`test/fixtures/pki/${f}`, sdkDir), "utf8");
  const relay = createTlsServer({ key: pki("server.key"), cert: pki("server.crt"), ca: pki("ca.crt"), requestCert: true, rejectUnauthorized: true, ...APISERVER_TLS }, (t) => {
    const c = connect(sink.address().port, "127.0.0.1");
    t.pipe(c).on("error", () => t.destroy());
    c.pipe(t).on("error", () => c.destroy());
  });
  await new Promise((resolve) => relay.listen(0, "127.0.0.1", resolve));
  // And the same without TLS: what the two extra hops alone cost.
  const plainRelay = createServer((t) => {
    const c = connect(sink.address().port, "127.0.0.1");
    t.pipe(c).on("error", () => t.destroy());
    c.pipe(t).on("error", () => c.destroy());
  });
  await new Promise((resolve) => plainRelay.listen(0, "127.0.0.1", resolve));
  process.stdout.write(`${JSON.stringify({ kubeconfig: api.kubeconfig, sink: sink.address().port, relay: relay.address().port, plainRelay: plainRelay.address().port })}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}

/** One transfer of `bytes` each way over a new connection to `port` (a sink, directly or forwarded); returns ms. */
export async function transfer(port, bytes) {
  const start = process.hrtime.bigint();
  // upload
  {
    const s = connect(port, "127.0.0.1");
    await once(s, "connect");
    const head = Buffer.alloc(5);
    head.write("U", 0);
    head.writeUInt32BE(bytes, 1);
    s.write(head);
    const block = Buffer.alloc(64 << 10, 0xa5);
    let sent = 0;
    const acked = once(s, "data");
    while (sent < bytes) {
      const chunk = block.subarray(0, Math.min(block.length, bytes - sent));
      sent += chunk.length;
      if (!s.write(chunk)) await once(s, "drain");
    }
    await acked;
    s.destroy();
  }
  // download
  {
    const s = connect(port, "127.0.0.1");
    await once(s, "connect");
    const head = Buffer.alloc(5);
    head.write("D", 0);
    head.writeUInt32BE(bytes, 1);
    let got = 0;
    s.on("data", (d) => (got += d.length));
    s.write(head);
    await once(s, "end");
    s.destroy();
    if (got !== bytes) throw new Error(`download: got ${got} of ${bytes} bytes`);
  }
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * The floor's near end: a local TCP port relayed over TLS (the kubeconfig's CA and client certificate)
 * to the child's relay; without a kubeconfig, over plain TCP to the child's plain relay.
 */
async function startFloorRelay(kc, relayPort) {
  const opts = {};
  if (kc) await kc.applyToHTTPSOptions(opts);
  const server = createServer({ allowHalfOpen: true }, (s) => {
    const t = kc ? tlsConnect({ host: "127.0.0.1", port: relayPort, ca: opts.ca, cert: opts.cert, key: opts.key }) : connect(relayPort, "127.0.0.1");
    s.pipe(t).on("error", () => s.destroy());
    t.pipe(s).on("error", () => t.destroy());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: server.address().port };
}

/**
 * @param {number} runs measured runs of each side (after one warm-up each)
 * @param {{ mb?: number }} [options] megabytes each way per run (default 64)
 * @returns {Promise<{ name: string, runs: number, subjectMs: number, baselineMs: number, ratio: number, bytes: number, subjectMBps: number, baselineMBps: number, floor: { name: string, floorMs: number, floorMBps: number, floorRatio: number, subjectToFloor: number, hopsMs: number, hopsRatio: number } }>}
 */
export async function benchPortForward(runs = 5, options = {}) {
  const bytes = (options.mb ?? 64) << 20;
  const child = spawn(process.execPath, [self, "--serve"], { stdio: ["pipe", "pipe", "inherit"] });
  try {
    const [line] = await Promise.race([
      once(child.stdout.setEncoding("utf8"), "data"),
      once(child, "exit").then(([code]) => {
        throw new Error(`the fake API server exited ${code}`);
      }),
    ]);
    const { kubeconfig, sink, relay, plainRelay } = JSON.parse(line);
    const require = createRequire(new URL("package.json", sdkDir));
    const { KubeConfig } = await import(pathToFileURL(require.resolve("@kubernetes/client-node")).href);
    const { forwardPod } = await import(new URL("dist/index.js", sdkDir).href);
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig);
    const ep = await forwardPod(kc, { pod: "sink-0", port: "sink" });
    const floor = await startFloorRelay(kc, relay);
    const hops = await startFloorRelay(undefined, plainRelay);
    try {
      await ep.ready;
      await transfer(ep.port, bytes);
      await transfer(sink, bytes);
      await transfer(floor.port, bytes);
      await transfer(hops.port, bytes);
      const a = [];
      const b = [];
      const f = [];
      const h = [];
      for (let i = 0; i < runs; i++) {
        a.push(await transfer(ep.port, bytes));
        b.push(await transfer(sink, bytes));
        f.push(await transfer(floor.port, bytes));
        h.push(await transfer(hops.port, bytes));
      }
      const subjectMs = +median(a).toFixed(1);
      const baselineMs = +median(b).toFixed(1);
      const floorMs = +median(f).toFixed(1);
      const hopsMs = +median(h).toFixed(1);
      const mbps = (ms) => +((2 * bytes) / (1 << 20) / (ms / 1000)).toFixed(0);
      return {
        name: `port-forward: ${bytes >> 20} MB each way through an endpoint (ws + TLS, v4.channel.k8s.io) vs direct TCP to the same sink`,
        runs,
        subjectMs,
        baselineMs,
        ratio: +(subjectMs / baselineMs).toFixed(2),
        bytes: 2 * bytes,
        subjectMBps: mbps(subjectMs),
        baselineMBps: mbps(baselineMs),
        floor: {
          name: "the same hops as a plain TLS byte relay (no websocket, no protocol)",
          floorMs,
          floorMBps: mbps(floorMs),
          floorRatio: +(floorMs / baselineMs).toFixed(2),
          subjectToFloor: +(subjectMs / floorMs).toFixed(2),
          hopsMs,
          hopsRatio: +(hopsMs / baselineMs).toFixed(2),
        },
      };
    } finally {
      await ep.close();
      floor.server.close();
      hops.server.close();
    }
  } finally {
    child.stdin.end();
    child.kill();
  }
}

if (process.argv[1] === self) {
  const args = process.argv.slice(2);
  if (args.includes("--serve")) await serve();
  else {
    const runs = Number(args.includes("--runs") ? args[args.indexOf("--runs") + 1] : 5);
    const mb = Number(args.includes("--mb") ? args[args.indexOf("--mb") + 1] : 64);
    process.stdout.write(`${JSON.stringify(await benchPortForward(runs, { mb }), null, 2)}\n`);
  }
}
