#!/usr/bin/env node
// Benchmark: port-forward through a real API server, the SDK's endpoint against `kubectl port-forward`,
// both to the same sink, interleaved runs, medians. The second reference beside bench-portforward.mjs
// (which measures against a fake API server with no engine): here a cluster of the k3s stand-in on
// Docker answers, whose pods/portforward connects to 127.0.0.1:<port> of server-0's container (see
// fixtures/k3s-standin/README.md), where the sink runs (`node -e`, the stand-in image has node).
// The forwarded pod is a busybox pod that sleeps: the stand-in forwards only for a Running pod.
// Needs Docker, the stand-in image (pnpm fixtures) and kubectl; take the engine lock around it:
//
//   flock /tmp/k3ts-engine-tests.lock node scripts/bench.mjs --only portforward-kubectl
//   flock /tmp/k3ts-engine-tests.lock node scripts/bench-portforward-kubectl.mjs [--runs N] [--mb N]
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { median, sinkHandler, transfer } from "./bench-portforward.mjs";

const self = fileURLToPath(import.meta.url);
const bin = fileURLToPath(new URL("../packages/cli/bin/k3ts.js", import.meta.url));
const sdkDir = new URL("../packages/sdk/", import.meta.url);
const SINK_PORT = 9000;

function run(cmd, argv, what) {
  const r = spawnSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new Error(`${what}: ${cmd} ${argv.join(" ")} exited ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Starts `kubectl port-forward` and resolves with its local port once it says it is forwarding. */
async function kubectlForward(kubeconfig, pod) {
  const child = spawn("kubectl", ["--kubeconfig", kubeconfig, "port-forward", `pod/${pod}`, `:${SINK_PORT}`], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stderr.setEncoding("utf8").on("data", (d) => (out += d));
  const port = await new Promise((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
      const m = out.match(/Forwarding from 127\.0\.0\.1:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`kubectl port-forward exited ${code}: ${out}`)));
  });
  return { port, stop: () => child.kill() };
}

/**
 * The sdk endpoint in a process of its own, as kubectl is: what the implementation costs without
 * sharing an event loop (and a core) with the client that measures it. Resolves with its local port.
 */
async function endpointProcess(kubeconfig, pod) {
  const require = createRequire(new URL("package.json", sdkDir));
  const script = `
    const { KubeConfig } = await import(${JSON.stringify(pathToFileURL(require.resolve("@kubernetes/client-node")).href)});
    const { forwardPod } = await import(${JSON.stringify(new URL("dist/index.js", sdkDir).href)});
    const kc = new KubeConfig();
    kc.loadFromFile(${JSON.stringify(kubeconfig)});
    const ep = await forwardPod(kc, { pod: ${JSON.stringify(pod)}, port: ${SINK_PORT} });
    await ep.ready;
    process.stdout.write(ep.port + "\\n");
    process.stdin.resume();
    process.stdin.on("end", () => ep.close().then(() => process.exit(0)));`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  const [line] = await Promise.race([
    once(child.stdout.setEncoding("utf8"), "data"),
    once(child, "exit").then(([code]) => {
      throw new Error(`the endpoint process exited ${code}`);
    }),
  ]);
  return { port: Number(line.trim()), stop: () => child.stdin.end() };
}

/**
 * @param {number} runs measured runs of each side (after one warm-up each)
 * @param {{ mb?: number }} [options] megabytes each way per run (default 64)
 */
export async function benchPortForwardKubectl(runs = 5, options = {}) {
  const bytes = (options.mb ?? 64) << 20;
  const image = process.env.K3TS_BENCH_K3S_IMAGE;
  if (image) throw new Error("portforward-kubectl runs against the k3s stand-in only (it runs the sink in server-0's container); unset K3TS_BENCH_K3S_IMAGE");
  const dir = mkdtempSync(join(tmpdir(), "k3ts-bench-pf-"));
  const kubeconfig = join(dir, "config");
  const name = `bench-pf${process.pid}`;
  const k3ts = (...argv) => run(process.execPath, [bin, "--runtime", "docker", ...argv], `k3ts ${argv[0]} ${argv[1]}`);
  const kubectl = (...argv) => run("kubectl", ["--kubeconfig", kubeconfig, ...argv], `kubectl ${argv[0]}`);
  let forward;
  let ep;
  let apart;
  try {
    // SYS_ADMIN: the stand-in's containerd mounts image layers to start a pod (unprivileged otherwise).
    k3ts("cluster", "create", name, "--image", "k3ts-test/k3s-standin:2", "--no-lb", "--no-privileged", "--runtime-cap-add", "SYS_ADMIN", "--kubeconfig", kubeconfig, "--timeout", "180s");
    k3ts("image", "import", "k3ts-test/busybox:1", "-c", name);
    kubectl("run", "sink", "--image=k3ts-test/busybox:1", "--restart=Never", "--image-pull-policy=Never", "--", "sleep", "3600");
    kubectl("wait", "--for=jsonpath={.status.phase}=Running", "pod/sink", "--timeout=60s");
    const sink = `require("node:net").createServer(${sinkHandler.toString()}).listen(${SINK_PORT}, "127.0.0.1")`;
    run("docker", ["exec", "-d", `k3ts-${name}-server-0`, "node", "-e", sink], "the sink");

    const require = createRequire(new URL("package.json", sdkDir));
    const { KubeConfig } = await import(pathToFileURL(require.resolve("@kubernetes/client-node")).href);
    const { forwardPod } = await import(new URL("dist/index.js", sdkDir).href);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    ep = await forwardPod(kc, { pod: "sink", port: SINK_PORT });
    await ep.ready;
    forward = await kubectlForward(kubeconfig, "sink");
    apart = await endpointProcess(kubeconfig, "sink");
    // The sink may still be starting: the first transfers are the warm-up, retried until it answers.
    for (let i = 0; ; i++) {
      try {
        await transfer(forward.port, bytes);
        break;
      } catch (err) {
        if (i === 10) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await transfer(ep.port, bytes);
    await transfer(apart.port, bytes);
    const a = [];
    const b = [];
    const c = [];
    for (let i = 0; i < runs; i++) {
      a.push(await transfer(ep.port, bytes));
      b.push(await transfer(forward.port, bytes));
      c.push(await transfer(apart.port, bytes));
    }
    const subjectMs = +median(a).toFixed(1);
    const baselineMs = +median(b).toFixed(1);
    const apartMs = +median(c).toFixed(1);
    return {
      name: `port-forward through the k3s stand-in: ${bytes >> 20} MB each way through an sdk endpoint (in the measuring process) vs kubectl port-forward to the same sink`,
      runs,
      subjectMs,
      baselineMs,
      ratio: +(subjectMs / baselineMs).toFixed(2),
      apart: { name: "the sdk endpoint in a process of its own, as kubectl is", apartMs, apartRatio: +(apartMs / baselineMs).toFixed(2) },
    };
  } finally {
    forward?.stop();
    apart?.stop();
    await ep?.close();
    spawnSync(process.execPath, [bin, "--runtime", "docker", "cluster", "delete", name, "--kubeconfig", kubeconfig], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === self) {
  const args = process.argv.slice(2);
  const runs = Number(args.includes("--runs") ? args[args.indexOf("--runs") + 1] : 5);
  const mb = Number(args.includes("--mb") ? args[args.indexOf("--mb") + 1] : 64);
  process.stdout.write(`${JSON.stringify(await benchPortForwardKubectl(runs, { mb }), null, 2)}\n`);
}
