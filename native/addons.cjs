'use strict';
/**
 * Where tsftpd's native addons come from, shared by the install script (native/install.cjs, which
 * runs before the TypeScript is compiled, hence plain CommonJS) and the server
 * (src/native-addons.ts).
 *
 * An addon is taken from build/Release/<name>.node when it was built from source in this package
 * (node-gyp), else from prebuilds/<platform>-<arch>/<name>.<libc>.node, the prebuilt binaries
 * shipped in the npm package (`npm run prebuilds` makes them; the file names follow prebuildify's
 * `--name <addon> --tag-libc` convention that node-gyp-build reads). Each addon is looked up on its
 * own, so a source build without the PAM headers still uses the prebuilt PAM addon.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** The package root (this file lives in <root>/native). */
const ROOT = path.join(__dirname, '..');

/**
 * Every addon binding.gyp builds. `required`: the server cannot start without it whatever the
 * configuration (install builds from source when it does not load). `runtime`/`dev`: the Debian
 * packages holding the shared library it links and the headers its build needs. `header`: a
 * header whose absence makes binding.gyp skip the addon.
 */
const ADDONS = [
  {
    name: 'tsftpd_fs',
    part: 'fs',
    required: true,
    what: 'confined file access and directory scans',
  },
  {
    name: 'tsftpd_crypt',
    part: 'crypt',
    required: true,
    what: 'crypt(3) password hashes (yescrypt, SHA-crypt, bcrypt, ...)',
    runtime: 'libcrypt1',
    dev: 'libcrypt-dev',
  },
  {
    name: 'tsftpd_pam',
    part: 'pam',
    required: false,
    what: 'PAM authentication',
    runtime: 'libpam0g',
    dev: 'libpam0g-dev',
    header: '/usr/include/security/pam_appl.h',
  },
  {
    name: 'tsftpd_pump',
    part: 'pump',
    required: false,
    what: 'native upload and sendfile download paths',
  },
  {
    name: 'tsftpd_syslog',
    part: 'syslog',
    required: false,
    what: 'logging to syslog (-f)',
  },
  {
    name: 'tsftpd_channel',
    part: 'channel',
    required: false,
    what: 'descriptor passing between tsftpd processes (storage brokers, when started as root)',
  },
  {
    name: 'tsftpd_quota',
    part: 'quota',
    required: false,
    what: 'the one-job tree walk of tsftpd quotacheck',
  },
];

/** libc flavour, as prebuildify and node-gyp-build tell them apart. */
function libc() {
  if (process.env.LIBC) return process.env.LIBC;
  return os.platform() === 'linux' && fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
}

/** The prebuilds folder for this machine: prebuilds/<platform>-<arch>. */
function prebuildDir(root = ROOT) {
  return path.join(root, 'prebuilds', `${os.platform()}-${os.arch()}`);
}

/**
 * The prebuilt file for `name` that fits this machine, or undefined. A file is
 * `<name>[.tag...].node`; tags: `glibc`/`musl` (must match), `napi` (always fine). A file with a
 * tag this code does not know is skipped rather than guessed at.
 */
function findPrebuild(name, root = ROOT) {
  const dir = prebuildDir(root);
  let files;
  try {
    files = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  const want = libc();
  let best;
  let bestScore = -1;
  for (const file of files) {
    const parts = file.split('.');
    if (parts.length < 2 || parts[0] !== name || parts[parts.length - 1] !== 'node') continue;
    let score = 0;
    let fits = true;
    for (const tag of parts.slice(1, -1)) {
      if (tag === 'glibc' || tag === 'musl') fits &&= tag === want;
      else if (tag !== 'napi') fits = false;
      score++;
    }
    if (fits && score > bestScore) {
      best = path.join(dir, file);
      bestScore = score;
    }
  }
  return best;
}

/**
 * Loads addon `name`: build/Release first, then the prebuilt file. Never throws: returns
 * `{ ok: true, addon, file, origin: 'build' | 'prebuild' }`, or `{ ok: false, missing, reason }`
 * where `missing` means that no binary exists at all (not built, no prebuild for this machine)
 * and `reason` says what was tried.
 */
function load(name, root = ROOT) {
  const tried = [];
  const built = path.join(root, 'build', 'Release', `${name}.node`);
  const candidates = [];
  if (fs.existsSync(built)) candidates.push({ file: built, origin: 'build' });
  const prebuilt = findPrebuild(name, root);
  if (prebuilt !== undefined) candidates.push({ file: prebuilt, origin: 'prebuild' });
  for (const c of candidates) {
    try {
      return { ok: true, addon: require(c.file), file: c.file, origin: c.origin };
    } catch (err) {
      // dlopen's message names the missing library or symbol version; keep its first line.
      tried.push(`${path.relative(root, c.file)}: ${String(err && err.message).split('\n')[0]}`);
    }
  }
  if (candidates.length === 0) {
    return {
      ok: false,
      missing: true,
      reason: `not built, and no prebuilt ${name} for ${os.platform()}-${os.arch()} ${libc()}`,
    };
  }
  return { ok: false, missing: false, reason: tried.join('; ') };
}

/** The files a build depends on (binding.gyp, native/*.c and *.h), sorted, relative to root. */
function nativeSources(root = ROOT) {
  const names = fs
    .readdirSync(path.join(root, 'native'))
    .filter((f) => /\.[ch]$/.test(f))
    .map((f) => `native/${f}`);
  return ['binding.gyp', ...names.sort()];
}

module.exports = { ROOT, ADDONS, libc, prebuildDir, findPrebuild, load, nativeSources };
