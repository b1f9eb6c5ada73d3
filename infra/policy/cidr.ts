/** CIDR arithmetic for the policy pack: how wide a block is, and whether one lies inside another. */

export interface Cidr {
  readonly family: 4 | 6;
  readonly prefix: number;
  /** The network address as a number (IPv4 only; IPv6 blocks are judged by their width). */
  readonly start?: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const [address, prefixText] = text.trim().split("/");
  if (address === undefined || prefixText === undefined || !/^\d+$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (address.includes(":")) return prefix <= 128 ? { family: 6, prefix } : undefined;
  const octets = address.split(".").map(Number);
  if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet) || octet < 0 || octet > 255))
    return undefined;
  if (prefix > 32) return undefined;
  const value = octets.reduce((sum, octet) => sum * 256 + octet, 0);
  const size = 2 ** (32 - prefix);
  return { family: 4, prefix, start: Math.floor(value / size) * size };
}

/** True when every address of `inner` is in `outer` (IPv4 only). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== 4 || inner.family !== 4 || inner.prefix < outer.prefix) return false;
  const size = 2 ** (32 - outer.prefix);
  return Math.floor(inner.start! / size) * size === outer.start;
}
