/**
 * Table-driven tests of reply formatting (src/session/reply.ts): single- and multi-line replies with
 * the code on every line, raw body lines (FEAT/HELP/MLST) that start with a space, empty texts, and
 * scrubbing: no text, whatever it holds (a file name with CR/LF, control bytes, raw name bytes), can
 * ever produce a line the client would read as another reply.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatReply, raw, reply, scrub, type Reply } from '../../src/session/reply.js';
import { bytesToName, nameToBytes } from '../../src/storage/name-bytes.js';

describe('formatReply', () => {
  const rows: [string, Reply, string][] = [
    ['no text: code and a space', reply(200), '200 \r\n'],
    ['empty text', reply(200, ''), '200 \r\n'],
    ['one line', reply(200, 'NOOP command successful'), '200 NOOP command successful\r\n'],
    ['two lines: the code on both', reply(230, 'Welcome', 'OK'), '230-Welcome\r\n230 OK\r\n'],
    ['three lines', reply(220, 'a', 'b', 'c'), '220-a\r\n220-b\r\n220 c\r\n'],
    ['an empty first line', reply(230, '', 'x'), '230-\r\n230 x\r\n'],
    ['an empty last line', reply(230, 'x', ''), '230-x\r\n230 \r\n'],
    ['texts keep their spaces', reply(257, ' "/a b " '), '257  "/a b " \r\n'],
    [
      'FEAT: raw body lines between coded lines',
      reply(211, 'Extensions supported:', raw('EPRT'), raw(' UTF8'), 'End.'),
      '211-Extensions supported:\r\n EPRT\r\n UTF8\r\n211 End.\r\n',
    ],
    [
      'a raw last line gets the code (without its leading space)',
      reply(211, 'x', raw('End')),
      '211-x\r\n211 End\r\n',
    ],
    ['a raw line alone', reply(211, raw('  two')), '211 two\r\n'],
    ['an empty raw body line is a lone space', reply(214, 'a', raw(''), 'b'), '214-a\r\n \r\n214 b\r\n'],
    ['UTF-8 text', reply(250, 'café 😀'), '250 café 😀\r\n'],
  ];
  for (const [what, r, expected] of rows) {
    it(what, () => assert.equal(formatReply(r), expected));
  }
});

describe('raw', () => {
  const rows: [string, string][] = [
    ['EPRT', ' EPRT'],
    [' EPRT', ' EPRT'],
    ['  two', '  two'],
    ['', ' '],
    ['230 fake', ' 230 fake'], // a body line that looks like a reply still starts with a space
  ];
  for (const [text, expected] of rows) {
    it(JSON.stringify(text), () => assert.deepEqual(raw(text), { raw: expected }));
  }
});

describe('scrub', () => {
  const rows: [string, string][] = [
    ['plain', 'plain'],
    ['a\r\nb', 'a__b'],
    ['\n', '_'],
    ['\r', '_'],
    ['tab\there', 'tab_here'],
    ['nul\0', 'nul_'],
    ['esc\x1b[31m', 'esc_[31m'],
    ['del\x7f', 'del_'],
    ['\x01\x1f', '__'],
    ['café 😀', 'café 😀'],
    ['caf\udce9', 'caf\udce9'], // raw name bytes are left for nameToBytes
    ['', ''],
  ];
  for (const [text, expected] of rows) {
    it(JSON.stringify(text), () => assert.equal(scrub(text), expected));
  }
});

describe('no reply-line injection', () => {
  /** The reply lines a client would read, checked to be exactly `n` lines, all of this reply. */
  function assertLines(out: string, code: number, n: number): string[] {
    assert.ok(out.endsWith('\r\n'));
    const lines = out.slice(0, -2).split('\r\n');
    assert.equal(lines.length, n, JSON.stringify(out));
    lines.forEach((line, i) => {
      assert.ok(!/[\r\n]/.test(line), JSON.stringify(line));
      const last = i === n - 1;
      if (last) assert.ok(line.startsWith(`${code} `), JSON.stringify(line));
      else assert.ok(line.startsWith(`${code}-`) || line.startsWith(' '), JSON.stringify(line));
    });
    return lines;
  }

  const evil = [
    'x\r\n226 Transfer complete',
    'x\n230 Logged in',
    'x\r230 Logged in',
    '\r\n',
    '\n\n\n',
    'a\0b\x1b\x7f',
    '550 \r\n550-',
  ];
  for (const name of evil) {
    it(`a file name ${JSON.stringify(name)} stays inside its line`, () => {
      assertLines(formatReply(reply(550, `Can't open ${name}: No such file`)), 550, 1);
      assertLines(formatReply(reply(250, `"${name}"`, 'x')), 250, 2);
      assertLines(formatReply(reply(250, raw(name), raw(name), 'End')), 250, 3);
      assertLines(formatReply(reply(250, 'x', raw(name))), 250, 2);
    });
  }

  it('raw name bytes (escapes) turn back into bytes >= 0x80 only, never CR or LF', () => {
    const everyByte = Buffer.from(Array.from({ length: 256 }, (_, b) => b));
    const name = bytesToName(everyByte);
    const wire = nameToBytes(formatReply(reply(550, `${name}: gone`)));
    assert.equal(wire.indexOf(0x0d), wire.length - 2);
    assert.equal(wire.indexOf(0x0a), wire.length - 1);
    assert.ok(wire.subarray(0, 4).equals(Buffer.from('550 ')));
    // Every byte >= 0x80 of the name reaches the client as sent.
    const highs = everyByte.subarray(0x80);
    assert.ok(wire.includes(highs), 'the raw bytes 0x80..0xFF are on the wire, in order');
  });
});
