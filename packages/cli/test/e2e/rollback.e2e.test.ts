import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { createCluster, isK3tsError } from "@k3ts/core";
import { TOKEN_FILE_IN_NODE } from "@k3ts/core/internal";
import { specFromFlags } from "../../src/commands/cluster/spec.js";
import { ENGINES, K3S_IMAGE, LB_IMAGE, PRIVILEGE_FLAGS, bin, cleanupDir, clearName, failing, kubeconfigWithOtherContext, leftovers, read, runtimeFor, withGroups } from "./helpers.js";

const flags = (extra: Record<string, unknown> = {}) => ({
  image: K3S_IMAGE,
  lbImage: LB_IMAGE,
  privileged: process.env.K3TS_E2E_K3S_IMAGE ? true : false,
  agents: "2",
  timeout: "150s",
  ...extra,
});

/**
 * Where a create is made to fail. The rollback is core's, the same on every engine (and unit-tested on the memory
 * runtime step by step); what differs per engine is whether its clean-up calls work there. So every step runs on
 * the first engine, and on the others the steps that leave each kind of thing behind (a network; nodes made and
 * not started, started, and the load balancer): `everyEngine`.
 */
const steps: Array<{ step: string; when: (m: string, a: unknown[]) => boolean; flags?: Record<string, unknown>; everyEngine?: true }> = [
  { step: "network", when: (m) => m === "networks.ensure", everyEngine: true },
  { step: "server-0 start", when: (m, a) => m === "nodes.start" && String(a[0]).endsWith("-server-0") },
  { step: "agent create (parallel step)", when: (m, a) => m === "nodes.create" && String((a[0] as { name: string }).name).endsWith("-agent-1"), everyEngine: true },
  { step: "load balancer config", when: (m, a) => m === "nodes.writeFile" && String(a[0]).endsWith("-serverlb") },
  { step: "load balancer start", when: (m, a) => m === "nodes.start" && String(a[0]).endsWith("-serverlb"), everyEngine: true },
  { step: "reading the kubeconfig", when: (m, a) => m === "nodes.readFile" && String(a[1]) === "/output/kubeconfig.yaml", flags: {} },
];

for (const engine of ENGINES) {
  const runtime = await runtimeFor(engine);
  const suite = runtime ? describe : describe.skip;
  const short = engine[0];
  const first = engine === ENGINES[0];
  /** A test of core's own logic: on the first engine only (see `steps`). */
  const once = first ? it : () => undefined;

  suite(`create rolls back on ${engine}`, () => {
    steps.forEach(({ step, when, everyEngine }, i) => {
      if (!first && !everyEngine) return;
      it(`failure at: ${step}`, async () => {
        const name = await clearName(runtime!, `e2e${short}-rb${i}`);
        const kc = kubeconfigWithOtherContext();
        try {
          const spec = specFromFlags(name, flags(), {});
          const err = await createCluster(spec, { runtime: failing(runtime!, when), kubeconfigPath: kc.path }).catch((e: unknown) => e);
          expect(isK3tsError(err, "RUNTIME_ERROR"), String(err)).toBe(true);
          expect((err as Error).message).toMatch(/injected failure/);
          expect(await leftovers(runtime!, name)).toEqual([]);
          expect(read(kc.path)).toBe(kc.original);
        } finally {
          cleanupDir(kc.dir);
        }
      }, 180_000);
    });

    once("failure at: readiness timeout (the error quotes what the stuck nodes said)", async () => {
      const name = await clearName(runtime!, `e2e${short}-rbto`);
      const kc = kubeconfigWithOtherContext();
      try {
        // An agent given the wrong token never joins (k3s agents retry forever): readiness times out.
        const wrongToken = withGroups(runtime!, {
          nodes: new Proxy(runtime!.nodes, {
            get(obj, prop, receiver) {
              const value = Reflect.get(obj, prop, receiver) as (...a: unknown[]) => unknown;
              if (prop !== "writeFile") return typeof value === "function" ? value.bind(obj) : value;
              return (node: string, path: string, content: unknown, o: unknown) =>
                value.call(obj, node, path, node.endsWith("-agent-1") && path === TOKEN_FILE_IN_NODE ? "not-the-cluster-token\n" : content, o);
            },
          }),
        });
        const spec = specFromFlags(name, flags({ timeout: "15s" }), {});
        const err = await createCluster(spec, { runtime: wrongToken, kubeconfigPath: kc.path }).catch((e: unknown) => e);
        expect(isK3tsError(err, "CLUSTER_NOT_READY"), String(err)).toBe(true);
        expect((err as Error).message).toContain(`not Ready: k3ts-${name}-agent-1`);
        expect((err as Error).message).toContain("what the nodes said last");
        expect(await leftovers(runtime!, name)).toEqual([]);
        expect(read(kc.path)).toBe(kc.original);
      } finally {
        cleanupDir(kc.dir);
      }
    }, 180_000);

    it("a k3s node that exits on a fatal error fails the create at once (not at the timeout), quoting its fatal line", async () => {
      const name = await clearName(runtime!, `e2e${short}-crash`);
      const kc = kubeconfigWithOtherContext();
      try {
        // k3s refuses an unknown flag and exits; the engine restarts it (unless-stopped), again and again.
        const r = await execa("node", [bin, "--runtime", engine, "cluster", "create", name, "--image", K3S_IMAGE, "--lb-image", LB_IMAGE, ...PRIVILEGE_FLAGS, "--agents", "1", "--k3s-arg=--no-such-flag@agent:0", "--timeout", "10m"], {
          reject: false,
          env: { NO_COLOR: "1", KUBECONFIG: kc.path },
        });
        expect(r.exitCode).toBe(1);
        const stderr = String(r.stderr);
        expect(stderr).toMatch(new RegExp(`node k3ts-${name}-agent-0 exited`));
        expect(stderr).not.toContain("was not ready in time");
        // The fatal line comes first among what the node said.
        const quoted = stderr.split("\n").filter((l) => l.startsWith("    "));
        expect(quoted[0]).toContain('level=fatal msg="flag provided but not defined: -no-such-flag"');
        expect(await leftovers(runtime!, name)).toEqual([]);
        expect(read(kc.path)).toBe(kc.original);
      } finally {
        cleanupDir(kc.dir);
      }
    }, 180_000);

    it("failure at: writing the kubeconfig", async () => {
      const name = await clearName(runtime!, `e2e${short}-rbkc`);
      const kc = kubeconfigWithOtherContext();
      try {
        const blocker = join(kc.dir, "not-a-dir");
        writeFileSync(blocker, "a file where a directory should be");
        const spec = specFromFlags(name, flags(), {});
        const err = await createCluster(spec, { runtime: runtime!, kubeconfigPath: join(blocker, "config") }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Error);
        expect(await leftovers(runtime!, name)).toEqual([]);
        expect(read(kc.path)).toBe(kc.original);
      } finally {
        cleanupDir(kc.dir);
      }
    }, 180_000);

    it("Ctrl-C during create: exit 130, nothing left, kubeconfig unchanged", async () => {
      const name = await clearName(runtime!, `e2e${short}-int`);
      const kc = kubeconfigWithOtherContext();
      try {
        const child = execa("node", [bin, "--runtime", engine, "cluster", "create", name, "--image", K3S_IMAGE, "--lb-image", LB_IMAGE, ...PRIVILEGE_FLAGS, "--agents", "2"], {
          reject: false,
          env: { KUBECONFIG: kc.path, NO_COLOR: "1" },
        });
        let stderr = "";
        await new Promise<void>((resolve) => {
          child.stderr?.on("data", (d: Buffer) => {
            stderr += d.toString();
            if (stderr.includes("Starting 2 agent(s)")) resolve();
          });
          void child.then(() => resolve());
        });
        child.kill("SIGINT");
        const result = await child;
        expect(result.exitCode, stderr + String(result.stderr)).toBe(130);
        expect(await leftovers(runtime!, name)).toEqual([]);
        expect(read(kc.path)).toBe(kc.original);
      } finally {
        cleanupDir(kc.dir);
      }
    }, 180_000);
  });
}
