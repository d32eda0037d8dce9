/** pure-certd's protocol (upstream §10): requests and answers, malformed ones included. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  certdRequest,
  parseCertdAnswer,
  parseCertdRequest,
  validSniName,
} from '../../src/tls/certd-protocol.js';

describe('certd protocol', () => {
  it('requests: one name line and end; names are what SNI allows', () => {
    assert.equal(certdRequest('ftp.example.com'), 'sni_name:ftp.example.com\nend\n');
    assert.throws(() => certdRequest('a\nend\naction:deny'), /invalid SNI name/);
    assert.equal(validSniName('x'.repeat(255)), true);
    assert.equal(validSniName('x'.repeat(256)), false);
    assert.equal(validSniName('bad name'), false);
    assert.deepEqual(parseCertdRequest('sni_name:a.example\nend\n'), { sni: 'a.example' });
    assert.equal(parseCertdRequest('sni_name:a.example\n'), undefined, 'incomplete');
    assert.deepEqual(parseCertdRequest('sni_name:../../etc\nend\n'), { sni: '' }, 'a bad name is empty');
    assert.deepEqual(parseCertdRequest('end\n'), { sni: '' });
  });

  it('answers: actions, files, CRLF, and everything malformed refused', () => {
    assert.deepEqual(parseCertdAnswer('action:strict\ncert_file:/c.pem\nkey_file:/k.pem\nend\n'), {
      action: 'strict',
      certFile: '/c.pem',
      keyFile: '/k.pem',
    });
    assert.deepEqual(parseCertdAnswer('action:default\r\nend\r\n'), { action: 'default' });
    assert.deepEqual(parseCertdAnswer('action:fallback\ncert_file:relative.pem\nend\n'), {
      action: 'fallback',
    });
    assert.deepEqual(parseCertdAnswer('junk\naction:deny\nend\nignored:after\n'), { action: 'deny' });
    assert.equal(parseCertdAnswer('action:deny\n'), undefined, 'no end');
    assert.equal(parseCertdAnswer('action:maybe\nend\n'), undefined, 'unknown action');
    assert.equal(parseCertdAnswer('cert_file:/c.pem\nend\n'), undefined, 'no action');
    assert.equal(parseCertdAnswer(''), undefined);
  });
});
