/**
 * Loading configurations in tests: a command line that must be accepted, and one that must be
 * refused with an exact message (what `tsftpd` prints before exiting).
 */
import assert from 'node:assert/strict';
import { loadConfig, type Config } from '../../src/config/index.js';

/** The configuration of a command line; fails the test when it is refused. */
export async function validConfig(...argv: string[]): Promise<Readonly<Config>> {
  const result = await loadConfig(argv);
  assert.ok('config' in result, `expected a config for ${JSON.stringify(argv)}`);
  return result.config;
}

/** Asserts that a command line is refused with a ConfigError whose message is (or matches) `message`. */
export async function refuses(argv: string[], message: string | RegExp): Promise<void> {
  await assert.rejects(loadConfig(argv), (err: unknown) => {
    assert.ok(err instanceof Error && err.name === 'ConfigError', String(err));
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}
