#!/usr/bin/env node
// k3ts benchmarks. Each result is a ratio measured in one run against a baseline measured in the
// same run (interleaved, medians), never an absolute time: these machines are noisy.
//
//   startup   `k3ts --version` against `node -e 0`
//   create    `k3ts cluster create` (1 server + 2 agents + load balancer, waiting until Ready) against
//             the same network and containers made by raw `docker` calls in parallel (no waiting); beside
//             it k3ts against the raw containers waited for until every node is Ready (what k3ts adds to
//             k3s' own time), and that floor against the raw containers (k3s' own time)
//   scale     create with 8 agents against create with 1 agent; beside it the floor: raw parallel docker
//             run of 8 agents against 1, each until every node is Ready
//   import    `k3ts image import` into a node against a raw `docker save | docker exec -i ctr import -` pipe
//   portforward  bytes both ways through an sdk endpoint (the port-forward protocol over ws + TLS, against
//             an in-process fake API server in a child process) against a direct TCP connection to the same sink;
//             beside it the floor: the same hops as a plain TLS byte relay, and its own ratio to direct TCP
//   portforward-kubectl  the same through a cluster of the k3s stand-in on Docker: an sdk endpoint against
//             `kubectl port-forward` to one sink (needs the engine, the stand-in image and kubectl)
//   hostimages  a ~200 MB image rebuilt with one changed 1 MB layer, from rebuilt on the host to running on
//             3 nodes (a pod on the server, crictl pull + ctr run on 2 agents) through host images against
//             `image import` of it into the same nodes and the same run; beside it the bytes that entered
//             the nodes each way (bench-hostimages.mjs; --hostimages-runs N, default 3)
// The cluster benchmarks run on Docker with the k3s stand-in (pnpm fixtures builds it), unless
// K3TS_BENCH_K3S_IMAGE names a real k3s image.
//
// Usage: pnpm bench [--runs N] [--cluster-runs N] [--hostimages-runs N] [--json] [--only startup|create|scale|import|portforward|portforward-kubectl|hostimages]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchHostImages } from "./bench-hostimages.mjs";
import { benchImport } from "./bench-import.mjs";
import { benchPortForward } from "./bench-portforward.mjs";
import { benchPortForwardKubectl } from "./bench-portforward-kubectl.mjs";

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

const clusterRuns = Number(args.includes("--cluster-runs") ? args[args.indexOf("--cluster-runs") + 1] : 3);
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const k3sImage = process.env.K3TS_BENCH_K3S_IMAGE ?? "k3ts-test/k3s-standin:2";
const lbImage = process.env.K3TS_BENCH_LB_IMAGE ?? (process.env.K3TS_BENCH_K3S_IMAGE ? "nginx:1.29-alpine" : "k3ts-test/nginx:1");
const privilege = process.env.K3TS_BENCH_K3S_IMAGE ? [] : ["--no-privileged"];

const benchDir = mkdtempSync(join(tmpdir(), "k3ts-bench-"));
const benchKubeconfig = join(benchDir, "config");
// The kubeconfig's directory goes with the process, however it ends.
process.on("exit", () => rmSync(benchDir, { recursive: true, force: true }));

function sh(cmd, argv) {
  const r = spawnSync(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

function timed(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function k3tsCreate(name, agents) {
  return timed(() =>
    sh(process.execPath, [bin, "--runtime", "docker", "cluster", "create", name, "--agents", String(agents), "--image", k3sImage, "--lb-image", lbImage, ...privilege, "--kubeconfig-update-default=false", "--timeout", "180s"]),
  );
}

function k3tsDelete(name) {
  sh(process.execPath, [bin, "--runtime", "docker", "cluster", "delete", name, "--kubeconfig", benchKubeconfig]);
}

/**
 * The same network and containers, by raw docker calls started in parallel: the engine's own floor.
 * With `ready`, also waited for until the server's API lists every node Ready (kubectl polling, as
 * k3ts polls): the floor of a create that waits, what k3s itself takes.
 */
function rawCreate(name, agents, { ready = false } = {}) {
  const net = `bench-raw-${name}`;
  const containers = [
    ["server-0", ["server"], ready ? ["-p", "127.0.0.1::6443"] : []],
    ...Array.from({ length: agents }, (_, i) => [`agent-${i}`, ["agent"], ["-e", `K3S_URL=https://bench-raw-${name}-server-0:6443`, "-e", "K3S_TOKEN=bench"]]),
  ];
  return timed(() => {
    sh("docker", ["network", "create", net]);
    const script = [
      ...containers.map(([n, cmd, env]) => `docker run -d --name bench-raw-${name}-${n} --network ${net} --init --tmpfs /run --tmpfs /var/run -e K3S_TOKEN=bench ${env.join(" ")} ${k3sImage} ${cmd.join(" ")} >/dev/null &`),
      `docker run -d --name bench-raw-${name}-serverlb --network ${net} -p 127.0.0.1::6443 ${lbImage} sleep 3600 >/dev/null &`,
      "wait",
    ].join("\n");
    sh("sh", ["-c", script]);
    if (ready) waitRawReady(`bench-raw-${name}-server-0`, agents + 1);
  });
}

/** Polls the raw server's API (its own kubeconfig, the published port) until `count` nodes are Ready. */
function waitRawReady(server, count) {
  const dir = mkdtempSync(join(tmpdir(), "k3ts-bench-raw-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, "config");
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${server}: ${count} nodes not Ready in 180 s`);
    const kc = spawnSync("docker", ["exec", server, "cat", "/etc/rancher/k3s/k3s.yaml"], { encoding: "utf8" });
    if (kc.status === 0 && kc.stdout.includes("certificate-authority-data")) {
      const port = sh("docker", ["port", server, "6443/tcp"]).trim().split("\n")[0].split(":").pop();
      writeFileSync(kubeconfig, kc.stdout.replace("https://127.0.0.1:6443", `https://127.0.0.1:${port}`));
      const nodes = spawnSync("kubectl", ["--kubeconfig", kubeconfig, "get", "nodes", "--no-headers"], { encoding: "utf8" });
      if (nodes.status === 0 && nodes.stdout.split("\n").filter((l) => / Ready /.test(l)).length >= count) return;
    }
    spawnSync("sleep", ["0.2"]);
  }
}

function rawDelete(name) {
  const ids = sh("docker", ["ps", "-aq", "--filter", `name=bench-raw-${name}-`]).trim().split("\n").filter(Boolean);
  if (ids.length) sh("docker", ["rm", "-f", ...ids]);
  sh("docker", ["network", "rm", `bench-raw-${name}`]);
}

function ratioOf(name, subjectLabel, subject, baselineLabel, baseline, n) {
  const a = [];
  const b = [];
  for (let i = 0; i < n; i++) {
    a.push(subject(i));
    b.push(baseline(i));
  }
  const result = { name, runs: n, subject: subjectLabel, baseline: baselineLabel, subjectMs: +median(a).toFixed(0), baselineMs: +median(b).toFixed(0) };
  result.ratio = +(result.subjectMs / result.baselineMs).toFixed(2);
  return result;
}

const results = [];
if (!only || only === "startup") results.push(compare("startup: k3ts --version vs node -e 0", [bin, "--version"], ["-e", "0"]));
/** One timed k3ts create (then deleted), per run index. */
const k3tsRun = (prefix, agents) => (i) => {
  const ms = k3tsCreate(`bench-${prefix}${i}`, agents);
  k3tsDelete(`bench-${prefix}${i}`);
  return ms;
};
/** One timed raw create (then deleted), per run index. */
const rawRun = (prefix, agents, opts) => (i) => {
  const ms = rawCreate(`${prefix}${i}`, agents, opts);
  rawDelete(`${prefix}${i}`);
  return ms;
};
const untilReady = { ready: true };

if (!only || only === "create") {
  results.push(
    ratioOf("create: k3ts cluster create (1+2, until Ready) vs raw parallel docker run of the same containers", "k3ts", k3tsRun("c", 2), "raw", rawRun("r", 2), clusterRuns),
    ratioOf(
      "create against its floor: k3ts cluster create (1+2) vs raw parallel docker run of the same containers, both until every node is Ready",
      "k3ts",
      k3tsRun("f", 2),
      "raw until Ready",
      rawRun("rf", 2, untilReady),
      clusterRuns,
    ),
    ratioOf("create floor: raw parallel docker run until every node is Ready vs raw parallel docker run (what k3s itself takes)", "raw until Ready", rawRun("rr", 2, untilReady), "raw", rawRun("rn", 2), clusterRuns),
  );
}
if (!only || only === "scale") {
  results.push(
    ratioOf("scale: k3ts cluster create with 8 agents vs with 1 agent", "8 agents", k3tsRun("e", 8), "1 agent", k3tsRun("o", 1), clusterRuns),
    ratioOf("scale floor: raw parallel docker run of 8 agents vs of 1 agent, each until every node is Ready", "raw 8 agents", rawRun("re", 8, untilReady), "raw 1 agent", rawRun("ro", 1, untilReady), clusterRuns),
  );
}

if (!only || only === "import") {
  results.push(...(await benchImport(clusterRuns + 2)));
}

if (!only || only === "portforward") results.push(await benchPortForward(7, { mb: 64 }));
if (!only || only === "portforward-kubectl") results.push(await benchPortForwardKubectl(5, { mb: 64 }));
if (!only || only === "hostimages") {
  results.push(...(await benchHostImages(Number(args.includes("--hostimages-runs") ? args[args.indexOf("--hostimages-runs") + 1] : 3))));
}

if (asJson) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
else {
  for (const r of results) {
    process.stdout.write(`${r.name}\n  ${r.subjectMs} ms vs ${r.baselineMs} ms (median of ${r.runs}) → ratio ${r.ratio}\n`);
    if (r.floor) {
      process.stdout.write(`  floor, ${r.floor.name}: ${r.floor.floorMs} ms → ratio ${r.floor.floorRatio} to direct TCP; the endpoint is ${r.floor.subjectToFloor}× the floor\n`);
      process.stdout.write(`  the same relay without TLS (the two extra hops alone): ${r.floor.hopsMs} ms → ratio ${r.floor.hopsRatio}\n`);
    }
    if (r.apart) process.stdout.write(`  ${r.apart.name}: ${r.apart.apartMs} ms → ratio ${r.apart.apartRatio}\n`);
    if (r.table) process.stdout.write(r.table);
  }
}
