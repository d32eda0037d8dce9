/**
 * native/install.cjs, the package's install step, run on a copy of the package with no compiler on
 * PATH: with the prebuilt addons it succeeds without compiling anything; without them it fails
 * (the jail's addon is required) naming what a compile needs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/native-addons.js';

const root = packageRoot();

/** A copy of the package's native side in a temp dir; `prebuilds` copies the prebuilt addons too. */
function copyPackage(prebuilds: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsftpd-install-'));
  cpSync(path.join(root, 'native'), path.join(dir, 'native'), { recursive: true });
  cpSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
  if (prebuilds) cpSync(path.join(root, 'prebuilds'), path.join(dir, 'prebuilds'), { recursive: true });
  mkdirSync(path.join(dir, 'bin'));
  symlinkSync(process.execPath, path.join(dir, 'bin', 'node'));
  return dir;
}

/** Runs the install step with PATH holding node only (no make, cc, g++, python3). */
function install(dir: string): { status: number | null; stderr: string } {
  const env: NodeJS.ProcessEnv = { HOME: os.homedir(), PATH: path.join(dir, 'bin') };
  const r = spawnSync(process.execPath, [path.join(dir, 'native', 'install.cjs')], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr };
}

describe('install step (native/install.cjs) without a compiler', () => {
  it('uses the prebuilt addons: exit 0, nothing compiled, nothing reported off', () => {
    const dir = copyPackage(true);
    try {
      const r = install(dir);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(existsSync(path.join(dir, 'build')), false, 'no compile was tried');
      assert.equal(r.stderr, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without prebuilds for this machine: fails, naming the required addons and the missing tools', () => {
    const dir = copyPackage(false);
    try {
      const r = install(dir);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /tsftpd_fs \(required\): not built, and no prebuilt tsftpd_fs for linux-x64/);
      assert.match(r.stderr, /compiling needs make, a C compiler \(gcc\), a C\+\+ linker \(g\+\+\), python3/);
      assert.match(r.stderr, /apt-get install python3 make g\+\+ libcrypt-dev/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
