/** Published ports as real host listeners (TCP handed to the node, UDP bound); the files httpd serves. */
import { createSocket } from "node:dgram";
import { STATUS_CODES } from "node:http";
import { createServer, type Socket } from "node:net";
import { posix } from "node:path";
import { K3tsError } from "../../errors.js";
import type { PortMapping, PublishedPort } from "../../types.js";
import type { NodeFs } from "./fs.js";
import type { HttpReply } from "./programs.js";
import { errorMessage } from "./util.js";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html",
  ".txt": "text/plain",
  ".json": "application/json",
  ".js": "application/javascript",
  ".css": "text/css",
};

function errorReply(status: number): HttpReply {
  return { status, contentType: "text/plain", body: Buffer.from(`${status} ${STATUS_CODES[status] ?? ""}\n`) };
}

/** busybox httpd: files under `root`, index.html for directories. */
export function serveFile(fs: NodeFs, root: string, method: string, target: string): HttpReply {
  if (method !== "GET" && method !== "HEAD") return errorReply(501);
  let path: string;
  try {
    path = decodeURIComponent(new URL(target, "http://node").pathname);
  } catch {
    return errorReply(400);
  }
  let file = posix.resolve(root, `.${posix.normalize(path)}`); // "/../x" stays under root
  if (fs.stat(file)?.kind === "directory") file = posix.join(file, "index.html");
  if (fs.stat(file)?.kind !== "file") return errorReply(404);
  const contentType = CONTENT_TYPES[posix.extname(file)] ?? "application/octet-stream";
  return { status: 200, contentType, body: fs.read(file).content };
}

export interface PortListener {
  published: PublishedPort;
  close(): Promise<void>;
}

type ConnectionHandler = (socket: Socket) => void;

/**
 * A TCP listener on the host whose connections go to `handler`; close() ends the connections it took too (as an
 * engine's port proxy does when its container stops).
 */
export function listenTcp(host: string, port: number, handler: ConnectionHandler): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    handler(socket);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off("error", reject);
      const address = server.address();
      const close = () =>
        new Promise<void>((done) => {
          for (const s of sockets) s.destroy();
          server.close(() => done());
        });
      resolve({ port: typeof address === "object" && address ? address.port : port, close });
    });
  });
}

/** A UDP mapping only reserves its host port (the emulated programs speak no UDP). */
function bindUdp(host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off("error", reject);
      resolve({ port: socket.address().port, close: () => new Promise<void>((done) => socket.close(() => done())) });
    });
  });
}

export async function openPort(mapping: PortMapping, handler: ConnectionHandler): Promise<PortListener> {
  const protocol = mapping.protocol ?? "tcp";
  const hostIP = mapping.hostIP ?? "127.0.0.1";
  const wanted = mapping.hostPort ?? 0;
  try {
    const bound = protocol === "udp" ? await bindUdp(hostIP, wanted) : await listenTcp(hostIP, wanted, handler);
    return { published: { containerPort: mapping.containerPort, protocol, hostIP, hostPort: bound.port }, close: bound.close };
  } catch (err) {
    const meta = { hostIP, hostPort: wanted, protocol };
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new K3tsError("PORT_IN_USE", `host port ${hostIP}:${wanted}/${protocol} is already in use`, { meta, cause: err });
    }
    throw new K3tsError("RUNTIME_ERROR", `cannot publish ${hostIP}:${wanted}/${protocol}: ${errorMessage(err)}`, { meta, cause: err });
  }
}
