/**
 * PureDB (PDB2) files, byte-compatible with Pure-FTPd's puredb (upstream §3.4). Guarantees: a lookup
 * reads O(log n) small pieces with positional reads (never the whole file); a replaced file (the
 * rename done by `mkdb`) is noticed by a stat per lookup; corrupt data gives Pure-FTPd's 421 text,
 * never a crash or an out-of-range read; the writer replaces the file atomically (temp + rename)
 * with memory proportional to the number of keys and big buffered writes.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { errnoCode, FtpError } from '../errors.js';
import { HEADER_BYTES, PDB_MAGIC, pureDbHash } from './pdb-writer.js';

/** Pure-FTPd's MSG_PDB_BROKEN, sent with 421 when the database cannot be used. */
export const PDB_BROKEN_MESSAGE =
  'Unable to read the indexed puredb file (or old format detected) - Try pure-pw mkdb';

const MAGIC = Buffer.from(PDB_MAGIC, 'latin1');
const MAX_FILE = 0xffffffff;
/**
 * Slots read in one go once the on-disk binary search has narrowed the range (64 KiB): a bucket of
 * a 1.5-million-account file (~6000 slots) then costs one read instead of a dozen round trips.
 */
const WINDOW_SLOTS = 8192;
/** Bytes read past the key hoping the whole value comes in the same read (passwd lines are short). */
const VALUE_READ_AHEAD = 512;
const MAX_VALUE = 16 * 1024 * 1024;

/**
 * The log line for an unusable `.pdb`: the path, why, and the command that makes a good one
 * (`pure-pw mkdb` in Pure-FTPd's text, which names neither the file nor tsftpd's own tool).
 */
export function pdbProblemText(path: string, why: string, cause?: unknown): string {
  switch (errnoCode(cause)) {
    case 'ENOENT':
      return `user database ${path} does not exist; create it with: tsftpd pw mkdb ${path}`;
    case 'EACCES':
      return `user database ${path}: permission denied (${why})`;
    default:
      return `user database ${path}: ${why}; rebuild it with: tsftpd pw mkdb ${path}`;
  }
}

/** The error a broken database gives: 421 and Pure-FTPd's text; `detail` (with the path) is for logs. */
function broken(path: string, why: string, cause?: unknown): FtpError {
  return new FtpError('ERR_UNAVAILABLE', PDB_BROKEN_MESSAGE, {
    detail: pdbProblemText(path, why, cause),
    cause,
  });
}

/** One opened version of the file; retired versions close when their last lookup ends. */
interface Generation {
  fh: FileHandle;
  size: number;
  id: string;
  refs: number;
  retired: boolean;
}

/** Identity of a file version: a rename gives a new inode, a rewrite in place a new mtime/size. */
function statId(s: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

/** Reads up to `len` bytes at `pos`; fewer only at end of file. */
async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** Indexed reader of a `.pdb`; one instance per file, shared by all sessions. */
export class PureDbReader {
  /** Path of the `.pdb` file. */
  readonly path: string;
  private readonly checkIntervalMs: number;
  private current: Generation | undefined;
  private refreshing: Promise<Generation> | undefined;
  private lastCheck = 0;

  /** `checkIntervalMs` (default 0 = stat before every lookup, as Pure-FTPd opens the file per login). */
  constructor(path: string, opts: { checkIntervalMs?: number } = {}) {
    this.path = path;
    this.checkIntervalMs = opts.checkIntervalMs ?? 0;
  }

  /** The value stored for `key`, or undefined; throws a 421 FtpError when the file is unusable. */
  async lookup(key: string | Uint8Array): Promise<Buffer | undefined> {
    const keyBytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    const gen = await this.acquire();
    try {
      return await this.find(gen, keyBytes);
    } catch (err) {
      if (err instanceof FtpError) throw err;
      throw broken(this.path, 'read error', err);
    } finally {
      this.release(gen);
    }
  }

  /** Closes the file; later lookups open it again. */
  async close(): Promise<void> {
    const gen = this.current;
    this.current = undefined;
    if (gen !== undefined) {
      gen.retired = true;
      if (gen.refs === 0) await gen.fh.close();
    }
  }

  private async acquire(): Promise<Generation> {
    let gen = this.current;
    if (gen === undefined || Date.now() - this.lastCheck >= this.checkIntervalMs) {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
      gen = await this.refreshing;
    }
    gen.refs++;
    return gen;
  }

  private release(gen: Generation): void {
    gen.refs--;
    if (gen.retired && gen.refs === 0) gen.fh.close().catch(() => undefined);
  }

  /** Re-opens the file when the path now names another version of it. */
  private async refresh(): Promise<Generation> {
    let id: string;
    try {
      id = statId(await stat(this.path));
    } catch (err) {
      throw broken(this.path, 'cannot stat', err);
    }
    this.lastCheck = Date.now();
    if (this.current !== undefined && this.current.id === id) return this.current;
    const gen = await this.openGeneration();
    const old = this.current;
    this.current = gen;
    if (old !== undefined) {
      old.retired = true;
      if (old.refs === 0) await old.fh.close().catch(() => undefined);
    }
    return gen;
  }

  private async openGeneration(): Promise<Generation> {
    let fh: FileHandle;
    try {
      fh = await open(this.path, 'r');
    } catch (err) {
      throw broken(this.path, 'cannot open', err);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size < HEADER_BYTES || st.size > MAX_FILE) {
        throw broken(this.path, `not a PDB2 file (size ${st.size})`);
      }
      const magic = await readAt(fh, 0, 4);
      if (!magic.equals(MAGIC)) throw broken(this.path, 'bad magic (old format?)');
      return { fh, size: st.size, id: statId(st), refs: 0, retired: false };
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err instanceof FtpError ? err : broken(this.path, 'read error', err);
    }
  }

  /** Upstream §3.4 lookup: table words, binary search in the bucket, then the records with equal hash. */
  private async find(gen: Generation, key: Uint8Array): Promise<Buffer | undefined> {
    const { fh, size } = gen;
    const hash = pureDbHash(key);
    const table = await readAt(fh, 4 + (hash & 0xff) * 4, 8);
    if (table.length < 8) throw broken(this.path, 'truncated table');
    const first = table.readUInt32BE(0);
    const end = table.readUInt32BE(4);
    if (first === 0) return undefined;
    if (end <= first || first < HEADER_BYTES || end > size) throw broken(this.path, 'corrupt table');
    const slots = Math.floor((end - first) / 8);
    // lower bound of `hash`, narrowed with single-word reads until it fits one window read
    let lo = 0;
    let hi = slots;
    while (hi - lo > WINDOW_SLOTS) {
      const mid = (lo + hi) >>> 1;
      const word = await readAt(fh, first + mid * 8, 4);
      if (word.length < 4) throw broken(this.path, 'truncated slot');
      if (word.readUInt32BE(0) < hash) lo = mid + 1;
      else hi = mid;
    }
    let window = await readAt(fh, first + lo * 8, Math.min(WINDOW_SLOTS, slots - lo) * 8);
    let windowStart = lo;
    // lower bound again, in memory
    let wlo = 0;
    let whi = window.length >>> 3;
    while (wlo < whi) {
      const mid = (wlo + whi) >>> 1;
      if (window.readUInt32BE(mid * 8) < hash) wlo = mid + 1;
      else whi = mid;
    }
    for (let i = lo + wlo; i < slots; i++) {
      if (i - windowStart >= window.length >>> 3) {
        // equal hashes continue past the window (only with many colliding keys)
        windowStart = i;
        window = await readAt(fh, first + i * 8, Math.min(WINDOW_SLOTS, slots - i) * 8);
        if (window.length < 8) throw broken(this.path, 'truncated slot');
      }
      const at = (i - windowStart) * 8;
      if (window.readUInt32BE(at) !== hash) return undefined;
      const value = await this.readRecord(gen, window.readUInt32BE(at + 4), key);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /** The value of the record at `offset` when its key equals `key`. */
  private async readRecord(gen: Generation, offset: number, key: Uint8Array): Promise<Buffer | undefined> {
    const { fh, size } = gen;
    if (offset < HEADER_BYTES || offset + 8 > size) throw broken(this.path, 'record offset out of range');
    const head = await readAt(fh, offset, Math.min(size - offset, 8 + key.length + VALUE_READ_AHEAD));
    const keyLen = head.readUInt32BE(0);
    if (keyLen !== key.length) return undefined;
    if (head.length < 8 + keyLen) throw broken(this.path, 'truncated record');
    if (Buffer.compare(head.subarray(4, 4 + keyLen), key) !== 0) return undefined;
    const valueLen = head.readUInt32BE(4 + keyLen);
    const valueAt = offset + 8 + keyLen;
    if (valueLen > MAX_VALUE || valueAt + valueLen > size)
      throw broken(this.path, 'record length out of range');
    if (8 + keyLen + valueLen <= head.length)
      return Buffer.from(head.subarray(8 + keyLen, 8 + keyLen + valueLen));
    const value = await readAt(fh, valueAt, valueLen);
    if (value.length < valueLen) throw broken(this.path, 'truncated record');
    return value;
  }
}

export { pureDbHash, writePureDb, type PureDbEntry } from './pdb-writer.js';
