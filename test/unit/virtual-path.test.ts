/**
 * Table-driven tests of the lexical virtual-path rules (src/storage/jail.ts): resolveVirtual never
 * rises above `/`, handles `~`, `.`, `..`, absolute and relative arguments, repeated and trailing
 * slashes; refuses NUL, backslash and over-long names with 553; the bounds are in bytes of the name
 * as stored (multi-byte UTF-8 and raw non-UTF-8 bytes). Also baseName, parentOf and joinVirtual.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FtpError } from '../../src/errors.js';
import {
  MAX_NAME_BYTES,
  MAX_PATH_BYTES,
  baseName,
  joinVirtual,
  parentOf,
  resolveVirtual,
} from '../../src/storage/jail.js';
import { bytesToName, nameToBytes } from '../../src/storage/name-bytes.js';

/** The refusal every bad name gets: FtpError with reply 553. */
function isRefusal(err: unknown): boolean {
  return err instanceof FtpError && err.reply === 553;
}

describe('resolveVirtual', () => {
  // [cwd, argument, home, expected]
  const rows: [string, string, string, string][] = [
    ['/', '', '/', '/'],
    ['/a/b', '', '/', '/a/b'],
    ['/', 'x', '/', '/x'],
    ['/a', 'x', '/', '/a/x'],
    ['/a', 'x/y/z', '/', '/a/x/y/z'],
    ['/a/b', '/x', '/', '/x'],
    ['/a/b', '/', '/', '/'],
    ['/a/b', '.', '/', '/a/b'],
    ['/a/b', './', '/', '/a/b'],
    ['/a/b', './x/./y/.', '/', '/a/b/x/y'],
    ['/a/b', '..', '/', '/a'],
    ['/a/b', '../..', '/', '/'],
    ['/a/b', '../../..', '/', '/'],
    ['/a/b', '../../../../../../etc/passwd', '/', '/etc/passwd'],
    ['/', '..', '/', '/'],
    ['/', '/..', '/', '/'],
    ['/', '/../..//../x', '/', '/x'],
    ['/a', 'x/../../../y', '/', '/y'],
    ['/a', 'x/..', '/', '/a'],
    ['/', '//x///y//', '/', '/x/y'],
    ['/', '/x/', '/', '/x'],
    ['/a', 'x/', '/', '/a/x'],
    ['/', '////', '/', '/'],
    ['/a', '~', '/home/joe', '/home/joe'],
    ['/a', '~/', '/', '/'],
    ['/a', '~/x', '/', '/x'], // chrooted: home is /
    ['/a', '~/../../../..', '/home/joe', '/'],
    ['/a', '~', '/', '/'],
    ['/a', '~x', '/home/joe', '/a/~x'], // only ~ and ~/ mean home
    ['/a', 'x/~', '/home/joe', '/a/x/~'],
    ['/a', '~~', '/home/joe', '/a/~~'],
    ['/a', '...', '/', '/a/...'], // three dots is a name
    ['/a', '..x', '/', '/a/..x'],
    ['/a', 'x..', '/', '/a/x..'],
    ['/a', '. x', '/', '/a/. x'],
    ['/a', ' ', '/', '/a/ '], // a space is a name
    ['/a', 'x ', '/', '/a/x '], // trailing spaces kept
    ['/', 'café/😀', '/', '/café/😀'],
    ['/', 'caf\udce9', '/', '/caf\udce9'], // a Latin-1 byte (name-bytes escape)
    ['/', '\ud800x', '/', '/\ud800x'], // a lone surrogate passes unchanged (lexical rule only)
    ['/', 'x\udfff', '/', '/x\udfff'],
    ['/', '*?[]', '/', '/*?[]'],
  ];
  for (const [cwd, arg, home, expected] of rows) {
    it(`cd ${cwd}, ${JSON.stringify(arg)} (home ${home}) → ${expected}`, () => {
      assert.equal(resolveVirtual(cwd, arg, home), expected);
    });
  }

  it('~/x starts from the home of a non-chrooted account (spec: `~/x` → home + x)', () => {
    assert.equal(resolveVirtual('/a', '~/', '/home/joe'), '/home/joe');
    assert.equal(resolveVirtual('/a', '~/x', '/home/joe'), '/home/joe/x');
    assert.equal(resolveVirtual('/a', '~/..', '/home/joe'), '/home');
    assert.equal(resolveVirtual('/a', '~//x/', '/home/joe'), '/home/joe/x');
  });

  it('home defaults to /', () => {
    assert.equal(resolveVirtual('/a', '~/x'), '/x');
  });

  const refused: [string, string][] = [
    ['NUL', 'a\0b'],
    ['NUL alone', '\0'],
    ['NUL after ..', '../\0'],
    ['backslash', 'a\\b'],
    ['backslash parent', '..\\..\\etc'],
    ['backslash alone', '\\'],
    ['256-byte ASCII component', 'a'.repeat(256)],
    ['256-byte component deep in the path', `x/${'b'.repeat(256)}/y`],
    ['over-long component removed by .. (refused anyway)', `${'c'.repeat(256)}/..`],
    ['128 two-byte characters (256 bytes)', 'é'.repeat(128)],
    ['86 three-byte characters (258 bytes)', '€'.repeat(86)],
    ['64 four-byte characters (256 bytes)', '😀'.repeat(64)],
  ];
  for (const [what, arg] of refused) {
    it(`refuses ${what} with 553`, () => {
      assert.throws(() => resolveVirtual('/', arg), isRefusal);
    });
  }

  it('a refused over-long name is not echoed whole in the reply text', () => {
    const arg = 'd'.repeat(10000);
    assert.throws(
      () => resolveVirtual('/', arg),
      (err: unknown) => isRefusal(err) && String((err as FtpError).text).length < 200,
    );
  });

  it('255-byte components pass, in every encoding', () => {
    const names = [
      'a'.repeat(MAX_NAME_BYTES),
      'é'.repeat(127) + 'a', // 254 + 1
      '€'.repeat(85), // 255
      '😀'.repeat(63) + 'abc', // 252 + 3
    ];
    for (const n of names) {
      assert.equal(Buffer.byteLength(n), MAX_NAME_BYTES);
      assert.equal(resolveVirtual('/', n), `/${n}`);
    }
  });

  it('the path bound is 4096 bytes for the whole result', () => {
    const comp = 'p'.repeat(255);
    // 16 × "/" + 255 bytes = 4096: the longest path that passes.
    const max = Array.from({ length: 16 }, () => comp).join('/');
    assert.equal(resolveVirtual('/', max), `/${max}`);
    assert.equal(Buffer.byteLength(`/${max}`), MAX_PATH_BYTES);
    assert.throws(() => resolveVirtual('/', `${max}/q`), isRefusal);
    assert.throws(() => resolveVirtual(`/${max}`, 'q'), isRefusal);
    // The bound applies to the result: a long argument that .. brings back is fine.
    assert.equal(resolveVirtual('/', `${max}/${max}/${'../'.repeat(32)}ok`), '/ok');
  });

  it('the path bound counts bytes, not characters (multi-byte names)', () => {
    // 2-byte characters: 16 components of 127 × "é" = 16 × 255 bytes = 4080, + 16 slashes = 4096.
    const comp = 'é'.repeat(127) + 'a';
    const max = Array.from({ length: 16 }, () => comp).join('/');
    assert.equal(Buffer.byteLength(`/${max}`), MAX_PATH_BYTES);
    assert.ok(max.length < 2100, 'far below 4096 characters');
    assert.equal(resolveVirtual('/', max), `/${max}`);
    assert.throws(() => resolveVirtual('/', `${max}/é`), isRefusal);
  });

  it('raw (non-UTF-8) name bytes count as one byte each', {}, () => {
    // A 255-byte Latin-1 name is a legal file name on disk (NAME_MAX is in bytes).
    const latin1 = bytesToName(Buffer.alloc(MAX_NAME_BYTES, 0xe9));
    assert.equal(nameToBytes(latin1).length, MAX_NAME_BYTES);
    assert.equal(resolveVirtual('/', latin1), `/${latin1}`);
    assert.throws(() => resolveVirtual('/', latin1 + '\udce9'), isRefusal);
    // A 4096-byte path of raw bytes.
    const comp = bytesToName(Buffer.alloc(255, 0xe8));
    const max = Array.from({ length: 16 }, () => comp).join('/');
    assert.equal(nameToBytes(`/${max}`).length, MAX_PATH_BYTES);
    assert.equal(resolveVirtual('/', max), `/${max}`);
  });

  it('a short raw-byte name passes (86 bytes or fewer today)', () => {
    const n = bytesToName(Buffer.alloc(80, 0xe9));
    assert.equal(resolveVirtual('/', n), `/${n}`);
  });
});

describe('baseName, parentOf, joinVirtual', () => {
  const rows: [string, string, string][] = [
    // [path, baseName, parentOf]
    ['/', '', '/'],
    ['/a', 'a', '/'],
    ['/a/b', 'b', '/a'],
    ['/a/b/c.txt', 'c.txt', '/a/b'],
    ['/..x', '..x', '/'],
    ['/caf\udce9/\ud83d\ude00', '\ud83d\ude00', '/caf\udce9'],
    ['/a b/ c ', ' c ', '/a b'],
  ];
  for (const [p, base, parent] of rows) {
    it(p, () => {
      assert.equal(baseName(p), base);
      assert.equal(parentOf(p), parent);
      if (p !== '/') assert.equal(joinVirtual(parentOf(p), baseName(p)), p);
    });
  }

  it('joinVirtual does not double the slash at the root', () => {
    assert.equal(joinVirtual('/', 'x'), '/x');
    assert.equal(joinVirtual('/a', 'x'), '/a/x');
  });

  it('the helpers agree with resolveVirtual', () => {
    for (const p of ['/a', '/a/b', '/x/y/z']) {
      assert.equal(resolveVirtual(p, '..'), parentOf(p));
      assert.equal(resolveVirtual(parentOf(p), baseName(p)), p);
    }
  });
});
