/**
 * Bounded fuzz tests with a fixed-seed PRNG (same inputs on every run; FUZZ_SEED=<n> replays another
 * seed, FUZZ_ITERATIONS=<n> changes the count): the control-line framer, the virtual-path rules and
 * the name-bytes conversion. Each property runs 20,000 random cases in well under a second; a
 * failure names the seed and the case number so it can be replayed.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FtpError } from '../../src/errors.js';
import { LineReader, type FramedLine } from '../../src/session/line-reader.js';
import { MAX_NAME_BYTES, MAX_PATH_BYTES, resolveVirtual } from '../../src/storage/jail.js';
import { bytesToName, nameToBytes } from '../../src/storage/name-bytes.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x7f5f7d);
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 20000);

/** mulberry32: a small, fast, seedable PRNG (uniform 32-bit output). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random helpers over one PRNG. */
class Rand {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** One element of `list`. */
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }
}

/** Runs `body` ITERATIONS times; a failure says which seed and case reproduce it. */
function cases(name: string, body: (r: Rand, i: number) => void): void {
  const r = new Rand(SEED ^ [...name].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7));
  for (let i = 0; i < ITERATIONS; i++) {
    try {
      body(r, i);
    } catch (err) {
      if (err instanceof Error) err.message = `[${name}: seed ${SEED}, case ${i}] ${err.message}`;
      throw err;
    }
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

describe('fuzz: LineReader', () => {
  /** Bytes weighted towards the ones the framer treats specially. */
  const SPECIAL = [0x0d, 0x0a, 0xff, 0xfb, 0xfc, 0xfd, 0xfe, 0xf4, 0xf2, 0x00, 0x09, 0x7f, 0x20];
  function randomBytes(r: Rand, n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      const k = r.int(10);
      b[i] =
        k < 4
          ? r.pick(SPECIAL)
          : k < 7
            ? 0x61 + r.int(26)
            : k < 9
              ? 0x80 + r.int(0x80) // high bytes: UTF-8 pieces or not
              : r.int(256);
    }
    return b;
  }

  function collect(reader: LineReader, chunks: Buffer[], max: number): FramedLine[] {
    const out: FramedLine[] = [];
    for (const c of chunks) {
      out.push(...reader.push(c));
      assert.ok(reader.pending <= max, `pending ${reader.pending} > bound ${max}`);
    }
    return out;
  }

  it(`${ITERATIONS} random streams: bounded, never throws, same lines however they are split`, () => {
    const started = Date.now();
    let lines = 0;
    let overflows = 0;
    cases('line-reader', (r) => {
      const max = 1 + r.int(48);
      const input = randomBytes(r, r.int(300));
      const whole = collect(new LineReader(max), [input], max);
      // The same bytes cut at random points, including empty chunks.
      const chunks: Buffer[] = [];
      for (let at = 0; at < input.length;) {
        const n = r.int(8) === 0 ? 0 : 1 + r.int(40);
        chunks.push(input.subarray(at, at + n));
        at += n;
      }
      const split = collect(new LineReader(max), chunks, max);
      assert.deepEqual(split, whole, `input ${input.toString('hex')}`);
      const lfs = input.filter((b) => b === 0x0a).length;
      assert.ok(whole.filter((l) => l.kind === 'line').length <= lfs);
      for (const l of whole) {
        if (l.kind === 'overflow') {
          overflows++;
          continue;
        }
        lines++;
        assert.ok(!CONTROL.test(l.text), `control character in ${JSON.stringify(l.text)}`);
        assert.ok(nameToBytes(l.text).length <= max, `line longer than ${max}: ${JSON.stringify(l.text)}`);
      }
    });
    assert.ok(
      lines > ITERATIONS && overflows > ITERATIONS / 10,
      `coverage: ${lines} lines, ${overflows} overflows`,
    );
    assert.ok(Date.now() - started < 10000);
  });

  /** LF bytes that end a line: those not eaten as the second or third byte of a Telnet sequence. */
  function lineEnds(input: Buffer): number {
    let n = 0;
    let state = 0; // 0 text, 1 after IAC, 2 after IAC WILL/WONT/DO/DONT
    for (const b of input) {
      if (state === 1) state = b >= 0xfb && b <= 0xfe ? 2 : 0;
      else if (state === 2) state = 0;
      else if (b === 0xff) state = 1;
      else if (b === 0x0a) n++;
    }
    return n;
  }

  it(`${ITERATIONS} random streams: every line end gives exactly one line or one overflow`, () => {
    cases('line-reader-count', (r) => {
      const max = 1 + r.int(48);
      const input = randomBytes(r, r.int(300));
      const out = collect(new LineReader(max), [input], max);
      const ends = lineEnds(input);
      // An unfinished last line may already have been reported as an overflow.
      assert.ok(out.length === ends || out.length === ends + 1, `input ${input.toString('hex')}, max ${max}`);
    });
  });

  it('an endless line of random bytes without LF never grows past the bound', () => {
    const r = new Rand(SEED);
    const max = 4112;
    const reader = new LineReader(max);
    let reported = 0;
    for (let i = 0; i < 2000; i++) {
      const chunk = randomBytes(r, 1 + r.int(4096));
      chunk.forEach((b, at) => (chunk[at] = b === 0x0a ? 0x20 : b));
      for (const l of reader.push(chunk)) if (l.kind === 'overflow') reported++;
      assert.ok(reader.pending <= max);
    }
    assert.equal(reported, 1);
  });
});

describe('fuzz: resolveVirtual', () => {
  const TOKENS = [
    '/',
    '/',
    '/',
    '.',
    '..',
    '..',
    '~',
    '~/',
    'a',
    'bc',
    'é',
    '😀',
    '\udce9',
    '\ud800',
    ' ',
    '...',
    '//',
  ];
  function randomArg(r: Rand): string {
    let s = '';
    const n = r.int(12);
    for (let i = 0; i < n; i++) {
      const k = r.int(100);
      if (k < 2) s += r.pick(['\0', '\\']);
      else if (k < 5) s += r.pick(['x', 'é', '😀', '\udce9']).repeat(40 + r.int(100));
      else s += r.pick(TOKENS);
    }
    return s;
  }
  /** A valid virtual path to start from. */
  function randomDir(r: Rand): string {
    for (;;) {
      try {
        return resolveVirtual('/', randomArg(r).replace(/[\0\\]/g, ''));
      } catch {
        // an over-long draw: draw again
      }
    }
  }

  /** Length of a name as stored: raw-byte escapes are one byte each (name-bytes.ts). */
  const stored = (s: string): number => nameToBytes(s).length;

  function assertNormal(p: string, what: string): void {
    assert.ok(p.startsWith('/'), what);
    if (p === '/') return;
    for (const bad of ['/../', '/./', '//']) assert.ok(!p.includes(bad), `${what} contains ${bad}`);
    assert.ok(!p.endsWith('/') && !p.endsWith('/.') && !p.endsWith('/..'), what);
    for (const part of p.slice(1).split('/')) {
      assert.ok(part !== '' && part !== '.' && part !== '..', what);
      assert.ok(stored(part) <= MAX_NAME_BYTES, what);
    }
    assert.ok(stored(p) <= MAX_PATH_BYTES, what);
  }

  it(`${ITERATIONS} random arguments: normal, never above /, idempotent, or 553`, () => {
    let refused = 0;
    cases('resolve-virtual', (r) => {
      const cwd = randomDir(r);
      const home = randomDir(r);
      const arg = randomArg(r);
      const what = JSON.stringify({ cwd, arg, home });
      // The model: POSIX path resolution from the start directory (`..` at `/` stays at `/`).
      const tilde = arg === '~' || arg.startsWith('~/');
      const model = path.posix.resolve(tilde ? home : cwd, tilde ? '.' + arg.slice(1) : arg);
      const tooLong = (count: (s: string) => number): boolean =>
        arg.split('/').some((part) => count(part) > MAX_NAME_BYTES) || count(model) > MAX_PATH_BYTES;
      const mustRefuse = /[\0\\]/.test(arg) || tooLong(stored);
      let out: string;
      try {
        out = resolveVirtual(cwd, arg, home);
      } catch (err) {
        assert.ok(err instanceof FtpError && err.reply === 553, `${what}: ${String(err)}`);
        assert.ok(mustRefuse, `${what}: refused ${String(err)}`);
        refused++;
        return;
      }
      assertNormal(out, `${what} → ${JSON.stringify(out)}`);
      assert.ok(!mustRefuse, `${what}: accepted ${out}`);
      assert.equal(out, model, what);
      assert.equal(resolveVirtual('/', out), out, `${what}: not idempotent`);
      assert.equal(resolveVirtual(cwd, out, home), out, `${what}: absolute result depends on cwd`);
    });
    assert.ok(refused > ITERATIONS / 50 && refused < ITERATIONS / 2, `coverage: ${refused} refused`);
  });
});

describe('fuzz: name bytes', () => {
  /** Bytes weighted towards UTF-8 structure: ASCII, lead bytes, continuations, whole characters. */
  function randomName(r: Rand): Buffer {
    const parts: Buffer[] = [];
    const n = r.int(24);
    for (let i = 0; i < n; i++) {
      const k = r.int(6);
      if (k === 0) parts.push(Buffer.of(r.int(0x80)));
      else if (k === 1)
        parts.push(Buffer.of(0x80 + r.int(0x40))); // continuation
      else if (k === 2)
        parts.push(Buffer.of(0xc0 + r.int(0x40))); // lead byte (or invalid)
      else if (k === 3) {
        const cp = r.int(0x110000 - 0x800); // any scalar value: skip the surrogate range
        parts.push(Buffer.from(String.fromCodePoint(cp < 0xd800 ? cp : cp + 0x800), 'utf8'));
      } else if (k === 4) parts.push(Buffer.from(r.pick(['é', '€', '😀', 'caf']), 'utf8'));
      else parts.push(Buffer.of(r.int(256)));
    }
    return Buffer.concat(parts);
  }

  it(`${ITERATIONS} random byte strings round-trip exactly; UTF-8 decodes as usual`, () => {
    let raw = 0;
    cases('name-bytes', (r) => {
      const b = randomName(r);
      const name = bytesToName(b);
      assert.ok(nameToBytes(name).equals(b), b.toString('hex'));
      if (b.toString('utf8') === name) return;
      raw++;
      // Only bytes that are not UTF-8 become escapes, one per byte.
      assert.ok(/[\udc80-\udcff]/.test(name), b.toString('hex'));
      // Changing one byte changes the name.
      const c = Buffer.from(b);
      const at = r.int(c.length);
      c[at] = (c[at] + 1 + r.int(255)) & 0xff;
      assert.notEqual(bytesToName(c), name, `${b.toString('hex')} vs ${c.toString('hex')}`);
    });
    assert.ok(raw > ITERATIONS / 4, `coverage: ${raw} non-UTF-8 names`);
  });
});
