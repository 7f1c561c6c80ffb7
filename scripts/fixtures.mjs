#!/usr/bin/env node
// Builds the local test images in every engine on this machine, from root filesystems made on the
// host (no registry is reachable here): `docker import` / `podman import` of a tar stream.
//
//   k3ts-test/busybox:1       busybox-static with its applets linked: what the conformance suite runs
//   k3ts-test/node:1          busybox + the host's node binary and its libraries: pods that run node
//   k3ts-test/k3s-standin:2   the k3s STAND-IN (test double, fixtures/k3s-standin): busybox + the host's
//                             node binary and its libraries + dist/k3s.js + Debian's containerd, runc, ctr,
//                             etcd and etcdctl (the real parts); ENTRYPOINT /bin/k3s, CMD agent
//   k3ts-test/nginx:1         Debian's nginx (nginx-light + libnginx-mod-stream) + busybox, for k3ts'
//                             load balancer; k3ts writes /etc/nginx/nginx.conf itself
//   k3ts-test/registry:2      Debian's docker-registry (the CNCF distribution registry 2.8, the program the
//                             registry:2 image runs) laid out as registry:2 is: /bin/registry, its
//                             config.yml, /entrypoint.sh, data in /var/lib/registry, port 5000
//
// Usage: pnpm fixtures [--engine docker|podman] [--image busybox|node|k3s-standin|nginx|registry] [--quiet]
import { spawnSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, mkdirSync, symlinkSync, copyFileSync, readFileSync, writeFileSync, rmSync, chmodSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const only = args.includes("--engine") ? args[args.indexOf("--engine") + 1] : undefined;
const quiet = args.includes("--quiet");
/** Builds one image only (`--image k3s-standin`: its name without k3ts-test/ and tag). */
const onlyImage = args.includes("--image") ? args[args.indexOf("--image") + 1] : undefined;
const log = (m) => quiet || process.stderr.write(`${m}\n`);

export const IMAGES = { busybox: "k3ts-test/busybox:1", node: "k3ts-test/node:1", k3sStandin: "k3ts-test/k3s-standin:2", nginx: "k3ts-test/nginx:1", registry: "k3ts-test/registry:2" };

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The version the stand-in reports (and the tag real k3s would have). */
const STANDIN_K3S_VERSION = "v1.33.5+k3s1";

function busyboxRoot(prefix = "k3ts-busybox-") {
  const bb = ["/bin/busybox", "/usr/bin/busybox"].find(existsSync);
  if (!bb) throw new Error("busybox is missing: apt-get install busybox-static");
  const check = spawnSync("file", ["-L", bb], { encoding: "utf8" });
  if (check.status === 0 && !/statically linked|static-pie/.test(check.stdout)) {
    throw new Error(`${bb} is not statically linked: apt-get install busybox-static`);
  }
  const root = mkdtempSync(join(tmpdir(), prefix));
  for (const d of ["bin", "etc", "tmp", "root", "proc", "sys", "dev", "var/run", "www"]) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
  copyFileSync(bb, join(root, "bin/busybox"));
  const applets = spawnSync(bb, ["--list"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
  for (const a of applets) if (a !== "busybox") symlinkSync("busybox", join(root, "bin", a));
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  return root;
}

/** Copies a dynamically linked binary to the same path in `root`, with every library ldd lists. */
function copyWithLibs(root, binary, dest = binary) {
  const ldd = spawnSync("ldd", [binary], { encoding: "utf8" });
  if (ldd.status !== 0) throw new Error(`ldd ${binary} failed: ${ldd.stderr}`);
  const libs = [];
  for (const line of ldd.stdout.split("\n")) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  for (const [from, to] of [[binary, dest], ...libs.map((l) => [l, l])]) {
    mkdirSync(join(root, dirname(to)), { recursive: true });
    copyFileSync(realpathSync(from), join(root, to));
    chmodSync(join(root, to), 0o755);
  }
}

/** busybox + the host's node. */
function nodeRoot() {
  const root = busyboxRoot("k3ts-node-");
  copyWithLibs(root, hostNode(), "/usr/local/bin/node");
  return root;
}

function hostNode() {
  const which = spawnSync("sh", ["-c", "command -v node"], { encoding: "utf8" }).stdout.trim();
  if (!which) throw new Error("node is not on PATH");
  return realpathSync(which);
}

/** busybox + node + the bundled stand-in (built here first). */
function k3sStandinRoot() {
  const build = spawnSync(process.execPath, [join(repo, "fixtures/k3s-standin/build.mjs")], { stdio: ["ignore", "inherit", "inherit"] });
  if (build.status !== 0) throw new Error("building fixtures/k3s-standin failed");
  const root = busyboxRoot("k3ts-k3s-standin-");
  copyWithLibs(root, hostNode(), "/usr/local/bin/node");
  mkdirSync(join(root, "usr/lib/k3s-standin"), { recursive: true });
  copyFileSync(join(repo, "fixtures/k3s-standin/dist/k3s.js"), join(root, "usr/lib/k3s-standin/k3s.js"));
  copyFileSync(join(repo, "fixtures/k3s-standin/dist/pod-dns.js"), join(root, "usr/lib/k3s-standin/pod-dns.js"));
  copyFileSync(join(repo, "fixtures/k3s-standin/dist/runc.js"), join(root, "usr/lib/k3s-standin/runc.js"));
  // First on containerd's PATH (src/containerd.ts): `runc create` through the stand-in's bridge for a node that is not
  // privileged (src/runc-wrapper.ts), every other runc command straight to Debian's runc.
  mkdirSync(join(root, "usr/libexec/k3s-standin/runc-bin"), { recursive: true });
  writeFileSync(
    join(root, "usr/libexec/k3s-standin/runc-bin/runc"),
    '#!/bin/sh\n# k3s STAND-IN (test double): NOT part of k3s.\nfor a; do [ "$a" = create ] && exec /usr/local/bin/node /usr/lib/k3s-standin/runc.js "$@"; done\nexec /bin/runc "$@"\n',
    { mode: 0o755 },
  );
  writeFileSync(
    join(root, "bin/k3s"),
    "#!/bin/sh\n# k3s STAND-IN (test double) for k3ts tests: NOT k3s (see fixtures/k3s-standin/README.md).\nexec /usr/local/bin/node /usr/lib/k3s-standin/k3s.js \"$@\"\n",
    { mode: 0o755 },
  );
  // The real containerd, its runc shim and runc (Debian's, as docker.io installs them), as k3s ships
  // them beside itself; ctr is Debian's, run with k3s' defaults (k3s' /bin/ctr is its multicall
  // binary: address /run/k3s/containerd/containerd.sock, namespace k8s.io, the environment winning).
  // etcd: the datastore of k3s' HA mode (Debian's 3.4; k3s embeds 3.5); etcdctl for tests to look at it.
  for (const [from, to] of [
    ["/usr/bin/containerd", "/bin/containerd"],
    ["/usr/bin/containerd-shim-runc-v2", "/bin/containerd-shim-runc-v2"],
    ["/usr/sbin/runc", "/bin/runc"],
    ["/usr/bin/ctr", "/usr/libexec/k3s-standin/ctr"],
    ["/usr/bin/etcd", "/bin/etcd"],
    ["/usr/bin/etcdctl", "/usr/local/bin/etcdctl"],
  ]) {
    if (!existsSync(from)) throw new Error(`${from} is missing: apt-get install containerd runc etcd-server etcd-client`);
    copyWithLibs(root, from, to);
  }
  writeFileSync(
    join(root, "bin/ctr"),
    '#!/bin/sh\n# k3s STAND-IN (test double): `k3s ctr`, the real ctr with k3s\' defaults.\nexport CONTAINERD_ADDRESS="${CONTAINERD_ADDRESS:-/run/k3s/containerd/containerd.sock}" CONTAINERD_NAMESPACE="${CONTAINERD_NAMESPACE:-k8s.io}"\nexec /usr/libexec/k3s-standin/ctr "$@"\n',
    { mode: 0o755 },
  );
  writeFileSync(join(root, "bin/crictl"), '#!/bin/sh\n# k3s STAND-IN (test double): `k3s crictl`.\nexec /bin/k3s crictl "$@"\n', { mode: 0o755 });
  writeFileSync(
    join(root, "etc/os-release"),
    `NAME="K3s stand-in (test double)"\nID=k3s-standin\nVERSION_ID="${STANDIN_K3S_VERSION}"\nPRETTY_NAME="K3s stand-in (test double) ${STANDIN_K3S_VERSION}"\n`,
  );
  systemImages(join(root, "usr/share/k3s-standin/images"));
  for (const d of ["var/lib/rancher/k3s", "var/lib/kubelet", "var/lib/cni", "var/log", "etc/rancher/k3s", "etc/rancher/node", "output", "run", "bin/aux"]) mkdirSync(join(root, d), { recursive: true });
  return root;
}

/**
 * The stand-in's system images as an air-gapped k3s has them: a `docker save` archive of the klipper-helm
 * image its helm-controller's Jobs name (helm.ts' KLIPPER_IMAGE; the stand-in runs that image's work in
 * process, so the image holds only a marker file), for the node's platform.
 */
function systemImages(dir) {
  const source = readFileSync(join(repo, "fixtures/k3s-standin/src/helm.ts"), "utf8");
  const klipper = /export const KLIPPER_IMAGE = "([^"]+)"/.exec(source)?.[1];
  if (!klipper) throw new Error("fixtures/k3s-standin/src/helm.ts: KLIPPER_IMAGE not found");
  const work = mkdtempSync(join(tmpdir(), "k3ts-system-images-"));
  try {
    const layerRoot = join(work, "layer");
    mkdirSync(join(layerRoot, "usr/share/klipper-helm"), { recursive: true });
    writeFileSync(join(layerRoot, "usr/share/klipper-helm/STANDIN"), "The klipper-helm image of the k3s stand-in (test double): its work runs in the stand-in's process.\n");
    const layerTar = join(work, "layer.tar");
    tarInto(layerTar, layerRoot);
    const layer = readFileSync(layerTar);
    const diffId = createHash("sha256").update(layer).digest("hex");
    const arch = { x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x" }[process.arch] ?? process.arch;
    const config = JSON.stringify({ architecture: arch, os: "linux", config: { Entrypoint: ["entry"], Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] }, rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] } });
    const configId = createHash("sha256").update(config).digest("hex");
    const archive = join(work, "archive");
    mkdirSync(join(archive, diffId), { recursive: true });
    writeFileSync(join(archive, diffId, "layer.tar"), layer);
    writeFileSync(join(archive, `${configId}.json`), config);
    writeFileSync(join(archive, "manifest.json"), JSON.stringify([{ Config: `${configId}.json`, RepoTags: [klipper], Layers: [`${diffId}/layer.tar`] }]));
    mkdirSync(dir, { recursive: true });
    tarInto(join(dir, "k3s-standin-system-images.tar"), archive);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function tarInto(file, dir) {
  const r = spawnSync("tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-C", dir, "-cf", file, "."], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tar of ${dir} failed: ${r.stderr}`);
}

/** Debian's nginx with the stream module, its libraries, and busybox. */
function nginxRoot() {
  for (const f of ["/usr/sbin/nginx", "/usr/lib/nginx/modules/ngx_stream_module.so", "/etc/nginx/mime.types"]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: apt-get install nginx-light libnginx-mod-stream`);
  }
  const root = busyboxRoot("k3ts-nginx-");
  copyWithLibs(root, "/usr/sbin/nginx");
  copyWithLibs(root, "/usr/lib/nginx/modules/ngx_stream_module.so");
  for (const d of ["etc/nginx/modules-enabled", "etc/nginx/conf.d", "var/log/nginx", "var/lib/nginx", "run/lock", "usr/share/nginx/html"]) mkdirSync(join(root, d), { recursive: true });
  symlinkSync("/run/lock", join(root, "var/lock"));
  symlinkSync("/usr/lib/nginx/modules", join(root, "usr/share/nginx/modules"));
  copyFileSync("/etc/nginx/mime.types", join(root, "etc/nginx/mime.types"));
  writeFileSync(join(root, "etc/nginx/modules-enabled/50-mod-stream.conf"), "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n");
  // A placeholder: k3ts writes its own nginx.conf before starting the load balancer.
  writeFileSync(
    join(root, "etc/nginx/nginx.conf"),
    "include /etc/nginx/modules-enabled/*.conf;\nworker_processes auto;\nerror_log stderr notice;\nevents { worker_connections 1024; }\nstream {}\n",
  );
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n");
  return root;
}

/** The distribution registry as the registry:2 image packs it (docker-library/docker-registry). */
const REGISTRY_CONFIG = `version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;

function registryRoot() {
  if (!existsSync("/usr/bin/docker-registry")) throw new Error("/usr/bin/docker-registry is missing: apt-get install docker-registry");
  const root = busyboxRoot("k3ts-registry-");
  copyWithLibs(root, "/usr/bin/docker-registry", "/bin/registry");
  mkdirSync(join(root, "etc/docker/registry"), { recursive: true });
  mkdirSync(join(root, "var/lib/registry"), { recursive: true });
  writeFileSync(join(root, "etc/docker/registry/config.yml"), REGISTRY_CONFIG);
  const ca = "/etc/ssl/certs/ca-certificates.crt";
  if (existsSync(ca)) {
    mkdirSync(join(root, "etc/ssl/certs"), { recursive: true });
    copyFileSync(ca, join(root, "etc/ssl/certs/ca-certificates.crt"));
  }
  writeFileSync(
    join(root, "entrypoint.sh"),
    '#!/bin/sh\nset -e\ncase "$1" in\n  *.yaml|*.yml) set -- registry serve "$@" ;;\n  serve|garbage-collect|help|-*) set -- registry "$@" ;;\nesac\nexec "$@"\n',
    { mode: 0o755 },
  );
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
    imp.stdin.on("error", () => {}); // the engine's own error (stderr) is what gets reported
    tar.stdout.pipe(imp.stdin);
    imp.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${engine} import ${image} failed: ${err}`))));
  });
}

const builds = [
  { image: IMAGES.busybox, root: busyboxRoot, changes: ['CMD ["/bin/sh"]', "ENV PATH=/bin"] },
  { image: IMAGES.node, root: nodeRoot, changes: ['CMD ["node"]', "ENV PATH=/usr/local/bin:/bin"] },
  {
    image: IMAGES.k3sStandin,
    root: k3sStandinRoot,
    changes: [
      'ENTRYPOINT ["/bin/k3s"]',
      'CMD ["agent"]',
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/bin/aux",
      "ENV CRI_CONFIG_FILE=/var/lib/rancher/k3s/agent/etc/crictl.yaml",
      'VOLUME ["/var/lib/kubelet", "/var/lib/rancher/k3s", "/var/lib/cni", "/var/log"]',
    ],
  },
  {
    image: IMAGES.nginx,
    root: nginxRoot,
    changes: ['CMD ["nginx", "-g", "daemon off;"]', "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  },
  {
    image: IMAGES.registry,
    root: registryRoot,
    changes: [
      'ENTRYPOINT ["/entrypoint.sh"]',
      'CMD ["/etc/docker/registry/config.yml"]',
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "EXPOSE 5000",
      'VOLUME ["/var/lib/registry"]',
    ],
  },
];

if (onlyImage && !builds.some((b) => b.image.startsWith(`k3ts-test/${onlyImage}:`))) {
  throw new Error(`--image ${onlyImage}: not one of ${builds.map((b) => b.image.split("/")[1].split(":")[0]).join(", ")}`);
}
const found = engines();
for (const { image, root: makeRoot, changes } of builds.filter((b) => !onlyImage || b.image.startsWith(`k3ts-test/${onlyImage}:`))) {
  const root = makeRoot();
  try {
    for (const engine of found) {
      await importRoot(engine, root, image, changes);
      log(`${engine}: ${image}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
process.stdout.write(`${Object.values(IMAGES).join("\n")}\n`);
