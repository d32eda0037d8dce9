import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchCidr, parseCidr, parseCidrList, parseIp, unmatchableCidr } from '../../src/auth/cidr.js';
import type { Cidr } from '../../src/auth/types.js';

const bytes = (c: Cidr | undefined): number[] => [...(c?.address ?? [])];
const list = (...texts: string[]): Cidr[] =>
  texts.map((t) => {
    const c = parseCidr(t);
    assert.ok(c, `parses ${t}`);
    return c;
  });

test('parseCidr: IPv4 host and networks (upstream §4.2 forms)', () => {
  assert.deepEqual(bytes(parseCidr('10.1.2.3')), [10, 1, 2, 3]);
  assert.equal(parseCidr('10.1.2.3')?.bits, 32);
  const net = parseCidr(' 10.1.2.3/8 ');
  assert.deepEqual(bytes(net), [10, 0, 0, 0]);
  assert.equal(net?.bits, 8);
  assert.equal(net?.text, '10.1.2.3/8');
  assert.equal(parseCidr('0.0.0.0/0')?.bits, 0);
  assert.deepEqual(bytes(parseCidr('010.001.0.1')), [10, 1, 0, 1]);
});

test('parseCidr: IPv6, embedded IPv4, zone ids', () => {
  assert.deepEqual(bytes(parseCidr('::1')), [...new Array(15).fill(0), 1]);
  assert.equal(parseCidr('::1')?.bits, 128);
  const doc = parseCidr('2001:db8::/32');
  assert.deepEqual(bytes(doc).slice(0, 4), [0x20, 0x01, 0x0d, 0xb8]);
  assert.equal(doc?.bits, 32);
  assert.deepEqual(bytes(parseCidr('1:2:3:4:5:6:7:8')), [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  assert.deepEqual(bytes(parseCidr('1::8')), [0, 1, ...new Array(12).fill(0), 0, 8]);
  assert.deepEqual(bytes(parseCidr('64:ff9b::1.2.3.4')).slice(12), [1, 2, 3, 4]);
  assert.equal(parseCidr('64:ff9b::1.2.3.4')?.address.length, 16);
  assert.deepEqual(bytes(parseCidr('fe80::1%eth0')).slice(0, 2), [0xfe, 0x80]);
  assert.deepEqual(bytes(parseCidr('::')), new Array(16).fill(0));
});

test('parseCidr: IPv4-mapped entries become IPv4', () => {
  const host = parseCidr('::ffff:1.2.3.4');
  assert.deepEqual(bytes(host), [1, 2, 3, 4]);
  assert.equal(host?.bits, 32);
  const net = parseCidr('::ffff:10.9.0.0/104');
  assert.deepEqual(bytes(net), [10, 0, 0, 0]);
  assert.equal(net?.bits, 8);
  assert.deepEqual(bytes(parseCidr('::ffff:a01:203')), [10, 1, 2, 3]);
});

test('parseCidr: hostnames and malformed entries give undefined', () => {
  for (const bad of [
    'ftp.example.com',
    'localhost',
    '',
    '256.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.4/33',
    '1.2.3.4/',
    '1.2.3.4/x',
    '1.2.3.4/-1',
    '::1/129',
    '1:::2',
    '1::2::3',
    ':1::',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    '::ffff:1.2.3.256',
  ]) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
});

test('parseCidrList: splits on commas, collects the entries it cannot use', () => {
  const { list: l, invalid } = parseCidrList('127.0.0.1/8, 10.0.0.0/8,,ftp.example.com');
  assert.deepEqual(
    l.map((c) => c.text),
    ['127.0.0.1/8', '10.0.0.0/8'],
  );
  assert.deepEqual(invalid, ['ftp.example.com']);
});

test('matchCidr: IPv4 clients, plain and mapped', () => {
  const l = list('127.0.0.1/8', '10.1.1.1/32');
  assert.equal(matchCidr(l, '127.5.6.7'), true);
  assert.equal(matchCidr(l, '::ffff:127.0.0.1'), true);
  assert.equal(matchCidr(l, '10.1.1.1'), true);
  assert.equal(matchCidr(l, '10.1.1.2'), false);
  assert.equal(matchCidr(l, '128.0.0.1'), false);
  assert.equal(matchCidr(list('0.0.0.0/0'), '203.0.113.9'), true);
  assert.equal(matchCidr(list('192.168.1.0/23'), '192.168.0.200'), true);
  assert.equal(matchCidr(list('192.168.1.0/24'), '192.168.0.200'), false);
});

test('matchCidr: IPv6 clients never match IPv4 entries; IPv6 entries work', () => {
  assert.equal(matchCidr(list('0.0.0.0/0'), '::1'), false);
  assert.equal(matchCidr(list('2001:db8::/32'), '2001:db8:0:1::5'), true);
  assert.equal(matchCidr(list('2001:db8::/32'), '2001:db9::5'), false);
  assert.equal(matchCidr(list('::1'), '::1'), true);
  assert.equal(matchCidr(list('fe80::/10'), 'fe80::1%eth0'), true);
  // An IPv6 network covering ::ffff:0:0/96 also covers IPv4 clients.
  assert.equal(matchCidr(list('::/0'), '192.0.2.1'), true);
  assert.equal(matchCidr(list('::ffff:0:0/96'), '192.0.2.1'), true);
});

test('matchCidr: unmatchable entries and bad client addresses never match', () => {
  assert.equal(matchCidr([unmatchableCidr('ftp.example.com')], '127.0.0.1'), false);
  assert.equal(matchCidr([unmatchableCidr('x')], '::1'), false);
  assert.equal(matchCidr(list('0.0.0.0/0'), 'not-an-ip'), false);
  assert.equal(matchCidr([], '127.0.0.1'), false);
  assert.deepEqual([...(parseIp('::ffff:10.0.0.1') ?? [])], [10, 0, 0, 1]);
});
