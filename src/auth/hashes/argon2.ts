/**
 * Argon2 strings as libsodium writes and reads them (upstream §3.3): pure-pw stores
 * `$argon2id$v=19$m=<KiB>,t=<ops>,p=1$<salt>$<hash>` (crypto_pwhash_str). Hashing runs in the npm
 * `argon2` addon on libuv's thread pool, never on the event loop.
 */
import { cryptAddon } from './native.js';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { argon2id, hash as argon2Hash, verify as argon2Verify } from 'argon2';

/** libsodium's crypto_pwhash_str layout: 16-byte salt, 32-byte hash, one lane. */
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Refuse to allocate more than this for one stored hash (a hostile or mistyped database line). */
const MAX_MEMORY_KIB = 4 * 1024 * 1024;
const MAX_LANES = 255;

const randomBytesAsync = promisify(randomBytes);

/** Default cost of new hashes (pure-pw: 64 MiB / 8 concurrent logins; its t calibration comes later). */
export const DEFAULT_ARGON2_OPTIONS = { memoryKiB: 8192, timeCost: 3 } as const;

/** True when the stored string claims to be an Argon2 hash. */
export function isArgon2Hash(stored: string): boolean {
  return /^\$argon2(?:id|i|d)\$/.test(stored);
}

/**
 * Checks the PHC layout and the cost bounds before any work: libsodium's order (m,t,p) and the npm
 * package's (m,p,t) are both accepted; anything else is malformed.
 */
function wellFormed(stored: string): boolean {
  const m =
    /^\$argon2(?:id|i|d)\$(?:v=(?:16|19)\$)?([a-z]=\d{1,10}(?:,[a-z]=\d{1,10}){2})\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{11,}$/.exec(
      stored,
    );
  if (m === null) return false;
  const params = new Map<string, number>();
  for (const kv of m[1].split(',')) params.set(kv[0], Number(kv.slice(2)));
  const mem = params.get('m');
  const t = params.get('t');
  const p = params.get('p');
  if (params.size !== 3 || mem === undefined || t === undefined || p === undefined) return false;
  return p >= 1 && p <= MAX_LANES && t >= 1 && t <= 0xffffffff && mem >= 8 * p && mem <= MAX_MEMORY_KIB;
}

/** Verifies an Argon2 string; false (never a throw) for a malformed one. */
export async function verifyArgon2(password: string, stored: string): Promise<boolean> {
  if (!wellFormed(stored)) return false;
  try {
    // libsodium (when the addon was built with it) is Pure-FTPd's own verifier and about 3x faster
    // than the npm package's SSE2-only code; it handles argon2i/argon2id v=19, the rest falls back.
    const addon = await cryptAddon().catch(() => undefined);
    if (addon?.sodiumVerify !== undefined && /^\$argon2id?\$v=19\$m=\d+,t=\d+,p=\d+\$/.test(stored)) {
      return await addon.sodiumVerify(password, stored);
    }
    return await argon2Verify(stored, password);
  } catch {
    return false;
  }
}

/** Unpadded standard base64, as libsodium's sodium_bin2base64(..._ORIGINAL_NO_PADDING). */
function b64(buf: Buffer): string {
  return buf.toString('base64').replace(/=+$/, '');
}

/** A new Argon2id string in libsodium's parameter order, so that Pure-FTPd can verify it. */
export async function hashArgon2id(
  password: string,
  opts: { memoryKiB?: number; timeCost?: number } = {},
): Promise<string> {
  const memoryKiB = opts.memoryKiB ?? DEFAULT_ARGON2_OPTIONS.memoryKiB;
  const timeCost = opts.timeCost ?? DEFAULT_ARGON2_OPTIONS.timeCost;
  if (!Number.isInteger(memoryKiB) || memoryKiB < 8 || memoryKiB > MAX_MEMORY_KIB) {
    throw new RangeError(`argon2 memory must be an integer between 8 and ${MAX_MEMORY_KIB} KiB`);
  }
  if (!Number.isInteger(timeCost) || timeCost < 1 || timeCost > 0xffffffff) {
    throw new RangeError('argon2 time cost must be a positive integer');
  }
  const addon = await cryptAddon().catch(() => undefined);
  if (addon?.sodiumHash !== undefined) {
    const made = await addon.sodiumHash(password, '', timeCost, memoryKiB * 1024);
    if (made !== null) return made;
  }
  const salt = await randomBytesAsync(SALT_BYTES);
  const digest = await argon2Hash(password, {
    type: argon2id,
    memoryCost: memoryKiB,
    timeCost,
    parallelism: 1,
    hashLength: HASH_BYTES,
    salt,
    raw: true,
  });
  return `$argon2id$v=19$m=${memoryKiB},t=${timeCost},p=1$${b64(salt)}$${b64(digest)}`;
}
