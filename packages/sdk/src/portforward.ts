/**
 * One TCP connection through the Kubernetes port-forward protocol, written here rather than taken
 * from client-node's PortForward (which hangs when the remote closes and crashes the process on a
 * failed connect). The wire format is the kubelet's streaming server's
 * (k8s.io/kubelet/pkg/cri/streaming/portforward/websocket.go), reached through the apiserver:
 *
 * - `GET /api/v1/namespaces/NS/pods/POD/portforward?ports=P`, upgraded to a websocket with the
 *   subprotocol `v4.channel.k8s.io` (binary frames), authenticated as any API call (the
 *   kubeconfig's client certificate, CA, token: client-node's `applyToHTTPSOptions`).
 * - Every message is `[channel][payload]`: channel 0 carries data both ways, channel 1 errors
 *   (server to client only).
 * - The server's first message on each channel is the port, 2 bytes little-endian: stripped.
 * - Text on the error channel means the forward failed inside the pod (connection refused…).
 * - The server closes the websocket when the pod-side connection ends: the only end-of-stream.
 *   v4 has no half-close, so when the local side ends its writes, the remote gets a grace period to
 *   answer (as containerd gives the other direction one second) before the websocket is closed.
 *
 * One websocket per TCP connection (kubectl gets the same from one stream pair per connection).
 *
 * The per-byte path, local to remote: each read of the local socket is copied once behind the
 * channel byte into a scratch buffer that `ws` masks into its frame at once (one allocation per
 * chunk, the frame itself); masking is native when the optional `bufferutil` is installed. Remote
 * to local: the payload is a view of the received message, written as is. Backpressure both ways:
 * the local socket is paused while the websocket has more than HIGH_WATER bytes unsent, and the
 * websocket is paused while the local socket's write buffer is full.
 */
import { randomFillSync } from "node:crypto";
import type { Socket } from "node:net";
import type { KubeConfig } from "@kubernetes/client-node";
import { K3tsError } from "@k3ts/core";
import WebSocket from "ws";

/** The subprotocol spoken: binary frames, channel byte first. */
export const PORT_FORWARD_PROTOCOL = "v4.channel.k8s.io";

const DATA = 0;
const ERROR = 1;
/** Pause the local socket while this much is queued for the websocket; resume below LOW_WATER. */
const HIGH_WATER = 1 << 20;
const LOW_WATER = 1 << 18;

/**
 * Where a chunk is framed behind its channel byte before `ws` masks it. One buffer for the process
 * is enough: `ws` masks a client's frame from it into a new buffer before `send` returns (Sender.frame
 * merges header and masked payload when the data is a Buffer, the mask is not zero and nothing is
 * queued: no permessage-deflate, no Blobs), so the scratch is free again at once.
 */
let scratch = Buffer.alloc(0); // grown to the largest chunk on first use (see the send path)

/** Random masking keys (RFC 6455 5.3: a fresh, unpredictable key per frame) that are never zero, so `ws` always masks into its own copy. */
const maskPool = Buffer.allocUnsafe(8192);
let maskAt = maskPool.length;
function generateMask(mask: Buffer): void {
  do {
    if (maskAt === maskPool.length) {
      randomFillSync(maskPool);
      maskAt = 0;
    }
    mask[0] = maskPool[maskAt++]!;
    mask[1] = maskPool[maskAt++]!;
    mask[2] = maskPool[maskAt++]!;
    mask[3] = maskPool[maskAt++]!;
  } while ((mask[0]! | mask[1]! | mask[2]! | mask[3]!) === 0);
}

export interface PodPort {
  namespace: string;
  pod: string;
  port: number;
}

export interface DialOptions {
  /** Handshake timeout for the websocket upgrade. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** True when the failure says the pod is gone or cannot be reached (worth looking for another one). */
export function isPodGone(err: unknown): boolean {
  const status = (err as K3tsError | undefined)?.meta?.status;
  // 5xx: the kubelet writes the CRI's error for a pod that no longer runs (completed, evicted, its node
  // gone) as 500 (k8s.io/kubelet/pkg/cri/streaming/errors.go WriteError); looking again finds out.
  return status === 404 || status === 400 || status === 410 || (typeof status === "number" && status >= 500) || (err as K3tsError | undefined)?.meta?.errorChannel === true;
}

function describe(t: PodPort): string {
  return `pod ${t.namespace}/${t.pod} port ${t.port}`;
}

/** The websocket URL of the pod's portforward subresource on the kubeconfig's current cluster. */
export function portForwardUrl(kc: KubeConfig, t: PodPort): string {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new K3tsError("INVALID_ARGUMENT", "kubeconfig: no current cluster (or it has no server)", { meta: { where: "kubeconfig" } });
  const base = server.replace(/\/+$/, "").replace(/^http/, "ws");
  return `${base}/api/v1/namespaces/${encodeURIComponent(t.namespace)}/pods/${encodeURIComponent(t.pod)}/portforward?ports=${t.port}`;
}

/**
 * Opens the websocket. Resolves once the upgrade succeeded; rejects with a K3tsError (KUBE_API_ERROR
 * with the HTTP status and the apiserver's Status message, TIMEOUT, ABORTED), never throws later.
 */
export async function dialPortForward(kc: KubeConfig, t: PodPort, options: DialOptions): Promise<WebSocket> {
  const url = portForwardUrl(kc, t);
  const opts: WebSocket.ClientOptions = {};
  // TLS sessions are resumed across dials: client-node keeps one https.Agent per cluster, and an agent keeps sessions.
  await kc.applyToHTTPSOptions(opts);
  return new Promise<WebSocket>((resolve, reject) => {
    let settled = false;
    // perMessageDeflate off: frames are sent at once (see scratch), and the bytes are the app's, often compressed already.
    const ws = new WebSocket(url, [PORT_FORWARD_PROTOCOL], { ...opts, handshakeTimeout: options.timeoutMs, perMessageDeflate: false, generateMask });
    const onAbort = () => fail(new K3tsError("ABORTED", `port-forward to ${describe(t)} was aborted`, { cause: options.signal?.reason }));
    const fail = (err: K3tsError) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      ws.terminate();
      reject(err);
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    ws.on("error", (err: Error) => {
      const timeout = /timed out|timeout/i.test(err.message);
      fail(
        new K3tsError(timeout ? "TIMEOUT" : "KUBE_API_ERROR", `port-forward to ${describe(t)}: ${err.message}`, {
          cause: err,
          meta: { ...t, ...((err as NodeJS.ErrnoException).code ? { errno: (err as NodeJS.ErrnoException).code } : {}) },
        }),
      );
    });
    ws.on("unexpected-response", (req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", () => {});
      const done = () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let message = text.trim() || res.statusMessage || "";
        let reason: string | undefined;
        try {
          const s = JSON.parse(text) as { message?: string; reason?: string };
          message = s.message ?? message;
          reason = s.reason;
        } catch {
          // not a Status: keep the text
        }
        const status = res.statusCode ?? 0;
        fail(
          new K3tsError("KUBE_API_ERROR", `port-forward to ${describe(t)} refused (HTTP ${status}): ${message}`, {
            meta: { ...t, status, ...(reason ? { reason } : {}) },
            ...(status === 401 || status === 403 ? { hint: "the kubeconfig's user may not create pods/portforward in this namespace" } : {}),
          }),
        );
        req.destroy();
      };
      res.on("end", done);
      res.on("close", done);
    });
    ws.on("open", () => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      if (ws.protocol !== PORT_FORWARD_PROTOCOL && ws.protocol !== "") {
        ws.terminate();
        reject(new K3tsError("KUBE_API_ERROR", `port-forward to ${describe(t)}: the server chose subprotocol ${ws.protocol}`, { meta: { ...t } }));
        return;
      }
      resolve(ws);
    });
  });
}

export interface PipeOptions {
  /** After the local side ends its writes: how long the remote may stay silent before the websocket is closed. */
  halfCloseGraceMs: number;
  /** A forward that failed (error channel text, websocket error): the local socket is destroyed too. */
  onError: (err: K3tsError) => void;
}

/**
 * Carries a local socket over an open port-forward websocket until either side is done. Resolves
 * when both are closed; never rejects (failures go to `onError`).
 */
export function pipeSocket(ws: WebSocket, socket: Socket, t: PodPort, options: PipeOptions): Promise<void> {
  return new Promise<void>((resolve) => {
    const seenPort = [false, false];
    let errorText = "";
    let localPaused = false;
    let wsPaused = false;
    let localEnded = false;
    let grace: NodeJS.Timeout | undefined;
    let wsClosed = false;
    let socketClosed = socket.destroyed;

    const settle = () => {
      if (wsClosed && socketClosed) {
        clearTimeout(grace);
        resolve();
      }
    };
    const armGrace = () => {
      if (!localEnded) return;
      // One timer, pushed back on each message (no new timer per chunk).
      if (grace) grace.refresh();
      else grace = setTimeout(() => ws.close(1000), options.halfCloseGraceMs);
    };
    const onLocalDrain = () => {
      wsPaused = false;
      ws.resume();
    };
    // One callback for every frame: resume the local socket once the websocket has written enough.
    const onSent = (err?: Error) => {
      if (!err && localPaused && ws.bufferedAmount < LOW_WATER && !socket.destroyed) {
        localPaused = false;
        socket.resume();
      }
    };

    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary || data.length === 0) return;
      const channel = data[0]!;
      let payload = data.subarray(1);
      if (channel !== DATA && channel !== ERROR) return;
      if (!seenPort[channel]) {
        // The first message on each channel is the port number (2 bytes, little-endian).
        seenPort[channel] = true;
        payload = payload.subarray(2);
      }
      if (payload.length === 0) return;
      if (channel === ERROR) {
        errorText += payload.toString("utf8");
        return;
      }
      armGrace();
      if (socket.destroyed || socket.writableEnded) return;
      if (!socket.write(payload) && !wsPaused) {
        wsPaused = true;
        ws.pause();
        socket.once("drain", onLocalDrain);
      }
    });
    ws.on("error", (err: Error) => {
      if (!errorText) errorText = err.message;
    });
    ws.on("close", () => {
      wsClosed = true;
      clearTimeout(grace);
      if (errorText) {
        options.onError(
          new K3tsError("KUBE_API_ERROR", `port-forward to ${describe(t)} failed: ${errorText.trim()}`, { meta: { ...t, errorChannel: true } }),
        );
        socket.destroy();
      } else if (!socket.destroyed) {
        // The remote is done: flush what it sent, then end the local socket (EOF to the client).
        socket.end();
      }
      settle();
    });

    socket.on("data", (chunk: Buffer) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (scratch.length < chunk.length + 1) scratch = Buffer.allocUnsafe(chunk.length + 1);
      scratch[0] = DATA;
      chunk.copy(scratch, 1);
      ws.send(scratch.subarray(0, chunk.length + 1), onSent);
      if (!localPaused && ws.bufferedAmount > HIGH_WATER) {
        localPaused = true;
        socket.pause();
      }
    });
    socket.on("end", () => {
      // v4 cannot carry a half-close: give the remote time to answer, then close.
      localEnded = true;
      armGrace();
    });
    socket.on("error", () => {
      // ECONNRESET and the like from the local client: the websocket is closed below.
    });
    socket.on("close", () => {
      socketClosed = true;
      // A paused websocket would not read the remote's close frame.
      if (wsPaused) onLocalDrain();
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      settle();
    });
    socket.resume();
  });
}
