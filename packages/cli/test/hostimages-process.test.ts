/**
 * The host process of a cluster's host images as the CLI runs it (dist/host-images.js, detached), with
 * a runtime plugin by path over the memory runtime: no engine needed. It serves once started, says why
 * when it cannot, is found (or found dead) through its state file, and leaves nothing once removed.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it, vi } from "vitest";
import { hostImagesFiles, hostImagesProcess, removeHostImages, startHostImagesProcess, stopHostImagesProcess } from "../src/hostimages/process.js";

const plugin = fileURLToPath(new URL("./fixtures/memory-cluster-runtime.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "k3ts-hostimages-process-"));
const env = { ...process.env, XDG_STATE_HOME: dir };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").length > 0;
  } catch {
    return false;
  }
};
const get = (url: string) => fetch(url, { signal: AbortSignal.timeout(5000) });

describe("the host-images process", () => {
  it("serves on the address given until stopped; a second one on its port says PORT_IN_USE; stopped, it leaves no process, port or state", async () => {
    const { url, pid } = await startHostImagesProcess({ cluster: "dev", runtime: plugin, address: "127.0.0.1", env, cwd: process.cwd() });
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(pid).not.toBe(process.pid);
      expect((await get(`${url}/v2/`)).status).toBe(200);
      // An image the engine lacks: containerd's 404, so the nodes go on to the next endpoint.
      const missing = await get(`${url}/v2/library/nothing-here/manifests/1?ns=docker.io`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe("MANIFEST_UNKNOWN");
      expect(await hostImagesProcess("dev", env)).toMatchObject({ url, pid, running: true, served: { manifests: 0, blobs: 0, blobBytes: 0 } });

      const port = Number(new URL(url).port);
      const taken = startHostImagesProcess({ cluster: "dev2", runtime: plugin, address: "127.0.0.1", port, env, cwd: process.cwd() });
      await expect(taken).rejects.toMatchObject({ code: "PORT_IN_USE" });
      expect(existsSync(hostImagesFiles("dev2", env).state)).toBe(false);
    } finally {
      expect(await stopHostImagesProcess("dev", env)).toBe(true);
    }
    expect(alive(pid)).toBe(false);
    await expect(get(`${url}/v2/`)).rejects.toThrow();
    expect(await hostImagesProcess("dev", env)).toBeUndefined();
    expect(await stopHostImagesProcess("dev", env)).toBe(false);
  }, 60_000);

  it("a killed process is shown as not running; removing it takes its state, cache and log", async () => {
    const { pid } = await startHostImagesProcess({ cluster: "dev", runtime: plugin, address: "127.0.0.1", env, cwd: process.cwd() });
    const files = hostImagesFiles("dev", env);
    expect(existsSync(files.cacheDir) && existsSync(files.log) && existsSync(files.state)).toBe(true);
    process.kill(pid, "SIGKILL");
    await vi.waitFor(() => expect(alive(pid)).toBe(false));
    expect(await hostImagesProcess("dev", env)).toMatchObject({ pid, running: false });
    expect(await removeHostImages("dev", env)).toEqual([`host images cache ${files.cacheDir}`]);
    for (const path of [files.cacheDir, files.log, files.state]) expect(existsSync(path), path).toBe(false);
  }, 60_000);

  it("ends by itself, taking its cache and state, when its cluster has no nodes (removed some other way)", async () => {
    // The plugin's engine holds the nodes of "dev" only: "ghost" has none, from the start.
    const { pid } = await startHostImagesProcess({ cluster: "ghost", runtime: plugin, address: "127.0.0.1", env, cwd: process.cwd(), watch: { everyMs: 100, firstNodeMs: 300 } });
    const files = hostImagesFiles("ghost", env);
    expect(existsSync(files.state)).toBe(true);
    await vi.waitFor(() => expect(alive(pid)).toBe(false), { timeout: 10_000, interval: 100 });
    expect(existsSync(files.state)).toBe(false);
    expect(existsSync(files.cacheDir)).toBe(false);
    expect(readFileSync(files.log, "utf8")).toMatch(/ending: cluster ghost has no nodes/);
  }, 60_000);

  it("aborted while it starts (Ctrl-C during a create): ABORTED, and no process or state stays", async () => {
    const controller = new AbortController();
    const start = startHostImagesProcess({ cluster: "aborted", runtime: plugin, address: "127.0.0.1", env, cwd: process.cwd(), signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expect(start).rejects.toMatchObject({ code: "ABORTED" });
    const running = readdirSync("/proc").filter((p) => /^\d+$/.test(p) && alive(Number(p)) && readFileSync(`/proc/${p}/cmdline`, "utf8").includes('"cluster":"aborted"'));
    expect(running).toEqual([]);
    expect(existsSync(hostImagesFiles("aborted", env).state)).toBe(false);
  }, 60_000);

  it("a runtime it cannot make: the start fails with the process's own error, and no process stays", async () => {
    const start = startHostImagesProcess({ cluster: "nope", runtime: join(dir, "no-such-plugin.mjs"), address: "127.0.0.1", env, cwd: process.cwd() });
    await expect(start).rejects.toMatchObject({ code: "PLUGIN_NOT_FOUND", message: expect.stringContaining("host images:") });
    expect(await hostImagesProcess("nope", env)).toBeUndefined();
    // Its log says why.
    expect(readFileSync(hostImagesFiles("nope", env).log, "utf8")).toMatch(/no-such-plugin/);
  }, 60_000);
});
