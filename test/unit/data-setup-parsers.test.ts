/**
 * Table-driven tests of the data-connection setup parsers (issue 10 item 3): PORT (RFC 959 §4.1.2),
 * EPRT and EPSV (RFC 2428), the PASV reply address, the family rule and the bounce checks, and
 * connectActive's refusal of a bad port (it used to reach net.connect and throw
 * ERR_SOCKET_BAD_PORT, logged as an internal error).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import {
  canonicalIpv6,
  checkActiveTarget,
  connectActive,
  familyMismatch,
  isForbiddenTarget,
  parseEprt,
  parsePort,
  type ActiveTarget,
} from '../../src/data/active.js';
import { parseEpsv, pasvAddress } from '../../src/data/passive.js';
import { FtpError } from '../../src/errors.js';

const v4 = (host: string, port: number): ActiveTarget => ({ host, port, family: 4 });
const v6 = (host: string, port: number): ActiveTarget => ({ host, port, family: 6 });

describe('parsePort', () => {
  const rows: [string, ActiveTarget | undefined][] = [
    ['127,0,0,1,200,1', v4('127.0.0.1', 51201)],
    ['127,0,0,1,255,255', v4('127.0.0.1', 65535)],
    ['127,0,0,1,0,1', v4('127.0.0.1', 1)], // syntax ok; the bounce rule refuses < 1024
    ['10,0,0,1,4,0', v4('10.0.0.1', 1024)],
    ['127,0,0,01,200,1', v4('127.0.0.1', 51201)], // leading zeros, as Pure-FTPd
    [' 127,0,0,1,200,1 ', v4('127.0.0.1', 51201)],
    ['127,0,0,1,0,0', undefined], // port 0
    ['127,0,0,1,256,1', undefined], // a byte > 255
    ['127,0,0,1,1,256', undefined],
    ['256,0,0,1,200,1', undefined],
    ['127,0,0,1,-1,1', undefined],
    ['127,0,0,1,200', undefined], // five numbers
    ['127,0,0,1,1,2,3', undefined], // seven numbers
    ['127.0.0.1.200.1', undefined],
    ['127,0,0,1, 200,1', undefined],
    ['0127,0,0,1,200,1', undefined], // more than three digits
    ['', undefined],
    ['x', undefined],
  ];
  for (const [arg, want] of rows) {
    it(`PORT ${JSON.stringify(arg)} -> ${want === undefined ? '501' : `${want.host}:${want.port}`}`, () => {
      assert.deepEqual(parsePort(arg), want);
    });
  }
});

describe('parseEprt', () => {
  const rows: [string, ActiveTarget | 'bad-family' | undefined][] = [
    ['|1|127.0.0.1|40000|', v4('127.0.0.1', 40000)],
    ['|1|127.0.0.1|65535|', v4('127.0.0.1', 65535)],
    ['|1|127.0.0.1|065535|', v4('127.0.0.1', 65535)], // leading zeros, as Pure-FTPd
    ['|1|127.0.0.1|1|', v4('127.0.0.1', 1)],
    ['|1|127,0,0,1|40000|', v4('127.0.0.1', 40000)], // Pure-FTPd's comma form
    ['#1#127.0.0.1#40000#', v4('127.0.0.1', 40000)], // any delimiter 33-126
    ['|2|::1|40000|', v6('::1', 40000)],
    ['|2|0:0:0:0:0:0:0:1|40000|', v6('::1', 40000)], // canonical form
    ['|2|2001:DB8::1|40000|', v6('2001:db8::1', 40000)],
    // ports outside 1-65535 (the issue: 70000 was accepted, then net.connect threw)
    ['|1|127.0.0.1|70000|', undefined],
    ['|1|127.0.0.1|65536|', undefined],
    ['|1|127.0.0.1|0|', undefined],
    ['|1|127.0.0.1|99999999999|', undefined],
    ['|1|127.0.0.1|-1|', undefined],
    ['|1|127.0.0.1|+4000|', undefined],
    ['|1|127.0.0.1| 40000|', undefined],
    ['|1|127.0.0.1|4x|', undefined],
    ['|1|127.0.0.1||', undefined],
    // families
    ['|3|x|1|', 'bad-family'],
    ['|3|127.0.0.1|40000|', 'bad-family'],
    ['||127.0.0.1|40000|', 'bad-family'], // empty protocol number: 522, as Pure-FTPd
    ['|x|127.0.0.1|40000|', undefined],
    ['|1|::1|40000|', undefined], // family 1 with an IPv6 address
    ['|2|127.0.0.1|40000|', undefined], // family 2 with an IPv4 address
    // addresses
    ['|1|127.1|40000|', undefined],
    ['|1|127.0.0.01|40000|', undefined],
    ['|1|256.0.0.1|40000|', undefined],
    ['|1| 127.0.0.1|40000|', undefined],
    ['|2|fe80::1%eth0|40000|', undefined], // zone id
    ['|2|::ffff:127.0.0.1|40000|', undefined], // an IPv4 address: use family 1 (Pure-FTPd: 501)
    ['|2|::127.0.0.1|40000|', undefined],
    ['|2|1:2:3:4:5:6:7:8:9|40000|', undefined],
    ['|2|:::1|40000|', undefined],
    // delimiters
    ['|1|127.0.0.1|40000', undefined],
    ['1|127.0.0.1|40000|', undefined],
    ['|1|127.0.0.1|40000|x|', undefined],
    ['|1|127.0.0.1|4000|junk', undefined],
    [' |1|127.0.0.1|40000|', undefined], // a blank is not a delimiter (33-126)
    ['\u00e9|1|127.0.0.1|40000|', undefined],
    ['', undefined],
  ];
  for (const [arg, want] of rows) {
    it(`EPRT ${JSON.stringify(arg)} -> ${typeof want === 'object' ? `${want.host}:${want.port}` : (want ?? '501')}`, () => {
      assert.deepEqual(parseEprt(arg), want);
    });
  }
});

describe('parseEpsv', () => {
  const rows: [string, boolean, string][] = [
    ['', false, 'open'],
    ['1', false, 'open'],
    ['2', true, 'open'],
    ['ALL', false, 'all'],
    ['all', true, 'all'],
    [' ALL ', false, 'all'],
    ['2', false, 'bad-family:Network protocol not supported, use (1)'],
    ['1', true, 'bad-family:Network protocol not supported, use (2)'],
    ['3', false, 'bad-family:Network protocol not supported, use (1)'],
    ['0', true, 'bad-family:Network protocol not supported, use (2)'],
    ['x', false, 'syntax'],
    ['1 2', false, 'syntax'],
    ['ALLX', false, 'syntax'],
    ['-1', false, 'syntax'],
  ];
  for (const [arg, ipv6, want] of rows) {
    it(`EPSV ${JSON.stringify(arg)} on ${ipv6 ? 'IPv6' : 'IPv4'} -> ${want}`, () => {
      const r = parseEpsv(arg, ipv6);
      assert.equal(r.kind === 'bad-family' ? `${r.kind}:${r.text}` : r.kind, want);
    });
  }
});

describe('pasvAddress (the 227 reply)', () => {
  const rows: [string, number, string | undefined][] = [
    ['127.0.0.1', 51201, '127,0,0,1,200,1'],
    ['10.1.2.3', 256, '10,1,2,3,1,0'],
    ['10.1.2.3', 65535, '10,1,2,3,255,255'],
    ['10.1.2.3', 0, undefined],
    ['10.1.2.3', 65536, undefined],
    ['::1', 40000, undefined],
  ];
  for (const [ip, port, want] of rows) {
    it(`${ip} port ${port} -> ${want ?? 'refused'}`, () => assert.equal(pasvAddress(ip, port), want));
  }
});

describe('address family, forbidden targets and the bounce rules', () => {
  it('familyMismatch: the data connection leaves from the control connection family', () => {
    assert.equal(familyMismatch(v4('127.0.0.1', 40000), false), undefined);
    assert.equal(familyMismatch(v6('::1', 40000), true), undefined);
    assert.equal(String(familyMismatch(v6('::1', 40000), false)), 'Network protocol not supported, use (1)');
    assert.equal(
      String(familyMismatch(v4('127.0.0.1', 40000), true)),
      'Network protocol not supported, use (2)',
    );
  });

  const forbidden: [string, boolean][] = [
    ['0.0.0.0', true],
    ['0.1.2.3', true],
    ['224.0.0.1', true],
    ['239.255.255.255', true],
    ['240.0.0.1', true],
    ['255.255.255.255', true],
    ['127.0.0.1', false],
    ['10.0.0.1', false],
    ['223.255.255.255', false],
    ['::', true],
    ['0:0:0:0:0:0:0:0', true],
    ['ff02::1', true],
    ['FF02::1', true],
    ['::1', false],
    ['2001:db8::1', false],
  ];
  for (const [host, want] of forbidden) {
    it(`isForbiddenTarget(${host}) = ${want}`, () => assert.equal(isForbiddenTarget(host), want));
  }

  it('canonicalIpv6', () => {
    assert.equal(canonicalIpv6('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(canonicalIpv6('FE80::1'), 'fe80::1');
    assert.equal(canonicalIpv6('fe80::1%lo'), undefined);
    assert.equal(canonicalIpv6('127.0.0.1'), undefined);
  });

  const checks: [ActiveTarget, string, boolean, number | 'ok' | 'fxp'][] = [
    [v4('127.0.0.1', 40000), '127.0.0.1', false, 'ok'],
    [v4('127.0.0.1', 40000), '::ffff:127.0.0.1', false, 'ok'],
    [v4('127.0.0.1', 1023), '127.0.0.1', false, 501],
    [v4('127.0.0.1', 0), '127.0.0.1', false, 501],
    [v4('127.0.0.1', 70000), '127.0.0.1', false, 501], // built by hand: still refused
    [v4('127.0.0.1', 1.5), '127.0.0.1', false, 501],
    [v4('0.0.0.0', 40000), '127.0.0.1', true, 501],
    [v4('10.0.0.2', 40000), '127.0.0.1', false, 500],
    [v4('10.0.0.2', 40000), '127.0.0.1', true, 'fxp'],
    [v6('::1', 40000), '::1', false, 'ok'],
    [v6('::', 40000), '::1', true, 501],
  ];
  for (const [target, client, fxp, want] of checks) {
    it(`checkActiveTarget(${target.host}:${target.port}, client ${client}, fxp ${fxp}) -> ${want}`, () => {
      if (want === 'ok') assert.equal(checkActiveTarget(target, client, fxp), undefined);
      else if (want === 'fxp')
        assert.match(String(checkActiveTarget(target, client, fxp) ?? ''), /^FXP transfer/);
      else {
        assert.throws(
          () => checkActiveTarget(target, client, fxp),
          (e: unknown) => e instanceof FtpError && e.reply === want,
        );
      }
    });
  }
});

describe('connectActive', () => {
  it('refuses a port outside 1-65535 with 425 instead of throwing ERR_SOCKET_BAD_PORT', async () => {
    for (const port of [0, 70000, -1, 1.5]) {
      await assert.rejects(
        connectActive(v4('127.0.0.1', port), '127.0.0.1', new AbortController().signal, 1000),
        (e: unknown) => e instanceof FtpError && e.reply === 425,
        `port ${port}`,
      );
    }
  });

  it('returns a socket that has read nothing: the client data and FIN wait for the mover', async () => {
    // The client side sends its whole "upload" and closes at once, as Python's ftplib does.
    const server = net.createServer((c) => c.end(Buffer.alloc(5000, 7)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const s = await connectActive(v4('127.0.0.1', port), '127.0.0.1', new AbortController().signal, 5000);
      try {
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(s.readableLength, 0, 'nothing read into the stream');
        assert.equal(s.readableEnded, false);
        assert.equal(s.destroyed, false, 'Node did not close it on the FIN');
        const got: Buffer[] = [];
        s.on('data', (c: Buffer) => got.push(c));
        const ended = new Promise<void>((resolve) => s.once('end', () => resolve()));
        s.resume(); // what pipe() does when the mover takes it
        await ended;
        assert.equal(Buffer.concat(got).length, 5000);
      } finally {
        s.destroy();
      }
    } finally {
      server.close();
    }
  });
});
