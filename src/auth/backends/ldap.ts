/**
 * `-l ldap:FILE` (upstream §3.7): accounts from an LDAP directory. Guarantees: the login is checked
 * against Pure-FTPd's charset and escaped before it enters the filter (no filter injection); an
 * entry that is found always ends the chain (ok or denied, never a fall-through), except when it
 * has no home and no default, as in Pure-FTPd; uid/gid 0 are refused; the BIND method never binds
 * with an empty password (that would be an unauthenticated bind, which servers accept); every
 * network step is bounded, and a directory that cannot be reached or queried ends the session
 * with 421 instead of hanging or silently passing the login to the next backend.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError, type Entry } from 'ldapts';
import { FtpError } from '../../errors.js';
import type { LogLevel } from '../../telemetry/bus.js';
import { MAX_PASSWORD_LENGTH, isArgon2Hash, verifyPassword } from '../hashes/index.js';
import { directoryRecordResult } from '../passwd-line.js';
import type { AuthResult, Authenticator, Credentials } from '../types.js';
import { buildLdapFilter, isValidLdapLogin, type LdapConfig } from './ldap-conf.js';

/** Receives operator messages; never sees passwords. */
export type BackendLog = (level: LogLevel, message: string) => void;

/** Attributes read from the entry (log_ldap.c); the home attribute is added from the configuration. */
const ATTRIBUTES = [
  'uidNumber',
  'FTPuid',
  'gidNumber',
  'FTPgid',
  'userPassword',
  'loginShell',
  'FTPStatus',
  'FTPQuotaFiles',
  'FTPQuotaMBytes',
  'FTPDownloadRatio',
  'FTPUploadRatio',
  'FTPDownloadBandwidth',
  'FTPUploadBandwidth',
];

/** The reply text Pure-FTPd users know for a backend that cannot answer right now. */
const TEMPORARY_FAILURE = 'Temporary authentication failure, try again later';

/** The first value of an attribute, matched case-insensitively (servers may change the case). */
function first(entry: Entry, name: string): string | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  if (key === undefined || key === 'dn') return undefined;
  const v = entry[key];
  const one = Array.isArray(v) ? v[0] : v;
  if (one === undefined) return undefined;
  return typeof one === 'string' ? one : one.toString('utf8');
}

/** strtoul(3): leading decimal digits, 0 otherwise — how Pure-FTPd reads every numeric attribute. */
function leadingNumber(text: string | undefined): number {
  const m = text === undefined ? null : /^\s*\+?(\d{1,15})/.exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** Constant-time comparison of two strings of any length (compares digests, so length leaks nothing). */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Bounds a promise: rejects with `Error(what + ' timed out')` after `ms`. */
async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Authenticates accounts stored in an LDAP directory (one connection per login, as Pure-FTPd). */
export class LdapAuthenticator implements Authenticator {
  /** Backend name as given to `-l`. */
  readonly name = 'ldap';

  constructor(
    private readonly cfg: LdapConfig,
    private readonly log: BackendLog = () => undefined,
  ) {
    for (const w of cfg.warnings) log('WARNING', `ldap: ${w}`);
  }

  /** TLS settings for ldaps and StartTLS: certificate checked against the configured host. */
  private tlsOptions(): ConnectionOptions {
    const opts: ConnectionOptions = {
      host: this.cfg.host,
      rejectUnauthorized: this.cfg.verifyCertificate,
      minVersion: 'TLSv1.2',
    };
    if (net.isIP(this.cfg.host) === 0) opts.servername = this.cfg.host;
    if (this.cfg.ca !== undefined) opts.ca = this.cfg.ca;
    return opts;
  }

  private client(): Client {
    const { cfg } = this;
    const socketPath = cfg.socketPath;
    return new Client({
      // With ldapi the URL only picks plain LDAP framing; the socket comes from createConnection.
      url:
        socketPath !== undefined
          ? 'ldap://localhost'
          : `${cfg.scheme}://${net.isIP(cfg.host) === 6 ? `[${cfg.host}]` : cfg.host}:${cfg.port}`,
      timeout: cfg.timeoutMs,
      connectTimeout: cfg.timeoutMs,
      tlsOptions: cfg.scheme === 'ldaps' ? this.tlsOptions() : undefined,
      ...(socketPath === undefined ? {} : { createConnection: () => net.connect(socketPath) }),
    });
  }

  /** A directory that cannot answer: log the cause for the operator, 421 for the client. */
  private unavailable(step: string, err: unknown): FtpError {
    const cause = err instanceof Error ? err.message.split('\n')[0] : String(err);
    this.log('ERROR', `ldap: directory ${this.cfg.url} unavailable (${step}): ${cause}`);
    return new FtpError('ERR_UNAVAILABLE', TEMPORARY_FAILURE, { cause: err });
  }

  /** Runs one step against the directory; any failure but a refused user bind becomes a 421. */
  private async step<T>(name: string, run: () => Promise<T>): Promise<T> {
    try {
      // The library bounds each request; this also bounds TLS handshakes it does not time.
      return await bounded(run(), this.cfg.timeoutMs + 1000, name);
    } catch (err) {
      throw this.unavailable(name, err);
    }
  }

  /** Looks the login up, then checks the password with the configured method. */
  async authenticate(login: string, cred: Credentials): Promise<AuthResult> {
    // Upstream §3.7: other characters (`*`, `(`, `)`, `\`...) mean "not ours", before any query.
    if (!isValidLdapLogin(login)) return { kind: 'unknown' };
    const client = this.client();
    try {
      if (this.cfg.startTls) await this.step('StartTLS', () => client.startTLS(this.tlsOptions()));
      if (this.cfg.bindDn !== undefined) {
        const { bindDn, bindPassword } = this.cfg;
        await this.step('bind as LDAPBindDN', () => client.bind(bindDn, bindPassword));
      }
      const filter = buildLdapFilter(this.cfg.filter, login);
      const result = await this.step('search', () =>
        client.search(this.cfg.baseDn, {
          scope: 'sub',
          filter,
          // The BIND method never needs the stored password: do not even ask for it.
          attributes: [
            this.cfg.homeAttribute,
            ...ATTRIBUTES.filter((a) => this.cfg.authMethod === 'password' || a !== 'userPassword'),
          ],
          sizeLimit: 2,
          timeLimit: Math.ceil(this.cfg.timeoutMs / 1000),
        }),
      );
      const entries = result.searchEntries;
      if (entries.length === 0) return { kind: 'unknown' };
      if (entries.length > 1) {
        // Pure-FTPd would take whichever came first; a login must designate one account.
        this.log('WARNING', `ldap: LDAPFilter matches several entries for ${login}; login refused`);
        return { kind: 'denied', reason: 'several LDAP entries match the login' };
      }
      return await this.check(client, login, entries[0], cred.password);
    } finally {
      await bounded(client.unbind(), 1000, 'unbind').catch(() => undefined);
    }
  }

  /** The decision once the entry is known (upstream §3.7 order: status, home, password, ids). */
  private async check(client: Client, login: string, entry: Entry, password: string): Promise<AuthResult> {
    const status = first(entry, 'FTPStatus');
    if (status !== undefined && !/^(enabled|true)$/i.test(status)) {
      return { kind: 'denied', reason: `account disabled (FTPStatus ${status})` };
    }
    const home = first(entry, this.cfg.homeAttribute) || this.cfg.defaultHome;
    if (home === undefined || home === '') return { kind: 'unknown' };
    const passwordOk =
      this.cfg.authMethod === 'bind'
        ? await this.bindAsUser(client, entry.dn, password)
        : await this.comparePassword(login, first(entry, 'userPassword'), password);
    if (!passwordOk) return { kind: 'denied', reason: 'bad password' };
    const uid = this.pickId(entry, 'FTPuid', 'uidNumber', this.cfg.defaultUid, this.cfg.forceDefaultUid);
    const gid = this.pickId(entry, 'FTPgid', 'gidNumber', this.cfg.defaultGid, this.cfg.forceDefaultGid);
    const positive = (name: string): number | undefined => {
      const n = leadingNumber(first(entry, name));
      return n > 0 ? n : undefined;
    };
    const mb = positive('FTPQuotaMBytes');
    const kbUp = positive('FTPUploadBandwidth');
    const kbDown = positive('FTPDownloadBandwidth');
    // The shared rules apply (passwd-line.ts): uid/gid 0 refused, absolute home, `/./` chroot split.
    return directoryRecordResult(
      {
        login,
        uid,
        gid,
        home,
        quotaFiles: positive('FTPQuotaFiles'),
        quotaBytes: mb === undefined ? undefined : mb * 1024 * 1024,
        ratioUp: positive('FTPUploadRatio'),
        ratioDown: positive('FTPDownloadRatio'),
        bandwidthUp: kbUp === undefined ? undefined : kbUp * 1024,
        bandwidthDown: kbDown === undefined ? undefined : kbDown * 1024,
      },
      this.name,
    );
  }

  /** FTPxid, else xidNumber, else the default; the default always wins when forced and set. */
  private pickId(
    entry: Entry,
    ftp: string,
    posix: string,
    fallback: number | undefined,
    force: boolean,
  ): number {
    if (force && fallback !== undefined) return fallback;
    return leadingNumber(first(entry, ftp)) || leadingNumber(first(entry, posix)) || (fallback ?? 0);
  }

  /** BIND method: a bind as the entry's DN with the typed password decides. */
  private async bindAsUser(client: Client, dn: string, password: string): Promise<boolean> {
    // RFC 4513 §5.1.2: a simple bind with an empty password is an unauthenticated bind that succeeds.
    if (password === '' || password.length > MAX_PASSWORD_LENGTH) return false;
    try {
      await bounded(client.bind(dn, password), this.cfg.timeoutMs + 1000, 'bind as the user');
      return true;
    } catch (err) {
      // invalidCredentials, but also e.g. a locked account (ppolicy): the directory said no.
      if (err instanceof ResultCodeError) return false;
      throw this.unavailable('bind as the user', err);
    }
  }

  /** PASSWORD method: userPassword with `{argon2}`, `{scrypt}`, `{crypt}` or cleartext (upstream §3.7). */
  private async comparePassword(
    login: string,
    stored: string | undefined,
    password: string,
  ): Promise<boolean> {
    if (stored === undefined) {
      this.log(
        'WARNING',
        `ldap: no userPassword readable for ${login}: does LDAPBindDN have read access to it?`,
      );
      return false;
    }
    const scheme = /^\{([^}]*)\}/.exec(stored);
    if (scheme === null) {
      // Cleartext; Pure-FTPd refuses empty passwords here.
      return password !== '' && password.length <= MAX_PASSWORD_LENGTH && sameSecret(password, stored);
    }
    const rest = stored.slice(scheme[0].length);
    switch (scheme[1].toLowerCase()) {
      case 'argon2':
        return isArgon2Hash(rest) && verifyPassword(password, rest);
      case 'scrypt':
        return rest.startsWith('$7$') && verifyPassword(password, rest);
      case 'crypt':
        return verifyPassword(password, rest);
      default:
        // 1.0.50 would compare `{SSHA}...` as cleartext, so typing the stored hash logged in: refuse.
        this.log('WARNING', `ldap: unsupported password scheme {${scheme[1]}} for ${login}; login refused`);
        return false;
    }
  }
}
