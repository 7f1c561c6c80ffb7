import { describe, expect, it } from "vitest";
import {
  isHostname,
  isIPv4,
  parseApiPort,
  parseDuration,
  parseHostAlias,
  parseKeyValue,
  parseMemory,
  parsePortSpec,
  parseVolumeSpec,
  validateClusterName,
} from "../../src/cluster/parse.ts";
import { expectInvalid } from "./helpers.ts";

describe("isIPv4 / isHostname", () => {
  it.each(["0.0.0.0", "127.0.0.1", "255.255.255.255", "10.0.0.5"])("IPv4 %s", (ip) => expect(isIPv4(ip)).toBe(true));
  it.each(["256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "a.b.c.d", "", "1.2.3.4 "])("not IPv4 %j", (ip) => expect(isIPv4(ip)).toBe(false));
  it.each(["localhost", "my-host.example.com", "a", "host.k3ts.internal", "x1.y2."])("hostname %s", (h) => expect(isHostname(h)).toBe(true));
  it.each(["", "-a", "a-", "a_b", "a..b", "a b", "a".repeat(64), `${"a".repeat(60)}.`.repeat(5)])("not hostname %j", (h) =>
    expect(isHostname(h)).toBe(false),
  );
});

describe("parsePortSpec", () => {
  it.each([
    ["80", { containerPort: 80, protocol: "tcp" }],
    ["8080:80", { hostPort: 8080, containerPort: 80, protocol: "tcp" }],
    ["127.0.0.1:8080:80/udp", { hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80, protocol: "udp" }],
    ["0.0.0.0:443:443/tcp", { hostIP: "0.0.0.0", hostPort: 443, containerPort: 443, protocol: "tcp" }],
    ["127.0.0.1::80", { hostIP: "127.0.0.1", containerPort: 80, protocol: "tcp" }],
    ["53/UDP", { containerPort: 53, protocol: "udp" }],
    ["1:65535", { hostPort: 1, containerPort: 65535, protocol: "tcp" }],
    [" 8080:80 ", { hostPort: 8080, containerPort: 80, protocol: "tcp" }],
  ])("%j", (text, want) => {
    expect(parsePortSpec(text, "--port")).toEqual(want);
  });

  it.each([
    ["", "empty port mapping"],
    ["0", 'container port "0"'],
    ["65536", 'container port "65536"'],
    ["80:0", 'container port "0"'],
    ["0:80", 'host port "0"'],
    ["http", 'container port "http"'],
    ["-1", 'container port "-1"'],
    ["8080:", "has no container port"],
    ["80/sctp", 'protocol "sctp"'],
    ["80/", 'protocol ""'],
    ["127.0.0.1:80", "gives a host address but no host port"],
    ["localhost:8080:80", 'host address "localhost"'],
    ["300.0.0.1:8080:80", 'host address "300.0.0.1"'],
    ["1.2.3.4:8080:80:90", 'too many ":" parts'],
    ["[::1]:8080:80", 'too many ":" parts'],
    ["8000-8010:80", 'host port "8000-8010"'],
    ["8080:80.5", 'container port "80.5"'],
    ["8080 :80", 'host port "8080 "'],
  ])("rejects %j", (text, message) => {
    const err = expectInvalid(() => parsePortSpec(text, "ports[2].port"), "ports[2].port", message);
    expect(err.meta).toEqual({ where: "ports[2].port", value: text });
    if (text.trim() !== "") expect(err.message).toContain(JSON.stringify(text.trim()));
  });

  it("hints that ranges are not supported", () => {
    const err = expectInvalid(() => parsePortSpec("8000-8010:80", "--port"), "--port", "8000-8010");
    expect(err.hint).toContain("ranges are not supported");
  });
});

describe("parseApiPort", () => {
  it.each([
    ["6443", { hostIP: "127.0.0.1", hostPort: 6443 }],
    ["random", { hostIP: "127.0.0.1" }],
    ["127.0.0.1:6443", { hostIP: "127.0.0.1", hostPort: 6443 }],
    ["0.0.0.0:6443", { hostIP: "0.0.0.0", hostPort: 6443 }],
    ["10.1.2.3:random", { hostIP: "10.1.2.3" }],
    ["myhost.local:6443", { host: "myhost.local", hostIP: "127.0.0.1", hostPort: 6443 }],
    ["localhost:random", { host: "localhost", hostIP: "127.0.0.1" }],
  ])("%j", (text, want) => {
    expect(parseApiPort(text, "--api-port")).toEqual(want);
  });

  it.each([
    ["", "empty API endpoint"],
    ["0", 'port "0"'],
    ["70000", 'port "70000"'],
    ["myhost", '"myhost" is not a port'],
    ["myhost:", "has no port"],
    [":6443", 'host "" in'],
    ["my_host:6443", 'host "my_host"'],
    ["1.2.3.256:6443", 'host "1.2.3.256"'],
    ["a:b:6443", 'too many ":" parts'],
    ["host:rand", 'port "rand"'],
  ])("rejects %j", (text, message) => {
    const err = expectInvalid(() => parseApiPort(text, "kubeAPI"), "kubeAPI", message);
    expect(err.meta).toEqual({ where: "kubeAPI", value: text });
  });
});

describe("parseVolumeSpec", () => {
  it.each([
    ["/data", { target: "/data", readOnly: false }],
    ["/data:ro", { target: "/data", readOnly: true }],
    ["/host/dir:/data", { source: "/host/dir", target: "/data", readOnly: false }],
    ["/host/dir:/data:ro", { source: "/host/dir", target: "/data", readOnly: true }],
    ["/host/dir:/data:rw", { source: "/host/dir", target: "/data", readOnly: false }],
    ["myvol:/data", { source: "myvol", target: "/data", readOnly: false }],
    ["my_vol.1-x:/data:ro", { source: "my_vol.1-x", target: "/data", readOnly: true }],
    ["/tmp/m:k3s-manifests", { source: "/tmp/m", target: "/var/lib/rancher/k3s/server/manifests", readOnly: false }],
    ["k3s-storage", { target: "/var/lib/rancher/k3s/storage", readOnly: false }],
  ])("%j", (text, want) => {
    expect(parseVolumeSpec(text, "--volume")).toEqual(want);
  });

  it.each([
    ["", "empty volume"],
    ["data", 'destination "data" in "data" is not an absolute path'],
    ["/a:data", 'destination "data"'],
    ["./data:/data", 'source "./data"'],
    ["data/sub:/data", 'source "data/sub"'],
    ["../x:/data", 'source "../x"'],
    [".:/data", 'source "."'],
    ["~/x:/data", 'source "~/x"'],
    ["_vol:/data", 'source "_vol"'],
    ["/a:/b:rx", 'mode "rx"'],
    ["/a:/b:z", 'mode "z"'],
    ["/a:/b:ro:rw", 'too many ":" parts'],
    [":/data", "has an empty part"],
    ["/a::ro", "has an empty part"],
    ["/a:/", "cannot be the root directory"],
  ])("rejects %j", (text, message) => {
    const err = expectInvalid(() => parseVolumeSpec(text, "volumes[0].volume"), "volumes[0].volume", message);
    expect(err.meta).toEqual({ where: "volumes[0].volume", value: text });
  });

  it("hints at an absolute path for a relative source", () => {
    expect(expectInvalid(() => parseVolumeSpec("./data:/data", "-v"), "-v", "./data").hint).toContain("$PWD/data");
    expect(expectInvalid(() => parseVolumeSpec("~/data:/data", "-v"), "-v", "~/data").hint).toContain("~ was not expanded");
  });
});

describe("parseKeyValue", () => {
  it.each([
    ["KEY=VALUE", {}, { key: "KEY", value: "VALUE" }],
    ["KEY=", {}, { key: "KEY", value: "" }],
    ["KEY", {}, { key: "KEY", value: "" }],
    ["KEY=a=b,c", {}, { key: "KEY", value: "a=b,c" }],
    ["KEY= spaced value ", {}, { key: "KEY", value: " spaced value " }],
    ["example.com/role=db", { requireValue: true }, { key: "example.com/role", value: "db" }],
    ["KEY=", { requireValue: true }, { key: "KEY", value: "" }],
  ])("%j %j", (text, opts, want) => {
    expect(parseKeyValue(text, "--env", opts)).toEqual(want);
  });

  it.each([
    ["", {}, "has no key"],
    ["=value", {}, '"=value" has no key'],
    ["MY KEY=1", {}, 'key "MY KEY"'],
    ["KEY", { requireValue: true }, '"KEY" has no value (want KEY=VALUE)'],
  ])("rejects %j %j", (text, opts, message) => {
    const err = expectInvalid(() => parseKeyValue(text, "--runtime-label", opts), "--runtime-label", message);
    expect(err.meta).toEqual({ where: "--runtime-label", value: text });
  });
});

describe("parseHostAlias", () => {
  it.each([
    ["10.0.0.5:db.local", { ip: "10.0.0.5", hostnames: ["db.local"] }],
    ["10.0.0.5:db.local,cache,x-1.example.com", { ip: "10.0.0.5", hostnames: ["db.local", "cache", "x-1.example.com"] }],
  ])("%j", (text, want) => {
    expect(parseHostAlias(text, "--host-alias")).toEqual(want);
  });

  it.each([
    ["10.0.0.5", "exactly one"],
    ["10.0.0.5:a:b", "exactly one"],
    ["::1:host", "exactly one"],
    ["host:10.0.0.5", '"host" in "host:10.0.0.5" is not an IPv4 address'],
    ["10.0.0.5:", "empty hostname"],
    ["10.0.0.5:a,,b", "empty hostname"],
    ["10.0.0.5:bad_host", '"bad_host" in'],
    ["10.0.0.5:-x", '"-x" in'],
  ])("rejects %j", (text, message) => {
    const err = expectInvalid(() => parseHostAlias(text, "hostAliases[1]"), "hostAliases[1]", message);
    expect(err.meta).toEqual({ where: "hostAliases[1]", value: text });
  });
});

describe("parseMemory", () => {
  it.each([
    ["512m", 512 * 1024 ** 2],
    ["1g", 1073741824], // k3d test_memory_limits.sh
    ["1.5g", 1610612736],
    ["1024k", 1048576],
    ["1048576", 1048576],
    ["100b", 100],
    ["1G", 1073741824],
    ["1GiB", 1073741824],
    ["512mb", 512 * 1024 ** 2],
    ["2 g", 2 * 1024 ** 3],
    ["1t", 1024 ** 4],
  ])("%j → %d", (text, bytes) => {
    expect(parseMemory(text, "--servers-memory")).toBe(bytes);
  });

  it.each([
    ["", "is not a memory size"],
    ["g", "is not a memory size"],
    ["1x", "is not a memory size"],
    ["-1g", "is not a memory size"],
    ["1.g", "is not a memory size"],
    ["1ib", "is not a memory size"],
    ["1 gb extra", "is not a memory size"],
    ["0", "is not more than 0 bytes"],
    ["0.0001k", "is not more than 0 bytes"],
    ["99999999p", "is too large"],
  ])("rejects %j", (text, message) => {
    const err = expectInvalid(() => parseMemory(text, "--agents-memory"), "--agents-memory", message);
    expect(err.message).toContain(JSON.stringify(text));
    expect(err.meta).toEqual({ where: "--agents-memory", value: text });
  });
});

describe("parseDuration", () => {
  it.each([
    ["0", 0],
    ["90s", 90_000],
    ["2m", 120_000],
    ["1h30m", 5_400_000],
    ["500ms", 500],
    ["1.5h", 5_400_000],
    ["1m30.5s", 90_500],
    ["1h2m3s4ms", 3_723_004],
    ["0s", 0],
    ["1500us", 2], // sub-millisecond remainders round up
    ["1ns", 1],
    [".5s", 500],
  ])("%j → %d ms", (text, ms) => {
    expect(parseDuration(text, "--timeout")).toBe(ms);
  });

  it.each([
    ["", "is not a duration"],
    ["60", "has no unit"],
    ["1.5", "has no unit"],
    ["-5s", "is negative"],
    ["5 s", "is not a duration"],
    ["5sec", "is not a duration"],
    ["1d", "is not a duration"],
    ["s", "is not a duration"],
    ["1h 30m", "is not a duration"],
  ])("rejects %j", (text, message) => {
    const err = expectInvalid(() => parseDuration(text, "options.k3d.timeout"), "options.k3d.timeout", message);
    expect(err.message).toContain(JSON.stringify(text));
    expect(err.meta).toEqual({ where: "options.k3d.timeout", value: text });
  });
});

describe("validateClusterName", () => {
  it.each(["k3s-default", "a", "dev1", "a".repeat(32), "1-2-3"])("%j", (name) => {
    expect(validateClusterName(name, "--name")).toBe(name);
  });

  it.each([
    ["", "cluster name is empty"],
    ["a".repeat(33), "is 33 characters long"],
    ["My-Cluster", 'cluster name "My-Cluster" is not valid'],
    ["-dev", 'cluster name "-dev"'],
    ["dev-", 'cluster name "dev-"'],
    ["dev_1", 'cluster name "dev_1"'],
    ["dev.1", 'cluster name "dev.1"'],
    ["dev 1", 'cluster name "dev 1"'],
  ])("rejects %j", (name, message) => {
    const err = expectInvalid(() => validateClusterName(name, "metadata.name"), "metadata.name", message);
    expect(err.meta).toEqual({ where: "metadata.name", value: name });
  });

  it("suggests the lowercase name", () => {
    expect(expectInvalid(() => validateClusterName("Dev", "--name"), "--name", "Dev").hint).toBe('try "dev"');
  });
});
