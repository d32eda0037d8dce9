/**
 * `-l puredb:/path/file.pdb` (upstream §3.1, §3.4): virtual users from a PureDB file. Guarantees: the
 * login is looked up byte-exact in the index (O(log n) reads, never the whole file); unknown
 * logins fall through to the next backend; a wrong password, uid/gid 0 or a malformed record stop
 * the chain; a replaced `.pdb` (`pure-pw mkdb`) is used from the next login on, without a restart.
 * Address, time-window and session rules are the policy layer's job: they are only carried here.
 */
import { verifyPassword } from '../hashes/index.js';
import { isAcceptableLogin, parsePasswdLine, recordToAccount } from '../passwd-line.js';
import { PureDbReader } from '../pdb.js';
import type { AuthResult, Authenticator, Credentials } from '../types.js';

/** Options shared by the passwd-format backends. */
export interface PasswdBackendOptions {
  /** Receives operator warnings (ignored IP entries, unreadable file...); never sees passwords. */
  onWarning?: (message: string) => void;
  /** Minimum delay between two checks of the file for a new version, in ms. */
  checkIntervalMs?: number;
}

/**
 * Checks a password against one stored account (`rest` = the passwd line without `login:`) and
 * builds its Account; the password is checked first, as log_puredb.c does.
 */
export async function checkPasswdEntry(
  login: string,
  rest: string,
  password: string,
  backend: string,
  onWarning?: (message: string) => void,
): Promise<AuthResult> {
  const record = parsePasswdLine(`${login}:${rest}`);
  const hash = record?.hash ?? rest.slice(0, Math.max(0, rest.indexOf(':')));
  if (!(await verifyPassword(password, hash))) return { kind: 'denied', reason: 'bad password' };
  if (record === undefined) return { kind: 'denied', reason: `malformed account record for ${login}` };
  const result = recordToAccount(record, backend);
  if ('error' in result) return { kind: 'denied', reason: result.error };
  for (const warning of result.warnings) onWarning?.(`${backend}: ${login}: ${warning}`);
  return { kind: 'ok', account: result.account };
}

/** Authenticates virtual users against a `.pdb` made by `pure-pw mkdb` or `tsftpd pw mkdb`. */
export class PureDbAuthenticator implements Authenticator {
  /** Backend name as given to `-l`. */
  readonly name = 'puredb';
  private readonly reader: PureDbReader;
  private readonly onWarning?: (message: string) => void;

  /** `path`: the `.pdb` file; by default it is stat'ed before each lookup, as Pure-FTPd opens it per login. */
  constructor(path: string, opts: PasswdBackendOptions = {}) {
    this.reader = new PureDbReader(path, { checkIntervalMs: opts.checkIntervalMs ?? 0 });
    this.onWarning = opts.onWarning;
  }

  /** Throws a 421 FtpError when the file is missing or corrupt (Pure-FTPd ends the session then). */
  async authenticate(login: string, cred: Credentials): Promise<AuthResult> {
    if (!isAcceptableLogin(login)) return { kind: 'unknown' };
    const value = await this.reader.lookup(login);
    if (value === undefined) return { kind: 'unknown' };
    return checkPasswdEntry(login, value.toString('utf8'), cred.password, this.name, this.onWarning);
  }

  /** Closes the database file. */
  async close(): Promise<void> {
    await this.reader.close();
  }
}
