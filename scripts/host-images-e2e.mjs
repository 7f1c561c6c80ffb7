// What the host-images e2e suites (the SDK's and the CLI's) share: an image built on the engine in layers
// (the test busybox, a layer that stays, a layer of a version and fresh random bytes), and a run of an
// image on a stand-in agent (its agents run no pods: the CRI's pull, then a container in its containerd).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export const UNCHANGED_BYTES = 8 * 1024 * 1024;
export const CHANGED_BYTES = 1024 * 1024;

/** Writes the build directory: FROM `base`, a layer of UNCHANGED_BYTES random bytes that the rebuilds keep. */
export function prepareBuild(dir, base) {
  writeFileSync(join(dir, "Dockerfile"), `FROM ${base}\nCOPY big /big\nCOPY app version /app/\n`);
  writeFileSync(join(dir, "big"), randomBytes(UNCHANGED_BYTES));
}

/** Builds `tag` from `dir` with `version` and CHANGED_BYTES of fresh random bytes in its last layer; its image id. */
export function build(engine, dir, tag, version) {
  writeFileSync(join(dir, "version"), `${version}\n`);
  writeFileSync(join(dir, "app"), randomBytes(CHANGED_BYTES));
  // DOCKER_BUILDKIT=0: the classic builder, which takes the local FROM image as it is (no registry here).
  execFileSync(engine, ["build", "-q", "-t", tag, dir], { env: { ...process.env, DOCKER_BUILDKIT: "0" }, stdio: ["ignore", "ignore", "pipe"] });
  return execFileSync(engine, ["image", "inspect", "--format", "{{.Id}}", tag], { encoding: "utf8" }).trim();
}

/** `crictl pull IMAGE` in the node, then `cat /app/version` in a container of it in the node's containerd: what it printed. */
export async function runInAgent(runtime, node, image, round) {
  const pull = await runtime.nodes.exec(node, ["crictl", "pull", image]);
  if (pull.exitCode !== 0) throw new Error(`crictl pull ${image} in ${node}: ${pull.stdout}${pull.stderr}`);
  const run = await runtime.nodes.exec(node, ["ctr", "run", "--rm", "--net-host", "--no-pivot", `docker.io/${image}`, `hostimg-${round}`, "sh", "-c", "cat /app/version"]);
  if (run.exitCode !== 0) throw new Error(`ctr run ${image} in ${node}: ${run.stdout}${run.stderr}`);
  return run.stdout.toString().trim();
}
