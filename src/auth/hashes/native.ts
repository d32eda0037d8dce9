/**
 * Loader for the tsftpd_crypt addon (native/crypt.c): the system's crypt(3) run on libuv's thread
 * pool with a constant-time compare (spec §3.3: puredb hands every non-Argon2 hash to crypt(3)).
 * The addon is found by walking up from this file to the package root, so the same code works from
 * src/ (ts-node style) and from dist/src/ (compiled).
 */
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The functions exported by build/Release/tsftpd_crypt.node. */
export interface CryptAddon {
  verify(password: string, hash: string): Promise<boolean>;
  crypt(password: string, setting: string): Promise<string | null>;
  gensalt(prefix: string, rounds: number): string | null;
  /** libsodium's crypto_pwhash_str_verify, present when the addon was built with libsodium. */
  sodiumVerify?(password: string, hash: string): Promise<boolean>;
  /** libsodium's crypto_pwhash_str_alg (Argon2id), present when built with libsodium. */
  sodiumHash?(
    password: string,
    unused: string,
    opslimit: number,
    memlimitBytes: number,
  ): Promise<string | null>;
}

const ADDON = join('build', 'Release', 'tsftpd_crypt.node');
let loading: Promise<CryptAddon> | undefined;

/** True when the path exists (async: this may first run during a login). */
async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The built addon under the nearest ancestor that holds package.json and the addon, or undefined. */
async function findAddonPath(): Promise<string | undefined> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if ((await exists(join(dir, 'package.json'))) && (await exists(join(dir, ADDON))))
      return join(dir, ADDON);
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Loads the addon once; rejects with a clear error when it was not built (`npm install` builds it). */
export function cryptAddon(): Promise<CryptAddon> {
  loading ??= findAddonPath().then((path) => {
    if (path === undefined) {
      loading = undefined;
      throw new Error(`tsftpd_crypt native addon not found (${ADDON}); run "npm install" to build it`);
    }
    return createRequire(import.meta.url)(path) as CryptAddon;
  });
  return loading;
}
