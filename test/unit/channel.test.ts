/**
 * The descriptor-passing channel (native/channel.c, src/ipc/channel.ts) within one process: frames
 * in order at every size, descriptors that work on the other side, the bounds, the end reported
 * once, no descriptor leaked, and the request/answer layer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, readSync, writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Channel, RpcChannel } from '../../src/ipc/channel.js';

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** The count of open descriptors once earlier channels finished closing (libuv closes on its next turn). */
async function settledFds(): Promise<number> {
  await new Promise((r) => setTimeout(r, 50));
  return openFds();
}

async function pair(): Promise<[Channel, Channel]> {
  const [a, b] = await Channel.pair();
  return [await Channel.open(a), await Channel.open(b)];
}

/** Collects frames until `n` arrived (bounded by time). */
function frames(ch: Channel, n: number): Promise<{ payload: Buffer; fds: number[] }[]> {
  return new Promise((resolve, reject) => {
    const got: { payload: Buffer; fds: number[] }[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${n} frames`)), 20_000);
    ch.onFrame((payload, fds) => {
      got.push({ payload, fds });
      if (got.length === n) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

describe('descriptor-passing channel', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tsftpd-channel-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('frames arrive whole and in order, from 0 bytes to 8 MiB', async () => {
    const [a, b] = await pair();
    const sizes = [0, 1, 7, 8, 9, 4096, 65535, 65536, 65537, 1 << 20, 8 << 20];
    const wanted = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    const got = frames(b, wanted.length + 2000);
    for (const w of wanted) a.send(w);
    for (let i = 0; i < 2000; i++) a.send(Buffer.from(`small ${i}`));
    const all = await got;
    wanted.forEach((w, i) => assert.ok(all[i].payload.equals(w), `frame ${i}`));
    assert.equal(all[wanted.length + 1999].payload.toString(), 'small 1999');
    a.close();
    b.close();
  });

  it('descriptors cross and work; the sender may close its copy at once', async () => {
    const [a, b] = await pair();
    const file = path.join(dir, 'f.txt');
    writeFileSync(file, 'through the channel');
    const got = frames(b, 3);
    const fd = openSync(file, 'r');
    a.send(Buffer.from('one'), [fd]);
    closeSync(fd);
    a.send(Buffer.from('none'));
    const many = Array.from({ length: 16 }, () => openSync(file, 'r'));
    a.send(Buffer.from('sixteen'), many);
    for (const m of many) closeSync(m);
    const [one, none, sixteen] = await got;
    const buf = Buffer.alloc(64);
    const n = readSync(one.fds[0], buf, 0, 64, 0);
    assert.equal(buf.subarray(0, n).toString(), 'through the channel');
    assert.deepEqual(none.fds, []);
    assert.equal(sixteen.fds.length, 16);
    for (const f of [...one.fds, ...sixteen.fds]) closeSync(f);
    assert.throws(
      () =>
        a.send(
          Buffer.from('x'),
          Array.from({ length: 17 }, () => 0),
        ),
      RangeError,
    );
    a.close();
    b.close();
  });

  it('the end is reported once, after the frames sent before it; nothing leaks', async () => {
    const before0 = await settledFds();
    const [a, b] = await pair();
    const got = frames(b, 2);
    const ended = new Promise<number>((resolve) => b.onClose(resolve));
    const fd = openSync(path.join(dir, 'f.txt'), 'r');
    a.send(Buffer.from('last'));
    a.send(Buffer.from('with fd'), [fd]);
    closeSync(fd);
    a.close();
    const [, withFd] = await got;
    assert.equal(await ended, 0);
    closeSync(withFd.fds[0]);
    assert.throws(() => a.send(Buffer.from('x')), { code: 'ERR_CHANNEL_CLOSED' });
    b.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(openFds(), before0);
  });

  it('descriptors of frames nobody listens to are closed', async () => {
    const before0 = await settledFds();
    const [a, b] = await pair();
    const ended = new Promise<number>((resolve) => b.onClose(resolve));
    const fd = openSync(path.join(dir, 'f.txt'), 'r');
    a.send(Buffer.from('unheard'), [fd]);
    closeSync(fd);
    a.close();
    await ended;
    b.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(openFds(), before0);
  });

  it('refuses to queue more than 256 MiB for a peer that does not read', async () => {
    const [a, b] = await pair();
    const chunk = Buffer.alloc(32 << 20);
    assert.throws(() => {
      for (let i = 0; i < 10; i++) a.send(chunk);
    }, RangeError);
    a.close();
    b.close();
  });

  it('requests and answers, errors with their code, descriptors both ways, and a closed channel', async () => {
    const [a, b] = await pair();
    const client = new RpcChannel(a, { timeoutMs: 2000 });
    const server = new RpcChannel(b);
    const file = path.join(dir, 'f.txt');
    server.serve({
      echo: async (args) => ({ value: args }),
      open: async () => {
        const fd = openSync(file, 'r');
        return { value: 'opened', fds: [fd] }; // the channel closes the server's copy
      },
      fail: async () => {
        throw Object.assign(new Error('No such file or directory'), { code: 'ERR_JAIL' });
      },
      never: () => new Promise(() => undefined),
    });
    const value = { name: 'caf\udce9', when: new Date(5), bytes: new Float64Array([1.5, 2]) };
    assert.deepEqual((await client.call('echo', value)).value, value);
    const opened = await client.call('open', {});
    assert.equal(opened.value, 'opened');
    const buf = Buffer.alloc(32);
    assert.equal(buf.subarray(0, readSync(opened.fds[0], buf, 0, 32, 0)).toString(), 'through the channel');
    closeSync(opened.fds[0]);
    await assert.rejects(client.call('fail', {}), { code: 'ERR_JAIL', message: 'No such file or directory' });
    await assert.rejects(client.call('nope', {}), { code: 'EINVAL' });
    await assert.rejects(client.call('never', {}), { code: 'ETIMEDOUT' });
    const pendingCall = client.call('never', {});
    b.close();
    await assert.rejects(pendingCall, { code: 'ERR_CHANNEL_CLOSED' });
    a.close();
  });
});
