/**
 * The machine's login ceiling: how many `$6$` (SHA-512 crypt) passwords its CPUs can check per
 * second — CPUs × 1 / the time of one check, measured with the same crypt(3) tsftpd uses (the
 * tsftpd_crypt addon), one check at a time. No server can log users in faster than that.
 */
import { availableParallelism } from 'node:os';
import { cryptAddon } from '../src/auth/hashes/native.js';

/** Checks per second the machine can do, and what one check costs. */
export interface HashCeiling {
  cpus: number;
  msPerCheck: number;
  perSecond: number;
}

/** Times `checks` sequential verifications of `password` against `hash` (after a warm-up). */
export async function hashCeiling(password: string, hash: string, checks = 300): Promise<HashCeiling> {
  const addon = await cryptAddon();
  for (let i = 0; i < 10; i++) await addon.verify(password, hash);
  const t0 = performance.now();
  for (let i = 0; i < checks; i++) {
    if (!(await addon.verify(password, hash))) throw new Error('hash ceiling: the password does not match');
  }
  const msPerCheck = (performance.now() - t0) / checks;
  const cpus = availableParallelism();
  return { cpus, msPerCheck, perSecond: (cpus * 1000) / msPerCheck };
}
