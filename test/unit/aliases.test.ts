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

describe('virtual host paths in logs', () => {
  it('<ip>:/x is the file <vhost dir>/<ip>/x; other paths are unchanged', async () => {
    const { vhostFilePath } = await import('../../src/policy/vhosts.js');
    assert.equal(vhostFilePath('127.0.0.2:/in/a.txt', '/v'), '/v/127.0.0.2/in/a.txt');
    assert.equal(vhostFilePath('::1:/a', '/v'), '/v/::1/a');
    assert.equal(vhostFilePath('/srv/ftp/a:/b'), '/srv/ftp/a:/b');
    assert.equal(vhostFilePath('files.example.org:/a', '/v'), '/v/files.example.org/a');
    assert.equal(vhostFilePath('Bad_Name:/a', '/v'), 'Bad_Name:/a');
  });
});
