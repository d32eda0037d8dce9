/**
 * `npm run prebuilds`: compiles every addon of binding.gyp from the current sources and stores the
 * binaries in prebuilds/<platform>-<arch>/<addon>.<libc>.node (prebuildify's naming), stripped,
 * with a manifest.json recording the SHA-256 of each source file, the toolchain, the shared
 * libraries each binary links and the newest glibc symbol version it needs. A test compares the
 * manifest with the sources, so a C change without a new prebuild fails `npm test`.
 *
 * Every addon must be built (the PAM headers are needed here even though they are optional for
 * users); files of addons that no longer exist are removed. Run it after any change to native/ or
 * binding.gyp, on the oldest glibc the prebuilds should support.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { libc, prebuildDir, nativeSources } = require(path.join(root, 'native', 'addons.cjs'));

function fail(message) {
  process.stderr.write(`prebuild: ${message}\n`);
  process.exit(1);
}

function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** First line of a command's output, or undefined when it cannot run. */
function firstLine(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
  } catch {
    return undefined;
  }
}

const gyp = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8');
const targets = [...gyp.matchAll(/"target_name"\s*:\s*"([A-Za-z0-9_]+)"/g)].map((m) => m[1]);
if (targets.length === 0) fail('no target_name in binding.gyp');

// npm puts its own node-gyp on PATH for scripts (and passes its nodedir setting along).
const build = spawnSync('node-gyp', ['rebuild', '--release'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) fail('node-gyp rebuild failed (run it as `npm run prebuilds`)');

const release = path.join(root, 'build', 'Release');
const missing = targets.filter((t) => !fs.existsSync(path.join(release, `${t}.node`)));
if (missing.length > 0) {
  fail(
    `not built: ${missing.join(', ')}; every addon must be in the prebuilds ` +
      '(tsftpd_pam needs libpam0g-dev: apt-get install libpam0g-dev)',
  );
}

const out = prebuildDir(root);
fs.mkdirSync(out, { recursive: true });
for (const f of fs.readdirSync(out)) fs.rmSync(path.join(out, f));
const flavour = libc();
const addons = {};
let glibcFloor = '0';
const newer = (a, b) => {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  }
  return false;
};
for (const t of targets) {
  const dest = path.join(out, `${t}.${flavour}.node`);
  fs.copyFileSync(path.join(release, `${t}.node`), dest);
  if (spawnSync('strip', ['--strip-all', dest], { stdio: 'inherit' }).status !== 0)
    fail(`strip ${dest} failed`);
  const binary = fs.readFileSync(dest).toString('latin1');
  const versions = [...new Set([...binary.matchAll(/GLIBC_(\d+(?:\.\d+)+)/g)].map((m) => m[1]))];
  const needs = versions.reduce((a, v) => (newer(v, a) ? v : a), '0');
  if (newer(needs, glibcFloor)) glibcFloor = needs;
  let dynamic = '';
  try {
    dynamic = execFileSync('readelf', ['-d', dest], { encoding: 'utf8' });
  } catch {
    fail('readelf (binutils) is needed to record what each binary links');
  }
  addons[t] = {
    file: path.basename(dest),
    sha256: sha256(dest),
    links: [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]),
    glibc: needs,
  };
  // The binary must load here (a missing symbol shows now, not on a user's machine).
  require(dest);
}

const manifest = {
  comment: 'Made by `npm run prebuilds`; test/unit/prebuilds.test.ts checks `sources` against the tree.',
  platform: path.basename(out),
  libc: flavour,
  glibc: glibcFloor,
  node: process.version,
  // The N-API version the binaries ask for (binding.gyp pins it so that a build made with a newer
  // Node still loads on Node 20, whose N-API is 9).
  napi: /NAPI_VERSION=(\d+)/.exec(gyp)?.[1],
  compiler: firstLine('cc', ['--version']),
  sources: Object.fromEntries(nativeSources(root).map((f) => [f, sha256(path.join(root, f))])),
  addons,
};
fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
process.stdout.write(
  `prebuild: ${targets.length} addons in ${path.relative(root, out)} (glibc >= ${glibcFloor})\n`,
);
