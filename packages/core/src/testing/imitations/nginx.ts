/**
 * An imitation of nginx as k3ts's load balancer uses it, for the memory runtime: `nginx -g 'daemon off;'` reads
 * /etc/nginx/nginx.conf and proxies each `stream { server { listen P; proxy_pass U; } }` to its upstream's servers
 * over TCP; `nginx -s reload` and `nginx -t` read the file again. It holds to the rules of nginx that k3ts depends on
 * (nginx 1.2x sources):
 *
 * - an upstream `server NAME:PORT` is resolved when the configuration is read, at start and at reload, and a name
 *   that does not resolve is fatal: `[emerg] host not found in upstream "NAME:PORT"` (ngx_stream_upstream_server →
 *   ngx_parse_url). Connections go to the addresses found then, not to the name (so a node that came back on
 *   another address is reached only after a reload);
 * - `nginx -s reload` reads and checks the whole configuration before it signals the master (nginx.c: ngx_init_cycle
 *   before ngx_signal_process), so a bad file fails the command with exit 1 and the master keeps the old one; the
 *   master is found through the `pid` file, and a missing pid file fails it too;
 * - `include` of a pattern that matches nothing is no error (ngx_conf_file.c: ngx_open_glob, GLOB_NOMATCH); of a
 *   missing file it is fatal; `load_module` of a module that is not there is fatal (`dlopen() … failed`);
 * - a `listen` port already taken is fatal at start (`bind() … failed (98: Address already in use)`);
 * - an unknown directive is fatal (`unknown directive "X"`), and a block not closed is `unexpected end of file`.
 *
 * Not imitated (said when met): `http {}` and every directive outside the stream proxy's, UDP proxying (a `listen …
 * udp` port is only held), worker processes.
 */
import type { Socket } from "node:net";
import { posix } from "node:path";
import { FsError } from "../memory/fs.js";
import { splice } from "../memory/io.js";
import { type Machine, type Program, type ProcessContext, unsupported } from "../memory/programs.js";

const CONF = "/etc/nginx/nginx.conf";

interface Directive {
  name: string;
  args: string[];
  line: number;
  file: string;
  block?: Directive[];
}

class ConfError extends Error {}

const emerg = (message: string, d?: { file: string; line: number }) => new ConfError(`nginx: [emerg] ${message}${d ? ` in ${d.file}:${d.line}` : ""}`);

/** nginx's configuration syntax: words and quoted strings, `;` ends a directive, `{ … }` a block, `#` a comment. */
function parse(text: string, file: string): Directive[] {
  const tokens: Array<{ value: string; line: number; quoted: boolean }> = [];
  let line = 1;
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === "\n") line++;
    if (/\s/.test(c)) i++;
    else if (c === "#") while (i < text.length && text[i] !== "\n") i++;
    else if (c === "{" || c === "}" || c === ";") {
      tokens.push({ value: c, line, quoted: false });
      i++;
    }
    else if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw emerg("unexpected end of file, expecting \";\" or \"}\"", { file, line });
      tokens.push({ value: text.slice(i + 1, end), line, quoted: true });
      line += text.slice(i, end).split("\n").length - 1;
      i = end + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s{};#"']/.test(text[j]!)) j++;
      tokens.push({ value: text.slice(i, j), line, quoted: false });
      i = j;
    }
  }
  let at = 0;
  const block = (inside: boolean): Directive[] => {
    const out: Directive[] = [];
    for (;;) {
      const t = tokens[at];
      if (!t) {
        if (inside) throw emerg("unexpected end of file, expecting \"}\"", { file, line });
        return out;
      }
      if (t.value === "}" && !t.quoted) {
        if (!inside) throw emerg('unexpected "}"', { file, line: t.line });
        at++;
        return out;
      }
      const words: string[] = [];
      for (;;) {
        const w = tokens[at++];
        if (!w) throw emerg("unexpected end of file, expecting \";\" or \"}\"", { file, line });
        if (!w.quoted && w.value === ";") {
          out.push({ name: words[0]!, args: words.slice(1), line: t.line, file });
          break;
        }
        if (!w.quoted && w.value === "{") {
          out.push({ name: words[0]!, args: words.slice(1), line: t.line, file, block: block(true) });
          break;
        }
        if (!w.quoted && w.value === "}") throw emerg('unexpected "}"', { file, line: w.line });
        words.push(w.value);
      }
    }
  };
  return block(false);
}

interface Upstream {
  /** `host:port` as written, and the address it resolved to. */
  servers: Array<{ written: string; ip: string; port: number }>;
  next: number;
}

interface Config {
  pidFile: string;
  listen: Array<{ port: number; udp: boolean; upstream: string }>;
  upstreams: Map<string, Upstream>;
}

const GLOB = /[*?[]/;

/** Reads and checks the whole configuration (includes expanded, upstream names resolved), as ngx_init_cycle does. */
function load(machine: Machine): Config {
  const config: Config = { pidFile: "/run/nginx.pid", listen: [], upstreams: new Map() };
  const read = (file: string): Directive[] => {
    try {
      return parse(machine.fs.read(file).content.toString("utf8"), file);
    } catch (err) {
      if (err instanceof FsError) throw emerg(`open() "${file}" failed (2: No such file or directory)`);
      throw err;
    }
  };
  const expand = (list: Directive[]): Directive[] =>
    list.flatMap((d) => {
      if (d.name !== "include") return [{ ...d, ...(d.block ? { block: expand(d.block) } : {}) }];
      const pattern = d.args[0] ?? "";
      if (!GLOB.test(pattern)) return expand(read(pattern));
      const dir = posix.dirname(pattern);
      const re = new RegExp(`^${posix.basename(pattern).replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
      return machine.fs
        .list(dir)
        .filter((name) => re.test(name))
        .sort()
        .flatMap((name) => expand(read(posix.join(dir, name))));
    });
  const stream = (list: Directive[]) => {
    for (const d of list) {
      if (d.name === "upstream") {
        const servers = (d.block ?? []).map((s) => {
          if (s.name !== "server") throw emerg(`unknown directive "${s.name}"`, s);
          const written = s.args[0] ?? "";
          const [host = "", port = ""] = written.split(":");
          const ip = machine.resolve(host);
          if (!ip) throw emerg(`host not found in upstream "${written}"`, s);
          return { written, ip, port: Number(port) };
        });
        config.upstreams.set(d.args[0] ?? "", { servers, next: 0 });
      } else if (d.name === "server") {
        let listen: { port: number; udp: boolean } | undefined;
        let upstream = "";
        for (const s of d.block ?? []) {
          if (s.name === "listen") listen = { port: Number(s.args[0]), udp: s.args.includes("udp") };
          else if (s.name === "proxy_pass") upstream = s.args[0] ?? "";
          else if (s.name !== "proxy_timeout" && s.name !== "proxy_connect_timeout") throw emerg(`unknown directive "${s.name}"`, s);
        }
        if (!listen) throw emerg('no "listen" is defined for server', d);
        config.listen.push({ ...listen, upstream });
      } else throw emerg(`unknown directive "${d.name}"`, d);
    }
  };
  for (const d of expand(read(CONF))) {
    if (d.name === "pid") config.pidFile = d.args[0] ?? config.pidFile;
    else if (d.name === "stream") stream(d.block ?? []);
    else if (d.name === "load_module") throw emerg(`dlopen() "${d.args[0]}" failed (${d.args[0]}: cannot open shared object file: No such file or directory)`, d);
    else if (d.name === "http") throw unsupported("nginx's http {} block");
    else if (!["worker_processes", "error_log", "events", "user", "worker_rlimit_nofile"].includes(d.name)) throw emerg(`unknown directive "${d.name}"`, d);
  }
  for (const l of config.listen) {
    if (!config.upstreams.has(l.upstream)) throw emerg(`no upstream "${l.upstream}"`);
  }
  return config;
}

/** A running master: its listeners, and the configuration it proxies by. */
interface Master {
  config: Config;
  stops: Map<string, () => void>;
  /** Reads the configuration again and moves to it; what it throws leaves the old one in place. */
  reload(): Promise<void>;
  /** Writes to the master's error log (the container's stderr). */
  log(text: string): Promise<void>;
}

const masters = new WeakMap<Machine, Master>();

function proxy(client: Socket, upstream: Upstream, machine: Machine): void {
  client.on("error", () => client.destroy());
  const attempt = async (tries: number): Promise<void> => {
    if (tries === 0 || client.destroyed) return void client.destroy();
    const target = upstream.servers[upstream.next++ % upstream.servers.length]!;
    try {
      splice(client, await machine.connect(target.ip, target.port));
    } catch {
      await attempt(tries - 1);
    }
  };
  void attempt(upstream.servers.length);
}

async function bind(machine: Machine, master: Master, config: Config): Promise<void> {
  const wanted = new Set(config.listen.filter((l) => !l.udp).map((l) => String(l.port)));
  for (const [port, stop] of master.stops) {
    if (!wanted.has(port)) {
      stop();
      master.stops.delete(port);
    }
  }
  for (const l of config.listen) {
    if (l.udp || master.stops.has(String(l.port))) continue;
    const stop = await machine.listen(l.port, (socket) => proxy(socket, master.config.upstreams.get(l.upstream)!, machine));
    if (!stop) throw emerg(`bind() to 0.0.0.0:${l.port} failed (98: Address already in use)`);
    master.stops.set(String(l.port), stop);
  }
}

async function fail(ctx: ProcessContext, err: unknown): Promise<number> {
  if (!(err instanceof ConfError)) throw err;
  await ctx.io.stderr.write(`${err.message}\n`);
  return 1;
}

/** The `nginx` program (register it as the image's `nginx`). */
export const nginxImitation: Program = async (args, ctx) => {
  const { machine } = ctx;
  const flag = args[0];
  if (flag === "-t") {
    try {
      load(machine);
    } catch (err) {
      return fail(ctx, err);
    }
    await ctx.io.stderr.write(`nginx: the configuration file ${CONF} syntax is ok\nnginx: configuration file ${CONF} test is successful\n`);
    return 0;
  }
  if (flag === "-s") {
    if (args[1] !== "reload") throw unsupported(`nginx -s ${args[1] ?? ""}`);
    let config: Config;
    try {
      config = load(machine);
    } catch (err) {
      return fail(ctx, err);
    }
    const master = masters.get(machine);
    if (machine.fs.stat(config.pidFile)?.kind !== "file" || !master) {
      await ctx.io.stderr.write(`nginx: [error] open() "${config.pidFile}" failed (2: No such file or directory)\n`);
      return 1;
    }
    // The signal is sent: what the master then meets goes to its own log (error_log stderr), not to this command.
    await master.reload().catch(async (err: unknown) => master.log(`${(err as Error).message}\n`));
    return 0;
  }
  if (flag !== undefined && !(flag === "-g" && args[1] === "daemon off;" && args.length === 2)) throw unsupported(`nginx ${args.join(" ")}`);
  if (flag === undefined) throw unsupported("nginx as a daemon (the imitation runs in the foreground: -g 'daemon off;')");
  let master: Master;
  try {
    const config = load(machine);
    master = {
      config,
      stops: new Map(),
      log: (text) => ctx.io.stderr.write(text),
      reload: async () => {
        const next = load(machine);
        await bind(machine, master, next);
        master.config = next;
      },
    };
    await bind(machine, master, config);
    machine.fs.write(config.pidFile, Buffer.from("1\n"), 0o644);
  } catch (err) {
    return fail(ctx, err);
  }
  masters.set(machine, master);
  await ctx.io.stderr.write("nginx: [notice] start worker processes\n");
  try {
    await new Promise<void>((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true }));
    return 0;
  } finally {
    if (masters.get(machine) === master) masters.delete(machine);
    for (const stop of master.stops.values()) stop();
    try {
      machine.fs.remove(master.config.pidFile);
    } catch {
      // gone with a tmpfs already
    }
  }
};
