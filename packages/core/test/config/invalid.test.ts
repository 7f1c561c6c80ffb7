/** Bad files: one INVALID_ARGUMENT error carrying every problem, each with its path and line. */
import { describe, expect, it } from "vitest";
import { isK3tsError } from "../../src/errors.js";
import { loadConfig, type ConfigProblem } from "../../src/config/index.js";

function problems(text: string, env: Record<string, string> = {}): ConfigProblem[] {
  try {
    loadConfig(text, { file: "bad.yaml", env });
  } catch (err) {
    if (!isK3tsError(err, "INVALID_ARGUMENT")) throw err;
    return err.meta.problems as ConfigProblem[];
  }
  throw new Error("expected the file to be rejected");
}

const K3D = "apiVersion: k3d.io/v1alpha5\nkind: Simple\n";
const K3TS = "apiVersion: k3ts.io/v1alpha1\nkind: Cluster\n";

// [name, text, path, line, message pattern]
const CASES: Array<[string, string, string, number, RegExp]> = [
  ["servers is a string", `${K3D}servers: three\n`, "/servers", 3, /want a whole number, got string "three"/],
  ["negative servers (k3d)", `${K3D}servers: -1\n`, "/servers", 3, /must be at least 1/],
  ["zero servers (k3ts)", `${K3TS}spec:\n  servers: 0\n`, "/spec/servers", 4, /must be at least 1/],
  ["fractional agents", `${K3D}agents: 1.5\n`, "/agents", 3, /want a whole number/],
  ["unknown top-level field", `${K3D}serverz: 1\n`, "/serverz", 3, /unknown field "serverz" \(did you mean "servers"\?\)/],
  ["unknown nested field (k3ts)", `${K3TS}spec:\n  loadBalancer:\n    enabeld: true\n`, "/spec/loadBalancer/enabeld", 5, /unknown field "enabeld" \(did you mean "enabled"\?\)/],
  ["unknown field under options.runtime (k3d's schema would let it through)", `${K3D}options:\n  runtime:\n    gpus: all\n`, "/options/runtime/gpus", 5, /unknown field "gpus"/],
  ["bad node group in a nodeFilters list", `${K3D}agents: 1\nports:\n  - port: 8080:80\n    nodeFilters:\n      - agnet:0\n`, "/ports/0/nodeFilters/0", 7, /unknown node group "agnet" \(want server, agent, loadbalancer or all\)/],
  ["node filter index out of range", `${K3D}agents: 1\nenv:\n  - envVar: A=b\n    nodeFilters: [agent:3]\n`, "/env/0/nodeFilters/0", 6, /there is no agent 3/],
  ["loadbalancer filter with the load balancer disabled", `${K3D}volumes:\n  - volume: /a:/b\n    nodeFilters: [loadbalancer]\noptions:\n  k3d:\n    disableLoadbalancer: true\n`, "/volumes/0/nodeFilters/0", 5, /no load balancer/],
  ["env without filters on a multi-node cluster", `${K3D}servers: 2\nenv:\n  - envVar: A=b\n`, "/env/0/envVar", 5, /needs nodeFilters: k3d requires one/],
  ["k3s arg without filters (default cluster: server + load balancer)", `${K3D}options:\n  k3s:\n    extraArgs:\n      - arg: --disable=traefik\n`, "/options/k3s/extraArgs/0/arg", 6, /needs nodeFilters/],
  ["k3ts node label without filters on two nodes", `${K3TS}spec:\n  agents: 1\n  nodeLabels:\n    - value: a=b\n`, "/spec/nodeLabels/0/value", 6, /needs nodeFilters: the cluster has 2 k3s nodes/],
  ["bad port", `${K3D}ports:\n  - port: 8080:99999\n    nodeFilters: [loadbalancer]\n`, "/ports/0/port", 4, /container port "99999".*is not a port/],
  ["port with a suffix it does not know", `${K3D}ports:\n  - port: 8080:80\n    nodeFilters: [server:0:sideways]\n`, "/ports/0/nodeFilters/0", 5, /unknown suffix "sideways"/],
  ["bad duration", `${K3D}options:\n  k3d:\n    timeout: 60 seconds\n`, "/options/k3d/timeout", 5, /not a duration/],
  ["duration without unit (k3ts)", `${K3TS}spec:\n  timeout: "60"\n`, "/spec/timeout", 4, /has no unit/],
  ["duration as a number", `${K3D}options:\n  k3d:\n    timeout: 60\n`, "/options/k3d/timeout", 5, /want a string, got number 60/],
  ["bad apiVersion", "apiVersion: k3d.io/v1beta9\nkind: Simple\n", "/apiVersion", 1, /unsupported apiVersion "k3d.io\/v1beta9" \(want k3ts.io\/v1alpha1 \(kind Cluster\) or k3d.io\/v1alpha5/],
  ["bad kind for k3d", "apiVersion: k3d.io/v1alpha5\nkind: Cluster\n", "/kind", 2, /unsupported kind "Cluster" for k3d.io\/v1alpha5 \(want Simple\)/],
  ["bad kind for k3ts", "apiVersion: k3ts.io/v1alpha1\nkind: Simple\n", "/kind", 2, /want Cluster/],
  ["YAML syntax error: an unclosed flow list (found where it ends)", `${K3D}servers: [1, 2\nagents: 1\n`, "/agents", 4, /YAML syntax: Flow sequence/],
  ["YAML syntax error: an unclosed quote", `${K3TS}spec:\n  servers: 1\n  token: "abc\n`, "/spec/token", 6, /YAML syntax/],
  ["duplicate keys", `${K3D}servers: 1\nagents: 1\nservers: 2\n`, "/servers", 5, /duplicate key "servers" \(first at line 3\)/],
  ["duplicate nested keys", `${K3TS}spec:\n  api:\n    hostIP: 127.0.0.1\n    hostIP: 0.0.0.0\n`, "/spec/api/hostIP", 6, /duplicate key/],
  ["kubeAPI.hostIP not an IPv4", `${K3D}kubeAPI:\n  hostIP: localhost\n`, "/kubeAPI/hostIP", 4, /not a valid ipv4 address/],
  ["kubeAPI.hostPort as a number", `${K3D}kubeAPI:\n  hostPort: 6445\n`, "/kubeAPI/hostPort", 4, /want a string, got number 6445 \(quote it/],
  ["kubeAPI.hostPort not a port", `${K3D}kubeAPI:\n  hostPort: "70000"\n`, "/kubeAPI/hostPort", 4, /is not a port/],
  ["bad cluster name", `${K3D}metadata:\n  name: My_Cluster\n`, "/metadata/name", 4, /hostname|not valid/],
  ["relative volume source", `${K3D}volumes:\n  - volume: ./data:/data\n    nodeFilters: [all]\n`, "/volumes/0/volume", 4, /neither an absolute host path nor a volume name/],
  ["bad memory size", `${K3D}options:\n  runtime:\n    serversMemory: lots\n`, "/options/runtime/serversMemory", 5, /not a memory size/],
  ["bad host alias", `${K3TS}spec:\n  hostAliases:\n    - ip: 10.0.0.300\n      hostnames: [db]\n`, "/spec/hostAliases/0", 5, /not an IPv4 address/],
  ["reserved runtime label", `${K3D}options:\n  runtime:\n    labels:\n      - label: k3d.cluster=x\n        nodeFilters: [all]\n`, "/options/runtime/labels/0/label", 6, /reserved/],
  ["unknown ulimit", `${K3D}options:\n  runtime:\n    ulimits:\n      - name: files\n        soft: 1\n        hard: 2\n`, "/options/runtime/ulimits/0/name", 6, /unknown ulimit "files"/],
  ["missing required value in a filtered list", `${K3D}env:\n  - nodeFilters: [all]\n`, "/env/0/envVar", 4, /missing required field "envVar"/],
  ["v1alpha2 label with a bad filter, placed in the file as written", "apiVersion: k3d.io/v1alpha2\nkind: Simple\nlabels:\n  - label: a=b\n    nodeFilters:\n      - server[7]\n", "/labels/0/nodeFilters/0", 6, /there is no server 7/],
  ["v1alpha3 field in v1alpha5 (top-level name)", `${K3D}name: test\n`, "/name", 3, /unknown field "name"/],
  ["files in v1alpha4", "apiVersion: k3d.io/v1alpha4\nkind: Simple\nfiles: []\n", "/files", 3, /unknown field "files"/],
  ["the host network", `${K3D}network: host\n`, "/network", 3, /host network is not supported/],
  ["unset ${VAR} in a k3ts file", `${K3TS}spec:\n  token: \${NOPE}\n`, "/spec/token", 4, /environment variable NOPE is not set/],
  ["a list where a mapping belongs", `${K3TS}spec: [1]\n`, "/spec", 3, /want a mapping, got a list/],
  ["an empty file", "", "", 1, /the file is empty/],
];

describe("invalid config files", () => {
  it.each(CASES)("%s", (_name, text, path, line, message) => {
    const found = problems(text);
    const match = found.find((p) => p.path === path);
    expect(match, JSON.stringify(found)).toBeDefined();
    expect(match!.line).toBe(line);
    expect(match!.column).toBeGreaterThan(0);
    expect(match!.message).toMatch(message);
  });

  it("has at least 25 cases", () => expect(CASES.length).toBeGreaterThanOrEqual(25));

  it("reports every problem at once, sorted by line, in meta and in the message as FILE:LINE:COL: path: message", () => {
    const text = `${K3D}servers: -1\nagents: x\nports:\n  - port: 80:80\n    nodeFilters: [agnet:0]\nbogus: true\n`;
    let error: unknown;
    try {
      loadConfig(text, { file: "k3d.yaml" });
    } catch (err) {
      error = err;
    }
    expect(isK3tsError(error, "INVALID_ARGUMENT")).toBe(true);
    const err = error as Error & { meta: { problems: ConfigProblem[]; file: string } };
    expect(err.meta.file).toBe("k3d.yaml");
    expect(err.meta.problems.map((p) => [p.path, p.line])).toEqual([
      ["/servers", 3],
      ["/agents", 4],
      ["/ports/0/nodeFilters/0", 7],
      ["/bogus", 8],
    ]);
    expect(err.message.split("\n")).toEqual([
      "k3d.yaml is not a valid cluster config (4 problems):",
      "  k3d.yaml:3:10: /servers: must be at least 1, got number -1",
      "  k3d.yaml:4:9: /agents: want a whole number, got string \"x\"",
      '  k3d.yaml:7:19: /ports/0/nodeFilters/0: unknown node group "agnet" (want server, agent, loadbalancer or all) (node filters look like server[:SUBSET], agent[:SUBSET], loadbalancer or all, where SUBSET is *, an index (0), a list (1,3,5) or a range (2-4, -2, 1-))',
      expect.stringMatching(/^ {2}k3d\.yaml:8:1: \/bogus: unknown field "bogus"; want one of apiVersion, kind, metadata/),
    ]);
  });
});
