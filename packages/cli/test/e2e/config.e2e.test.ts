import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ENGINES, K3S_IMAGE, LB_IMAGE, PRIVILEGE_FLAGS, cleanupDir, clearName, k3ts, leftovers, runtimeFor } from "./helpers.js";

// End to end, per engine: what a k3d config file asks of the nodes themselves (files[], ulimits).
for (const engine of ENGINES) {
  const runtime = await runtimeFor(engine);
  const suite = runtime ? describe : describe.skip;

  suite(`k3d config files on ${engine}`, () => {
    it("files[] land in the nodes their filters pick (inline and from a path next to the file); ulimits apply to every node", async () => {
      const name = await clearName(runtime!, `e2e${engine[0]}-cfg`);
      const dir = mkdtempSync(join(tmpdir(), "k3ts-e2e-cfg-"));
      const env = { KUBECONFIG: join(dir, "config") };
      writeFileSync(join(dir, "agent-note.txt"), "from a file beside the config\n");
      const config = join(dir, "k3d.yaml");
      writeFileSync(
        config,
        [
          "apiVersion: k3d.io/v1alpha5",
          "kind: Simple",
          `metadata: {name: ${name}}`,
          "servers: 1",
          "agents: 1",
          "files:",
          "  - description: inline, servers only",
          "    source: |",
          "      hello from the config",
          "    destination: /etc/k3ts-e2e/hello.txt",
          "    nodeFilters: [server:*]",
          "  - source: agent-note.txt",
          "    destination: /etc/k3ts-e2e/note.txt",
          "    nodeFilters: [agent:0]",
          "options:",
          "  runtime:",
          "    ulimits:",
          "      - {name: nofile, soft: 512, hard: 1024}",
          // Podman replaces its default ulimits with these; this machine cannot raise nproc (no CAP_SYS_RESOURCE).
          "      - {name: nproc, soft: 4096, hard: 4096}",
          "",
        ].join("\n"),
      );
      try {
        const created = await k3ts(engine, ["cluster", "create", "--config", config, "--image", K3S_IMAGE, "--lb-image", LB_IMAGE, ...PRIVILEGE_FLAGS, "--timeout", "150s"], env);
        expect(created.exitCode, created.stderr).toBe(0);
        expect(created.stderr).not.toMatch(/does not copy files|does not set ulimits/);
        const server = `k3ts-${name}-server-0`;
        const agent = `k3ts-${name}-agent-0`;
        expect((await runtime!.nodes.readFile(server, "/etc/k3ts-e2e/hello.txt")).toString()).toBe("hello from the config\n");
        expect((await runtime!.nodes.readFile(agent, "/etc/k3ts-e2e/note.txt")).toString()).toBe("from a file beside the config\n");
        await expect(runtime!.nodes.readFile(agent, "/etc/k3ts-e2e/hello.txt")).rejects.toMatchObject({ code: "FILE_NOT_FOUND" });
        for (const node of [server, agent]) {
          // The node's own processes (an exec'd shell gets Podman's exec defaults instead).
          const r = await runtime!.nodes.exec(node, ["cat", "/proc/1/limits"]);
          const limits = r.stdout.toString();
          expect(limits).toMatch(/^Max open files\s+512\s+1024\s+files/m);
        }
        expect((await k3ts(engine, ["cluster", "delete", "--config", config], env)).exitCode).toBe(0);
        expect(await leftovers(runtime!, name)).toEqual([]);
      } finally {
        await k3ts(engine, ["cluster", "delete", name], env);
        cleanupDir(dir);
      }
    }, 240_000);
  });
}
