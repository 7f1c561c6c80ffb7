import { describe, expect, it } from "vitest";
import { LABELS, selectRuntime, type Runtime } from "@k3ts/core";
import { quickstart } from "../main.ts";

/** The stand-in k3s (a test double; see fixtures/k3s-standin) unless K3TS_E2E_K3S_IMAGE names a real k3s. */
const K3S_IMAGE = process.env.K3TS_E2E_K3S_IMAGE ?? "k3ts-test/k3s-standin:2";
const LB_IMAGE = process.env.K3TS_E2E_LB_IMAGE ?? (process.env.K3TS_E2E_K3S_IMAGE ? "nginx:1.29-alpine" : "k3ts-test/nginx:1");

/** Real k3s runs privileged; the stand-in unprivileged with SYS_ADMIN, for its real containerd to unpack images. */
const NODE_PRIVILEGE = process.env.K3TS_E2E_K3S_IMAGE ? { privileged: true } : { privileged: false, capAdd: ["SYS_ADMIN"] };
/** The app's image, imported from the engine (no registry here): the test machine's busybox, with sh and httpd. */
const APP_IMAGE = process.env.K3TS_E2E_POD_IMAGE ?? "k3ts-test/busybox:1";

async function engine(name: "docker" | "podman"): Promise<Runtime | undefined> {
  try {
    const { runtime } = await selectRuntime({ name, resolveFrom: [import.meta.url] });
    await runtime.info({ signal: AbortSignal.timeout(5000) });
    return runtime;
  } catch (err) {
    if (process.env.CI) throw err;
    return undefined;
  }
}

// The example program of the README, run as it is (only the images and privilege are the test machine's).
// Both engines, or those K3TS_E2E_ENGINES names (`pnpm test:repeat --engine` sets it).
const ENGINES = (process.env.K3TS_E2E_ENGINES ?? "docker,podman").split(",").filter((e): e is "docker" | "podman" => e === "docker" || e === "podman");
for (const name of ENGINES) {
  const runtime = await engine(name);
  describe.runIf(runtime)(`the quickstart example on ${name}`, () => {
    it("creates a cluster, applies the manifests, installs the chart, reaches the Service over HTTP, and leaves nothing behind", async () => {
      const cluster = `quickstart-${name[0]}`;
      const lines: string[] = [];
      const result = await quickstart(
        { runtime: runtime!, name: cluster, image: K3S_IMAGE, loadBalancer: { image: LB_IMAGE }, ...NODE_PRIVILEGE, timeout: "150s", environment: {} },
        (l) => lines.push(l),
        APP_IMAGE,
      );
      expect(result.greeting).toBe("Hello from k3ts");
      expect(result.applied).toEqual(expect.arrayContaining(["Namespace//demo", "ConfigMap/demo/settings"]));
      expect(result.helmJob).toBe("helm-install-hello");
      expect(lines[0]).toBe(`cluster ${cluster} is ready`);
      expect(lines.filter((l) => l.startsWith("warning:"))).toEqual([]);
      expect(lines.at(-1)).toMatch(/^http:\/\/127\.0\.0\.1:\d+ answered: Hello from k3ts$/);
      // `await using` deleted it on the way out.
      expect(await runtime!.nodes.list({ labels: { [LABELS.cluster]: cluster } })).toEqual([]);
    }, 300_000);
  });
}
