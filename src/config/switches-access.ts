/**
 * Switch table, part 2: who may log in, how, and what anonymous users and FXP may do (upstream §1.2,
 * §3.1, §6.1, §6.2).
 */
import { ValueError } from './errors.js';
import type { SwitchSpec } from './switch-spec.js';
import type { AuthMethod } from './types.js';
import { parseInteger, parsePath } from './values.js';
import { parseIp } from '../auth/cidr.js';
import { DEFAULT_ALIASES_FILE } from '../policy/aliases.js';
import { DEFAULT_VHOST_DIR } from '../policy/vhosts.js';
import { findLanguage, LANGUAGES } from '../i18n/languages.js';

/** `-l` methods in Pure-FTPd's order (upstream §3.1); those mapped to true need `:arg`. */
const AUTH_METHODS = new Map<AuthMethod['method'], boolean>([
  ['unix', false],
  ['pam', false],
  ['mysql', true],
  ['pgsql', true],
  ['ldap', true],
  ['puredb', true],
  ['extauth', true],
]);

/** Largest --auth-delay a Node timer can wait (2^31-1 ms). */
const MAX_TIMER_MS = 2147483647;

/** Parses `method[:arg]` of -l; method names match case-insensitively (upstream §3.1). */
function parseAuthMethod(value: string, cwd: string): AuthMethod {
  const colon = value.indexOf(':');
  const name = (colon < 0 ? value : value.slice(0, colon)).toLowerCase();
  const arg = colon < 0 ? '' : value.slice(colon + 1);
  const needsArg = AUTH_METHODS.get(name as AuthMethod['method']);
  if (needsArg === undefined) {
    throw new ValueError(
      `unknown authentication method (expected one of ${[...AUTH_METHODS.keys()].join(', ')})`,
    );
  }
  const method = name as AuthMethod['method'];
  // unix takes no argument (Pure-FTPd ignores one); `pam:SERVICE` names the PAM service (tsftpd).
  if (!needsArg) return method === 'pam' && arg !== '' ? { method, arg } : { method };
  if (arg === '') throw new ValueError(`${method} needs a file: -l ${method}:/path/to/file`);
  return { method, arg: parsePath(arg, cwd, `the ${method} file`) };
}

/** Login, anonymous and FXP switches. */
export const ACCESS_SWITCHES: readonly SwitchSpec[] = [
  {
    short: 'l',
    pureName: 'login',
    name: 'login',
    arg: 'method[:arg]',
    help: 'add an authentication method to the chain: puredb:FILE, unix, pam[:SERVICE], ldap:FILE, mysql:FILE, pgsql:FILE, extauth:SOCKET',
    conf: [
      { key: 'PureDB', form: 'value', prefix: 'puredb:' },
      { key: 'UnixAuthentication', form: 'bool', value: 'unix' },
      { key: 'PAMAuthentication', form: 'bool', value: 'pam' },
      { key: 'LDAPConfigFile', form: 'value', prefix: 'ldap:' },
      { key: 'MySQLConfigFile', form: 'value', prefix: 'mysql:' },
      { key: 'PGSQLConfigFile', form: 'value', prefix: 'pgsql:' },
      { key: 'ExtAuth', form: 'value', prefix: 'extauth:' },
    ],
    apply: (c, v, ctx) => {
      // The chain of a later source replaces the earlier one: flags override the file as a whole.
      if (ctx.firstInSource('login')) c.auth = [];
      c.auth.push(parseAuthMethod(v, ctx.cwd));
    },
  },
  {
    short: 'e',
    pureName: 'anonymousonly',
    name: 'anonymous-only',
    help: 'only anonymous logins; every user name logs in as anonymous',
    conf: [{ key: 'AnonymousOnly', form: 'bool' }],
    // Pure-FTPd keeps one tri-state for -e/-E, so the last one given wins (upstream §1.2).
    apply: (c) => void ((c.anonymousOnly = true), (c.noAnonymous = false)),
  },
  {
    short: 'E',
    pureName: 'noanonymous',
    name: 'no-anonymous',
    help: 'no anonymous logins',
    conf: [{ key: 'NoAnonymous', form: 'bool' }],
    apply: (c) => void ((c.noAnonymous = true), (c.anonymousOnly = false)),
  },
  {
    short: 'i',
    pureName: 'anonymouscantupload',
    name: 'anonymous-cant-upload',
    help: 'anonymous users cannot upload',
    conf: [{ key: 'AnonymousCantUpload', form: 'bool' }],
    apply: (c) => void (c.anonymousCantUpload = true),
  },
  {
    short: 'M',
    pureName: 'anonymouscancreatedirs',
    name: 'anonymous-can-create-dirs',
    help: 'anonymous users may create directories',
    conf: [{ key: 'AnonymousCanCreateDirs', form: 'bool' }],
    apply: (c) => void (c.anonymousCanCreateDirs = true),
  },
  {
    short: 'A',
    pureName: 'chrooteveryone',
    name: 'chroot-everyone',
    help: 'confine every account to its home directory (except root)',
    conf: [{ key: 'ChrootEveryone', form: 'bool' }],
    apply: (c) => void (c.chrootEveryone = true),
  },
  {
    short: 'j',
    pureName: 'createhomedir',
    name: 'create-home-dir',
    help: 'create missing home directories at login',
    conf: [{ key: 'CreateHomeDir', form: 'bool' }],
    apply: (c) => void (c.createHomeDir = true),
  },
  {
    short: 'b',
    pureName: 'brokenclientscompatibility',
    name: 'broken-clients-compatibility',
    help: 'work around broken clients (no EPSV over IPv4, symlinks listed as their targets, ...)',
    conf: [{ key: 'BrokenClientsCompatibility', form: 'bool' }],
    apply: (c) => void (c.brokenClients = true),
  },
  {
    short: 'w',
    pureName: 'allowuserfxp',
    name: 'allow-user-fxp',
    help: 'allow FXP (server-to-server transfers) for authenticated users',
    conf: [{ key: 'AllowUserFXP', form: 'bool' }],
    // Pure-FTPd keeps one level for -w/-W, so a later -w narrows an earlier -W (upstream §1.2).
    apply: (c) => void ((c.allowUserFxp = true), (c.allowAnonymousFxp = false)),
  },
  {
    short: 'W',
    pureName: 'allowanonymousfxp',
    name: 'allow-anonymous-fxp',
    help: 'allow FXP for everybody, anonymous users included',
    conf: [{ key: 'AllowAnonymousFXP', form: 'bool' }],
    apply: (c) => void ((c.allowUserFxp = true), (c.allowAnonymousFxp = true)),
  },
  {
    name: 'anonymous-root',
    arg: 'dir',
    help: 'home of anonymous users (default: home of the ftp system account)',
    conf: [{ key: 'AnonymousRoot', form: 'value' }],
    apply: (c, v, ctx) => void (c.anonymousRoot = parsePath(v, ctx.cwd, 'the anonymous root')),
  },
  {
    name: 'passwd-file',
    arg: 'file',
    help: 'also read accounts from this pureftpd.passwd text file (after the -l chain)',
    conf: [{ key: 'PasswdFile', form: 'value' }],
    apply: (c, v, ctx) => void (c.passwdFile = parsePath(v, ctx.cwd, 'the passwd file')),
  },
  {
    name: 'auth-delay',
    arg: 'ms',
    help: 'unit of the delay after a failed login, in milliseconds (default 3000)',
    conf: [{ key: 'AuthDelay', form: 'value' }],
    apply: (c, v) => void (c.authDelayMs = parseInteger(v, 'the delay', 0, MAX_TIMER_MS)),
  },
  {
    short: 'V',
    pureName: 'trustedip',
    name: 'trusted-ip',
    arg: 'address',
    help: 'accounts may log in only on connections to this local address; others are anonymous-only',
    conf: [{ key: 'TrustedIP', form: 'value' }],
    apply: (c, v) => {
      if (parseIp(v) === undefined)
        throw new ValueError(
          'expected a numeric IPv4 or IPv6 address (the local address trusted for accounts)',
        );
      c.trustedIp = v;
    },
  },
  {
    short: 'a',
    pureName: 'trustedgid',
    name: 'trusted-gid',
    arg: 'gid',
    help: 'chroot every account but root and members of this group (who are also exempt from quotas, ratios, -x/-X, -K)',
    conf: [{ key: 'TrustedGID', form: 'value' }],
    apply: (c, v) => void (c.trustedGid = parseInteger(v, 'the trusted gid', 0, 0xfffffffe)),
  },
  {
    name: 'aliases-file',
    arg: 'file',
    help: `directory aliases for CWD and SITE ALIAS: lines of alias, then directory (default ${DEFAULT_ALIASES_FILE} if it exists)`,
    conf: [{ key: 'AliasesFile', form: 'value' }],
    apply: (c, v, ctx) => void (c.aliasesFile = parsePath(v, ctx.cwd, 'the aliases file')),
  },
  {
    name: 'hash-limit',
    arg: 'MB',
    help: 'MB each session may hash per minute with HASH, XMD5, XSHA1, XSHA256, XSHA512, XCRC (default 2048; 0: those commands are off)',
    conf: [{ key: 'HashLimit', form: 'value' }],
    apply: (c, v) => void (c.hashLimitMb = parseInteger(v, 'the hash limit', 0, 1_000_000)),
  },
  {
    name: 'language',
    arg: 'tag',
    help: "language of the replies: en (default), de, ro, fr, fr-x-funny, pl, es, da, nl, it, pt-BR, sk, ko, sv, no, ru, zh-TW, zh-CN, cs, tr, hu, ca, sq (or Pure-FTPd's names: german, french-funny, ...); clients may pick another with LANG",
    conf: [{ key: 'Language', form: 'value' }],
    apply: (c, v) => {
      const l = findLanguage(v);
      if (l === undefined)
        throw new ValueError(`unknown language "${v}" (one of ${LANGUAGES.map((x) => x.tag).join(', ')})`);
      c.language = l.tag;
    },
  },
  {
    name: 'vhost-dir',
    arg: 'dir',
    help: `virtual hosts: anonymous sessions on local address IP get DIR/IP as root when it exists (default ${DEFAULT_VHOST_DIR}; none: off)`,
    conf: [{ key: 'VirtualHostsDir', form: 'value' }],
    apply: (c, v, ctx) =>
      void (c.vhostDir = v === 'none' ? false : parsePath(v, ctx.cwd, 'the virtual hosts directory')),
  },
];
