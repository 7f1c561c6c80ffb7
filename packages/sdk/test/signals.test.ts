import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const child = fileURLToPath(new URL("./fixtures/signals/child.mjs", import.meta.url));

describe("a signal during a create, with a library's signal handler installed", () => {
  it("signal-exit's handlers (execa installs them while a subprocess runs) are not the program's own: the SDK cleans up and the signal ends the process", async () => {
    const proc = execa("node", [child], { reject: false, cwd: fileURLToPath(new URL(".", import.meta.url)) });
    await new Promise<void>((resolve) => proc.stdout!.on("data", (d: Buffer) => d.toString().includes("creating") && resolve()));
    proc.kill("SIGINT");
    const r = await proc;
    expect(r.signal, String(r.stderr)).toBe("SIGINT");
    expect(String(r.stdout)).toBe("creating\ndisposed");
  }, 30_000);
});
