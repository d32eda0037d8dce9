/**
 * Loader for the tsftpd_crypt addon (native/crypt.c): the system's crypt(3) run on libuv's thread
 * pool with a constant-time compare (upstream §3.3: puredb hands every non-Argon2 hash to crypt(3)),
 * and libsodium's Argon2 when libsodium is installed (the addon opens it at run time).
 */
import { DISABLE_ENV, SODIUM_PART, isDisabled, loadAddon } from '../../native-addons.js';

/** The functions exported by build/Release/tsftpd_crypt.node. */
export interface CryptAddon {
  verify(password: string, hash: string): Promise<boolean>;
  crypt(password: string, setting: string): Promise<string | null>;
  gensalt(prefix: string, rounds: number): string | null;
  /** libsodium's crypto_pwhash_str_verify, present when libsodium was found. */
  sodiumVerify?(password: string, hash: string): Promise<boolean>;
  /** libsodium's crypto_pwhash_str_alg (Argon2id), present when libsodium was found. */
  sodiumHash?(
    password: string,
    unused: string,
    opslimit: number,
    memlimitBytes: number,
  ): Promise<string | null>;
  /** Why libsodium is not used (set instead of the two functions above). */
  sodiumError?: string;
}

let crypt: Promise<CryptAddon> | undefined;

/**
 * Loads the addon once; rejects with what to install when it is missing. With `sodium` in
 * TSFTPD_DISABLE_ADDONS the libsodium functions are hidden (the argon2 package is used).
 */
export function cryptAddon(): Promise<CryptAddon> {
  crypt ??= loadAddon<CryptAddon>('tsftpd_crypt').then((addon) =>
    isDisabled(SODIUM_PART)
      ? {
          verify: addon.verify,
          crypt: addon.crypt,
          gensalt: addon.gensalt,
          sodiumError: `disabled by ${DISABLE_ENV}`,
        }
      : addon,
  );
  return crypt;
}
