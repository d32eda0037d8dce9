/**
 * The authentication chain (upstream §3.1): backends run in `-l` order; `unknown` passes to the next,
 * `ok` and `denied` stop. A backend that throws is logged and treated as `unknown`, so one broken
 * backend never locks everybody out nor crashes the server; an FtpError (a 421 such as an unreadable
 * .pdb) is passed up so the session can end with that reply.
 */
import { FtpError } from '../errors.js';
import type { EventBus } from '../telemetry/bus.js';
import type { Account, AuthResult, Authenticator, Credentials } from './types.js';
import { systemDb } from './system-db.js';

/** What sessions authenticate with: the chain in this process, or a proxy to the parent's chain. */
export interface Authentication {
  /** Asks each backend in turn; `unknown` when none knows the login. */
  authenticate(login: string, cred: Credentials): Promise<AuthResult>;
  /** Releases pools, watchers and sockets. */
  close(): Promise<void>;
}

/** Runs the configured backends in order. */
export class AuthChain implements Authentication {
  constructor(
    private readonly backends: readonly Authenticator[],
    private readonly bus?: EventBus,
    /** -a: the trusted group. */
    private readonly trustedGid?: number,
  ) {}

  /** Number of backends (0 = only anonymous logins can work). */
  get size(): number {
    return this.backends.length;
  }

  /** Asks each backend in turn; `unknown` when none knows the login. */
  async authenticate(login: string, cred: Credentials): Promise<AuthResult> {
    for (const backend of this.backends) {
      let result: AuthResult;
      try {
        result = await backend.authenticate(login, cred);
      } catch (err) {
        // A backend that cannot work at all (unreadable .pdb) ends the session, as Pure-FTPd does.
        if (err instanceof FtpError) throw err;
        this.bus?.log(undefined, 'ERROR', `auth backend ${backend.name} failed: ${String(err)}`);
        continue;
      }
      if (result.kind === 'denied') return { ...result, backend: result.backend ?? backend.name };
      if (result.kind === 'ok') return { kind: 'ok', account: await this.withTrust(result.account) };
      if (result.kind !== 'unknown') return result;
    }
    return { kind: 'unknown' };
  }

  /** The account marked trusted when it is root or in the -a group (its groups as initgroups gives them). */
  private async withTrust(account: Account): Promise<Account> {
    if (account.anonymous) return account;
    let trusted = account.uid === 0;
    if (!trusted && this.trustedGid !== undefined) {
      trusted =
        account.gid === this.trustedGid ||
        (await systemDb().groupIdsOf(account.login, account.gid)).includes(this.trustedGid);
    }
    return { ...account, trusted };
  }

  /** Closes every backend (pools, watchers). */
  async close(): Promise<void> {
    await Promise.all(this.backends.map(async (b) => b.close?.()));
  }
}
