/**
 * An in-process fake of the parts of the Kubernetes API a port-forward uses, at the HTTP level:
 * HTTPS with client-certificate auth (the k3s admin kubeconfig's shape), GET of a Service, GET and
 * label-selected LIST of Pods (objects shaped as the API serves them), and
 * `GET /api/v1/namespaces/NS/pods/POD/portforward?ports=P` upgraded to a websocket that speaks what the
 * kubelet's streaming server speaks (k8s.io/kubelet/pkg/cri/streaming/portforward/websocket.go, behind
 * the apiserver's upgrade proxy, with containerd's CRI forwarder inside the pod's network namespace):
 *
 * - subprotocols `v4.channel.k8s.io` (binary), `v4.base64.channel.k8s.io` (text) or none;
 * - channel 2i = data, 2i+1 = error; every message is [channel byte][payload];
 * - first, each channel gets the port as 2 bytes, little-endian;
 * - then the pod-side TCP connection: data both ways on channel 0; on a failed dial the error channel
 *   carries `error forwarding port P to pod ID, uid : …` and the streams close;
 * - when either direction ends, the other gets up to 1 s (containerd's grace), then the websocket closes;
 * - an unknown pod is a 404 `Status` before the upgrade, as the apiserver answers; a pod that is not
 *   Running is a 500, as the kubelet answers.
 *
 * Pods are backed by local TCP servers: `pod.backend[containerPort] = localPort`.
 * Written in erasable TypeScript so that `node` runs it directly (scripts/bench-portforward.mjs).
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { connect, type AddressInfo, type Socket } from "node:net";
import { DEFAULT_CIPHERS, type TLSSocket } from "node:tls";
import { WebSocketServer, type WebSocket } from "ws";

const pki = (f: string) => readFileSync(new URL(`./fixtures/pki/${f}`, import.meta.url), "utf8");

/**
 * The TLS 1.3 cipher the apiserver picks: Go's server chooses by its own order, AES-128-GCM first
 * on hardware with AES instructions (crypto/tls handshake_server_tls13.go, defaultCipherSuitesTLS13),
 * where Node's server would take the client's first choice (AES-256-GCM from Node's client).
 */
const TLS13_GO_ORDER = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"];
export const APISERVER_TLS = {
  ciphers: [...TLS13_GO_ORDER, ...DEFAULT_CIPHERS.split(":").filter((c) => !TLS13_GO_ORDER.includes(c))].join(":"),
  honorCipherOrder: true,
};

export interface FakeContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface FakePod {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  phase?: "Pending" | "Running" | "Succeeded" | "Failed";
  ready?: boolean;
  deleting?: boolean;
  ports?: FakeContainerPort[];
  /** Init containers: `sidecar` ones have restartPolicy Always (Kubernetes sidecars), the others run to completion first. */
  initContainers?: Array<{ name: string; sidecar?: boolean; ports: FakeContainerPort[] }>;
  /** containerPort → local TCP port the fake "pod network namespace" dials. */
  backend: Record<number, number>;
}

export interface FakeServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

export interface FakeService {
  name: string;
  namespace?: string;
  selector?: Record<string, string>;
  ports: FakeServicePort[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  protocol?: string;
  /** Upgrades: whether the TLS connection resumed an earlier session (no full handshake). */
  resumed?: boolean;
}

export interface PortForwardFakeApi {
  url: string;
  kubeconfig: string;
  pods: Map<string, FakePod>;
  services: Map<string, FakeService>;
  requests: RecordedRequest[];
  /** Port-forward websockets open now. */
  openForwards(): number;
  addPod(pod: FakePod): void;
  deletePod(name: string, namespace?: string): void;
  addService(svc: FakeService): void;
  close(): Promise<void>;
}

const key = (ns: string | undefined, name: string) => `${ns ?? "default"}/${name}`;
const uidOf = (name: string) => {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `${h.toString(16).padStart(8, "0")}-1f2e-4c3d-8a9b-${name.length.toString(16).padStart(12, "0")}`;
};
const created = "2026-09-01T10:00:00Z";

/** A Pod as the API serves it (GET /api/v1/namespaces/NS/pods/NAME). */
export function podObject(p: FakePod): Record<string, unknown> {
  const ns = p.namespace ?? "default";
  const phase = p.phase ?? "Running";
  const ready = p.ready ?? phase === "Running";
  return {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      name: p.name,
      namespace: ns,
      uid: uidOf(p.name),
      resourceVersion: "1042",
      creationTimestamp: created,
      labels: p.labels,
      ...(p.deleting ? { deletionTimestamp: "2026-09-01T10:05:00Z", deletionGracePeriodSeconds: 30 } : {}),
    },
    spec: {
      containers: [
        {
          name: "app",
          image: "docker.io/library/nginx:1.29",
          ports: (p.ports ?? []).map((cp) => ({ ...cp, protocol: cp.protocol ?? "TCP" })),
          resources: {},
          terminationMessagePath: "/dev/termination-log",
          terminationMessagePolicy: "File",
          imagePullPolicy: "IfNotPresent",
        },
      ],
      ...(p.initContainers
        ? {
            initContainers: p.initContainers.map((c) => ({
              name: c.name,
              image: "docker.io/library/envoy:1.33",
              ...(c.sidecar ? { restartPolicy: "Always" } : {}),
              ports: c.ports.map((cp) => ({ ...cp, protocol: cp.protocol ?? "TCP" })),
            })),
          }
        : {}),
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      serviceAccountName: "default",
      nodeName: "k3ts-dev-server-0",
      schedulerName: "default-scheduler",
    },
    status: {
      phase,
      conditions: [
        { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: created },
        { type: "Initialized", status: "True", lastProbeTime: null, lastTransitionTime: created },
        { type: "ContainersReady", status: ready ? "True" : "False", lastProbeTime: null, lastTransitionTime: created },
        { type: "Ready", status: ready ? "True" : "False", lastProbeTime: null, lastTransitionTime: created },
      ],
      hostIP: "10.89.0.2",
      podIP: "10.42.0.9",
      podIPs: [{ ip: "10.42.0.9" }],
      startTime: created,
      qosClass: "BestEffort",
    },
  };
}

function serviceObject(s: FakeService): Record<string, unknown> {
  return {
    kind: "Service",
    apiVersion: "v1",
    metadata: { name: s.name, namespace: s.namespace ?? "default", uid: uidOf(`svc-${s.name}`), resourceVersion: "977", creationTimestamp: created },
    spec: {
      ...(s.selector ? { selector: s.selector } : {}),
      ports: s.ports.map((p) => ({ protocol: p.protocol ?? "TCP", ...p, targetPort: p.targetPort ?? p.port })),
      clusterIP: "10.43.12.7",
      clusterIPs: ["10.43.12.7"],
      type: "ClusterIP",
      sessionAffinity: "None",
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      internalTrafficPolicy: "Cluster",
    },
    status: { loadBalancer: {} },
  };
}

function status(res: ServerResponse, code: number, reason: string, message: string, details?: Record<string, unknown>): void {
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code }));
}

function matches(labels: Record<string, string>, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(",").every((term) => {
    const [k, v] = term.split("=");
    return k !== undefined && labels[k] === v;
  });
}

/** Pause a pod-side connection while this much is queued for the websocket; resume below LOW_WATER. */
const HIGH_WATER = 1 << 20;
const LOW_WATER = 1 << 18;

const le16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};

export async function startPortForwardFakeApi(): Promise<PortForwardFakeApi> {
  const pods = new Map<string, FakePod>();
  const services = new Map<string, FakeService>();
  const requests: RecordedRequest[] = [];
  const forwards = new Set<WebSocket>();

  const server: Server = createServer({ key: pki("server.key"), cert: pki("server.crt"), ca: pki("ca.crt"), requestCert: true, rejectUnauthorized: true, ...APISERVER_TLS }, (req, res) => {
    const url = new URL(req.url ?? "/", "https://x");
    requests.push({ method: req.method ?? "GET", path: url.pathname + url.search });
    let m: RegExpMatchArray | null;
    if (req.method !== "GET") return status(res, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    if ((m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)$/))) {
      const s = services.get(key(m[1], decodeURIComponent(m[2]!)));
      if (!s) return status(res, 404, "NotFound", `services "${m[2]}" not found`, { name: m[2], kind: "services" });
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(JSON.stringify(serviceObject(s)));
    }
    if ((m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/))) {
      const p = pods.get(key(m[1], decodeURIComponent(m[2]!)));
      if (!p) return status(res, 404, "NotFound", `pods "${m[2]}" not found`, { name: m[2], kind: "pods" });
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(JSON.stringify(podObject(p)));
    }
    if ((m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods$/))) {
      const ns = m[1];
      const items = [...pods.values()]
        .filter((p) => (p.namespace ?? "default") === ns && matches(p.labels, url.searchParams.get("labelSelector")))
        .map((p) => {
          const { kind: _k, apiVersion: _a, ...rest } = podObject(p);
          return rest;
        });
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "1050" }, items }));
    }
    status(res, 404, "NotFound", "the server could not find the requested resource");
  });

  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => (offered.has("v4.channel.k8s.io") ? "v4.channel.k8s.io" : offered.has("v4.base64.channel.k8s.io") ? "v4.base64.channel.k8s.io" : false),
  });

  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? "/", "https://x");
    const protocol = req.headers["sec-websocket-protocol"];
    const resumed = (socket as TLSSocket).isSessionReused();
    requests.push({ method: "UPGRADE", path: url.pathname + url.search, ...(typeof protocol === "string" ? { protocol } : {}), resumed });
    const reject = (code: number, reason: string, message: string, details?: Record<string, unknown>) => {
      const body = JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code });
      socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    const m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/);
    if (!m) return reject(404, "NotFound", "the server could not find the requested resource");
    const pod = pods.get(key(m[1], decodeURIComponent(m[2]!)));
    if (!pod) return reject(404, "NotFound", `pods "${m[2]}" not found`, { name: m[2], kind: "pods" });
    // A pod whose object stays but that no longer runs (completed, evicted, its node gone): the kubelet
    // writes the CRI's error as 500 (k8s.io/kubelet/pkg/cri/streaming/errors.go WriteError).
    if ((pod.phase ?? "Running") !== "Running") return reject(500, "InternalError", `error: unable to upgrade connection: pod ${pod.name} is ${pod.phase}: sandbox container is not running`);
    const ports = url.searchParams.getAll("ports").flatMap((s) => s.split(",")).map(Number);
    if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) return reject(400, "BadRequest", 'query parameter "ports" is required');
    wss.handleUpgrade(req, socket, head, (ws) => {
      forwards.add(ws);
      ws.on("close", () => forwards.delete(ws));
      serveForward(ws, pod, ports);
    });
  });

  function serveForward(ws: WebSocket, pod: FakePod, ports: number[]): void {
    const base64 = ws.protocol === "v4.base64.channel.k8s.io";
    // Backpressure both ways, as the kubelet's blocking copies give it: a pod-side connection stops
    // being read while its frames wait to be written to the websocket, and the websocket stops being
    // read while a pod-side connection cannot take more.
    let unsent = 0;
    const paused = new Set<Socket>();
    const waiting = new Set<Socket>();
    const sent = () => {
      if (unsent >= LOW_WATER) return;
      for (const c of paused) c.resume();
      paused.clear();
    };
    const send = (channel: number, payload: Buffer, from?: Socket) => {
      if (ws.readyState !== ws.OPEN) return;
      // The kubelet copies each read into a new frame behind the channel byte (wsstream's Write), and so does this.
      const frame = base64 ? String.fromCharCode(48 + channel) + payload.toString("base64") : Buffer.concat([Buffer.from([channel]), payload]);
      const size = frame.length;
      unsent += size;
      ws.send(frame, () => {
        unsent -= size;
        sent();
      });
      if (from && unsent > HIGH_WATER) {
        from.pause();
        paused.add(from);
      }
    };
    ports.forEach((p, i) => {
      send(2 * i, le16(p));
      send(2 * i + 1, le16(p));
    });
    let open = ports.length;
    const done = () => {
      if (--open === 0) ws.close(1000);
    };
    const conns = ports.map((port, i) => {
      const local = pod.backend[port];
      const conn = connect({ host: "127.0.0.1", port: local ?? 1 });
      let finished = false;
      let grace: NodeJS.Timeout | undefined;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(grace);
        conn.destroy();
        if (waiting.delete(conn) && waiting.size === 0) ws.resume();
        done();
      };
      // One direction ended: the other gets up to a second (containerd's portForward).
      const oneEnded = () => {
        grace ??= setTimeout(finish, 1000);
      };
      conn.on("data", (d: Buffer) => send(2 * i, d, conn));
      conn.on("end", oneEnded);
      conn.on("close", finish);
      conn.on("error", (err: Error) => {
        if (!finished) {
          const id = uidOf(pod.name);
          send(
            2 * i + 1,
            Buffer.from(
              `error forwarding port ${port} to pod ${id.replace(/-/g, "")}, uid : failed to execute portforward in network namespace "/var/run/netns/cni-${id}": failed to connect to localhost:${port} inside namespace "${id}", IPv4: ${err.message} IPv6 dial tcp6 [::1]:${port}: connect: connection refused `,
            ),
          );
        }
        finish();
      });
      return { conn, oneEnded };
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      let buf = data;
      if (!isBinary) {
        const s = data.toString();
        buf = Buffer.concat([Buffer.from([s.charCodeAt(0) - 48]), Buffer.from(s.slice(1), "base64")]);
      }
      const channel = buf[0]!;
      if (channel % 2 !== 0) return; // the client writes only to data channels
      const conn = conns[channel / 2]?.conn;
      if (conn && !conn.write(buf.subarray(1)) && !waiting.has(conn)) {
        waiting.add(conn);
        ws.pause();
        conn.once("drain", () => {
          waiting.delete(conn);
          if (waiting.size === 0) ws.resume();
        });
      }
    });
    ws.on("close", () => {
      for (const c of conns) {
        c.conn.end();
        c.oneEnded();
      }
    });
    ws.on("error", () => {});
  }

  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const kubeconfig = [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${b64(pki("ca.crt"))}`,
    `    server: ${url}`,
    "  name: k3ts-fake",
    "contexts:",
    "- context:",
    "    cluster: k3ts-fake",
    "    user: k3ts-fake",
    "  name: k3ts-fake",
    "current-context: k3ts-fake",
    "preferences: {}",
    "users:",
    "- name: k3ts-fake",
    "  user:",
    `    client-certificate-data: ${b64(pki("client.crt"))}`,
    `    client-key-data: ${b64(pki("client.key"))}`,
    "",
  ].join("\n");

  return {
    url,
    kubeconfig,
    pods,
    services,
    requests,
    openForwards: () => forwards.size,
    addPod: (p) => pods.set(key(p.namespace, p.name), p),
    deletePod: (name, ns) => pods.delete(key(ns, name)),
    addService: (s) => services.set(key(s.namespace, s.name), s),
    close: async () => {
      for (const ws of forwards) ws.terminate();
      wss.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
