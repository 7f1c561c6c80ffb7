/**
 * A Podman whose networks have no container DNS (CNI without the dnsname plugin, what a
 * `--no-install-recommends` install gives), made from this machine's Podman by
 * scripts/podman-without-dns.sh: `cluster create` refuses up front and leaves nothing behind, and
 * scripts/check-machine.sh (which setup.sh and so CI run) fails with a one-line reason.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { ENGINES, cleanupDir, createArgs, k3ts, kubeconfigWithOtherContext, leftovers, read, runtimeFor } from "./helpers.js";

const repo = fileURLToPath(new URL("../../../../", import.meta.url));
const runtime = ENGINES.includes("podman") ? await runtimeFor("podman") : undefined;
const backend = runtime ? (await runtime.info()).capabilities.networkDns : undefined;

(runtime ? describe : describe.skip)("podman without container DNS", () => {
  const dir = mkdtempSync(join(tmpdir(), "k3ts-nodns-"));
  afterAll(() => cleanupDir(dir));
  const conf = async () => (await execa("bash", [join(repo, "scripts/podman-without-dns.sh"), dir])).stdout.trim();

  it("this machine's podman itself has container DNS (scripts/setup.sh installs it)", () => {
    expect(backend).toBe(true);
  });

  it("cluster create refuses before it makes anything, with what to install, and keeps the kubeconfig as it was", async () => {
    const name = "e2ep-nodns";
    const kc = kubeconfigWithOtherContext();
    try {
      const r = await k3ts("podman", createArgs(name, ["--agents", "2"]), { KUBECONFIG: kc.path, CONTAINERS_CONF: await conf() });
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toContain(`cluster ${name} cannot run on podman`);
      expect(r.stderr).toContain("cannot resolve each other by name");
      expect(r.stderr).toContain("apt-get install golang-github-containernetworking-plugin-dnsname");
      expect(r.stderr).toContain("RUNTIME_CAPABILITY_MISSING");
      expect(r.stderr).not.toContain("Starting server");
      expect(await leftovers(runtime!, name)).toEqual([]);
      expect(read(kc.path)).toBe(kc.original);
    } finally {
      cleanupDir(kc.dir);
    }
  });

  it("scripts/check-machine.sh fails with a one-line reason", async () => {
    const r = await execa("bash", [join(repo, "scripts/check-machine.sh")], { reject: false, cwd: repo, env: { CONTAINERS_CONF: await conf() } });
    expect(r.exitCode).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("check-machine: FAIL"))).toEqual([
      "check-machine: FAIL podman (cni) creates networks without DNS (dns_enabled false): containers cannot resolve each other by name; install golang-github-containernetworking-plugin-dnsname (scripts/setup.sh does)",
    ]);
    expect(lines.at(-1)).toMatch(/^check-machine: FAIL /);
  });
});
