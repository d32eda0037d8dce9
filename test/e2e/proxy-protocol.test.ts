/**
 * --proxy-protocol, -P rules and Redis outages (issue 15), without a balancer: the PROXY headers are
 * written by hand (v1 and v2), in one process and through the parent of two workers (the bytes after
 * the header cross to the worker); connections from elsewhere, or without a valid header, are
 * refused; the passive data connection may come through the proxy. -P announces an address per
 * client network. A node whose Redis goes away serves on with its own limits and writes its counts
 * back when Redis returns.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { RawFtp } from '../helpers/raw.js';
import { startServer, writeJoePasswd } from '../helpers/server.js';
import { connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { findTool } from '../helpers/clients.js';
import { ciSkip } from '../helpers/ci.js';

/** Connects from 127.0.0.1, sends `header` (and what follows it; an array: one write each), reads the greeting. */
async function proxied(
  port: number,
  header: string | Buffer | string[],
): Promise<{ ftp: RawFtp; greeting: string }> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  for (const part of Array.isArray(header) ? header : [header]) socket.write(part);
  const { ftp, greeting } = await RawFtp.over(socket);
  return { ftp, greeting: greeting.text };
}

/** A v2 PROXY header for a TCP4 client. */
function v2(source: string, sourcePort: number, dest: string, destPort: number): Buffer {
  const b = Buffer.alloc(28);
  Buffer.from('0d0a0d0a000d0a515549540a', 'hex').copy(b);
  b[12] = 0x21;
  b[13] = 0x11;
  b.writeUInt16BE(12, 14);
  Buffer.from(source.split('.').map(Number)).copy(b, 16);
  Buffer.from(dest.split('.').map(Number)).copy(b, 20);
  b.writeUInt16BE(sourcePort, 24);
  b.writeUInt16BE(destPort, 26);
  return b;
}

describe('--proxy-protocol', () => {
  it('one process: v1 and v2 headers give the client address; others are refused; PASV through the proxy', async () => {
    const srv = await startServer({ args: ['--proxy-protocol', '127.0.0.1/32', '--ban-after', '2'] });
    try {
      const one = await proxied(srv.port, 'PROXY TCP4 198.51.100.7 192.0.2.1 40000 21\r\n');
      assert.match(one.greeting, /^220[- ]/);
      assert.equal((await one.ftp.login('joe', 'secret')).code, 230);
      // The data connection comes from the proxy's address, not the client's: allowed.
      const list = await one.ftp.data('NLST');
      assert.equal(list.final?.code, 226, JSON.stringify(list));
      one.ftp.close();
      // (The ban below proves the session's address is the header's.)
      // The bans are the client's: two failures from 198.51.100.8 ban it, not the proxy.
      for (let i = 0; i < 2; i++) {
        const { ftp } = await proxied(srv.port, v2('198.51.100.8', 1000 + i, '192.0.2.1', 21));
        await ftp.cmd('USER joe');
        await ftp.cmd('PASS wrong');
        ftp.close();
      }
      const banned = await proxied(srv.port, v2('198.51.100.8', 2000, '192.0.2.1', 21));
      assert.match(banned.greeting, /^421 This address is banned/);
      banned.ftp.close();
      const other = await proxied(srv.port, v2('198.51.100.9', 2000, '192.0.2.1', 21));
      assert.match(other.greeting, /^220[- ]/);
      other.ftp.close();
      // Not a trusted proxy: closed without a word. A trusted one without a valid header: the same.
      const { ftp: stranger } = await RawFtp.connect(srv.port, '127.0.0.1', '127.0.0.2').catch(() => ({
        ftp: undefined,
      }));
      if (stranger !== undefined) {
        await stranger.waitClosed();
        stranger.close();
      }
      const socket = net.connect({ port: srv.port, host: '127.0.0.1' });
      socket.write('USER joe\r\n');
      const got = await new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString()));
        socket.on('close', () => resolve(text));
      });
      assert.equal(got, '');
      assert.ok(srv.logs.some((l) => l.includes('Refused [127.0.0.2]: not a trusted proxy')));
      assert.ok(srv.logs.some((l) => l.includes('Refused [127.0.0.1]: no PROXY header')));
    } finally {
      await srv.close();
    }
  });

  it('two workers: the bytes after the header reach the worker; v1 UNKNOWN keeps the socket address', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-proxy-'));
    const home = path.join(dir, 'home');
    await mkdir(home);
    const port = await freePort();
    const srv = spawnServer(port, [
      '--workers', '2', '--passwd-file', await writeJoePasswd(dir, home), '--proxy-protocol', '127.0.0.0/8',
    ]); // prettier-ignore
    try {
      for (let i = 0; i < 100; i++) {
        if (srv.output().includes('serving FTP')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      for (let i = 0; i < 16; i++) {
        // The header and the first command in one segment, as a proxy may send them, or in two
        // writes back to back (the parent may have read the second before the hand-over).
        const header = `PROXY TCP4 203.0.113.${i + 1} 192.0.2.1 4000 21\r\n`;
        const { ftp, greeting } = await proxied(
          port,
          i % 2 === 0 ? header + 'USER joe\r\n' : [header, 'USER joe\r\n'],
        );
        assert.match(greeting, /^220[- ]/);
        assert.equal((await ftp.read()).text, '331 User joe OK. Password required');
        assert.equal((await ftp.cmd('PASS secret')).code, 230);
        ftp.close();
      }
      const unknown = await proxied(port, 'PROXY UNKNOWN\r\n');
      assert.match(unknown.greeting, /^220[- ]/);
      unknown.ftp.close();
      assert.match(srv.output(), /203\.0\.113\.16/);
    } finally {
      await killChild(srv.child);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('-P per client network', () => {
  it('PASV announces the address of the first rule whose network holds the client; names resolve', async () => {
    const srv = await startServer({ args: ['-P', '127.0.0.2/32=10.9.8.7,*=localhost'] });
    try {
      const { ftp: inside } = await RawFtp.connect(srv.port, '127.0.0.1', '127.0.0.2');
      await inside.login('joe', 'secret');
      assert.match((await inside.cmd('PASV')).text, /^227 Entering Passive Mode \(10,9,8,7,\d+,\d+\)$/);
      inside.close();
      const { ftp: outside } = await RawFtp.connect(srv.port);
      await outside.login('joe', 'secret');
      assert.match((await outside.cmd('PASV')).text, /^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)$/);
      const list = await outside.data('NLST');
      assert.equal(list.final?.code, 226);
      outside.close();
    } finally {
      await srv.close();
    }
  });
});

const redisServer = findTool('redis-server') ?? '/usr/bin/redis-server';

describe(
  'Redis away and back',
  { skip: ciSkip(findTool('redis-server') === undefined ? 'redis-server is not installed' : undefined) },
  () => {
    let dir: string;
    let redisPort: number;
    let redisChild: ChildProcess | undefined;
    const startRedis = async (): Promise<void> => {
      redisChild = spawn(
        redisServer,
        ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      for (let i = 0; i < 100; i++) {
        const up = await new Promise<boolean>((resolve) => {
          const s = net.connect({ port: redisPort, host: '127.0.0.1' });
          s.once('connect', () => (s.destroy(), resolve(true)));
          s.once('error', () => resolve(false));
        });
        if (up) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('redis-server did not start');
    };
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-redis-'));
      redisPort = await freePort();
      await startRedis();
    });
    after(async () => {
      await killChild(redisChild);
      await rm(dir, { recursive: true, force: true });
    });

    it('serves on with its own limits while Redis is away; writes its counts back when it returns', async () => {
      const home = path.join(dir, 'home');
      await mkdir(home);
      const port = await freePort();
      const url = `redis://127.0.0.1:${redisPort}`;
      const srv = spawnServer(port, [
      '--passwd-file', await writeJoePasswd(dir, home), '-y', '1:5', '--state', url, '--node-name', 'solo',
    ]); // prettier-ignore
      const redis = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => 200 });
      redis.on('error', () => undefined);
      try {
        const first = await connectWhenUp(port);
        assert.equal((await first.login('joe', 'secret')).code, 230);
        assert.equal(await redis.hget('tsftpd:slots:user:joe', 'solo'), '1');
        await killChild(redisChild);
        // Redis is away: joe's cap of 1 still holds on this node, and logins go on.
        const second = (await RawFtp.connect(port)).ftp;
        await second.cmd('USER joe');
        assert.match((await second.cmd('PASS secret')).text, /^421 I can't accept more than 1 connection/);
        second.close();
        first.close();
        let third: RawFtp | undefined;
        for (let i = 0; i < 50 && third === undefined; i++) {
          const c = (await RawFtp.connect(port)).ftp;
          await c.cmd('USER joe');
          if ((await c.cmd('PASS secret')).code === 230) third = c;
          else {
            c.close();
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        assert.ok(third !== undefined, 'joe logs in while Redis is away');
        assert.match(srv.output(), /shared state: Redis at redis:\/\/127\.0\.0\.1:\d+\/? is unreachable/);
        await startRedis();
        // Back: the node's count (joe's one session) is written back.
        let value: string | null = null;
        for (let i = 0; i < 100 && value !== '1'; i++) {
          value = await redis.hget('tsftpd:slots:user:joe', 'solo').catch(() => null);
          if (value !== '1') await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(value, '1', srv.output());
        assert.match(srv.output(), /answers again; counts written back/);
        third.close();
      } finally {
        redis.disconnect();
        await killChild(srv.child);
      }
    });
  },
);
