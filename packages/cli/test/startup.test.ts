/**
 * What start-up loads: `k3ts --version` is answered by bin/k3ts.js from the version module alone, and
 * the commands that only read or print help load no engine library, no YAML, no Kubernetes client and
 * no schema validator. Runs the built bin (as bin.test.ts does) with a module hook that lists every
 * module loaded; needs no engine.
 */
import { execa } from "execa";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runMain } from "./harness.js";

const bin = fileURLToPath(new URL("../bin/k3ts.js", import.meta.url));
/** Prints each loaded module's URL to stderr as `loaded <url>` (sync hooks see ESM and require alike). */
const hook = `data:text/javascript,${encodeURIComponent(
  'import { registerHooks } from "node:module"; registerHooks({ load(url, context, next) { process._rawDebug("loaded " + url); return next(url, context); } });',
)}`;

async function loads(args: string[]): Promise<{ stdout: string; exitCode: number | undefined; modules: string[] }> {
  const r = await execa("node", ["--import", hook, bin, ...args], { reject: false, env: { NO_COLOR: "1" } });
  const modules = r.stderr
    .split("\n")
    .filter((l) => l.startsWith("loaded "))
    .map((l) => l.slice("loaded ".length));
  return { stdout: r.stdout, exitCode: r.exitCode, modules };
}

const HEAVY = /dockerode|docker-modem|ssh2|execa|\/yaml\/|@kubernetes|ajv|undici|ws\/|tar-stream/;

describe("start-up", () => {
  it("--version prints exactly what main() prints, loading only the bin and the version module", async () => {
    const r = await loads(["--version"]);
    const full = await runMain(["--version"]);
    expect(r.exitCode).toBe(0);
    expect(full.code).toBe(0);
    expect(`${r.stdout}\n`).toBe(full.out);
    const files = r.modules.filter((m) => m.startsWith("file:"));
    expect(files.some((m) => m.endsWith("/dist/version-line.js"))).toBe(true);
    expect(files.filter((m) => !/\/bin\/k3ts\.js$|\/dist\/version-line\.js$|\/dist\/chunk-[\w-]+\.js$/.test(m))).toEqual([]);
    expect(files.some((m) => /\/dist\/main\.js$|@k3ts|\/core\/dist\/|cac/.test(m))).toBe(false);
  });

  it.each([["version"], ["version", "-o", "json"], ["--help"], ["cluster", "create", "--help"], ["config", "validate", "--help"]].map((a) => [a.join(" "), a] as const))(
    "k3ts %s loads no engine library, YAML, Kubernetes client or schema validator",
    async (_name, args) => {
      const r = await loads([...args]);
      expect(r.exitCode).toBe(0);
      expect(r.modules.length).toBeGreaterThan(3); // the hook saw the CLI load
      expect(r.modules.filter((m) => HEAVY.test(m))).toEqual([]);
    },
  );
});
