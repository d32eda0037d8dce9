// The "Options:" texts below were captured from the final 226 of the real Pure-FTPd 1.0.50.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { optionsLine, parseListArgs, type ListFlags } from '../../src/storage/list-options.js';

const BASE: ListFlags = {
  all: false,
  long: true,
  one: false,
  columns: false,
  classify: false,
  recursive: false,
  directory: false,
  reverse: false,
  sortTime: false,
  sortSize: false,
};

test('no argument: long listing of the current directory', () => {
  assert.deepEqual(parseListArgs(''), { flags: BASE, patterns: [], multiple: false });
  assert.deepEqual(parseListArgs('-la').flags, { ...BASE, all: true });
  assert.deepEqual(parseListArgs('-la   ').patterns, []);
});

test('option groups: letters and digits after `-`, last of -1/-l/-C and -t/-S wins', () => {
  assert.deepEqual(parseListArgs('-1').flags, { ...BASE, long: false, one: true });
  assert.deepEqual(parseListArgs('-C').flags, { ...BASE, long: false, columns: true });
  assert.deepEqual(parseListArgs('-Cl').flags, BASE);
  assert.deepEqual(parseListArgs('-lC').flags, { ...BASE, long: false, columns: true });
  assert.deepEqual(parseListArgs('-1C1').flags, { ...BASE, long: false, one: true });
  assert.deepEqual(parseListArgs('-tS').flags, { ...BASE, sortSize: true });
  assert.deepEqual(parseListArgs('-St').flags, { ...BASE, sortTime: true });
  assert.deepEqual(parseListArgs('-xyz1').flags, { ...BASE, long: false, one: true }); // unknown ignored
  assert.deepEqual(parseListArgs('-1-a').flags, { ...BASE, long: false, one: true, all: true });
  assert.deepEqual(parseListArgs('-1 --a').flags, { ...BASE, long: false, one: true, all: true });
  assert.deepEqual(parseListArgs('  -F  -R x'), {
    flags: { ...BASE, classify: true, recursive: true },
    patterns: ['x'],
    multiple: false,
  });
  assert.deepEqual(parseListArgs('-').flags, BASE);
});

test('an option group ends at the first other character', () => {
  // `LIST -l.txt` lists the glob `.txt` (0 matches) [obs]; `LIST -1 -- .h*` lists .hidden [obs].
  assert.deepEqual(parseListArgs('-l.txt'), { flags: BASE, patterns: ['.txt'], multiple: false });
  assert.deepEqual(parseListArgs('-1 -- .h*').patterns, ['.h*']);
  assert.deepEqual(parseListArgs('\\-l.txt').patterns, ['\\-l.txt']);
  assert.deepEqual(parseListArgs('x -a').patterns, ['x', '-a']);
});

test('arguments split on spaces; `\\ ` and `\\\\` lose their backslash, other escapes stay', () => {
  assert.deepEqual(parseListArgs('-1 with\\ space').patterns, ['with space']);
  assert.deepEqual(parseListArgs('-1 with space'), {
    flags: { ...BASE, long: false, one: true },
    patterns: ['with', 'space'],
    multiple: true,
  });
  assert.deepEqual(parseListArgs('star\\*name a\\[1\\]').patterns, ['star\\*name', 'a\\[1\\]']);
  assert.deepEqual(parseListArgs('a\\\\ b').patterns, ['a\\', 'b']);
  assert.deepEqual(parseListArgs('hello.txt\\').patterns, ['hello.txt\\']);
  assert.deepEqual(parseListArgs('hello.txt  b10'), {
    flags: BASE,
    patterns: ['hello.txt', 'b10'],
    multiple: true,
  });
  assert.deepEqual(parseListArgs('sub '), { flags: BASE, patterns: ['sub'], multiple: false });
  // `LIST -1 sub  ` (two spaces) prints a `sub:` header, `LIST -1 sub ` does not [obs].
  assert.deepEqual(parseListArgs('sub  '), { flags: BASE, patterns: ['sub'], multiple: true });
  assert.deepEqual(parseListArgs('-a\tx').patterns, ['x']);
});

test('defaults: NLST-style short listing and the server -D switch', () => {
  assert.deepEqual(parseListArgs('', { long: false }).flags, { ...BASE, long: false });
  assert.deepEqual(parseListArgs('-l', { long: false }).flags, BASE);
  assert.equal(optionsLine(parseListArgs('', { all: true }).flags)?.toString(), 'Options: -a -l ');
});

test('optionsLine matches the captured 226 continuation lines', () => {
  const cases: Array<[string, string | undefined]> = [
    ['', 'Options: -l '],
    ['-', 'Options: -l '],
    ['-a', 'Options: -a -l '],
    ['-F', 'Options: -F -l '],
    ['-C', 'Options: -C '],
    ['-CF', 'Options: -C -F '],
    ['-1F', 'Options: -F '],
    ['-1R', 'Options: -R '],
    ['-1 -a', 'Options: -a '],
    ['-d sub', 'Options: -d -l '],
    ['-r hel*', 'Options: -l -r '],
    ['-S', 'Options: -l -S '],
    ['-t', 'Options: -l -t'], // no space after -t
    ['-laFRdrtS', 'Options: -a -d -F -l -r -R -S '],
    ['-1', undefined],
    ['-xyz1', undefined],
  ];
  for (const [arg, expected] of cases)
    assert.equal(optionsLine(parseListArgs(arg).flags)?.toString(), expected, arg);
});
