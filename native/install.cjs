'use strict';
/**
 * `npm install` step of tsftpd (package.json "install"): use the prebuilt addons when they work
 * here, compile from source only when that is asked for or needed. Guarantees: an install on a
 * machine where the prebuilt required addons load never needs a compiler and never fails because
 * of an optional addon; a compile happens when
 *   - TSFTPD_BUILD_FROM_SOURCE=1 (or npm's usual npm_config_build_from_source=true) is set,
 *   - a previous source build exists (build/: a checkout where `npm ci` always compiled), and a
 *     C toolchain is present,
 *   - or an addon does not load from the prebuilds and could be built here (a required one
 *     always; an optional one when its headers and a toolchain are present).
 * A failed compile fails the install only when a required addon still does not load.
 * The same rule as node-gyp-build's install step, extended to several addons (see docs/native.md).
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ADDONS, ROOT, load } = require('./addons.cjs');

/** True when the user asked for a compile. */
function fromSourceRequested() {
  const own = process.env.TSFTPD_BUILD_FROM_SOURCE;
  return own === '1' || own === 'true' || process.env.npm_config_build_from_source === 'true';
}

/** True when `cmd` is an executable file in a PATH directory (or an absolute path). */
function onPath(cmd) {
  const dirs = cmd.includes('/') ? [''] : (process.env.PATH || '').split(path.delimiter).filter(Boolean);
  return dirs.some((dir) => {
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The tools node-gyp needs that cannot be found (empty: a compile can be tried). */
function missingTools() {
  const need = [
    ['make', ['make']],
    ['a C compiler (gcc)', [process.env.CC, 'cc', 'gcc']],
    ['a C++ linker (g++)', [process.env.CXX, 'c++', 'g++']],
    ['python3', [process.env.npm_config_python, process.env.PYTHON, 'python3', 'python']],
  ];
  return need
    .filter(([, cmds]) => !cmds.some((c) => c !== undefined && c !== '' && onPath(c.split(' ')[0])))
    .map(([label]) => label);
}

/** node-gyp: a local copy, npm's bundled one, or the one npm puts on PATH for install scripts. */
function nodeGypCommand() {
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js', { paths: [ROOT] })];
  } catch {
    // not installed locally
  }
  if (process.env.npm_execpath) {
    const bundled = path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp');
    const bin = path.join(bundled, 'bin', 'node-gyp.js');
    if (fs.existsSync(bin)) return [process.execPath, bin];
  }
  return ['node-gyp'];
}

/** Runs `node-gyp rebuild` in the package; true when it succeeded. */
function compile() {
  const [cmd, ...args] = nodeGypCommand();
  const run = spawnSync(cmd, [...args, 'rebuild'], { cwd: ROOT, stdio: 'inherit' });
  return run.status === 0;
}

/** The addons that do not load, with why. */
function failing() {
  return ADDONS.map((a) => ({ addon: a, result: load(a.name) })).filter((x) => !x.result.ok);
}

function say(line) {
  process.stderr.write(`tsftpd: ${line}\n`);
}

function main() {
  if (fromSourceRequested()) {
    if (!compile()) return 1;
    const left = failing().filter((f) => f.addon.required);
    for (const f of left) say(`${f.addon.name} does not load after the build: ${f.result.reason}`);
    return left.length === 0 ? 0 : 1;
  }
  const tools = missingTools();
  const hadBuild = fs.existsSync(path.join(ROOT, 'build', 'Release'));
  const before = failing();
  const buildable = before.filter((f) => f.addon.header === undefined || fs.existsSync(f.addon.header));
  const requiredMissing = before.filter((f) => f.addon.required);
  const wantCompile = requiredMissing.length > 0 || buildable.length > 0 || hadBuild;
  if (!wantCompile || (tools.length > 0 && requiredMissing.length === 0)) {
    for (const f of before) say(`optional ${f.addon.part} addon off (${f.addon.what}): ${f.result.reason}`);
    return 0;
  }
  if (tools.length > 0) {
    for (const f of requiredMissing) say(`${f.addon.name} (required): ${f.result.reason}`);
    say(
      `no working prebuilt addon for this machine, and compiling needs ${tools.join(', ')}` +
        ' (Debian: apt-get install python3 make g++ libcrypt-dev), then run npm rebuild tsftpd',
    );
    return 1;
  }
  const built = compile();
  const after = failing();
  const stillRequired = after.filter((f) => f.addon.required);
  for (const f of stillRequired) say(`${f.addon.name} (required) does not load: ${f.result.reason}`);
  if (stillRequired.length > 0) return 1;
  if (!built) say('the compile failed; the prebuilt addons are used');
  for (const f of after) say(`optional ${f.addon.part} addon off (${f.addon.what}): ${f.result.reason}`);
  return 0;
}

process.exitCode = main();
