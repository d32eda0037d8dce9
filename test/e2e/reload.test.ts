/**
 * SIGHUP reloads the configuration in every process (issue 12 item 8): a server with two session
 * workers, started from a pure-ftpd.conf-style file, takes a changed file on SIGHUP — the parent's
 * -c limit and the workers' anonymous setting apply to new connections, the open session keeps
 * working — while a changed worker count is kept and named in the log as needing a restart; a
 * file that no longer loads leaves everything as it was.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { RawFtp } from '../helpers/raw.js';

/** Waits (at most 10 s) until `test` holds for the server's output. */
async function outputUntil(output: () => string, test: (text: string) => boolean): Promise<string> {
  for (let i = 0; i < 200; i++) {
    if (test(output())) return output();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out; output so far:\n${output()}`);
}

describe('SIGHUP reloads the configuration', () => {
  it('new connections get the new settings in the parent and the workers; listeners stay', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-reload-'));
    const anon = path.join(dir, 'anon');
    await mkdir(anon);
    const conf = path.join(dir, 'pure-ftpd.conf');
    const port = await freePort();
    await writeFile(conf, `NoAnonymous yes\nMaxClientsNumber 1\nAnonymousRoot ${anon}\nWorkers 2\n`);
    const { child, output } = spawnServer(port, ['--config', conf]);
    const open: RawFtp[] = [];
    try {
      await outputUntil(output, (t) => t.includes('process model'));
      const first = await RawFtp.connect(port);
      open.push(first.ftp);
      assert.match(first.greeting.text, /private system - No anonymous login/);
      const refused = await RawFtp.connect(port);
      open.push(refused.ftp);
      assert.equal(refused.greeting.code, 421);

      await writeFile(conf, `NoAnonymous no\nMaxClientsNumber 5\nAnonymousRoot ${anon}\nWorkers 3\n`);
      process.kill(child.pid!, 'SIGHUP');
      const log = await outputUntil(output, (t) => t.includes('SIGHUP: configuration reloaded'));
      assert.match(log, /SIGHUP: changes to --workers take effect at the next restart/);

      // The parent admits up to 5 now; the workers greet without the "private system" line.
      for (let i = 0; i < 3; i++) {
        const c = await RawFtp.connect(port);
        open.push(c.ftp);
        assert.equal(c.greeting.code, 220, c.greeting.text);
        assert.doesNotMatch(c.greeting.text, /private system/);
      }
      const anonymous = open[open.length - 1];
      assert.equal((await anonymous.cmd('USER ftp')).code, 230);
      assert.equal((await anonymous.cmd('PWD')).code, 257);
      // The session opened before the reload still works.
      assert.equal((await first.ftp.cmd('NOOP')).code, 200);

      // A file that does not load changes nothing.
      await writeFile(conf, `MaxClientsNumber many\n`);
      process.kill(child.pid!, 'SIGHUP');
      await outputUntil(output, (t) => t.includes('SIGHUP: the configuration was not reloaded'));
      const still = await RawFtp.connect(port);
      open.push(still.ftp);
      assert.equal(still.greeting.code, 220);
      assert.doesNotMatch(still.greeting.text, /private system/);
    } finally {
      for (const c of open) c.close();
      await killChild(child);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
