/**
 * Unit tests of what the data-session binding reads and remembers (issue 10 item 14): the
 * ClientHello parser (real ClientHellos from Node's TLS client, fresh and resuming, TLS 1.3 and
 * 1.2, split into records and chunks; truncated and corrupt input), peekClientHello putting the
 * bytes back, and the issuer registry (who may resume what, retention, bounds).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { parseClientHello, peekClientHello, type ResumptionOffer } from '../../src/tls/client-hello.js';
import { allowed, IssuedSessions, newIssuer, RETAIN_MS } from '../../src/tls/issued-sessions.js';
import { makePki, type Pki } from '../helpers/tls.js';

let pki: Pki;
let pem: string;
before(async () => {
  pki = await makePki();
  pem = await readFile(pki.server, 'utf8');
});
after(() => pki.close());

/** The first bytes a Node TLS client sends (its ClientHello), captured by a plain TCP server. */
async function clientHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const got = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ClientHello')), 5000);
      server.once('connection', (s) => {
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => {
          chunks.push(c);
          const all = Buffer.concat(chunks);
          if (parseClientHello(all) !== 'more') {
            clearTimeout(timer);
            s.destroy();
            resolve(all);
          }
        });
      });
    });
    const client = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...opts });
    client.on('error', () => undefined);
    try {
      return await got;
    } finally {
      client.destroy();
    }
  } finally {
    server.close();
  }
}

/** Sessions resume only in a context with the same session id context. */
const SID_CONTEXT = 'tsftpd-unit-test';

/** A session from a real TLS server with these ticket keys (TLS 1.3 tickets arrive after data). */
async function sessionFrom(ticketKeys: Buffer, version: tls.SecureVersion): Promise<Buffer> {
  const server = tls.createServer({ key: pem, cert: pem, ticketKeys, sessionIdContext: SID_CONTEXT }, (s) =>
    s.end('hi'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no session')), 5000);
      const c = tls.connect({
        port,
        host: '127.0.0.1',
        rejectUnauthorized: false,
        minVersion: version,
        maxVersion: version,
      });
      let latest: Buffer | undefined;
      c.on('session', (s: Buffer) => (latest = s));
      c.on('error', reject);
      c.resume();
      c.on('close', () => {
        clearTimeout(timer);
        if (latest === undefined) reject(new Error('no session'));
        else resolve(latest);
      });
    });
  } finally {
    server.close();
  }
}

function offer(data: Buffer): ResumptionOffer {
  const r = parseClientHello(data);
  assert.ok(r !== undefined && r !== 'more', `parsed: ${String(r)}`);
  return r;
}

/** Re-frames one ClientHello record as several handshake records of `size` bytes. */
function splitRecords(hello: Buffer, size: number): Buffer {
  const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const part = body.subarray(i, i + size);
    const head = Buffer.from([22, 3, 1, 0, 0]);
    head.writeUInt16BE(part.length, 3);
    out.push(head, part);
  }
  return Buffer.concat(out);
}

describe('parseClientHello', () => {
  it('a fresh TLS 1.3 ClientHello offers nothing to resume (a random legacy session id)', async () => {
    const o = offer(await clientHello({ minVersion: 'TLSv1.3' }));
    assert.deepEqual(o.tickets, []);
    assert.equal(o.sessionId.length, 32);
  });

  it('resuming ClientHellos name the ticket keys (TLS 1.3 PSK identity, TLS 1.2 session_ticket)', async () => {
    for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
      const keys = randomBytes(48);
      const session = await sessionFrom(keys, version);
      const hello = await clientHello({ session, minVersion: version, maxVersion: version });
      const o = offer(hello);
      assert.equal(o.tickets.length, 1, version);
      assert.ok(o.tickets[0].subarray(0, 16).equals(keys.subarray(0, 16)), `${version}: key name`);
      // The same ClientHello split into many records, and fed in small chunks, parses the same.
      const split = splitRecords(hello, 100);
      assert.deepEqual(offer(split), o, `${version}: records`);
      for (let cut = 1; cut < split.length; cut += 97) {
        assert.equal(parseClientHello(split.subarray(0, cut)), 'more', `${version}: cut at ${cut}`);
      }
    }
  });

  it('anything else is "nothing to resume", never an exception, whatever the bytes', () => {
    assert.equal(parseClientHello(Buffer.from('USER joe\r\n')), undefined);
    assert.equal(parseClientHello(Buffer.from([22, 3, 1, 0, 4, 2, 0, 0, 0])), undefined); // ServerHello
    assert.equal(parseClientHello(Buffer.from([22, 3, 1, 0x40, 0x01])), undefined); // > 2^14
    assert.equal(parseClientHello(Buffer.from([22, 3, 1])), 'more');
    // A ClientHello whose length is beyond the 64 KiB bound.
    assert.equal(parseClientHello(Buffer.from([22, 3, 1, 0, 4, 1, 0x10, 0, 0])), undefined);
    // Random mutations of a real ClientHello: parsed or refused, bounded, never thrown.
    const seed = Buffer.from([22, 3, 1, 0, 40, 1, 0, 0, 36, 3, 3, ...randomBytes(32), 0, 0, 0]);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(seed);
      for (let k = 0; k < 3; k++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
      const r = parseClientHello(b);
      assert.ok(r === undefined || r === 'more' || Array.isArray(r.tickets));
    }
  });
});

describe('peekClientHello', () => {
  it('reads the ClientHello and puts every byte back: the TLS handshake that follows succeeds', async () => {
    const keys = randomBytes(48);
    const context = tls.createSecureContext({
      key: pem,
      cert: pem,
      ticketKeys: keys,
      sessionIdContext: SID_CONTEXT,
    });
    const session = await sessionFrom(keys, 'TLSv1.3');
    const seen: (ResumptionOffer | undefined)[] = [];
    const server = net.createServer({ pauseOnConnect: true }, (raw) => {
      void peekClientHello(raw, 5000).then((o) => {
        seen.push(o);
        const s = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
        s.on('error', () => undefined);
        s.once('secure', () => s.end(s.isSessionReused() ? 'resumed' : 'fresh'));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      for (const s of [session, undefined]) {
        const text = await new Promise<string>((resolve, reject) => {
          const c = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, session: s });
          let got = '';
          c.on('data', (d: Buffer) => (got += d.toString()));
          c.on('error', reject);
          c.on('end', () => resolve(got));
        });
        assert.equal(text, s === undefined ? 'fresh' : 'resumed');
      }
      assert.equal(seen.length, 2);
      assert.ok(seen[0]!.tickets[0].subarray(0, 16).equals(keys.subarray(0, 16)));
      assert.deepEqual(seen[1]!.tickets, []);
    } finally {
      server.close();
    }
  });
});

describe('IssuedSessions', () => {
  it('a session may be resumed by the same account from the same address only', () => {
    const issuer = newIssuer();
    assert.equal(allowed(issuer, { remoteIp: '127.0.0.1', account: 'joe' }), false, 'no owner yet');
    issuer.owner = { remoteIp: '::ffff:127.0.0.1' };
    assert.equal(allowed(issuer, { remoteIp: '127.0.0.1', account: undefined }), false, 'not logged in');
    issuer.owner.account = 'joe';
    assert.equal(allowed(issuer, { remoteIp: '127.0.0.1', account: 'joe' }), true);
    assert.equal(allowed(issuer, { remoteIp: '127.0.0.1', account: 'ann' }), false);
    assert.equal(allowed(issuer, { remoteIp: '127.0.0.2', account: 'joe' }), false);
  });

  it('finds issuers by ticket key name and session id; retired ones for RETAIN_MS; bounded', () => {
    const reg = new IssuedSessions();
    const a = newIssuer();
    a.owner = { remoteIp: '127.0.0.1', account: 'joe' };
    reg.register(a);
    const ticket = Buffer.concat([a.ticketKeys.subarray(0, 16), randomBytes(100)]);
    assert.equal(reg.byTicket(ticket), a);
    assert.equal(reg.byTicket(randomBytes(116)), undefined);
    for (let i = 0; i < 20; i++) reg.remember(a, Buffer.from([i]), Buffer.from([i, i]));
    assert.equal(reg.bySession(Buffer.from([0])), undefined, 'oldest ids dropped (16 per issuer)');
    assert.deepEqual(reg.bySession(Buffer.from([19])), { issuer: a, data: Buffer.from([19, 19]) });
    const t0 = Date.now();
    reg.retire(a, t0);
    assert.equal(reg.byTicket(ticket, t0 + RETAIN_MS - 1), a, 'kept after its session ended');
    assert.equal(reg.byTicket(ticket, t0 + RETAIN_MS), undefined, 'then dropped');
    assert.equal(reg.bySession(Buffer.from([19]), t0 + RETAIN_MS), undefined);
    // An issuer that never logged in is not kept at all.
    const b = newIssuer();
    reg.register(b);
    reg.retire(b);
    assert.equal(reg.byTicket(b.ticketKeys), undefined);
    assert.equal(reg.size, 0);
  });
});
