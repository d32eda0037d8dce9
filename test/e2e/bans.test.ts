/**
 * The brute-force defender (issue 15): failed logins from one address ban it at connect with a 421
 * while another address still logs in at once; the ban is shared by every worker; `tsftpd ban`
 * lists, adds and lifts bans; an allow-listed address is never banned; account lockout.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RawFtp } from '../helpers/raw.js';
import { freePort, killChild, spawnServer, connectWhenUp } from '../helpers/child-server.js';
import { runMain } from '../helpers/main-process.js';
import { writeJoePasswd, startServer } from '../helpers/server.js';

/** One connection from `from`: USER joe / PASS `password`; the replies seen. */
async function attempt(port: number, from: string, password: string): Promise<string[]> {
  const { ftp, greeting } = await RawFtp.connect(port, '127.0.0.1', from);
  try {
    if (greeting.code !== 220) return [greeting.text];
    const u = await ftp.cmd('USER joe');
    const p = await ftp.cmd(`PASS ${password}`);
    return [greeting.text, u.text, p.text];
  } finally {
    ftp.close();
  }
}

describe('brute-force bans', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-bans-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('50 wrong passwords from one address ban it in every worker; another address logs in at once; tsftpd ban', async () => {
    const home = path.join(dir, 'home');
    await mkdir(home);
    const passwd = await writeJoePasswd(dir, home);
    const port = await freePort();
    const socket = path.join(dir, `who-${port}.sock`);
    const srv = spawnServer(port, [
      '--workers',
      '2',
      '--passwd-file',
      passwd,
      '-j',
      '--auth-delay',
      '1',
      '--who-socket',
      socket,
      '--ban-allow',
      '127.0.0.9',
    ]);
    try {
      (await connectWhenUp(port)).close();
      const replies: string[][] = [];
      for (let i = 0; i < 50; i++) replies.push(await attempt(port, '127.0.0.2', `wrong${i}`));
      // The default: 20 failures within 10 minutes; the 20th is answered with the ban.
      for (let i = 0; i < 19; i++)
        assert.match(replies[i][2], /^530 /, `attempt ${i + 1}: ${replies[i].join(' | ')}`);
      assert.match(replies[19][2], /^421 This address is banned for 9\d\d more seconds$/);
      for (let i = 20; i < 50; i++)
        assert.match(replies[i][0], /^421 This address is banned for \d+ more seconds$/, `attempt ${i + 1}`);
      // Another address: logs in at once, even with the right password from the banned one refused.
      const other = await attempt(port, '127.0.0.3', 'secret');
      assert.match(other[2], /^230 /, other.join(' | '));
      assert.match((await attempt(port, '127.0.0.2', 'secret'))[0], /^421 /);
      assert.match(srv.output(), /Banned \[127\.0\.0\.2\] for 900 seconds: too many failed logins/);
      assert.match(srv.output(), /Refused \[127\.0\.0\.2\]: banned for \d+ more seconds \(failures\)/);

      const list = await runMain(['ban', 'list', '--socket', socket]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^127\.0\.0\.2 +\S+ +\d+ s {2}failures \(#1\)$/m);
      const json = await runMain(['ban', 'list', '--json', '--socket', socket]);
      const bans = JSON.parse(json.stdout) as { ip: string; until: number; reason: string }[];
      assert.deepEqual(
        bans.map((b) => [b.ip, b.reason]),
        [['127.0.0.2', 'failures']],
      );
      assert.ok(bans[0].until > Date.now() + 800_000);

      const removed = await runMain(['ban', 'remove', '127.0.0.2', '--socket', socket]);
      assert.equal(removed.code, 0, removed.stderr);
      assert.match((await attempt(port, '127.0.0.2', 'secret'))[2], /^230 /);
      assert.equal((await runMain(['ban', 'remove', '127.0.0.2', '--socket', socket])).code, 1);

      // A ban by hand ends the address's sessions and refuses its connections.
      const { ftp: victim } = await RawFtp.connect(port, '127.0.0.1', '127.0.0.4');
      await victim.login('joe', 'secret');
      const added = await runMain(['ban', 'add', '127.0.0.4', '120', '--socket', socket]);
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, /^banned 127\.0\.0\.4 .* manual/);
      assert.match((await victim.read()).text, /^421 /);
      victim.close();
      assert.match(
        (await attempt(port, '127.0.0.4', 'secret'))[0],
        /^421 This address is banned for 1[012]\d more seconds$/,
      );
      // The allow list: never banned, by hand or by failures.
      const allowed = await runMain(['ban', 'add', '127.0.0.9', '--socket', socket]);
      assert.equal(allowed.code, 1);
      assert.match(allowed.stderr, /allow list/);
      for (let i = 0; i < 25; i++) assert.match((await attempt(port, '127.0.0.9', 'bad'))[2], /^530 /);
      assert.match((await attempt(port, '127.0.0.9', 'secret'))[2], /^230 /);
      assert.equal((await runMain(['ban', 'add', 'nonsense', '--socket', socket])).code, 1);
    } finally {
      await killChild(srv.child);
    }
  });

  it('--ban-after, --ban-time, growing bans, and account lockout in one process', async () => {
    const srv = await startServer({
      args: ['--ban-after', '3', '--ban-time', '2', '--ban-account-after', '5'],
    });
    try {
      for (let i = 0; i < 2; i++) assert.match((await attempt(srv.port, '127.0.0.5', 'x'))[2], /^530 /);
      assert.match(
        (await attempt(srv.port, '127.0.0.5', 'x'))[2],
        /^421 This address is banned for 2 more seconds$/,
      );
      assert.match((await attempt(srv.port, '127.0.0.5', 'secret'))[0], /^421 /);
      await new Promise((r) => setTimeout(r, 2100));
      // The ban is over; the next one (within a day) lasts twice as long.
      for (let i = 0; i < 2; i++) assert.match((await attempt(srv.port, '127.0.0.5', 'x'))[2], /^530 /);
      assert.match(
        (await attempt(srv.port, '127.0.0.5', 'x'))[2],
        /^421 This address is banned for 4 more seconds$/,
      );
      // 5 failures for joe from anywhere lock joe (the right password is refused too), not the others.
      const lock = await attempt(srv.port, '127.0.0.6', 'secret');
      assert.match(lock[2], /^530 /, 'joe is locked after 6 failures');
      assert.ok(srv.logs.some((l) => l.includes('account locked after failed logins')));
    } finally {
      await srv.close();
    }
  });
});
