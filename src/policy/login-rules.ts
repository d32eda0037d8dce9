/**
 * Per-account rules checked when a login succeeds (upstream §4.2): allowed/denied client and local
 * addresses (IPv4 and IPv6, better than Pure-FTPd which never matches IPv6), the time window
 * (local time, both ends inclusive, wrapping past midnight) and account expiry. Every refusal names
 * the rule for the log; the client only learns that the login failed.
 */
import { matchCidr, parseIp } from '../auth/cidr.js';
import type { Account, Cidr } from '../auth/types.js';

/** Why a login is refused: the log line names the rule. */
export interface Refusal {
  rule: string;
}

/** Where the login comes from. */
export interface LoginOrigin {
  remoteIp: string;
  localIp: string;
  now: Date;
}

function listRule(
  what: string,
  ip: string,
  allow: readonly Cidr[] | undefined,
  deny: readonly Cidr[] | undefined,
): Refusal | undefined {
  // Upstream §4.2: only allow set ⇒ must match; only deny ⇒ must not; both ⇒ match allow and not deny.
  if (allow !== undefined && allow.length > 0 && !matchCidr(allow, ip)) {
    return { rule: `${what} ${ip} is not in the allowed list` };
  }
  if (deny !== undefined && deny.length > 0 && matchCidr(deny, ip)) {
    return { rule: `${what} ${ip} is in the denied list` };
  }
  return undefined;
}

/** True when `minute` (since midnight) is inside the window; `from > to` wraps past midnight. */
export function inTimeWindow(window: { from: number; to: number }, minute: number): boolean {
  return window.from <= window.to
    ? minute >= window.from && minute <= window.to
    : minute >= window.from || minute <= window.to;
}

/** Checks every address/time/expiry rule of an account; undefined when the login may proceed. */
export function checkLoginRules(account: Account, origin: LoginOrigin): Refusal | undefined {
  const client = listRule('client address', origin.remoteIp, account.allowClient, account.denyClient);
  if (client) return client;
  const local = listRule('local address', origin.localIp, account.allowLocal, account.denyLocal);
  if (local) return local;
  if (account.timeWindow !== undefined) {
    const minute = origin.now.getHours() * 60 + origin.now.getMinutes();
    if (!inTimeWindow(account.timeWindow, minute)) {
      const hhmm = (m: number): string =>
        `${String(Math.floor(m / 60)).padStart(2, '0')}${String(m % 60).padStart(2, '0')}`;
      return {
        rule: `outside the allowed time window ${hhmm(account.timeWindow.from)}-${hhmm(account.timeWindow.to)}`,
      };
    }
  }
  if (account.expires !== undefined && account.expires.getTime() <= origin.now.getTime()) {
    return { rule: `account expired on ${account.expires.toISOString()}` };
  }
  return undefined;
}

/**
 * True when only anonymous logins are possible on a connection to `localIp` (upstream §6.2): -e
 * everywhere, or -V naming another local address (the address compared as bytes, so `::ffff:a.b.c.d`
 * and `a.b.c.d` are one).
 */
export function anonymousOnlyOn(
  config: Readonly<{ anonymousOnly: boolean; trustedIp?: string }>,
  localIp: string,
): boolean {
  if (config.anonymousOnly) return true;
  if (config.trustedIp === undefined) return false;
  const trusted = parseIp(config.trustedIp);
  const here = parseIp(localIp);
  return trusted === undefined || here === undefined || Buffer.compare(trusted, here) !== 0;
}

/**
 * Root, or a member of the -a trusted group (Account.trusted, set by the chain): not confined by
 * -A/-a, exempt from quotas, ratios, -x/-X and -K (upstream §6.2). Never anonymous.
 */
export function isTrusted(account: Readonly<Pick<Account, 'uid' | 'anonymous' | 'trusted'>>): boolean {
  return !account.anonymous && (account.uid === 0 || account.trusted === true);
}
