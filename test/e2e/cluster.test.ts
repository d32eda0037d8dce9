/**
 * Two tsftpd nodes behind a real HAProxy (issue 15): HAProxy (Debian's `haproxy`, a generated config)
 * balances the control port with `send-proxy-v2` and forwards each node's passive range to it;
 * accounts are in the machine's PostgreSQL; limits, bans and the session list are in its Redis
 * (`--state`). Proven here: the client's real address reaches the nodes through the PROXY header;
 * `-y 2` holds across the nodes; a ban made on one node (by hand or by the defender) refuses the
 * address on the other; `who` lists both nodes' sessions; lftp `mirror` of a 200-file tree through the
 * balancer is byte-identical; a node killed mid-transfer leaves the other serving, and its slots stop
 * counting after the heartbeat TTL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, truncate, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { RawFtp } from '../helpers/raw.js';
import { MAIN, freePort, killChild } from '../helpers/child-server.js';
import { runMain } from '../helpers/main-process.js';
import { findTool, lftp } from '../helpers/clients.js';
import { ciSkip } from '../helpers/ci.js';
import { chownTree, TEST_GID, TEST_UID } from '../helpers/server.js';
import { pgsqlFixture, standardQueries, type SqlFixture } from '../helpers/sql-db.js';
import type { WhoEntry } from '../../src/telemetry/who.js';

const REDIS_URL = 'redis://127.0.0.1:6379/9';
/** Debian installs it in /usr/sbin, which a plain user's PATH may lack. */
const HAPROXY = findTool('haproxy') ?? '/usr/sbin/haproxy';

async function redisReachable(): Promise<string | undefined> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return undefined;
  } catch (err) {
    return `Redis not reachable at ${REDIS_URL} (${(err as Error).message})`;
  } finally {
    r.disconnect();
  }
}

const missing = !existsSync(HAPROXY)
  ? 'haproxy is not installed (apt-get install haproxy)'
  : await redisReachable();
// The database is made only when the test runs (a skipped suite runs no after() to drop it).
const pg = missing === undefined ? await pgsqlFixture() : missing;
const skip = ciSkip(typeof pg === 'string' ? pg : undefined);

/** Waits until something listens on host:port (at most 15 s). */
async function listening(host: string, port: number): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${host}:${port}`);
}

/** `tsftpd who --json` of a node's socket. */
async function who(socket: string): Promise<WhoEntry[]> {
  const r = await runMain(['who', '--json', '--socket', socket]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { sessions: WhoEntry[] }).sessions;
}

/** One control connection through the balancer from `from`, logged in as joe (or not: the reply). */
async function session(
  port: number,
  from: string,
  password = 'secret',
): Promise<{ ftp: RawFtp; text: string }> {
  const { ftp, greeting } = await RawFtp.connect(port, '127.0.0.1', from);
  if (greeting.code !== 220) return { ftp, text: greeting.text };
  await ftp.cmd('USER joe');
  return { ftp, text: (await ftp.cmd(`PASS ${password}`)).text };
}

describe('two nodes behind HAProxy with PostgreSQL accounts and Redis state', { skip }, () => {
  let dir: string;
  let home: string;
  const nodes: {
    name: string;
    port: number;
    ip: string;
    socket: string;
    child?: ChildProcess;
    log: string;
  }[] = [];
  let haproxy: ChildProcess | undefined;
  let front = 0;
  let redis: Redis;

  let metricsPort = 0;
  const startNode = (n: (typeof nodes)[number], range: string, conf: string, extra: string[] = []): void => {
    const child = spawn(
      process.execPath,
      [
        MAIN, '-S', `${n.ip},${n.port}`, '-p', range, '-E', '-A', '-l', `pgsql:${conf}`, '-y', '2:5',
        '--proxy-protocol', '127.0.0.0/8', '--state', REDIS_URL, '--node-name', n.name,
        '--workers', '2', '--who-socket', n.socket, '--ban-after', '4', '--auth-delay', '1', ...extra,
      ], // prettier-ignore
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    n.child = child;
    child.stdout.on('data', (d: Buffer) => (n.log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (n.log += d.toString()));
  };

  before(async () => {
    const fx = pg as SqlFixture;
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-cluster-'));
    home = path.join(dir, 'home');
    await mkdir(path.join(home, 'tree'), { recursive: true, mode: 0o755 });
    await fx.insert({ user: 'joe', password: 'secret', uid: TEST_UID, gid: TEST_GID, dir: home });
    const conf = await fx.writeConf(dir, 'pgsql.conf', standardQueries(fx, 'cleartext'));
    // A 200-file tree for the mirror: 10 directories, sizes from 0 to 300 KB.
    for (let d = 0; d < 10; d++) {
      await mkdir(path.join(home, 'tree', `d${d}`));
      for (let f = 0; f < 20; f++)
        await writeFile(
          path.join(home, 'tree', `d${d}`, `f${f}.bin`),
          randomBytes(f === 0 ? 0 : randomInt(1, 300_000)),
        );
    }
    await chownTree(home, TEST_UID, TEST_GID);
    await chmod(dir, 0o755); // the account's storage process walks down to its home
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    // This test's database holds only tsftpd's keys: what an earlier run left is removed.
    const stale = await redis.keys('tsftpd:*');
    if (stale.length > 0) await redis.del(...stale);

    for (const [i, ip] of ['127.0.0.2', '127.0.0.3'].entries()) {
      nodes.push({ name: `node-${'ab'[i]}-${process.pid}`, port: await freePort(), ip, socket: path.join(dir, `${'ab'[i]}.sock`), log: '' });
    } // prettier-ignore
    // HAProxy first: the passive ranges it binds lie below the kernel's ephemeral ports (32768 and
    // up) and the other tests' ranges (20000 and up); a range someone holds is retried elsewhere.
    let base = 0;
    for (let attempt = 0; attempt < 5 && haproxy === undefined; attempt++) {
      front = await freePort();
      base = 10_000 + randomInt(0, 99) * 100;
      const cfg = [
        'global', '  maxconn 512',
        'defaults', '  mode tcp', '  timeout connect 2s', '  timeout client 60s', '  timeout server 60s',
        '  retries 3', '  option redispatch 1',
        'frontend ftp', `  bind 127.0.0.1:${front}`, '  default_backend nodes',
        'backend nodes', '  balance roundrobin',
        `  server a ${nodes[0].ip}:${nodes[0].port} send-proxy-v2`,
        `  server b ${nodes[1].ip}:${nodes[1].port} send-proxy-v2`,
        // Each node's passive range goes to that node (the port is kept).
        'frontend pasv_a', `  bind 127.0.0.1:${base}-${base + 49}`, '  default_backend pasv_a',
        'backend pasv_a', `  server a ${nodes[0].ip}`,
        'frontend pasv_b', `  bind 127.0.0.1:${base + 50}-${base + 99}`, '  default_backend pasv_b',
        'backend pasv_b', `  server b ${nodes[1].ip}`,
        '',
      ].join('\n'); // prettier-ignore
      await writeFile(path.join(dir, 'haproxy.cfg'), cfg);
      const child = spawn(HAPROXY, ['-f', path.join(dir, 'haproxy.cfg'), '-db'], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(false)));
      const up = await Promise.race([
        listening('127.0.0.1', front).then(
          () => true,
          () => false,
        ),
        exited,
      ]);
      if (up) haproxy = child;
      else await killChild(child);
    }
    assert.ok(haproxy !== undefined, 'HAProxy did not start (see its messages above)');
    metricsPort = await freePort();
    startNode(nodes[0], `${base}:${base + 49}`, conf, ['--metrics', `127.0.0.1:${metricsPort}`]);
    startNode(nodes[1], `${base + 50}:${base + 99}`, conf);
    await Promise.all(
      nodes.map((n) =>
        listening(n.ip, n.port).catch((e: Error) => Promise.reject(new Error(`${e.message}\n${n.log}`))),
      ),
    );
  });

  after(async () => {
    await killChild(haproxy);
    for (const n of nodes) await killChild(n.child);
    redis?.disconnect();
    if (typeof pg !== 'string') await pg.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('the real client address, -y 2 across nodes, who of both nodes, bans shared', async () => {
    const a = await session(front, '127.0.0.5');
    const b = await session(front, '127.0.0.5');
    try {
      assert.match(a.text, /^230 /, nodes.map((n) => n.log).join('\n'));
      assert.match(b.text, /^230 /);
      const third = await session(front, '127.0.0.5');
      assert.match(third.text, /^421 I can't accept more than 2 connections as the same user/);
      third.ftp.close();
      // Each node lists both nodes' sessions (the other's as its last heartbeat published them,
      // every 2 s), with the address HAProxy's PROXY header gave.
      for (const n of nodes) {
        let list: WhoEntry[] = [];
        for (let i = 0; i < 50 && list.length < 2; i++) {
          list = (await who(n.socket)).filter((e) => e.account === 'joe');
          if (list.length < 2) await new Promise((r) => setTimeout(r, 100));
        }
        assert.deepEqual(list.map((e) => e.node).sort(), nodes.map((x) => x.name).sort(), n.name);
        assert.ok(
          list.every((e) => e.remoteIp === '127.0.0.5' && e.localIp === '127.0.0.1' && e.localPort === front),
        );
      }
      // The status page of node a shows both nodes' sessions too.
      const status = (await (await fetch(`http://127.0.0.1:${metricsPort}/status.json`)).json()) as {
        sessions: WhoEntry[];
      };
      const shown = status.sessions.filter((e) => e.account === 'joe').map((e) => e.node);
      assert.deepEqual(shown.sort(), nodes.map((x) => x.name).sort());
      // Session ids are per node: node a does not end node b's session; node b does.
      const onB = (await who(nodes[1].socket)).find((e) => e.account === 'joe' && e.node === nodes[1].name)!;
      const wrong = await runMain([
        'who',
        '--kill',
        `${nodes[1].name}:${onB.id}`,
        '--socket',
        nodes[0].socket,
      ]);
      assert.equal(wrong.code, 1, wrong.stdout);
      const right = await runMain([
        'who',
        '--kill',
        `${nodes[1].name}:${onB.id}`,
        '--socket',
        nodes[1].socket,
      ]);
      assert.equal(right.code, 0, right.stderr);
    } finally {
      a.ftp.close();
      b.ftp.close();
    }

    // A ban made on node a refuses the address on both nodes (round robin: two connections).
    const added = await runMain(['ban', 'add', '127.0.0.6', '300', '--socket', nodes[0].socket]);
    assert.equal(added.code, 0, added.stderr);
    for (let i = 0; i < 2; i++) {
      const { ftp, greeting } = await RawFtp.connect(front, '127.0.0.1', '127.0.0.6');
      assert.match(greeting.text, /^421 This address is banned for \d+ more seconds$/);
      ftp.close();
    }
    const listed = await runMain(['ban', 'list', '--json', '--socket', nodes[1].socket]);
    assert.ok(
      (JSON.parse(listed.stdout) as { ip: string }[]).some((b) => b.ip === '127.0.0.6'),
      listed.stdout,
    );
    assert.equal((await runMain(['ban', 'remove', '127.0.0.6', '--socket', nodes[1].socket])).code, 0);
    const back = await session(front, '127.0.0.6');
    assert.match(back.text, /^230 /);
    back.ftp.close();

    // The defender counts failures on both nodes together: 4 (alternating) ban the address.
    const replies: string[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await session(front, '127.0.0.7', 'wrong');
      replies.push(s.text);
      s.ftp.close();
    }
    assert.deepEqual(
      replies.map((r) => r.slice(0, 3)),
      ['530', '530', '530', '421'],
      replies.join('\n'),
    );
    for (let i = 0; i < 2; i++) {
      const { ftp, greeting } = await RawFtp.connect(front, '127.0.0.1', '127.0.0.7');
      assert.match(greeting.text, /^421 This address is banned/);
      ftp.close();
    }
  });

  it(
    'lftp mirror of a 200-file tree through the balancer is byte-identical',
    { skip: ciSkip(findTool('lftp') === undefined ? 'lftp is not installed' : undefined) },
    async () => {
      const local = path.join(dir, 'mirror');
      const r = await lftp(
        front,
        `mirror /tree ${local}`,
        { user: 'joe', password: 'secret' },
        { timeoutMs: 120_000 },
      );
      assert.equal(r.code, 0, r.stderr + r.stdout);
      let files = 0;
      for (const d of await readdir(path.join(home, 'tree'))) {
        for (const f of await readdir(path.join(home, 'tree', d))) {
          const [x, y] = await Promise.all([
            readFile(path.join(home, 'tree', d, f)),
            readFile(path.join(local, d, f)),
          ]);
          assert.ok(x.equals(y), `${d}/${f}`);
          files++;
        }
      }
      assert.equal(files, 200);
    },
  );

  it('a node killed mid-transfer: the other serves on; the dead node stops counting after the TTL', async () => {
    // A slow download (joe's first session) and an idle session (joe's second).
    const big = path.join(home, 'big.bin');
    // Sparse, and larger than what HAProxy's and the kernel's buffers absorb at once.
    await writeFile(big, '');
    await truncate(big, 512 * 1024 * 1024);
    await chown(big, TEST_UID, TEST_GID);
    const download = spawn(
      findTool('curl')!,
      [
        '-sS',
        '-o',
        '/dev/null',
        '--limit-rate',
        '500k',
        '-u',
        'joe:secret',
        `ftp://127.0.0.1:${front}/big.bin`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const idle = await session(front, '127.0.0.8');
    try {
      assert.match(idle.text, /^230 /);
      let busy: WhoEntry | undefined;
      for (let i = 0; i < 100 && busy === undefined; i++) {
        busy = (await who(nodes[0].socket)).find((e) => e.state === 'DL' && e.current > 0);
        if (busy === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(
        busy !== undefined,
        `the download is under way: ${JSON.stringify(await who(nodes[0].socket))}`,
      );
      const victim = nodes.find((n) => n.name === busy.node)!;
      const survivor = nodes.find((n) => n !== victim)!;
      const idleNode = (await who(survivor.socket)).find((e) => e.remoteIp === '127.0.0.8')?.node;
      await killChild(victim.child);
      victim.child = undefined;
      const killedAt = Date.now();
      // HAProxy sends new connections to the survivor (redispatch); joe's cap still counts the dead
      // node's session until its heartbeat expires, then joe has a free slot again.
      let loggedIn: { ftp: RawFtp; text: string } | undefined;
      for (let i = 0; i < 40 && loggedIn === undefined; i++) {
        const s = await session(front, '127.0.0.9');
        if (s.text.startsWith('230')) loggedIn = s;
        else {
          s.ftp.close();
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      assert.ok(loggedIn !== undefined, 'joe logs in again once the dead node expired');
      const waited = Date.now() - killedAt;
      // The idle session lived on the survivor (or died with the victim): either way the cap is 2.
      if (idleNode === survivor.name) {
        const extra = await session(front, '127.0.0.9');
        assert.match(extra.text, /^421 I can't accept more than 2/);
        extra.ftp.close();
      }
      assert.ok(waited < 20_000, `slots of the dead node expired after ${waited} ms`);
      const fields = await redis.hkeys('tsftpd:slots:user:joe');
      assert.ok(!fields.includes(victim.name), `the dead node's field is gone: ${fields.join(',')}`);
      assert.ok((await who(survivor.socket)).every((e) => e.node === survivor.name));
      loggedIn.ftp.close();
    } finally {
      idle.ftp.close();
      await killChild(download);
    }
  });
});
