/**
 * The jail under a race (issue: a local user who can write an account's home swaps a directory,
 * and a file, with symlinks to the outside while the account works). A helper process exchanges
 * `race/d` with `race/dl -> OUTSIDE` and `race/fl` (a file) with `race/fs -> OUTSIDE/victim` in a
 * tight loop with renameat2(RENAME_EXCHANGE), while one session per command runs it 400 times.
 * The outside tree belongs to the account (so only the jail keeps it out); afterwards not one byte
 * of it may have been read, and nothing in it created, changed or removed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RawFtp } from '../helpers/raw.js';
import { TEST_GID, TEST_UID, chownTree, startServer, type TestServer } from '../helpers/server.js';
import { toolSkip } from '../helpers/clients.js';

const ROUNDS = 400;
const INSIDE = 'inside-content\n';
const OUTSIDE = 'OUTSIDE-SECRET\n';
/** The outside victim's mtime (2001): an MDTM answer with it came from outside. */
const OUTSIDE_TIME = new Date('2001-02-03T04:05:06Z');

/** Exchanges each pair of names with renameat2(RENAME_EXCHANGE) until killed (or 120 s pass). */
const SWAPPER = `
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
pairs = [(a.encode(), b.encode()) for a, b in zip(sys.argv[1::2], sys.argv[2::2])]
end = time.time() + 120
n = 0
while time.time() < end:
    for a, b in pairs:
        libc.renameat2(-100, a, -100, b, 2)
    n += 1
    if n == 1:
        print('swapping', flush=True)
`;

/** Every name, size, mode, mtime and content below a directory (symlinks not followed). */
async function snapshot(dir: string, prefix = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(dir)).sort()) {
    const full = path.join(dir, name);
    const st = await stat(full);
    const key = prefix + name;
    if (st.isDirectory()) {
      out.set(key, `dir ${st.mode} ${st.mtimeMs}`);
      for (const [k, v] of await snapshot(full, key + '/')) out.set(k, v);
    } else {
      out.set(key, `file ${st.mode} ${st.mtimeMs} ${(await readFile(full)).toString('base64')}`);
    }
  }
  return out;
}

describe('the jail holds while directories and files are swapped with symlinks', () => {
  let srv: TestServer;
  let outside: string;
  let race: string;
  let swapper: ChildProcess | undefined;
  let before0: Map<string, string>;

  const skip = toolSkip('python3');

  before(async () => {
    srv = await startServer();
    const home = srv.home('joe');
    outside = path.join(srv.dir, 'outside');
    race = path.join(home, 'race');
    await mkdir(path.join(race, 'd'), { recursive: true });
    await mkdir(outside);
    for (const dir of [path.join(race, 'd'), outside]) {
      const text = dir === outside ? OUTSIDE : INSIDE;
      await writeFile(path.join(dir, 'f'), text);
      for (let i = 0; i < ROUNDS; i++) {
        await writeFile(path.join(dir, `del-${i}`), text);
        await writeFile(path.join(dir, `ren-${i}`), text);
      }
    }
    await writeFile(path.join(outside, 'victim'), OUTSIDE);
    await utimes(path.join(outside, 'victim'), OUTSIDE_TIME, OUTSIDE_TIME);
    await writeFile(path.join(race, 'fl'), INSIDE);
    await symlink(outside, path.join(race, 'dl'));
    await symlink(path.join(outside, 'victim'), path.join(race, 'fs'));
    await chownTree(home, TEST_UID, TEST_GID);
    await chownTree(outside, TEST_UID, TEST_GID);
    before0 = await snapshot(outside);
    if (skip !== false) return;
    swapper = spawn(
      'python3',
      [
        '-c',
        SWAPPER,
        path.join(race, 'd'),
        path.join(race, 'dl'),
        path.join(race, 'fl'),
        path.join(race, 'fs'),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      swapper!.stdout!.once('data', () => resolve());
      swapper!.once('exit', (code) => reject(new Error(`swapper exited with ${code}`)));
    });
  });

  after(async () => {
    if (swapper?.pid !== undefined && swapper.exitCode === null) {
      const gone = new Promise((resolve) => swapper!.once('exit', resolve));
      process.kill(swapper.pid, 'SIGKILL');
      await gone;
    }
    await srv.close();
  });

  /** Runs `round(ftp, i)` ROUNDS times on a fresh session. */
  async function rounds(fn: (ftp: RawFtp, i: number) => Promise<void>): Promise<void> {
    const { ftp } = await RawFtp.connect(srv.port);
    try {
      await ftp.login('joe', 'secret');
      assert.equal((await ftp.cmd('TYPE I')).code, 200);
      for (let i = 0; i < ROUNDS; i++) await fn(ftp, i);
    } finally {
      ftp.close();
    }
  }

  it(
    'reads never return outside content or names (RETR, NLST, SIZE, MDTM)',
    { skip, timeout: 240_000 },
    async () => {
      let served = 0;
      await Promise.all([
        rounds(async (ftp) => {
          const r = await ftp.data('RETR race/d/f');
          assert.doesNotMatch(r.data.toString(), /OUTSIDE/, 'RETR read the outside file');
          if (r.final?.code === 226) served++;
        }),
        rounds(async (ftp) => {
          const r = await ftp.data('NLST race/d');
          assert.doesNotMatch(r.data.toString(), /victim/, 'NLST listed the outside directory');
        }),
        rounds(async (ftp) => {
          // The outside f has a different size: an answer for it would show.
          const r = await ftp.cmd('SIZE race/d/f');
          if (r.code === 213) assert.equal(r.text, `213 ${INSIDE.length}`);
          assert.notEqual((await ftp.cmd('SIZE race/dl/victim')).code, 213);
          assert.notEqual((await ftp.cmd('MDTM race/d/victim')).code, 213);
          // race/fs is the inside file half of the time: an answer may only ever be the inside one's.
          assert.doesNotMatch((await ftp.cmd('MDTM race/fs')).text, /^213 2001/);
        }),
      ]);
      assert.ok(served > 0, 'no RETR got through: the test would prove nothing');
    },
  );

  it('writes never create, change or remove anything outside', { skip, timeout: 240_000 }, async () => {
    await Promise.all([
      rounds(async (ftp, i) => {
        await ftp.data(`STOR race/d/new-${i}`, 'new');
        await ftp.data('APPE race/d/f', 'appended');
      }),
      rounds(async (ftp) => {
        if ((await ftp.cmd('REST 1')).code === 350) await ftp.data('STOR race/d/f', 'rewritten');
      }),
      rounds(async (ftp, i) => {
        await ftp.cmd(`MKD race/d/m-${i}`);
        await ftp.cmd(`DELE race/d/del-${i}`);
      }),
      rounds(async (ftp, i) => {
        if ((await ftp.cmd(`RNFR race/d/ren-${i}`)).code === 350) await ftp.cmd(`RNTO race/d/moved-${i}`);
      }),
      rounds(async (ftp) => {
        await ftp.cmd('SITE CHMOD 600 race/fl');
        await ftp.cmd('SITE CHMOD 640 race/d/f');
        await ftp.cmd('MFMT 20000101000000 race/fl');
        await ftp.cmd('MFMT 20000101000000 race/d/f');
      }),
    ]);
    const now = await snapshot(outside);
    const changed = [...new Set([...before0.keys(), ...now.keys()])].filter(
      (k) => before0.get(k) !== now.get(k),
    );
    assert.deepEqual(changed, [], 'the outside tree changed');
  });
});
