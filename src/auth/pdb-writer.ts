/**
 * PureDB (PDB2) writer, byte-identical to `pure-pw mkdb` for the same entries (upstream §3.4): data in
 * insertion order, slots per bucket sorted by (hash, offset), one filler word per empty bucket.
 * Guarantees: the target is replaced atomically (`<pdb>.index` + `<pdb>.data`, then rename, as
 * pure-pw does), temp files are created 0600 without following symlinks and removed on failure;
 * memory is 8 bytes per key plus fixed 1 MiB buffers, so 1.5 million accounts stay cheap.
 */
import { constants } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';

/** File magic of the PDB2 format. */
export const PDB_MAGIC = 'PDB2';
/** Magic + 257 first-level words: where the slot area starts. */
export const HEADER_BYTES = 4 + 257 * 4;
const MAX_FILE = 0xffffffff;
const CHUNK = 1 << 20;
/** Within a bucket, sort keys pack (hash >>> 8) * 2^29 + position: exact in a double (< 2^53). */
const POSITION_SPACE = 2 ** 29;

/** One key/value pair; strings are stored as UTF-8. */
export type PureDbEntry = readonly [key: string | Uint8Array, value: string | Uint8Array];

/** The puredb hash: djb2 over the key from its last byte to its first, h = h*33 ^ b (mod 2^32). */
export function pureDbHash(key: Uint8Array, start = 0, end = key.length): number {
  let h = 5381;
  for (let i = end - 1; i >= start; i--) h = (Math.imul(h, 33) ^ key[i]) >>> 0;
  return h;
}

/** Appends to a file through one big buffer: no syscall per record. */
class BufferedWriter {
  readonly buffer = Buffer.allocUnsafe(CHUNK);
  used = 0;
  private position = 0;
  constructor(private readonly fh: FileHandle) {}

  /** Writes a buffer larger than the chunk straight through. */
  async writeLarge(data: Uint8Array): Promise<void> {
    await this.flush();
    for (let done = 0; done < data.length;) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }

  /** Writes out what the buffer holds. */
  async flush(): Promise<void> {
    let done = 0;
    while (done < this.used) {
      const { bytesWritten } = await this.fh.write(this.buffer, done, this.used - done, this.position + done);
      done += bytesWritten;
    }
    this.position += this.used;
    this.used = 0;
  }
}

/** Encodes a string or copies bytes at `at` of `buf`. */
function put(buf: Buffer, at: number, src: string | Uint8Array): void {
  if (typeof src === 'string') buf.write(src, at, 'utf8');
  else buf.set(src, at);
}

/** Streams the data area, remembering per record only its hash and relative offset. */
class DataArea {
  hashes = new Uint32Array(1024);
  offsets = new Uint32Array(1024);
  count = 0;
  size = 0;
  private readonly out: BufferedWriter;
  private readonly view: DataView;

  constructor(fh: FileHandle) {
    this.out = new BufferedWriter(fh);
    this.view = new DataView(this.out.buffer.buffer, this.out.buffer.byteOffset, this.out.buffer.length);
  }

  /** Adds one record; returns a promise only when the buffer had to be flushed (no await per record). */
  add(key: string | Uint8Array, value: string | Uint8Array): Promise<void> | undefined {
    const keyLen = typeof key === 'string' ? Buffer.byteLength(key, 'utf8') : key.length;
    const valueLen = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
    const recordLen = 8 + keyLen + valueLen;
    // Offsets are u32 and the index grows by 8 bytes per key: the whole file must stay < 4 GiB.
    if (HEADER_BYTES + 1024 + (this.count + 1) * 8 + this.size + recordLen > MAX_FILE) {
      throw new RangeError('puredb file would exceed 4 GiB');
    }
    if (this.count === this.hashes.length) {
      const grow = (a: Uint32Array): Uint32Array<ArrayBuffer> => {
        const b = new Uint32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.hashes = grow(this.hashes);
      this.offsets = grow(this.offsets);
    }
    const big = recordLen > CHUNK;
    const full = !big && this.out.used + recordLen > CHUNK;
    const buf = big ? Buffer.allocUnsafe(recordLen) : this.out.buffer;
    const write = (): Promise<void> | undefined => {
      const at = big ? 0 : this.out.used;
      const view = big ? new DataView(buf.buffer, buf.byteOffset, buf.length) : this.view;
      view.setUint32(at, keyLen);
      put(buf, at + 4, key);
      view.setUint32(at + 4 + keyLen, valueLen);
      put(buf, at + 8 + keyLen, value);
      this.hashes[this.count] = pureDbHash(buf, at + 4, at + 4 + keyLen);
      this.offsets[this.count] = this.size;
      this.count++;
      this.size += recordLen;
      if (big) return this.out.writeLarge(buf);
      this.out.used += recordLen;
      return undefined;
    };
    return full ? this.out.flush().then(write) : write();
  }

  /** Writes out the last partial buffer. */
  async finish(): Promise<void> {
    await this.out.flush();
  }
}

/** Streams the data area to `fh`; sync iterables are consumed without a microtask per record. */
async function writeData(
  fh: FileHandle,
  entries: Iterable<PureDbEntry> | AsyncIterable<PureDbEntry>,
): Promise<DataArea> {
  const data = new DataArea(fh);
  if (Symbol.iterator in entries) {
    for (const [key, value] of entries) {
      const pending = data.add(key, value);
      if (pending !== undefined) await pending;
    }
  } else {
    for await (const [key, value] of entries) await data.add(key, value);
  }
  await data.finish();
  return data;
}

/** Builds the index (magic, 257 table words, slot area) exactly as puredbw's writekeys(). */
function buildIndex(hashes: Uint32Array, offsets: Uint32Array, count: number): Buffer {
  const perBucket = new Uint32Array(256);
  for (let i = 0; i < count; i++) perBucket[hashes[i] & 0xff]++;
  let empty = 0;
  for (let b = 0; b < 256; b++) if (perBucket[b] === 0) empty++;
  const index = Buffer.allocUnsafe(HEADER_BYTES + count * 8 + empty * 4);
  const view = new DataView(index.buffer, index.byteOffset, index.length);
  const dataStart = index.length;
  index.write(PDB_MAGIC, 0, 'latin1');
  // Stable counting sort by bucket keeps insertion (= offset) order inside each bucket.
  const bucketFirst = new Uint32Array(257);
  for (let b = 0; b < 256; b++) bucketFirst[b + 1] = bucketFirst[b] + perBucket[b];
  const fill = bucketFirst.slice(0, 256);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[fill[hashes[i] & 0xff]++] = i;
  let slotAt = HEADER_BYTES;
  for (let b = 0; b < 256; b++) {
    view.setUint32(4 + b * 4, slotAt);
    const n = perBucket[b];
    if (n === 0) {
      view.setUint32(slotAt, b + 1);
      slotAt += 4;
      continue;
    }
    const keys = new Float64Array(n);
    const base = bucketFirst[b];
    for (let j = 0; j < n; j++) keys[j] = (hashes[order[base + j]] >>> 8) * POSITION_SPACE + j;
    keys.sort();
    for (let j = 0; j < n; j++) {
      const i = order[base + (keys[j] % POSITION_SPACE)];
      view.setUint32(slotAt, hashes[i]);
      view.setUint32(slotAt + 4, dataStart + offsets[i]);
      slotAt += 8;
    }
  }
  view.setUint32(4 + 256 * 4, slotAt);
  return index;
}

/** Creates a temp file 0600, refusing to follow a planted symlink. */
async function createTemp(path: string): Promise<FileHandle> {
  const flags = constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
  return open(path, flags, 0o600);
}

/** Writes a PDB2 file at `path` from the entries (in this order) and renames it into place. */
export async function writePureDb(
  path: string,
  entries: Iterable<PureDbEntry> | AsyncIterable<PureDbEntry>,
): Promise<{ count: number; size: number }> {
  const indexPath = `${path}.index`;
  const dataPath = `${path}.data`;
  let dataFh: FileHandle | undefined;
  let indexFh: FileHandle | undefined;
  try {
    dataFh = await createTemp(dataPath);
    const { hashes, offsets, count, size: dataSize } = await writeData(dataFh, entries);
    const index = buildIndex(hashes, offsets, count);
    indexFh = await createTemp(indexPath);
    const out = new BufferedWriter(indexFh);
    await out.writeLarge(index);
    // Append the data area after the index in big chunks (puredbw's mergefiles()).
    const chunk = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; pos < dataSize;) {
      const { bytesRead } = await dataFh.read(chunk, 0, Math.min(CHUNK, dataSize - pos), pos);
      if (bytesRead === 0) throw new Error('puredb data file shrank while writing');
      await out.writeLarge(chunk.subarray(0, bytesRead));
      pos += bytesRead;
    }
    await indexFh.datasync();
    await indexFh.close();
    indexFh = undefined;
    await dataFh.close();
    dataFh = undefined;
    await unlink(dataPath);
    await rename(indexPath, path);
    return { count, size: index.length + dataSize };
  } catch (err) {
    await indexFh?.close().catch(() => undefined);
    await dataFh?.close().catch(() => undefined);
    await unlink(indexPath).catch(() => undefined);
    await unlink(dataPath).catch(() => undefined);
    throw err;
  }
}
