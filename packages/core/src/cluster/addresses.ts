/**
 * Fixed addresses for servers with embedded etcd. etcd members find each other by the peer URLs
 * they joined with (`https://<node IP>:2380`, k3s `pkg/etcd/etcd.go`), and k3s does not rewrite them
 * when a node comes back with another address; an engine that hands out other addresses after a
 * stop/start (Podman's CNI does, Docker may) leaves the members unable to reach quorum (k3d#262,
 * #309, #644). So servers get static addresses, taken from the top of the network's subnet, where
 * the engine's own allocation (from the bottom) comes last. Pure.
 */
import { K3tsError } from "../errors.js";

function toInt(ip: string): number {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new K3tsError("INVALID_ARGUMENT", `${JSON.stringify(ip)} is not an IPv4 address`, { meta: { ip } });
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** The usable host addresses of an IPv4 CIDR: [first, last] (network and broadcast addresses excluded). */
export function hostRange(cidr: string): { first: string; last: string } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || prefix < 8 || prefix > 30) throw new K3tsError("INVALID_ARGUMENT", `${JSON.stringify(cidr)} is not an IPv4 CIDR from /8 to /30`, { meta: { cidr } });
  const size = 2 ** (32 - prefix);
  const base = toInt(m[1]!) - (toInt(m[1]!) % size);
  return { first: toIp(base + 1), last: toIp(base + size - 2) };
}

/**
 * `count` addresses for servers, from the top of `subnet` down, skipping `taken` (the gateway,
 * addresses in use, other servers' fixed ones). Throws when the subnet has no room left.
 */
export function serverAddresses(subnet: string, count: number, taken: Iterable<string | undefined>): string[] {
  const { first, last } = hostRange(subnet);
  const used = new Set([...taken].filter((t): t is string => !!t));
  const out: string[] = [];
  for (let n = toInt(last); n >= toInt(first) && out.length < count; n--) {
    const ip = toIp(n);
    if (!used.has(ip)) out.push(ip);
  }
  if (out.length < count) {
    throw new K3tsError("INVALID_ARGUMENT", `network subnet ${subnet} has no room for ${count} more server address(es)`, { meta: { subnet, count }, hint: "use a larger --subnet" });
  }
  return out;
}
