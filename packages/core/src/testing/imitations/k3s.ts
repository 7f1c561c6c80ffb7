/**
 * A small imitation of k3s for the memory runtime: enough of a server and an agent for k3ts's lifecycle to run whole
 * without an engine (create, join, node add and delete, stop and start, NodeHosts, the registry ConfigMap). It is a
 * strict double of the rules k3ts depends on, each from k3s's sources:
 *
 * - the node's command is k3ts's entrypoint script, which must be in the node and executable and end by handing its
 *   arguments to k3s (`exec /bin/k3s "$@"`); `server` or `agent` comes first;
 * - the token comes from `--token`/`K3S_TOKEN` or the file `--token-file`/`K3S_TOKEN_FILE` names (trimmed); a token
 *   file that cannot be read is fatal (pkg/cli/cmds, pkg/util/token); an agent needs `--server`/`K3S_URL` ("--server
 *   is required", pkg/cli/agent); a joiner whose token the server refuses is told 401 and tries again, as the agent's
 *   supervisor does, and says so in its log;
 * - a server writes its kubeconfig (`K3S_KUBECONFIG_OUTPUT`, default /etc/rancher/k3s/k3s.yaml; mode 0600) once its
 *   API answers, with `https://127.0.0.1:6443` and the cluster CA, client certificate and key (pkg/server/server.go);
 * - the API (HTTPS on 6443) takes only clients with a certificate of the cluster CA (k3s runs the apiserver with
 *   anonymous auth off: 401 otherwise); /readyz, Nodes (list, get, delete), ConfigMaps (get, create, update with
 *   resourceVersion, 409 on a stale one, server-side apply with a fieldManager, delete) in the namespaces that exist;
 * - a node registers under its hostname (or `--node-name`/`K3S_NODE_NAME`), lower case, with its `--node-label`s,
 *   its address on the node's network as InternalIP, and the roles k3s gives (control-plane, master; etcd with
 *   embedded etcd); it is Ready while it reports in and NotReady a little after it stopped (kubelet: 40 s; here
 *   NOT_READY_AFTER_MS);
 * - the `kube-system/coredns` ConfigMap is there unless `--disable coredns`; its `NodeHosts` is the node controller's
 *   (pkg/node/controller.go updateCoreDNSConfigMap): one `IP NAME` line per node, a line for the same address
 *   replaced, a node's old line dropped when its address changes, a deleted node's removed, other lines kept;
 * - objects are kept in the server's filesystem (/var/lib/rancher/k3s/server/db), so they outlive a restart and go
 *   with the node; joined servers serve the API by forwarding to the first server (a stand-in for etcd's quorum: the
 *   API is gone while the first server is).
 *
 * Not imitated: pods and every other kind of object (404), watches, etcd itself, certificates made per cluster (the
 * PKI is the caller's, one for every cluster), the supervisor's real endpoints (a join is one request here).
 */
import { randomUUID } from "node:crypto";
import { request as httpRequest, type IncomingMessage, type RequestOptions, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server } from "node:https";
import { posix } from "node:path";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import { FsError } from "../memory/fs.js";
import { splice } from "../memory/io.js";
import { type Machine, type Program, type ProcessContext, unsupported } from "../memory/programs.js";

/** The cluster's certificates, PEM: a CA, the API's serving pair (SAN 127.0.0.1 and localhost), an admin client pair. */
export interface K3sImitationPki {
  /** The CA that signs the other two and that the API checks clients against. */
  ca: string;
  /** The API's serving certificate and key. */
  serverCert: string;
  serverKey: string;
  /** The admin's client certificate and key, written into the kubeconfig. */
  clientCert: string;
  clientKey: string;
}

/** How the k3s imitation runs. */
export interface K3sImitationOptions {
  /** The certificates every cluster of this image uses. */
  pki: K3sImitationPki;
  /** The version the nodes report (kubeletVersion); default v1.31.5+k3s1. */
  version?: string;
}

const API_PORT = 6443;
const DB = "/var/lib/rancher/k3s/server/db/imitation.json";
const DEFAULT_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml";
const ENTRYPOINT_END = 'exec /bin/k3s "$@"';
const NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];
/** How often a node reports in. */
const REPORT_EVERY_MS = 500;
/** How long after its last report a node of the k3s imitation is no longer Ready (the kubelet's grace is 40 s). */
export const NOT_READY_AFTER_MS = 3000;
const CONFLICT = "the object has been modified; please apply your changes to the latest version and try again";

interface KubeObject {
  apiVersion: "v1";
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string; managedFields?: unknown };
  data?: Record<string, string>;
  status?: unknown;
}

interface Db {
  revision: number;
  nodes: Record<string, KubeObject & { reportedAt: number }>;
  configMaps: Record<string, KubeObject & { manager?: string }>;
}

class Fatal extends Error {}

function log(ctx: ProcessContext, level: "info" | "error" | "fatal", msg: string): Promise<void> {
  return ctx.io.stderr.write(`time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}\n`);
}

/** k3s's flags as the imitation reads them: `--flag value`, `--flag=value`, repeatable ones collected. */
function readFlags(args: string[]): { values: Map<string, string[]>; switches: Set<string> } {
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  const takesValue = new Set(["token", "token-file", "server", "node-name", "node-label", "node-taint", "tls-san", "disable", "kubelet-arg", "kube-apiserver-arg", "node-ip", "data-dir", "write-kubeconfig", "write-kubeconfig-mode", "flannel-backend", "cluster-cidr", "service-cidr"]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^--?([a-z0-9-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new Fatal(`Error: unexpected argument ${JSON.stringify(arg)}`);
    const name = m[1]!;
    if (takesValue.has(name)) {
      const value = m[2] ?? args[++i];
      if (value === undefined) throw new Fatal(`Incorrect Usage: flag needs an argument: -${name}`);
      values.set(name, [...(values.get(name) ?? []), value]);
    } else switches.add(name);
  }
  return { values, switches };
}

function readToken(ctx: ProcessContext, flags: ReturnType<typeof readFlags>): string {
  const given = flags.values.get("token")?.at(-1) ?? ctx.env.K3S_TOKEN;
  if (given) return given.trim();
  const file = flags.values.get("token-file")?.at(-1) ?? ctx.env.K3S_TOKEN_FILE;
  if (!file) return "";
  try {
    const text = ctx.machine.fs.read(file).content.toString("utf8").trim();
    if (!text) throw new Fatal(`Error: token file ${file} is empty`);
    return text;
  } catch (err) {
    if (err instanceof FsError) throw new Fatal(`Error: open ${file}: no such file or directory`);
    throw err;
  }
}

/** The password a token carries: `K10<hash>::<user>:<password>` or the token itself (pkg/util/token). */
const password = (token: string) => /^K10[0-9a-f]+::[^:]+:(.+)$/.exec(token)?.[1] ?? token;

function kubeconfig(pki: K3sImitationPki): string {
  const b64 = (pem: string) => Buffer.from(pem).toString("base64");
  return [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${b64(pki.ca)}`,
    `    server: https://127.0.0.1:${API_PORT}`,
    "  name: default",
    "contexts:",
    "- context:",
    "    cluster: default",
    "    user: default",
    "  name: default",
    "current-context: default",
    "kind: Config",
    "preferences: {}",
    "users:",
    "- name: default",
    "  user:",
    `    client-certificate-data: ${b64(pki.clientCert)}`,
    `    client-key-data: ${b64(pki.clientKey)}`,
    "",
  ].join("\n");
}

function disabled(flags: ReturnType<typeof readFlags>, what: string): boolean {
  return (flags.values.get("disable") ?? []).some((v) => v.split(",").map((s) => s.trim()).includes(what));
}

/** The node controller's NodeHosts after one node's address (or its removal). */
export function nodeHostsAfter(current: string, name: string, ip: string | undefined): string {
  const byIP = new Map<string, string>();
  for (const raw of current.split("\n")) {
    const fields = (raw.split("#")[0] ?? "").trim().split(/\s+/).filter(Boolean);
    if (fields.length < 2) continue;
    if (fields[1] === name && fields[0] !== ip) continue;
    byIP.set(fields[0]!, fields.slice(1).join(" "));
  }
  if (ip) byIP.set(ip, name);
  const key = (a: string) => a.split(".").map((n) => n.padStart(3, "0")).join(".");
  return [...byIP.keys()]
    .sort((a, b) => key(a).localeCompare(key(b)))
    .map((a) => `${a} ${byIP.get(a)}\n`)
    .join("");
}

/** The first server's API and object store. */
class ApiServer {
  private readonly server: Server;

  constructor(
    private readonly machine: Machine,
    private readonly opts: Required<K3sImitationOptions>,
    private readonly token: string,
    private readonly coredns: boolean,
  ) {
    const { pki } = opts;
    this.server = createHttpsServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      void this.handle(req, res).catch((err: unknown) => this.send(res, 500, status(500, "InternalError", (err as Error).message)));
    });
  }

  get httpsServer(): Server {
    return this.server;
  }

  private read(): Db {
    try {
      return JSON.parse(this.machine.fs.read(DB).content.toString("utf8")) as Db;
    } catch (err) {
      if (!(err instanceof FsError)) throw err;
      return { revision: 1, nodes: {}, configMaps: {} };
    }
  }

  private write(db: Db): void {
    this.machine.fs.write(DB, Buffer.from(JSON.stringify(db)), 0o600);
  }

  private bump(db: Db, obj: KubeObject): void {
    db.revision++;
    obj.metadata.resourceVersion = String(db.revision);
  }

  /** What k3s does at every server start: the coredns ConfigMap applied (NodeHosts kept). */
  start(): void {
    const db = this.read();
    if (this.coredns && !db.configMaps["kube-system/coredns"]) {
      const cm: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "coredns", namespace: "kube-system", uid: randomUUID(), creationTimestamp: new Date().toISOString() }, data: { Corefile: ".:53 {\n    hosts /etc/coredns/NodeHosts {\n      ttl 60\n      reload 15s\n      fallthrough\n    }\n    forward . /etc/resolv.conf\n}\n", NodeHosts: "" } };
      this.bump(db, cm);
      db.configMaps["kube-system/coredns"] = cm;
      for (const node of Object.values(db.nodes)) this.syncNodeHosts(db, node.metadata.name, internalIP(node));
    }
    this.write(db);
  }

  /** A node reporting in (kubelet registration and status): made, or its address and labels brought up to date. */
  report(name: string, ip: string | undefined, labels: Record<string, string>): void {
    const db = this.read();
    const old = db.nodes[name];
    const addresses = [...(ip ? [{ type: "InternalIP", address: ip }] : []), { type: "Hostname", address: name }];
    const moved = internalIP(old) !== ip;
    const node = {
      apiVersion: "v1" as const,
      kind: "Node",
      metadata: { ...(old?.metadata ?? { uid: randomUUID(), creationTimestamp: new Date().toISOString() }), name, labels: { ...old?.metadata.labels, ...labels } },
      status: { addresses, nodeInfo: { kubeletVersion: this.opts.version, operatingSystem: "linux" } },
      reportedAt: Date.now(),
    };
    if (!old || moved || JSON.stringify(old.metadata.labels) !== JSON.stringify(node.metadata.labels)) this.bump(db, node);
    db.nodes[name] = node;
    if (moved) this.syncNodeHosts(db, name, ip);
    this.write(db);
  }

  private syncNodeHosts(db: Db, name: string, ip: string | undefined): void {
    const cm = db.configMaps["kube-system/coredns"];
    if (!cm) return;
    const next = nodeHostsAfter(cm.data?.NodeHosts ?? "", name, ip);
    if (next === (cm.data?.NodeHosts ?? "")) return;
    cm.data = { ...cm.data, NodeHosts: next };
    this.bump(db, cm);
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(code, { "content-type": typeof body === "string" ? "text/plain" : "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://k3s");
    const body = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c)).on("end", () => resolve(Buffer.concat(chunks).toString("utf8"))).on("error", reject);
    });
    const method = req.method ?? "GET";
    if (url.pathname === "/v1-k3s/imitation/join") return this.join(req, res, body);
    const socket = req.socket as IncomingMessage["socket"] & { authorized?: boolean };
    if (!socket.authorized) return this.send(res, 401, status(401, "Unauthorized", "Unauthorized"));
    if (url.pathname === "/readyz" || url.pathname === "/livez" || url.pathname === "/healthz") return this.send(res, 200, "ok");
    const db = this.read();
    const nodes = /^\/api\/v1\/nodes(?:\/([^/]+))?$/.exec(url.pathname);
    if (nodes) return this.nodes(res, db, method, nodes[1]);
    const cms = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/.exec(url.pathname);
    if (cms) return this.configMaps(req, res, db, method, decodeURIComponent(cms[1]!), cms[2] && decodeURIComponent(cms[2]), body, url);
    this.send(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
  }

  private join(req: IncomingMessage, res: ServerResponse, body: string): void {
    const auth = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const given = auth ? Buffer.from(auth, "base64").toString("utf8").split(":").slice(1).join(":") : "";
    if (password(given) !== password(this.token)) return this.send(res, 401, status(401, "Unauthorized", "Unauthorized"));
    const { name, ip, labels } = JSON.parse(body) as { name: string; ip?: string; labels: Record<string, string> };
    this.report(name, ip, labels);
    this.send(res, 200, { ok: true });
  }

  private nodes(res: ServerResponse, db: Db, method: string, name: string | undefined): void {
    const view = (n: Db["nodes"][string]) => {
      const { reportedAt, ...obj } = n;
      const ready = Date.now() - reportedAt < NOT_READY_AFTER_MS;
      return { ...obj, status: { ...(obj.status as object), conditions: [{ type: "Ready", status: ready ? "True" : "Unknown", reason: ready ? "KubeletReady" : "NodeStatusUnknown" }] } };
    };
    if (!name) {
      if (method !== "GET") return this.send(res, 405, status(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`));
      return this.send(res, 200, { apiVersion: "v1", kind: "NodeList", metadata: { resourceVersion: String(db.revision) }, items: Object.values(db.nodes).map(view) });
    }
    const node = db.nodes[name];
    if (!node) return this.send(res, 404, status(404, "NotFound", `nodes "${name}" not found`, { name, kind: "nodes" }));
    if (method === "GET") return this.send(res, 200, view(node));
    if (method === "DELETE") {
      delete db.nodes[name];
      this.syncNodeHosts(db, name, undefined);
      db.revision++;
      this.write(db);
      return this.send(res, 200, { apiVersion: "v1", kind: "Status", status: "Success", details: { name, kind: "nodes" } });
    }
    this.send(res, 405, status(405, "MethodNotAllowed", "the imitation takes GET and DELETE of a Node"));
  }

  private configMaps(req: IncomingMessage, res: ServerResponse, db: Db, method: string, ns: string, name: string | undefined, body: string, url: URL): void {
    if (!NAMESPACES.includes(ns)) return this.send(res, 404, status(404, "NotFound", `namespaces "${ns}" not found`, { name: ns, kind: "namespaces" }));
    const key = `${ns}/${name}`;
    const found = name ? db.configMaps[key] : undefined;
    const notFound = () => this.send(res, 404, status(404, "NotFound", `configmaps "${name}" not found`, { name, kind: "configmaps" }));
    const save = (cm: KubeObject & { manager?: string }, code: number) => {
      this.bump(db, cm);
      db.configMaps[`${ns}/${cm.metadata.name}`] = cm;
      this.write(db);
      const { manager: _manager, ...shown } = cm;
      this.send(res, code, shown);
    };
    const parsed = () => JSON.parse(body) as KubeObject;
    if (!name) {
      if (method === "GET") return this.send(res, 200, { apiVersion: "v1", kind: "ConfigMapList", metadata: { resourceVersion: String(db.revision) }, items: Object.entries(db.configMaps).filter(([k]) => k.startsWith(`${ns}/`)).map(([, v]) => v) });
      if (method !== "POST") return this.send(res, 405, status(405, "MethodNotAllowed", "the imitation takes GET and POST of ConfigMaps"));
      const cm = parsed();
      if (db.configMaps[`${ns}/${cm.metadata.name}`]) return this.send(res, 409, status(409, "AlreadyExists", `configmaps "${cm.metadata.name}" already exists`));
      return save({ ...cm, metadata: { ...cm.metadata, namespace: ns, uid: randomUUID(), creationTimestamp: new Date().toISOString() } }, 201);
    }
    if (method === "GET") return found ? this.send(res, 200, { ...found, manager: undefined }) : notFound();
    if (method === "DELETE") {
      if (!found) return notFound();
      delete db.configMaps[key];
      db.revision++;
      this.write(db);
      return this.send(res, 200, { apiVersion: "v1", kind: "Status", status: "Success" });
    }
    if (method === "PUT") {
      if (!found) return notFound();
      const cm = parsed();
      if (cm.metadata.resourceVersion && cm.metadata.resourceVersion !== found.metadata.resourceVersion) {
        return this.send(res, 409, status(409, "Conflict", `Operation cannot be fulfilled on configmaps "${name}": ${CONFLICT}`));
      }
      return save({ ...cm, metadata: { ...found.metadata, ...cm.metadata, namespace: ns, name } }, 200);
    }
    if (method === "PATCH") {
      if (req.headers["content-type"] !== "application/apply-patch+yaml") return this.send(res, 415, status(415, "UnsupportedMediaType", `the imitation takes server-side apply only, not ${String(req.headers["content-type"])}`));
      const manager = url.searchParams.get("fieldManager");
      if (!manager) return this.send(res, 422, status(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"));
      const cm = parsed();
      if (found && found.manager !== manager && url.searchParams.get("force") !== "true") return this.send(res, 409, status(409, "Conflict", `Apply failed with 1 conflict: conflict with "${found.manager}"`));
      return save({ ...cm, apiVersion: "v1", kind: "ConfigMap", manager, metadata: { ...found?.metadata, ...cm.metadata, namespace: ns, name, ...(found ? {} : { uid: randomUUID(), creationTimestamp: new Date().toISOString() }) } }, found ? 200 : 201);
    }
    this.send(res, 405, status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));
  }
}

function status(code: number, reason: string, message: string, details?: object) {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code, ...(details ? { details } : {}) };
}

function internalIP(node: KubeObject | undefined): string | undefined {
  return ((node?.status as { addresses?: Array<{ type: string; address: string }> } | undefined)?.addresses ?? []).find((a) => a.type === "InternalIP")?.address;
}

/** A request to a server's API port over the memory network, as a joiner's supervisor makes it: TLS, the token as basic auth. */
function supervisorRequest(machine: Machine, target: URL, token: string, body: object, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const port = Number(target.port || API_PORT);
    const req = httpRequest(
      {
        host: target.hostname,
        port,
        path: "/v1-k3s/imitation/join",
        method: "POST",
        signal,
        timeout: 5000,
        headers: { authorization: `Basic ${Buffer.from(`node:${token}`).toString("base64")}`, "content-type": "application/json" },
        createConnection: (_options: unknown, done: (err: Error | null, socket?: Duplex) => void) => {
          machine.connect(target.hostname, port).then(
            (socket) => done(null, tlsConnect({ socket, rejectUnauthorized: false })),
            (err: Error) => done(err),
          );
          return undefined;
        },
      } as RequestOptions,
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("no answer within 5 s")));
    req.end(JSON.stringify(body));
  });
}

/** Waits for the signal (the node stopping): rejects with its reason. */
const stopped = (signal: AbortSignal) => new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));

/** Calls `fn` every `ms` until the signal fires. */
async function every(ms: number, signal: AbortSignal, fn: () => Promise<void>): Promise<never> {
  for (;;) {
    await fn();
    await Promise.race([new Promise((r) => setTimeout(r, ms)), stopped(signal)]);
  }
}

async function k3s(args: string[], ctx: ProcessContext, opts: Required<K3sImitationOptions>): Promise<number> {
  const { machine, signal } = ctx;
  const role = args[0];
  if (role !== "server" && role !== "agent") throw new Fatal(`No help topic for '${role ?? ""}'`);
  const flags = readFlags(args.slice(1));
  let token = readToken(ctx, flags);
  const serverUrl = flags.values.get("server")?.at(-1) ?? ctx.env.K3S_URL;
  if (role === "agent" && !serverUrl) throw new Fatal("Error: --server is required");
  if (serverUrl && !token) throw new Fatal("Error: --token is required");
  const name = (flags.values.get("node-name")?.at(-1) ?? ctx.env.K3S_NODE_NAME ?? ctx.env.HOSTNAME ?? "").toLowerCase();
  const etcd = role === "server" && (flags.switches.has("cluster-init") || serverUrl !== undefined);
  const labels: Record<string, string> = {
    "kubernetes.io/hostname": name,
    "kubernetes.io/os": "linux",
    ...(role === "server" ? { "node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true" } : {}),
    ...(etcd ? { "node-role.kubernetes.io/etcd": "true" } : {}),
  };
  for (const l of flags.values.get("node-label") ?? []) {
    const [k = "", ...v] = l.split("=");
    labels[k] = v.join("=");
  }
  const writeKubeconfig = () => machine.fs.write(ctx.env.K3S_KUBECONFIG_OUTPUT ?? flags.values.get("write-kubeconfig")?.at(-1) ?? DEFAULT_KUBECONFIG, Buffer.from(kubeconfig(opts.pki)), 0o600);
  await log(ctx, "info", `Starting k3s ${opts.version} (imitation)`);

  if (role === "server" && !serverUrl) {
    if (!token) {
      token = `K10${"0".repeat(64)}::server:${randomUUID().replace(/-/g, "")}`;
      machine.fs.write("/var/lib/rancher/k3s/server/token", Buffer.from(`${token}\n`), 0o600);
    }
    const api = new ApiServer(machine, opts, token, !disabled(flags, "coredns"));
    const stop = await machine.listen(API_PORT, (socket) => api.httpsServer.emit("connection", socket));
    if (!stop) throw new Fatal(`starting kubernetes: listen tcp :${API_PORT}: bind: address already in use`);
    try {
      api.start();
      writeKubeconfig();
      await log(ctx, "info", "k3s is up and running");
      return await every(REPORT_EVERY_MS, signal, async () => api.report(name, machine.address(), labels));
    } finally {
      stop();
    }
  }

  // A joiner: its supervisor reaches the server with the token until it is let in, then reports in.
  const target = new URL(serverUrl!);
  let refusal = "";
  const join = async (): Promise<boolean> => {
    const said = await supervisorRequest(machine, target, token, { name, ip: machine.address(), labels }, signal).then(
      (code) => (code === 200 ? "" : code === 401 ? `token is not valid (${serverUrl} answered 401 Unauthorized)` : `${serverUrl} answered ${code}`),
      (err: Error) => `failed to reach ${serverUrl}: ${err.message}`,
    );
    if (said && said !== refusal) await log(ctx, "error", `Failed to validate connection to cluster at ${serverUrl}: ${said}`);
    refusal = said;
    return said === "";
  };
  while (!(await join())) await Promise.race([new Promise((r) => setTimeout(r, REPORT_EVERY_MS)), stopped(signal)]);
  let stop: (() => void) | undefined;
  if (role === "server") {
    // The joined server's API: the first server's, forwarded (its store stands in for etcd's).
    stop = await machine.listen(API_PORT, (client) => {
      client.on("error", () => client.destroy());
      machine.connect(target.hostname, Number(target.port || API_PORT)).then(
        (upstream) => splice(client, upstream),
        () => client.destroy(),
      );
    });
    if (!stop) throw new Fatal(`starting kubernetes: listen tcp :${API_PORT}: bind: address already in use`);
    writeKubeconfig();
  }
  try {
    await log(ctx, "info", role === "server" ? "k3s is up and running" : "k3s agent is up and running");
    return await every(REPORT_EVERY_MS, signal, async () => void (await join()));
  } finally {
    stop?.();
  }
}

/** The node's command is k3ts's entrypoint: it must be there, executable, and hand its arguments to /bin/k3s. */
async function throughEntrypoint(argv: string[], ctx: ProcessContext): Promise<string[] | number> {
  const [first = "", ...rest] = argv;
  if (first === "k3s" || first === "/bin/k3s") return rest;
  const file = posix.resolve(ctx.cwd, first);
  const stat = ctx.machine.fs.stat(file);
  if (stat?.kind !== "file") {
    await ctx.io.stderr.write(`exec ${first}: no such file or directory\n`);
    return 127;
  }
  if ((stat.mode & 0o111) === 0) {
    await ctx.io.stderr.write(`exec ${first}: permission denied\n`);
    return 126;
  }
  const script = ctx.machine.fs.read(file).content.toString("utf8");
  if (!script.startsWith("#!/bin/sh") || !script.trimEnd().endsWith(ENTRYPOINT_END)) throw unsupported(`an entrypoint that does not end in ${ENTRYPOINT_END}`);
  return rest;
}

/**
 * The k3s imitation as a memory image's programs: `main` plays a node's start-up (k3ts's entrypoint, then k3s),
 * `programs.k3s` answers exec. Give it to `createMemoryRuntime({ images: [{ ref, ...k3sImitation({ pki }) }] })`.
 */
export function k3sImitation(options: K3sImitationOptions): { main: Program; programs: Record<string, Program> } {
  const opts: Required<K3sImitationOptions> = { version: "v1.31.5+k3s1", ...options };
  const run = async (args: string[], ctx: ProcessContext): Promise<number> => {
    try {
      return await k3s(args, ctx, opts);
    } catch (err) {
      if (!(err instanceof Fatal)) throw err;
      await log(ctx, "fatal", err.message);
      return 1;
    }
  };
  return {
    main: async (argv, ctx) => {
      const args = await throughEntrypoint(argv, ctx);
      return typeof args === "number" ? args : run(args, ctx);
    },
    programs: { k3s: run },
  };
}
