/**
 * Address lists of per-user IP rules (upstream §4.2): `a.b.c.d`, `a.b.c.d/bits`, IPv6 (`::1`,
 * `2001:db8::/32`). Guarantees: parsing never throws and never resolves names (hostnames give
 * undefined so the caller can log and skip them); an IPv4-mapped client (`::ffff:a.b.c.d`, as a
 * dual-stack Node socket reports IPv4 peers) is matched as the IPv4 address it carries.
 */
import type { Cidr } from './types.js';

/** Parses dotted-quad IPv4 into 4 bytes; decimal octets only (leading zeros are decimal, as sscanf %u). */
function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/** Parses IPv6 text (with `::` and an optional dotted IPv4 tail) into 16 bytes. */
function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let groups: number[] = [];
  let head = text;
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) !== -1) {
    tail = parseIPv4(text.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    head = text.slice(0, lastColon + 1);
    // Keep `::` intact when the IPv4 tail directly follows it (`::ffff:1.2.3.4`, `::1.2.3.4`).
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const toGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const want = tail === undefined ? 8 : 6;
  const dbl = head.indexOf('::');
  if (dbl !== -1) {
    if (head.indexOf('::', dbl + 1) !== -1) return undefined;
    const left = toGroups(head.slice(0, dbl));
    const right = toGroups(head.slice(dbl + 2));
    if (left === undefined || right === undefined || left.length + right.length > want - 1) return undefined;
    groups = [...left, ...new Array<number>(want - left.length - right.length).fill(0), ...right];
  } else {
    const all = toGroups(head);
    if (all === undefined || all.length !== want) return undefined;
    groups = all;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (tail !== undefined) out.set(tail, 12);
  return out;
}

/** True for `::ffff:0:0/96` addresses, which carry an IPv4 address in their last 4 bytes. */
function isMapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16 || bytes[10] !== 0xff || bytes[11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Parses one IP address (IPv4, IPv6, zone id ignored) to its bytes; mapped IPv6 becomes 4 bytes. */
export function parseIp(text: string): Uint8Array | undefined {
  const t = text.trim().replace(/%.*$/, '');
  const v4 = parseIPv4(t);
  if (v4 !== undefined) return v4;
  const v6 = parseIPv6(t);
  if (v6 === undefined) return undefined;
  return isMapped(v6) ? v6.slice(12) : v6;
}

/** Zeroes the host bits so that equal networks compare equal. */
function maskBytes(bytes: Uint8Array, bits: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    out[i] &= (0xff00 >> keep) & 0xff;
  }
  return out;
}

/**
 * Parses `addr` or `addr/bits`, IPv6 also as `[addr]/bits` or `[addr/bits]` (the bracketed form is
 * what a passwd line can hold, its fields being `:`-separated); undefined for hostnames and
 * anything malformed.
 */
export function parseCidr(text: string): Cidr | undefined {
  const entry = text.trim();
  const bracket = /^\[([^\]]*)\](.*)$/.exec(entry);
  if (bracket !== null) {
    const inner = bracket[1];
    const rest = bracket[2];
    if (!inner.includes(':') || (rest !== '' && (inner.includes('/') || !rest.startsWith('/'))))
      return undefined;
    const parsed = parseCidr(inner + rest);
    return parsed === undefined ? undefined : { ...parsed, text: entry };
  }
  const slash = entry.indexOf('/');
  const addrText = slash === -1 ? entry : entry.slice(0, slash);
  const raw = parseIPv4(addrText) ?? parseIPv6(addrText.replace(/%.*$/, ''));
  if (raw === undefined) return undefined;
  let bits = raw.length * 8;
  if (slash !== -1) {
    const bitsText = entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bitsText)) return undefined;
    bits = Number(bitsText);
    if (bits > raw.length * 8) return undefined;
  }
  let address = raw;
  // A mapped network of at least /96 is an IPv4 network; clients are matched as IPv4 too.
  if (isMapped(raw) && bits >= 96) {
    address = raw.slice(12);
    bits -= 96;
  }
  return { address: maskBytes(address, bits), bits, text: entry };
}

/** Parses a comma-separated list (upstream §3.2 IP fields); entries that do not parse go to `invalid`. */
export function parseCidrList(text: string): { list: Cidr[]; invalid: string[] } {
  const list: Cidr[] = [];
  const invalid: string[] = [];
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const cidr = parseCidr(part);
    if (cidr === undefined) invalid.push(part.trim());
    else list.push(cidr);
  }
  return { list, invalid };
}

/** True when the first `bits` bits of both byte strings are equal. */
function prefixEqual(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff00 >> bits) & 0xff;
    if ((a[i] & mask) !== (b[i] & mask)) return false;
  }
  return true;
}

/**
 * An entry that keeps a list non-empty but matches no address: an allow list made only of
 * hostnames that we do not resolve must still lock clients out, as Pure-FTPd does when the name
 * does not resolve (upstream §4.2), instead of silently becoming "no restriction".
 */
export function unmatchableCidr(text: string): Cidr {
  return { address: new Uint8Array(0), bits: 0, text };
}

/** True when `ip` (IPv4, IPv6 or `::ffff:a.b.c.d`) falls in one of the networks of `list`. */
export function matchCidr(list: readonly Cidr[], ip: string): boolean {
  const client = parseIp(ip);
  if (client === undefined) return false;
  let mapped: Uint8Array | undefined;
  for (const cidr of list) {
    if (cidr.address.length !== 4 && cidr.address.length !== 16) continue;
    if (cidr.address.length === client.length) {
      if (prefixEqual(cidr.address, client, cidr.bits)) return true;
    } else if (client.length === 4) {
      // An IPv6 network (such as ::/0) may cover the mapped form of an IPv4 client.
      mapped ??= Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...client]);
      if (prefixEqual(cidr.address, mapped, cidr.bits)) return true;
    }
  }
  return false;
}
