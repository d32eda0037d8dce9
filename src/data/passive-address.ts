/**
 * The address a PASV reply announces (upstream §1.2 -P, extended): one IPv4 address or host name for
 * every client, or rules per client network, first match wins — `10.0.0.0/8=10.1.2.3,*=ftp.example.com`
 * — so clients inside a NAT get the inside address and the others the public one. Host names are
 * resolved when used and re-resolved after RESOLVE_TTL_MS (a dynamic address follows its DNS name).
 */
import { lookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import { matchCidr, parseCidr } from '../auth/cidr.js';
import type { Cidr } from '../auth/types.js';
import { isHostOrAddress } from '../config/values.js';

/** How long a resolved name is used before it is asked again. */
export const RESOLVE_TTL_MS = 60_000;
/** Rules at most in one -P value, and names cached at most. */
const MAX_RULES = 64;
const MAX_CACHED = 256;

/** One rule: clients in `network` (undefined: every client) are told `target`. */
export interface PassiveRule {
  network?: Cidr;
  target: string;
}

/**
 * Parses a -P value: `address`, `host`, or `cidr=target,...,*=target`. Throws a sentence for a
 * malformed value (the switch table shows it).
 */
export function parsePassiveRules(text: string): PassiveRule[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length > MAX_RULES) throw new Error(`at most ${MAX_RULES} rules`);
  const rules: PassiveRule[] = [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    const target = eq < 0 ? part : part.slice(eq + 1).trim();
    if (!isHostOrAddress(target) || target.includes(':'))
      throw new Error(`"${target}" is not an IPv4 address or a host name`);
    if (eq < 0) {
      if (parts.length > 1) throw new Error(`"${part}" needs a network: network=address (or *=address)`);
      rules.push({ target });
      continue;
    }
    const net = part.slice(0, eq).trim();
    if (net === '*') {
      rules.push({ target });
      continue;
    }
    const network = parseCidr(net);
    if (network === undefined) throw new Error(`"${net}" is not a network (CIDR) or *`);
    rules.push({ network, target });
  }
  return rules;
}

const parsed = new Map<string, PassiveRule[]>();
const resolved = new Map<string, { address: string; at: number }>();

/**
 * The IPv4 address to announce to `clientIp` under the -P value `forced`; `fallback` (the address
 * the client reached) when no rule matches or a name does not resolve to IPv4.
 */
export async function passiveAddressFor(
  forced: string | undefined,
  clientIp: string,
  fallback: string,
): Promise<string> {
  if (forced === undefined) return fallback;
  let rules = parsed.get(forced);
  if (rules === undefined) {
    try {
      rules = parsePassiveRules(forced);
    } catch {
      rules = [];
    }
    if (parsed.size >= MAX_CACHED) parsed.clear();
    parsed.set(forced, rules);
  }
  const rule = rules.find((r) => r.network === undefined || matchCidr([r.network], clientIp));
  if (rule === undefined) return fallback;
  if (isIPv4(rule.target)) return rule.target;
  const now = Date.now();
  const cached = resolved.get(rule.target);
  if (cached !== undefined && now - cached.at < RESOLVE_TTL_MS) return cached.address;
  try {
    const { address } = await lookup(rule.target, { family: 4 });
    if (resolved.size >= MAX_CACHED) resolved.clear();
    resolved.set(rule.target, { address, at: now });
    return address;
  } catch {
    // The last known address beats announcing nothing; else the address the client reached.
    return cached?.address ?? fallback;
  }
}
