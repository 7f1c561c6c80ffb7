import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isK3tsError } from "@k3ts/core";
import { parseDockerHost, resolveDockerEndpoint } from "../src/endpoint.js";
import { DockerRuntime, dockerodeOptions } from "../src/runtime.js";

/** The error `fn` throws (the test fails when it throws none). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}
import { FrameDecoder, decodeFrames } from "../src/mux.js";

function fakeFs(files: Record<string, string>) {
  return { exists: (p: string) => p in files || Object.keys(files).some((f) => f.startsWith(`${p}/`)), read: (p: string) => files[p] ?? "" };
}

describe("resolveDockerEndpoint", () => {
  it("uses DOCKER_HOST first, with TLS settings", () => {
    expect(resolveDockerEndpoint({ DOCKER_HOST: "unix:///run/podman/podman.sock" }, fakeFs({}), "/home/u")).toMatchObject({
      source: "DOCKER_HOST",
      socketPath: "/run/podman/podman.sock",
    });
    expect(resolveDockerEndpoint({ DOCKER_HOST: "tcp://10.0.0.5:2376", DOCKER_TLS_VERIFY: "1" }, fakeFs({}), "/home/u")).toMatchObject({
      protocol: "https",
      host: "10.0.0.5",
      port: 2376,
      certPath: "/home/u/.docker",
    });
    expect(resolveDockerEndpoint({ DOCKER_HOST: "tcp://h:2375" }, fakeFs({}), "/home/u")).toMatchObject({ protocol: "http", port: 2375 });
    expect(resolveDockerEndpoint({ DOCKER_HOST: "ssh://me@builder" }, fakeFs({}), "/home/u")).toMatchObject({
      protocol: "ssh",
      host: "builder",
      username: "me",
      port: 22,
    });
  });

  it("follows the current docker context from config.json, or DOCKER_CONTEXT", () => {
    const id = createHash("sha256").update("colima").digest("hex");
    const files = fakeFs({
      "/home/u/.docker/config.json": JSON.stringify({ currentContext: "colima" }),
      [`/home/u/.docker/contexts/meta/${id}/meta.json`]: JSON.stringify({ Endpoints: { docker: { Host: "unix:///home/u/.colima/docker.sock" } } }),
    });
    expect(resolveDockerEndpoint({}, files, "/home/u")).toMatchObject({ source: "context", contextName: "colima", socketPath: "/home/u/.colima/docker.sock" });
    expect(resolveDockerEndpoint({ DOCKER_CONTEXT: "default" }, files, "/home/u")).toMatchObject({ source: "default" });
    expect(() => resolveDockerEndpoint({ DOCKER_CONTEXT: "nope" }, files, "/home/u")).toThrow(/docker context "nope" not found/);
  });

  it("reports a context it cannot use as INVALID_ARGUMENT naming where it came from", () => {
    const id = (name: string) => createHash("sha256").update(name).digest("hex");
    const files = fakeFs({
      [`/home/u/.docker/contexts/meta/${id("broken")}/meta.json`]: "{ not json",
      [`/home/u/.docker/contexts/meta/${id("empty")}/meta.json`]: JSON.stringify({ Endpoints: {} }),
    });
    const missing = thrown(() => resolveDockerEndpoint({ DOCKER_CONTEXT: "nope" }, files, "/home/u"));
    expect(isK3tsError(missing, "INVALID_ARGUMENT")).toBe(true);
    expect((missing as Error).message).toMatch(/^DOCKER_CONTEXT: docker context "nope" not found/);
    const broken = thrown(() => resolveDockerEndpoint({ DOCKER_CONTEXT: "broken" }, files, "/home/u"));
    expect(isK3tsError(broken, "INVALID_ARGUMENT")).toBe(true);
    expect((broken as Error).message).toContain(`/home/u/.docker/contexts/meta/${id("broken")}/meta.json: docker context "broken" is not JSON`);
    const empty = thrown(() => resolveDockerEndpoint({ DOCKER_CONTEXT: "empty" }, files, "/home/u"));
    expect(isK3tsError(empty, "INVALID_ARGUMENT")).toBe(true);
    expect((empty as Error).message).toMatch(/docker context "empty" has no docker endpoint/);
  });

  it("falls back to the default socket", () => {
    expect(resolveDockerEndpoint({}, fakeFs({}), "/home/u")).toEqual({ source: "default", url: "unix:///var/run/docker.sock", socketPath: "/var/run/docker.sock" });
  });

  it("rejects schemes it cannot speak, as INVALID_ARGUMENT naming the variable", () => {
    expect(() => parseDockerHost("npipe:////./pipe/docker_engine")).toThrow(/unsupported Docker host/);
    const err = thrown(() => resolveDockerEndpoint({ DOCKER_HOST: "npipe:////./pipe/docker_engine" }, fakeFs({}), "/home/u"));
    expect(isK3tsError(err, "INVALID_ARGUMENT")).toBe(true);
    expect((err as Error).message).toMatch(/^DOCKER_HOST: unsupported Docker host npipe:/);
  });
});

describe("TLS material", () => {
  // Shaped as PEM (docker-modem's own defaults, read from the process's DOCKER_CERT_PATH, insist on it).
  const pem = (name: string, dir: string) => `-----BEGIN CERTIFICATE-----\n${name} of ${dir}\n-----END CERTIFICATE-----\n`;
  const certs = () => {
    const dir = mkdtempSync(join(tmpdir(), "k3ts-docker-tls-"));
    for (const name of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(dir, name), pem(name, dir));
    return dir;
  };

  it("is read from the endpoint's cert path and handed to dockerode; the process's environment is not written", () => {
    const dir = certs();
    const before = process.env.DOCKER_CERT_PATH;
    try {
      const runtime = new DockerRuntime({ env: { DOCKER_HOST: "tcp://127.0.0.1:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: dir } });
      expect(process.env.DOCKER_CERT_PATH).toBe(before);
      const modem = (runtime.docker as unknown as { modem: { protocol: string; ca: Buffer; cert: Buffer; key: Buffer } }).modem;
      expect(modem.protocol).toBe("https");
      expect([modem.ca, modem.cert, modem.key].map((b) => b.toString())).toEqual(["ca.pem", "cert.pem", "key.pem"].map((n) => pem(n, dir)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("of one runtime never reaches another: each takes its own cert path, none the process's", () => {
    const [a, b] = [certs(), certs()];
    const saved = { host: process.env.DOCKER_HOST, path: process.env.DOCKER_CERT_PATH };
    try {
      // What docker-modem would read by itself: the process's DOCKER_HOST and DOCKER_CERT_PATH.
      process.env.DOCKER_HOST = "tcp://127.0.0.1:2376";
      process.env.DOCKER_CERT_PATH = a;
      const ca = (r: DockerRuntime) => (r.docker as unknown as { modem: { ca?: Buffer } }).modem.ca?.toString();
      expect(ca(new DockerRuntime({ env: { DOCKER_HOST: "tcp://127.0.0.1:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: b } }))).toBe(pem("ca.pem", b));
      expect(ca(new DockerRuntime({ env: { DOCKER_HOST: "tcp://127.0.0.1:2375" } }))).toBeUndefined();
    } finally {
      for (const [key, value] of [["DOCKER_HOST", saved.host], ["DOCKER_CERT_PATH", saved.path]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });

  it("of a docker context (its TLS store) is read from there, and DOCKER_CERT_PATH stays unset", () => {
    const config = mkdtempSync(join(tmpdir(), "k3ts-docker-config-"));
    const id = createHash("sha256").update("remote").digest("hex");
    const tls = join(config, "contexts", "tls", id, "docker");
    mkdirSync(join(config, "contexts", "meta", id), { recursive: true });
    mkdirSync(tls, { recursive: true });
    writeFileSync(join(config, "contexts", "meta", id, "meta.json"), JSON.stringify({ Endpoints: { docker: { Host: "tcp://127.0.0.1:2376" } } }));
    for (const name of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(tls, name), pem(name, tls));
    const before = process.env.DOCKER_CERT_PATH;
    try {
      const runtime = new DockerRuntime({ env: { DOCKER_CONFIG: config, DOCKER_CONTEXT: "remote" } });
      expect(runtime.endpoint).toMatchObject({ source: "context", certPath: tls });
      expect(process.env.DOCKER_CERT_PATH).toBe(before);
      expect((runtime.docker as unknown as { modem: { key?: Buffer } }).modem.key?.toString()).toBe(pem("key.pem", tls));
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
  });

  it("that cannot be read is INVALID_ARGUMENT naming the file", () => {
    const err = thrown(() => dockerodeOptions({ source: "DOCKER_HOST", url: "tcp://h:2376", protocol: "https", host: "h", port: 2376, certPath: "/nonexistent/k3ts-certs" }));
    expect(isK3tsError(err, "INVALID_ARGUMENT")).toBe(true);
    expect((err as Error).message).toMatch(/^\/nonexistent\/k3ts-certs\/ca\.pem: cannot read the TLS ca\.pem for tcp:\/\/h:2376/);
  });
});

describe("FrameDecoder", () => {
  const frame = (type: number, text: string) => {
    const body = Buffer.from(text);
    const head = Buffer.alloc(8);
    head[0] = type;
    head.writeUInt32BE(body.length, 4);
    return Buffer.concat([head, body]);
  };

  it("splits stdout and stderr frames, across and within chunks", () => {
    const all = Buffer.concat([frame(1, "out-1\n"), frame(2, "err-1\n"), frame(1, "out-2\n")]);
    expect(decodeFrames(all).map((c) => [c.stream, c.data.toString()])).toEqual([
      ["stdout", "out-1\n"],
      ["stderr", "err-1\n"],
      ["stdout", "out-2\n"],
    ]);
    const decoder = new FrameDecoder();
    const seen: string[] = [];
    for (let i = 0; i < all.length; i += 5) seen.push(...decoder.push(all.subarray(i, i + 5)).map((c) => `${c.stream}:${c.data.toString().trim()}`));
    expect(seen).toEqual(["stdout:out-1", "stderr:err-1", "stdout:out-2"]);
    expect(decoder.remainder).toBe(0);
  });

  it("holds back a truncated frame", () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(frame(1, "hello").subarray(0, 10))).toEqual([]);
    expect(decoder.remainder).toBe(10);
  });
});
