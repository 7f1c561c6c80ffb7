import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  localRegistryHostingConfigMap,
  mirrorKeyForRemote,
  parseRegistriesConfig,
  parseRegistryCreate,
  registryContainerName,
  registryEnv,
  registrySecretConfig,
  registryMirrors,
  renderRegistriesYaml,
  updateRegistriesYaml,
  type RegistrySpec,
} from "../../src/registry/config.js";
import { isK3tsError } from "../../src/errors.js";

function fails(fn: () => unknown, where: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isK3tsError(err, "INVALID_ARGUMENT")).toBe(true);
    expect((err as Error).message).toMatch(where);
    return;
  }
  throw new Error("expected INVALID_ARGUMENT");
}

describe("--registry-create NAME[:HOST][:HOSTPORT]", () => {
  it.each([
    ["reg", { name: "reg" }],
    ["registry.localhost", { name: "registry.localhost" }],
    ["reg:5050", { name: "reg", hostPort: 5050 }],
    ["reg:random", { name: "reg" }],
    ["reg:0.0.0.0", { name: "reg", hostIP: "0.0.0.0" }],
    ["reg:0.0.0.0:5050", { name: "reg", hostIP: "0.0.0.0", hostPort: 5050 }],
    ["reg:127.0.0.1:random", { name: "reg", hostIP: "127.0.0.1" }],
  ])("%s", (text, expected) => {
    expect(parseRegistryCreate(text, "--registry-create")).toEqual(expected);
  });

  it.each([
    ["", /--registry-create: "" is not a valid registry name/],
    ["-reg", /not a valid registry name/],
    ["re g", /not a valid registry name/],
    // '_' is a valid container name but not the domain of an image reference (my_reg:5000/app:1 does not parse).
    ["my_reg", /"my_reg" is not a valid registry name .*'_' is not allowed/],
    ["reg.", /not a valid registry name/],
    ["reg:70000", /port "70000" must be a number from 1 to 65535/],
    ["reg:0.0.0.0:0", /port "0"/],
    ["reg:a:b:c", /expected NAME\[:HOST\]\[:HOSTPORT\]/],
    ["reg:bad_host!", /neither a host address nor a port/],
  ])("rejects %j, naming the flag", (text, message) => {
    fails(() => parseRegistryCreate(text, "--registry-create"), message);
  });
});

describe("names", () => {
  it("standalone registries get the k3ts- prefix once", () => {
    expect(registryContainerName("dev")).toBe("k3ts-dev");
    expect(registryContainerName("k3ts-dev")).toBe("k3ts-dev");
  });
  it("Docker Hub's hosts are docker.io as a mirror key; others are their host:port", () => {
    expect(mirrorKeyForRemote("https://registry-1.docker.io")).toBe("docker.io");
    expect(mirrorKeyForRemote("https://index.docker.io/v1/")).toBe("docker.io");
    expect(mirrorKeyForRemote("https://ghcr.io")).toBe("ghcr.io");
    expect(mirrorKeyForRemote("http://upstream:5000")).toBe("upstream:5000");
    fails(() => mirrorKeyForRemote("not a url", "--proxy-remote-url"), /--proxy-remote-url: "not a url" is not a URL/);
  });
  it("a remote URL with credentials in it is refused without echoing them (labels are not secret)", () => {
    for (const url of ["https://me:hunter2@registry.example.com", "https://token@registry.example.com"]) {
      let message = "";
      try {
        mirrorKeyForRemote(url, "--proxy-remote-url");
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^--proxy-remote-url: the URL carries credentials/);
      expect(message).not.toContain("hunter2");
      expect(message).not.toContain("token@");
    }
  });
});

describe("registries.yaml", () => {
  const reg = { name: "k3ts-dev", port: 5000, hostPort: 5111, hostIP: "127.0.0.1" };

  it("mirrors NAME:PORT, NAME:HOSTPORT, localhost:HOSTPORT and 127.0.0.1:HOSTPORT to http://NAME:PORT", () => {
    expect(registryMirrors(reg)).toEqual({
      "k3ts-dev:5000": { endpoint: ["http://k3ts-dev:5000"] },
      "k3ts-dev:5111": { endpoint: ["http://k3ts-dev:5000"] },
      "localhost:5111": { endpoint: ["http://k3ts-dev:5000"] },
      "127.0.0.1:5111": { endpoint: ["http://k3ts-dev:5000"] },
    });
  });

  it("a pull-through cache also mirrors its remote", () => {
    const m = registryMirrors({ name: "k3ts-hub", port: 5000, proxyRemoteURL: "https://registry-1.docker.io" });
    expect(Object.keys(m).sort()).toEqual(["docker.io", "k3ts-hub:5000"]);
    expect(m["docker.io"]).toEqual({ endpoint: ["http://k3ts-hub:5000"] });
  });

  it("the user's file wins for the same host and keeps its configs", () => {
    const user = parseRegistriesConfig(
      "mirrors:\n  k3ts-dev:5000:\n    endpoint: [https://elsewhere:443]\n  docker.io:\n    endpoint: [https://mirror.example]\nconfigs:\n  mirror.example:\n    auth: {username: u, password: p}\n",
      "user.yaml",
    );
    const doc = parse(renderRegistriesYaml([reg], user)!) as { mirrors: Record<string, { endpoint: string[] }>; configs: unknown };
    expect(doc.mirrors["k3ts-dev:5000"]!.endpoint).toEqual(["https://elsewhere:443"]);
    expect(doc.mirrors["k3ts-dev:5111"]!.endpoint).toEqual(["http://k3ts-dev:5000"]);
    expect(doc.mirrors["docker.io"]!.endpoint).toEqual(["https://mirror.example"]);
    expect(doc.configs).toEqual({ "mirror.example": { auth: { username: "u", password: "p" } } });
  });

  it("host images go first for the keys they mirror, ahead of k3ts's registries and the user's mirrors, whose entries stay whole", () => {
    const user = parseRegistriesConfig(
      "mirrors:\n  docker.io:\n    endpoint: [https://mirror.example]\n    rewrite: {'^lib/(.*)': 'library/$1'}\n  quay.io:\n    endpoint: [https://quay.mirror]\nconfigs:\n  mirror.example:\n    auth: {username: u, password: p}\n",
      "user.yaml",
    );
    const hub = { name: "k3ts-hub", port: 5000, proxyRemoteURL: "https://registry-1.docker.io" };
    const hostImages = { endpoint: "http://172.18.0.1:40123", keys: ["docker.io", "localhost", "ghcr.io", "*"] };
    const doc = parse(renderRegistriesYaml([reg, hub], user, hostImages)!) as { mirrors: Record<string, { endpoint: string[]; rewrite?: unknown }>; configs: unknown };
    // The user's docker.io entry (which replaced the pull-through cache's, as before) keeps its endpoint and rewrite, after the host images.
    expect(doc.mirrors["docker.io"]).toEqual({ endpoint: ["http://172.18.0.1:40123", "https://mirror.example"], rewrite: { "^lib/(.*)": "library/$1" } });
    expect(doc.mirrors.localhost).toEqual({ endpoint: ["http://172.18.0.1:40123"] });
    expect(doc.mirrors["ghcr.io"]).toEqual({ endpoint: ["http://172.18.0.1:40123"] });
    expect(doc.mirrors["*"]).toEqual({ endpoint: ["http://172.18.0.1:40123"] });
    // Keys the host images do not mirror are as they were.
    expect(doc.mirrors["quay.io"]).toEqual({ endpoint: ["https://quay.mirror"] });
    expect(doc.mirrors["k3ts-dev:5000"]).toEqual({ endpoint: ["http://k3ts-dev:5000"] });
    expect(doc.configs).toEqual({ "mirror.example": { auth: { username: "u", password: "p" } } });
    // Order of keys in the file: k3ts's registries, the user's, then the host images' new ones.
    expect(Object.keys(doc.mirrors).slice(-3)).toEqual(["localhost", "ghcr.io", "*"]);
  });

  it("host images alone: a file with their mirrors only; an endpoint listed already is moved to the front, not repeated", () => {
    const doc = parse(renderRegistriesYaml([], undefined, { endpoint: "http://10.89.0.1:5000", keys: ["docker.io", "localhost"] })!) as unknown;
    expect(doc).toEqual({ mirrors: { "docker.io": { endpoint: ["http://10.89.0.1:5000"] }, localhost: { endpoint: ["http://10.89.0.1:5000"] } } });
    const user = parseRegistriesConfig("mirrors:\n  docker.io:\n    endpoint: [https://a.example, http://10.89.0.1:5000]\n", "u");
    const again = parse(renderRegistriesYaml([], user, { endpoint: "http://10.89.0.1:5000", keys: ["docker.io"] })!) as { mirrors: Record<string, { endpoint: string[] }> };
    expect(again.mirrors["docker.io"]!.endpoint).toEqual(["http://10.89.0.1:5000", "https://a.example"]);
    // A user's key with no settings (`docker.io:` and nothing) takes the host images.
    const empty = parse(renderRegistriesYaml([], parseRegistriesConfig("mirrors:\n  docker.io:\n", "u"), { endpoint: "http://10.89.0.1:5000", keys: ["docker.io"] })!) as unknown;
    expect(empty).toEqual({ mirrors: { "docker.io": { endpoint: ["http://10.89.0.1:5000"] } } });
  });

  it("nothing to say → no file", () => {
    expect(renderRegistriesYaml([], undefined)).toBeUndefined();
    expect(renderRegistriesYaml([], {})).toBeUndefined();
  });

  it("connect adds a registry's mirrors and keeps the rest; disconnect removes only its own", () => {
    const before = renderRegistriesYaml([], parseRegistriesConfig("mirrors:\n  docker.io:\n    endpoint: [https://mirror.example]\n", "u"));
    const added = updateRegistriesYaml(before, reg, "add");
    const doc = parse(added) as { mirrors: Record<string, unknown> };
    expect(Object.keys(doc.mirrors).sort()).toEqual(["127.0.0.1:5111", "docker.io", "k3ts-dev:5000", "k3ts-dev:5111", "localhost:5111"]);
    expect(updateRegistriesYaml(added, reg, "add")).toBe(added);
    const removed = parse(updateRegistriesYaml(added, reg, "remove")) as { mirrors: Record<string, unknown> };
    expect(Object.keys(removed.mirrors)).toEqual(["docker.io"]);
    // A user's own entry for the same host is not the registry's: it stays on remove.
    const userOwned = updateRegistriesYaml("mirrors:\n  k3ts-dev:5000:\n    endpoint: [https://elsewhere]\n", reg, "remove");
    expect((parse(userOwned) as { mirrors: Record<string, unknown> }).mirrors).toEqual({ "k3ts-dev:5000": { endpoint: ["https://elsewhere"] } });
    expect(parse(updateRegistriesYaml(undefined, reg, "remove"))).toEqual({});
  });

  it.each([
    ["mirrors: [a, b]", /u.yaml: mirrors must be a mapping/],
    ["mirror:\n  docker.io: {}", /u.yaml: unknown key "mirror"/],
    ["mirrors:\n  docker.io:\n    endpoint: https://x", /mirrors.docker.io.endpoint must be a list of URLs/],
    ["mirrors: {a: [}", /u.yaml: not valid YAML/],
    ["- a", /a registries.yaml is a mapping/],
  ])("rejects %j with the file name", (text, message) => {
    fails(() => parseRegistriesConfig(text, "u.yaml"), message);
  });
});

describe("LocalRegistryHosting (KEP-1755)", () => {
  it("host is what the host pushes to; the in-cluster names are NAME:PORT", () => {
    const cm = localRegistryHostingConfigMap({ name: "k3ts-dev", port: 5000, hostPort: 5111, hostIP: "0.0.0.0" });
    expect(cm.metadata).toEqual({ name: "local-registry-hosting", namespace: "kube-public" });
    const v1 = parse(cm.data["localRegistryHosting.v1"]!) as Record<string, string>;
    expect(v1.host).toBe("localhost:5111");
    expect(v1.hostFromContainerRuntime).toBe("k3ts-dev:5000");
    expect(v1.hostFromClusterNetwork).toBe("k3ts-dev:5000");
    expect(v1.help).toMatch(/^https:\/\//);
  });
  it("a registry published on a specific address is advertised there", () => {
    const v1 = parse(localRegistryHostingConfigMap({ name: "r", port: 5000, hostPort: 1, hostIP: "192.168.1.5" }).data["localRegistryHosting.v1"]!) as Record<string, string>;
    expect(v1.host).toBe("192.168.1.5:1");
  });
});

describe("registry:2 environment", () => {
  const base: RegistrySpec = { name: "r", image: "registry:2", hostIP: "127.0.0.1", volumes: [], enforcePortMatch: false, deleteEnabled: false };
  it("plain registry: nothing to override", () => expect(registryEnv(base, 5111)).toEqual({}));
  it("port match, delete, proxy with credentials", () => {
    expect(registryEnv({ ...base, enforcePortMatch: true, deleteEnabled: true, proxy: { remoteURL: "https://registry-1.docker.io", username: "u", password: "p" } }, 5111)).toEqual({
      REGISTRY_HTTP_ADDR: ":5111",
      REGISTRY_STORAGE_DELETE_ENABLED: "true",
      REGISTRY_PROXY_REMOTEURL: "https://registry-1.docker.io",
      REGISTRY_PROXY_USERNAME: "u",
    });
  });
  it("the proxy password is never in the environment: it goes into registry:2's config, read back as given", () => {
    const password = `yes: #'"\\ ${"x".repeat(3)}`;
    const spec = { ...base, proxy: { remoteURL: "https://registry-1.docker.io", username: "u", password } };
    expect(JSON.stringify(registryEnv(spec, 5111))).not.toContain("yes: #");
    const config = parse(registrySecretConfig(spec)!) as { proxy: Record<string, string>; storage: { filesystem: { rootdirectory: string } }; http: { addr: string } };
    expect(config.proxy).toEqual({ remoteurl: "https://registry-1.docker.io", username: "u", password });
    expect(config.storage.filesystem.rootdirectory).toBe("/var/lib/registry");
    expect(config.http.addr).toBe(":5000");
    expect(registrySecretConfig({ ...spec, proxy: { remoteURL: "https://registry-1.docker.io" } })).toBeUndefined();
  });
});
