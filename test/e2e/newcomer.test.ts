/**
 * The README's newcomer path, end to end (issue 10 item 8): `--quickstart` (what `npm start` runs) in
 * an empty directory, the add-user command exactly as the start-up line prints it (the password on
 * standard input, as `tsftpd pw` reads it), then a login and an upload with curl. And a 421 reply
 * reaches curl with its text (curl reports any 421 as "(28) Timeout was reached").
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { curl, ftpUrl, toolSkip } from '../helpers/clients.js';
import { killAllMentioning, runMain, startMain } from '../helpers/main-process.js';
import { TestScope } from '../helpers/scope.js';

describe("the README's newcomer path (item 8)", () => {
  it(
    'quickstart, the printed useradd command, then curl logs in and uploads',
    { skip: toolSkip('curl') },
    async (t) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-newcomer-'));
      await chmod(dir, 0o755); // the account (nobody, as root) must reach its home
      t.after(async () => {
        await killAllMentioning(dir);
        await rm(dir, { recursive: true, force: true });
      });
      const server = startMain(['--quickstart', '-S', '127.0.0.1,0'], { cwd: dir });
      t.after(() => server.stop());
      assert.ok(await server.waitFor('stdout', /pw useradd .*\n/), server.stdout() + server.stderr());
      const out = server.stdout();
      const port = Number(/serving FTP on ftp:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
      assert.match(out, /home is created at first login, -j/);
      // The command as printed: `node /path/to/main.js pw useradd joe ... -f /dir/pureftpd.passwd`.
      const printed = /^ {2}(.* pw useradd .*)$/m.exec(out)?.[1] ?? '';
      const words = printed.split(' ');
      assert.equal(words[0], 'node', printed);
      const added = await runMain(words.slice(2), {
        cwd: dir,
        input: 'n3wcomer-pass\nn3wcomer-pass\n',
        timeoutMs: 30_000,
      });
      assert.equal(added.code, 0, added.stdout + added.stderr);
      await writeFile(path.join(dir, 'hello.txt'), 'hello from the README\n');
      const login = { user: 'joe', password: 'n3wcomer-pass' };
      const up = await curl(ftpUrl(port, '/'), login, ['-T', path.join(dir, 'hello.txt')]);
      assert.equal(up.code, 0, up.stderr + server.stderr());
      assert.equal(
        await readFile(path.join(dir, 'home', 'joe', 'hello.txt'), 'utf8'),
        'hello from the README\n',
      );
      const down = await curl(ftpUrl(port, '/hello.txt'), login);
      assert.equal(down.stdout, 'hello from the README\n');
    },
  );

  it(
    'a 421 reaches curl with its text (curl -v shows it; curl itself says "Timeout")',
    { skip: toolSkip('curl') },
    async (t) => {
      const scope = new TestScope(t);
      const srv = await scope.server();
      await rm(srv.home('joe'), { recursive: true }); // no -j: the login ends with 421
      const r = await curl(ftpUrl(srv.port, '/'), { user: 'joe', password: 'secret' }, ['-v']);
      assert.equal(r.code, 28); // CURLE_OPERATION_TIMEDOUT: curl's code for every 421
      assert.match(r.stderr, /< 421 Home directory not available - aborting/);
    },
  );
});
