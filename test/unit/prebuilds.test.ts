/**
 * The prebuilt addons shipped in the package (prebuilds/linux-x64, made by `npm run prebuilds`):
 * they match the C sources of this tree, every binding.gyp target is there, they load in this
 * Node, they link nothing optional (libsodium is opened at run time), and the lookup in
 * native/addons.cjs picks build/Release first, then the prebuild of this libc.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/native-addons.js';
import { ciSkip } from '../helpers/ci.js';

const root = packageRoot();
const dir = path.join(root, 'prebuilds', 'linux-x64');
const addonsCjs = createRequire(import.meta.url)(path.join(root, 'native', 'addons.cjs')) as {
  ADDONS: { name: string }[];
  nativeSources(root: string): string[];
  findPrebuild(name: string, root: string): string | undefined;
  load(name: string, root: string): { ok: boolean; origin?: string; missing?: boolean; reason?: string };
};

interface Manifest {
  libc: string;
  napi: string;
  sources: Record<string, string>;
  addons: Record<string, { file: string; sha256: string; links: string[] }>;
}

const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const targets = [
  ...readFileSync(path.join(root, 'binding.gyp'), 'utf8').matchAll(/"target_name"\s*:\s*"(\w+)"/g),
].map((m) => m[1]);

describe('prebuilt addons (prebuilds/linux-x64)', () => {
  it('were made from the native sources of this tree (else: npm run prebuilds)', () => {
    const now = Object.fromEntries(
      addonsCjs.nativeSources(root).map((f) => [f, sha256(path.join(root, f))] as const),
    );
    const changed = Object.keys({ ...now, ...manifest.sources }).filter(
      (f) => now[f] !== manifest.sources[f],
    );
    assert.deepEqual(changed, [], `changed since the prebuilds were made: ${changed.join(', ')}`);
  });

  it('hold every binding.gyp target, each file with the hash the manifest records', () => {
    assert.ok(targets.length >= 5, `targets: ${targets.join(', ')}`);
    assert.deepEqual(Object.keys(manifest.addons).sort(), [...targets].sort());
    // native/addons.cjs describes each one (required or not, what it needs): keep it in step.
    assert.deepEqual(addonsCjs.ADDONS.map((a) => a.name).sort(), [...targets].sort());
    const files = readdirSync(dir).filter((f) => f.endsWith('.node'));
    assert.deepEqual(files.sort(), targets.map((t) => `${t}.glibc.node`).sort());
    for (const t of targets)
      assert.equal(sha256(path.join(dir, `${t}.glibc.node`)), manifest.addons[t].sha256);
  });

  it('load in this Node (N-API version pinned below Node 20 limit)', () => {
    assert.ok(Number(manifest.napi) <= Number(process.versions.napi));
    for (const t of targets) {
      // In a child: a binary asking for a newer N-API crashes Node 20 instead of throwing.
      const r = spawnSync(
        process.execPath,
        ['-e', `require(${JSON.stringify(path.join(dir, `${t}.glibc.node`))})`],
        {
          timeout: 20_000,
          encoding: 'utf8',
        },
      );
      assert.equal(r.status, 0, `${t}: ${r.signal ?? ''} ${r.stderr}`);
    }
  });

  const readelf =
    spawnSync('readelf', ['--version']).status === 0 ? undefined : 'readelf (binutils) is not installed';
  it(
    'link only libc, libcrypt (crypt) and libpam (pam): libsodium is opened at run time',
    { skip: ciSkip(readelf) },
    () => {
      const allowed: Record<string, string[]> = {
        tsftpd_crypt: ['libc.so.6', 'libcrypt.so.1'],
        tsftpd_pam: ['libc.so.6', 'libpam.so.0'],
      };
      for (const t of targets) {
        const out = execFileSync('readelf', ['-d', path.join(dir, `${t}.glibc.node`)], { encoding: 'utf8' });
        const links = [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
        for (const lib of links) assert.ok((allowed[t] ?? ['libc.so.6']).includes(lib), `${t} links ${lib}`);
      }
    },
  );
});

describe('addon lookup (native/addons.cjs)', () => {
  it('takes build/Release first, then the prebuild of this libc; skips other libcs and unknown tags', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'tsftpd-lookup-'));
    const saved = process.env.LIBC;
    try {
      const pre = path.join(tmp, 'prebuilds', `${os.platform()}-${os.arch()}`);
      mkdirSync(pre, { recursive: true });
      mkdirSync(path.join(tmp, 'build', 'Release'), { recursive: true });
      const real = path.join(dir, 'tsftpd_syslog.glibc.node');
      copyFileSync(real, path.join(pre, 'tsftpd_syslog.glibc.node'));
      writeFileSync(path.join(pre, 'tsftpd_syslog.musl.node'), 'not an ELF file');
      writeFileSync(path.join(pre, 'tsftpd_syslog.glibc.future.node'), 'unknown tag');
      delete process.env.LIBC;
      assert.equal(addonsCjs.findPrebuild('tsftpd_syslog', tmp), path.join(pre, 'tsftpd_syslog.glibc.node'));
      process.env.LIBC = 'musl';
      assert.equal(addonsCjs.findPrebuild('tsftpd_syslog', tmp), path.join(pre, 'tsftpd_syslog.musl.node'));
      delete process.env.LIBC;
      assert.equal(addonsCjs.findPrebuild('tsftpd_pump', tmp), undefined);

      const viaPrebuild = addonsCjs.load('tsftpd_syslog', tmp);
      assert.equal(viaPrebuild.ok, true);
      assert.equal(viaPrebuild.origin, 'prebuild');
      copyFileSync(real, path.join(tmp, 'build', 'Release', 'tsftpd_syslog.node'));
      assert.equal(addonsCjs.load('tsftpd_syslog', tmp).origin, 'build');
      // A build/Release file wins; a broken one falls back to the prebuild, saying why.
      writeFileSync(path.join(tmp, 'build', 'Release', 'tsftpd_pump.node'), 'broken');
      const broken = addonsCjs.load('tsftpd_pump', tmp);
      assert.equal(broken.ok, false);
      assert.equal(broken.missing, false);
      assert.match(broken.reason ?? '', /build\/Release\/tsftpd_pump\.node: /);
      const none = addonsCjs.load('tsftpd_pam', tmp);
      assert.equal(none.missing, true);
      assert.match(none.reason ?? '', /not built, and no prebuilt tsftpd_pam for linux-x64 glibc/);
    } finally {
      if (saved === undefined) delete process.env.LIBC;
      else process.env.LIBC = saved;
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
