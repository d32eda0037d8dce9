/**
 * Value parsers shared by the switch table. They throw ValueError with the reason only; the caller adds
 * the switch as written. Pure-FTPd reads numbers with strtoul/sscanf and silently accepts trailing junk for some
 * switches (`-I 5x`, `-p`, `-L`, `-y`, `-Y`, `-U`: upstream §1.2); tsftpd is strict where junk would
 * hide a typo (docs/compatibility.md), keeping only `-I`'s leniency.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { ValueError } from './errors.js';

/** Largest value of a C `unsigned int`, the type Pure-FTPd stores its counts in. */
export const UINT_MAX = 4294967295;

/** Parses a decimal whole number within [min, max]; `what` names the number in the reason. */
export function parseInteger(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new ValueError(`${what} must be a whole number`);
  const n = Number(text);
  if (n < min) throw new ValueError(`${what} must be >= ${min}`);
  if (n > max) throw new ValueError(`${what} must be <= ${max}`);
  return n;
}

/** Splits `a:b` at the first colon; `expected` describes the form for the reason. */
export function splitPair(text: string, expected: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon < 0) throw new ValueError(`expected ${expected}`);
  return [text.slice(0, colon), text.slice(colon + 1)];
}

/** Parses an octal creation mask no larger than 0777 (upstream §1.2 -U). */
export function parseMask(text: string, what: string): number {
  if (!/^[0-7]{1,4}$/.test(text)) throw new ValueError(`${what} must be an octal number such as 022`);
  const mask = parseInt(text, 8);
  if (mask > 0o777) throw new ValueError(`${what} must be <= 777`);
  return mask;
}

/**
 * A path made absolute against the start-up directory: `-B` moves the daemon to `/` (upstream §1.2) and the
 * files are opened again later (PureDB at every login), so a relative path must not change meaning.
 */
export function parsePath(text: string, cwd: string, what: string): string {
  if (text === '') throw new ValueError(`${what} must not be empty`);
  if (text.includes('\0')) throw new ValueError(`${what} must not contain a NUL byte`);
  return resolve(cwd, text);
}

const HOSTNAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** True for an IP literal or a syntactically valid host name (resolution happens later, upstream §6.4 -P). */
export function isHostOrAddress(text: string): boolean {
  return isIP(text) !== 0 || HOSTNAME.test(text);
}
