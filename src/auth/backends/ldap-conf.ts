/**
 * The `-l ldap:FILE` configuration (upstream §3.6 parser rules, §3.7 keys), read once at start-up.
 * Guarantees: every key Pure-FTPd 1.0.50 accepts is understood with its default; any error names
 * the file and the line; the search filter is validated at start-up (one `\L`, no `%`, valid RFC
 * 4515 syntax), and the login put into it is always escaped (buildLdapFilter), never pasted raw.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { FilterParser } from 'ldapts';
import { parseKeywordFile, type KeywordLineProblem, type KeywordValue } from './pure-conf.js';

/** A configuration error; the message already names the file and, when it applies, the line. */
export class BackendConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendConfigError';
  }
}

/** Pure-FTPd's LDAP keywords (log_ldap_p.h order), then tsftpd's own additions (documented). */
const LDAP_KEYWORDS = [
  'LDAPScheme',
  'LDAPServer',
  'LDAPPort',
  'LDAPBindDN',
  'LDAPBindPW',
  'LDAPBaseDN',
  'LDAPFilter',
  'LDAPHomeDir',
  'LDAPVersion',
  'LDAPDefaultUID',
  'LDAPForceDefaultUID',
  'LDAPDefaultGID',
  'LDAPForceDefaultGID',
  'LDAPUseTLS',
  'LDAPAuthMethod',
  'LDAPDefaultHomeDirectory',
  'LDAPTimeout',
  'LDAPTLSCACertFile',
] as const;

/** Longest line accepted (Pure-FTPd reads LINE_MAX = 2048 bytes; longer lines are a mistake). */
const MAX_LINE = 4096;

/** How the LDAP backend words a refused line. */
function ldapLineError(where: string, problem: KeywordLineProblem): BackendConfigError {
  switch (problem.kind) {
    case 'unknown-keyword':
      return new BackendConfigError(`${where}: unknown keyword "${problem.word}"`);
    case 'no-value':
      return new BackendConfigError(`${where}: ${problem.keyword} needs a value`);
    case 'too-long':
      return new BackendConfigError(`${where}: line too long`);
  }
}

/** The keywords of an LDAP file (generic_parser, pure-conf.ts); throws BackendConfigError. */
export function parseLdapKeywords(text: string, file: string): Map<string, KeywordValue> {
  return parseKeywordFile(text, file, {
    keywords: LDAP_KEYWORDS,
    refuse: ldapLineError,
    maxLineLength: MAX_LINE,
  });
}

/** The validated LDAP settings. */
export interface LdapConfig {
  scheme: 'ldap' | 'ldaps' | 'ldapi';
  host: string;
  port: number;
  /** ldapi only: the UNIX socket path (the URL-decoded LDAPServer). */
  socketPath?: string;
  /** For logs: `ldap://host:port`. */
  url: string;
  bindDn?: string;
  bindPassword?: string;
  baseDn: string;
  /** The filter template; its one `\L` receives the escaped login. */
  filter: string;
  homeAttribute: string;
  /** Used when the entry has no usable uid (or always with forceDefaultUid); undefined when unset or 0. */
  defaultUid?: number;
  forceDefaultUid: boolean;
  defaultGid?: number;
  forceDefaultGid: boolean;
  /** StartTLS on an ldap:// connection (ignored with ldaps, as in Pure-FTPd). */
  startTls: boolean;
  authMethod: 'bind' | 'password';
  defaultHome?: string;
  /** Bound on each network step (connect, TLS, each request), in ms. */
  timeoutMs: number;
  /** PEM CA bundle; undefined = Node's built-in CA list. */
  ca?: Buffer;
  /** false when TLS_REQCERT/LDAPTLS_REQCERT is never or allow, as libldap would. */
  verifyCertificate: boolean;
  /** Notes for the operator (printed once at start-up). */
  warnings: string[];
}

/** Pure-FTPd's default filter (upstream §3.7). */
const DEFAULT_LDAP_FILTER = '(&(objectClass=posixAccount)(uid=\\L))';
/** Default of the tsftpd-only LDAPTimeout key, in seconds. */
const DEFAULT_TIMEOUT_SECONDS = 10;
/** Debian's slapd socket, used for `ldapi` when LDAPServer is left at its default. */
const DEFAULT_LDAPI_SOCKET = '/var/run/slapd/ldapi';

/** Logins the LDAP backend accepts (upstream §3.7): `A-Z a-z 0-9 space - @ _ ' .`, at most 256 bytes. */
export function isValidLdapLogin(login: string): boolean {
  return /^[A-Za-z0-9 \-@_'.]{1,256}$/.test(login);
}

/** Escapes a value for an RFC 4515 filter: `*`, `(`, `)`, `\` and NUL become `\XX`. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/** The search filter for a login: the template's first `\L` replaced by the escaped login. */
export function buildLdapFilter(template: string, login: string): string {
  const at = template.indexOf('\\L');
  if (at === -1) return template;
  return template.slice(0, at) + escapeFilterValue(login) + template.slice(at + 2);
}

/** libldap's TLS defaults (TLS_CACERT, TLS_REQCERT) from ldap.conf text, overridden by LDAPTLS_* env. */
export function libldapTlsDefaults(
  ldapConf: string | undefined,
  env: NodeJS.ProcessEnv,
): { caFile?: string; reqcert?: string } {
  const out: { caFile?: string; reqcert?: string } = {};
  for (const raw of (ldapConf ?? '').split('\n')) {
    const m = /^\s*(TLS_CACERT|TLS_REQCERT)\s+(\S.*?)\s*$/i.exec(raw);
    if (m === null) continue;
    if (m[1].toUpperCase() === 'TLS_CACERT') out.caFile = m[2];
    else out.reqcert = m[2].toLowerCase();
  }
  if (env.LDAPTLS_CACERT) out.caFile = env.LDAPTLS_CACERT;
  if (env.LDAPTLS_REQCERT) out.reqcert = env.LDAPTLS_REQCERT.toLowerCase();
  return out;
}

/** True when parentheses pair up (RFC 4515 values escape them as \28 and \29, so every one counts). */
function balanced(filter: string): boolean {
  let depth = 0;
  for (const c of filter) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

/** `True` (any case) is true; Pure-FTPd treats every other value as false. */
const isTrue = (v: string | undefined): boolean => v !== undefined && v.toLowerCase() === 'true';

/** Inputs that do not come from the configuration file itself. */
export interface LdapConfigSources {
  env?: NodeJS.ProcessEnv;
  /** Text of /etc/ldap/ldap.conf (libldap's defaults), when readable. */
  ldapConf?: string;
  /** Reads the CA file (start-up only). */
  readCa?: (file: string) => Buffer;
}

/** Parses and validates an LDAP configuration (`file` is only used in messages). */
export function parseLdapConfig(text: string, file: string, sources: LdapConfigSources = {}): LdapConfig {
  const keys = parseLdapKeywords(text, file);
  const get = (k: (typeof LDAP_KEYWORDS)[number]): string | undefined => keys.get(k)?.value;
  const fail = (k: string, reason: string): never => {
    const line = keys.get(k)?.line;
    throw new BackendConfigError(`${file}${line === undefined ? '' : `:${line}`}: ${k}: ${reason}`);
  };
  const number = (k: (typeof LDAP_KEYWORDS)[number], min: number, max: number): number | undefined => {
    const v = get(k);
    if (v === undefined) return undefined;
    if (!/^\d{1,10}$/.test(v) || Number(v) < min || Number(v) > max) fail(k, `expected ${min}-${max}`);
    return Number(v);
  };
  const warnings: string[] = [];
  const scheme = (get('LDAPScheme') ?? 'ldap').toLowerCase();
  if (scheme !== 'ldap' && scheme !== 'ldaps' && scheme !== 'ldapi')
    fail('LDAPScheme', 'expected ldap, ldaps or ldapi');
  const host = get('LDAPServer') ?? 'localhost';
  // Pure-FTPd keeps 389 for ldaps too, which never works; 636 is what the README tells people to set.
  const port = number('LDAPPort', 1, 65535) ?? (scheme === 'ldaps' ? 636 : 389);
  let socketPath: string | undefined;
  if (scheme === 'ldapi') {
    socketPath = get('LDAPServer') === undefined ? DEFAULT_LDAPI_SOCKET : decodeURIComponent(host);
    if (!socketPath.startsWith('/')) fail('LDAPServer', 'with ldapi, give the URL-encoded socket path');
  }
  const baseDn = get('LDAPBaseDN');
  if (baseDn === undefined) throw new BackendConfigError(`${file}: LDAPBaseDN is mandatory`);
  const filter = get('LDAPFilter') ?? DEFAULT_LDAP_FILTER;
  // Upstream §3.7: `%` is forbidden and the first backslash must start `\L` (log_ldap.c).
  if (filter.includes('%')) fail('LDAPFilter', '"%" is not allowed');
  const slash = filter.indexOf('\\');
  if (slash !== -1 && filter[slash + 1] !== 'L') fail('LDAPFilter', 'the only escape allowed is \\L');
  // ldapts closes missing parentheses silently; a typo must not change the query's meaning.
  if (!balanced(filter)) fail('LDAPFilter', 'not a valid RFC 4515 filter (unbalanced parentheses)');
  try {
    FilterParser.parseString(buildLdapFilter(filter, 'probe'));
  } catch (err) {
    fail('LDAPFilter', `not a valid RFC 4515 filter (${(err as Error).message})`);
  }
  const version = get('LDAPVersion');
  if (version !== undefined && version !== '3')
    warnings.push(`LDAPVersion ${version} ignored: LDAPv3 is used`);
  const bindDn = get('LDAPBindDN');
  const method = get('LDAPAuthMethod')?.toLowerCase();
  if (method !== undefined && method !== 'bind' && method !== 'password') {
    fail('LDAPAuthMethod', 'expected BIND or PASSWORD');
  }
  const defaultUid = number('LDAPDefaultUID', 0, 4294967295);
  const defaultGid = number('LDAPDefaultGID', 0, 4294967295);
  const timeout = number('LDAPTimeout', 1, 600) ?? DEFAULT_TIMEOUT_SECONDS;
  const env = sources.env ?? process.env;
  const tls = libldapTlsDefaults(sources.ldapConf, env);
  const caFile = get('LDAPTLSCACertFile') ?? tls.caFile;
  let ca: Buffer | undefined;
  if (caFile !== undefined && (scheme === 'ldaps' || isTrue(get('LDAPUseTLS')))) {
    try {
      ca = (sources.readCa ?? ((f: string) => readFileSync(f)))(caFile);
    } catch (err) {
      fail('LDAPTLSCACertFile', `cannot read ${caFile}: ${(err as Error).message}`);
    }
  }
  const shownHost = isIP(host) === 6 ? `[${host}]` : host;
  return {
    scheme: scheme as LdapConfig['scheme'],
    host,
    port,
    socketPath,
    url:
      socketPath !== undefined
        ? `ldapi://${encodeURIComponent(socketPath)}`
        : `${scheme}://${shownHost}:${port}`,
    bindDn,
    // Pure-FTPd forgets LDAPBindPW when there is no LDAPBindDN (anonymous search).
    bindPassword: bindDn === undefined ? undefined : (get('LDAPBindPW') ?? ''),
    baseDn,
    filter,
    homeAttribute: get('LDAPHomeDir') ?? 'homeDirectory',
    defaultUid: defaultUid === 0 ? undefined : defaultUid,
    forceDefaultUid: isTrue(get('LDAPForceDefaultUID')),
    defaultGid: defaultGid === 0 ? undefined : defaultGid,
    forceDefaultGid: isTrue(get('LDAPForceDefaultGID')),
    startTls: scheme === 'ldap' && isTrue(get('LDAPUseTLS')),
    // Upstream §3.7: BIND by default, PASSWORD when a BindDN is set (backward compatibility).
    authMethod: (method ?? (bindDn === undefined ? 'bind' : 'password')) as LdapConfig['authMethod'],
    defaultHome: get('LDAPDefaultHomeDirectory'),
    timeoutMs: timeout * 1000,
    ca,
    verifyCertificate: tls.reqcert !== 'never' && tls.reqcert !== 'allow',
    warnings,
  };
}

/** Reads and parses the file at start-up (synchronous on purpose: a bad file must stop the server). */
export function loadLdapConfig(file: string, env: NodeJS.ProcessEnv = process.env): LdapConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BackendConfigError(`${file}: cannot read the LDAP configuration (${(err as Error).message})`);
  }
  let ldapConf: string | undefined;
  try {
    ldapConf = readFileSync(env.LDAPCONF ?? '/etc/ldap/ldap.conf', 'utf8');
  } catch {
    ldapConf = undefined;
  }
  return parseLdapConfig(text, file, { env, ldapConf });
}
