// Expected matches come from `LIST -1 <pattern>` on the real Pure-FTPd 1.0.50 over this directory
// (dangling symlinks and FIFOs match the glob but LIST then skips them, so they are added back here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  globToMatcher,
  globTooComplex,
  hasGlob,
  MAX_GLOB_STARS,
  unescapeGlob,
} from '../../src/storage/glob.js';

const NAMES = [
  ...['.', '..', '.hidden', '-l.txt', 'B2', 'Zeta', '_under', 'a[1]', 'alpha', 'b10', 'big9', 'dangling'],
  ...['fifo', 'future', 'gexec', 'hello.txt', 'huge', 'link-to-hello', 'link-to-sub', 'old190', 'recent170'],
  ...['renamed.txt', 'run.sh', 's****x', 'sgid', 'sgidnx', 'star*name', 'sticky', 'stickynx', 'sub', 'suid'],
  ...['suidnx', 'with space', 'x[y', '{al,B}z', 'Äpfel', 'éclair'],
];

const matches = (pattern: string, unicode = false): string[] =>
  NAMES.filter(globToMatcher(pattern, { unicode }));

test('patterns observed on Pure-FTPd 1.0.50', () => {
  const cases: Array<[string, string[]]> = [
    ['[^a]*', ['a[1]', 'alpha']], // `^` is not a negation in bsd-glob
    ['[a-c]*', ['a[1]', 'alpha', 'b10', 'big9']],
    ['[c-a]*', []],
    ['[a-]*', ['-l.txt', 'a[1]', 'alpha']],
    ['[]]*', []],
    ['star\\*name', ['star*name']],
    ['a\\[1\\]', ['a[1]']],
    ['a[1]', []],
    ['x[y', ['x[y']], // no closing bracket: `[` is literal
    ['x[*', ['x[y']],
    ['x\\[y', ['x[y']],
    ['{al,B}*', ['{al,B}z']], // no brace expansion
    ['**e', ['future', 'huge', 'star*name', 'with space']],
    ['*?*?*e', ['future', 'huge', 'star*name', 'with space']],
    ['*l*l*', ['hello.txt', 'link-to-hello']],
    ['*-*-*', ['link-to-hello', 'link-to-sub']],
    ['??pfel', ['Äpfel']], // `?` is one byte
    ['?pfel', []],
    ['[Ä]pfel', []],
    ['\\-l.txt', ['-l.txt']],
  ];
  for (const [pattern, expected] of cases) assert.deepEqual(matches(pattern), expected, pattern);
  const notA = NAMES.filter((n) => !n.startsWith('.') && !n.startsWith('a'));
  assert.deepEqual(matches('[!a]*'), notA);
  assert.deepEqual(
    matches('***'),
    NAMES.filter((n) => !n.startsWith('.')),
  );
});

test('a leading dot needs a literal dot in the pattern, even with -a', () => {
  assert.deepEqual(matches('*hidden'), []);
  assert.deepEqual(matches('?hidden'), []);
  assert.deepEqual(matches('[.]hidden'), []);
  assert.deepEqual(matches('.h*'), ['.hidden']);
  assert.deepEqual(matches('\\.hidden'), ['.hidden']);
  assert.deepEqual(matches('.*'), ['.', '..', '.hidden']);
  assert.equal(globToMatcher('*')('.'), false);
});

test('bracket expressions follow bsd-glob glob0()', () => {
  // `LIST -1 br/<pattern>` over a directory holding exactly these names [obs].
  const dir = ['!', '-', '[!]x', ']', 'a', 'b', 'm', 'z'];
  const cases: Array<[string, string[]]> = [
    ['[!]a]', ['!', '-', 'b', 'm', 'z']], // `]` right after `[!` is a member
    ['[\\]]', [']']],
    ['[a\\-z]', ['-', 'a', 'z']], // an escaped `-` is no range
    ['[a-\\]]', []], // a reversed range is empty
    ['[\\!a]', ['!', 'a']],
    ['[-a]', ['-', 'a']],
    ['[a-]', ['-', 'a']],
    ['[!]x', ['[!]x']], // no closing bracket after the first member: literal text
    ['[]', []],
    ['[z-a]', []],
    ['?', ['!', '-', ']', 'a', 'b', 'm', 'z']],
  ];
  for (const [pattern, expected] of cases)
    assert.deepEqual(dir.filter(globToMatcher(pattern)), expected, pattern);
  const m = (p: string, name: string): boolean => globToMatcher(p)(name);
  assert.equal(m('[', '['), true);
  assert.equal(m('[]', '[]'), true);
  assert.equal(m('x\\', 'x\\'), true); // a trailing backslash stays literal
  assert.equal(m('', ''), true);
  assert.equal(m('', 'a'), false);
  assert.equal(m('a?', 'a'), false);
  assert.equal(m('a*', 'a'), true);
  assert.equal(m('*a', 'ba'), true);
  assert.equal(m('*a*b', 'xaxxbxb'), true);
  assert.equal(m('*a*b', 'xaxxbx'), false);
  assert.equal(m('(.+)+$', '(.+)+$'), true); // regex syntax is plain text
  assert.equal(m('a.c', 'abc'), false);
});

test('unicode option matches code points instead of bytes', () => {
  assert.deepEqual(matches('?pfel', true), ['Äpfel']);
  assert.deepEqual(matches('[Ä]pfel', true), ['Äpfel']);
  assert.deepEqual(matches('[à-ÿ]*', true), ['éclair']);
  assert.equal(globToMatcher('?', { unicode: true })('\u{1F600}'), true);
  assert.equal(globToMatcher('?')('\u{1F600}'), false);
});

test('matching is bounded: no backtracking blow-up', () => {
  const long = 'a'.repeat(20000);
  const started = process.hrtime.bigint();
  assert.equal(globToMatcher('*a*a*a*a*a*a*b')(long), false);
  assert.equal(globToMatcher('*a*a*b*')(`${long}b`), true);
  assert.equal(globToMatcher('[a-z]*[0-9]')(long), false);
  assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
});

test('globTooComplex mirrors the star limit of Pure-FTPd 1.0.50', () => {
  assert.equal(MAX_GLOB_STARS, 3);
  for (const p of ['***', '*?*?*e', '**e', 'x']) assert.equal(globTooComplex(p), false, p);
  // All refused with "Out of memory during globbing of ..." [obs], escaped and bracketed stars included.
  for (const p of ['****e', '*l*l*l*', '*i*?*?*', 's\\*\\*\\*\\*x', 's[*][*][*][*]x', 's[*][*][*]*']) {
    assert.equal(globTooComplex(p), true, p);
  }
});

test('hasGlob and unescapeGlob', () => {
  for (const p of ['*', '?', 'a[1]', '[!a]*', 'x[*']) assert.equal(hasGlob(p), true, p);
  for (const p of ['hello.txt', 'x[y', 'star\\*name', '\\?', '{a,b}', '[', '[!]'])
    assert.equal(hasGlob(p), false, p);
  assert.equal(unescapeGlob('a\\[1\\]'), 'a[1]');
  assert.equal(unescapeGlob('star\\*name'), 'star*name');
  assert.equal(unescapeGlob('x\\'), 'x\\');
  assert.equal(unescapeGlob('\\\\'), '\\');
  assert.equal(unescapeGlob('plain'), 'plain');
});
