/**
 * Loader for the tsftpd_crypt addon (native/crypt.c): the system's crypt(3) run on libuv's thread
 * pool with a constant-time compare (spec §3.3: puredb hands every non-Argon2 hash to crypt(3)).
 * The addon is found by walking up from this file to the package root, so the same code works from
 * src/ (ts-node style) and from dist/src/ (compiled).
 */
import { loadAddon } from '../../native-addons.js';

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

/** Loads the addon once; rejects with a clear error when it was not built (`npm install` builds it). */
export function cryptAddon(): Promise<CryptAddon> {
  return loadAddon<CryptAddon>('tsftpd_crypt', 'run "npm install" to build it (needs libcrypt-dev)');
}
