import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { LABELS, type Runtime } from "@k3ts/core";
import { ENGINES, LB_IMAGE, cleanupDir, clearName, createArgs, k3ts, hostsEntry, kubectl, leftovers, resolveInPod, runtimeFor, type Engine } from "./helpers.js";

/** The registry image: Debian's distribution registry packed as registry:2 is (no registry to pull from here). */
const REGISTRY_IMAGE = process.env.K3TS_E2E_REGISTRY_IMAGE ?? "k3ts-test/registry:2";
const SOURCE_IMAGE = "k3ts-test/busybox:1";

interface RegistryJson {
  name: string;
  state: string;
  hostIP: string;
  hostPort: number;
  port: number;
  networks: string[];
  clusters: string[];
  proxyRemoteURL?: string;
}

/** Pushes the test image from the host to a registry published on 127.0.0.1:PORT. */
async function push(engine: Engine, hostPort: number, repo: string, source = SOURCE_IMAGE): Promise<void> {
  const target = `127.0.0.1:${hostPort}/${repo}`;
  await execa(engine, ["tag", source, target]);
  try {
    // Docker trusts plain HTTP on 127.0.0.0/8 by default; Podman is told.
    await execa(engine, ["push", ...(engine === "podman" ? ["--tls-verify=false"] : []), target]);
  } finally {
    await execa(engine, ["rmi", target], { reject: false });
  }
}

/**
 * Overwrites bytes in the middle of an image's first layer in the registry's storage (same size), so
 * the registry serves content that no longer matches its digest: containerd must refuse it.
 */
async function tamperFirstLayer(runtime: Runtime, registry: string, hostPort: number, repo: string, tag: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${hostPort}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" },
  });
  expect(res.status).toBe(200);
  const digest = ((await res.json()) as { layers: Array<{ digest: string }> }).layers[0]!.digest;
  const hex = digest.slice("sha256:".length);
  const data = `/var/lib/registry/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
  const r = await runtime.nodes.exec(registry, ["sh", "-c", `printf 'k3ts-tampered' | dd of=${data} bs=1 seek=1000 conv=notrunc 2>&1`]);
  expect(r.exitCode, r.stdout.toString()).toBe(0);
  return digest;
}

/** createArgs with its --image / --lb-image replaced. */
function withImages(args: string[], image?: string, lbImage?: string): string[] {
  const out = [...args];
  if (image) out[out.indexOf("--image") + 1] = image;
  if (lbImage) out[out.indexOf("--lb-image") + 1] = lbImage;
  return out;
}

async function catalog(hostPort: number): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${hostPort}/v2/_catalog`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { repositories: string[] }).repositories;
}

/** `crictl pull` inside a node: containerd's CRI path, through registries.yaml's mirrors. */
async function pullInNode(runtime: Runtime, node: string, ref: string): Promise<{ exitCode: number; out: string }> {
  const r = await runtime.nodes.exec(node, ["crictl", "pull", ref]);
  return { exitCode: r.exitCode, out: `${r.stdout.toString()}${r.stderr.toString()}` };
}

/**
 * A pull that should work, retried for up to 60 s as the kubelet retries image pulls: Podman 4.3's
 * aardvark-dns has been seen not answering for a new container's name for a while under CI's churn.
 */
async function pullInNodeEventually(runtime: Runtime, node: string, ref: string): Promise<{ exitCode: number; out: string }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await pullInNode(runtime, node, ref);
    if (r.exitCode === 0 || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 2000));
  }
}

async function registryJson(engine: Engine, name: string): Promise<RegistryJson> {
  const r = await k3ts(engine, ["registry", "list", name, "-o", "json"]);
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as RegistryJson[])[0]!;
}

async function removeRegistries(runtime: Runtime, names: string[]): Promise<void> {
  for (const n of names) {
    await runtime.nodes.delete(n, { force: true }).catch(() => {});
    await runtime.networks.delete(n).catch(() => {});
  }
}

// End to end, per engine: registries on the real engine, the k3s stand-in's registries.yaml handling
// and crictl pull (see fixtures/k3s-standin), the distribution registry in k3ts-test/registry:2.
for (const engine of ENGINES) {
  const runtime = await runtimeFor(engine);
  const suite = runtime ? describe : describe.skip;
  const s = engine[0];

  suite(`registries on ${engine}`, () => {
    it("--registry-create: reachable from the host on its port and from the nodes by name; advertised in LocalRegistryHosting; deleted with the cluster", async () => {
      const name = await clearName(runtime!, `e2e${s}-reg`);
      const reg = `e2e${s}-creg`;
      await removeRegistries(runtime!, [reg]);
      const dir = mkdtempSync(join(tmpdir(), "k3ts-e2e-reg-"));
      const env = { KUBECONFIG: join(dir, "config"), K3TS_REGISTRY_IMAGE: REGISTRY_IMAGE };
      const userConfig = join(dir, "registries.yaml");
      writeFileSync(userConfig, "mirrors:\n  mirror.example.test:\n    endpoint:\n      - https://mirror.example.test:8443\n");
      try {
        const created = await k3ts(engine, createArgs(name, ["--agents", "1", "--registry-create", reg, "--registry-config", userConfig, "--host-alias", "10.11.12.13:db.example.test,cache.example.test"]), env);
        expect(created.exitCode, created.stderr).toBe(0);
        expect(created.stderr).toMatch(new RegExp(`Creating registry ${reg} on localhost:\\d+`));

        // Pods resolve through CoreDNS (never the node's /etc/hosts): host.k3ts.internal, the host
        // aliases, the registry and the load balancer by name come from NodeHosts, the nodes from k3s.
        const net = await runtime!.networks.inspect(`k3ts-${name}`);
        const ipOf = (member: string) => net.members.find((m) => m.name === member)?.ipv4;
        const seen = await resolveInPod(engine, name, env.KUBECONFIG, ["host.k3ts.internal", "db.example.test", "cache.example.test", reg, `k3ts-${name}-serverlb`, `k3ts-${name}-agent-0`], env);
        expect(seen).toEqual({
          // The gateway on rootful Linux; the engine's host-gateway address in a VM or rootless.
          "host.k3ts.internal": await hostsEntry(runtime!, `k3ts-${name}-server-0`, "host.k3ts.internal"),
          "db.example.test": "10.11.12.13",
          "cache.example.test": "10.11.12.13",
          [reg]: ipOf(reg),
          [`k3ts-${name}-serverlb`]: ipOf(`k3ts-${name}-serverlb`),
          [`k3ts-${name}-agent-0`]: ipOf(`k3ts-${name}-agent-0`),
        });

        const r = await registryJson(engine, reg);
        expect(r).toMatchObject({ name: reg, state: "running", hostIP: "127.0.0.1", port: 5000, clusters: [name] });
        expect(r.networks).toContain(`k3ts-${name}`);

        // From the host, on its published port.
        await push(engine, r.hostPort, "e2e/busybox:1");
        expect(await catalog(r.hostPort)).toContain("e2e/busybox");

        // Every k3s node has registries.yaml: the registry's mirrors and the user's entry.
        for (const node of [`k3ts-${name}-server-0`, `k3ts-${name}-agent-0`]) {
          const file = parse((await runtime!.nodes.readFile(node, "/etc/rancher/k3s/registries.yaml")).toString()) as { mirrors: Record<string, { endpoint: string[] }> };
          expect(file.mirrors[`${reg}:5000`]!.endpoint).toEqual([`http://${reg}:5000`]);
          expect(file.mirrors[`localhost:${r.hostPort}`]!.endpoint).toEqual([`http://${reg}:5000`]);
          expect(file.mirrors["mirror.example.test"]!.endpoint).toEqual(["https://mirror.example.test:8443"]);
        }
        // From the nodes, by name; and the reference pushed from the host works unchanged in the cluster.
        const byName = await pullInNodeEventually(runtime!, `k3ts-${name}-agent-0`, `${reg}:5000/e2e/busybox:1`);
        expect(byName.exitCode, byName.out).toBe(0);
        expect(byName.out).toMatch(/Image is up to date for sha256:[0-9a-f]{64}/);
        const asPushed = await pullInNodeEventually(runtime!, `k3ts-${name}-server-0`, `localhost:${r.hostPort}/e2e/busybox:1`);
        expect(asPushed.exitCode, asPushed.out).toBe(0);
        // A pod names the image as it was pushed from the host: the kubelet pulls it through registries.yaml and runs it.
        await kubectl(env.KUBECONFIG, ["delete", "pod", "from-registry", "--ignore-not-found"]);
        const ran = await kubectl(env.KUBECONFIG, ["run", "from-registry", `--image=localhost:${r.hostPort}/e2e/busybox:1`, "--restart=Never", "--command", "--", "sh", "-c", "echo pulled-and-ran"]);
        expect(ran.exitCode, ran.stderr).toBe(0);
        const succeeded = await kubectl(env.KUBECONFIG, ["wait", "pod/from-registry", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=90s"]);
        expect(succeeded.exitCode, `${succeeded.stderr}${(await kubectl(env.KUBECONFIG, ["get", "pod", "from-registry", "-o", "jsonpath={.status.containerStatuses[0].state}"])).stdout}`).toBe(0);
        expect((await kubectl(env.KUBECONFIG, ["logs", "from-registry"])).stdout.trim()).toBe("pulled-and-ran");
        const missing = await pullInNode(runtime!, `k3ts-${name}-server-0`, `${reg}:5000/e2e/nothing:1`);
        expect(missing.exitCode).toBe(1);
        // containerd verifies every blob against its digest: a layer altered in the registry is refused.
        await push(engine, r.hostPort, "e2e/tampered:1", LB_IMAGE);
        const layer = await tamperFirstLayer(runtime!, reg, r.hostPort, "e2e/tampered", "1");
        const tampered = await pullInNode(runtime!, `k3ts-${name}-agent-0`, `${reg}:5000/e2e/tampered:1`);
        expect(tampered.exitCode, tampered.out).toBe(1);
        expect(tampered.out).toContain(`expected ${layer}`);
        expect(tampered.out).toMatch(/unexpected commit digest sha256:[0-9a-f]{64}/);

        // LocalRegistryHosting (KEP-1755), read back with kubectl.
        const cm = await kubectl(env.KUBECONFIG, ["get", "configmap", "local-registry-hosting", "-n", "kube-public", "-o", "jsonpath={.data.localRegistryHosting\\.v1}"]);
        expect(cm.exitCode, cm.stderr).toBe(0);
        const hosting = parse(cm.stdout) as Record<string, string>;
        expect(hosting.host).toBe(`localhost:${r.hostPort}`);
        expect(hosting.hostFromContainerRuntime).toBe(`${reg}:5000`);
        expect(hosting.hostFromClusterNetwork).toBe(`${reg}:5000`);

        const deleted = await k3ts(engine, ["cluster", "delete", name], env);
        expect(deleted.exitCode, deleted.stderr).toBe(0);
        expect(await leftovers(runtime!, name)).toEqual([]);
        expect(await runtime!.nodes.list({ labels: { [LABELS.registryOwner]: name } })).toEqual([]);
      } finally {
        await k3ts(engine, ["cluster", "delete", name], env);
        await removeRegistries(runtime!, [reg]);
        cleanupDir(dir);
      }
    }, 300_000);

    it("registry create + connect adds a registry (and a pull-through cache of it) to a running cluster; delete keeps a used registry until it is deleted itself", async () => {
      const name = await clearName(runtime!, `e2e${s}-conn`);
      const reg = `k3ts-e2e${s}-sreg`;
      const cache = `k3ts-e2e${s}-cache`;
      await removeRegistries(runtime!, [cache, reg]);
      const dir = mkdtempSync(join(tmpdir(), "k3ts-e2e-reg-"));
      const env = { KUBECONFIG: join(dir, "config"), K3TS_REGISTRY_IMAGE: REGISTRY_IMAGE };
      try {
        const made = await k3ts(engine, ["registry", "create", `e2e${s}-sreg`, "-o", "json"], env);
        expect(made.exitCode, made.stderr).toBe(0);
        const r = JSON.parse(made.stdout) as RegistryJson;
        expect(r.name).toBe(reg);
        expect(r.clusters).toEqual([]);
        await push(engine, r.hostPort, "e2e/busybox:1");

        // An image the engine lacks is pulled before anything is made; one that cannot be pulled fails
        // first and leaves nothing. (Docker trusts plain HTTP on 127.0.0.1; Podman would need registries.conf.)
        const unpullable = await k3ts(engine, withImages(createArgs(name), `127.0.0.1:${r.hostPort}/e2e/no-such-k3s:1`), env);
        expect(unpullable.exitCode).toBe(1);
        expect(unpullable.stderr).toMatch(/✗ Pulling image 127\.0\.0\.1:\d+\/e2e\/no-such-k3s:1/);
        expect(unpullable.stderr).toContain("IMAGE_PULL_FAILED");
        expect(await leftovers(runtime!, name)).toEqual([]);
        let lbImage: string | undefined;
        if (engine === "docker") {
          await push(engine, r.hostPort, "e2e/lb:1", LB_IMAGE);
          lbImage = `127.0.0.1:${r.hostPort}/e2e/lb:1`;
        }
        const created = await k3ts(engine, withImages(createArgs(name, ["--agents", "1"]), undefined, lbImage), env);
        expect(created.exitCode, created.stderr).toBe(0);
        if (engine === "docker") expect(created.stderr).toMatch(/✓ Pulling image 127\.0\.0\.1:\d+\/e2e\/lb:1/);
        // Not connected yet: the node cannot resolve the name.
        expect((await pullInNode(runtime!, `k3ts-${name}-agent-0`, `${reg}:5000/e2e/busybox:1`)).exitCode).toBe(1);

        const connected = await k3ts(engine, ["registry", "connect", `e2e${s}-sreg`, name, "-o", "json"], env);
        expect(connected.exitCode, connected.stderr).toBe(0);
        expect(JSON.parse(connected.stdout)).toMatchObject({ registry: reg, cluster: name, changed: true, restarted: true, advertised: true });
        expect(connected.stderr).toMatch(new RegExp(`Restarting k3ts-${name}-server-0`));
        const viaConnect = await pullInNodeEventually(runtime!, `k3ts-${name}-agent-0`, `${reg}:5000/e2e/busybox:1`);
        expect(viaConnect.exitCode, viaConnect.out).toBe(0);
        expect((await registryJson(engine, reg)).clusters).toEqual([name]);
        // Pods resolve it by name too (connect added it to CoreDNS's NodeHosts).
        const clusterNet = await runtime!.networks.inspect(`k3ts-${name}`);
        expect(await resolveInPod(engine, name, env.KUBECONFIG, [reg], env)).toEqual({ [reg]: clusterNet.members.find((m) => m.name === reg)?.ipv4 });
        // connect waited for every node to be Ready again (the product's own readiness): no polling here.
        const nodes = await kubectl(env.KUBECONFIG, ["get", "nodes", "--no-headers"]);
        expect((nodes.stdout.match(/ Ready /g) ?? []).length, nodes.stdout + nodes.stderr).toBe(2);

        // A pull-through cache of that registry (registry:2 proxy mode), created straight into the cluster.
        // It lives on the remote's network: on Podman (CNI + dnsname) a container on several networks
        // resolves the names of whichever network's DNS its resolv.conf lists first, picked anew at each
        // start, so only a network both share makes `reg` resolvable from every start.
        const noNetwork = await k3ts(engine, ["registry", "create", `e2e${s}-cache`, "--default-network", "k3ts-e2e-no-such-network"], env);
        expect(noNetwork.exitCode).toBe(2); // a usage error
        expect(noNetwork.stderr).toContain("--default-network: network k3ts-e2e-no-such-network does not exist");
        await expect(runtime!.nodes.inspect(cache)).rejects.toMatchObject({ code: "NODE_NOT_FOUND" });
        // With credentials for the remote (it asks for none, so they are only carried): the password goes into a 0600 config
        // file in the container, never into its environment (inspect) or, for Podman, onto a command line.
        const PASSWORD = "e2e-proxy-s3cret";
        const proxied = await k3ts(engine, ["registry", "create", `e2e${s}-cache`, "--proxy-remote-url", `http://${reg}:5000`, "--proxy-username", "e2e", "--default-network", reg, "--cluster", name, "-o", "json", "--verbose"], { ...env, K3TS_REGISTRY_PROXY_PASSWORD: PASSWORD });
        expect(proxied.exitCode, proxied.stderr).toBe(0);
        expect(proxied.stderr).not.toContain(PASSWORD);
        const inspected = await execa(engine, ["inspect", cache], { reject: false });
        expect(inspected.stdout).toContain("REGISTRY_PROXY_USERNAME=e2e");
        expect(inspected.stdout).not.toContain(PASSWORD);
        const secretFile = await runtime!.nodes.exec(cache, ["sh", "-c", "stat -c %a /etc/docker/registry/k3ts-config.yml && cat /etc/docker/registry/k3ts-config.yml"]);
        expect(secretFile.stdout.toString()).toMatch(/^600\n/);
        expect(secretFile.stdout.toString()).toContain(PASSWORD);
        expect(JSON.parse(proxied.stdout)).toMatchObject({ name: cache, proxyRemoteURL: `http://${reg}:5000`, clusters: [name], networks: expect.arrayContaining([reg, `k3ts-${name}`]) });
        const viaCache = await pullInNodeEventually(runtime!, `k3ts-${name}-server-0`, `${cache}:5000/e2e/busybox:1`);
        expect(viaCache.exitCode, viaCache.out).toBe(0);
        expect(await catalog((await registryJson(engine, cache)).hostPort)).toContain("e2e/busybox");

        // Deleting the cluster disconnects registries it did not create; they stay.
        expect((await k3ts(engine, ["cluster", "delete", name], env)).exitCode).toBe(0);
        expect(await leftovers(runtime!, name)).toEqual([]);
        const after = await registryJson(engine, reg);
        expect(after.state).toBe("running");
        expect(after.clusters).toEqual([]);
        expect(after.networks).not.toContain(`k3ts-${name}`);

        // The cache first: the remote's network goes with the remote only once nothing else is on it.
        const gone = await k3ts(engine, ["registry", "delete", cache, `e2e${s}-sreg`], env);
        expect(gone.exitCode, gone.stderr).toBe(0);
        expect(await runtime!.nodes.list({ labels: { [LABELS.role]: "registry" } }).then((ns) => ns.filter((n) => n.name === reg || n.name === cache))).toEqual([]);
        await expect(runtime!.networks.inspect(reg)).rejects.toMatchObject({ code: "NETWORK_NOT_FOUND" });
        const unknown = await k3ts(engine, ["registry", "delete", "no-such-registry"], env);
        expect(unknown.exitCode).toBe(1);
        expect(unknown.stderr).toMatch(/registry no-such-registry does not exist/);
      } finally {
        await k3ts(engine, ["cluster", "delete", name], env);
        await removeRegistries(runtime!, [cache, reg]);
        for (const img of (await execa(engine, ["images", "--format", "{{.Repository}}:{{.Tag}}"])).stdout.split("\n")) {
          if (/^(localhost\/)?127\.0\.0\.1:\d+\/e2e\//.test(img)) await execa(engine, ["rmi", img], { reject: false });
        }
        cleanupDir(dir);
      }
    }, 420_000);
  });
}
