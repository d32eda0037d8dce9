/**
 * File names are the exact bytes after the command and one space, up to CRLF (issue: names with
 * U+00A0, U+00BF, U+00FE or ideographic spaces were changed, and Latin-1 names were merged into one
 * U+FFFD name, silently replacing a file). Stock Python ftplib (UTF-8, and Latin-1 as Apache
 * Commons Net sends by default) stores, lists, reads and changes every name rclone probes; the
 * names on disk are byte-exact.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { startServer, type TestServer } from '../helpers/server.js';
import { runTool, toolSkip } from '../helpers/clients.js';
import { bytesToName, nameToBytes } from '../../src/storage/name-bytes.js';

/** Names of every class `rclone test info` probes that a POSIX name can hold, stored as sent. */
const KEPT = [
  'plain.txt',
  '\u00a0both\u00a0',
  'inverted\u00bfquestion',
  'thorn\u00fe',
  '\u3000both\u3000',
  'trailing dot.',
  '.leading-dot-is-hidden-but-kept',
  'colon:star*quest?',
  'quote"angle<>pipe|',
  'bom\ufeffinside',
  'emoji\u{1f600}',
  'combining e\u0301',
  'fullwidth\uff0fslash',
  'right-to-left\u202etxt',
  'percent%20encoded',
];

/** A python ftplib session that runs `body` with f logged in, with the given encoding. */
function ftplibScript(port: number, encoding: string, body: string): string {
  return `
import ftplib, io, json, sys
f = ftplib.FTP(encoding=${JSON.stringify(encoding)})
f.connect('127.0.0.1', ${port}, timeout=10)
f.login('joe', 'secret')
out = {}
${body}
f.quit()
print(json.dumps(out))
`;
}

async function python(script: string): Promise<Record<string, unknown>> {
  const r = await runTool('python3', ['-c', script], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('file names are bytes', { skip: toolSkip('python3') }, () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  it('UTF-8 names of every class rclone probes are stored, listed, read and changed as sent', async () => {
    const names = JSON.stringify(KEPT);
    const out = await python(
      ftplibScript(
        srv.port,
        'utf-8',
        `
names = json.loads(${JSON.stringify(names)})
out['stor'] = [f.storbinary('STOR ' + n, io.BytesIO(n.encode('utf-8'))) for n in names]
out['nlst'] = f.nlst('-a')
out['retr'] = []
for n in names:
    buf = io.BytesIO()
    f.retrbinary('RETR ' + n, buf.write)
    out['retr'].append(buf.getvalue().decode('utf-8'))
out['mfmt'] = [f.sendcmd('MFMT 20200102030405 ' + n) for n in names]
out['size'] = [f.sendcmd('SIZE ' + n) for n in names]
`,
      ),
    );
    for (const [i, name] of KEPT.entries()) {
      assert.match((out.stor as string[])[i], /^226/, name);
      assert.equal((out.retr as string[])[i], name, `RETR ${name}`);
      assert.equal((out.mfmt as string[])[i], `213 Modify=20200102030405; ${name}`, `MFMT ${name}`);
      assert.equal((out.size as string[])[i], `213 ${Buffer.byteLength(name)}`, `SIZE ${name}`);
      assert.ok((out.nlst as string[]).includes(name), `NLST shows ${name}`);
    }
    const onDisk = await readdir(srv.home('joe'), { encoding: 'buffer' });
    for (const name of KEPT) {
      assert.ok(
        onDisk.some((b) => b.equals(Buffer.from(name, 'utf8'))),
        `the name on disk is the bytes sent: ${JSON.stringify(name)}`,
      );
    }
  });

  it('only ASCII spaces at the ends of a new name become underscores', async () => {
    const out = await python(
      ftplibScript(
        srv.port,
        'utf-8',
        `
out['stor'] = f.storbinary('STOR   spaced  ', io.BytesIO(b'x'))
out['nlst'] = f.nlst()
`,
      ),
    );
    assert.ok((out.nlst as string[]).includes('__spaced__'), JSON.stringify(out.nlst));
  });

  it('Latin-1 names (Apache Commons Net default) keep their bytes: two names never merge', async () => {
    const out = await python(
      ftplibScript(
        srv.port,
        'latin-1',
        `
f.storbinary('STOR caf\\xe9.txt', io.BytesIO(b'e-acute'))
f.storbinary('STOR caf\\xe8.txt', io.BytesIO(b'e-grave'))
out['nlst'] = sorted(n for n in f.nlst() if n.startswith('caf'))
for n in ('caf\\xe9.txt', 'caf\\xe8.txt'):
    buf = io.BytesIO()
    f.retrbinary('RETR ' + n, buf.write)
    out[n] = buf.getvalue().decode()
out['list'] = []
f.retrlines('LIST', out['list'].append)
out['mlsd'] = sorted(n for n, _ in f.mlsd() if n.startswith('caf'))
out['dele'] = f.delete('caf\\xe8.txt')
`,
      ),
    );
    assert.deepEqual(out.nlst, ['caf\u00e8.txt', 'caf\u00e9.txt']);
    assert.deepEqual(out.mlsd, ['caf\u00e8.txt', 'caf\u00e9.txt']);
    assert.equal(out['caf\u00e9.txt'], 'e-acute');
    assert.equal(out['caf\u00e8.txt'], 'e-grave');
    assert.ok((out.list as string[]).some((l) => l.endsWith(' caf\u00e9.txt')));
    assert.match(out.dele as string, /^250/);
    const onDisk = (await readdir(srv.home('joe'), { encoding: 'buffer' })).filter((b) =>
      b.subarray(0, 3).equals(Buffer.from('caf')),
    );
    assert.deepEqual(onDisk, [Buffer.from('caf\xe9.txt', 'latin1')]);
  });
});

describe('name bytes ⇄ strings', () => {
  it('round-trips every byte string, and valid UTF-8 decodes as usual', () => {
    const samples = [
      Buffer.from('plain ascii'),
      Buffer.from('caf\u00e9 \u{1f600}'),
      Buffer.from([0x63, 0x61, 0x66, 0xe9]),
      Buffer.from([0xff, 0xfe, 0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80]),
      Buffer.from([0xe2, 0x82]), // truncated sequence
      Buffer.from([0xf0, 0x9f, 0x98, 0x80, 0xe9]), // valid 4-byte then an invalid byte
    ];
    for (let i = 0; i < 2000; i++)
      samples.push(Buffer.from(Array.from({ length: 8 }, (_, k) => (i * 37 + k * 101) & 0xff)));
    for (const b of samples) assert.ok(nameToBytes(bytesToName(b)).equals(b), b.toString('hex'));
    assert.equal(bytesToName(Buffer.from('caf\u00e9')), 'caf\u00e9');
    assert.notEqual(bytesToName(Buffer.from([0xe9])), bytesToName(Buffer.from([0xe8])));
  });
});
