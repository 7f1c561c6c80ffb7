import { spawnSync } from "node:child_process";
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  checkKubeconfigFile,
  kubeconfigPath,
  mergeKubeconfig,
  removeFromKubeconfig,
  restoreKubeconfigFile,
  rewriteKubeconfig,
  updateKubeconfigFile,
} from "../../src/cluster/kubeconfig.ts";
import { isK3tsError } from "../../src/errors.ts";
import { k3sKubeconfig } from "./kubeconfig-fixture.ts";

const CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIyZ0F3SUJBZ0lCQURBS0JnZ3Foa2pPUFFRREFqQWpNU0V3SHdZRFZRUUREQmhyTTNNdGMyVnkKZG1WeUxXTmhRREUzTURBd01EQXdNREF3SGhjTk1qUXdNVEF4TURBd01EQXdXaGNOTXpRd01USTRNREF3TURBdwpXakFqTVNFd0h3WURWUVFEREJock0zTXRjMlZ5ZG1WeUxXTmhRREUzTURBd01EQXdNREF3V1RBVEJnY3Foa2pPClBRSUJCZ2dxaGtqT1BRTUJCd05DQUFTCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K";
const CERT = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJrVENDQVRlZ0F3SUJBZ0lJYnNQRmhOZUJwcGN3Q2dZSUtvWkl6ajBFQXdJd0l6RWhNQjhHQTFVRUF3d1kKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";
const KEY = "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUFhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkKLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo=";

/** What k3s writes to /output/kubeconfig.yaml (client-go key order and style). */
const K3S_KUBECONFIG = k3sKubeconfig({ ca: CA, cert: CERT, key: KEY });

const REWRITTEN = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${CA}
    server: https://127.0.0.1:41234
  name: k3ts-dev
contexts:
- context:
    cluster: k3ts-dev
    user: admin@k3ts-dev
  name: k3ts-dev
current-context: k3ts-dev
kind: Config
preferences: {}
users:
- name: admin@k3ts-dev
  user:
    client-certificate-data: ${CERT}
    client-key-data: ${KEY}
`;

const rewritten = (cluster = "dev", server = "https://127.0.0.1:41234") => rewriteKubeconfig(K3S_KUBECONFIG, { cluster, server });

/** A kubeconfig as kubectl writes it, plus comments a person added. */
const PROD_CLUSTER = `- cluster:
    certificate-authority-data: ${CA}
    server: https://prod.example.com:6443 # the real one
  name: prod
`;
const STAGING_CLUSTER = `# staging: keep the IP, DNS is flaky
- cluster:
    insecure-skip-tls-verify: true
    server: "https://10.0.0.1:6443"
  name: staging
`;
const CONTEXTS = `- context:
    cluster: prod
    namespace: payments
    user: prod-admin
  name: prod
- context:
    cluster: staging
    user: staging
  name: staging
`;
const USERS = `- name: prod-admin
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - eks
      - get-token
      - --cluster-name
      - a very long cluster name with spaces that certainly goes past the eighty column line width
      command: aws
- name: staging
  user:
    token: 'abc123'
`;
const KUBECTL_FILE = `# managed by hand, see wiki
apiVersion: v1
clusters:
${PROD_CLUSTER}${STAGING_CLUSTER}contexts:
${CONTEXTS}current-context: prod
kind: Config
preferences: {}
users:
${USERS}# end of file
`;

const OUR_CLUSTER = `- cluster:
    certificate-authority-data: ${CA}
    server: https://127.0.0.1:41234
  name: k3ts-dev
`;
const OUR_CONTEXT = `- context:
    cluster: k3ts-dev
    user: admin@k3ts-dev
  name: k3ts-dev
`;
const OUR_USER = `- name: admin@k3ts-dev
  user:
    client-certificate-data: ${CERT}
    client-key-data: ${KEY}
`;

function expectInvalidArgument(fn: () => unknown, message: string): void {
  try {
    fn();
  } catch (err) {
    expect(isK3tsError(err, "INVALID_ARGUMENT"), String(err)).toBe(true);
    expect((err as Error).message).toContain(message);
    return;
  }
  expect.fail("expected an INVALID_ARGUMENT error");
}

describe("rewriteKubeconfig", () => {
  it("renames k3s's default entries and sets the server", () => {
    expect(rewritten()).toBe(REWRITTEN);
  });

  it("adds current-context when k3s's file has none", () => {
    const out = rewriteKubeconfig(K3S_KUBECONFIG.replace("current-context: default\n", ""), { cluster: "dev", server: "https://h:1" });
    expect(out).toContain("contexts:\n");
    expect(out).toContain("  name: k3ts-dev\ncurrent-context: k3ts-dev\nkind: Config\n");
  });

  it.each([
    ["", "the file is empty"],
    ["a: [b", "not valid YAML"],
    ["- a\n- b\n", "not a kubeconfig"],
    ["a: 1\n---\nb: 2\n", "not valid YAML"],
    [K3S_KUBECONFIG.replace(/clusters:\n- cluster:\n.*\n.*\n {2}name: default\n/, "clusters: []\n"), "want exactly one entry in clusters, found 0"],
    [K3S_KUBECONFIG.replace("users:\n", "users:\n- name: other\n  user: {}\n"), "want exactly one entry in users, found 2"],
    [K3S_KUBECONFIG.replace("contexts:\n- context:\n    cluster: default\n    user: default\n", "contexts:\n- context: x\n"), "contexts[0] has no context mapping"],
    ["apiVersion: v1\nclusters: {}\n", "clusters is not a list"],
  ])("rejects %j", (text, message) => {
    expectInvalidArgument(() => rewriteKubeconfig(text, { cluster: "dev", server: "https://h:1" }), message);
  });
});

describe("mergeKubeconfig", () => {
  it("creates a fresh config from nothing", () => {
    const fresh = `apiVersion: v1
clusters:
${OUR_CLUSTER}contexts:
${OUR_CONTEXT}current-context: k3ts-dev
kind: Config
preferences: {}
users:
${OUR_USER}`;
    expect(mergeKubeconfig(undefined, rewritten(), { switchContext: false })).toBe(fresh);
    expect(mergeKubeconfig("", rewritten(), { switchContext: false })).toBe(fresh);
    expect(mergeKubeconfig("\n  \n", rewritten(), { switchContext: true })).toBe(fresh);
  });

  it("keeps a comment-only file's comment", () => {
    const out = mergeKubeconfig("# just a comment\n", rewritten(), { switchContext: false });
    expect(out.startsWith("# just a comment\n")).toBe(true);
    expect(parse(out)).toMatchObject({ "current-context": "k3ts-dev", kind: "Config" });
  });

  it("adds entries and leaves every other entry byte-identical", () => {
    const out = mergeKubeconfig(KUBECTL_FILE, rewritten(), { switchContext: true });
    const want = `# managed by hand, see wiki
apiVersion: v1
clusters:
${PROD_CLUSTER}${STAGING_CLUSTER}${OUR_CLUSTER}contexts:
${CONTEXTS}${OUR_CONTEXT}current-context: k3ts-dev
kind: Config
preferences: {}
users:
${USERS}${OUR_USER}# end of file
`;
    expect(out).toBe(want);
    for (const block of [PROD_CLUSTER, STAGING_CLUSTER, CONTEXTS, USERS]) expect(out).toContain(block);
  });

  it("keeps current-context unless asked to switch", () => {
    const out = mergeKubeconfig(KUBECTL_FILE, rewritten(), { switchContext: false });
    expect(out).toContain("current-context: prod\n");
    expect(out).toBe(KUBECTL_FILE.replace("contexts:\n", `${OUR_CLUSTER}contexts:\n`).replace("current-context:", `${OUR_CONTEXT}current-context:`).replace("# end of file", `${OUR_USER}# end of file`));
  });

  it.each([
    ["an empty current-context", KUBECTL_FILE.replace("current-context: prod", 'current-context: ""')],
    ["a missing current-context", KUBECTL_FILE.replace("current-context: prod\n", "")],
    ["a null current-context", KUBECTL_FILE.replace("current-context: prod", "current-context:")],
  ])("sets current-context over %s", (_what, existing) => {
    const out = mergeKubeconfig(existing, rewritten(), { switchContext: false });
    expect(parse(out)["current-context"]).toBe("k3ts-dev");
    expect(out).toContain(`${OUR_CONTEXT}current-context: k3ts-dev\nkind: Config\n`);
  });

  it("replaces its own entries on a second merge", () => {
    const first = mergeKubeconfig(KUBECTL_FILE, rewritten(), { switchContext: true });
    const second = mergeKubeconfig(first, rewritten("dev", "https://127.0.0.1:50000"), { switchContext: true });
    expect(second).toBe(first.replace("https://127.0.0.1:41234", "https://127.0.0.1:50000"));
    const cfg = parse(second) as { clusters: Array<{ name: string }>; users: unknown[]; contexts: unknown[] };
    expect(cfg.clusters.map((c) => c.name)).toEqual(["prod", "staging", "k3ts-dev"]);
    expect(cfg.users).toHaveLength(3);
    expect(cfg.contexts).toHaveLength(3);
  });

  it("replaces an entry in place, keeping its neighbours and the comment before it", () => {
    const existing = KUBECTL_FILE.replace("name: staging\ncontexts:", `name: staging\n# ours\n${OUR_CLUSTER}contexts:`);
    const out = mergeKubeconfig(existing, rewritten("dev", "https://127.0.0.1:50000"), { switchContext: false });
    expect(out).toContain(`name: staging\n# ours\n${OUR_CLUSTER.replace("41234", "50000")}contexts:`);
  });

  it("adds missing or null sections in kubectl's sorted order", () => {
    const existing = "apiVersion: v1\nclusters: null\ncurrent-context: prod\nkind: Config\npreferences: {}\n";
    const out = mergeKubeconfig(existing, rewritten(), { switchContext: false });
    expect(out).toBe(`apiVersion: v1
clusters:
${OUR_CLUSTER}contexts:
${OUR_CONTEXT}current-context: prod
kind: Config
preferences: {}
users:
${OUR_USER}`);
  });

  it("follows the existing file's indentation style", () => {
    const indented = `apiVersion: v1
clusters:
  - cluster:
      server: https://a:1
    name: a
contexts: []
users: []
`;
    const out = mergeKubeconfig(indented, rewritten(), { switchContext: false });
    expect(out.startsWith(indented.slice(0, indented.indexOf("contexts")))).toBe(true);
    expect(out).toContain("  - cluster:\n      certificate-authority-data:");
  });

  it.each([
    ["a: [b", "existing kubeconfig: not valid YAML"],
    ["- 1\n", "existing kubeconfig: not a kubeconfig"],
    ["clusters: 3\n", "existing kubeconfig: clusters is not a list"],
  ])("refuses a broken existing file %j", (existing, message) => {
    expectInvalidArgument(() => mergeKubeconfig(existing, rewritten(), { switchContext: true }), message);
  });
});

describe("removeFromKubeconfig", () => {
  it("restores the original bytes of a kubectl-style file", () => {
    const merged = mergeKubeconfig(KUBECTL_FILE, rewritten(), { switchContext: true });
    expect(removeFromKubeconfig(merged, "dev")).toEqual({ content: KUBECTL_FILE, changed: true });
    const kept = mergeKubeconfig(KUBECTL_FILE, rewritten(), { switchContext: false });
    expect(removeFromKubeconfig(kept, "dev")).toEqual({ content: KUBECTL_FILE, changed: true });
  });

  it("round-trips a file with CRLF line endings", () => {
    const crlf = KUBECTL_FILE.replace(/\n/g, "\r\n");
    const merged = mergeKubeconfig(crlf, rewritten(), { switchContext: true });
    expect(merged).not.toMatch(/[^\r]\n/);
    expect(removeFromKubeconfig(merged, "dev").content).toBe(crlf);
  });

  it("keeps a comment on current-context", () => {
    const existing = KUBECTL_FILE.replace("current-context: prod", "current-context: prod # default");
    const merged = mergeKubeconfig(existing, rewritten(), { switchContext: true });
    expect(merged).toContain("current-context: k3ts-dev # default\n");
    expect(removeFromKubeconfig(merged, "dev").content).toBe(existing);
  });

  it("returns the same string when nothing matched", () => {
    const odd = "apiVersion: v1\nclusters:\n  -   name: x     # odd spacing\n";
    expect(removeFromKubeconfig(odd, "dev")).toEqual({ content: odd, changed: false });
    expect(removeFromKubeconfig(KUBECTL_FILE, "prod")).toEqual({ content: KUBECTL_FILE, changed: false });
    expect(removeFromKubeconfig("", "dev")).toEqual({ content: "", changed: false });
    expect(removeFromKubeconfig("# only a comment\n", "dev")).toEqual({ content: "# only a comment\n", changed: false });
  });

  it("removes exactly its own entries", () => {
    const other = mergeKubeconfig(KUBECTL_FILE, rewritten("dev-2"), { switchContext: false });
    const both = mergeKubeconfig(other, rewritten("dev"), { switchContext: false });
    const { content, changed } = removeFromKubeconfig(both, "dev");
    expect(changed).toBe(true);
    expect(content).toBe(other);
    const cfg = parse(content) as Record<string, Array<{ name: string }>>;
    expect(cfg.clusters!.map((c) => c.name)).toEqual(["prod", "staging", "k3ts-dev-2"]);
    expect(cfg.users!.map((c) => c.name)).toEqual(["prod-admin", "staging", "admin@k3ts-dev-2"]);
  });

  it("moves current-context to the first remaining context", () => {
    const merged = mergeKubeconfig(KUBECTL_FILE.replace("current-context: prod", "current-context: staging"), rewritten(), { switchContext: true });
    expect(parse(removeFromKubeconfig(merged, "dev").content)["current-context"]).toBe("prod");
  });

  it("removes current-context when no context remains", () => {
    const { content, changed } = removeFromKubeconfig(rewritten(), "dev");
    expect(changed).toBe(true);
    expect(content).toBe("apiVersion: v1\nclusters: []\ncontexts: []\nkind: Config\npreferences: {}\nusers: []\n");
  });

  it("clears a dangling current-context even when no entry matched", () => {
    const { content, changed } = removeFromKubeconfig("apiVersion: v1\ncurrent-context: k3ts-dev\nkind: Config\n", "dev");
    expect(changed).toBe(true);
    expect(content).toBe("apiVersion: v1\nkind: Config\n");
  });

  it("refuses invalid YAML", () => {
    expectInvalidArgument(() => removeFromKubeconfig("a: [", "dev"), "kubeconfig: not valid YAML");
  });
});

describe("kubeconfigPath", () => {
  it.each([
    [{}, "/home/u/.kube/config"],
    [{ KUBECONFIG: "" }, "/home/u/.kube/config"],
    [{ KUBECONFIG: "/a/config" }, "/a/config"],
    [{ KUBECONFIG: `/a/config${delimiter}/b/config` }, "/a/config"],
    [{ KUBECONFIG: `${delimiter}${delimiter}/b/config` }, "/b/config"],
    [{ KUBECONFIG: delimiter }, "/home/u/.kube/config"],
  ])("%j → %s", (env, want) => {
    expect(kubeconfigPath(env, "/home/u")).toBe(want);
  });
});

describe("kubeconfig files", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "k3ts-kubeconfig-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const mode = async (p: string) => (await stat(p)).mode & 0o777;

  it("creates the file (0600) and its parent (0700)", async () => {
    const path = join(dir, "home", ".kube", "config");
    const result = await updateKubeconfigFile(path, (current) => mergeKubeconfig(current, rewritten(), { switchContext: true }));
    expect(result).toEqual({ changed: true, previous: undefined });
    expect(await mode(path)).toBe(0o600);
    expect(await mode(join(dir, "home", ".kube"))).toBe(0o700);
    expect(parse(await readFile(path, "utf8"))["current-context"]).toBe("k3ts-dev");
    await expect(lstat(`${path}.lock`)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("writes nothing when the update returns undefined or the same text", async () => {
    const path = join(dir, "config");
    expect(await updateKubeconfigFile(path, () => undefined)).toEqual({ changed: false, previous: undefined });
    await expect(lstat(path)).rejects.toMatchObject({ code: "ENOENT" });
    await writeFile(path, KUBECTL_FILE, { mode: 0o644 });
    expect(await updateKubeconfigFile(path, (c) => c)).toEqual({ changed: false, previous: KUBECTL_FILE });
    expect(await mode(path)).toBe(0o644);
  });

  it("sets mode 0600 on an existing file it changes", async () => {
    const path = join(dir, "config");
    await writeFile(path, KUBECTL_FILE, { mode: 0o644 });
    const result = await updateKubeconfigFile(path, (c) => mergeKubeconfig(c, rewritten(), { switchContext: false }));
    expect(result).toEqual({ changed: true, previous: KUBECTL_FILE });
    expect(await mode(path)).toBe(0o600);
  });

  it("lets parallel updates all land", async () => {
    const path = join(dir, "config");
    await writeFile(path, KUBECTL_FILE);
    const clusters = ["a", "b", "c", "d"];
    const results = await Promise.all(
      clusters.map((c) =>
        updateKubeconfigFile(path, (current) => mergeKubeconfig(current, rewritten(c), { switchContext: false })),
      ),
    );
    expect(results.every((r) => r.changed)).toBe(true);
    const cfg = parse(await readFile(path, "utf8")) as Record<string, Array<{ name: string }>>;
    expect(cfg.contexts!.map((c) => c.name).sort()).toEqual(["k3ts-a", "k3ts-b", "k3ts-c", "k3ts-d", "prod", "staging"]);
  });

  it("writes through a symlink and keeps the link", async () => {
    const real = join(dir, "dotfiles", "kubeconfig");
    await mkdir(join(dir, "dotfiles"));
    await writeFile(real, KUBECTL_FILE);
    const link = join(dir, "config");
    await symlink("dotfiles/kubeconfig", link);
    await updateKubeconfigFile(link, (c) => mergeKubeconfig(c, rewritten(), { switchContext: true }));
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe("dotfiles/kubeconfig");
    expect(await readFile(real, "utf8")).toContain("k3ts-dev");
    expect(await mode(real)).toBe(0o600);
  });

  it("creates the target of a dangling symlink", async () => {
    const link = join(dir, "config");
    await symlink(join(dir, "elsewhere", "kubeconfig"), link);
    await updateKubeconfigFile(link, (c) => mergeKubeconfig(c, rewritten(), { switchContext: true }));
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readFile(join(dir, "elsewhere", "kubeconfig"), "utf8")).toContain("k3ts-dev");
  });

  it("waits for a lock held by kubectl (<path>.lock)", async () => {
    const path = join(dir, "config");
    await writeFile(path, KUBECTL_FILE);
    await writeFile(`${path}.lock`, ""); // client-go creates the lock file with O_EXCL
    let released = false;
    setTimeout(() => {
      released = true;
      void rm(`${path}.lock`);
    }, 300);
    await updateKubeconfigFile(path, (c) => {
      expect(released).toBe(true);
      return mergeKubeconfig(c, rewritten(), { switchContext: true });
    });
    expect(await readFile(path, "utf8")).toContain("k3ts-dev");
  });

  describe("restoreKubeconfigFile", () => {
    it("puts back the previous bytes", async () => {
      const path = join(dir, "config");
      const original = KUBECTL_FILE.replace("current-context: prod", "current-context: staging") + "\n\n";
      await writeFile(path, original);
      const { previous } = await updateKubeconfigFile(path, (c) => mergeKubeconfig(c, rewritten(), { switchContext: true }));
      const written = await readFile(path, "utf8");
      expect(await restoreKubeconfigFile(path, previous, written)).toBe(true);
      expect(await readFile(path)).toEqual(Buffer.from(original));
    });

    it("deletes a file that did not exist before", async () => {
      const path = join(dir, "config");
      const { previous } = await updateKubeconfigFile(path, (c) => mergeKubeconfig(c, rewritten(), { switchContext: true }));
      expect(previous).toBeUndefined();
      expect(await restoreKubeconfigFile(path, previous, await readFile(path, "utf8"))).toBe(true);
      await expect(lstat(path)).rejects.toMatchObject({ code: "ENOENT" });
    });

    it("leaves a file someone else changed meanwhile", async () => {
      const path = join(dir, "config");
      await writeFile(path, KUBECTL_FILE);
      const { previous } = await updateKubeconfigFile(path, (c) => mergeKubeconfig(c, rewritten(), { switchContext: true }));
      const ours = await readFile(path, "utf8");
      await updateKubeconfigFile(path, (c) => mergeKubeconfig(c, rewritten("other"), { switchContext: false }));
      const theirs = await readFile(path, "utf8");
      expect(await restoreKubeconfigFile(path, previous, ours)).toBe(false);
      expect(await readFile(path, "utf8")).toBe(theirs);
    });

    it("does nothing when the file was deleted meanwhile", async () => {
      const path = join(dir, "config");
      expect(await restoreKubeconfigFile(path, KUBECTL_FILE, "something")).toBe(false);
      await expect(lstat(path)).rejects.toMatchObject({ code: "ENOENT" });
    });

    it("restores through a symlink", async () => {
      const real = join(dir, "real");
      await writeFile(real, KUBECTL_FILE);
      const link = join(dir, "config");
      await symlink(real, link);
      const { previous } = await updateKubeconfigFile(link, (c) => mergeKubeconfig(c, rewritten(), { switchContext: true }));
      expect(await restoreKubeconfigFile(link, previous, await readFile(real, "utf8"))).toBe(true);
      expect((await lstat(link)).isSymbolicLink()).toBe(true);
      expect(await readFile(real, "utf8")).toBe(KUBECTL_FILE);
    });
  });
});

describe("checkKubeconfigFile (before a create makes anything)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "k3ts-kccheck-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("accepts a missing file (in a directory yet to be made), an empty one and a kubeconfig, and changes nothing", async () => {
    await checkKubeconfigFile(join(dir, "a/b/config"));
    await writeFile(join(dir, "empty"), "");
    await checkKubeconfigFile(join(dir, "empty"));
    await writeFile(join(dir, "config"), "apiVersion: v1\nkind: Config\nclusters: []\n");
    await checkKubeconfigFile(join(dir, "config"));
    await symlink(join(dir, "config"), join(dir, "link"));
    await checkKubeconfigFile(join(dir, "link"));
    expect((await readdir(dir)).sort()).toEqual(["config", "empty", "link"]);
  });

  it.each([
    ["a directory", "config", async (d: string) => void (await mkdir(join(d, "config"))), "is a directory, not a file"],
    ["YAML that does not parse", "config", async (d: string) => writeFile(join(d, "config"), "clusters: [\n"), "not valid YAML"],
    ["a list, not a mapping", "config", async (d: string) => writeFile(join(d, "config"), "- a\n- b\n"), "not a kubeconfig"],
    ["clusters that is no list", "config", async (d: string) => writeFile(join(d, "config"), "apiVersion: v1\nclusters: 7\n"), "clusters"],
    ["a file where its directory should be", "notadir/config", async (d: string) => writeFile(join(d, "notadir"), "x"), "ENOTDIR"],
  ])("refuses %s, naming the file", async (_what, file, make, message) => {
    await make(dir);
    const path = join(dir, file);
    const err = await checkKubeconfigFile(path).catch((e: unknown) => e);
    expect(isK3tsError(err, "INVALID_ARGUMENT"), String(err)).toBe(true);
    expect((err as Error).message).toContain(`kubeconfig ${path}: `);
    expect((err as Error).message).toContain(message);
  });

  it("refuses a directory it cannot write (the lock and the atomic write need it)", async () => {
    // Run by an unprivileged user: root writes anywhere, so as root the check runs in a child as nobody.
    await chmod(dir, 0o755);
    await mkdir(join(dir, "ro"), { mode: 0o555 });
    const core = new URL("../../dist/internal.js", import.meta.url).href;
    const script = `import(${JSON.stringify(core)}).then((m) => m.checkKubeconfigFile(process.argv[1])).then(() => console.log("accepted"), (e) => console.log(e.code, e.message))`;
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script, join(dir, "ro/config")], { encoding: "utf8", ...asNobody });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`INVALID_ARGUMENT kubeconfig ${join(dir, "ro/config")}: ${join(dir, "ro")} is not writable (EACCES)`);
  });
});
