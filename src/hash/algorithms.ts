/**
 * The digests HASH and the X* commands compute (draft-bryan-ftpext-hash-02 names): SHA-1, SHA-256,
 * SHA-512 and MD5 by Node's crypto, CRC32 (the zlib/PKZIP polynomial, what XCRC clients compare)
 * by the table below — a checksum, not cryptography.
 */
import { createHash, type Hash } from 'node:crypto';

/** Algorithm names as FEAT lists them, in FEAT's order. */
export const HASH_ALGORITHMS = ['SHA-1', 'SHA-256', 'SHA-512', 'MD5', 'CRC32'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** The default selection (draft §3.1: the server's choice; SHA-256 is what clients prefer). */
export const DEFAULT_HASH: HashAlgorithm = 'SHA-256';

/** An algorithm by its FEAT name, any case; undefined when not offered. */
export function hashAlgorithm(name: string): HashAlgorithm | undefined {
  const n = name.trim().toUpperCase();
  return HASH_ALGORITHMS.find((a) => a === n);
}

const CRC_TABLE = ((): Uint32Array => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** A running digest: update with chunks, then the lowercase hex of the result. */
export interface Digest {
  update(chunk: Uint8Array): void;
  hex(): string;
}

class Crc32 implements Digest {
  private crc = 0xffffffff;
  update(chunk: Uint8Array): void {
    let c = this.crc;
    for (let i = 0; i < chunk.length; i++) c = CRC_TABLE[(c ^ chunk[i]) & 0xff] ^ (c >>> 8);
    this.crc = c;
  }
  hex(): string {
    return ((this.crc ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
  }
}

class CryptoDigest implements Digest {
  constructor(private readonly h: Hash) {}
  update(chunk: Uint8Array): void {
    this.h.update(chunk);
  }
  hex(): string {
    return this.h.digest('hex');
  }
}

const NODE_NAMES: Record<Exclude<HashAlgorithm, 'CRC32'>, string> = {
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-512': 'sha512',
  MD5: 'md5',
};

/** A fresh digest of an algorithm. */
export function newDigest(algorithm: HashAlgorithm): Digest {
  return algorithm === 'CRC32' ? new Crc32() : new CryptoDigest(createHash(NODE_NAMES[algorithm]));
}
