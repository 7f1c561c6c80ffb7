#!/usr/bin/env node
// Builds the local test images in every engine on this machine, from root filesystems made on the
// host (no registry is reachable here): `docker import` / `podman import` of a tar stream.
//
//   k3ts-test/busybox:1   busybox-static with its applets linked: what the conformance suite runs
//
// Usage: pnpm fixtures [--engine docker|podman] [--quiet]
import { spawnSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, symlinkSync, copyFileSync, writeFileSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const only = args.includes("--engine") ? args[args.indexOf("--engine") + 1] : undefined;
const quiet = args.includes("--quiet");
const log = (m) => quiet || process.stderr.write(`${m}\n`);

export const IMAGES = { busybox: "k3ts-test/busybox:1" };

function busyboxRoot() {
  const bb = ["/bin/busybox", "/usr/bin/busybox"].find(existsSync);
  if (!bb) throw new Error("busybox is missing: apt-get install busybox-static");
  const check = spawnSync("file", ["-L", bb], { encoding: "utf8" });
  if (check.status === 0 && !/statically linked|static-pie/.test(check.stdout)) {
    throw new Error(`${bb} is not statically linked: apt-get install busybox-static`);
  }
  const root = mkdtempSync(join(tmpdir(), "k3ts-busybox-"));
  for (const d of ["bin", "etc", "tmp", "root", "proc", "sys", "dev", "var/run", "www"]) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
  copyFileSync(bb, join(root, "bin/busybox"));
  const applets = spawnSync(bb, ["--list"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
  for (const a of applets) if (a !== "busybox") symlinkSync("busybox", join(root, "bin", a));
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  return root;
}

function engines() {
  const found = [];
  for (const engine of ["docker", "podman"]) {
    if (only && only !== engine) continue;
    const r = spawnSync(engine, ["info", "--format", "{{json .}}"], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    if (r.status === 0) found.push(engine);
    else if (only || process.env.CI) throw new Error(`${engine} is not reachable: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`);
    else log(`skip ${engine}: not reachable`);
  }
  return found;
}

function importRoot(engine, root, image, changes) {
  return new Promise((resolve, reject) => {
    const tar = spawn("tar", ["-C", root, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
    const imp = spawn(engine, ["import", ...changes.flatMap((c) => ["--change", c]), "-", image], { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    imp.stderr.on("data", (d) => (err += d));
    tar.stdout.pipe(imp.stdin);
    imp.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${engine} import ${image} failed: ${err}`))));
  });
}

const root = busyboxRoot();
try {
  for (const engine of engines()) {
    await importRoot(engine, root, IMAGES.busybox, ['CMD ["/bin/sh"]', "ENV PATH=/bin"]);
    log(`${engine}: ${IMAGES.busybox}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
process.stdout.write(`${Object.values(IMAGES).join("\n")}\n`);
