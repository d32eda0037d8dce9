/**
 * Table-driven tests of the control-channel framer (src/session/line-reader.ts) and the command
 * splitter: CRLF and bare LF, lines split across packets and several lines in one packet, Telnet IAC
 * sequences, control bytes, the hard length bound, verbs and arguments, and bytes that are not
 * UTF-8 (they must come out of the framer as the exact bytes the client sent).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineReader, parseCommand, type FramedLine } from '../../src/session/line-reader.js';
import { bytesToName, nameToBytes } from '../../src/storage/name-bytes.js';

const IAC = 0xff;
const WILL = 0xfb;
const WONT = 0xfc;
const DO = 0xfd;
const DONT = 0xfe;
const IP = 0xf4; // Telnet "interrupt process", sent by some clients before ABOR
const DM = 0xf2; // Telnet "data mark"

/** Bytes from a mix of latin1 strings and byte values. */
function bytes(...parts: (string | number | number[])[]): Buffer {
  return Buffer.concat(
    parts.map((p) =>
      typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(typeof p === 'number' ? [p] : p),
    ),
  );
}

/** What a reader yields, with overflows written as null, for deepEqual. */
function texts(lines: FramedLine[]): (string | null)[] {
  return lines.map((l) => (l.kind === 'line' ? l.text : null));
}

/** Feeds `input` in the given chunks and collects every framed line. */
function frame(chunks: Buffer[], max = 64): (string | null)[] {
  const r = new LineReader(max);
  const out: FramedLine[] = [];
  for (const c of chunks) out.push(...r.push(c));
  return texts(out);
}

/** Every way of cutting `input` in two, plus one byte at a time. */
function splits(input: Buffer): Buffer[][] {
  const ways: Buffer[][] = [[input], [...input].map((b) => Buffer.of(b))];
  for (let i = 1; i < input.length; i++) ways.push([input.subarray(0, i), input.subarray(i)]);
  return ways;
}

describe('LineReader framing', () => {
  const rows: [string, Buffer, (string | null)[]][] = [
    ['CRLF ends a line', bytes('USER joe\r\n'), ['USER joe']],
    ['bare LF ends a line', bytes('USER joe\n'), ['USER joe']],
    ['no line before the end of line', bytes('USER joe'), []],
    ['a CR alone does not end a line', bytes('USER joe\r'), []],
    ['empty line (CRLF)', bytes('\r\n'), ['']],
    ['empty line (LF)', bytes('\n'), ['']],
    ['pipelined lines come out in order', bytes('USER a\r\nPASS b\nPWD\r\n'), ['USER a', 'PASS b', 'PWD']],
    ['empty lines between commands', bytes('NOOP\r\n\r\n\nNOOP\r\n'), ['NOOP', '', '', 'NOOP']],
    ['CR not before LF becomes _', bytes('a\rb\r\n'), ['a_b']],
    ['CR CR LF: the first CR becomes _', bytes('a\r\r\n'), ['a_']],
    ['CR at the start of a line', bytes('\rNOOP\r\n'), ['_NOOP']],
    ['NUL becomes _', bytes('RETR a', 0, 'b\r\n'), ['RETR a_b']],
    ['TAB becomes _', bytes('RETR\ta\r\n'), ['RETR_a']],
    ['DEL becomes _', bytes('RETR a', 0x7f, '\r\n'), ['RETR a_']],
    ['ESC and other C0 bytes become _', bytes('x', [1, 0x1b, 0x1f], 'y\n'), ['x___y']],
    ['trailing spaces are kept', bytes('STOR a  \r\n'), ['STOR a  ']],
    ['IAC IAC is one 0xFF byte', bytes('STOR a', [IAC, IAC], 'b\r\n'), ['STOR a\udcffb']],
    ['IAC WILL x is dropped', bytes('NO', [IAC, WILL, 1], 'OP\r\n'), ['NOOP']],
    ['IAC WONT x is dropped', bytes('NO', [IAC, WONT, 1], 'OP\r\n'), ['NOOP']],
    ['IAC DO x is dropped', bytes('NO', [IAC, DO, 1], 'OP\r\n'), ['NOOP']],
    ['IAC DONT x is dropped', bytes('NO', [IAC, DONT, 1], 'OP\r\n'), ['NOOP']],
    ['IAC DO IAC: the option byte is dropped even when it is 0xFF', bytes([IAC, DO, IAC], 'A\n'), ['A']],
    ['IAC IP IAC DM before ABOR (RFC 959 §4.1.3)', bytes([IAC, IP, IAC, DM], 'ABOR\r\n'), ['ABOR']],
    ['IAC + any other byte is dropped', bytes('a', [IAC, 0xf1], 'b', [IAC, 0x41], 'c\n'), ['abc']],
    ['IAC WILL LF: the LF is the option, not an end of line', bytes('a', [IAC, WILL, 0x0a], 'b\n'), ['ab']],
    ['IAC LF: the LF is the command byte, dropped', bytes('a', [IAC, 0x0a], 'b\n'), ['ab']],
    ['IAC IAC IAC IAC is two 0xFF bytes', bytes([IAC, IAC, IAC, IAC], '\n'), ['\udcff\udcff']],
    ['UTF-8 decodes as usual', Buffer.from('STOR café 😀\r\n'), ['STOR café 😀']],
    ['Latin-1 bytes survive as escapes', bytes('STOR caf\xe9\r\n'), ['STOR caf\udce9']],
    ['0x80..0xFF that are not UTF-8', bytes('x', [0x80, 0xc0, 0xfe], '\n'), ['x\udc80\udcc0\udcfe']],
  ];
  for (const [what, input, expected] of rows) {
    it(what, () => {
      for (const chunks of splits(input)) {
        assert.deepEqual(frame(chunks), expected, `${what}: chunks ${chunks.map((c) => c.toString('hex'))}`);
      }
    });
  }

  it('a CR that ends one packet and an LF that starts the next make one CRLF', () => {
    const r = new LineReader(64);
    assert.deepEqual(texts(r.push(bytes('PWD\r'))), []);
    assert.deepEqual(texts(r.push(bytes('\nNOOP\r'))), ['PWD']);
    assert.deepEqual(texts(r.push(bytes('X\n'))), ['NOOP_X']);
  });

  it('an IAC sequence split over three packets is still removed', () => {
    const r = new LineReader(64);
    assert.deepEqual(texts(r.push(bytes('NO', IAC))), []);
    assert.deepEqual(texts(r.push(bytes(DO))), []);
    assert.deepEqual(texts(r.push(bytes(3, 'OP\r\n'))), ['NOOP']);
  });

  it('CR followed by IAC IAC: the CR still becomes _ before the 0xFF', () => {
    assert.deepEqual(frame([bytes('a\r', [IAC, IAC], 'b\n')]), ['a_\udcffb']);
    assert.deepEqual(frame([bytes('a\r', [IAC, IAC], '\n')]), ['a_\udcff']);
  });
});

describe('LineReader length bound', () => {
  const MAX = 16;

  it('a line of exactly the bound passes; the CR of CRLF does not count', () => {
    const line = 'x'.repeat(MAX);
    assert.deepEqual(frame([bytes(line + '\r\n')], MAX), [line]);
    assert.deepEqual(frame([bytes(line + '\n')], MAX), [line]);
  });

  it('IAC IAC counts as one byte; dropped IAC sequences count as none', () => {
    const line = bytes('x'.repeat(MAX - 1), [IAC, IAC], [IAC, WILL, 1], [IAC, IP], '\r\n');
    assert.deepEqual(frame([line], MAX), ['x'.repeat(MAX - 1) + '\udcff']);
  });

  it('one byte over: one overflow, the rest discarded to the LF, then normal lines again', () => {
    const input = bytes('y'.repeat(MAX + 1), '\r\nPWD\r\n');
    for (const chunks of splits(input)) assert.deepEqual(frame(chunks, MAX), [null, 'PWD']);
  });

  it('a very long line is reported once, at the first byte over, not at its end', () => {
    const r = new LineReader(MAX);
    const out: FramedLine[] = [];
    out.push(...r.push(bytes('z'.repeat(MAX))));
    assert.deepEqual(texts(out), []);
    out.push(...r.push(bytes('z')));
    assert.deepEqual(texts(out), [null], 'reported as soon as the bound is passed');
    for (let i = 0; i < 1000; i++) {
      out.push(...r.push(bytes('z'.repeat(100), [IAC, IAC], '\r')));
      assert.ok(r.pending <= MAX, `pending ${r.pending}`);
    }
    assert.deepEqual(texts(out), [null], 'never reported twice for one line');
    out.push(...r.push(bytes('tail\r\nNOOP\r\n')));
    assert.deepEqual(texts(out), [null, 'NOOP']);
    assert.equal(r.pending, 0);
  });

  it('two long lines in a row are each reported once', () => {
    const long = 'w'.repeat(MAX * 3);
    for (const chunks of splits(bytes(long, '\n', long, '\r\nA\n')))
      assert.deepEqual(frame(chunks, MAX), [null, null, 'A']);
  });

  it('the bound holds for CR and control bytes turned into _', () => {
    // MAX + 1 CRs then LF: the last CR is the CR of CRLF, the others become _.
    assert.deepEqual(frame([bytes('\r'.repeat(MAX + 1), '\n')], MAX), ['_'.repeat(MAX)]);
    assert.deepEqual(frame([bytes('a', '\r'.repeat(MAX + 1), 'b\n')], MAX), [null]);
    assert.deepEqual(frame([bytes('\t'.repeat(MAX), '\n')], MAX), ['_'.repeat(MAX)]);
    assert.deepEqual(frame([bytes('\t'.repeat(MAX + 1), '\n')], MAX), [null]);
  });

  it('a line pushed over the bound by IAC IAC or CRs alone is reported too (not silently dropped)', () => {
    assert.deepEqual(frame([bytes('x'.repeat(MAX), [IAC, IAC], '\r\nPWD\r\n')], MAX), [null, 'PWD']);
    assert.deepEqual(frame([bytes('\r'.repeat(MAX + 2), '\nPWD\n')], MAX), [null, 'PWD']);
  });

  it('pending never exceeds the bound and is 0 after a line', () => {
    const r = new LineReader(MAX);
    r.push(bytes('a'.repeat(MAX * 10)));
    assert.equal(r.pending, MAX);
    r.push(bytes('\n'));
    assert.equal(r.pending, 0);
    r.push(bytes('abc'));
    assert.equal(r.pending, 3);
  });
});

describe('LineReader keeps name bytes exact', () => {
  const names: Buffer[] = [
    Buffer.from('plain.txt'),
    Buffer.from('café ünïcødé 😀.txt'),
    bytes('caf\xe9.txt'), // Latin-1
    bytes([0x82, 0xa0, 0x82, 0xa2]), // Shift-JIS
    bytes([0xc3]), // truncated UTF-8
    bytes([0xed, 0xa0, 0x80]), // an encoded surrogate (not UTF-8)
    bytes([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
    bytes([0xc0, 0xaf]), // overlong "/"
    bytes([0xe2, 0x82, 0xac, 0xe9, 0xe2, 0x82]), // valid, invalid, truncated
  ];
  for (const name of names) {
    it(`STOR ${name.toString('hex')}`, () => {
      // IAC IAC on the wire for each 0xFF byte, as RFC 854 asks.
      const wire = Buffer.concat([
        bytes('STOR '),
        Buffer.from([...name].flatMap((b) => (b === IAC ? [IAC, IAC] : [b]))),
        bytes('\r\n'),
      ]);
      const [line] = frame([wire], 4112);
      assert.equal(typeof line, 'string');
      const cmd = parseCommand(line!);
      assert.ok(cmd);
      assert.equal(cmd.verb, 'STOR');
      assert.deepEqual(nameToBytes(cmd.arg), name);
      assert.equal(cmd.arg, bytesToName(name));
    });
  }

  it('0xFF in a name, sent as IAC IAC, comes back as the byte 0xFF', () => {
    const [line] = frame([bytes('DELE a', [IAC, IAC], 'b\r\n')]);
    assert.deepEqual(nameToBytes(parseCommand(line!)!.arg), bytes('a', 0xff, 'b'));
  });

  it('two names that differ in one invalid byte stay different', () => {
    const [a] = frame([bytes('caf\xe9\n')]);
    const [b] = frame([bytes('caf\xe8\n')]);
    assert.notEqual(a, b);
  });
});

describe('parseCommand', () => {
  const rows: [string, { verb: string; arg: string } | undefined][] = [
    ['NOOP', { verb: 'NOOP', arg: '' }],
    ['noop', { verb: 'NOOP', arg: '' }],
    ['Retr file', { verb: 'RETR', arg: 'file' }],
    ['RETR ', { verb: 'RETR', arg: '' }],
    ['RETR  two spaces', { verb: 'RETR', arg: ' two spaces' }],
    ['STOR name with trailing spaces  ', { verb: 'STOR', arg: 'name with trailing spaces  ' }],
    ['STOR a b c', { verb: 'STOR', arg: 'a b c' }],
    ['SITE CHMOD 644 x', { verb: 'SITE', arg: 'CHMOD 644 x' }],
    ['X@Y arg', { verb: 'X@Y', arg: 'arg' }],
    ['abc123 z', { verb: 'ABC123', arg: 'z' }],
    ['RETR caf\udce9', { verb: 'RETR', arg: 'caf\udce9' }],
    ['RETR _x_', { verb: 'RETR', arg: '_x_' }],
    ['', undefined],
    [' NOOP', undefined],
    ['RE-TR x', undefined],
    ['RETR_x', undefined], // a control byte turned into _ by the framer
    ['RETR\tx', undefined],
    ['NOOP\u00e9', undefined],
    ['ＲＥＴＲ x', undefined],
    ['é', undefined],
    ['_', undefined],
  ];
  for (const [line, expected] of rows) {
    it(JSON.stringify(line), () => assert.deepEqual(parseCommand(line), expected));
  }

  it('a verb of any length, kept as sent (the table decides what is known)', () => {
    assert.deepEqual(parseCommand('A'.repeat(300)), { verb: 'A'.repeat(300), arg: '' });
  });
});
