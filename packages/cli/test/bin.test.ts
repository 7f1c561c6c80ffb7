import { execa } from "execa";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The built CLI, run as users run it, against the engines on this machine.
const bin = fileURLToPath(new URL("../bin/k3ts.js", import.meta.url));
const run = (args: string[]) => execa("node", [bin, ...args], { reject: false, env: { NO_COLOR: "1" } });

describe("k3ts bin", () => {
  it("--version prints the package version", async () => {
    const r = await run(["--version"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^k3ts\/\d+\.\d+\.\d+ /);
  });

  it.each(["docker", "podman"])("runtime info --runtime %s talks to the real engine", async (name) => {
    const r = await run(["--runtime", name, "runtime", "info", "-o", "json"]);
    if (r.exitCode !== 0 && !process.env.CI && /RUNTIME_UNAVAILABLE|not reachable|no socket/.test(r.stderr)) {
      console.warn(`${name} not reachable here; under CI this fails`);
      return;
    }
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const info = JSON.parse(r.stdout) as { runtime: string; engine: { version: string } };
    expect(info.runtime).toBe(name);
    expect(info.engine.version).toMatch(/^\d+\.\d+/);
  });

  it("auto-detects an engine and says which", async () => {
    const r = await run(["runtime", "list", "-o", "json"]);
    expect(r.exitCode).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ name: string; available: boolean; selected: boolean }>;
    expect(rows.filter((x) => x.selected).length).toBe(rows.some((x) => x.available) ? 1 : 0);
    if (process.env.CI) expect(rows.filter((x) => x.available).map((x) => x.name)).toEqual(["docker", "podman"]);
  });
});
