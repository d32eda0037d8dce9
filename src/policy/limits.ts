/**
 * The limits that apply to one logged-in session (upstream §4.2, §5): per-account values from the
 * backend win over the global switches; root (uid 0) gets no quota and no ratio; anonymous gets no
 * quota. Computed once at login.
 */
import type { Account } from '../auth/types.js';
import { isTrusted } from './login-rules.js';
import type { Config } from '../config/types.js';
import type { QuotaLimits } from './quota.js';
import type { Ratio } from './ratio.js';

/** What one session is held to. */
export interface EffectiveLimits {
  quota?: QuotaLimits;
  ratio?: Ratio;
  /** Bytes per second. */
  bandwidth?: { up?: number; down?: number };
  /** Concurrent sessions of this account (anonymous has its own total, -y). */
  maxSessions?: number;
}

function positive(n: number | undefined): number | undefined {
  return n !== undefined && n > 0 ? n : undefined;
}

/** The limits of an account under a configuration. */
export function effectiveLimits(account: Account, config: Readonly<Config>): EffectiveLimits {
  const out: EffectiveLimits = {};
  // Root and the -a trusted group: no quota, no ratio (upstream §6.2).
  const privileged = isTrusted(account);
  if (!account.anonymous && !privileged) {
    const files = positive(account.quota?.files) ?? positive(config.quota?.files);
    const bytes = positive(account.quota?.bytes) ?? positive(config.quota?.bytes);
    if (files !== undefined || bytes !== undefined) out.quota = { files, bytes };
  }
  if (account.ratio !== undefined) out.ratio = account.ratio;
  else if (account.anonymous) out.ratio = config.anonymousRatio;
  else if (!privileged) out.ratio = config.userRatio;
  if (out.ratio === undefined) delete out.ratio;
  // Upstream §4.2: a backend value > 0 overrides -t/-T and forces throttling for that account.
  const throttled = account.anonymous ? config.throttleAnonymous : config.throttleUsers;
  const up = positive(account.bandwidth?.up) ?? (throttled ? positive(config.bandwidth?.up) : undefined);
  const down =
    positive(account.bandwidth?.down) ?? (throttled ? positive(config.bandwidth?.down) : undefined);
  if (up !== undefined || down !== undefined) out.bandwidth = { up, down };
  const max =
    positive(account.maxSessions) ?? (account.anonymous ? undefined : config.perUserLimits?.perUser);
  if (max !== undefined) out.maxSessions = max;
  return out;
}
