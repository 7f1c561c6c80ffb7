import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isK3tsError } from "../src/errors.ts";
import { createMemoryRuntime, type MemoryRuntime } from "../src/testing/memory/index.ts";

/** The busybox emulation, seen through exec on one running node. */
describe("memory runtime shell", () => {
  let runtime: MemoryRuntime;
  const node = "shell";

  beforeAll(async () => {
    runtime = createMemoryRuntime();
    await runtime.nodes.create({ name: node, image: "k3ts-test/busybox:1", command: ["sleep", "infinity"] });
    await runtime.nodes.start(node);
  });
  afterAll(() => runtime.close());

  const sh = async (script: string, env?: Record<string, string>) => {
    const r = await runtime.nodes.exec(node, ["sh", "-c", script], { env });
    return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  };

  it("returns exit codes, stops at exit, and honours && and ||", async () => {
    expect((await sh("true")).exitCode).toBe(0);
    expect((await sh("false")).exitCode).toBe(1);
    expect(await sh("echo before; exit 4; echo after")).toMatchObject({ exitCode: 4, stdout: "before\n" });
    expect(await sh("false && echo no; echo $?")).toMatchObject({ exitCode: 0, stdout: "1\n" });
    expect(await sh("false || echo fallback")).toMatchObject({ stdout: "fallback\n" });
    expect(await sh("nosuchprogram")).toMatchObject({ exitCode: 127, stderr: expect.stringContaining("nosuchprogram: not found") });
  });

  it("redirects to and from files, appends, and sends >&2 to stderr", async () => {
    const r = await sh("echo one > /tmp/r.txt; echo two >> /tmp/r.txt; cat < /tmp/r.txt; echo oops >&2; wc -c /tmp/r.txt");
    expect(r).toEqual({ exitCode: 0, stdout: "one\ntwo\n8 /tmp/r.txt\n", stderr: "oops\n" });
    expect((await runtime.nodes.readFile(node, "/tmp/r.txt")).toString()).toBe("one\ntwo\n");
    const missing = await sh("cat < /nope");
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("No such file or directory");
  });

  it("pipes stdout of one stage into the next", async () => {
    expect((await sh("echo hello | wc -c")).stdout).toBe("6\n");
  });

  it("runs for loops with quoting and field splitting", async () => {
    const r = await sh('for i in a "b c" $LIST; do echo "[$i]"; done', { LIST: "x  y" });
    expect(r.stdout).toBe("[a]\n[b c]\n[x]\n[y]\n");
    expect((await sh("X=1; for v in 2 3; do X=$X$v; done; echo $X")).stdout).toBe("123\n");
    expect((await sh("echo '$HOME' \"${HOME}\" \\$x")).stdout).toBe("$HOME /root $x\n");
  });

  it("reports real syntax errors like sh does (exit 2)", async () => {
    const r = await sh("for i in 1 2; do echo $i");
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('syntax error: expected "done"');
  });

  it.each([
    ["if true; then echo y; fi", 'the shell keyword "if"'],
    ["echo $(hostname)", "command substitution $(...)"],
    ["sleep 1 &", "background jobs (&)"],
    ["echo ${X:-default}", "the parameter expansion ${X:-default}"],
    ["ls *.txt", "pathname expansion (unquoted *); quote it"],
    ["cat -n /etc/hostname", "the option -n of cat"],
  ])("rejects unsupported %j with INVALID_ARGUMENT naming the construct", async (script, construct) => {
    const err: unknown = await sh(script).catch((e: unknown) => e);
    expect(isK3tsError(err, "INVALID_ARGUMENT"), String(err)).toBe(true);
    expect((err as Error).message).toBe(`the memory runtime does not emulate ${construct}`);
  });

  it("wget fetches from the node's own httpd, serving index.html for directories", async () => {
    await runtime.nodes.writeFile(node, "/srv/index.html", "home\n");
    await runtime.nodes.writeFile(node, "/secret", "no\n");
    expect(await sh("httpd -p 9000 -h /srv && wget -q -O - http://localhost:9000/")).toMatchObject({ exitCode: 0, stdout: "home\n" });
    const escape = await sh("wget -q -O - http://localhost:9000/../secret");
    expect(escape.exitCode).toBe(1);
    expect(escape.stderr).toContain("404");
    expect((await sh("wget -q -O - http://nowhere:80/")).stderr).toBe("wget: bad address 'nowhere'\n");
  });

  it("stat reports mode and size of files written through the API", async () => {
    await runtime.nodes.writeFile(node, "/etc/app/conf", "12345", { mode: 0o640 });
    expect((await runtime.nodes.exec(node, ["stat", "-c", "%a %s %n", "/etc/app/conf"])).stdout.toString()).toBe("640 5 /etc/app/conf\n");
  });
});
