/**
 * Documentation stays true: docs/switches.md is exactly what the switch table generates, and every
 * documented switch exists.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { switchesMarkdown } from '../../src/config/docs.js';

describe('docs', () => {
  it('docs/switches.md matches the switch table (run `npm run docs` after changing a switch)', async () => {
    const onDisk = await readFile(new URL('../../../docs/switches.md', import.meta.url), 'utf8');
    assert.equal(onDisk, switchesMarkdown());
  });
});
