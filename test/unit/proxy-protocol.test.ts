// The PROXY protocol parser (HAProxy's proxy-protocol.txt, versions 1 and 2), the defender's
// arithmetic and the -P rules: formats and bounds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProxyHeader } from '../../src/server/proxy-protocol.js';
import { Defender, banLengthMs, defaultBanSettings, MAX_TRACKED } from '../../src/policy/defender.js';
import { parsePassiveRules, passiveAddressFor } from '../../src/data/passive-address.js';

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 header: command (0 LOCAL, 1 PROXY), family byte, address block, extra TLV bytes. */
function v2(command: number, family: number, block: Buffer, tlv = Buffer.alloc(0)): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(block.length + tlv.length);
  return Buffer.concat([SIG, Buffer.from([0x20 | command, family]), len, block, tlv]);
}

describe('PROXY protocol headers', () => {
  it('v1 TCP4, TCP6 and UNKNOWN; the bytes after the header are not part of it', () => {
    const line = Buffer.from('PROXY TCP4 192.0.2.10 198.51.100.1 51000 21\r\nUSER x');
    assert.deepEqual(parseProxyHeader(line), {
      kind: 'done',
      length: line.indexOf('USER'),
      addresses: { sourceIp: '192.0.2.10', sourcePort: 51000, destIp: '198.51.100.1', destPort: 21 },
    });
    const six = parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n'));
    assert.equal(six.kind === 'done' && six.addresses?.sourceIp, '2001:db8::1');
    assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { kind: 'done', length: 15 });
  });

  it('v1: partial input asks for more; malformed input is an error', () => {
    assert.equal(parseProxyHeader(Buffer.from('PRO')).kind, 'more');
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4')).kind, 'more');
    for (const bad of [
      'GET / HTTP/1.0\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n',
      'PROXY TCP4 ::1 5.6.7.8 1 2\r\n',
      'PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n',
      `PROXY TCP4 ${'1'.repeat(120)}`,
    ]) {
      assert.equal(parseProxyHeader(Buffer.from(bad)).kind, 'error', bad);
    }
  });

  it('v2 PROXY over TCP4 and TCP6 (mapped IPv4 reported as IPv4), TLVs skipped, LOCAL', () => {
    const four = Buffer.from([192, 0, 2, 10, 198, 51, 100, 1, 0xc7, 0x38, 0, 21]);
    const h = v2(1, 0x11, four, Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32]));
    assert.deepEqual(parseProxyHeader(Buffer.concat([h, Buffer.from('rest')])), {
      kind: 'done',
      length: h.length,
      addresses: { sourceIp: '192.0.2.10', sourcePort: 51000, destIp: '198.51.100.1', destPort: 21 },
    });
    const six = Buffer.alloc(36);
    six.writeUInt16BE(0x2001, 0);
    six.writeUInt16BE(0x0db8, 2);
    six[15] = 1;
    six[26] = 0xff;
    six[27] = 0xff;
    six.set([127, 0, 0, 1], 28);
    six.writeUInt16BE(4242, 32);
    six.writeUInt16BE(2121, 34);
    const p = parseProxyHeader(v2(1, 0x21, six));
    assert.deepEqual(p.kind === 'done' && p.addresses, {
      sourceIp: '2001:db8::1',
      sourcePort: 4242,
      destIp: '127.0.0.1',
      destPort: 2121,
    });
    assert.deepEqual(parseProxyHeader(v2(0, 0x00, Buffer.alloc(0))), { kind: 'done', length: 16 });
  });

  it('v2: truncated asks for more; wrong version, command, family or size is an error', () => {
    const full = v2(1, 0x11, Buffer.alloc(12));
    assert.equal(parseProxyHeader(full.subarray(0, 20)).kind, 'more');
    assert.equal(parseProxyHeader(SIG.subarray(0, 5)).kind, 'more');
    const badVersion = Buffer.from(full);
    badVersion[12] = 0x11;
    assert.equal(parseProxyHeader(badVersion).kind, 'error');
    assert.equal(parseProxyHeader(v2(2, 0x11, Buffer.alloc(12))).kind, 'error');
    assert.equal(parseProxyHeader(v2(1, 0x11, Buffer.alloc(4))).kind, 'error');
    assert.equal(parseProxyHeader(v2(1, 0x77, Buffer.alloc(12))).kind, 'error');
    const huge = Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0xff, 0xff])]);
    assert.equal(parseProxyHeader(huge).kind, 'error');
  });
});

describe('the defender', () => {
  it('bans after N failures in the window, growing each time, never the allow list', () => {
    const d = new Defender({
      ...defaultBanSettings(),
      after: 3,
      windowSeconds: 60,
      seconds: 10,
      maxSeconds: 25,
      allow: ['10.0.0.0/8'],
    });
    const t = 1_000_000;
    assert.equal(d.failed('192.0.2.1', 'joe', t).ban, undefined);
    // A failure outside the window no longer counts.
    assert.equal(d.failed('192.0.2.1', 'joe', t + 61_000).ban, undefined);
    assert.equal(d.failed('192.0.2.1', 'joe', t + 62_000).ban, undefined);
    const ban = d.failed('192.0.2.1', 'joe', t + 63_000).ban;
    assert.deepEqual(ban, { ip: '192.0.2.1', until: t + 73_000, reason: 'failures', count: 1 });
    assert.equal(d.banned('192.0.2.1', t + 72_999)?.count, 1);
    assert.equal(d.banned('192.0.2.1', t + 73_000), undefined);
    for (let i = 0; i < 3; i++) d.failed('192.0.2.1', 'joe', t + 80_000 + i);
    assert.equal(d.banned('192.0.2.1', t + 80_003)?.until, t + 80_002 + 20_000);
    for (let i = 0; i < 3; i++) d.failed('192.0.2.1', 'joe', t + 200_000 + i);
    assert.equal(d.banned('192.0.2.1', t + 200_003)?.until, t + 200_002 + 25_000, 'capped at --ban-max-time');
    for (let i = 0; i < 10; i++) assert.equal(d.failed('10.1.2.3', 'joe', t + i).ban, undefined);
    assert.equal(d.add('10.1.2.3', 60, 'manual', t), undefined);
    assert.equal(d.add('192.0.2.9', 60, 'manual', t + 250_000)?.until, t + 310_000);
    assert.deepEqual(
      d.list(t + 260_000).map((b) => b.ip),
      ['192.0.2.9'],
    );
    assert.equal(d.remove('192.0.2.9', t + 260_000), true);
    assert.equal(d.remove('192.0.2.9', t + 260_000), false);
  });

  it('account lockout, off by default; 0 turns bans off; memory stays bounded', () => {
    const off = new Defender({ ...defaultBanSettings(), after: 0 });
    for (let i = 0; i < 100; i++) assert.deepEqual(off.failed('192.0.2.1', 'joe'), {});
    const lock = new Defender({ ...defaultBanSettings(), after: 0, accountAfter: 2, seconds: 30 });
    lock.failed('192.0.2.1', 'Joe', 5);
    assert.equal(lock.failed('192.0.2.2', 'joe', 6).accountLockedUntil, 30_006);
    assert.equal(lock.accountLocked('JOE', 7), 30_006);
    assert.equal(banLengthMs({ ...defaultBanSettings(), seconds: 900 }, 100), 86_400_000);
    const many = new Defender({ ...defaultBanSettings(), after: 1 });
    for (let i = 0; i < MAX_TRACKED + 10; i++)
      many.add(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 60, 'manual');
    assert.equal(many.list().length, MAX_TRACKED);
  });
});

describe('-P rules', () => {
  it('parses one address, one name, or rules; refuses the rest', () => {
    assert.deepEqual(parsePassiveRules('203.0.113.7'), [{ target: '203.0.113.7' }]);
    assert.equal(parsePassiveRules('10.0.0.0/8=10.1.2.3, *=ftp.example.com').length, 2);
    for (const bad of ['10.0.0.0/8=::1', 'nonsense/99=1.2.3.4', '1.2.3.4,5.6.7.8', 'a b', '10.0.0.0/8=']) {
      assert.throws(() => parsePassiveRules(bad), Error, bad);
    }
  });

  it('the first matching network wins; no match is the address the client reached', async () => {
    const rules = '10.0.0.0/8=10.1.2.3,192.0.2.0/24=192.0.2.1';
    assert.equal(await passiveAddressFor(rules, '10.9.9.9', '127.0.0.1'), '10.1.2.3');
    assert.equal(await passiveAddressFor(rules, '192.0.2.77', '127.0.0.1'), '192.0.2.1');
    assert.equal(await passiveAddressFor(rules, '198.51.100.1', '127.0.0.1'), '127.0.0.1');
    assert.equal(
      await passiveAddressFor(`${rules},*=203.0.113.7`, '198.51.100.1', '127.0.0.1'),
      '203.0.113.7',
    );
    assert.equal(await passiveAddressFor('localhost', '198.51.100.1', '192.0.2.5'), '127.0.0.1');
    assert.equal(await passiveAddressFor(undefined, '198.51.100.1', '192.0.2.5'), '192.0.2.5');
  });
});
