/**
 * A worker's authentication: the parent runs the chain (it may read /etc/shadow, talk PAM, hold the
 * database pools), so passwords go to the parent over the IPC channel and never to a log.
 */
import type { Authentication } from '../auth/chain.js';
import type { AuthResult, Credentials } from '../auth/types.js';
import type { ParentLink } from './parent-link.js';

/** The parent's chain, seen from a worker. */
export class IpcAuthentication implements Authentication {
  constructor(private readonly link: ParentLink) {}

  async authenticate(login: string, cred: Credentials): Promise<AuthResult> {
    return (await this.link.call('auth', { login, cred })) as AuthResult;
  }

  async close(): Promise<void> {
    // The chain is the parent's.
  }
}
