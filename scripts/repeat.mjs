#!/usr/bin/env node
// Runs test suites again and again and prints how many runs passed: the check that the engine suites
// are deterministic (a flaky suite passes CI once and fails the next user).
//
//   pnpm test:repeat [--times N] [--engine docker|podman] [SUITE ...]
//
// SUITE is a test file (packages/cli/test/e2e/lifecycle.e2e.test.ts) or a folder of them; without one,
// every suite that drives an engine. Each suite runs once per engine it covers (K3TS_E2E_ENGINES
// narrows the suites that loop over both; the runtime packages' suites cover their own engine only),
// under the engine lock the `test` scripts take. A failed run's log is kept and its path printed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ENGINES = ["docker", "podman"];

const usage = "usage: pnpm test:repeat [--times N] [--engine docker|podman] [SUITE ...]";
let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { times: { type: "string", short: "n", default: "5" }, engine: { type: "string", short: "e" }, help: { type: "boolean", short: "h" } } });
} catch (err) {
  console.error(`${err.message}\n${usage}`);
  process.exit(2);
}
if (parsed.values.help) {
  console.log(usage);
  process.exit(0);
}
const times = Number(parsed.values.times);
if (!Number.isInteger(times) || times < 1) {
  console.error(`--times: ${parsed.values.times} is not a whole number of runs\n${usage}`);
  process.exit(2);
}
if (parsed.values.engine && !ENGINES.includes(parsed.values.engine)) {
  console.error(`--engine: ${parsed.values.engine} is not one of ${ENGINES.join(", ")}\n${usage}`);
  process.exit(2);
}

/** Test files under a folder (node_modules and fixtures left out). */
function testFiles(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true }).flatMap((e) =>
    e.name === "node_modules" || e.name === "fixtures" || e.name === "dist" ? [] : e.isDirectory() ? testFiles(join(path, e.name)) : e.name.endsWith(".test.ts") ? [join(path, e.name)] : [],
  );
}

/** Does this file drive an engine? Its code names one, or the helpers that pick one. */
const drivesEngine = (file) => /\b(runtimeFor|docker\(\)|createDockerRuntime|createPodmanRuntime|selectRuntime)\b/.test(readFileSync(file, "utf8"));

/** The package a file belongs to (the nearest package.json). */
function packageOf(file) {
  for (let dir = dirname(file); dir !== repo; dir = dirname(dir)) if (existsSync(join(dir, "package.json"))) return dir;
  throw new Error(`${file} is in no package`);
}

/** Which engines a file covers: the runtime packages their own; anything else both. */
function enginesOf(file) {
  const pkg = relative(repo, packageOf(file));
  if (pkg === "packages/runtime-docker") return ["docker"];
  if (pkg === "packages/runtime-podman") return ["podman"];
  return ENGINES;
}

const roots = parsed.positionals.length ? parsed.positionals.map((p) => resolve(p)) : ["packages", "examples"].map((p) => join(repo, p));
for (const r of roots) {
  if (!existsSync(r)) {
    console.error(`${relative(process.cwd(), r)}: no such file or folder\n${usage}`);
    process.exit(2);
  }
}
const files = roots.flatMap(testFiles).filter((f) => parsed.positionals.length > 0 || drivesEngine(f)).sort();
if (files.length === 0) {
  console.error(`no test files under ${parsed.positionals.join(" ")}`);
  process.exit(2);
}

const logs = mkdtempSync(join(tmpdir(), "k3ts-repeat-"));
const rows = [];
const notApplicable = new Set();
for (const file of files) {
  const pkg = packageOf(file);
  const name = relative(repo, file);
  for (const engine of enginesOf(file).filter((e) => !parsed.values.engine || e === parsed.values.engine)) {
    let passed = 0;
    const seconds = [];
    for (let i = 1; i <= times; i++) {
      const report = join(logs, `report-${rows.length}-${i}.json`);
      const started = Date.now();
      const run = spawnSync("flock", ["/tmp/k3ts-engine-tests.lock", "node", join(pkg, "node_modules/vitest/vitest.mjs"), "run", relative(pkg, file), "--reporter=default", "--reporter=json", `--outputFile.json=${report}`], {
        cwd: pkg,
        env: { ...process.env, K3TS_E2E_ENGINES: engine, NO_COLOR: "1", CI: process.env.CI ?? "true" },
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
      });
      seconds.push((Date.now() - started) / 1000);
      let summary = `exit ${run.status}`;
      let ok = run.status === 0;
      if (existsSync(report)) {
        const r = JSON.parse(readFileSync(report, "utf8"));
        summary = `${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`;
        // A suite with no test for this engine (e.g. a Podman-only one under --engine docker) is not this engine's.
        if (ok && r.numTotalTests > 0 && r.numPassedTests === 0 && r.numFailedTests === 0) {
          console.log(`${name} on ${engine}: no test for this engine (${summary}), not counted`);
          notApplicable.add(`${name}\0${engine}`);
          break;
        }
        // A run that ran nothing proves nothing.
        ok = ok && r.numFailedTests === 0 && r.numPassedTests > 0;
        if (!ok) {
          const failed = r.testResults.flatMap((t) => t.assertionResults.filter((a) => a.status === "failed").map((a) => `${a.fullName}: ${(a.failureMessages[0] ?? "").split("\n")[0]}`));
          if (failed.length) summary += `\n      ${failed.join("\n      ")}`;
        }
      }
      if (ok) passed++;
      else {
        const log = join(logs, `${name.replaceAll("/", "_")}-${engine}-run${i}.log`);
        writeFileSync(log, `${run.stdout}\n${run.stderr}`);
        summary += `\n      log: ${log}`;
      }
      console.log(`${name} on ${engine}, run ${i}/${times}: ${ok ? "passed" : "FAILED"} (${summary}, ${seconds.at(-1).toFixed(0)} s)`);
    }
    if (notApplicable.has(`${name}\0${engine}`)) continue;
    const sorted = [...seconds].sort((a, b) => a - b);
    rows.push({ name, engine, passed, median: sorted[Math.floor(sorted.length / 2)] });
  }
}

console.log(`\n${"suite".padEnd(58)} ${"engine".padEnd(7)} passed  median`);
for (const r of rows) console.log(`${r.name.padEnd(58)} ${r.engine.padEnd(7)} ${`${r.passed}/${times}`.padStart(6)}  ${r.median.toFixed(0).padStart(4)} s`);
// Every file must count somewhere: one that has a test for no engine proves nothing.
const uncounted = files.map((f) => relative(repo, f)).filter((n) => !rows.some((r) => r.name === n));
for (const n of uncounted) console.log(`${n}: ran no test on any engine asked for`);
const all = rows.reduce((n, r) => n + r.passed, 0) - uncounted.length * times;
console.log(`\n${all} passed, ${rows.length * times - all} failed`);
process.exit(all === rows.length * times ? 0 : 1);
