/** kind: Environment: the published schema, and every problem of a bad document with its pointer and place. */
import { readFileSync } from "node:fs";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { isK3tsError } from "../../src/errors.js";
import { K3TS_ENVIRONMENT_SCHEMA, configKind, environmentProblems, loadConfig, loadEnvironmentConfig } from "../../src/config/index.js";

const published = JSON.parse(readFileSync(new URL("../../schema/k3ts-environment.schema.json", import.meta.url), "utf8")) as object;

const VALID = `apiVersion: k3ts.io/v1alpha1
kind: Environment
metadata:
  name: shop
spec:
  cluster:
    name: dev
    servers: 1
    agents: 2
    api: 127.0.0.1:6550
    ports: ["8080:80@loadbalancer"]
    k3sArgs: ["--disable=traefik@server:*"]
    memory: { servers: 1g, agents: 536870912 }
    loadBalancer: { image: nginx:x }
    timeout: 90s
  helm:
    - name: redis
      chart: redis
      repo: https://charts.example.com
      values: [redis-values.yaml, { auth: { enabled: false } }]
      set: { replicas: 1, tls: false, mode: standalone }
      dependsOn: [namespace]
  manifests:
    - name: namespace
      sources: [ns.yaml]
    - name: app
      sources: [app/, https://example.com/app.yaml]
      wait: false
      dependsOn: [redis]
  endpoints:
    - name: web
      service: web
      port: http
      localPort: 8080
      dependsOn: [app]
`;

/** `LINE:COL POINTER` of each problem, in file order. */
function places(text: string): string[] {
  const err = (() => {
    try {
      loadEnvironmentConfig(text, { file: "env.yaml" });
    } catch (e) {
      return e;
    }
    throw new Error("expected an error");
  })();
  if (!isK3tsError(err, "INVALID_ARGUMENT")) throw err;
  return (err.meta.problems as Array<{ line: number; column: number; path: string }>).map((p) => `${p.line}:${p.column} ${p.path}`);
}

describe("kind: Environment", () => {
  it("the published schema is the one k3ts validates with, and plain ajv accepts a valid document with it", () => {
    expect(published).toEqual(K3TS_ENVIRONMENT_SCHEMA);
    const validate = new Ajv({ strict: true, allowUnionTypes: true }).compile(published);
    expect(validate(parse(VALID))).toBe(true);
  });

  it("accepts every field environment.ts reads, and an existing cluster", () => {
    expect(environmentProblems(VALID).problems).toEqual([]);
    expect(loadEnvironmentConfig(VALID).spec.cluster).toMatchObject({ name: "dev", agents: 2 });
    const existing = VALID.replace(/  cluster:\n(    .*\n)+/, "  cluster: { kubeconfig: kc.yaml, context: fake }\n");
    expect(loadEnvironmentConfig(existing).spec.cluster).toEqual({ kubeconfig: "kc.yaml", context: "fake" });
    expect(configKind(VALID)).toEqual({ apiVersion: "k3ts.io/v1alpha1", kind: "Environment" });
  });

  it("takes the sdk's k3sVersion and dataVolume cluster options (checked by the sdk past the schema)", () => {
    const text = VALID.replace("    agents: 2\n", "    agents: 0\n    k3sVersion: v1.33.4-k3s1\n    dataVolume: dev-data\n    token: s3cret\n");
    expect(loadEnvironmentConfig(text).spec.cluster).toMatchObject({ k3sVersion: "v1.33.4-k3s1", dataVolume: "dev-data", token: "s3cret" });
    expect(places(VALID.replace("    agents: 2\n", "    agents: 2\n    k3sVersion: \"\"\n    dataVolume: 3\n"))).toEqual(["10:17 /spec/cluster/k3sVersion", "11:17 /spec/cluster/dataVolume"]);
  });

  it("reports every problem at once, with line, column and JSON pointer", () => {
    const text = `apiVersion: k3ts.io/v1alpha1
kind: Environment
metadata:
  name: Shop
spec:
  cluster: { kubeconfig: kc.yaml, agents: 2 }
  helm:
    - name: a
      chart: x
      values: [3]
  manifests:
    - name: b
      sources: []
      dependsOn: [nope]
      wat: 1
    - name: a
  endpoints:
    - name: c
      service: web
      port: 0
`;
    expect(places(text)).toEqual([
      "4:9 /metadata/name",
      "6:35 /spec/cluster/agents",
      "10:16 /spec/helm/0/values/0",
      "13:16 /spec/manifests/0/sources",
      "14:19 /spec/manifests/0/dependsOn/0",
      "15:7 /spec/manifests/0/wat",
      "16:7 /spec/manifests/1/sources",
      "16:13 /spec/manifests/1/name",
      "20:13 /spec/endpoints/0/port",
    ]);
    const { problems } = environmentProblems(text);
    const message = (path: string) => problems.find((p) => p.path === path)?.message;
    expect(message("/spec/cluster/agents")).toBe("an existing cluster (kubeconfig/context) takes no cluster options");
    expect(message("/spec/manifests/0/dependsOn/0")).toBe("no helm release, manifests or endpoint is named nope");
    expect(message("/spec/manifests/1/name")).toBe("a is already the name of /spec/helm/0");
    expect(message("/spec/manifests/0/wat")).toMatch(/unknown field "wat" \(did you mean "wait"\?\)/);
  });

  it("places a cycle, a cluster without a name, and a wrong kind", () => {
    const head = "apiVersion: k3ts.io/v1alpha1\nkind: Environment\nmetadata: { name: x }\nspec:\n";
    const cycle = `${head}  cluster: { servers: 1 }\n  manifests:\n    - name: a\n      sources: [a.yaml]\n      dependsOn: [b]\n    - name: b\n      sources: [b.yaml]\n      dependsOn: [a]\n`;
    expect(environmentProblems(cycle).problems).toEqual([
      { path: "/spec/cluster/name", line: 5, column: 12, message: 'missing required field "name" (or kubeconfig/context for an existing cluster)' },
      { path: "/spec/manifests/0/dependsOn", line: 9, column: 18, message: "dependsOn has a cycle among a, b" },
    ]);
    expect(() => loadEnvironmentConfig("apiVersion: k3ts.io/v1alpha1\nkind: Cluster\n", { file: "k3ts.yaml" })).toThrow(
      'k3ts.yaml:2:7: /kind: want Environment, got "Cluster" (a Cluster file is for k3ts cluster create --config)',
    );
    expect(() => loadEnvironmentConfig("spec: [\n", { file: "k3ts.yaml" })).toThrow(/k3ts\.yaml:\d+:\d+: .*YAML syntax/);
  });

  it("loadConfig points an Environment file at the right command", () => {
    expect(() => loadConfig("apiVersion: k3ts.io/v1alpha1\nkind: Environment\n", { file: "k3ts.yaml" })).toThrow(/want Cluster\); an Environment file is for k3ts up -f/);
  });
});
