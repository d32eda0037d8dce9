/**
 * The pure-authd wire protocol (upstream §3.5), shared by the `-l extauth:` client and `tsftpd authd`:
 * LF-terminated `key:value` lines closed by `end`, request and reply alike. Guarantees: a value
 * holding CR, LF or NUL is never written (it could forge a key); a reply without `end`, with an
 * auth_ok other than -1/0/1, or accepting uid/gid ≤ 0 or no home is a refusal, never a login.
 */
import { directoryRecordResult } from '../passwd-line.js';
import type { AuthResult, Credentials } from '../types.js';

/** Pure-FTPd reads at most this much of a reply (one read into a 4096-byte buffer). */
export const EXTAUTH_MAX_REPLY = 4095;
/** Longest request tsftpd authd reads (login ≤ 127 and password ≤ 512 bytes leave ample room). */
export const EXTAUTH_MAX_REQUEST = 8192;

/** What the server tells the helper about one login attempt. */
export interface ExtAuthRequest {
  account: string;
  password: string;
  /** Server address of the connection (`localhost:` on the wire). */
  localIp: string;
  localPort: string;
  /** Client address (`peer:`). */
  remoteIp: string;
  sniName: string;
  /** `1` over TLS, else `0`. */
  encrypted: string;
}

/** Wire keys of the request, in Pure-FTPd's order. */
const REQUEST_KEYS: [keyof ExtAuthRequest, string][] = [
  ['account', 'account'],
  ['password', 'password'],
  ['localIp', 'localhost'],
  ['localPort', 'localport'],
  ['remoteIp', 'peer'],
  ['sniName', 'sni_name'],
  ['encrypted', 'encrypted'],
];

/** The request of one login attempt. */
export function requestFor(login: string, cred: Credentials): ExtAuthRequest {
  return {
    account: login,
    password: cred.password,
    localIp: cred.localIp,
    localPort: String(cred.localPort),
    remoteIp: cred.remoteIp,
    sniName: cred.sni ?? '',
    encrypted: cred.tls ? '1' : '0',
  };
}

/** The request as sent; undefined when a value would break the line format. */
export function formatRequest(r: ExtAuthRequest): string | undefined {
  let out = '';
  for (const [field, key] of REQUEST_KEYS) {
    if (/[\r\n\0]/.test(r[field])) return undefined;
    out += `${key}:${r[field]}\n`;
  }
  return out + 'end\n';
}

/** The LF-terminated lines of `text` (CR before LF dropped); a last line without LF is ignored. */
function completeLines(text: string): string[] {
  const all = text.split('\n');
  all.pop();
  return all.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

/** Parses a request read by authd; undefined until it is complete (pure-authd: no `end`, no run). */
export function parseRequest(text: string): ExtAuthRequest | undefined {
  const all = completeLines(text);
  const end = all.indexOf('end');
  if (end === -1) return undefined;
  const r: ExtAuthRequest = {
    account: '',
    password: '',
    localIp: '',
    localPort: '',
    remoteIp: '',
    sniName: '',
    encrypted: '',
  };
  for (const line of all.slice(0, end)) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const entry = REQUEST_KEYS.find(([, key]) => key === line.slice(0, colon));
    if (entry !== undefined) r[entry[0]] = line.slice(colon + 1);
  }
  return r;
}

/** A parsed reply (upstream §3.5); numbers as read, undefined when absent. */
export interface ExtAuthReply {
  ended: boolean;
  authOk: number;
  uid?: number;
  gid?: number;
  dir?: string;
  slowTildeExpansion: boolean;
  bandwidthUp?: number;
  bandwidthDown?: number;
  quotaBytes?: number;
  quotaFiles?: number;
  ratioUp?: number;
  ratioDown?: number;
  maxSessions?: number;
}

/** atoi/strtoul-like: leading sign and digits; NaN-free. */
function number(value: string): number {
  const m = /^\s*([+-]?\d+)/.exec(value);
  const n = m === null ? 0 : Number(m[1]);
  return Number.isSafeInteger(n) ? n : n > 0 ? Number.MAX_SAFE_INTEGER : 0;
}

/**
 * Parses the helper's answer as pw_extauth_check() does: every complete line is read, even after
 * `end` (so a later `auth_ok:` still counts); a line starting with `end` finalises the reply;
 * keys are case-sensitive prefixes; unknown lines are ignored.
 */
export function parseReply(text: string): ExtAuthReply {
  const reply: ExtAuthReply = { ended: false, authOk: 0, slowTildeExpansion: true };
  for (const line of completeLines(text)) {
    if (line.startsWith('end')) {
      reply.ended = true;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    // prettier-ignore
    switch (key) {
      case 'auth_ok': reply.authOk = number(value); break;
      case 'uid': reply.uid = number(value); break;
      case 'gid': reply.gid = number(value); break;
      case 'dir': reply.dir = value; break;
      case 'slow_tilde_expansion': reply.slowTildeExpansion = number(value) !== 0; break;
      case 'throttling_bandwidth_ul': reply.bandwidthUp = number(value); break;
      case 'throttling_bandwidth_dl': reply.bandwidthDown = number(value); break;
      case 'user_quota_size': reply.quotaBytes = number(value); break;
      case 'user_quota_files': reply.quotaFiles = number(value); break;
      case 'ratio_upload': reply.ratioUp = number(value); break;
      case 'ratio_download': reply.ratioDown = number(value); break;
      case 'per_user_max': reply.maxSessions = number(value); break;
    }
  }
  return reply;
}

/** Maps a reply to the chain's tri-state (upstream §3.5: -1 denied, 0 unknown, 1 ok). */
export function replyToResult(reply: ExtAuthReply, login: string, backend: string): AuthResult {
  if (!reply.ended) return { kind: 'denied', reason: 'extauth reply without "end"' };
  if (reply.authOk === 0) return { kind: 'unknown' };
  if (reply.authOk !== 1) return { kind: 'denied', reason: `extauth refused ${login}` };
  const { uid, gid, dir } = reply;
  if (uid === undefined || gid === undefined || uid <= 0 || gid <= 0 || dir === undefined || dir === '') {
    return { kind: 'denied', reason: `extauth accepted ${login} without a valid uid, gid (> 0) and dir` };
  }
  if (uid > 0xffffffff || gid > 0xffffffff)
    return { kind: 'denied', reason: `extauth: uid/gid out of range` };
  // Optional values only apply when > 0, as for the other backends (upstream §4.2).
  const pos = (n: number | undefined): number | undefined => (n !== undefined && n > 0 ? n : undefined);
  return directoryRecordResult(
    {
      login,
      uid,
      gid,
      home: dir,
      bandwidthUp: pos(reply.bandwidthUp),
      bandwidthDown: pos(reply.bandwidthDown),
      ratioUp: pos(reply.ratioUp),
      ratioDown: pos(reply.ratioDown),
      maxSessions: pos(reply.maxSessions),
      quotaFiles: pos(reply.quotaFiles),
      quotaBytes: pos(reply.quotaBytes),
    },
    backend,
  );
}
