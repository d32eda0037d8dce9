/**
 * Builds the authentication chain from the configuration (upstream §3.1): `-l` entries in order, then
 * `--passwd-file`. With no `-l`, the default user database is used: `$PURE_DBFILE` or
 * /etc/pure-ftpd/pureftpd.pdb (./pureftpd.pdb with --quickstart), tolerated while it does not exist
 * yet so that `tsftpd pw mkdb` can create it later without a restart.
 */
import { existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/types.js';
import { FtpError } from '../errors.js';
import type { EventBus } from '../telemetry/bus.js';
import { AuthChain } from './chain.js';
import { pdbProblemText } from './pdb.js';
import { PureDbAuthenticator } from './backends/puredb.js';
import { PasswdFileAuthenticator } from './backends/passwd-file.js';
import { createMysqlAuthenticator } from './backends/mysql.js';
import { createPgsqlAuthenticator } from './backends/pgsql.js';
import { ExtAuthAuthenticator } from './backends/extauth.js';
import { LdapAuthenticator, type BackendLog } from './backends/ldap.js';
import { loadLdapConfig } from './backends/ldap-conf.js';
import { UnixAuthenticator } from './backends/unix.js';
import { PamAuthenticator } from './backends/pam.js';
import type { AuthResult, Authenticator, Credentials } from './types.js';
import { defaultUserFiles } from './default-files.js';

/** The default database: a missing file means "no users yet" instead of a broken server. */
class OptionalPureDb implements Authenticator {
  readonly name = 'puredb';
  private readonly inner: PureDbAuthenticator;

  constructor(
    private readonly file: string,
    onWarning: (m: string) => void,
  ) {
    this.inner = new PureDbAuthenticator(file, { onWarning });
  }

  private checkedAt = -Infinity;
  private exists = false;

  async authenticate(login: string, cred: Credentials): Promise<AuthResult> {
    // Whether the file exists is looked at once a second, not at every login.
    if (Date.now() - this.checkedAt >= 1000) {
      this.exists = await access(this.file).then(
        () => true,
        () => false,
      );
      this.checkedAt = Date.now();
    }
    if (!this.exists) return { kind: 'unknown' };
    try {
      return await this.inner.authenticate(login, cred);
    } catch (err) {
      if (err instanceof FtpError) return { kind: 'unknown' };
      throw err;
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Creates every backend of the chain; a bad ldap/mysql/pgsql file throws its error (file:line). A
 * `-l puredb` file that does not exist yet is a warning on the bus, with the command that makes it.
 */
export function buildAuthChain(
  config: Readonly<Config>,
  bus: EventBus,
  env: NodeJS.ProcessEnv = process.env,
): AuthChain {
  const warn = (m: string): void => bus.log(undefined, 'WARNING', m);
  const log: BackendLog = (level, m) => bus.log(undefined, level, m);
  const backends: Authenticator[] = [];
  for (const m of config.auth) {
    switch (m.method) {
      case 'puredb': {
        const file = path.resolve(m.arg ?? '');
        // Logins through it fail (421) until it exists: say so now, not only at the first login.
        if (!existsSync(file)) warn(`-l puredb: ${pdbProblemText(file, 'missing', { code: 'ENOENT' })}`);
        backends.push(new PureDbAuthenticator(file, { onWarning: warn }));
        break;
      }
      // The SQL configuration is read and checked now (a bad file stops the start-up); the pool
      // itself connects on the first login.
      case 'mysql':
        backends.push(createMysqlAuthenticator(path.resolve(m.arg ?? ''), { onWarning: warn }));
        break;
      case 'pgsql':
        backends.push(createPgsqlAuthenticator(path.resolve(m.arg ?? ''), { onWarning: warn }));
        break;
      case 'extauth':
        backends.push(new ExtAuthAuthenticator(path.resolve(m.arg ?? ''), { onWarning: warn }));
        break;
      case 'ldap':
        // The file is read now: a broken LDAP configuration stops the server at start-up (upstream §3.7).
        backends.push(new LdapAuthenticator(loadLdapConfig(path.resolve(m.arg ?? ''), env), log));
        break;
      case 'unix':
        backends.push(new UnixAuthenticator(log));
        break;
      case 'pam':
        backends.push(new PamAuthenticator({ service: m.arg, log }));
        break;
    }
  }
  if (config.auth.length === 0) {
    backends.push(new OptionalPureDb(defaultUserFiles(config.quickstart, env).pdb, warn));
  }
  if (config.passwdFile !== undefined) {
    backends.push(new PasswdFileAuthenticator(path.resolve(config.passwdFile), { onWarning: warn }));
  }
  return new AuthChain(backends, bus, config.trustedGid);
}
