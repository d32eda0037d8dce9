/** The directory aliases file (upstream §6.4): pairs of lines, comments and blank lines skipped. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAliases } from '../../src/policy/aliases.js';

describe('directory aliases file', () => {
  it('reads alias/directory pairs, skipping # and blank lines (also between the two)', () => {
    const text =
      '# comment\n\npictures\n/usr/misc/pictures\n\nsources\n# the next one\n\n/usr/src\r\nx y\n/a b\n';
    assert.deepEqual(parseAliases(text), [
      ['pictures', '/usr/misc/pictures'],
      ['sources', '/usr/src'],
      ['x y', '/a b'],
    ]);
    assert.deepEqual(parseAliases('# only comments\n#\n'), []);
    assert.deepEqual(parseAliases(''), []);
  });

  it('an alias without a directory is a damaged file, naming the line', () => {
    assert.throws(
      () => parseAliases('pictures\n/p\nlonely\n# nothing\n'),
      /line 4: the alias "lonely" has no directory/,
    );
  });
});
