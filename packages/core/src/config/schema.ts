/**
 * JSON Schemas (draft-07), built here as data: k3ts's own format (published as
 * schema/k3ts-config.schema.json, generated from K3TS_CONFIG_SCHEMA by scripts/schemas.mjs, checked in lint), and k3ts's reading of
 * k3d's Simple config versions v1alpha2–v1alpha5. The k3d schemas follow k3d's
 * pkg/config/<version>/schema.json field for field, with three deliberate differences: counts are
 * integers (k3d says "number" and then fails to unmarshal 1.5), the value of every filtered list item
 * is required, and unknown fields are rejected everywhere (k3d's schema lets them through under
 * `options.runtime`, `registries` and `hostAliases[]`, then ignores them).
 */
import { SWITCH_OPTIONS, SWITCH_OPTION_NAMES } from "../cluster/options.js";
import { interleave, valueRow, type ValueOption } from "../cluster/value-options.js";

export type JsonSchema = Record<string, unknown>;

export const K3TS_API_VERSION = "k3ts.io/v1alpha1";
export const K3TS_KIND = "Cluster";
export const K3TS_SCHEMA_ID = "https://k3ts.dev/schema/k3ts-config.schema.json";
export const K3TS_ENVIRONMENT_KIND = "Environment";
export const K3TS_ENVIRONMENT_SCHEMA_ID = "https://k3ts.dev/schema/k3ts-environment.schema.json";

const text = (description?: string): JsonSchema => ({ type: "string", ...(description ? { description } : {}) });
const flag = (description?: string): JsonSchema => ({ type: "boolean", ...(description ? { description } : {}) });
const list = (items: JsonSchema, description?: string): JsonSchema => ({ type: "array", items, ...(description ? { description } : {}) });
const object = (properties: Record<string, JsonSchema>, extra: JsonSchema = {}): JsonSchema => ({ type: "object", properties, additionalProperties: false, ...extra });

/** The switch options of cluster/options.ts, as both formats spell them. */
const SWITCHES: Record<string, JsonSchema> = Object.fromEntries(SWITCH_OPTION_NAMES.map((o) => [o, flag(SWITCH_OPTIONS[o].description)]));

/** A value option of cluster/value-options.ts in k3ts's file format: its schema, an object's fields in an object. */
function fileSchema(option: ValueOption): JsonSchema {
  const row = valueRow(option);
  if (row.kind !== "object") return row.schema;
  const fields = Object.fromEntries(Object.entries(row.fields).map(([field, fieldRow]) => [field, fieldRow.schema]));
  return object(fields, row.description ? { description: row.description } : {});
}

/** The value options as k3ts's file format spells them, in the table's order with the other fields placed after the one they follow. */
const fileFields = (after: Partial<Record<ValueOption, Array<[string, JsonSchema]>>>): Record<string, JsonSchema> =>
  Object.fromEntries(interleave((option) => [[option, fileSchema(option)] as [string, JsonSchema]], after));

/** The value options as the SDK takes them (the Environment's `spec.cluster` fields), placed as `fileFields` places them. */
const sdkFields = (after: Partial<Record<ValueOption, Array<[string, JsonSchema]>>>): Record<string, JsonSchema> =>
  Object.fromEntries(interleave((option) => {
    const sdk = valueRow(option).sdk;
    return sdk ? [[option, sdk] as [string, JsonSchema]] : [];
  }, after));

const NODE_FILTERS = list(text(), "k3d node filters: server:0, agent:*, agents:1-2, loadbalancer, all (ports also :proxy / :direct)");

/** `{ FIELD: string, nodeFilters: [...] }` items. */
const filtered = (field: string, description: string): JsonSchema => list(object({ [field]: text(description), nodeFilters: NODE_FILTERS }, { required: [field] }));

const REGISTRIES = (version: 2 | 3 | 4 | 5): JsonSchema =>
  object({
    create: object({
      name: text("registry container name"),
      host: text("host address the registry is published on (default 0.0.0.0)"),
      hostPort: text('host port (default "random")'),
      ...(version >= 4 ? { image: text(), proxy: object({ remoteURL: text(), username: text(), password: text() }), volumes: list(text()) } : {}),
      ...(version >= 5 ? { enforcePortMatch: flag("registry listens inside on its host port") } : {}),
    }),
    use: list(text()),
    config: text("k3s registries.yaml: inline (several lines) or a path (one line)"),
  });

const ULIMITS = list(object({ name: text(), soft: { type: "integer" }, hard: { type: "integer" } }, { required: ["name", "soft", "hard"] }));

const HOST_ALIASES = list(object({ ip: text("IPv4 address"), hostnames: list(text(), "hostnames for the address") }, { required: ["ip", "hostnames"] }));

/** k3ts's own format, `apiVersion: k3ts.io/v1alpha1`, `kind: Cluster`. */
export const K3TS_CONFIG_SCHEMA: JsonSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: K3TS_SCHEMA_ID,
  title: "k3ts cluster config",
  description: "A k3s cluster for `k3ts cluster create --config FILE`. Flags override the file; K3TS_* variables override the file too.",
  type: "object",
  required: ["apiVersion", "kind"],
  additionalProperties: false,
  properties: {
    apiVersion: { type: "string", const: K3TS_API_VERSION },
    kind: { type: "string", const: K3TS_KIND },
    metadata: object({ name: text("cluster name: lowercase letters, digits and -, at most 32 characters") }),
    spec: object({
      ...fileFields({
        image: [
          ["api", object({
            host: text("name for the kubeconfig and the TLS SAN"),
            hostIP: text("IPv4 address the API is published on (default 127.0.0.1)"),
            hostPort: { type: "integer", minimum: 1, maximum: 65535, description: "host port (default: a free port)" },
          })],
          ["ports", filtered("port", "[HOST:][HOSTPORT:]CONTAINERPORT[/PROTOCOL], e.g. 8080:80")],
          ["volumes", filtered("volume", "[SOURCE:]DEST[:ro|rw]")],
          ["env", filtered("value", "KEY[=VALUE]")],
          ["k3sArgs", filtered("value", "extra k3s argument, e.g. --disable=traefik")],
          ["nodeLabels", filtered("value", "Kubernetes node label KEY[=VALUE]")],
          ["runtimeLabels", filtered("value", "container label KEY[=VALUE]")],
          ["capAdd", filtered("value", "Linux capability added to the nodes, e.g. SYS_ADMIN (default: every k3s node)")],
        ],
        memory: [["hostAliases", HOST_ALIASES]],
        privileged: Object.entries(SWITCHES),
      }),
      registries: REGISTRIES(5),
      hostImages: {
        description: "the host engine's images as the nodes' first mirror, so an image built on the host runs without an import: true, false, or { enabled, mirrors } (default true for `k3ts cluster create`)",
        anyOf: [
          flag(),
          object({
            enabled: flag("serve the host engine's images to the nodes (default true for `k3ts cluster create`)"),
            mirrors: list(text("a registry host, e.g. ghcr.io or registry.local:5000"), "registries mirrored besides docker.io and localhost"),
          }),
        ],
      },
      files: list(object({ source: text(), destination: text(), description: text(), nodeFilters: NODE_FILTERS }, { required: ["source", "destination"] })),
      ulimits: ULIMITS,
    }),
  },
};

const NAME_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const stepName = (description: string): JsonSchema => ({ type: "string", pattern: NAME_PATTERN, description });
const nonEmpty = (description: string): JsonSchema => ({ type: "string", minLength: 1, description });
const DEPENDS_ON = list(stepName("a helm release, manifests or endpoint name"), "steps that must be done first (names of helm releases, manifests or endpoints in this file)");
const STEP_NAME = stepName("step name, unique across helm, manifests and endpoints: lowercase letters, digits and -");

/**
 * k3ts's environment, `apiVersion: k3ts.io/v1alpha1`, `kind: Environment` (`k3ts up -f FILE`, the sdk's
 * loadEnvironment). `spec.cluster` is either a cluster k3ts makes (`name` and the sdk's cluster options in
 * their string forms) or an existing one (`kubeconfig` and/or `context`, nothing else): k3ts checks that
 * rule itself, so this schema stays a plain object schema editors understand.
 */
export const K3TS_ENVIRONMENT_SCHEMA: JsonSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: K3TS_ENVIRONMENT_SCHEMA_ID,
  title: "k3ts environment",
  description: "A cluster and what runs in it, for `k3ts up -f FILE` / `k3ts down -f FILE` and the sdk's up()/down(). Relative paths resolve against the file's directory.",
  type: "object",
  required: ["apiVersion", "kind", "metadata", "spec"],
  additionalProperties: false,
  properties: {
    apiVersion: { type: "string", const: K3TS_API_VERSION },
    kind: { type: "string", const: K3TS_ENVIRONMENT_KIND },
    metadata: object({ name: stepName("environment name: lowercase letters, digits and -") }, { required: ["name"] }),
    spec: object(
      {
        cluster: object(
          {
            name: stepName("name of the cluster k3ts makes (lowercase letters, digits and -, at most 32); required unless kubeconfig/context name an existing cluster"),
            ...sdkFields({
              image: [
                ["k3sVersion", nonEmpty("a k3s release, e.g. v1.33.4-k3s1: the image rancher/k3s:<version> (not with image)")],
                ["api", nonEmpty("API endpoint on the host, [HOST:]PORT as --api-port takes it (6443, 127.0.0.1:6550, random)")],
                ["ports", list(nonEmpty("[HOST:][HOSTPORT:]CONTAINERPORT[/PROTOCOL][@NODEFILTER], e.g. 8080:80@loadbalancer"))],
                ["volumes", list(nonEmpty("[SOURCE:]DEST[:ro|rw][@NODEFILTER]"))],
                ["env", list(nonEmpty("node environment KEY=VALUE[@NODEFILTER]"))],
                ["k3sArgs", list(nonEmpty("extra k3s argument ARG[@NODEFILTER], e.g. --disable=traefik@server:*"))],
                ["nodeLabels", list(nonEmpty("Kubernetes node label KEY=VALUE[@NODEFILTER]"))],
                ["runtimeLabels", list(nonEmpty("container label KEY=VALUE[@NODEFILTER]"))],
                ["capAdd", list(nonEmpty("Linux capability added to the nodes CAPABILITY[@NODEFILTER], e.g. SYS_ADMIN"))],
                ["hostAliases", list(nonEmpty("IP:HOST[,HOST…] for every node's /etc/hosts"))],
              ],
              token: [["dataVolume", nonEmpty("a named volume for server-0's /var/lib/rancher/k3s, kept when the cluster is deleted (needs token; one server, no agents)")]],
              privileged: Object.entries(SWITCHES),
            }),
            images: list(nonEmpty("an image of the engine (docker/podman), imported into every node before the other steps, as k3ts image import does")),
            kubeconfig: nonEmpty("an existing cluster: its kubeconfig file (default: $KUBECONFIG or ~/.kube/config)"),
            context: nonEmpty("an existing cluster: the kubeconfig context (default: the current one)"),
          },
          { description: "a cluster k3ts makes ({ name, …cluster options }) or an existing one ({ kubeconfig, context })" },
        ),
        helm: list(
          object(
            {
              name: STEP_NAME,
              namespace: nonEmpty("namespace of the HelmChart object (default kube-system)"),
              targetNamespace: nonEmpty("namespace the chart installs into"),
              chart: nonEmpty("chart name in repo, an OCI/https URL, or a local path starting with ."),
              repo: nonEmpty("chart repository URL"),
              version: nonEmpty("chart version"),
              values: list({ type: ["object", "string"], description: "a values mapping, or a values file path" }, "values, merged in order"),
              set: { type: "object", additionalProperties: { type: ["string", "number", "boolean"] }, description: "--set style KEY: VALUE overrides" },
              timeout: nonEmpty("how long the install may take, e.g. 5m"),
              repoCA: nonEmpty("the repository's CA certificate (PEM)"),
              repoCAConfigMap: nonEmpty("a ConfigMap in the HelmChart's namespace with the repository's CA"),
              authSecret: nonEmpty("a Secret with username/password for the repository"),
              authPassCredentials: flag("send the repository credentials to other hosts it points at"),
              dockerRegistrySecret: nonEmpty("a dockerconfigjson Secret for an oci:// chart's registry"),
              insecureSkipTLSVerify: flag("skip TLS verification of the repository or registry"),
              plainHTTP: flag("plain HTTP to the chart's registry (a k3ts registry for oci:// charts)"),
              jobImage: nonEmpty("the klipper-helm image the helm Job runs"),
              helmTimeout: nonEmpty("helm's own --timeout for the install or upgrade, e.g. 10m"),
              backOffLimit: { type: "integer", minimum: 0, description: "the helm Job's backoffLimit (the controller's default 1000)" },
              failurePolicy: { type: "string", enum: ["reinstall", "abort"], description: "after a failed install: reinstall (default) or abort" },
              dependsOn: DEPENDS_ON,
            },
            { required: ["name", "chart"] },
          ),
          "Helm charts, installed through k3s's helm-controller",
        ),
        manifests: list(
          object(
            {
              name: STEP_NAME,
              sources: { ...list(nonEmpty("a YAML file, a directory of them, or an http(s) URL"), "files, directories or URLs to apply"), minItems: 1 },
              namespace: nonEmpty("namespace for objects that name none"),
              wait: flag("wait for Deployments, StatefulSets, DaemonSets and Jobs to roll out (default true)"),
              timeout: nonEmpty("how long to wait, e.g. 2m"),
              dependsOn: DEPENDS_ON,
            },
            { required: ["name", "sources"] },
          ),
          "Kubernetes manifests, applied server-side",
        ),
        endpoints: list(
          object(
            {
              name: STEP_NAME,
              service: nonEmpty("Service to forward to"),
              namespace: nonEmpty("the Service's namespace (default default)"),
              port: { type: ["integer", "string"], minimum: 1, maximum: 65535, minLength: 1, description: "the Service's port: number or name" },
              localPort: { type: "integer", minimum: 0, maximum: 65535, description: "local port (default: a free one)" },
              dependsOn: DEPENDS_ON,
            },
            { required: ["name", "service", "port"] },
          ),
          "port-forwards to Services, opened by up",
        ),
      },
      { required: ["cluster"] },
    ),
  },
};

const K3D_FILES = list(object({ source: text(), destination: text(), description: text(), nodeFilters: NODE_FILTERS }, { required: ["source", "destination"] }));

/** k3ts's reading of k3d's `kind: Simple` schema for one apiVersion. */
export function k3dSchema(version: 2 | 3 | 4 | 5): JsonSchema {
  const v2 = version === 2;
  const k3d = object({
    wait: flag("wait for the servers"),
    timeout: text("duration, e.g. 60s"),
    disableLoadbalancer: flag("no load balancer"),
    disableImageVolume: flag("no image volume"),
    disableRollback: flag("keep a failed cluster"),
    ...(v2 ? { disableHostIPInjection: flag("no host.k3d.internal") } : { loadbalancer: object({ configOverrides: list(text()) }) }),
  });
  const k3s = v2
    ? object({ extraServerArgs: list(text()), extraAgentArgs: list(text()) })
    : object({ extraArgs: filtered("arg", "k3s argument"), nodeLabels: filtered("label", "node label KEY=VALUE") });
  const runtime = object({
    gpuRequest: text(),
    serversMemory: text(),
    agentsMemory: text(),
    ...(version >= 4 ? { hostPidMode: flag("share the host's PID namespace") } : {}),
    ...(v2 ? {} : { labels: filtered("label", "container label KEY=VALUE") }),
    ...(version >= 5 ? { ulimits: ULIMITS } : {}),
  });
  const registries = v2 ? object({ create: { type: "boolean" }, use: list(text()), config: text() }) : REGISTRIES(version);
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: `k3d SimpleConfig k3d.io/v1alpha${version} (as k3ts reads it)`,
    type: "object",
    required: ["apiVersion", "kind"],
    additionalProperties: false,
    properties: {
      apiVersion: { type: "string", const: `k3d.io/v1alpha${version}` },
      kind: { type: "string", const: "Simple" },
      ...(version >= 4 ? { metadata: object({ name: { type: "string", format: "hostname" } }) } : { name: { type: "string", format: "hostname" } }),
      servers: { type: "integer", minimum: 1 },
      agents: { type: "integer", minimum: 0 },
      kubeAPI: object({ host: { type: "string", format: "hostname" }, hostIP: { type: "string", format: "ipv4" }, hostPort: text() }),
      image: text(),
      network: text(),
      subnet: text(),
      token: text(),
      volumes: filtered("volume", "[SOURCE:]DEST"),
      ports: filtered("port", "[HOST:][HOSTPORT:]CONTAINERPORT[/PROTOCOL]"),
      ...(v2 ? { labels: filtered("label", "container label KEY=VALUE") } : {}),
      ...(version >= 5 ? { files: K3D_FILES } : {}),
      env: filtered("envVar", "KEY=VALUE"),
      registries,
      ...(version >= 4 ? { hostAliases: HOST_ALIASES } : {}),
      options: object({ k3d, k3s, kubeconfig: object({ updateDefaultKubeconfig: flag(), switchCurrentContext: flag() }), runtime }),
    },
  };
}
