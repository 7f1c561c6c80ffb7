import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { RUNTIME_API_VERSION } from "../src/runtime.js";
import { loadRuntimePlugin, runtimePackageCandidates, runtimeSearchDirs, selectRuntime, validatePlugin } from "../src/plugin.js";
import { isK3tsError } from "../src/errors.js";

const fixtures = fileURLToPath(new URL("./fixtures/plugins/", import.meta.url));
const plugin = (file: string) => join(fixtures, file);

async function codeOf(p: Promise<unknown>): Promise<{ code?: string; message: string; meta?: unknown }> {
  try {
    await p;
  } catch (err) {
    return { code: isK3tsError(err) ? err.code : undefined, message: (err as Error).message, meta: isK3tsError(err) ? err.meta : undefined };
  }
  throw new Error("expected a rejection");
}

describe("runtimePackageCandidates", () => {
  it.each([
    ["docker", ["@k3ts/runtime-docker", "k3ts-runtime-docker"]],
    ["nerdctl", ["@k3ts/runtime-nerdctl", "k3ts-runtime-nerdctl"]],
    ["k3ts-runtime-nerdctl", ["k3ts-runtime-nerdctl"]],
    ["@acme/lima", ["@acme/k3ts-runtime-lima"]],
    ["@acme", ["@acme/k3ts-runtime"]],
    ["@acme/k3ts-runtime-lima", ["@acme/k3ts-runtime-lima"]],
    ["@k3ts/runtime-podman", ["@k3ts/runtime-podman"]],
  ])("%s → %j", (name, expected) => expect(runtimePackageCandidates(name)).toEqual(expected));

  it("rejects names that cannot be packages", () => {
    expect(() => runtimePackageCandidates("")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => runtimePackageCandidates("two words")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("validatePlugin", () => {
  it("lists everything missing from a module that is not a plugin", () => {
    try {
      validatePlugin({ default: { meta: {} } }, "x");
      expect.unreachable();
    } catch (err) {
      expect(isK3tsError(err, "PLUGIN_INVALID")).toBe(true);
      expect((err as Error).message).toBe("x is not a k3ts runtime plugin: meta.name is missing, apiVersion is missing, create() is missing, isAvailable() is missing");
    }
  });

  it("names both versions on an API mismatch", () => {
    const p = { meta: { name: "lima", version: "3.0.0" }, apiVersion: RUNTIME_API_VERSION + 1, isAvailable: async () => ({ available: true }), create: () => ({}) };
    try {
      validatePlugin(p, "@acme/k3ts-runtime-lima");
      expect.unreachable();
    } catch (err) {
      expect(isK3tsError(err, "PLUGIN_API_MISMATCH")).toBe(true);
      expect((err as Error).message).toContain(`implements runtime API v${RUNTIME_API_VERSION + 1}, but this k3ts needs v${RUNTIME_API_VERSION}`);
      expect((err as { meta: unknown }).meta).toMatchObject({ pluginApiVersion: RUNTIME_API_VERSION + 1, coreApiVersion: RUNTIME_API_VERSION });
    }
  });
});

describe("loadRuntimePlugin", () => {
  it("loads a plugin from a path, relative to cwd or absolute", async () => {
    expect((await loadRuntimePlugin("./good.mjs", { cwd: fixtures })).meta).toEqual({ name: "fake-good", version: "1.2.3" });
    expect((await loadRuntimePlugin(plugin("good.mjs"))).meta.name).toBe("fake-good");
  });

  it("unwraps a CommonJS default export", async () => {
    expect((await loadRuntimePlugin(plugin("cjs-nested.cjs"))).meta.name).toBe("fake-cjs");
  });

  it("refuses an old API version and a module that is not a plugin", async () => {
    expect(await codeOf(loadRuntimePlugin(plugin("old-api.mjs")))).toMatchObject({ code: "PLUGIN_API_MISMATCH" });
    // A v1 plugin lacks what v2 and v3 added: it is refused with a message that says what, not used with a fallback.
    expect((await codeOf(loadRuntimePlugin(plugin("old-api.mjs")))).message).toContain(
      "implements runtime API v1, but this k3ts needs v3 (added since: v2: networks.list(filter) and volumes.inspect(name); v3: images.inspect(ref) and NodeSpec.hostPid)",
    );
    expect(await codeOf(loadRuntimePlugin(plugin("not-a-plugin.mjs")))).toMatchObject({ code: "PLUGIN_INVALID" });
    expect(await codeOf(loadRuntimePlugin(plugin("missing.mjs")))).toMatchObject({ code: "PLUGIN_NOT_FOUND" });
  });

  describe("by package name", () => {
    const dir = mkdtempSync(join(tmpdir(), "k3ts-plugins-"));
    const pkg = (name: string, body: string) => {
      const root = join(dir, "node_modules", name);
      mkdirSync(root, { recursive: true });
      writeFileSync(join(root, "package.json"), JSON.stringify({ name, type: "module", exports: "./index.js" }));
      writeFileSync(join(root, "index.js"), body);
    };
    const def = (name: string, api = RUNTIME_API_VERSION) =>
      `import { stubRuntime } from ${JSON.stringify(plugin("stub-runtime.mjs"))}; export default { meta: { name: ${JSON.stringify(name)}, version: "1.0.0" }, apiVersion: ${api}, isAvailable: async () => ({ available: true }), create: () => stubRuntime(${JSON.stringify(name)}) };`;
    pkg("k3ts-runtime-nerdctl", def("nerdctl"));
    pkg("@acme/k3ts-runtime-lima", def("lima"));
    pkg("@acme/k3ts-runtime", def("acme"));
    pkg("k3ts-runtime-crashy", "throw new Error('boom at import');");
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const work = join(dir, "project", "work");
    mkdirSync(work, { recursive: true });
    const searchDirs = [dir];

    it("resolves short names the ESLint way, from the directories asked for", async () => {
      expect((await loadRuntimePlugin("nerdctl", { cwd: work, searchDirs })).meta.name).toBe("nerdctl");
      expect((await loadRuntimePlugin("@acme/lima", { cwd: work, searchDirs })).meta.name).toBe("lima");
      expect((await loadRuntimePlugin("@acme", { cwd: work, searchDirs })).meta.name).toBe("acme");
    });

    it("never from the working directory or its parents unless asked (a node_modules in a shared /tmp runs nobody's code)", async () => {
      // `dir/node_modules` is a parent's of both `dir` and `work`: neither finds it on its own.
      for (const cwd of [dir, work]) expect(await codeOf(loadRuntimePlugin("nerdctl", { cwd }))).toMatchObject({ code: "PLUGIN_NOT_FOUND" });
      // The installation's own location (resolveFrom) is searched first, then searchDirs.
      const from = new URL(`file://${dir}/node_modules/`).href;
      const loaded: string[] = [];
      expect((await loadRuntimePlugin("nerdctl", { cwd: work, resolveFrom: [from], onLoaded: (_n, url) => loaded.push(url) })).meta.name).toBe("nerdctl");
      expect(loaded).toEqual([new URL(`file://${dir}/node_modules/k3ts-runtime-nerdctl/index.js`).href]);
    });

    it("K3TS_RUNTIME_PATH names the search directories (relative to cwd), as PATH does", async () => {
      expect(runtimeSearchDirs({ K3TS_RUNTIME_PATH: `../..${delimiter}/opt/k3ts` }, work)).toEqual([dir, "/opt/k3ts"]);
      expect(runtimeSearchDirs({}, work)).toEqual([]);
      const chosen = await selectRuntime({ name: "nerdctl", cwd: work, env: { K3TS_RUNTIME_PATH: "../.." }, context: { k3tsVersion: "9.9.9" } });
      expect(chosen.plugin.meta.name).toBe("nerdctl");
      expect(await codeOf(selectRuntime({ name: "nerdctl", cwd: work, env: {}, context: { k3tsVersion: "9.9.9" } }))).toMatchObject({ code: "PLUGIN_NOT_FOUND" });
    });

    it("says which packages it looked for, and why an installed one failed", async () => {
      const missing = await codeOf(loadRuntimePlugin("lxd", { cwd: work, searchDirs }));
      expect(missing).toMatchObject({ code: "PLUGIN_NOT_FOUND", message: `no runtime plugin named "lxd": looked for @k3ts/runtime-lxd, k3ts-runtime-lxd beside k3ts and in ${dir}` });
      const crashy = await codeOf(loadRuntimePlugin("crashy", { cwd: work, searchDirs }));
      expect(crashy.code).toBe("PLUGIN_INVALID");
      expect(crashy.message).toContain("k3ts-runtime-crashy is installed but failed to load: boom at import");
    });
  });
});

describe("selectRuntime", () => {
  const ctx = { k3tsVersion: "9.9.9" };

  it("a named runtime wins over K3TS_RUNTIME, which wins over detection", async () => {
    const byFlag = await selectRuntime({ name: plugin("good.mjs"), env: { K3TS_RUNTIME: plugin("cjs-nested.cjs") }, context: ctx });
    expect(byFlag.reason).toBe("flag");
    expect(byFlag.runtime.name).toBe("fake-good");
    const byEnv = await selectRuntime({ env: { K3TS_RUNTIME: plugin("cjs-nested.cjs") }, context: ctx });
    expect(byEnv.reason).toBe("env");
    expect(byEnv.runtime.name).toBe("fake-cjs");
  });

  it("detects the first available runtime in order and hands it the context and options", async () => {
    const picked = await selectRuntime({
      env: {},
      detect: [plugin("unavailable.mjs"), plugin("good.mjs")],
      context: ctx,
      pluginOptions: { socket: "/x" },
    });
    expect(picked.reason).toBe("detected");
    expect(picked.runtime).toMatchObject({ name: "fake-good", created: { k3tsVersion: "9.9.9", options: { socket: "/x" } } });
  });

  it("refuses a runtime that lacks calls of the version its plugin declares, naming them (a v1 plugin that took core's RUNTIME_API_VERSION)", async () => {
    for (const how of [{ name: plugin("half-upgraded.mjs") }, { detect: [plugin("half-upgraded.mjs")] }]) {
      const result = await codeOf(selectRuntime({ env: {}, context: ctx, ...how }));
      expect(result.code).toBe("PLUGIN_INVALID");
      expect(result.message).toBe(`runtime plugin fake-half declares runtime API v${RUNTIME_API_VERSION}, but its runtime lacks networks.list(), volumes.inspect(), images.inspect()`);
      expect(result.meta).toMatchObject({ plugin: "fake-half", missing: ["networks.list()", "volumes.inspect()", "images.inspect()"] });
    }
  });

  it("says per runtime why nothing was found", async () => {
    const result = await codeOf(selectRuntime({ env: {}, detect: [plugin("unavailable.mjs"), "definitely-not-installed"], context: ctx }));
    expect(result.code).toBe("RUNTIME_UNAVAILABLE");
    expect(result.message).toContain("engine is not running (fake://down)");
    expect(result.message).toContain("definitely-not-installed: not installed");
  });
});
