import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseDockerHost, resolveDockerEndpoint } from "../src/endpoint.js";
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

  it("falls back to the default socket", () => {
    expect(resolveDockerEndpoint({}, fakeFs({}), "/home/u")).toEqual({ source: "default", url: "unix:///var/run/docker.sock", socketPath: "/var/run/docker.sock" });
  });

  it("rejects schemes it cannot speak", () => {
    expect(() => parseDockerHost("npipe:////./pipe/docker_engine")).toThrow(/unsupported Docker host/);
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
