/**
 * Password-hash verification for virtual users (upstream §3.3). Guarantees: never throws for a bad or
 * hostile stored hash (the answer is then false); locked (`*`, `!`), empty and `@` hashes never
 * match; every comparison is constant-time (libsodium/argon2 and the crypt addon both compare in
 * constant time); hashing never runs on the event loop.
 */
import { hashArgon2id, isArgon2Hash, verifyArgon2 } from './argon2.js';
import { cryptAddon } from './native.js';

export { DEFAULT_ARGON2_OPTIONS, isArgon2Hash } from './argon2.js';

/** Pure-FTPd caps passwords at 512 bytes (upstream §12 "Input limits"); longer ones never match. */
export const MAX_PASSWORD_LENGTH = 511;

/** True when `password` matches `stored` (Argon2, scrypt `$7$`, bcrypt, SHA-crypt, MD5-crypt, yescrypt, DES). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (typeof password !== 'string' || typeof stored !== 'string') return false;
  if (password.length > MAX_PASSWORD_LENGTH || password.includes('\0')) return false;
  // Empty, locked (`*`, `!`) and shadow-disabled (`@`) entries are refused (upstream §3.1, §3.3).
  if (stored === '' || /^[*!@]/.test(stored) || stored.length > 4096 || stored.includes(':')) return false;
  for (let i = 0; i < stored.length; i++) if (stored.charCodeAt(i) < 0x20) return false;
  if (isArgon2Hash(stored)) return verifyArgon2(password, stored);
  // A missing addon is an installation fault, not a wrong password: that rejection surfaces.
  const addon = await cryptAddon();
  try {
    return await addon.verify(password, stored);
  } catch {
    return false;
  }
}

/** Hashes a new password as pure-pw does with libsodium: an Argon2id string in libsodium's order. */
export async function hashPassword(
  password: string,
  opts?: { memoryKiB?: number; timeCost?: number },
): Promise<string> {
  return hashArgon2id(password, opts);
}

/** crypt(3) with an explicit setting (tests, `pw` tools that must write `$6$`, ...); null on failure. */
export async function cryptWithSetting(password: string, setting: string): Promise<string | null> {
  return (await cryptAddon()).crypt(password, setting);
}

/** A fresh crypt(3) setting for `prefix` (`$6$`, `$2b$`, `$y$`, ...) from the system's entropy, or null. */
export async function generateSalt(prefix: string, rounds = 0): Promise<string | null> {
  return (await cryptAddon()).gensalt(prefix, rounds);
}
