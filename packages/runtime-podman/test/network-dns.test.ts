/**
 * `networkDns` against the real engine: this machine's Podman (CNI with the dnsname plugin, as
 * scripts/setup.sh installs it) and the same Podman without the plugin
 * (scripts/podman-without-dns.sh: cni_plugin_dirs without dnsname, through CONTAINERS_CONF).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { createPodmanRuntime } from "../src/index.js";
import { CNI_DNS_HINT } from "../src/translate.js";

const script = fileURLToPath(new URL("../../../scripts/podman-without-dns.sh", import.meta.url));
const backend = await execa("podman", ["info", "--format", "{{.Host.NetworkBackend}}"], { reject: false });
const problem = backend.exitCode !== 0 ? `podman is not reachable: ${backend.stderr}` : backend.stdout.trim() !== "cni" ? `podman runs ${backend.stdout.trim()}, not CNI` : undefined;

const probeNetworks = async () =>
  (await execa("podman", ["network", "ls", "--filter", "label=k3ts.io/probe=dns", "--format", "{{.Name}}"])).stdout.split("\n").filter(Boolean);

if (problem && process.env.CI) {
  describe("podman networkDns", () => {
    it("needs a reachable CNI-backed podman under CI (scripts/setup.sh pins it)", () => {
      throw new Error(problem);
    });
  });
} else {
  describe.skipIf(problem !== undefined)(`podman networkDns${problem ? ` (skipped: ${problem})` : ""}`, () => {
    const dir = mkdtempSync(join(tmpdir(), "k3ts-nodns-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("reports container DNS when the engine's user networks have it, and leaves no probe network", async () => {
      const info = await createPodmanRuntime().info();
      expect(info.capabilities.networkDns).toBe(true);
      expect(info.hints).toBeUndefined();
      expect(await probeNetworks()).toEqual([]);
    });

    it("reports none, with what to install, on a CNI podman without the dnsname plugin", async () => {
      const conf = (await execa("bash", [script, dir])).stdout.trim();
      const runtime = createPodmanRuntime({ env: { CONTAINERS_CONF: conf } });
      const info = await runtime.info();
      expect(info.capabilities.networkDns).toBe(false);
      expect(info.hints).toEqual({ networkDns: CNI_DNS_HINT });
      // asked once per runtime: a second call makes no second probe network
      expect((await runtime.info()).capabilities.networkDns).toBe(false);
      expect(await probeNetworks()).toEqual([]);
    });
  });
}
