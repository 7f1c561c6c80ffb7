/** `k3ts config init|validate|convert` and `cluster create|delete --config`, through main(); no engine is touched. */
import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runMain } from "./harness.js";


const CORPUS = fileURLToPath(new URL("../../../../shared/k3d-config-corpus/", import.meta.url));
const corpusPresent = existsSync(CORPUS);
/** Runs when the corpus is there, and always under CI, where a missing corpus must fail. */
const corpusRequired = corpusPresent || process.env.CI === "true";

// An unreachable engine: if anything tried to reach a runtime, the test would see exit 1, not 2.
const k3ts = (argv: string[], cwd: string, env: Record<string, string | undefined> = {}) =>
  runMain(argv, { cwd, env: { DOCKER_HOST: "unix:///nonexistent.sock", K3TS_RUNTIME: "/nonexistent-plugin.js", ...env } });

const dir = () => mkdtempSync(join(tmpdir(), "k3ts-config-"));

describe("k3ts config", () => {
  it("init writes a commented starter, refuses to overwrite it without --force, prints it with -o=-", async () => {
    const cwd = dir();
    const first = await k3ts(["config", "init"], cwd);
    expect(first.code).toBe(0);
    const written = readFileSync(join(cwd, "k3ts.yaml"), "utf8");
    expect(written).toMatch(/^# k3ts cluster config/);
    expect(written).toContain("apiVersion: k3ts.io/v1alpha1");
    writeFileSync(join(cwd, "k3ts.yaml"), "mine\n");
    const again = await k3ts(["config", "init"], cwd);
    expect(again.code).toBe(2);
    expect(again.err).toContain("k3ts.yaml already exists");
    expect(readFileSync(join(cwd, "k3ts.yaml"), "utf8")).toBe("mine\n");
    expect((await k3ts(["config", "init", "--force"], cwd)).code).toBe(0);
    expect(readFileSync(join(cwd, "k3ts.yaml"), "utf8")).toBe(written);
    const printed = await k3ts(["config", "init", "-o=-"], cwd);
    expect(printed.out.trimEnd()).toBe(written.trimEnd());
  });

  it("validate: exit 0 and valid; exit 2 and every problem with FILE:LINE:COL", async () => {
    const cwd = dir();
    await k3ts(["config", "init", "-o", "ok.yaml"], cwd);
    const ok = await k3ts(["config", "validate", "ok.yaml"], cwd);
    expect(ok).toMatchObject({ code: 0, out: "ok.yaml: valid (k3ts.io/v1alpha1)\n" });
    writeFileSync(join(cwd, "bad.yaml"), "apiVersion: k3d.io/v1alpha5\nkind: Simple\nservers: -1\nports:\n  - port: 8080:80\n    nodeFilters: [agnet:0]\n");
    const bad = await k3ts(["config", "validate", "bad.yaml"], cwd);
    expect(bad.code).toBe(2);
    expect(bad.out).toBe("");
    expect(bad.err).toContain("bad.yaml:3:10: /servers: must be at least 1");
    expect(bad.err).toContain('bad.yaml:6:19: /ports/0/nodeFilters/0: unknown node group "agnet" (want server, agent, loadbalancer or all)');
    const missing = await k3ts(["config", "validate", "nope.yaml"], cwd);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("cannot read config file nope.yaml: ENOENT");
  });

  it("validate: an alias bomb (300 bytes standing for billions of values) is refused at once, exit 2, naming the first alias", async () => {
    const cwd = dir();
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`);
    const bomb = `apiVersion: k3ts.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: dev\nspec:\n  labels:\n${levels.map((l) => `    ${l}`).join("\n")}\n`;
    expect(bomb.length).toBeLessThan(500);
    writeFileSync(join(cwd, "bomb.yaml"), bomb);
    // Before the bound this ran for minutes (past the test's own timeout); it is refused, not waited out.
    const r = await k3ts(["config", "validate", "bomb.yaml"], cwd);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bomb\.yaml:8:12: \/: the document expands to more than 100000 values through its aliases/);
  });

  it("validate: an Environment (kind: Environment) is checked by its schema, every problem with FILE:LINE:COL", async () => {
    const cwd = dir();
    const head = "apiVersion: k3ts.io/v1alpha1\nkind: Environment\nmetadata:\n  name: shop\nspec:\n";
    writeFileSync(join(cwd, "env.yaml"), `${head}  cluster: { kubeconfig: kc.yaml, context: dev }\n  manifests:\n    - name: app\n      sources: [app.yaml]\n`);
    const ok = await k3ts(["config", "validate", "env.yaml"], cwd);
    expect(ok).toMatchObject({ code: 0, out: "env.yaml: valid (k3ts.io/v1alpha1 Environment)\n" });
    writeFileSync(join(cwd, "bad-env.yaml"), `${head}  cluster: { name: dev, agents: -1 }\n  manifests:\n    - name: app\n      sources: []\n      dependsOn: [db]\n`);
    const bad = await k3ts(["config", "validate", "bad-env.yaml"], cwd);
    expect(bad.code).toBe(2);
    expect(bad.out).toBe("");
    expect(bad.err).toContain("bad-env.yaml is not a valid environment (3 problems):");
    expect(bad.err).toContain("bad-env.yaml:6:33: /spec/cluster/agents: must be at least 0, got number -1");
    expect(bad.err).toContain("bad-env.yaml:9:16: /spec/manifests/0/sources: want at least 1 item (files, directories or URLs to apply)");
    expect(bad.err).toContain("bad-env.yaml:10:19: /spec/manifests/0/dependsOn/0: no helm release, manifests or endpoint is named db");
  });

  it.runIf(corpusRequired)("convert: k3d → k3ts on stdout or into a file, the notices printed as warnings", async () => {
    const cwd = dir();
    const file = join(CORPUS, "docs_full_example.yaml");
    const shown = await k3ts(["config", "convert", file], cwd);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain("apiVersion: k3ts.io/v1alpha1");
    expect(shown.out).toContain("name: mycluster");
    expect(shown.err).toContain("/options/runtime/gpuRequest: not honoured: k3ts does not request GPUs");
    const written = await k3ts(["config", "convert", file, "-o", "converted.yaml"], cwd);
    expect(written.code).toBe(0);
    const valid = await k3ts(["config", "validate", "converted.yaml"], cwd);
    expect(valid.code).toBe(0);
  });

  it("validate - and convert - read standard input (k3d's and k3ts's formats, environments too)", async () => {
    const cwd = dir();
    const stdin = (text: string, ...argv: string[]) => runMain(argv, { cwd, env: { DOCKER_HOST: "unix:///nonexistent.sock", K3TS_RUNTIME: "/nonexistent-plugin.js" }, stdin: text });
    const k3d = "apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata:\n  name: piped\nservers: 1\nagents: 2\n";
    const valid = await stdin(k3d, "config", "validate", "-");
    expect(valid.code, valid.err).toBe(0);
    expect(valid.out).toBe("-: valid (k3d.io/v1alpha5)\n");
    const converted = await stdin(k3d, "config", "convert", "-");
    expect(converted.code, converted.err).toBe(0);
    expect(converted.out).toContain("agents: 2");
    const env = await stdin("apiVersion: k3ts.io/v1alpha1\nkind: Environment\nmetadata: { name: e }\nspec:\n  cluster: { name: e }\n", "config", "validate", "-");
    expect(env.out).toBe("-: valid (k3ts.io/v1alpha1 Environment)\n");
    const bad = await stdin("apiVersion: k3d.io/v1alpha5\nkind: Simple\nservers: many\n", "config", "validate", "-");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("<stdin>:3:");
  });

  it("convert writes a file that holds the token or registry credentials with mode 0600, others as usual", async () => {
    const cwd = dir();
    const k3d = (extra: string) => `apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata:\n  name: c\n${extra}`;
    writeFileSync(join(cwd, "secret.yaml"), k3d("token: ${K3D_TOKEN}\n"));
    writeFileSync(join(cwd, "plain.yaml"), k3d("servers: 1\n"));
    writeFileSync(join(cwd, "out.yaml"), "an older file, world-readable\n", { mode: 0o644 });
    const secret = await k3ts(["config", "convert", "secret.yaml", "-o", "out.yaml"], cwd, { K3D_TOKEN: "s3cret-token" });
    expect(secret.code, secret.err).toBe(0);
    expect(readFileSync(join(cwd, "out.yaml"), "utf8")).toContain("s3cret-token");
    expect(statSync(join(cwd, "out.yaml")).mode & 0o777).toBe(0o600);
    expect(secret.err).toContain("mode 0600: it holds the cluster token");
    const plain = await k3ts(["config", "convert", "plain.yaml", "-o", "plain-out.yaml"], cwd);
    expect(plain.code, plain.err).toBe(0);
    expect(statSync(join(cwd, "plain-out.yaml")).mode & 0o077).not.toBe(0);
  });
});

describe("cluster create|delete --config", () => {
  it("a bad file: exit 2, every problem, and no runtime reached", async () => {
    const cwd = dir();
    writeFileSync(join(cwd, "bad.yaml"), "apiVersion: k3ts.io/v1alpha1\nkind: Cluster\nspec:\n  servers: 0\n  bogus: 1\n");
    const create = await k3ts(["cluster", "create", "--config", "bad.yaml"], cwd);
    expect(create.code).toBe(2);
    expect(create.err).toContain("bad.yaml:4:12: /spec/servers: must be at least 1");
    expect(create.err).toContain('bad.yaml:5:3: /spec/bogus: unknown field "bogus"');
    const del = await k3ts(["cluster", "delete", "--config", "bad.yaml"], cwd);
    expect(del.code).toBe(2);
    const both = await k3ts(["cluster", "delete", "dev", "--config", "bad.yaml"], cwd);
    expect(both.code).toBe(2);
    expect(both.err).toContain("not several");
  });
});
