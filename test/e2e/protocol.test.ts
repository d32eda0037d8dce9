/**
 * Control-channel protocol, end to end over raw sockets (upstream §2): the line reader (CRLF/LF,
 * control bytes, Telnet IAC, the line-length bound, HTTP verbs), pipelining, every command's reply
 * before and after login, the idle timeout and the anti-idle rule (§2.6), ESTA/ESTP, and a
 * reply-compatibility script whose expected codes come from upstream §2; where tsftpd deliberately
 * answers differently the row names the difference, which docs/compatibility.md must list.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { startServer, type TestServer, putFile } from '../helpers/server.js';
import { RawFtp, readAll, withTimeout, type RawReply } from '../helpers/raw.js';

const FILE_TEXT = 'hello\n';

/** Every RawFtp opened by a test, closed in after(). */
const clients: RawFtp[] = [];

async function connect(srv: TestServer): Promise<{ ftp: RawFtp; greeting: RawReply }> {
  const c = await RawFtp.connect(srv.port);
  clients.push(c.ftp);
  return c;
}

async function loggedIn(srv: TestServer): Promise<RawFtp> {
  const { ftp } = await connect(srv);
  await ftp.login('joe', 'secret');
  return ftp;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let srv: TestServer;

before(async () => {
  srv = await startServer();
  await putFile(path.join(srv.home('joe'), 'f.txt'), FILE_TEXT);
});

after(async () => {
  for (const c of clients) c.close();
  await srv.close();
});

describe('line reader (upstream §2.1)', () => {
  it('accepts CRLF and bare LF line ends, several per packet', async () => {
    const { ftp } = await connect(srv);
    ftp.write('NOOP\r\nSYST\nNOOP\r\n');
    assert.equal((await ftp.read()).code, 200);
    assert.equal((await ftp.read()).code, 215);
    assert.equal((await ftp.read()).code, 200);
  });

  it('reassembles a command split across packets', async () => {
    const { ftp } = await connect(srv);
    for (const piece of ['N', 'O', 'OP', '\r', '\n']) {
      ftp.write(piece);
      await sleep(5);
    }
    assert.equal((await ftp.read()).code, 200);
  });

  it('ignores empty lines and answers a line without a verb with 500 (not silence)', async () => {
    const { ftp } = await connect(srv);
    ftp.write('\r\n\r\n\n');
    ftp.write(' NOOP\r\n');
    assert.equal((await ftp.read()).text, '500 Syntax error, command unrecognized');
    ftp.write('NOOP:x\r\n');
    assert.equal((await ftp.read()).code, 500);
    assert.equal((await ftp.cmd('NOOP')).code, 200, 'the session goes on');
  });

  it('turns CR, NUL and other control bytes inside a line into `_`', async () => {
    const ftp = await loggedIn(srv);
    ftp.write(Buffer.from('MKD cr\rx\r\n', 'latin1'));
    assert.equal((await ftp.read()).text, '257 "cr_x" : The directory was successfully created');
    ftp.write(Buffer.from('MKD nul\0x\r\n', 'latin1'));
    assert.equal((await ftp.read()).text, '257 "nul_x" : The directory was successfully created');
    ftp.write(Buffer.from('MKD bel\x07x\x7fy\r\n', 'latin1'));
    assert.equal((await ftp.read()).text, '257 "bel_x_y" : The directory was successfully created');
    const names = await readdir(srv.home('joe'));
    for (const n of ['cr_x', 'nul_x', 'bel_x_y']) assert.ok(names.includes(n), `${n} in ${names.join(',')}`);
    assert.ok(!names.includes('nul'), 'NUL never truncates a name');
  });

  it('strips Telnet IAC sequences (IP/DM before a command, WILL/DO inside one)', async () => {
    const { ftp } = await connect(srv);
    // IAC IP IAC DM NOOP, as clients send before ABOR (RFC 959 §4.1.3).
    ftp.write(Buffer.from([0xff, 0xf4, 0xff, 0xf2, ...Buffer.from('NOOP\r\n')]));
    assert.equal((await ftp.read()).code, 200);
    // IAC WILL <opt> and IAC DO <opt> in the middle of the verb disappear with their option byte.
    ftp.write(
      Buffer.from([
        ...Buffer.from('NO'),
        0xff,
        0xfb,
        0x01,
        ...Buffer.from('O'),
        0xff,
        0xfd,
        0x03,
        ...Buffer.from('P\r\n'),
      ]),
    );
    assert.equal((await ftp.read()).code, 200);
    ftp.write(Buffer.from([...Buffer.from('SY'), 0xff, 0xf1, ...Buffer.from('ST\r\n')])); // IAC NOP
    assert.equal((await ftp.read()).code, 215);
  });

  it('keeps IAC IAC as one data byte', async () => {
    const ftp = await loggedIn(srv);
    ftp.write(Buffer.concat([Buffer.from('MKD iac'), Buffer.from([0xff, 0xff]), Buffer.from('x\r\n')]));
    const r = await ftp.read();
    assert.equal(r.code, 257, r.text);
    const made = (await readdir(srv.home('joe'))).filter((n) => n.startsWith('iac'));
    assert.equal(made.length, 1);
    // One byte between "iac" and "x": the name has exactly one character there (0xFF is not UTF-8).
    assert.equal([...made[0]].length, 5, JSON.stringify(made));
  });

  it('accepts a 4000-byte line', async () => {
    const { ftp } = await connect(srv);
    assert.equal((await ftp.cmd(`NOOP ${'x'.repeat(4000)}`)).code, 200);
  });

  it('answers a 100 KiB line with 421 Line too long and closes', async () => {
    const { ftp } = await connect(srv);
    ftp.write(`NOOP ${'x'.repeat(100 * 1024)}\r\n`);
    const r = await ftp.read();
    assert.equal(r.text, '421 Line too long');
    await ftp.waitClosed(5000);
  });

  it('cuts off a client streaming an endless line before any LF', async () => {
    const { ftp } = await connect(srv);
    ftp.write('X'.repeat(100 * 1024)); // no line end at all
    assert.equal((await ftp.read(5000)).text, '421 Line too long');
    await ftp.waitClosed(5000);
  });

  for (const verb of ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT']) {
    it(`closes the session on the HTTP verb ${verb} (cross-protocol protection)`, async () => {
      const { ftp } = await connect(srv);
      ftp.write(`${verb} / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      assert.equal((await ftp.read()).text, `500 HTTP command: [${verb.toLowerCase()}]`);
      await ftp.waitClosed(5000);
    });
  }

  it('closes a logged-in session on an HTTP verb too', async () => {
    const ftp = await loggedIn(srv);
    ftp.write('POST /upload HTTP/1.0\r\n\r\n');
    assert.equal((await ftp.read()).code, 500);
    await ftp.waitClosed(5000);
  });
});

describe('pipelining', () => {
  it('answers 1,000 pipelined NOOPs in order', async () => {
    const { ftp } = await connect(srv);
    ftp.write('NOOP\r\n'.repeat(1000));
    for (let i = 0; i < 1000; i++) {
      const r = await ftp.read(10000);
      assert.equal(r.text, '200 Zzz...', `reply ${i}`);
    }
    assert.equal((await ftp.cmd('SYST')).code, 215, 'nothing left over');
  });

  it('runs a pipelined login and directory script in order', async () => {
    const { ftp } = await connect(srv);
    ftp.write('USER joe\r\nPASS secret\r\nMKD pipe\r\nCWD pipe\r\nPWD\r\nCDUP\r\nRMD pipe\r\nQUIT\r\n');
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await ftp.read()).code);
    assert.deepEqual(codes, [331, 230, 257, 250, 257, 250, 250, 221]);
    await ftp.waitClosed(5000);
  });
});

/** Verbs that work before login (upstream §2.1), with the reply each gets. */
const PRE_LOGIN: [string, number, RegExp?][] = [
  ['SYST', 215, /^215 UNIX Type: L8$/],
  ['NOOP', 200, /^200 Zzz\.\.\.$/],
  [
    'FEAT',
    211,
    /^211-Extensions supported:\n UTF8\n LANG en\*;[^\n]+\n EPRT\n IDLE\n MDTM\n SIZE\n MFMT\n REST STREAM\n/,
  ],
  ['OPTS MLST type;', 200, /^200 {2}MLST OPTS type;size;sizd;modify;UNIX\.mode;UNIX\.uid;UNIX\.gid;unique;$/],
  ['HELP', 214, /CHMOD/],
  ['SITE HELP', 214, /IDLE/],
  ['TYPE I', 200, /^200 TYPE is now 8-bit binary$/],
  ['TYPE A', 200, /^200 TYPE is now ASCII$/],
  ['MODE S', 200, /^200 S OK$/],
  ['STRU F', 200, /^200 F OK$/],
  ['ACCT x', 202, /^202 Please tell me who you are$/],
  ['PASS x', 530, /^530 Please tell me who you are$/],
];

/** Every other verb of the list: `530 You aren't logged in` before login. */
const NEEDS_LOGIN = [
  'STAT',
  'SITE IDLE 10',
  'SITE CHMOD 644 f.txt',
  'SITE TIME',
  'SITE UTIME 20200101000000 f.txt',
  'PORT 127,0,0,1,200,1',
  'EPRT |1|127.0.0.1|51200|',
  'PASV',
  'EPSV',
  'EPSV ALL',
  'PRET RETR f.txt',
  'REST 0',
  'ALLO 10',
  'RETR f.txt',
  'STOR x',
  'APPE x',
  'STOU',
  'DELE f.txt',
  'RNFR f.txt',
  'RNTO x',
  'SIZE f.txt',
  'MDTM f.txt',
  'MFMT 20200101000000 f.txt',
  'CWD /',
  'XCWD /',
  'CDUP',
  'XCUP',
  'PWD',
  'XPWD',
  'MKD x',
  'XMKD x',
  'RMD x',
  'XRMD x',
  'LIST',
  'NLST',
  'MLSD',
  'MLST',
  'ABOR',
  'ESTA',
  'ESTP',
  'CHMOD 644 f.txt',
  'XYZZY',
];

describe('before login', () => {
  it('answers the pre-login verbs', async () => {
    const { ftp } = await connect(srv);
    for (const [line, code, text] of PRE_LOGIN) {
      const r = await ftp.cmd(line);
      assert.equal(r.code, code, `${line}: ${r.text}`);
      if (text) assert.match(r.text, text, line);
    }
  });

  it("refuses every other command with 530 You aren't logged in", async () => {
    const { ftp } = await connect(srv);
    for (const line of NEEDS_LOGIN) {
      const r = await ftp.cmd(line);
      assert.equal(r.text, "530 You aren't logged in", line);
    }
    assert.equal(await stat(path.join(srv.home('joe'), 'f.txt')).then((s) => s.size), FILE_TEXT.length);
  });

  it('QUIT works before login', async () => {
    const { ftp } = await connect(srv);
    const r = await ftp.cmd('QUIT');
    assert.deepEqual(r.lines, ['221-Goodbye. You uploaded 0 and downloaded 0 kbytes.', '221 Logout.']);
    await ftp.waitClosed(5000);
  });
});

describe('after login', () => {
  it('greets with the user count, port and idle time', async () => {
    const { greeting } = await connect(srv);
    assert.equal(greeting.code, 220);
    assert.match(greeting.text, /^220-You are user number \d+ of 50 allowed\.$/m);
    assert.match(
      greeting.text,
      new RegExp(`^220-Local time is now \\d\\d:\\d\\d\\. Server port: ${srv.port}\\.$`, 'm'),
    );
    assert.match(greeting.text, /^220 You will be disconnected after 15 minutes of inactivity\.$/m);
  });

  it('answers USER/PASS/ACCT in the logged-in state', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('USER joe')).text, "530 You're already logged in");
    assert.equal((await ftp.cmd('PASS secret')).text, "530 We can't do that in the current session");
    assert.equal((await ftp.cmd('ACCT x')).code, 202);
    assert.equal((await ftp.cmd('XYZZY')).text, '500 Unknown command');
    assert.equal((await ftp.cmd('SMNT /')).text, '500 Unknown command');
  });

  it('STAT without argument, and STAT <path> lists on the control channel', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('STAT')).code, 211);
    const r = await ftp.cmd('STAT f.txt');
    assert.equal(r.code, 213);
    assert.equal(r.lines[0], '213-STAT');
    assert.match(r.text, /f\.txt/);
    assert.equal(r.lines.at(-1), '213 End.');
  });

  it('TYPE variants (upstream §2.3)', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('TYPE L 8')).code, 200);
    assert.equal((await ftp.cmd('TYPE L8')).text, '200 TYPE is now 8-bit binary');
    assert.equal(
      (await ftp.cmd('TYPE L7')).text,
      "504 Only 8-bit bytes are supported, we're not 10 years ago",
    );
    assert.deepEqual((await ftp.cmd('TYPE E')).lines, [
      '504-Unknown TYPE: E',
      '504 TYPE is now 8-bit binary',
    ]);
    assert.deepEqual((await ftp.cmd('TYPE')).lines, [
      '501-Missing argument',
      '501-A(scii) I(mage) L(ocal)',
      '501 TYPE is now 8-bit binary',
    ]);
    assert.equal((await ftp.cmd('TYPE a')).text, '200 TYPE is now ASCII');
  });

  it('SITE IDLE bounds (upstream §12: at most 2520 s)', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('SITE IDLE 2520')).text, '200 Idle time set to 2520 seconds');
    assert.equal((await ftp.cmd('SITE IDLE 2521')).text, '501 Value too large');
    assert.equal((await ftp.cmd('SITE IDLE 5x')).text, '501 Garbage found after value : x');
    assert.equal((await ftp.cmd('SITE IDLE')).text, '501 SITE IDLE: Missing argument');
  });

  it('SITE CHMOD, bare CHMOD, SITE UTIME (both forms), MFMT change the file on disk', async () => {
    const ftp = await loggedIn(srv);
    const f = path.join(srv.home('joe'), 'modes.txt');
    await putFile(f, 'x');
    assert.equal((await ftp.cmd('SITE CHMOD 640 modes.txt')).text, '200 Permissions changed on modes.txt');
    assert.equal((await stat(f)).mode & 0o7777, 0o640);
    assert.equal((await ftp.cmd('CHMOD 604 modes.txt')).code, 200);
    assert.equal((await stat(f)).mode & 0o7777, 0o604);
    assert.equal((await ftp.cmd('SITE CHMOD 644')).text, '550 No file name');
    assert.equal((await ftp.cmd('SITE UTIME 20010203040506 modes.txt')).text, '213 UTIME OK');
    assert.equal((await stat(f)).mtime.toISOString(), '2001-02-03T04:05:06.000Z');
    const five = 'SITE UTIME modes.txt 20020304050607 20020304050607 20020304050607 UTC';
    assert.equal((await ftp.cmd(five)).text, '213 UTIME OK');
    assert.equal((await stat(f)).mtime.toISOString(), '2002-03-04T05:06:07.000Z');
    assert.equal(
      (await ftp.cmd('MFMT 20030405060708 modes.txt')).text,
      '213 Modify=20030405060708; modes.txt',
    );
    assert.equal((await stat(f)).mtime.toISOString(), '2003-04-05T06:07:08.000Z');
    assert.equal((await ftp.cmd('MDTM modes.txt')).text, '213 20030405060708');
    assert.equal((await ftp.cmd('MFMT 2003 modes.txt')).text, "501 Can't get a time stamp");
  });

  it('RNFR twice announces the aborted rename; RNTO moves on disk', async () => {
    const ftp = await loggedIn(srv);
    await putFile(path.join(srv.home('joe'), 'r1'), 'x');
    assert.equal((await ftp.cmd('RNFR r1')).code, 350);
    const again = await ftp.cmd('RNFR r1');
    assert.deepEqual(again.lines, [
      '350-Aborting previous rename operation',
      '350 RNFR accepted - file exists, ready for destination',
    ]);
    assert.equal((await ftp.cmd('RNTO r2')).code, 250);
    const names = await readdir(srv.home('joe'));
    assert.ok(names.includes('r2') && !names.includes('r1'));
  });

  it('ALLO, PRET, REST replies', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('ALLO 1024')).text, "200 A L'HUILE");
    assert.equal(
      (await ftp.cmd(`ALLO ${Number.MAX_SAFE_INTEGER}`)).text,
      '552 Disk full - please upload later',
    );
    assert.equal((await ftp.cmd('PRET RETR f.txt')).text, '200 Ready to proceed');
    assert.equal((await ftp.cmd('PRET RETR nothere')).text, "550 Sorry, but that file doesn't exist");
    assert.equal((await ftp.cmd('TYPE I')).code, 200);
    assert.equal((await ftp.cmd('REST 3')).text, '350 Restarting at 3');
    assert.deepEqual((await ftp.cmd('REST -1')).lines, [
      '554-REST needs a numeric parameter',
      '554 Restart offset reset to 0',
    ]);
  });

  it('RETR, STOR, APPE, STOU, LIST, NLST, MLSD, MLST over EPSV and PASV', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('TYPE I')).code, 200);
    const get = await ftp.data('RETR f.txt');
    assert.equal(get.first.code, 150);
    assert.equal(get.final?.code, 226);
    assert.equal(get.data.toString(), FILE_TEXT);
    const put = await ftp.data('STOR up.txt', 'abc');
    assert.equal(put.final?.code, 226, put.final?.text);
    const app = await ftp.data('APPE up.txt', 'def');
    assert.equal(app.final?.code, 226);
    assert.equal(await readFile(path.join(srv.home('joe'), 'up.txt'), 'utf8'), 'abcdef');
    const uniq = await ftp.data('STOU', 'unique');
    assert.match(uniq.first.lines[0], /^150-FILE: pureftpd\.[0-9a-f]{8}\.[0-9a-f]{2}\.[0-9a-f]{4}$/);
    const uname = uniq.first.lines[0].slice('150-FILE: '.length);
    assert.equal(await readFile(path.join(srv.home('joe'), uname), 'utf8'), 'unique');
    const list = await ftp.data('LIST');
    assert.equal(list.final?.code, 226);
    assert.match(list.data.toString(), / up\.txt\r\n/);
    const nlst = await ftp.data('NLST');
    assert.ok(nlst.data.toString().split('\r\n').includes('up.txt'));
    const mlsd = await ftp.data('MLSD');
    assert.match(mlsd.data.toString(), /type=file;size=6;.*; up\.txt\r\n/);
    const mlst = await ftp.cmd('MLST up.txt');
    assert.equal(mlst.lines[0], '250-Begin');
    assert.match(mlst.lines[1], /^ type=file;size=6;modify=\d{14};UNIX\.mode=0\d{3};/);
    // PASV works the same way.
    const d = await ftp.pasv();
    ftp.send('RETR f.txt');
    assert.equal((await ftp.read()).code, 150);
    assert.equal((await withTimeout(readAll(d), 5000)).toString(), FILE_TEXT);
    assert.equal((await ftp.read()).code, 226);
    const quit = await ftp.cmd('QUIT');
    assert.equal(quit.lines[0], '221-Goodbye. You uploaded 1 and downloaded 1 kbytes.');
  });

  it('ABOR during an upload: 426 for the transfer, then 226 (RFC 959 §4.1.3)', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('TYPE I')).code, 200);
    const data = await ftp.epsv();
    ftp.send('STOR aborted.bin');
    assert.equal((await ftp.read()).code, 150);
    data.write(Buffer.alloc(64 * 1024));
    await sleep(50);
    ftp.write(Buffer.from([0xff, 0xf4, 0xff, 0xf2, ...Buffer.from('ABOR\r\n')]));
    const first = await ftp.read();
    const second = await ftp.read();
    data.destroy();
    assert.equal(first.code, 426, first.text);
    assert.equal(second.code, 226, second.text);
    assert.equal((await ftp.cmd('NOOP')).code, 200);
  });

  it('ESTA reports the passive data connection, which the next RETR uses', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('TYPE I')).code, 200);
    const data = await ftp.epsv();
    const r = await ftp.cmd('ESTA');
    assert.equal(r.text, `225 Connected from (|1|127.0.0.1|${data.localPort}|)`);
    ftp.send('RETR f.txt');
    assert.equal((await ftp.read()).code, 150);
    assert.equal((await withTimeout(readAll(data), 5000)).toString(), FILE_TEXT);
    assert.equal((await ftp.read()).code, 226);
  });

  it('ESTP opens the active data connection at once, which the next RETR uses', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('TYPE I')).code, 200);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
      assert.equal((await ftp.cmd(`PORT 127,0,0,1,${Math.floor(port / 256)},${port % 256}`)).code, 200);
      assert.equal((await ftp.cmd('ESTP', 10000)).text, `225 Connected to (|1|127.0.0.1|${port}|)`);
      const socket = await withTimeout(accepted, 5000, 'active connection');
      ftp.send('RETR f.txt');
      assert.equal((await ftp.read()).code, 150);
      assert.equal((await withTimeout(readAll(socket), 5000)).toString(), FILE_TEXT);
      assert.equal((await ftp.read()).code, 226);
    } finally {
      server.close();
    }
  });

  it('ESTA/ESTP without the matching setup answer 520', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('ESTA')).code, 520);
    assert.equal((await ftp.cmd('PORT 127,0,0,1,200,1')).code, 200);
    assert.equal((await ftp.cmd('ESTA')).code, 520);
    assert.equal((await ftp.cmd('ABOR')).code, 226);
    assert.equal((await ftp.cmd('ESTP')).text, '520 Active mode is disabled');
  });

  it('EPSV ALL refuses PORT, EPRT and PASV afterwards but keeps EPSV', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('EPSV ALL')).code, 200);
    assert.equal((await ftp.cmd('PORT 127,0,0,1,200,1')).text, '501 Active mode is disabled');
    assert.equal((await ftp.cmd('EPRT |1|127.0.0.1|51200|')).text, '501 Active mode is disabled');
    assert.notEqual((await ftp.cmd('PASV')).code, 227);
    const r = await ftp.data('NLST');
    assert.equal(r.final?.code, 226);
  });
});

describe('idle timeout and anti-idle (upstream §2.6)', () => {
  it('-I sets the announced idle time (seconds form below 120 s)', async () => {
    const s = await startServer({ args: ['-I', '1'] });
    try {
      const { ftp, greeting } = await RawFtp.connect(s.port);
      ftp.close();
      assert.match(greeting.text, /^220 You will be disconnected after 60 seconds of inactivity\.$/m);
    } finally {
      await s.close();
    }
  });

  it('an idle session is closed with 421 after SITE IDLE seconds', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('SITE IDLE 1')).code, 200);
    const started = Date.now();
    const r = await ftp.read(5000);
    assert.equal(r.text, '421 Timeout - try typing a little faster next time');
    const waited = Date.now() - started;
    assert.ok(waited >= 900 && waited < 3000, `closed after ${waited} ms`);
    await ftp.waitClosed(5000);
  });

  it('NOOP/SYST/TYPE/MODE/CWD/PWD/REST alone do not keep a session alive past 2 x idle', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('SITE IDLE 1')).code, 200);
    const started = Date.now();
    const idleOnly = ['NOOP', 'SYST', 'TYPE I', 'MODE S', 'CWD /', 'PWD', 'REST 0'];
    let last: RawReply | undefined;
    for (let i = 0; i < 40 && !ftp.closed; i++) {
      await sleep(200);
      last = await ftp.cmd(idleOnly[i % idleOnly.length]).catch(() => undefined);
      if (last === undefined || last.code === 421) break;
    }
    const waited = Date.now() - started;
    assert.equal(last?.text, '421 Timeout (no operation for 2 seconds)');
    assert.ok(waited >= 1900 && waited < 4000, `closed after ${waited} ms`);
    await ftp.waitClosed(5000);
  });

  it('a command that counts as activity resets the anti-idle clock', async () => {
    const ftp = await loggedIn(srv);
    assert.equal((await ftp.cmd('SITE IDLE 1')).code, 200);
    const started = Date.now();
    let i = 0;
    while (Date.now() - started < 3500) {
      await sleep(200);
      // Every third command is FEAT, which counts; the others are NOOPs, which do not.
      const r = await ftp.cmd(i++ % 3 === 2 ? 'FEAT' : 'NOOP');
      assert.notEqual(r.code, 421, `closed after ${Date.now() - started} ms`);
    }
    assert.equal((await ftp.cmd('NOOP')).code, 200);
  });
});

/**
 * One row of the reply-compatibility script: the command, the code tsftpd answers, optionally its
 * text. `differs` names the behaviour when Pure-FTPd (upstream §2) answers otherwise (`pure` = its code,
 * 0 = no reply at all); docs/compatibility.md must list it.
 */
interface CompatRow {
  line: string;
  code: number;
  text?: RegExp;
  pure?: number;
  differs?: string;
}

const COMPAT_SCRIPT: CompatRow[] = [
  { line: 'NOOP', code: 200, text: /^200 Zzz\.\.\.$/ },
  { line: 'SYST', code: 215, text: /^215 UNIX Type: L8$/ },
  {
    line: 'FEAT',
    code: 211,
    text: /\n EPSV\n ESTP\n HASH SHA-1;SHA-256\*;SHA-512;MD5;CRC32\n XCRC\n XMD5\n XSHA1\n XSHA256\n XSHA512\n CLNT\n AVBL\n211 End\.$/,
  },
  { line: 'HELP', code: 214 },
  { line: 'OPTS MLST type;size;', code: 200 },
  { line: 'OPTS UTF8 ON', code: 200, pure: 504, differs: 'OPTS UTF8 ON' },
  { line: 'TYPE I', code: 200, text: /^200 TYPE is now 8-bit binary$/ },
  { line: 'TYPE L7', code: 504 },
  { line: 'MODE S', code: 200 },
  { line: 'STRU F', code: 200 },
  { line: 'ACCT x', code: 202 },
  { line: 'PASS x', code: 530, text: /^530 Please tell me who you are$/ },
  { line: 'PWD', code: 530, text: /^530 You aren't logged in$/ },
  { line: 'STAT', code: 530 },
  { line: 'USER joe', code: 331 },
  { line: 'PASS secret', code: 230, text: /^230 OK\. Current directory is \/$/ },
  { line: 'PASS x', code: 530, text: /^530 We can't do that in the current session$/ },
  { line: 'USER joe', code: 530, text: /^530 You're already logged in$/ },
  { line: 'PWD', code: 257, text: /^257 "\/" is your current location$/ },
  { line: 'MKD dir', code: 257, text: /^257 "dir" : The directory was successfully created$/ },
  { line: 'CWD dir', code: 250, text: /^250 OK\. Current directory is \/dir$/ },
  { line: 'XPWD', code: 257, text: /^257 "\/dir" is your current location$/ },
  { line: 'CDUP', code: 250 },
  { line: 'XCWD dir', code: 250 },
  { line: 'XCUP', code: 250 },
  {
    line: 'CWD nothere',
    code: 550,
    text: /^550 Can't change directory to nothere: No such file or directory$/,
  },
  { line: 'XMKD dir2', code: 257 },
  { line: 'XRMD dir2', code: 250 },
  { line: 'RMD dir', code: 250, text: /^250 The directory was successfully removed$/ },
  { line: 'RMD', code: 550, text: /^550 No directory name$/ },
  { line: 'MKD', code: 501, text: /^501 No directory name$/ },
  { line: 'MKD a\\b', code: 553, text: /^553 Prohibited directory name$/ },
  { line: 'SIZE f.txt', code: 213, text: /^213 6$/ },
  { line: 'MDTM f.txt', code: 213, text: /^213 \d{14}$/ },
  { line: 'SIZE nothere', code: 550, text: /^550 Can't check for file existence$/ },
  { line: 'MDTM /', code: 550, text: /^550 I can only retrieve regular files$/ },
  {
    line: 'MFMT 20200102030405 f.txt',
    code: 213,
    text: /^213 Modify=20200102030405; f\.txt$/,
    pure: 213,
    differs: 'MFMT',
  },
  { line: 'SITE UTIME 20200102030405 f.txt', code: 213, text: /^213 UTIME OK$/ },
  { line: 'SITE CHMOD 600 f.txt', code: 200, text: /^200 Permissions changed on f\.txt$/ },
  { line: 'SITE CHMOD 99999 f.txt', code: 501, pure: 200, differs: 'SITE CHMOD 99999' },
  { line: 'SITE IDLE 600', code: 200, text: /^200 Idle time set to 600 seconds$/ },
  { line: 'SITE TIME', code: 211, text: /^211 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/ },
  { line: 'SITE FOO', code: 500, text: /^500 SITE FOO is an unknown extension$/ },
  { line: 'SITE', code: 500, text: /^500 SITE: Missing argument$/ },
  { line: 'RNFR f.txt', code: 350, text: /^350 RNFR accepted - file exists, ready for destination$/ },
  { line: 'RNTO g.txt', code: 250, text: /^250 File successfully renamed or moved$/ },
  { line: 'RNTO h.txt', code: 503, text: /^503 Need RNFR before RNTO$/ },
  { line: 'RNFR nothere', code: 550, text: /^550 Sorry, but that file doesn't exist$/ },
  { line: 'DELE g.txt', code: 250, text: /^250 Deleted g\.txt$/ },
  { line: 'DELE g.txt', code: 550, text: /^550 Could not delete g\.txt: No such file or directory$/ },
  { line: 'TYPE A', code: 200 },
  { line: 'REST 10', code: 350, text: /^350 Restarting at 10\. But we're in ASCII mode$/ },
  { line: 'REST x', code: 554 },
  { line: 'REST', code: 501, text: /^501 No restart point$/ },
  { line: 'ALLO 100', code: 200 },
  { line: 'ALLO', code: 501, text: /^501 Can't find file size$/ },
  { line: 'PRET RETR nothere', code: 550 },
  { line: 'PRET STOR x', code: 200, text: /^200 Ready to proceed$/ },
  { line: 'PORT 127,0,0,1,0,20', code: 501, text: /^501 Sorry, but I won't connect to ports < 1024$/ },
  {
    line: 'PORT 1,2,3,4,5,6',
    code: 500,
    text: /^500 I won't open a connection to 1\.2\.3\.4 \(only to 127\.0\.0\.1\)$/,
  },
  { line: 'PORT x', code: 501, text: /^501 Syntax error in IP address$/ },
  { line: 'EPRT |3|x|1|', code: 522, text: /^522 Only IPv4 and IPv6 are supported \(1,2\)$/ },
  { line: 'PASV', code: 227, text: /^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)$/ },
  { line: 'EPSV', code: 229, text: /^229 Extended Passive mode OK \(\|\|\|\d+\|\)$/ },
  { line: 'ABOR', code: 226, text: /^226 Since you see this ABOR must've succeeded$/ },
  { line: 'RETR nothere', code: 550, text: /^550 Can't open nothere: No such file or directory$/ },
  { line: 'LIST', code: 425, text: /^425 No data connection$/ },
  { line: 'STOU', code: 425 },
  { line: 'MLST nothere', code: 550, text: /^550 Can't check for file existence$/ },
  { line: 'TYPE', code: 501 },
  { line: 'STRU R', code: 504, text: /^504 Only F\(ile\) is supported$/ },
  { line: 'MODE B', code: 504, text: /^504 Please use S\(tream\) mode$/ },
  { line: 'XYZZY', code: 500, text: /^500 Unknown command$/ },
  { line: 'NOOP:x', code: 500, pure: 0, differs: 'NOOP:x' },
  { line: 'EPSV ALL', code: 200, pure: 220, differs: 'EPSV ALL' },
  { line: 'PORT 127,0,0,1,200,1', code: 501, text: /^501 Active mode is disabled$/ },
  { line: 'QUIT', code: 221, text: /^221-Goodbye\. You uploaded 0 and downloaded 0 kbytes\.\n221 Logout\.$/ },
];

describe('reply compatibility with Pure-FTPd (upstream §2)', () => {
  it(`runs a ${COMPAT_SCRIPT.length}-command script with the documented reply codes`, async () => {
    const s = await startServer();
    try {
      await putFile(path.join(s.home('joe'), 'f.txt'), FILE_TEXT);
      const { ftp } = await RawFtp.connect(s.port);
      try {
        for (const row of COMPAT_SCRIPT) {
          const r = await ftp.cmd(row.line, 5000);
          assert.equal(r.code, row.code, `${row.line} -> ${r.text}`);
          if (row.text) assert.match(r.text, row.text, row.line);
        }
        await ftp.waitClosed(5000);
      } finally {
        ftp.close();
      }
    } finally {
      await s.close();
    }
  });

  it('every deliberate difference in the script is listed in docs/compatibility.md', async () => {
    const doc = await readFile(new URL('../../../docs/compatibility.md', import.meta.url), 'utf8');
    const rows = doc.split('\n').filter((l) => l.startsWith('|'));
    for (const row of COMPAT_SCRIPT) {
      assert.equal(
        row.pure !== undefined,
        row.differs !== undefined,
        `${row.line}: pure and differs go together`,
      );
      if (row.differs === undefined) continue;
      assert.ok(
        rows.some((l) => l.includes(row.differs!)),
        `docs/compatibility.md has no table row naming ${row.differs}`,
      );
    }
  });
});
