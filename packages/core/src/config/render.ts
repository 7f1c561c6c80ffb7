/** Writing k3ts config files: a ClusterSpecInput as a k3ts document (for `config convert`) and the commented starter (`config init`). */
import { yaml } from "../cluster/deps.js";
import { SWITCH_OPTION_NAMES } from "../cluster/options.js";
import { interleave, specField, valueRow, type ValueOption, type ValueRow } from "../cluster/value-options.js";
import type { Filtered, KeyValue, MountSpec, PortSpec } from "../cluster/spec.js";
import { K3TS_API_VERSION, K3TS_KIND } from "./schema.js";
import type { ClusterSpecInput, ConfigNotice } from "./types.js";

export function formatPort(p: PortSpec): string {
  const host = p.hostIP !== undefined ? `${p.hostIP}:${p.hostPort ?? ""}:` : p.hostPort !== undefined ? `${p.hostPort}:` : "";
  return `${host}${p.containerPort}${p.protocol === "tcp" ? "" : `/${p.protocol}`}`;
}

export function formatMount(m: MountSpec): string {
  return `${m.source !== undefined ? `${m.source}:` : ""}${m.target}${m.readOnly ? ":ro" : ""}`;
}

export function formatKeyValue(kv: KeyValue): string {
  return kv.value === "" ? kv.key : `${kv.key}=${kv.value}`;
}

/** Milliseconds as a Go-style duration: 90000 → 1m30s, 1500 → 1500ms, 0 → 0. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  if (ms % 1000 !== 0) return `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
}

/** Bytes as a docker size: 1073741824 → 1g, 536870912 → 512m, else bytes. */
export function formatMemory(bytes: number): string {
  for (const [unit, size] of [["t", 1024 ** 4], ["g", 1024 ** 3], ["m", 1024 ** 2], ["k", 1024]] as const) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

function filtered<T>(field: string, items: Array<Filtered<T>> | undefined, format: (v: T) => string): unknown {
  if (!items?.length) return undefined;
  return items.map((i) => ({ [field]: format(i.value), ...(i.filters.length ? { nodeFilters: i.filters.map((f) => f.source) } : {}) }));
}

function compact(o: Record<string, unknown>): Record<string, unknown> | undefined {
  const out = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return Object.keys(out).length ? out : undefined;
}

/** A value as k3ts's file format writes it (durations and sizes in their short forms). */
function formatValue(row: ValueRow, value: unknown): unknown {
  if (value === undefined) return undefined;
  if (row.kind === "duration") return formatDuration(value as number);
  if (row.kind === "size") return value ? formatMemory(value as number) : value;
  return value;
}

/** A value option of core's table as k3ts's file format writes it (an object: the fields it has, or nothing). */
function formatOption(spec: ClusterSpecInput, option: ValueOption): unknown {
  const row = valueRow(option);
  const value = (spec as Record<string, unknown>)[specField(option)];
  if (row.kind !== "object") return formatValue(row, value);
  if (!value) return undefined;
  const o = value as Record<string, unknown>;
  return compact(Object.fromEntries(Object.entries(row.fields).map(([field, fieldRow]) => [field, formatValue(fieldRow, o[field])])));
}

/** The k3ts document for a spec input (fields the input does not set are left out). */
export function toK3tsDocument(spec: ClusterSpecInput): Record<string, unknown> {
  const entries = interleave<[string, unknown]>((option) => [[option, formatOption(spec, option)]], {
    image: [
      ["api", spec.api ? compact({ ...spec.api }) : undefined],
      ["ports", filtered("port", spec.ports, formatPort)],
      ["volumes", filtered("volume", spec.volumes, formatMount)],
      ["env", filtered("value", spec.env, formatKeyValue)],
      ["k3sArgs", filtered("value", spec.k3sArgs, (a: string) => a)],
      ["nodeLabels", filtered("value", spec.nodeLabels, formatKeyValue)],
      ["runtimeLabels", filtered("value", spec.runtimeLabels, formatKeyValue)],
      ["capAdd", filtered("value", spec.capAdd, (c: string) => c)],
    ],
    memory: [["hostAliases", spec.hostAliases?.length ? spec.hostAliases : undefined]],
    privileged: [
      ...SWITCH_OPTION_NAMES.map((o): [string, unknown] => [o, spec[o]]),
      ["hostImages", spec.hostImages === undefined || spec.hostImages === false ? spec.hostImages : spec.hostImages.mirrors.length ? { mirrors: spec.hostImages.mirrors } : true],
    ],
  });
  const s = compact({
    ...Object.fromEntries(entries),
    registries: spec.registries
      ? compact({ ...spec.registries, config: spec.registries.config ? ("content" in spec.registries.config ? spec.registries.config.content : spec.registries.config.path) : undefined })
      : undefined,
    files: spec.files?.length
      ? spec.files.map((f) => ({
          source: "content" in f.value.source ? f.value.source.content : f.value.source.path,
          destination: f.value.destination,
          ...(f.value.description ? { description: f.value.description } : {}),
          ...(f.filters.length ? { nodeFilters: f.filters.map((x) => x.source) } : {}),
        }))
      : undefined,
    ulimits: spec.ulimits?.length ? spec.ulimits : undefined,
  });
  return { apiVersion: K3TS_API_VERSION, kind: K3TS_KIND, ...(spec.name ? { metadata: { name: spec.name } } : {}), ...(s ? { spec: s } : {}) };
}

/** `toK3tsDocument` as YAML, headed by comments: where it came from and every notice. */
export function toK3tsYaml(spec: ClusterSpecInput, options: { from?: string; notices?: ConfigNotice[] } = {}): string {
  const head: string[] = [];
  if (options.from) head.push(`# Converted by k3ts config convert from ${options.from}.`);
  if (options.notices?.length) {
    head.push("# Not honoured by k3ts (left out or carried without effect):");
    for (const n of options.notices) head.push(`#   ${n.path}: ${n.reason}`);
  }
  return `${head.length ? `${head.join("\n")}\n` : ""}${yaml().stringify(toK3tsDocument(spec), { lineWidth: 0 })}`;
}

/** What `k3ts config init` writes: every field, the defaults commented out. */
export const STARTER_CONFIG = `# k3ts cluster config: k3ts cluster create --config FILE (flags override the file).
# Schema: @k3ts/core/schema/k3ts-config.schema.json. Node filters: server:0, agent:*, agents:1-2, loadbalancer, all.
# \${VAR} is replaced by the environment variable VAR (unset: an error); write $$ for a literal $.
apiVersion: ${K3TS_API_VERSION}
kind: ${K3TS_KIND}
metadata:
  name: dev                      # lowercase letters, digits and -, at most 32 characters
spec:
  servers: 1                     # 3 or more: HA with embedded etcd
  agents: 2
  # image: rancher/k3s:v1.33.5-k3s1   # default; also K3TS_IMAGE
  api:
    hostIP: 127.0.0.1            # 0.0.0.0 publishes the API on every interface
    # hostPort: 6550             # default: a free port
    # host: k3s.example.test     # name for the kubeconfig and the TLS SAN
  ports:
    - port: 8080:80              # [HOST:][HOSTPORT:]CONTAINERPORT[/PROTOCOL]
      nodeFilters: [loadbalancer]
  # volumes:
  #   - volume: /srv/data:/data    # [SOURCE:]DEST[:ro|rw]
  #     nodeFilters: [agent:*]
  # env:
  #   - value: LOG_LEVEL=debug
  #     nodeFilters: [server:0]
  k3sArgs:
    - value: --disable=traefik
      nodeFilters: [server:*]
  # nodeLabels:
  #   - value: tier=edge
  #     nodeFilters: [agent:*]
  # runtimeLabels:
  #   - value: team=platform
  #     nodeFilters: [all]
  # network: my-net              # join an existing network (kept on delete)
  # subnet: 172.28.0.0/16
  # token: \${K3S_TOKEN}          # default: 32 random bytes
  wait: true
  timeout: 5m                    # give up and roll back after this long (default: no limit)
  loadBalancer:
    enabled: true
    # image: nginx:1.29-alpine   # also K3TS_LB_IMAGE
  rollback: true
  # memory:
  #   servers: 2g
  #   agents: 1g
  # hostAliases:
  #   - ip: 10.0.0.5
  #     hostnames: [db.local]
  privileged: true               # real k3s needs privileged nodes
  kubeconfig:
    update: true                 # merge into the default kubeconfig
    switchContext: true          # and make the context current
`;
