#!/usr/bin/env node
// Benchmark: a rebuild run on every node of a 3-node cluster (1 server + 2 agents, made by the SDK with
// `hostImages: true`), through host images against `k3ts image import`, interleaved runs, medians.
//
// The image (~200 MB by default) is built on the host engine from random bytes (they do not compress
// away): the test busybox and several big layers as a base image, and on top of it one ~1 MB layer (a
// version file and random bytes). Each round rebuilds only that top layer under the same tag, then
// measures from "rebuilt on the host" until every node runs the new image:
//   host images   server-0: a pod of it with imagePullPolicy Always (its kubelet pulls through the
//                 host-images registry); each agent (the stand-in's agents run no pods): `crictl pull`
//                 then a container of it in the node's containerd (`ctr run`), as the e2e does
//   image import  SDK importImages of the image into every server and agent (what `k3ts image import
//                 IMAGE -c NAME` does, without the CLI's start-up), then the same run on each node: the
//                 pod with imagePullPolicy Never, and `ctr run` on each agent (no pull)
// Every run checks that each node printed the new version. Rounds alternate which side goes first.
// Beside the times: the bytes that entered the nodes (for host images the registry's served blob
// bytes for the rebuild, for import the bytes it streamed into each node), and the phases (the
// registry's save of the image into its cache; the import call alone).
// Docker with the k3s stand-in (pnpm fixtures) unless K3TS_BENCH_K3S_IMAGE names a real k3s image.
// Needs Docker's classic builder (DOCKER_BUILDKIT=0: it takes the local FROM image, no registry).
// Take the engine lock around it:
//
//   import { benchHostImages } from "./bench-hostimages.mjs";   const [r] = await benchHostImages(3);
//   flock /tmp/k3ts-engine-tests.lock node scripts/bench-hostimages.mjs [--runs N] [--mb N] [--layers N] [--json]
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const bin = fileURLToPath(new URL("../packages/cli/bin/k3ts.js", import.meta.url));
const sdkDir = new URL("../packages/sdk/", import.meta.url);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MB = 1e6;
const mb = (n) => `${(n / MB).toFixed(n < 10 * MB ? 2 : 1)} MB`;

function run(cmd, argv, what, env) {
  const r = spawnSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${what}: ${cmd} ${argv.join(" ")} exited ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/**
 * @param {number} runs measured rounds of each side (after one warm-up round of each)
 * @param {{ mb?: number, layers?: number }} [options] the image's size in MB (random bytes, split over `layers` base layers) and the base layer count
 */
export async function benchHostImages(runs = 3, options = {}) {
  const totalMb = options.mb ?? 200;
  const layers = options.layers ?? 8;
  const changedBytes = 1 << 20;
  const k3sImage = process.env.K3TS_BENCH_K3S_IMAGE ?? "k3ts-test/k3s-standin:2";
  const realK3s = process.env.K3TS_BENCH_K3S_IMAGE !== undefined;
  const podImage = process.env.K3TS_BENCH_POD_IMAGE ?? "k3ts-test/busybox:1";
  const name = "benchhostimg";
  const server = `k3ts-${name}-server-0`;
  const agents = [`k3ts-${name}-agent-0`, `k3ts-${name}-agent-1`];
  const nodeCount = 1 + agents.length;
  const repo = "k3ts-bench/hostimg";
  const image = `${repo}:dev`;
  const base = `${repo}-base:1`;
  const ref = `docker.io/${image}`;
  const dir = mkdtempSync(join(tmpdir(), "k3ts-bench-hostimg-"));
  const builtIds = [];
  let cluster;

  // The SDK and the Kubernetes client, from the built packages.
  const require = createRequire(new URL("package.json", sdkDir));
  const { createCluster } = await import(new URL("dist/index.js", sdkDir).href);
  const { CoreV1Api, KubeConfig } = await import(pathToFileURL(require.resolve("@kubernetes/client-node")).href);

  // The host-images registry's saves of an image into its cache, as its logger reports them.
  const exports = [];
  const noop = () => {};
  const logger = {
    debug: (message, fields) => {
      if (message === "host images: exported") exports.push(fields?.ms ?? 0);
    },
    info: noop,
    warn: (message) => process.stderr.write(`bench hostimages: ${message}\n`),
    error: (message) => process.stderr.write(`bench hostimages: ${message}\n`),
  };

  // A cluster of this name left by an interrupted run goes first (as bench-import does).
  run(process.execPath, [bin, "--runtime", "docker", "cluster", "delete", name], "delete a left-over cluster", { NO_COLOR: "1", KUBECONFIG: join(dir, "config") });
  try {
    // The base: the test busybox and `layers` layers of random bytes, built once (its context is the big one).
    const baseDir = join(dir, "base");
    const appDir = join(dir, "app");
    mkdirSync(baseDir);
    mkdirSync(appDir);
    const layerBytes = Math.round((totalMb * MB) / layers);
    const copies = [];
    for (let i = 0; i < layers; i++) {
      writeFileSync(join(baseDir, `l${i}`), randomBytes(layerBytes));
      copies.push(`COPY l${i} /data/l${i}`);
    }
    writeFileSync(join(baseDir, "Dockerfile"), `FROM ${podImage}\n${copies.join("\n")}\n`);
    const classic = { DOCKER_BUILDKIT: "0" };
    run("docker", ["build", "-q", "-t", base, baseDir], "build the base image", classic);
    rmSync(baseDir, { recursive: true, force: true });
    writeFileSync(join(appDir, "Dockerfile"), `FROM ${base}\nCOPY app version /app/\n`);
    let version = 0;
    /** Rebuilds the top layer only (a new version and fresh random bytes) under the same tag; returns the version. */
    const rebuild = () => {
      const v = `v${++version}`;
      writeFileSync(join(appDir, "version"), `${v}\n`);
      writeFileSync(join(appDir, "app"), randomBytes(changedBytes));
      run("docker", ["build", "-q", "-t", image, appDir], "rebuild the image", classic);
      builtIds.push(run("docker", ["image", "inspect", "--format", "{{.Id}}", image], "inspect the image").trim());
      return v;
    };
    rebuild();
    const imageBytes = Number(run("docker", ["image", "inspect", "--format", "{{.Size}}", image], "inspect the image").trim());
    const imageLayers = Number(run("docker", ["image", "inspect", "--format", "{{len .RootFS.Layers}}", image], "inspect the image").trim());

    const environment = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("K3TS_")));
    const created = now();
    cluster = await createCluster({
      name,
      runtime: "docker",
      image: k3sImage,
      agents: agents.length,
      loadBalancer: false,
      // The stand-in runs unprivileged with SYS_ADMIN: its real containerd mounts snapshots to unpack.
      privileged: realK3s,
      ...(realK3s ? {} : { capAdd: ["SYS_ADMIN"] }),
      hostImages: true,
      timeout: "180s",
      environment,
      logger,
    });
    const createMs = now() - created;
    const runtime = cluster.runtime;
    const kc = new KubeConfig();
    kc.loadFromString(await cluster.kubeconfig());
    const core = kc.makeApiClient(CoreV1Api);
    /** A pod of the image on server-0 that prints its version; resolves once it Succeeded. */
    const runPod = async (pod, pullPolicy) => {
      const body = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: pod },
        spec: { nodeName: server, restartPolicy: "Never", containers: [{ name: "main", image, imagePullPolicy: pullPolicy, command: ["sh", "-c", "cat /app/version"] }] },
      };
      await core.createNamespacedPod({ namespace: "default", body });
      for (const deadline = now() + 180_000; now() < deadline; await sleep(100)) {
        const { status } = await core.readNamespacedPod({ name: pod, namespace: "default" });
        if (status?.phase === "Succeeded") return;
        if (status?.phase === "Failed") break;
      }
      const { status } = await core.readNamespacedPod({ name: pod, namespace: "default" });
      throw new Error(`pod ${pod} did not succeed: ${JSON.stringify(status)}`);
    };
    const podOutput = async (pod) => String(await core.readNamespacedPodLog({ name: pod, namespace: "default" })).trim();
    const exec = async (node, argv) => {
      const r = await runtime.nodes.exec(node, argv);
      if (r.exitCode !== 0) throw new Error(`${node}: ${argv.join(" ")} exited ${r.exitCode}: ${r.stdout}${r.stderr}`);
      return r.stdout.toString().trim();
    };
    /** On an agent: with `pull`, the CRI's pull (containerd through registries.yaml); then a container of the image. */
    const runAgent = async (node, id, pull) => {
      if (pull) await exec(node, ["crictl", "pull", image]);
      return exec(node, ["ctr", "-n", "k8s.io", "run", "--rm", "--net-host", "--no-pivot", ref, id, "sh", "-c", "cat /app/version"]);
    };

    let round = 0;
    /** One rebuild and its run on every node, through host images (`hi`) or image import (`im`). */
    const measure = async (way) => {
      const v = rebuild();
      const tag = `${way}-${++round}`;
      const pod = `bench-${tag}`;
      const served = cluster.hostImages.served;
      const exported = exports.length;
      const start = now();
      let importMs;
      let importBytes;
      if (way === "im") {
        const result = await cluster.importImages([image]);
        importMs = now() - start;
        const notImported = result.nodes.filter((n) => n.status !== "imported");
        if (notImported.length || result.nodes.length !== nodeCount) throw new Error(`image import: ${JSON.stringify(result.nodes.map((n) => [n.node, n.status]))}`);
        importBytes = Object.fromEntries(result.nodes.map((n) => [n.node, n.bytes]));
      }
      const outs = await Promise.all([runPod(pod, way === "hi" ? "Always" : "Never"), ...agents.map((a, i) => runAgent(a, `bench-${tag}-${i}`, way === "hi"))]);
      const ms = now() - start;
      const printed = [await podOutput(pod), ...outs.slice(1)];
      if (printed.some((p) => p !== v)) throw new Error(`round ${tag}: the nodes ran ${printed.join(", ")}, not ${v}`);
      await core.deleteNamespacedPod({ name: pod, namespace: "default", gracePeriodSeconds: 0 });
      const after = cluster.hostImages.served;
      return {
        ms,
        registry: { manifests: after.manifests - served.manifests, blobs: after.blobs - served.blobs, blobBytes: after.blobBytes - served.blobBytes },
        exportMs: exports.slice(exported).reduce((a, b) => a + b, 0),
        ...(importMs !== undefined ? { importMs, importBytes } : {}),
      };
    };

    // Warm-up: the first host-images run moves the whole image into every node (reported, not timed); one import round.
    const first = await measure("hi");
    await measure("im");
    const hi = [];
    const im = [];
    for (let i = 0; i < runs; i++) {
      if (i % 2 === 0) {
        hi.push(await measure("hi"));
        im.push(await measure("im"));
      } else {
        im.push(await measure("im"));
        hi.push(await measure("hi"));
      }
    }

    // The rebuilt image as the registry serves it: the changed (top) layer and the config.
    const manifest = await (await fetch(`${cluster.hostImages.url}/v2/${repo}/manifests/dev?ns=docker.io`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } })).json();
    const changedLayer = manifest.layers.at(-1).size;
    const configBytes = manifest.config.size;

    const subjectMs = +median(hi.map((r) => r.ms)).toFixed(0);
    const baselineMs = +median(im.map((r) => r.ms)).toFixed(0);
    const hiBytes = median(hi.map((r) => r.registry.blobBytes));
    const imBytes = median(im.map((r) => Object.values(r.importBytes).reduce((a, b) => a + b, 0)));
    const imPerNode = Object.fromEntries(Object.keys(im[0].importBytes).map((node) => [node, median(im.map((r) => r.importBytes[node]))]));
    const result = {
      name: `host images: a ${mb(imageBytes)} image rebuilt with one changed ${mb(changedLayer)} layer, from rebuilt on the host to running on ${nodeCount} nodes (1 server pod + ${agents.length} agents): host images vs image import`,
      runs,
      subject: "host images",
      baseline: "image import",
      subjectMs,
      baselineMs,
      ratio: +(subjectMs / baselineMs).toFixed(2),
      image: { bytes: imageBytes, layers: imageLayers, changedLayerBytes: changedLayer, configBytes },
      bytes: {
        hostImages: { total: hiBytes, perNode: Math.round(hiBytes / nodeCount), blobs: median(hi.map((r) => r.registry.blobs)), manifests: median(hi.map((r) => r.registry.manifests)) },
        import: { total: imBytes, perNode: imPerNode },
        ratio: +(hiBytes / imBytes).toFixed(4),
        // What the registry sent while the import rounds ran (nothing is expected: they pull nothing).
        registryDuringImport: Math.max(...im.map((r) => r.registry.blobBytes)),
        firstHostImagesPull: first.registry.blobBytes,
      },
      phases: {
        hostImagesSaveMs: +median(hi.map((r) => r.exportMs)).toFixed(0),
        importCallMs: +median(im.map((r) => r.importMs)).toFixed(0),
      },
      samples: { hostImagesMs: hi.map((r) => +r.ms.toFixed(0)), importMs: im.map((r) => +r.ms.toFixed(0)) },
      clusterCreateMs: +createMs.toFixed(0),
    };
    const row = (label, a, b, c = "") => `  ${label.padEnd(42)}${String(a).padStart(18)}${String(b).padStart(20)}${String(c).padStart(10)}\n`;
    const perNode = Object.values(imPerNode);
    const imPerNodeText = perNode.every((b) => b === perNode[0]) ? `${mb(perNode[0])} each` : perNode.map((b) => mb(b)).join(" / ");
    const table =
      `  image: ${mb(imageBytes)} in ${imageLayers} layers; each rebuild changes the top one (${changedLayer} B, config ${configBytes} B); ${nodeCount} nodes; median of ${runs}\n` +
      row("", "host images", "image import", "ratio") +
      row("rebuilt → running on every node", `${subjectMs} ms`, `${baselineMs} ms`, result.ratio) +
      row("  of which: registry's save of the image", `${result.phases.hostImagesSaveMs} ms`, "", "") +
      row("  of which: the import call", "", `${result.phases.importCallMs} ms`, "") +
      row("bytes into the nodes, total", mb(hiBytes), mb(imBytes), result.bytes.ratio) +
      row("bytes into the nodes, per node", `${mb(result.bytes.hostImages.perNode)} avg`, imPerNodeText, "") +
      row("every run (ms)", hi.map((r) => r.ms.toFixed(0)).join(","), im.map((r) => r.ms.toFixed(0)).join(","), "") +
      `  host images sent ${result.bytes.hostImages.blobs} blobs for the rebuild (changed layer + config, once per node: ${nodeCount * (changedLayer + configBytes)} B expected); ` +
      `the first pull (not timed) sent ${mb(first.registry.blobBytes)}; during the import rounds it sent ${result.bytes.registryDuringImport} B\n`;
    // Printed by bench.mjs, left out of --json.
    Object.defineProperty(result, "table", { value: table, enumerable: false });
    return [result];
  } finally {
    const problems = [];
    try {
      await cluster?.delete();
    } catch (err) {
      problems.push(`cluster delete: ${err.message}`);
    }
    for (const id of [...builtIds].reverse()) spawnSync("docker", ["rmi", "-f", id], { stdio: "ignore" });
    spawnSync("docker", ["rmi", "-f", base], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
    if (problems.length) process.stderr.write(`bench hostimages: clean-up: ${problems.join("; ")}\n`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (flag, dflt) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : dflt);
  const results = await benchHostImages(opt("--runs", 3), { mb: opt("--mb", 200), layers: opt("--layers", 8) });
  if (args.includes("--json")) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else for (const r of results) process.stdout.write(`${r.name}\n  ${r.subjectMs} ms vs ${r.baselineMs} ms (median of ${r.runs}) → ratio ${r.ratio}\n${r.table}`);
}
