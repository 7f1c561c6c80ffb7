/** Networks of the memory engine: subnets, addresses, attachments; volumes. */
import { K3tsError } from "../../errors.js";
import type { FileStore } from "./fs.js";

export interface Subnet {
  cidr: string;
  /** The network address and the number of addresses, as integers. */
  base: number;
  size: number;
  gateway: string;
}

export function ipToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((value, p) => value * 256 + Number(p), 0);
}

export const intToIp = (value: number): string => [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");

export function parseSubnet(cidr: string): Subnet {
  const [address = "", prefixText = ""] = cidr.split("/");
  const base = ipToInt(address);
  const prefix = /^\d{1,2}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (base === undefined || !(prefix >= 8 && prefix <= 30)) {
    throw new K3tsError("INVALID_ARGUMENT", `invalid subnet ${JSON.stringify(cidr)} (want an IPv4 CIDR from /8 to /30)`, { meta: { cidr } });
  }
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) {
    throw new K3tsError("INVALID_ARGUMENT", `invalid subnet ${cidr}: it should be ${intToIp(base - (base % size))}/${prefix}`, { meta: { cidr } });
  }
  return { cidr, base, size, gateway: intToIp(base + 1) };
}

export const overlaps = (a: Subnet, b: Subnet): boolean => a.base < b.base + b.size && b.base < a.base + a.size;

export interface MemoryNetwork {
  id: string;
  name: string;
  labels: Record<string, string>;
  subnet: Subnet;
  /** Static addresses need a subnet the caller chose (as in Docker). */
  explicitSubnet: boolean;
}

export interface Attachment {
  ipv4: string;
  aliases: string[];
}

export interface MemoryVolume {
  name: string;
  labels: Record<string, string>;
  createdAt: string;
  files: FileStore;
}
