#!/usr/bin/env node
// k3ts benchmarks. Each result is a ratio measured in one run against a baseline measured in the
// same run (interleaved, medians), never an absolute time: these machines are noisy.
//
//   startup   `k3ts --version` against `node -e 0`
//
// Usage: pnpm bench [--runs N] [--json]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const runs = Number(args.includes("--runs") ? args[args.indexOf("--runs") + 1] : 30);
const asJson = args.includes("--json");
const bin = fileURLToPath(new URL("../packages/cli/bin/k3ts.js", import.meta.url));

function timeOnce(argv) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Runs subject and baseline alternately (after a warm-up of each) and compares medians. */
function compare(name, subject, baseline) {
  timeOnce(subject);
  timeOnce(baseline);
  const a = [];
  const b = [];
  for (let i = 0; i < runs; i++) {
    a.push(timeOnce(subject));
    b.push(timeOnce(baseline));
  }
  const result = { name, runs, subjectMs: +median(a).toFixed(1), baselineMs: +median(b).toFixed(1) };
  result.ratio = +(result.subjectMs / result.baselineMs).toFixed(2);
  return result;
}

const results = [compare("startup: k3ts --version vs node -e 0", [bin, "--version"], ["-e", "0"])];

if (asJson) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
else {
  for (const r of results) {
    process.stdout.write(`${r.name}\n  ${r.subjectMs} ms vs ${r.baselineMs} ms (median of ${r.runs}) → ratio ${r.ratio}\n`);
  }
}
