/**
 * The `-l ldap:FILE` configuration (upstream §3.6 parser rules, §3.7 keys): defaults, Pure-FTPd's
 * prefix/case/comment rules, errors naming file and line, filter validation and escaping, the
 * login charset, and libldap's TLS defaults.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BackendConfigError,
  buildLdapFilter,
  escapeFilterValue,
  isValidLdapLogin,
  libldapTlsDefaults,
  parseLdapConfig,
  parseLdapKeywords,
  type LdapConfigSources,
} from '../../src/auth/backends/ldap-conf.js';

const parse = (text: string, sources: LdapConfigSources = { env: {} }) =>
  parseLdapConfig(text, 'ldap.conf', sources);
const rejects = (text: string, pattern: RegExp) =>
  assert.throws(
    () => parse(text),
    (e: Error) => e instanceof BackendConfigError && pattern.test(e.message),
  );

describe('ldap configuration', () => {
  it('has Pure-FTPd defaults; only LDAPBaseDN is mandatory', () => {
    const c = parse('LDAPBaseDN dc=example,dc=com\n');
    assert.equal(c.url, 'ldap://localhost:389');
    assert.equal(c.filter, '(&(objectClass=posixAccount)(uid=\\L))');
    assert.equal(c.homeAttribute, 'homeDirectory');
    assert.equal(c.authMethod, 'bind');
    assert.equal(c.startTls, false);
    assert.equal(c.bindDn, undefined);
    assert.equal(c.timeoutMs, 10000);
    assert.equal(c.verifyCertificate, true);
    rejects('LDAPServer ldap\n', /^ldap\.conf: LDAPBaseDN is mandatory/);
  });

  it('matches keywords case-insensitively as prefixes, skips comments and blank lines, keeps the last value', () => {
    const c = parse(
      '# comment\n\n   \t\nldapserver   ldap.example.com  \r\nLDAPBASEDN\tou=a\nLDAPBaseDN ou=b\n  LDAPPort 1389\n',
    );
    assert.equal(c.host, 'ldap.example.com');
    assert.equal(c.baseDn, 'ou=b');
    assert.equal(c.port, 1389);
    // generic_parser takes whatever follows the keyword, even without a blank.
    assert.equal(parseLdapKeywords('LDAPPort389\n', 'f').get('LDAPPort')?.value, '389');
  });

  it('names the file and the line in every error', () => {
    rejects('LDAPBaseDN o=x\nLDAPSevrer x\n', /^ldap\.conf:2: unknown keyword "LDAPSevrer"/);
    rejects('LDAPBaseDN o=x\nLDAPBindDN   \n', /^ldap\.conf:2: LDAPBindDN needs a value/);
    rejects('LDAPBaseDN o=x\n\nLDAPPort 99999\n', /^ldap\.conf:3: LDAPPort: expected 1-65535/);
    rejects('LDAPBaseDN o=x\nLDAPScheme gopher\n', /^ldap\.conf:2: LDAPScheme/);
    rejects(
      'LDAPBaseDN o=x\nLDAPAuthMethod SASL\n',
      /^ldap\.conf:2: LDAPAuthMethod: expected BIND or PASSWORD/,
    );
    rejects('LDAPBaseDN o=x\nLDAPDefaultUID abc\n', /^ldap\.conf:2: LDAPDefaultUID/);
  });

  it('validates the filter: no %, only \\L, RFC 4515 syntax', () => {
    rejects('LDAPBaseDN o=x\nLDAPFilter (uid=%s)\n', /^ldap\.conf:2: LDAPFilter: "%" is not allowed/);
    rejects('LDAPBaseDN o=x\nLDAPFilter (uid=\\U)\n', /LDAPFilter: the only escape allowed is \\L/);
    rejects('LDAPBaseDN o=x\nLDAPFilter (&(uid=\\L)\n', /LDAPFilter: not a valid RFC 4515 filter/);
    rejects('LDAPBaseDN o=x\nLDAPFilter (|(uid=\\L)(mail=\\L))\n', /not a valid RFC 4515 filter/);
    assert.equal(parse('LDAPBaseDN o=x\nLDAPFilter (objectClass=ftpUser)\n').filter, '(objectClass=ftpUser)');
  });

  it('defaults LDAPAuthMethod to PASSWORD when a BindDN is set, BIND otherwise; explicit wins', () => {
    const withDn = parse('LDAPBaseDN o=x\nLDAPBindDN cn=r,o=x\nLDAPBindPW pw\n');
    assert.deepEqual([withDn.authMethod, withDn.bindPassword], ['password', 'pw']);
    assert.equal(parse('LDAPBaseDN o=x\nLDAPBindDN cn=r\nLDAPAuthMethod bind\n').authMethod, 'bind');
    assert.equal(parse('LDAPBaseDN o=x\nLDAPAuthMethod Password\n').authMethod, 'password');
    // LDAPBindPW alone is forgotten, as in Pure-FTPd.
    assert.equal(parse('LDAPBaseDN o=x\nLDAPBindPW pw\n').bindPassword, undefined);
  });

  it('schemes, ports, StartTLS, ids and the tsftpd keys', () => {
    const s = parse('LDAPBaseDN o=x\nLDAPScheme LDAPS\nLDAPServer ::1\nLDAPUseTLS True\n');
    assert.deepEqual([s.url, s.startTls], ['ldaps://[::1]:636', false]);
    const t = parse('LDAPBaseDN o=x\nLDAPUseTLS true\nLDAPTimeout 3\n');
    assert.deepEqual([t.startTls, t.timeoutMs], [true, 3000]);
    assert.equal(parse('LDAPBaseDN o=x\nLDAPUseTLS yes\n').startTls, false);
    const i = parse('LDAPBaseDN o=x\nLDAPScheme ldapi\nLDAPServer %2Frun%2Fslapd%2Fldapi\n');
    assert.equal(i.socketPath, '/run/slapd/ldapi');
    assert.equal(parse('LDAPBaseDN o=x\nLDAPScheme ldapi\n').socketPath, '/var/run/slapd/ldapi');
    const ids = parse('LDAPBaseDN o=x\nLDAPDefaultUID 0\nLDAPDefaultGID 100\nLDAPForceDefaultGID TRUE\n');
    assert.deepEqual([ids.defaultUid, ids.defaultGid, ids.forceDefaultGid], [undefined, 100, true]);
    assert.match(parse('LDAPBaseDN o=x\nLDAPVersion 2\n').warnings[0], /LDAPVersion 2 ignored/);
  });

  it('reads the CA file only when TLS is used, and honours libldap TLS_CACERT / TLS_REQCERT', () => {
    const read: string[] = [];
    const readCa = (f: string) => (read.push(f), Buffer.from('pem'));
    parse('LDAPBaseDN o=x\nLDAPTLSCACertFile /ca.pem\n', { env: {}, readCa });
    assert.deepEqual(read, []);
    const c = parse('LDAPBaseDN o=x\nLDAPUseTLS True\n', {
      env: { LDAPTLS_REQCERT: 'never' },
      ldapConf: 'TLS_CACERT /etc/ssl/ldap.pem\n',
      readCa,
    });
    assert.deepEqual([read, c.ca?.toString(), c.verifyCertificate], [['/etc/ssl/ldap.pem'], 'pem', false]);
    assert.deepEqual(libldapTlsDefaults('tls_reqcert demand\nTLS_CACERT /a\n', { LDAPTLS_CACERT: '/b' }), {
      caFile: '/b',
      reqcert: 'demand',
    });
    assert.throws(
      () => parse('LDAPBaseDN o=x\nLDAPUseTLS True\nLDAPTLSCACertFile /nonexistent/ca.pem\n', { env: {} }),
      /ldap\.conf:3: LDAPTLSCACertFile: cannot read/,
    );
  });
});

describe('ldap logins and filters', () => {
  it("accepts Pure-FTPd's charset only, up to 256 characters", () => {
    for (const ok of ['joe', "o'brien", 'a.b-c_d@e f', 'x'.repeat(256)]) assert.ok(isValidLdapLogin(ok), ok);
    for (const bad of ['', '*', 'a)(uid=*', 'a\\b', 'é', 'a:b', 'a\0b', 'x'.repeat(257), 'a+b']) {
      assert.ok(!isValidLdapLogin(bad), bad);
    }
  });

  it('escapes RFC 4515 specials and substitutes only the first \\L', () => {
    assert.equal(escapeFilterValue('a*(b)\\c\0'), 'a\\2a\\28b\\29\\5cc\\00');
    assert.equal(buildLdapFilter('(uid=\\L)', '*)(uid=*'), '(uid=\\2a\\29\\28uid=\\2a)');
    assert.equal(buildLdapFilter('(uid=\\L)', "o'brien"), "(uid=o'brien)");
    assert.equal(buildLdapFilter('(objectClass=x)', 'joe'), '(objectClass=x)');
  });
});
