/**
 * Switch table, part 7: FTPS (upstream §1.2, §10; RFC 4217). `-Y`, `-2`, `-J` keep Pure-FTPd's letters
 * and keys; implicit TLS listeners and the data-session binding switch are tsftpd's own.
 */
import { applyBind } from './bind.js';
import { ValueError } from './errors.js';
import type { SwitchSpec } from './switch-spec.js';
import { parseInteger, parsePath } from './values.js';

/** -Y -2 -J --implicit-tls --no-tls-session-binding. */
export const TLS_SWITCHES: readonly SwitchSpec[] = [
  {
    short: 'Y',
    pureName: 'tls',
    name: 'tls',
    arg: '0-3',
    help: 'TLS: 0 off, 1 optional, 2 required for logins, 3 required for data connections too',
    conf: [{ key: 'TLS', form: 'value' }],
    apply: (c, v) => void (c.tls = parseInteger(v, 'the TLS level', 0, 3)),
  },
  {
    short: '2',
    pureName: 'certfile',
    name: 'cert-file',
    arg: 'cert[,key]',
    help: 'PEM certificate chain and key in one file, or the certificate then the key file',
    conf: [
      { key: 'CertFile', form: 'value' },
      { key: 'CertFileAndKey', form: 'pair' },
    ],
    apply: (c, v, ctx) => {
      // `cert,key` on the command line; CertFileAndKey "cert" "key" arrives from the file as
      // `"cert":"key"` (two values joined by a colon), so split there when both are absolute paths.
      const unquoted = v.replace(/"/g, '');
      let at = unquoted.indexOf(',');
      if (at < 0) at = unquoted.indexOf(':/');
      const cert = at < 0 ? unquoted : unquoted.slice(0, at);
      const key = at < 0 ? '' : unquoted.slice(at + 1);
      c.certFile = parsePath(cert, ctx.cwd, 'the certificate file');
      c.keyFile = key === '' ? undefined : parsePath(key, ctx.cwd, 'the key file');
    },
  },
  {
    short: '3',
    pureName: 'extcert',
    name: 'ext-cert',
    arg: 'socket',
    help: 'certificates per SNI name: ask the certificate program behind this socket (tsftpd certd, pure-certd) at each TLS handshake',
    conf: [{ key: 'ExtCert', form: 'value' }],
    apply: (c, v, ctx) => void (c.extCertSocket = parsePath(v, ctx.cwd, 'the certd socket')),
  },
  {
    short: 'J',
    pureName: 'tlsciphersuite',
    name: 'tls-cipher-suite',
    arg: '[-C:][-S:]ciphers',
    help: 'OpenSSL cipher list; a -C: prefix requires and verifies a client certificate',
    conf: [{ key: 'TLSCipherSuite', form: 'value' }],
    apply: (c, v) => {
      let rest = v;
      c.tlsClientCert = false;
      // Upstream §1.2: -C: requires a client certificate, -S: is accepted and ignored.
      for (;;) {
        if (rest.startsWith('-C:')) c.tlsClientCert = true;
        else if (!rest.startsWith('-S:')) break;
        rest = rest.slice(3);
      }
      if (/[\s'"]/.test(rest)) throw new ValueError('the cipher list must not contain spaces or quotes');
      c.tlsCiphers = rest === '' ? undefined : rest;
    },
  },
  {
    name: 'implicit-tls',
    arg: '[address,]port',
    help: 'also listen here with TLS from the first byte (implicit FTPS, port 990 by convention); repeatable',
    conf: [{ key: 'ImplicitTLS', form: 'value' }],
    apply: async (c, v, ctx) => {
      if (ctx.firstInSource('implicit-tls')) c.implicitTls = [];
      const target: { bind: { host?: string; port: number } } = { bind: { port: 990 } };
      await applyBind(target, v.includes(',') ? v : `,${v}`, { ...ctx, firstInSource: () => true });
      c.implicitTls.push(target.bind);
    },
  },
  {
    name: 'no-tls-session-binding',
    help: "accept TLS data connections that do not resume the control connection's TLS session",
    conf: [{ key: 'NoTLSSessionBinding', form: 'bool' }],
    apply: (c) => void (c.tlsSessionBinding = false),
  },
];
