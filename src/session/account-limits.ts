/**
 * Wiring an account's limits into its session (upstream §4.2, §5): the per-account session slot, the
 * shared `.ftpquota`, the shared bandwidth limiters and the 230 lines that announce them. Every
 * resource taken here is given back when the session ends.
 */
import { FtpError } from '../errors.js';
import type { Account } from '../auth/types.js';
import { effectiveLimits, type EffectiveLimits } from '../policy/limits.js';
import { acquireQuotaFile, quotaStatusLines, releaseQuotaFile, type QuotaFile } from '../policy/quota.js';
import type { SessionContext } from './context.js';
import type { Identity } from '../storage/confined.js';
import { tr } from '../i18n/msg.js';
import type { ReplyLine } from './reply.js';

/** Lines for the 230 reply (upstream §2.3 PASS): bandwidth and ratio notes, and quota status lines. */
export interface LimitLines {
  bandwidth: ReplyLine[];
  ratio: ReplyLine[];
  after: ReplyLine[];
  /** The account's shared `.ftpquota`, when it has a quota (login wraps its storage with it). */
  quota?: QuotaFile;
}

/** The StateStore key that counts an account's sessions. */
function slotKey(account: Account): string {
  return account.anonymous ? '\0anonymous' : `user:${account.login}`;
}

/**
 * Takes the anonymous slot at USER time (upstream §4.2: -y's second value is checked at USER).
 * Throws FtpError 421 when anonymous is full.
 */
export async function takeAnonymousSlot(s: SessionContext): Promise<void> {
  const max = s.server.config.perUserLimits?.anonymous;
  if (max === undefined) return;
  if (!(await takeSlot(s, '\0anonymous', max))) {
    throw new FtpError(
      'ERR_SESSION_LIMIT',
      tr`I can't accept more than ${max} connections as the same user`,
      {
        detail: `anonymous refused: Too many anonymous sessions: per-user limit -y allows ${max}`,
      },
    );
  }
}

/**
 * Takes a slot of the shared state for the session's life. A session that ended while the answer
 * was on its way gives the slot straight back.
 */
async function takeSlot(s: SessionContext, key: string, max: number): Promise<boolean> {
  const taken = await s.server.state.acquire(key, max);
  if (!taken) return false;
  if (s.isClosing) s.server.state.release(key);
  else s.onClose(() => s.server.state.release(key));
  return true;
}

/** Computes the limits of an account (before its storage exists: quotas force a chroot). */
export function limitsFor(s: SessionContext, account: Account): EffectiveLimits {
  return effectiveLimits(account, s.server.config);
}

/**
 * Applies the limits to a logging-in session rooted at `root` (canonical); throws FtpError 421 when
 * the account already has its maximum number of sessions.
 */
export async function attachLimits(
  s: SessionContext,
  account: Account,
  limits: EffectiveLimits,
  root: string,
  identity?: Identity,
): Promise<LimitLines> {
  const { state, rateLimiters } = s.server;
  if (limits.maxSessions !== undefined && !account.anonymous) {
    const key = slotKey(account);
    if (!(await takeSlot(s, key, limits.maxSessions))) {
      throw new FtpError(
        'ERR_SESSION_LIMIT',
        tr`I can't accept more than ${limits.maxSessions} connections as the same user`,
        {
          // The log names the rule (upstream §4.2): the account's own max_sessions, else -y.
          detail:
            `Too many sessions for [${account.login}]: ` +
            (account.maxSessions !== undefined && account.maxSessions > 0
              ? `account limit max_sessions=${limits.maxSessions}`
              : `per-user limit -y ${limits.maxSessions}`),
        },
      );
    }
  }
  s.limits = limits;
  const lines: LimitLines = { bandwidth: [], ratio: [], after: [] };
  if (limits.bandwidth !== undefined) {
    // One limiter per account and direction, so more sessions do not mean more bandwidth; anonymous
    // visitors are told apart by address.
    const who = account.anonymous ? `anon:${s.ref.remoteIp}` : `user:${account.login.toLowerCase()}`;
    for (const dir of ['up', 'down'] as const) {
      const rate = limits.bandwidth[dir];
      if (rate === undefined) continue;
      const key = `${who}:${dir}`;
      const limiter = rateLimiters.acquire(key, rate);
      s.rates[dir] = limiter;
      // Sessions of the account in other processes share the rate (StateStore shares).
      state.joinShare(key, (fraction) => limiter.share(fraction));
      s.onClose(() => {
        state.leaveShare(key);
        rateLimiters.release(key);
      });
    }
    lines.bandwidth.push(tr`Your bandwidth usage is restricted`);
  }
  if (limits.ratio !== undefined) {
    lines.ratio.push(tr`You must respect a ${limits.ratio.up}:${limits.ratio.down} (UL/DL) ratio`);
  }
  if (limits.quota !== undefined) {
    const request = { confine: true, weak: s.server.config.weakJail, identity, connection: s.connection };
    lines.quota = acquireQuotaFile(root, () => s.server.roots(root, request));
    s.onClose(() => releaseQuotaFile(root));
    lines.after.push(...quotaStatusLines(await lines.quota.read(), limits.quota));
  }
  return lines;
}
