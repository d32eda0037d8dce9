/**
 * Unit tests of the pure-authd protocol (upstream §3.5): request lines, reply keys, `end`, the
 * tri-state mapping and the refusals (uid/gid ≤ 0, no dir, missing end, odd auth_ok).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatRequest,
  parseReply,
  parseRequest,
  replyToResult,
  requestFor,
} from '../../src/auth/backends/extauth-protocol.js';
import { programEnv } from '../../src/tools/authd-run.js';

const cred = {
  password: 'pw:with:colons',
  remoteIp: '10.0.0.2',
  localIp: '10.0.0.1',
  localPort: 21,
  tls: true,
};

test("the request has Pure-FTPd's lines and order, and round-trips through authd's parser", () => {
  const text = formatRequest(requestFor('joe', { ...cred, sni: 'ftp.example' }))!;
  assert.equal(
    text,
    'account:joe\npassword:pw:with:colons\nlocalhost:10.0.0.1\nlocalport:21\npeer:10.0.0.2\n' +
      'sni_name:ftp.example\nencrypted:1\nend\n',
  );
  const parsed = parseRequest(text)!;
  assert.equal(parsed.password, 'pw:with:colons');
  const env = programEnv(parsed, { KEEP: 'me' });
  assert.deepEqual(
    [env.KEEP, env.AUTHD_ACCOUNT, env.AUTHD_PASSWORD, env.AUTHD_LOCAL_IP, env.AUTHD_LOCAL_PORT],
    ['me', 'joe', 'pw:with:colons', '10.0.0.1', '21'],
  );
  assert.deepEqual(
    [env.AUTHD_REMOTE_IP, env.AUTHD_ENCRYPTED, env.AUTHD_CLIENT_SNI_NAME],
    ['10.0.0.2', '1', 'ftp.example'],
  );
  assert.equal(parseRequest('account:joe\npassword:x\n'), undefined, 'no end, no run');
});

test('a value with a line break is never written (it could forge a key)', () => {
  assert.equal(formatRequest(requestFor('joe', { ...cred, password: 'x\nend' })), undefined);
  assert.equal(formatRequest(requestFor('jo\re', cred)), undefined);
});

test('reply keys, CRLF, unknown keys, and the tri-state', () => {
  const r = parseReply(
    'auth_ok:1\r\nuid:42\ngid:21\ndir:/home/john/./sub\nthrottling_bandwidth_ul:1000\nthrottling_bandwidth_dl:2000\n' +
      'user_quota_size:1048576\nuser_quota_files:7\nratio_upload:1\nratio_download:4\nper_user_max:3\n' +
      'slow_tilde_expansion:0\nwhatever:1\nend\n',
  );
  assert.equal(r.ended, true);
  assert.equal(r.slowTildeExpansion, false);
  const res = replyToResult(r, 'john', 'extauth');
  assert.ok(res.kind === 'ok');
  assert.deepEqual(
    { ...res.account },
    {
      login: 'john',
      uid: 42,
      gid: 21,
      home: '/home/john',
      chroot: true,
      startDir: '/sub',
      anonymous: false,
      backend: 'extauth',
      quota: { files: 7, bytes: 1048576 },
      ratio: { up: 1, down: 4 },
      bandwidth: { up: 1000, down: 2000 },
      maxSessions: 3,
    },
  );
  assert.equal(replyToResult(parseReply('auth_ok:0\nend\n'), 'x', 'e').kind, 'unknown');
  assert.equal(replyToResult(parseReply('auth_ok:-1\nend\n'), 'x', 'e').kind, 'denied');
  assert.equal(replyToResult(parseReply('auth_ok:2\nuid:1\ngid:1\ndir:/x\nend\n'), 'x', 'e').kind, 'denied');
  // As in pw_extauth_check(), lines after `end` are still read, and any line starting with `end` ends.
  assert.equal(
    replyToResult(parseReply('auth_ok:1\nuid:1\ngid:1\ndir:/x\nend\nauth_ok:-1\n'), 'x', 'e').kind,
    'denied',
  );
  assert.equal(replyToResult(parseReply('auth_ok:1\nuid:1\ngid:1\ndir:/x\nendless\n'), 'x', 'e').kind, 'ok');
});

test('refusals: no end, uid/gid ≤ 0, no dir, relative dir', () => {
  const ok = 'auth_ok:1\nuid:42\ngid:21\ndir:/home/john\n';
  assert.equal(replyToResult(parseReply(ok), 'j', 'e').kind, 'denied', 'missing end');
  assert.equal(replyToResult(parseReply(ok + 'end'), 'j', 'e').kind, 'denied', 'end without its line feed');
  assert.equal(replyToResult(parseReply(ok + 'end\n'), 'j', 'e').kind, 'ok');
  for (const bad of ['uid:0\n', 'gid:0\n', 'uid:-5\n', 'dir:\n', 'dir:relative\n']) {
    assert.equal(replyToResult(parseReply(ok + bad + 'end\n'), 'j', 'e').kind, 'denied', bad);
  }
  assert.equal(replyToResult(parseReply('auth_ok:1\ngid:21\ndir:/x\nend\n'), 'j', 'e').kind, 'denied');
});
