/**
 * Which control connection issued which TLS session: the data-session binding (session-tls.ts)
 * accepts a data connection that resumes a session issued to a control connection of the same
 * account from the same client address — not only its own, because clients that keep several
 * control connections (rclone) share one session cache between them.
 * Guarantees: every control connection has its own ticket keys, so a ticket names its issuer by its
 * key name (the first 16 bytes of the keys, which OpenSSL writes at the head of every ticket);
 * a data connection can resume a session only through its issuer's keys or session-id list, and
 * only after `allowed` checked that issuer's address and account. Memory is bounded: live issuers
 * are the live TLS control sessions; ended ones are kept (keys, address, account, a few session
 * ids; no TLS context) for RETAIN_MS, at most MAX_RETIRED of them.
 */
import { randomBytes } from 'node:crypto';
import type tls from 'node:tls';
import { sameIp } from '../data/passive.js';

/** TLS 1.2 session ids remembered per issuer. */
const SESSIONS_PER_ISSUER = 16;
/** How long the sessions of an ended control connection stay resumable. */
export const RETAIN_MS = 3600_000;
/** Ended control connections remembered at most. */
const MAX_RETIRED = 4096;
/** Bytes of ticket keys (Node: 16 name, 16 HMAC, 16 AES) and of the key name. */
const TICKET_KEYS_BYTES = 48;
const KEY_NAME_BYTES = 16;

/** Who a control connection is: its client address, and its account once logged in. */
export interface IssuerOwner {
  remoteIp: string;
  /** Account name once logged in (`ftp` for anonymous); read when a data connection is checked. */
  account?: string;
}

/** The TLS identity of one control connection. */
export interface Issuer {
  /** Ticket keys of its contexts (a random 48 bytes); the first 16 bytes name its tickets. */
  readonly ticketKeys: Buffer;
  /** Hex of the key name: the registry key. */
  readonly keyName: string;
  /** OpenSSL resumes a session only in a context with the same session id context. */
  readonly sessionIdContext: string;
  /** The control session it belongs to (set once the session exists). */
  owner?: IssuerOwner;
  /** Its TLS context while known (dropped when the control session ends, rebuilt on demand). */
  context?: tls.SecureContext;
  /** TLS 1.2 session ids it issued (hex) and their session data, oldest first. */
  readonly sessions: Map<string, Buffer>;
  /** When its control session ended (undefined while live). */
  retiredAt?: number;
}

/** Makes the identity of a new control connection (not registered yet). */
export function newIssuer(): Issuer {
  const ticketKeys = randomBytes(TICKET_KEYS_BYTES);
  return {
    ticketKeys,
    keyName: ticketKeys.subarray(0, KEY_NAME_BYTES).toString('hex'),
    sessionIdContext: randomBytes(16).toString('hex'),
    sessions: new Map(),
  };
}

/** True when a data connection of `owner` may resume a session issued under `issuer`. */
export function allowed(issuer: Issuer, owner: IssuerOwner): boolean {
  const o = issuer.owner;
  return (
    o !== undefined &&
    o.account !== undefined &&
    o.account === owner.account &&
    sameIp(o.remoteIp, owner.remoteIp)
  );
}

/** The server-wide registry of issuers (one per certificate store). */
export class IssuedSessions {
  private readonly byKeyName = new Map<string, Issuer>();
  private readonly bySessionId = new Map<string, Issuer>();
  /** Ended issuers, oldest first. */
  private readonly retired = new Map<string, Issuer>();

  /** Records a live control connection's identity. */
  register(issuer: Issuer): void {
    this.byKeyName.set(issuer.keyName, issuer);
  }

  /** The control connection ended: keep what resumption needs for RETAIN_MS, drop its context. */
  retire(issuer: Issuer, now = Date.now()): void {
    if (this.byKeyName.get(issuer.keyName) !== issuer || issuer.retiredAt !== undefined) return;
    issuer.retiredAt = now;
    issuer.context = undefined;
    if (issuer.owner?.account === undefined) {
      // Never logged in: nobody may resume its sessions, nothing to keep.
      this.drop(issuer);
      return;
    }
    issuer.owner = { remoteIp: issuer.owner.remoteIp, account: issuer.owner.account };
    this.retired.set(issuer.keyName, issuer);
    this.prune(now);
  }

  /** Remembers a TLS 1.2 session id issued under `issuer` (bounded per issuer). */
  remember(issuer: Issuer, id: Buffer, data: Buffer): void {
    if (this.byKeyName.get(issuer.keyName) !== issuer) return;
    const key = id.toString('hex');
    if (issuer.sessions.size >= SESSIONS_PER_ISSUER) {
      const oldest = issuer.sessions.keys().next().value as string;
      issuer.sessions.delete(oldest);
      if (this.bySessionId.get(oldest) === issuer) this.bySessionId.delete(oldest);
    }
    issuer.sessions.set(key, data);
    this.bySessionId.set(key, issuer);
  }

  /** The issuer of a ticket (by its key name), if it is known and not expired. */
  byTicket(ticket: Buffer, now = Date.now()): Issuer | undefined {
    if (ticket.length < KEY_NAME_BYTES) return undefined;
    this.prune(now);
    return this.byKeyName.get(ticket.subarray(0, KEY_NAME_BYTES).toString('hex'));
  }

  /** The issuer of a TLS 1.2 session id and the session's data, if known and not expired. */
  bySession(id: Buffer, now = Date.now()): { issuer: Issuer; data: Buffer } | undefined {
    if (id.length === 0) return undefined;
    this.prune(now);
    const key = id.toString('hex');
    const issuer = this.bySessionId.get(key);
    const data = issuer?.sessions.get(key);
    return issuer === undefined || data === undefined ? undefined : { issuer, data };
  }

  /** Number of issuers known (live and retired), for tests and metrics. */
  get size(): number {
    return this.byKeyName.size;
  }

  private prune(now: number): void {
    for (const issuer of this.retired.values()) {
      const expired = now - (issuer.retiredAt ?? now) >= RETAIN_MS;
      if (!expired && this.retired.size <= MAX_RETIRED) break;
      this.drop(issuer);
    }
  }

  private drop(issuer: Issuer): void {
    this.retired.delete(issuer.keyName);
    if (this.byKeyName.get(issuer.keyName) === issuer) this.byKeyName.delete(issuer.keyName);
    for (const id of issuer.sessions.keys()) {
      if (this.bySessionId.get(id) === issuer) this.bySessionId.delete(id);
    }
    issuer.sessions.clear();
  }
}
