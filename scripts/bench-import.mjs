#!/usr/bin/env node
// Benchmark: `k3ts image import` throughput against the raw pipe it replaces,
//   docker save IMAGE | docker exec -i NODE ctr -n k8s.io images import -
// into the same node of a 1-server cluster, same image, interleaved runs, medians. The image is
// removed from the node before every run, so both sides really import (k3ts would skip otherwise).
// Docker and the k3s stand-in (pnpm fixtures) unless K3TS_BENCH_K3S_IMAGE names a real k3s image.
// Two archives: the engine's image itself, and the same image as an OCI archive of a multi-platform
// image with only this machine's platform in it (what Docker's containerd image store exports for a
// pulled multi-arch image), imported from the file by both sides.
//
//   import { benchImport } from "./bench-import.mjs";   const r = await benchImport(5);
//   node scripts/bench-import.mjs [--runs N]            prints the result as JSON
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { partialMultiPlatform, saved } from "./image-archives.mjs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const defaultBin = fileURLToPath(new URL("../packages/cli/bin/k3ts.js", import.meta.url));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function run(cmd, argv, env) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/**
 * @param {number} runs measured runs of each side (after one warm-up each)
 * @param {{ image?: string, bin?: string }} [options] the image to import (default the 135 MB stand-in image)
 * @returns {Promise<Array<{ name: string, runs: number, subjectMs: number, baselineMs: number, ratio: number, bytes: number }>>}
 */
export async function benchImport(runs = 5, options = {}) {
  const bin = options.bin ?? process.env.K3TS_BENCH_BIN ?? defaultBin;
  const k3sImage = process.env.K3TS_BENCH_K3S_IMAGE ?? "k3ts-test/k3s-standin:2";
  const image = options.image ?? process.env.K3TS_BENCH_IMPORT_IMAGE ?? "k3ts-test/k3s-standin:2";
  // The stand-in runs unprivileged with SYS_ADMIN: its real containerd mounts snapshots to unpack.
  const privilege = process.env.K3TS_BENCH_K3S_IMAGE ? [] : ["--no-privileged", "--runtime-cap-add", "SYS_ADMIN"];
  const dir = mkdtempSync(join(tmpdir(), "k3ts-bench-import-"));
  const env = { KUBECONFIG: join(dir, "config"), NO_COLOR: "1" };
  const cluster = "benchimport";
  const node = `k3ts-${cluster}-server-0`;
  const k3ts = (...argv) => run(process.execPath, [bin, "--runtime", "docker", ...argv], env);
  k3ts("cluster", "delete", cluster);
  k3ts("cluster", "create", cluster, "--image", k3sImage, "--no-lb", ...privilege, "--timeout", "120s");
  try {
    const multi = join(dir, "multi-platform.tar");
    partialMultiPlatform(saved("docker", image, dir), "docker.io/k3ts-bench/multi:1", multi);
    const pair = (name, source, pipe) => {
      // The references containerd names the image by: learned once, removed before every run.
      k3ts("image", "import", source, "-c", cluster);
      const refs = spawnSync("docker", ["exec", node, "ctr", "-n", "k8s.io", "images", "ls", "-q"], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean);
      const clear = () => run("docker", ["exec", node, "ctr", "-n", "k8s.io", "images", "rm", ...refs]);
      const subject = () => {
        clear();
        return k3ts("image", "import", source, "-c", cluster, "--nodes", "server:0");
      };
      const baseline = () => {
        clear();
        return run("sh", ["-c", `${pipe} | docker exec -i ${node} ctr -n k8s.io images import -`]);
      };
      subject();
      baseline();
      const a = [];
      const b = [];
      for (let i = 0; i < runs; i++) {
        a.push(subject());
        b.push(baseline());
      }
      clear();
      const bytes = Number(spawnSync("sh", ["-c", `${pipe} | wc -c`], { encoding: "utf8" }).stdout.trim());
      const subjectMs = +median(a).toFixed(1);
      const baselineMs = +median(b).toFixed(1);
      return { name, runs, subjectMs, baselineMs, ratio: +(subjectMs / baselineMs).toFixed(2), bytes };
    };
    return [
      pair("image import: k3ts image import vs raw save | exec -i ctr import", image, `docker save '${image}'`),
      pair("image import, multi-platform OCI archive (one platform present): k3ts vs cat | exec -i ctr import", multi, `cat '${multi}'`),
    ];
  } finally {
    try {
      k3ts("cluster", "delete", cluster);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const runs = Number(args.includes("--runs") ? args[args.indexOf("--runs") + 1] : 5);
  process.stdout.write(`${JSON.stringify(await benchImport(runs), null, 2)}\n`);
}
