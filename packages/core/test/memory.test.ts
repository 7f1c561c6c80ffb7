import type { Readable } from "node:stream";
import * as tar from "tar-stream";
import { afterEach, describe, expect, it } from "vitest";
import { isK3tsError } from "../src/errors.ts";
import { listTarEntries } from "../src/tar.ts";
import { createMemoryRuntime, type MemoryRuntime } from "../src/testing/memory/index.ts";

const IMAGE = "k3ts-test/busybox:1";

async function manifestOf(archive: Readable): Promise<unknown> {
  const extract = tar.extract();
  archive.pipe(extract);
  let manifest: unknown;
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
    if (entry.header.name === "manifest.json") manifest = JSON.parse(Buffer.concat(chunks).toString());
  }
  return manifest;
}

async function waitFor<T>(fn: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("timed out");
}

describe("memory runtime", () => {
  let runtime: MemoryRuntime;
  afterEach(() => runtime?.close());

  it("saves a docker-save archive that another memory runtime loads", async () => {
    runtime = createMemoryRuntime({ images: [IMAGE, "busybox"] });
    const manifest = await manifestOf(await runtime.images.save([IMAGE, "busybox"]));
    expect(manifest).toMatchObject([{ RepoTags: [IMAGE] }, { RepoTags: ["busybox"] }]);
    expect(await listTarEntries(await runtime.images.save([IMAGE]))).toEqual(expect.arrayContaining(["manifest.json", expect.stringMatching(/\/layer\.tar$/)]));

    const other = createMemoryRuntime({ images: [] });
    expect(await other.images.exists(IMAGE)).toBe(false);
    expect(await other.images.load(await runtime.images.save([IMAGE]))).toEqual([IMAGE]);
    expect(await other.images.exists(IMAGE)).toBe(true);
    expect(await other.images.exists("docker.io/library/busybox:latest")).toBe(false);
    expect(await runtime.images.exists("docker.io/library/busybox:latest")).toBe(true);
    await other.close();
  });

  it("serves a published port from the host, index.html for /", async () => {
    runtime = createMemoryRuntime();
    await runtime.nodes.create({ name: "web", image: IMAGE, command: ["httpd", "-f", "-p", "8080", "-h", "/www"], ports: [{ containerPort: 8080 }] });
    await runtime.nodes.writeFile("web", "/www/index.html", "hi\n");
    await runtime.nodes.start("web");
    const [port] = (await runtime.nodes.inspect("web")).ports;
    expect(port).toMatchObject({ containerPort: 8080, hostIP: "127.0.0.1", protocol: "tcp" });
    const body = await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${port!.hostPort}/`).catch(() => undefined);
      return res?.ok ? res.text() : undefined;
    });
    expect(body).toBe("hi\n");
    await runtime.nodes.stop("web");
    await expect(fetch(`http://127.0.0.1:${port!.hostPort}/`)).rejects.toThrow();
  });

  it("logs unsupported syntax in a node's own command and exits 2", async () => {
    runtime = createMemoryRuntime();
    await runtime.nodes.create({ name: "bad", image: IMAGE, command: ["sh", "-c", "while true; do sleep 1; done"] });
    await runtime.nodes.start("bad");
    const node = await waitFor(async () => {
      const n = await runtime.nodes.inspect("bad");
      return n.state === "stopped" ? n : undefined;
    });
    expect(node.exitCode).toBe(2);
    const lines: string[] = [];
    for await (const chunk of runtime.nodes.logs("bad")) lines.push(`${chunk.stream}:${chunk.data.toString()}`);
    expect(lines).toEqual(['stderr:memory runtime: the memory runtime does not emulate the shell keyword "while"\n']);
  });

  it("restarts a node with restart policy on-failure, and stop ends it with 143", async () => {
    runtime = createMemoryRuntime();
    await runtime.nodes.create({ name: "flaky", image: IMAGE, restart: "on-failure", command: ["sh", "-c", "echo run; exit 1"] });
    await runtime.nodes.start("flaky");
    await waitFor(async () => {
      let runs = 0;
      for await (const chunk of runtime.nodes.logs("flaky")) runs += chunk.data.toString() === "run\n" ? 1 : 0;
      return runs >= 2 ? runs : undefined;
    });
    await runtime.nodes.stop("flaky");
    expect(await runtime.nodes.inspect("flaky")).toMatchObject({ state: "stopped", exitCode: 1 });

    await runtime.nodes.create({ name: "sleeper", image: IMAGE, command: ["sleep", "60"] });
    await runtime.nodes.start("sleeper");
    await runtime.nodes.stop("sleeper");
    expect(await runtime.nodes.inspect("sleeper")).toMatchObject({ state: "stopped", exitCode: 143, ports: [] });
  });

  it("refuses writes through the API to a read-only mount, and tmpfs is emptied on restart", async () => {
    runtime = createMemoryRuntime();
    await runtime.volumes.ensure({ name: "data" });
    await runtime.nodes.create({
      name: "ro",
      image: IMAGE,
      command: ["sleep", "60"],
      volumes: [{ type: "volume", source: "data", target: "/data", readOnly: true }],
      tmpfs: { "/run": "" },
    });
    const err: unknown = await runtime.nodes.writeFile("ro", "/data/x", "x").catch((e: unknown) => e);
    expect(isK3tsError(err, "RUNTIME_ERROR")).toBe(true);
    await runtime.nodes.start("ro");
    await runtime.nodes.writeFile("ro", "/run/pid", "1");
    await runtime.nodes.stop("ro");
    await runtime.nodes.start("ro");
    const missing: unknown = await runtime.nodes.readFile("ro", "/run/pid").catch((e: unknown) => e);
    expect(isK3tsError(missing, "FILE_NOT_FOUND")).toBe(true);
  });

  it("assigns addresses in order, refuses overlapping subnets, and is unusable once closed", async () => {
    runtime = createMemoryRuntime();
    await runtime.networks.ensure({ name: "n1", subnet: "10.10.0.0/24" });
    for (const name of ["a", "b"]) await runtime.nodes.create({ name, image: IMAGE, command: ["sleep", "60"], network: { name: "n1" } });
    expect((await runtime.networks.inspect("n1")).members).toEqual([]);
    for (const name of ["a", "b"]) await runtime.nodes.start(name);
    expect((await runtime.networks.inspect("n1")).members).toEqual([
      { name: "a", ipv4: "10.10.0.2" },
      { name: "b", ipv4: "10.10.0.3" },
    ]);
    const overlap: unknown = await runtime.networks.ensure({ name: "n2", subnet: "10.10.0.128/25" }).catch((e: unknown) => e);
    expect(isK3tsError(overlap, "RUNTIME_ERROR")).toBe(true);
    await runtime.close();
    const closed: unknown = await runtime.nodes.list().catch((e: unknown) => e);
    expect(isK3tsError(closed, "RUNTIME_UNAVAILABLE")).toBe(true);
  });
});
