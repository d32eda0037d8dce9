/**
 * The gate (src/commands/table.ts) on its own, table-driven: a fake session (no sockets) runs each
 * command line through executeCommand, and the reply, the log and whether the session was closed
 * are checked. The storage is a fake that records calls, so what a refused command would have done
 * is visible too.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { executeCommand, commandDispatcher } from '../../src/commands/table.js';
import { parseCommand } from '../../src/session/line-reader.js';
import { formatReply, type Reply, type ReplyLine } from '../../src/session/reply.js';
import type { SessionContext } from '../../src/session/context.js';
import type { ServerContext } from '../../src/server/context.js';
import type { Account } from '../../src/auth/types.js';
import type { Entry, Storage } from '../../src/storage/types.js';
import { EventBus } from '../../src/telemetry/bus.js';
import { MemoryStateStore } from '../../src/policy/state.js';
import { RateLimiters } from '../../src/data/throttle.js';
import { FtpError } from '../../src/errors.js';
import { ENGLISH } from '../../src/i18n/languages.js';
import { validConfig } from '../helpers/config.js';

/** A storage whose every call is recorded; `fail` makes an operation throw. */
function fakeStorage(calls: string[], fail: Partial<Record<string, unknown>> = {}): Storage {
  const entry = (name: string): Entry => ({
    name,
    type: 'file',
    size: 3,
    mtime: new Date(0),
    mode: 0o100644,
    nlink: 1,
    uid: 1,
    gid: 1,
    dev: 1,
    ino: 1,
  });
  const op =
    (name: string) =>
    async (...args: unknown[]): Promise<unknown> => {
      calls.push(`${name} ${args.filter((a) => typeof a === 'string').join(' ')}`.trim());
      if (fail[name] !== undefined) throw fail[name];
      return name === 'stat' || name === 'lstat' ? entry(String(args[0])) : undefined;
    };
  return {
    stat: op('stat'),
    lstat: op('lstat'),
    unlink: op('unlink'),
    rename: op('rename'),
    mkdir: op('mkdir'),
    rmdir: op('rmdir'),
    chmod: op('chmod'),
    setTimes: op('setTimes'),
    canWrite: async () => true,
    describe: (p: string) => `/real${p}`,
    usageLines: () => [],
    close: () => undefined,
  } as unknown as Storage; // only what these commands reach
}

interface Fake {
  s: SessionContext;
  sent: string[];
  logs: string[];
  closed: string[];
  calls: string[];
}

/** A session of the gate's point of view; `login` logs it in as joe (or anonymous). */
async function fakeSession(
  opts: { args?: string[]; login?: 'user' | 'anonymous'; fail?: Record<string, unknown> } = {},
): Promise<Fake> {
  const config = await validConfig(...(opts.args ?? []));
  const bus = new EventBus();
  const logs: string[] = [];
  bus.on('log', (e) => logs.push(`[${e.level}] ${e.message}`));
  const server: ServerContext = {
    config,
    bus,
    auth: undefined as never, // no command here logs in through the chain
    ipv6Available: false,
    privileged: false,
    state: new MemoryStateStore(),
    rateLimiters: new RateLimiters(),
    sessionCount: () => 1,
    roots: () => Promise.reject(new Error('no storage in these tests')),
  };
  const sent: string[] = [];
  const closed: string[] = [];
  const calls: string[] = [];
  let closing = false;
  const account: Account | undefined =
    opts.login === undefined
      ? undefined
      : {
          login: opts.login === 'anonymous' ? 'ftp' : 'joe',
          uid: 1000,
          gid: 1000,
          home: '/home/joe',
          chroot: true,
          anonymous: opts.login === 'anonymous',
          backend: 'test',
        };
  const s = {
    id: 1,
    ref: { id: 1, remoteIp: '127.0.0.1', remotePort: 1, localIp: '127.0.0.1', localPort: 21 },
    startedAt: Date.now(),
    ipv6: false,
    server,
    account,
    storage: account === undefined ? undefined : fakeStorage(calls, opts.fail),
    chrooted: true,
    failedLogins: 0,
    failedCwds: 0,
    cwd: '/',
    home: '/',
    type: 'I',
    restOffset: 0,
    epsvAll: false,
    idleSeconds: 900,
    limits: {},
    rates: {},
    uploadedBytes: 0,
    downloadedBytes: 0,
    socket: undefined as never,
    get loggedIn() {
      return account !== undefined;
    },
    get anonymous() {
      return account?.anonymous === true;
    },
    get isClosing() {
      return closing;
    },
    onClose: () => undefined,
    send: (r: Reply) => void sent.push(formatReply(r).trimEnd()),
    reply: (code: number, ...lines: ReplyLine[]) => void sent.push(formatReply({ code, lines }).trimEnd()),
    close: (reason: string) => {
      closing = true;
      closed.push(reason);
    },
    holdInput: () => undefined,
    adoptSocket: () => undefined,
    clearData: () => undefined,
    noteActivity: () => true,
    setIdle: () => undefined,
    language: ENGLISH,
  } satisfies SessionContext;
  return { s, sent, logs, closed, calls };
}

/** Runs one command line; the reply text (returned or sent), as the client would read it. */
async function run(f: Fake, line: string): Promise<string> {
  const r = await executeCommand(f.s, parseCommand(line)!);
  if (r !== undefined) f.sent.push(formatReply(r).trimEnd());
  return f.sent[f.sent.length - 1] ?? '';
}

describe('the gate', () => {
  const before: [string, string | RegExp][] = [
    ['XYZZY', "530 You aren't logged in"],
    ['DELE f', "530 You aren't logged in"],
    ['STAT', "530 You aren't logged in"],
    ['SITE CHMOD 600 f', "530 You aren't logged in"],
    ['SITE BOGUS', "530 You aren't logged in"],
    ['SITE', '500 SITE: Missing argument'],
    ['SITE HELP', /^214-The following commands are recognized/],
    ['HELP DELE', '214 Syntax: DELE <sp> file'],
    ['HELP NOPE', '502 Unknown command NOPE'],
    ['NOOP', '200 Zzz...'],
    ['SYST', '215 UNIX Type: L8'],
  ];
  for (const [line, want] of before) {
    it(`before login: ${line}`, async () => {
      const reply = await run(await fakeSession(), line);
      if (typeof want === 'string') assert.equal(reply, want);
      else assert.match(reply, want);
    });
  }

  const user: [string, string | RegExp, string[]?][] = [
    ['XYZZY', '500 Unknown command'],
    ['SITE BOGUS x', '500 SITE BOGUS is an unknown extension'],
    ['MKD', '501 No directory name'],
    ['RMD', '550 No directory name'],
    ['DELE', '501 Missing argument'],
    ['RNTO x', '503 Need RNFR before RNTO'],
    ['DELE a\\b', '553 Prohibited file name: a\\b'],
    ['MKD a\\b', '553 Prohibited directory name'],
    ['RETR f/', '550 f/: Not a directory'],
    ['STOR new/', "553 Can't open that file: Is a directory"],
    ['DELE ../../f', '250 Deleted ../../f', ['unlink /f']],
    ['DELE .pureftpd-upload.1.2.3.4', /^250 /, ['unlink /.pureftpd-upload.1.2.3.4']],
    ['STOR .pureftpd-upload.1', '553 Prohibited file name: .pureftpd-upload.1', []],
  ];
  for (const [line, want, calls] of user) {
    it(`logged in: ${line}`, async () => {
      const f = await fakeSession({ login: 'user' });
      const reply = await run(f, line);
      if (typeof want === 'string') assert.equal(reply, want);
      else assert.match(reply, want);
      if (calls !== undefined) assert.deepEqual(f.calls, calls);
    });
  }

  const refusals: [string[], 'user' | 'anonymous', string, string][] = [
    [[], 'anonymous', 'DELE f', '550 Anonymous users can not delete files'],
    [[], 'anonymous', 'RNFR f', '550 Anonymous users are not allowed to move/rename files'],
    [[], 'anonymous', 'RMD d', '550 Sorry, anonymous users are not allowed to remove directories'],
    [[], 'anonymous', 'MKD d', '550 Sorry, anonymous users are not allowed to create directories'],
    [[], 'anonymous', 'SITE CHMOD 600 f', '550 Anonymous users can not change perms'],
    [[], 'anonymous', 'MFMT 20200101000000 f', '550 Anonymous users can not change perms'],
    [['-i'], 'anonymous', 'STOR f', '550 Anonymous users may not overwrite existing files'],
    [['-K'], 'user', 'DELE f', '550 Could not delete f: Operation not permitted'],
    [['-G'], 'user', 'RNFR f', '550 Rename/move failure'],
    [['-R'], 'user', 'SITE CHMOD 600 f', '550 Could not change perms on f'],
    [['-R'], 'user', 'CHMOD 600 f', '550 Could not change perms on f'],
  ];
  for (const [args, who, line, want] of refusals) {
    it(`${[who, ...args].join(' ')}: ${line} is refused before the handler`, async () => {
      const f = await fakeSession({ args, login: who });
      assert.equal(await run(f, line), want);
      assert.deepEqual(f.calls, [], 'the storage was never reached');
    });
  }

  it('-N hides the passive commands', async () => {
    const f = await fakeSession({ args: ['-N'], login: 'user' });
    assert.equal(await run(f, 'PASV'), '500 Unknown command');
    assert.equal(await run(f, 'EPSV'), '500 Unknown command');
  });

  it('HTTP verbs close the session', async () => {
    const f = await fakeSession();
    assert.equal(await run(f, 'GET / HTTP/1.1'), '500 HTTP command: [get]');
    assert.deepEqual(f.closed, ['HTTP command']);
  });

  it('an error that ends the session gets its reply, a log line, then the session closes', async () => {
    const f = await fakeSession();
    (f.s.server as { auth: unknown }).auth = {
      authenticate: async () => {
        throw new FtpError('ERR_UNAVAILABLE', 'Sorry, the database is down', {
          detail: 'mysql: connection refused',
        });
      },
    };
    assert.equal(await run(f, 'USER joe'), '331 User joe OK. Password required');
    assert.equal(await run(f, 'PASS secret'), '421 Sorry, the database is down');
    assert.deepEqual(f.closed, ['Sorry, the database is down']);
    assert.ok(f.logs.includes('[ERROR] mysql: connection refused'), f.logs.join('\n'));
  });

  it('OS error texts and real paths never reach the client', async () => {
    const f = await fakeSession({ login: 'user', fail: { setTimes: new Error('boom at /secret/path') } });
    assert.equal(await run(f, 'SITE UTIME 20200101000000 f'), '550 utime(f): Input/output error');
    const g = await fakeSession({ login: 'user', fail: { chmod: new TypeError('/secret/path exploded') } });
    assert.doesNotMatch(await run(g, 'SITE CHMOD 600 f'), /secret/);
  });

  it('an unexpected error escaping a handler is a 451, its stack only in the log', async () => {
    const f = await fakeSession();
    (f.s.server as { auth: unknown }).auth = {
      authenticate: async () => {
        throw new TypeError('undefined is not a function at /secret/path');
      },
    };
    await run(f, 'USER joe');
    assert.equal(await run(f, 'PASS x'), '451 Internal error, see the server log');
    assert.ok(
      f.logs.some((l) => l.startsWith('[ERROR] PASS failed: TypeError') && l.includes('/secret/path')),
    );
    assert.deepEqual(f.closed, []);
  });

  it('only ABOR, STAT, QUIT and NOOP run during a transfer (from the table)', () => {
    const during = ['ABOR', 'STAT', 'QUIT', 'NOOP'];
    for (const verb of [...during, 'RETR', 'LIST', 'USER', 'DELE']) {
      assert.equal(commandDispatcher.duringTransfer(verb), during.includes(verb), verb);
    }
  });
});
