/**
 * Endpoints: a local TCP port (127.0.0.1 by default) forwarded to a Service or a Pod in the cluster
 * over the port-forward protocol (./portforward.ts), one websocket per accepted connection.
 *
 * A Service is resolved as kubectl resolves `svc/NAME`: its port (by name or number) gives the
 * targetPort (a number, or a container port's name looked up in the pod); its selector lists the
 * pods, and the first one Running, Ready and not being deleted is the target. Unlike kubectl, the
 * target is not fixed at start: when a connection finds its pod gone (the upgrade answers 404/400,
 * or the error channel reports a failure), the target is forgotten and looked up again, so the
 * next connection (and the failed one, when nothing was sent yet) goes to the pod that replaced it.
 */
import { EventEmitter } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import type { CoreV1Api, KubeConfig, V1Pod, V1ServicePort } from "@kubernetes/client-node";
import { K3tsError, abortedError, isK3tsError, raceAbort, silentLogger, type Logger } from "@k3ts/core";
import type WebSocket from "ws";
import { dialPortForward, isPodGone, pipeSocket } from "./portforward.js";

export interface EndpointOptions {
  /** Default: the kubeconfig context's namespace, else `default`. */
  namespace?: string;
  /** The local port. Default: a free one, chosen by the system (read it from `endpoint.port`). */
  localPort?: number;
  /** The local address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Aborting closes the endpoint (as `close()`); a `ready` still pending rejects with ABORTED. */
  signal?: AbortSignal;
  /** The scheme of `endpoint.url`. Default `http`. The forward itself is plain TCP. */
  scheme?: string;
  /** How often to look again while no backing pod is ready. Default 1000 ms. */
  pollIntervalMs?: number;
  /** How long a new connection may wait for a ready pod and the websocket upgrade. Default 30 s. */
  connectTimeoutMs?: number;
  /** After the local client ends its writes, how long the pod may stay silent before the forward closes. Default 1000 ms. */
  halfCloseGraceMs?: number;
  /** Where failed connections are reported when nothing listens to `error`. */
  logger?: Logger;
}

export interface ForwardServiceOptions extends EndpointOptions {
  service: string;
  /** The Service's port: its name, or its number (`port`, not `targetPort`). */
  port: number | string;
}

export interface ForwardPodOptions extends EndpointOptions {
  pod: string;
  /** A container port number, or the name of a container port. */
  port: number | string;
}

/** The pod and port the endpoint forwards to now. */
export interface EndpointTarget {
  namespace: string;
  pod: string;
  port: number;
}

export interface EndpointEvents {
  /** A connection failed (its local socket was destroyed). The endpoint keeps serving. */
  error: [err: K3tsError];
  /** A backing pod was found (first, or after the previous one went away). */
  target: [target: EndpointTarget];
}

/** Looks for the current target; undefined while none is ready. Throws K3tsErrors. */
type Resolver = (api: CoreV1Api) => Promise<EndpointTarget | undefined>;

const DEFAULTS = { host: "127.0.0.1", scheme: "http", pollIntervalMs: 1000, connectTimeoutMs: 30_000, halfCloseGraceMs: 1000 };
/** Retries of one connection after its pod turned out to be gone. */
const MOVES = 2;

/** A local port forwarded into the cluster. Close it with `close()` or `await using`. */
export class Endpoint extends EventEmitter<EndpointEvents> implements AsyncDisposable {
  /** The local address, e.g. `127.0.0.1`. */
  readonly host: string;
  /** The local port. */
  readonly port: number;
  /** `http://127.0.0.1:PORT` (the scheme from `options.scheme`). */
  readonly url: string;
  /**
   * Resolves with the first target once a backing pod is running (for a Service: Running and
   * Ready). Rejects when the Service or Pod cannot be forwarded (not found, no such port, no
   * selector, forbidden) or when the endpoint is closed first. Never an unhandled rejection.
   */
  readonly ready: Promise<EndpointTarget>;

  readonly #kc: KubeConfig;
  readonly #resolver: Resolver;
  readonly #what: string;
  readonly #server: Server;
  readonly #o: typeof DEFAULTS;
  readonly #logger: Logger;
  readonly #lifetime = new AbortController();
  readonly #sockets = new Set<Socket>();
  readonly #websockets = new Set<WebSocket>();
  #api: Promise<CoreV1Api> | undefined;
  #target: EndpointTarget | undefined;
  #resolving: Promise<EndpointTarget> | undefined;
  #closing: Promise<void> | undefined;
  #unlinkSignal: (() => void) | undefined;

  /** @internal Use {@link forwardService} or {@link forwardPod}. */
  constructor(kc: KubeConfig, server: Server, what: string, resolver: Resolver, options: EndpointOptions) {
    super();
    this.#kc = kc;
    this.#server = server;
    this.#what = what;
    this.#resolver = resolver;
    this.#o = { ...DEFAULTS, ...definedOnly(options) };
    this.#logger = options.logger ?? silentLogger;
    const address = server.address();
    this.host = options.host ?? DEFAULTS.host;
    this.port = typeof address === "object" && address ? address.port : 0;
    this.url = `${this.#o.scheme}://${this.host.includes(":") ? `[${this.host}]` : this.host}:${this.port}`;
    server.on("connection", (socket) => void this.#serve(socket));
    const signal = options.signal;
    if (signal) {
      const onAbort = () => void this.close(abortedError(signal, `endpoint ${what}`));
      signal.addEventListener("abort", onAbort, { once: true });
      this.#unlinkSignal = () => signal.removeEventListener("abort", onAbort);
    }
    this.ready = this.#current(this.#lifetime.signal);
    this.ready.catch(() => {});
  }

  /** The pod the next connection goes to, when one is known. */
  get target(): EndpointTarget | undefined {
    return this.#target;
  }

  /** Local connections open now. */
  get connections(): number {
    return this.#sockets.size;
  }

  /** True once `close()` was called (or the signal fired). */
  get closed(): boolean {
    return this.#lifetime.signal.aborted;
  }

  /** Stops listening, ends every forwarded connection and frees the port. Idempotent. */
  close(reason?: unknown): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#unlinkSignal?.();
    this.#lifetime.abort(reason ?? new K3tsError("ABORTED", `endpoint ${this.#what} was closed`));
    this.#closing = new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const ws of this.#websockets) ws.terminate();
      for (const s of this.#sockets) s.destroy();
    });
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #report(err: K3tsError): void {
    if (this.listenerCount("error") > 0) this.emit("error", err);
    else this.#logger.warn(err.message, { code: err.code, endpoint: this.#what });
  }

  #coreApi(): Promise<CoreV1Api> {
    this.#api ??= import("@kubernetes/client-node").then(({ CoreV1Api }) => this.#kc.makeApiClient(CoreV1Api));
    return this.#api;
  }

  /** The known target, or the one lookup every waiter shares (polling until a pod is ready). */
  #current(signal: AbortSignal): Promise<EndpointTarget> {
    if (this.#target) return Promise.resolve(this.#target);
    this.#resolving ??= this.#lookup().finally(() => {
      this.#resolving = undefined;
    });
    return raceAbort(this.#resolving, signal, `endpoint ${this.#what}`);
  }

  async #lookup(): Promise<EndpointTarget> {
    const api = await this.#coreApi();
    const signal = this.#lifetime.signal;
    for (;;) {
      if (signal.aborted) throw abortedError(signal, `endpoint ${this.#what}`);
      try {
        const found = await this.#resolver(api);
        if (found) {
          if (signal.aborted) throw abortedError(signal, `endpoint ${this.#what}`);
          this.#target = found;
          this.emit("target", found);
          return found;
        }
      } catch (err) {
        if (!isK3tsError(err) || permanent(err)) throw err;
        this.#logger.debug(`endpoint ${this.#what}: ${err.message}; looking again`);
      }
      await sleep(this.#o.pollIntervalMs, signal);
    }
  }

  #forget(target: EndpointTarget): void {
    if (this.#target === target) this.#target = undefined;
  }

  async #serve(socket: Socket): Promise<void> {
    if (this.closed) return void socket.destroy();
    this.#sockets.add(socket);
    const gone = new AbortController();
    socket.on("error", () => {});
    socket.once("close", () => {
      this.#sockets.delete(socket);
      gone.abort(new K3tsError("ABORTED", "the local client closed the connection"));
    });
    const signal = AbortSignal.any([gone.signal, this.#lifetime.signal, AbortSignal.timeout(this.#o.connectTimeoutMs)]);
    const fail = (err: unknown) => {
      if (!gone.signal.aborted && !this.closed) {
        this.#report(isK3tsError(err) ? err : new K3tsError("KUBE_API_ERROR", `endpoint ${this.#what}: ${String(err)}`, { cause: err }));
      }
      socket.destroy();
    };
    for (let move = 0; ; move++) {
      let target: EndpointTarget;
      try {
        target = await this.#current(signal);
      } catch (err) {
        const timedOut = isK3tsError(err, "ABORTED") && !gone.signal.aborted && !this.closed;
        return fail(timedOut ? new K3tsError("TIMEOUT", `endpoint ${this.#what}: no ready pod within ${this.#o.connectTimeoutMs} ms`, { cause: err }) : err);
      }
      let ws: WebSocket;
      try {
        ws = await dialPortForward(this.#kc, target, { timeoutMs: this.#o.connectTimeoutMs, signal });
      } catch (err) {
        if (isPodGone(err) && move < MOVES && !gone.signal.aborted && !this.closed) {
          // Nothing was sent yet: forget the pod and try the one that replaced it.
          this.#forget(target);
          this.#logger.debug(`endpoint ${this.#what}: ${(err as Error).message}; looking for another pod`);
          continue;
        }
        if (isPodGone(err)) this.#forget(target);
        return fail(err);
      }
      if (socket.destroyed || this.closed) {
        ws.terminate();
        return;
      }
      this.#websockets.add(ws);
      await pipeSocket(ws, socket, target, {
        halfCloseGraceMs: this.#o.halfCloseGraceMs,
        onError: (err) => {
          if (isPodGone(err)) this.#forget(target);
          this.#report(err);
        },
      });
      this.#websockets.delete(ws);
      return;
    }
  }
}

/** Errors that looking again will not fix: the caller's input or permissions. */
function permanent(err: K3tsError): boolean {
  if (err.code === "INVALID_ARGUMENT") return true;
  const status = err.meta.status;
  return err.code === "KUBE_API_ERROR" && (status === 401 || status === 403 || status === 404);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** client-node's ApiException (code + body with a JSON Status) or a transport failure, as a K3tsError. */
function apiError(err: unknown, what: string): K3tsError {
  if (isK3tsError(err)) return err;
  const e = err as { code?: unknown; body?: unknown; message?: string };
  if (typeof e.code === "number") {
    let message = typeof e.body === "string" ? e.body : "";
    let reason: string | undefined;
    try {
      const s = JSON.parse(message) as { message?: string; reason?: string };
      message = s.message ?? message;
      reason = s.reason;
    } catch {
      // not a Status
    }
    return new K3tsError("KUBE_API_ERROR", `${what}: ${message || `HTTP ${e.code}`}`, { cause: err, meta: { status: e.code, ...(reason ? { reason } : {}) } });
  }
  return new K3tsError("KUBE_API_ERROR", `${what}: ${e.message ?? String(err)}`, { cause: err });
}

function namespaceOf(kc: KubeConfig, options: EndpointOptions): string {
  return options.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
}

function checkPort(port: unknown, where: string): void {
  const ok = typeof port === "string" ? port.length > 0 : typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535;
  if (!ok) throw new K3tsError("INVALID_ARGUMENT", `${where}: want a port number (1-65535) or a port name, got ${JSON.stringify(port)}`, { meta: { where } });
}

function isRunning(pod: V1Pod): boolean {
  return pod.status?.phase === "Running" && !pod.metadata?.deletionTimestamp;
}

function isReady(pod: V1Pod): boolean {
  return isRunning(pod) && (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/**
 * A container port of the pod by name (TCP only), as the EndpointSlice controller finds a named
 * targetPort (kubernetes `pkg/api/v1/pod` `FindPort`): the containers first, then sidecars (init
 * containers with restartPolicy Always); plain init containers never serve.
 */
function namedPort(pod: V1Pod, name: string): number | undefined {
  const sidecars = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
  for (const c of [...(pod.spec?.containers ?? []), ...sidecars]) {
    for (const p of c.ports ?? []) if (p.name === name && (p.protocol ?? "TCP") === "TCP") return p.containerPort;
  }
  return undefined;
}

async function listen(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "EADDRINUSE") {
      throw new K3tsError("PORT_IN_USE", `localPort: ${host}:${port} is already in use`, { cause: err, meta: { host, port }, hint: "pick another localPort, or leave it out for a free one" });
    }
    throw new K3tsError("INVALID_ARGUMENT", `host/localPort: cannot listen on ${host}:${port}: ${err.message}`, { cause: err, meta: { where: "localPort", host, port } });
  });
}

async function open(kc: KubeConfig, what: string, resolver: Resolver, options: EndpointOptions): Promise<Endpoint> {
  if (options.signal?.aborted) throw abortedError(options.signal, `endpoint ${what}`);
  const localPort = options.localPort ?? 0;
  if (!Number.isInteger(localPort) || localPort < 0 || localPort > 65535) {
    throw new K3tsError("INVALID_ARGUMENT", `localPort: want 0-65535, got ${JSON.stringify(options.localPort)}`, { meta: { where: "localPort" } });
  }
  // pauseOnConnect: nothing is read from a client before its websocket is open.
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await listen(server, options.host ?? DEFAULTS.host, localPort);
  return new Endpoint(kc, server, what, resolver, options);
}

/**
 * Forwards a local port to a Service: `await (await forwardService(kc, { service: "web", port: 80 })).ready`.
 * Resolves once listening (so `url` and `port` are known); `ready` says when a pod backs it.
 */
export async function forwardService(kc: KubeConfig, options: ForwardServiceOptions): Promise<Endpoint> {
  if (!options.service) throw new K3tsError("INVALID_ARGUMENT", "service: a Service name is required", { meta: { where: "service" } });
  checkPort(options.port, "port");
  const namespace = namespaceOf(kc, options);
  const name = options.service;
  const what = `svc/${name}:${options.port} in ${namespace}`;
  const resolver: Resolver = async (api) => {
    const svc = await api.readNamespacedService({ name, namespace }).catch((err: unknown) => {
      throw apiError(err, `service ${namespace}/${name}`);
    });
    const ports = svc.spec?.ports ?? [];
    const sp: V1ServicePort | undefined = ports.find((p) => (typeof options.port === "number" ? p.port === options.port : p.name === options.port));
    if (!sp) {
      const have = ports.map((p) => `${p.name ? `${p.name} ` : ""}${p.port}/${p.protocol ?? "TCP"}`).join(", ") || "none";
      throw new K3tsError("INVALID_ARGUMENT", `port: service ${namespace}/${name} has no port ${JSON.stringify(options.port)} (it has ${have})`, { meta: { where: "port" } });
    }
    if ((sp.protocol ?? "TCP") !== "TCP") {
      throw new K3tsError("INVALID_ARGUMENT", `port: service ${namespace}/${name} port ${sp.port} is ${sp.protocol}; port-forwards carry TCP only`, { meta: { where: "port" } });
    }
    const selector = svc.spec?.selector ?? {};
    if (Object.keys(selector).length === 0) {
      throw new K3tsError("INVALID_ARGUMENT", `service: ${namespace}/${name} has no selector, so no pods to forward to`, {
        meta: { where: "service" },
        hint: "forward to a pod with forwardPod",
      });
    }
    const labelSelector = Object.entries(selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const list = await api.listNamespacedPod({ namespace, labelSelector }).catch((err: unknown) => {
      throw apiError(err, `pods of service ${namespace}/${name}`);
    });
    const target = sp.targetPort ?? sp.port;
    for (const pod of list.items.filter(isReady)) {
      const port = typeof target === "number" ? target : /^\d+$/.test(target) ? Number(target) : namedPort(pod, target);
      if (port !== undefined && pod.metadata?.name) return { namespace, pod: pod.metadata.name, port };
    }
    return undefined;
  };
  return open(kc, what, resolver, options);
}

/** Forwards a local port to a pod's port (a number, or a container port's name). `ready` waits until the pod is Running. */
export async function forwardPod(kc: KubeConfig, options: ForwardPodOptions): Promise<Endpoint> {
  if (!options.pod) throw new K3tsError("INVALID_ARGUMENT", "pod: a Pod name is required", { meta: { where: "pod" } });
  checkPort(options.port, "port");
  const namespace = namespaceOf(kc, options);
  const name = options.pod;
  const what = `pod/${name}:${options.port} in ${namespace}`;
  const resolver: Resolver = async (api) => {
    const pod = await api.readNamespacedPod({ name, namespace }).catch((err: unknown) => {
      throw apiError(err, `pod ${namespace}/${name}`);
    });
    if (!isRunning(pod)) return undefined;
    if (typeof options.port === "number") return { namespace, pod: name, port: options.port };
    const port = namedPort(pod, options.port);
    if (port === undefined) throw new K3tsError("INVALID_ARGUMENT", `port: pod ${namespace}/${name} has no TCP container port named ${options.port}`, { meta: { where: "port" } });
    return { namespace, pod: name, port };
  };
  return open(kc, what, resolver, options);
}

