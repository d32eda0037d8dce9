/**
 * Listing order is one rule (upstream §2.4, src/storage/order.ts) that two places apply: the native scan
 * (native/dirscan.c, whole directories) and JavaScript (globs, `.`/`..`, file arguments). They must
 * agree, for every kind of name: ASCII, accents, astral characters, U+E000..U+FFFF, and names that
 * are not UTF-8 (raw bytes).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, utimesSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfinedRoot } from '../../src/storage/confined.js';
import { NativeScan, SCAN_ORDERS } from '../../src/storage/scan.js';
import { bytesToName, nameToBytes } from '../../src/storage/name-bytes.js';
import { compareNames, sortEntries, sortNames } from '../../src/storage/order.js';
import type { Entry } from '../../src/storage/types.js';

const NAMES: Buffer[] = [
  'alpha',
  'Zeta',
  'B2',
  '_under',
  'a[1]',
  'éclair',
  'Äpfel',
  '\u{1F600}smile',
  '\uFFFDreplacement',
  '\uE000private',
  'z',
].map((n) => Buffer.from(n));
// Raw bytes: Latin-1 names a UTF-8 decoder rejects.
NAMES.push(Buffer.from([0x63, 0x61, 0x66, 0xe9]), Buffer.from([0xff, 0x41]), Buffer.from([0x80]));

describe('listing order: native scans and JavaScript agree', () => {
  let dir: string;
  let root: ConfinedRoot;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-order-'));
    NAMES.forEach((name, i) => {
      const file = Buffer.concat([Buffer.from(dir + '/'), name]);
      closeSync(openSync(file, 'w'));
      // Two mtime groups, in an order unrelated to the names, to compare -t too.
      const t = new Date(Date.UTC(2020, 0, 1 + (i % 3)));
      utimesSync(file, t, t);
    });
    root = await ConfinedRoot.open(dir, { confine: true });
  });
  after(async () => {
    root.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function scanned(order: 'name' | 'mtime' | 'none'): Promise<Entry[]> {
    const scan = new NativeScan(await root.scan('/', 1000, SCAN_ORDERS[order]));
    return Array.from({ length: scan.count }, (_, i) => scan.entry(i));
  }

  it('by name: strcmp of the bytes', async () => {
    const native = (await scanned('name')).map((e) => e.name);
    const js = sortNames(NAMES.map((b) => bytesToName(b)));
    assert.deepEqual(native, js);
    const bytes = [...NAMES].sort(Buffer.compare).map((b) => bytesToName(b));
    assert.deepEqual(js, bytes);
    assert.ok(
      js.map((n) => nameToBytes(n)).every((b, i, all) => i === 0 || Buffer.compare(all[i - 1], b) < 0),
    );
  });

  it('by time: newest first, ties in readdir order', async () => {
    const readdir = await scanned('none');
    const native = (await scanned('mtime')).map((e) => e.name);
    const js = sortEntries(readdir, { reverse: false, sortTime: true, sortSize: false }).map((e) => e.name);
    assert.deepEqual(native, js);
  });

  it('compareNames is antisymmetric and consistent with byte order', () => {
    const names = NAMES.map((b) => bytesToName(b));
    for (const a of names) {
      for (const b of names) {
        assert.equal(compareNames(a, b), -compareNames(b, a) || 0);
        assert.equal(compareNames(a, b), Math.sign(Buffer.compare(nameToBytes(a), nameToBytes(b))));
      }
    }
  });
});
