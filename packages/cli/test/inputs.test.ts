/**
 * Malformed and edge-case input, end to end through main() against a runtime that records what
 * reaches it (fixtures/recording-runtime.mjs: core's memory runtime, nodes never started). Each row
 * says what k3ts must do with one command line:
 *   refuse  exit 2, the message names the flag (or argument) given, and nothing that changes the
 *           engine was asked (reads are allowed: a cluster's existence is looked up)
 *   fail    exit 1 with the message (a well-formed request the engine cannot do)
 *   help    exit 0 with the command's help, the runtime untouched
 *   reach   the input is accepted as typed: `check` reads what reached the runtime (server-0's spec
 *           and the files written into it) before the recording runtime stops the create
 */
import { fileURLToPath } from "node:url";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeSpec } from "@k3ts/core";
import { describe, expect, it } from "vitest";
import { runMain } from "./harness.js";
import { commands } from "../src/commands/index.js";
import { STOP_MESSAGE, recording } from "./fixtures/recording-runtime.mjs";

const RUNTIME = fileURLToPath(new URL("./fixtures/recording-runtime.mjs", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "k3ts-inputs-"));
mkdirSync(join(work, "a-directory"));
writeFileSync(join(work, "not-yaml.yaml"), "servers: [\n");
writeFileSync(join(work, "registries.yaml"), "mirrors:\n  docker.io:\n    endpoint: [https://mirror.example.test]\n");
writeFileSync(join(work, "token.txt"), "0123-from-a-file\nsecond line ignored\n");
writeFileSync(join(work, "empty-token.txt"), "\n");

const MUTATING = /^(nodes\.(create|delete|start|stop|writeFile|exec)|networks\.(ensure|delete|connect|disconnect)|volumes\.(ensure|delete)|images\.(pull|load))$/;

interface Reached {
  server0: NodeSpec | undefined;
  files: Record<string, string>;
  calls: string[];
}

type Row =
  | { argv: string[]; refuse: string; env?: Record<string, string> }
  | { argv: string[]; fail: string; env?: Record<string, string> }
  | { argv: string[]; help: string; env?: Record<string, string> }
  | { argv: string[]; reach: (r: Reached) => void; env?: Record<string, string> };

const create = (...extra: string[]) => ["cluster", "create", "t", "--kubeconfig-update-default=false", ...extra];
const token = (expected: string) => (r: Reached) => expect(r.files["/etc/rancher/k3s/k3ts-token"] ?? Object.entries(r.files).find(([p]) => p.endsWith("token"))?.[1]).toBe(`${expected}\n`);
const envOf = (r: Reached) => r.server0?.env ?? {};
const cmd = (r: Reached) => r.server0?.command ?? [];

/** Every value-taking flag of cluster create, given an empty value: refused, naming the flag. */
const emptyValues: Row[] = (commands.find((c) => c.name === "cluster create")?.options ?? [])
  .filter((o) => /<[^>]+>/.test(o.flags))
  .map((o) => {
    const long = /--[a-z0-9-]+/.exec(o.flags)![0];
    return { argv: create(long, ""), refuse: `${long}: a value is required` };
  });

const rows: Row[] = [
  ...emptyValues,
  // counts
  ...["0", "-1", "0x2", "1e1", "1.5", " 2", "two", "+3", "2 ", "١"].map((v) => ({ argv: create("--servers", v), refuse: "--servers" })),
  ...["-1", "0x1", "1e3", "1.0", "many", "-0.5", "0b1", "NaN"].map((v) => ({ argv: create("--agents", v), refuse: "--agents" })),
  { argv: create("--agents", "10000000"), refuse: "agents: 10000000 is more than k3ts makes" },
  { argv: create("--servers", "100"), refuse: "servers: 100 is more than k3ts makes" },
  // names
  ...["UPPER", "under_score", "-lead", "trail-", "dot.ted", "a".repeat(33), "sp ace", "ümlaut", "a/b", "k3ts-"].map((n) => ({ argv: ["cluster", "create", n], refuse: "" })),
  // ports
  ...["99999:80", "8080:0", "8080:80/sctp", "8080:80@nodes:0", "a:b:c:d:e", "8080:80@server:x", "8080:80@agent:9", "[::1]:8080:80", "8080:-1", "http:80"].map((p) => ({
    argv: create("-p", p),
    refuse: "--port",
  })),
  // volumes
  ...["relative/path:/data", ":/data", "/src:", "/src:relative", "/src:/dst:rx", "/src:/dst@nowhere:0"].map((v) => ({ argv: create("-v", v), refuse: "--volume" })),
  // env, labels
  ...["=x", "=", "A B=c", "K=V@bogus:1"].map((e) => ({ argv: create("-e", e), refuse: "--env" })),
  ...["=x", "k v=1", "k3ts.io/cluster=other", "k3ts.io/managed=false@server:0"].map((l) => ({ argv: create("--runtime-label", l), refuse: "--runtime-label" })),
  ...["=x", "a b=c"].map((l) => ({ argv: create("--k3s-node-label", l), refuse: "--k3s-node-label" })),
  ...["sys admin", "NOT_A_CAP!", "SYS_ADMIN@nowhere:1"].map((c) => ({ argv: create("--no-privileged", "--runtime-cap-add", c), refuse: "--runtime-cap-add" })),
  // k3s args: filters
  ...["--disable=traefik@nogroup:0", "--disable=traefik@server:x", "--x@server:0:extra", "--tls-san=a@agent:[0"].map((a) => ({ argv: create("--k3s-arg", a), refuse: "--k3s-arg" })),
  // durations, sizes, addresses
  ...["soon", "-1s", "5 m", "1h30", "1d", "0x10s"].map((t) => ({ argv: create("--timeout", t), refuse: "--timeout" })),
  ...["lots", "1q", "-1g", "0", "1.5.5g"].map((m) => ({ argv: create("--servers-memory", m), refuse: "--servers-memory" })),
  ...["lots", "-5m"].map((m) => ({ argv: create("--agents-memory", m), refuse: "--agents-memory" })),
  ...["host:1:2", "70000", "-1", "abc", "127.0.0.1:", "::1:6443"].map((a) => ({ argv: create("--api-port", a), refuse: "--api-port" })),
  ...["10.0.0.0", "10.0.0.0/33", "10.0.0.0/30", "300.0.0.0/16", "fd00::/64", "ten/8"].map((s) => ({ argv: create("--subnet", s), refuse: "--subnet" })),
  ...["nope", "1.2.3.4", "1.2.3.4:", "1.2.3.999:db", "1.2.3.4:bad_host", ":db"].map((h) => ({ argv: create("--host-alias", h), refuse: "--host-alias" })),
  // booleans
  ...["maybe", "yes please", "2"].map((b) => ({ argv: create(`--wait=${b}`), refuse: "--wait" })),
  { argv: create("--kubeconfig-switch-context=sure"), refuse: "--kubeconfig-switch-context" },
  // registries
  ...["bad..name", "bad_name", "a:b:c:d", "reg:99999", "-reg"].map((r) => ({ argv: create("--registry-create", r), refuse: "--registry-create" })),
  { argv: create("--registry-config", join(work, "a-directory")), refuse: "--registry-config" },
  { argv: create("--registry-config", join(work, "missing.yaml")), refuse: "--registry-config" },
  { argv: create("--registry-config", join(work, "not-yaml.yaml")), refuse: "--registry-config" },
  // config files
  { argv: ["cluster", "create", "--config", join(work, "missing.yaml")], refuse: "missing.yaml" },
  { argv: ["cluster", "create", "--config", join(work, "not-yaml.yaml")], refuse: "not-yaml.yaml" },
  { argv: ["cluster", "create", "--config", join(work, "a-directory")], refuse: "a-directory" },
  { argv: ["config", "validate", join(work, "not-yaml.yaml")], refuse: "not-yaml.yaml:" },
  // unknown and misplaced
  { argv: create("--bogus"), refuse: "--bogus" },
  { argv: ["cluster", "create", "a", "b"], refuse: "" },
  { argv: ["clustr", "create"], refuse: 'unknown command "clustr create"' },
  { argv: ["clustr", "create", "--help"], refuse: 'unknown command "clustr create"' },
  { argv: ["cluster", "create", "--help"], help: "k3ts cluster create" },
  { argv: ["cluster", "frobnicate"], refuse: "frobnicate" },
  { argv: ["node", "create"], fail: "cluster k3s-default does not exist" },
  { argv: ["node", "create", "n", "-c", "dev", "--replicas", "0"], refuse: "--replicas" },
  { argv: ["node", "create", "n", "-c", "dev", "--replicas", "1000"], refuse: "" },
  { argv: ["node", "create", "n", "-c", "dev", "--role", "master"], refuse: "--role" },
  { argv: ["node", "create", "n", "-c", "dev", "--runtime-label", "k3ts.io/role=server"], refuse: "--runtime-label" },
  { argv: ["node", "create", "n", "-c", "dev", "--memory", "lots"], refuse: "--memory" },
  { argv: ["image", "import"], refuse: "" },
  { argv: ["image", "import", "-", "-", "-c", "dev"], refuse: "- (stdin) can be given once" },
  { argv: ["image", "import", "x:1", "-c", "dev", "--nodes", "bogus:0"], refuse: "bogus" },
  { argv: ["registry", "create", "bad_name"], refuse: "bad_name" },
  { argv: ["registry", "create", "r", "--port", "99999"], refuse: "--port" },
  { argv: ["registry", "create", "r", "--proxy-remote-url", "not a url"], refuse: "--proxy-remote-url" },
  { argv: ["registry", "create", "r", "--proxy-remote-url", "https://me:pw@registry.example.test"], refuse: "--proxy-remote-url: the URL carries credentials" },
  { argv: ["registry", "create", "r", "--proxy-username", "me"], refuse: "--proxy-username" },
  { argv: ["version", "-o", "xml"], refuse: "--output xml" },
  { argv: ["cluster", "list", "-o", ""], refuse: "--output" },
  // accepted as typed: what reached the runtime
  { argv: create("--token", "0123"), reach: token("0123") },
  { argv: create("--token-file", join(work, "token.txt")), reach: token("0123-from-a-file") },
  { argv: create(), env: { K3TS_TOKEN: "0x10-from-env" }, reach: token("0x10-from-env") },
  { argv: create("--token", "flag-wins"), env: { K3TS_TOKEN: "env-loses" }, reach: token("flag-wins") },
  { argv: create("--token-file", join(work, "missing-token.txt")), refuse: "--token-file" },
  { argv: create("--token-file", join(work, "empty-token.txt")), refuse: "--token-file" },
  { argv: create("--token-file", join(work, "a-directory")), refuse: "--token-file" },
  { argv: create("--token", "x", "--token-file", join(work, "token.txt")), refuse: "--token and --token-file" },
  { argv: create("--token", "-dash"), reach: token("-dash") },
  { argv: create("--token=0x10"), reach: token("0x10") },
  { argv: create("--token", "007", "--agents", "1"), reach: token("007") },
  { argv: create("--token", "with space and $HOME"), reach: token("with space and $HOME") },
  { argv: create("-e", "A=0123@server:0", "-e", "B=", "-e", "C=x=y"), reach: (r) => expect(envOf(r)).toMatchObject({ A: "0123", B: "", C: "x=y" }) },
  { argv: create("-e", "ESC=a\\@b"), reach: (r) => expect(envOf(r).ESC).toBe("a@b") },
  { argv: create("--k3s-arg", "--disable=traefik@server:*"), reach: (r) => expect(cmd(r)).toContain("--disable=traefik") },
  { argv: create("--k3s-arg=--tls-san=0x10@server:0"), reach: (r) => expect(cmd(r)).toContain("--tls-san=0x10") },
  { argv: create("--k3s-arg", "-v=2"), reach: (r) => expect(cmd(r)).toContain("-v=2") },
  { argv: create("--k3s-node-label", "tier=007@server:0"), reach: (r) => expect(cmd(r).join(" ")).toContain("tier=007") },
  { argv: create("--runtime-label", "team=0123"), reach: (r) => expect(r.server0?.labels?.team).toBe("0123") },
  { argv: create("--runtime-label", "example.com/k3ts.io=x"), reach: (r) => expect(r.server0?.labels?.["example.com/k3ts.io"]).toBe("x") },
  { argv: create("--no-privileged", "--runtime-cap-add", "SYS_ADMIN"), reach: (r) => expect(r.server0).toMatchObject({ privileged: false, capAdd: ["SYS_ADMIN"] }) },
  { argv: create("--host-pid-mode"), reach: (r) => expect(r.server0?.hostPid).toBe(true) },
  { argv: create("--host-pid-mode=false"), reach: (r) => expect(r.server0?.hostPid).toBeUndefined() },
  { argv: create("--host-pid-mode=maybe"), refuse: "--host-pid-mode" },
  { argv: create("--no-privileged", "--runtime-cap-add", "cap_net_admin"), reach: (r) => expect(r.server0?.capAdd).toEqual(["NET_ADMIN"]) },
  { argv: create("--servers-memory", "1g"), reach: (r) => expect(r.server0?.memoryBytes).toBe(1024 ** 3) },
  { argv: create("--servers-memory", "512m"), reach: (r) => expect(r.server0?.memoryBytes).toBe(512 * 1024 ** 2) },
  { argv: create("--host-alias", "10.1.2.3:db.example.test,cache"), reach: (r) => expect(r.server0?.extraHosts).toContainEqual({ ip: "10.1.2.3", hostnames: ["db.example.test", "cache"] }) },
  { argv: create("--subnet", "auto"), reach: (r) => expect(r.calls).toContain("nodes.create") },
  { argv: create("--subnet", "172.28.0.0/16"), reach: (r) => expect(r.calls).toContain("networks.ensure") },
  { argv: create("-p", "8080:80@loadbalancer"), reach: (r) => expect(r.calls).toContain("nodes.create") },
  { argv: create("--image", "0x10"), fail: "0x10" },
  { argv: create("--lb-image", "0123"), fail: "0123" },
  { argv: create("--registry-config", join(work, "registries.yaml")), reach: (r) => expect(Object.entries(r.files).find(([p]) => p.endsWith("registries.yaml"))?.[1]).toContain("mirror.example.test") },
  { argv: ["--runtime", RUNTIME, "cluster", "create", "x", "--kubeconfig-update-default=false", "--timeout=0"], reach: (r) => expect(r.server0?.name).toBe("k3ts-x-server-0") },
];

describe(`${rows.length} malformed or edge-case inputs, against a runtime that records what reaches it`, () => {
  it("has at least 150 rows", () => {
    expect(rows.length).toBeGreaterThanOrEqual(150);
  });

  it.each(rows.map((row) => [row.argv.join(" "), row] as const))("%s", async (_shown, row) => {
    recording.calls.length = 0;
    recording.nodes.length = 0;
    recording.files.length = 0;
    const argv = row.argv[0] === "--runtime" ? row.argv : ["--runtime", RUNTIME, ...row.argv];
    const r = await runMain(argv, { cwd: work, env: { HOME: work, KUBECONFIG: join(work, "kubeconfig"), ...row.env } });
    const mutated = recording.calls.filter((c) => MUTATING.test(c));
    if ("refuse" in row) {
      expect(r.code, `${r.err}\n${r.out}`).toBe(2);
      expect(r.err).toContain(row.refuse);
      expect(r.err).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
      expect(mutated, "nothing that changes the engine is asked").toEqual([]);
    } else if ("help" in row) {
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain(row.help);
      expect(recording.calls).toEqual([]);
    } else if ("fail" in row) {
      expect(r.code, `${r.err}\n${r.out}`).toBe(1);
      expect(r.err).toContain(row.fail);
      expect(mutated.filter((c) => c !== "images.pull")).toEqual([]);
    } else {
      expect(r.err).toContain(STOP_MESSAGE);
      expect(r.code).toBe(1);
      const server0 = recording.nodes.find((n: NodeSpec) => n.name.endsWith("-server-0"));
      const files = Object.fromEntries(recording.files.filter((f) => f.node === server0?.name).map((f) => [f.path, f.content]));
      row.reach({ server0, files, calls: recording.calls });
      // The create rolled back: nothing of it is left in the runtime.
      expect(recording.calls.filter((c) => c === "nodes.delete").length).toBeGreaterThanOrEqual(1);
    }
  });
});
