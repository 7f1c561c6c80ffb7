import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { RUNTIME_API_VERSION } from "@k3ts/core";
import { runMain } from "./harness.js";
import { attachDashValues, commandIn, commands, foldCommand, typedValues } from "../src/commands/index.js";
import { formatTable } from "../src/output.js";

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));

const k3ts = (argv: string[], env: Record<string, string | undefined> = {}) => runMain(argv, { env });

describe("k3ts CLI", () => {
  it("version: human text and JSON on stdout", async () => {
    const human = await k3ts(["version"]);
    expect(human.code).toBe(0);
    expect(human.out).toMatch(new RegExp(`^k3ts version \\d+\\.\\d+\\.\\d+\\nruntime API v${RUNTIME_API_VERSION}\\nnode `));
    const json = await k3ts(["version", "-o", "json"]);
    expect(JSON.parse(json.out)).toMatchObject({ k3ts: expect.any(String), runtimeApi: RUNTIME_API_VERSION });
    expect(json.err).toBe("");
  });

  it("bad input exits 2 with a message that names what was wrong, and prints nothing on stdout", async () => {
    const unknown = await k3ts(["clustr", "create"]);
    expect(unknown).toMatchObject({ code: 2, out: "" });
    expect(unknown.err).toContain('unknown command "clustr create"');
    const flag = await k3ts(["runtime", "info", "--bogus"]);
    expect(flag.code).toBe(2);
    expect(flag.err).toContain("Unknown option `--bogus`");
    const format = await k3ts(["version", "-o", "xml"]);
    expect(format.code).toBe(2);
    expect(format.err).toContain("--output xml: expected one of table, json, yaml");
  });

  it("a runtime that is not installed is a clear failure (exit 1, code shown)", async () => {
    const r = await k3ts(["--runtime", "nerdctl", "runtime", "info"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('no runtime plugin named "nerdctl": looked for @k3ts/runtime-nerdctl, k3ts-runtime-nerdctl');
    expect(r.err).toContain("code PLUGIN_NOT_FOUND");
  });

  it("runtime list shows a plugin named by path with the reason it is unavailable", async () => {
    const r = await k3ts(["runtime", "list", "-o", "json"], { K3TS_RUNTIME: fixture("down-runtime.mjs") });
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as Array<{ name: string; available: boolean; reason?: string; selected: boolean }>;
    expect(rows.map((x) => x.name)).toEqual(["docker", "podman", fixture("down-runtime.mjs")]);
    expect(rows[2]).toMatchObject({ available: false, reason: "engine is not running", selected: true });
  });

  it("runtimes are never imported from the working directory's parents; K3TS_RUNTIME_PATH and paths are how a project asks", async () => {
    const root = mkdtempSync(join(tmpdir(), "k3ts-shadow-"));
    try {
      const work = join(root, "project", "work");
      mkdirSync(work, { recursive: true });
      const marker = join(root, "impostor-ran");
      const pkg = (name: string, body: string) => {
        mkdirSync(join(root, "node_modules", name), { recursive: true });
        writeFileSync(join(root, "node_modules", name, "package.json"), JSON.stringify({ name, type: "module", exports: "./index.js" }));
        writeFileSync(join(root, "node_modules", name, "index.js"), body);
      };
      const plugin = (name: string) => `export default { meta: { name: ${JSON.stringify(name)}, version: "6.6.6" }, apiVersion: 3, isAvailable: async () => ({ available: false, reason: "fake" }), create: () => ({ name: ${JSON.stringify(name)} }) };`;
      // A shared machine: someone put a "docker runtime" in a parent of the directory k3ts runs in.
      pkg("@k3ts/runtime-docker", `import { writeFileSync } from "node:fs"; writeFileSync(${JSON.stringify(marker)}, "ran"); ${plugin("impostor")}`);
      pkg("k3ts-runtime-acme", plugin("acme"));
      const list = await runMain(["runtime", "list", "-o", "json", "--verbose"], { cwd: work, env: {} });
      expect(list.code).toBe(0);
      const rows = JSON.parse(list.out) as Array<{ name: string; plugin: string; version: string }>;
      expect(rows.find((r) => r.name === "docker")?.version).not.toBe("6.6.6");
      expect(existsSync(marker)).toBe(false);
      // --verbose says which file each runtime came from: the CLI's own dependency.
      expect(list.err).toMatch(/runtime plugin docker loaded from file:\/\/\S*runtime-docker\//);
      expect(list.err).not.toContain(root);
      // A third-party runtime in the project: found only when asked, by K3TS_RUNTIME_PATH or by path.
      const unasked = await runMain(["--runtime", "acme", "runtime", "info"], { cwd: work, env: {} });
      expect(unasked.code).toBe(1);
      expect(unasked.err).toContain("PLUGIN_NOT_FOUND");
      for (const [argv, env] of [
        [["--runtime", "acme", "runtime", "list", "-o", "json"], { K3TS_RUNTIME_PATH: "../.." }],
        [["--runtime", "../../node_modules/k3ts-runtime-acme/index.js", "runtime", "list", "-o", "json"], {}],
      ] as const) {
        const asked = await runMain([...argv], { cwd: work, env });
        expect(asked.code, asked.err).toBe(0);
        expect((JSON.parse(asked.out) as Array<{ plugin: string; version: string }>).at(-1)).toMatchObject({ plugin: "acme", version: "6.6.6" });
      }
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("help says what k3ts is and its version, and no negated flag claims (default: true)", async () => {
    for (const argv of [["--help"], ["cluster", "create", "--help"], ["registry", "create", "--help"]]) {
      const r = await k3ts(argv);
      expect(r.code).toBe(0);
      expect(r.out.split("\n")[0]).toMatch(/^k3ts \d+\.\d+\.\d+: k3s clusters in Docker or Podman containers/);
      expect(r.out).not.toMatch(/--no-\S+.*\(default: true\)/);
    }
    expect((await k3ts(["cluster", "create", "--help"])).out).toMatch(/--no-lb\s+No load balancer: the API is published on server-0\n/);
  });

  it("help lists every command with examples", async () => {
    const r = await k3ts(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("runtime info");
    expect(r.out).toContain("runtime list");
    const sub = await k3ts(["runtime", "info", "--help"]);
    expect(sub.out).toContain("k3ts --runtime podman runtime info -o json");
  });
});

describe("commands that take several names", () => {
  const variadic = commands.filter((c) => c.args?.includes("..."));
  it("declare them the way cac reads variadics ([...names])", () => {
    expect(variadic.length).toBeGreaterThan(5);
    for (const c of variadic) expect(c.args, c.name).toMatch(/^[<[]\.\.\.[a-z]+[>\]]$/);
  });
  it.each(variadic.map((c) => c.name))("%s accepts two of them", async (name) => {
    const r = await k3ts([...name.split(" "), "first", "second"], { K3TS_RUNTIME: fixture("down-runtime.mjs") });
    expect(r.err).not.toContain("Unused args");
    // Both names were accepted: the command got as far as the (unavailable) runtime.
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/engine is not running|must not be called for an unavailable runtime/);
  });
});

describe("foldCommand", () => {
  it.each([
    [["runtime", "info"], ["runtime info"]],
    [["runtime", "ls", "-o", "json"], ["runtime list", "-o", "json"]],
    [["--runtime", "podman", "runtime", "info"], ["--runtime", "podman", "runtime info"]],
    [["runtime", "--verbose", "info"], ["runtime info", "--verbose"]],
    [["version"], ["version"]],
    [["runtime", "explode"], ["runtime", "explode"]],
  ])("%j → %j", (input, expected) => expect(foldCommand(input)).toEqual(expected));
});

describe("formatTable", () => {
  it("aligns columns and upper-cases headers, without trailing spaces", () => {
    expect(formatTable(["name", "state"], [["a", "running"], ["longer-name", ""]])).toBe("NAME         STATE\na            running\nlonger-name");
  });
});

describe("node edit (k3d's spelling of cluster edit, on the load balancer)", () => {
  const env = { K3TS_RUNTIME: fixture("memory-cluster-runtime.mjs") };
  it.each([
    [["node", "edit", "k3ts-dev-agent-0", "--port-add", "8080:80"], "k3ts-dev-agent-0 is not a load balancer (its role: agent): ports are edited on the load balancer, dev's is k3ts-dev-serverlb"],
    [["node", "edit", "k3ts-nope-serverlb", "--port-add", "8080:80"], "node k3ts-nope-serverlb does not exist"],
    [["node", "edit", "someone-else", "--port-add", "8080:80"], "someone-else is not a k3ts node"],
    [["node", "edit", "k3ts-dev-serverlb"], "nothing to change: give --port-add or --port-delete"],
    [["node", "edit", "k3ts-dev-serverlb", "--port-add", "80:80:80:80"], "--port-add 80:80:80:80"],
  ])("%j is refused (exit 2) before anything changes", async (argv, message) => {
    const r = await k3ts(argv, env);
    expect(r.err).toContain(message);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
  });
});

describe("-o json|yaml on every read command (one --output declaration, the YAML printer loaded for each)", () => {
  const env = { K3TS_RUNTIME: fixture("memory-cluster-runtime.mjs"), KUBECONFIG: "/nonexistent/k3ts-test-kubeconfig" };
  const reads = commands.filter((c) => (c.options ?? []).some((o) => o.format) && /(^| )(list|info)$|^version$/.test(c.name)).map((c) => c.name);

  it("covers the read commands", () => {
    expect(reads.sort()).toEqual(["cluster list", "node list", "registry list", "runtime info", "runtime list", "version"]);
  });

  it.each(reads.flatMap((name) => [[name, "json"], [name, "yaml"]] as const))("%s -o %s prints one parseable document on stdout", async (name, format) => {
    const { parse } = await import("yaml");
    const r = await k3ts([...name.split(" "), "-o", format], env);
    expect(r.code, r.err).toBe(0);
    const value: unknown = format === "json" ? JSON.parse(r.out) : parse(r.out);
    expect(value).not.toBeUndefined();
    const other = await k3ts([...name.split(" "), "-o", format === "json" ? "yaml" : "json"], env);
    expect(format === "json" ? parse(other.out) : JSON.parse(other.out)).toEqual(value);
  });
});

describe("a flag that takes a value takes the next word, even one that starts with - (k3d's spelling)", () => {
  it.each([
    [["cluster", "create", "dev", "--k3s-arg", "--disable=traefik@server:*"], ["cluster create", "dev", "--k3s-arg=--disable=traefik@server:*"]],
    [["cluster", "create", "--servers", "-1"], ["cluster create", "--servers=-1"]],
    [["cluster", "create", "--token", "-dash", "--agents", "2"], ["cluster create", "--token=-dash", "--agents", "2"]],
    [["--runtime", "-x", "cluster", "list"], ["--runtime=-x", "cluster list"]],
    [["cluster", "create", "--", "--k3s-arg", "-x"], ["cluster create", "--", "--k3s-arg", "-x"]],
    [["image", "import", "-", "-c", "dev"], ["image import", "\0stdin", "-c", "dev"]],
  ])("%j → %j", (input, expected) => {
    const folded = foldCommand(input);
    const got = attachDashValues(folded, commandIn(folded));
    expect(got.map((a) => (a.startsWith("\0") || a.includes("stdin") ? "\0stdin" : a))).toEqual(expected);
  });

  it("reaches the command: --k3s-arg \"--disable=…@FILTER\" is read as the k3s argument, --servers -1 is refused naming --servers", async () => {
    const env = { K3TS_RUNTIME: fixture("memory-cluster-runtime.mjs") };
    const arg = await k3ts(["cluster", "create", "x", "--k3s-arg", "--disable=traefik@nogroup:0"], env);
    expect(arg.code).toBe(2);
    expect(arg.err).toMatch(/--k3s-arg.*nogroup/);
    const servers = await k3ts(["cluster", "create", "x", "--servers", "-1"], env);
    expect(servers.code).toBe(2);
    expect(servers.err).toMatch(/servers/);
    expect(servers.err).not.toContain("Unknown option");
  });
});

describe("values reach the command as typed", () => {
  it("typedValues: --flag=V, --flag V, -f V, repeated flags, nothing after --", () => {
    const spec = commands.find((c) => c.name === "cluster create")!;
    const got = typedValues(["cluster create", "dev", "--token", "0123", "--image=0x10", "-p", "8080:80@loadbalancer", "-p=9090:90", "--agents", "007", "--", "--token", "x"], spec);
    expect(Object.fromEntries([...got].map(([k, v]) => [k, v.values]))).toEqual({ token: ["0123"], image: ["0x10"], port: ["8080:80@loadbalancer", "9090:90"], agents: ["007"] });
    expect(got.get("port")!.flag).toBe("--port");
  });

  it.each([
    [["cluster", "create", "x", "--token", ""], "--token: a value is required"],
    [["cluster", "create", "x", "--image", ""], "--image: a value is required"],
    [["cluster", "create", "x", "--servers", "0x2"], "--servers 0x2: expected a whole number ≥ 1"],
    [["cluster", "create", "x", "--agents", "1e1"], "--agents 1e1: expected a whole number ≥ 0"],
    [["cluster", "create", "x", "--runtime-label", "k3ts.io/cluster=other"], '--runtime-label k3ts.io/cluster=other: label "k3ts.io/cluster" uses the reserved prefix k3ts.io/'],
    [["cluster", "create", "x", "--runtime-label", "k3ts.io/spec-hash=0@server:0"], 'label "k3ts.io/spec-hash" uses the reserved prefix k3ts.io/'],
    [["cluster", "create", "x", "--subnet", "10.0.0.0"], '--subnet 10.0.0.0: "10.0.0.0" is not an IPv4 CIDR'],
    [["cluster", "create", "x", "--subnet", "10.0.0.0/30"], '--subnet 10.0.0.0/30: "10.0.0.0/30" is too small for a cluster network'],
    [["cluster", "create", "x", "--agents", "10000000"], "agents: 10000000 is more than k3ts makes (at most 999 agents in a cluster)"],
    [["node", "create", "n", "-c", "x", "--runtime-label", "k3ts.io/role=server"], '--runtime-label k3ts.io/role=server: label "k3ts.io/role" uses the reserved prefix k3ts.io/'],
  ])("%j is refused (exit 2) naming the flag", async (argv, message) => {
    const r = await k3ts(argv, { K3TS_RUNTIME: fixture("memory-cluster-runtime.mjs") });
    expect(r.err).toContain(message);
    expect(r.code).toBe(2);
  });
});
