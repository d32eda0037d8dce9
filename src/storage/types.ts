/**
 * The Storage interface (docs/architecture.md): every file operation of a session goes through it, with
 * virtual paths only. A virtual path is a normalised absolute POSIX path that never rises above `/`
 * (see jail.ts); the backend maps it to real storage and guarantees confinement.
 */
import type { Readable, Writable } from 'node:stream';
import type { Msg } from '../i18n/msg.js';

/** A normalised virtual path such as `/`, `/pub/file.txt`. */
export type VPath = string;

/** What listings and checks need to know about one directory entry. */
export interface Entry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mtime: Date;
  /** Permission and type bits as in `st_mode`. */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  dev: number;
  ino: number;
  /** For symlinks: the link text. */
  linkTarget?: string;
}

/** The order a scan returns entries in (upstream §2.4: LIST sorts, NLST/MLSD keep readdir order). */
export type ScanOrder = 'none' | 'name' | 'mtime' | 'size';

/** A scanned directory, in the requested order; entries are built on demand (big directories). */
export interface DirScan {
  readonly count: number;
  /** More entries existed than the scan's bound. */
  readonly truncated: boolean;
  name(i: number): string;
  entry(i: number): Entry;
}

/** An open file for download: `data` (small files), `read()`, or `stream()` — one of them, once. */
export interface ReadHandle {
  size: number;
  /** The file's owner (-s anti-warez). */
  uid?: number;
  /** The whole remainder from the offset, when the storage read it while opening (small files). */
  data?: Buffer;
  /** Positional read into `buf` (large files); resolves with the bytes read (0 at the end). */
  read?(buf: Buffer, length: number, position: number): Promise<number>;
  /** The open descriptor (large files), for sendfile(2); valid until close() or stream(). */
  fd?: number;
  /** A stream from the offset given to openRead(); it releases the file when done. */
  stream(): Readable;
  /** Releases the file (safe to call more than once). */
  close(): Promise<void>;
}

/** How an upload writes its target (upstream §2.3 STOR/APPE/STOU, §6.4 -0 and -r). */
export interface WriteOptions {
  /** Start writing at this offset (REST); clamped to the current size. */
  offset: number;
  /** APPE: add to the end of an existing file. */
  append: boolean;
  /** -0: the target changes only when the upload completes. */
  atomic: boolean;
  /** -r: never overwrite, land as name.1, name.2, ... */
  autoRename: boolean;
  /** STOU: the target is a directory; pick a fresh unique name in it. */
  unique: boolean;
  /** Anonymous: an existing non-empty target is refused. */
  refuseNonEmpty: boolean;
}

/**
 * Optional capability of an upload sink backed by a local file: a native writer (the upload pump,
 * data/pump.ts) may take its descriptor over instead of writing through the stream.
 */
export interface NativeFileTarget {
  /** Writes `first` through the sink, waits for every write, and lends the descriptor and next offset. */
  external(first: Buffer[]): Promise<{ fd: number; position: number; append: boolean }>;
  /** Accounts for bytes the native writer put at the current offset. */
  advance(bytes: number): void;
}

/** An upload in progress: data is written to `stream`; it becomes final only through commit(). */
export interface UploadSink {
  stream: Writable;
  /** Bytes accepted by the sink so far. */
  written(): number;
  /** Present when a native writer may take the file over (a local file). */
  native?: NativeFileTarget;
  /** Bytes this upload may still write before it exceeds a quota (undefined: no byte limit). */
  budget?: number;
  /** Virtual path the data will have after commit() (STOU: the generated name). */
  target: VPath;
  /** Size of the file this upload replaces (0 if none), for quota bookkeeping. */
  previousSize: number;
  /** Offset the new data starts at in the final file (APPE/REST keep the bytes before it). */
  startOffset: number;
  /** True when the upload adds a name (the target did not exist, STOU, or -r). */
  created: boolean;
  /**
   * True when data goes straight into the target (a new file, or an append), so a failed upload
   * keeps what was written for a later resume, and the quota must count it.
   */
  inPlace: boolean;
  /**
   * Makes the upload visible; returns the final virtual path (autorename may change it). Throws
   * FtpError ERR_QUOTA (and drops the upload, the previous content staying) when it no longer fits.
   */
  commit(): Promise<VPath>;
  /**
   * Gives up: temp files are removed, the previous content stays; `discard` also removes a partial
   * new file and cuts an in-place append back to its previous size, so nothing of it remains.
   */
  abort(opts?: { discard?: boolean }): Promise<void>;
}

/** Filesystem usage of the storage behind a path. */
export interface StatFs {
  total: number;
  free: number;
}

/** File operations of one session, confined to its root. */
export interface Storage {
  /** Entry for a path; a final symlink is followed when it stays inside the root. */
  stat(p: VPath): Promise<Entry>;
  /** Entry for a path without following a final symlink. */
  lstat(p: VPath): Promise<Entry>;
  /** Names in a directory, in readdir order, streamed (the directory is never loaded whole). */
  names(p: VPath): AsyncIterable<string>;
  /** Every entry of a directory (lstat'ed), at most `max`, in `order`; one background job. */
  scan(dir: VPath, max: number, order?: ScanOrder): Promise<DirScan>;
  /** lstat of each name in a directory, with bounded concurrency, in the order given. */
  statMany(dir: VPath, names: readonly string[]): Promise<(Entry | undefined)[]>;
  openRead(p: VPath, offset: number): Promise<ReadHandle>;
  openWrite(p: VPath, opts: WriteOptions): Promise<UploadSink>;
  mkdir(p: VPath): Promise<void>;
  rmdir(p: VPath): Promise<void>;
  unlink(p: VPath): Promise<void>;
  rename(from: VPath, to: VPath): Promise<void>;
  chmod(p: VPath, mode: number): Promise<void>;
  setTimes(p: VPath, mtime: Date): Promise<void>;
  statfs(p: VPath): Promise<StatFs>;
  /** Bytes the account's quota still allows (AVBL); undefined when no byte quota applies. */
  quotaRoom?(): Promise<number | undefined>;
  /** True when the account may create entries in this directory (write permission). */
  canWrite(dir: VPath): Promise<boolean>;
  /** Operator-facing real path of a virtual path (logs only, never replies). */
  describe(p: VPath): string;
  /** Quota status lines after the last change that counted (upstream §5.1); empty without quotas. */
  usageLines(): Msg[];
  /** Releases the storage when the session ends (uploads still running finish first). */
  close(): void;
}

/** What scanDir and lstatNames return (see native/dirscan.c). */
export interface RawScan {
  names: Buffer;
  ends: Uint32Array;
  /** Flat [index, target bytes, ...] for symlinks. */
  links: (number | Buffer)[];
  /** 8 fields per entry: mode, size, mtime ms, nlink, uid, gid, ino, dev (mode -1: missing). */
  stats: Float64Array;
  truncated: boolean;
}

/** A file opened by open() or read(). */
export interface OpenedFile {
  /** The descriptor, unless the content came inline (small downloads). */
  fd?: number;
  data?: Buffer;
  entry: Entry;
}

/**
 * The file operations of one account root, with virtual paths — what the local storage is built on
 * (ConfinedRoot in this process; the same calls as messages to a storage broker process when the
 * server runs as root). Every path is resolved below the root by the kernel; errors come out shaped
 * as fs.promises' (code, errno), except a path that would leave the root: FtpError ERR_JAIL.
 */
export interface RootFs {
  /** The real root, for logs only. */
  readonly realPath: string;
  /**
   * Where it lives in another process (a storage broker): `fn` runs if that process dies while
   * the root is open, so the session ends at once instead of at its next file operation.
   */
  onLost?(fn: (reason: string) => void): void;
  /** The entry at `p`; `follow` follows a final symlink (confined). */
  stat(p: VPath, follow: boolean): Promise<Entry>;
  /** open(2) with `flags` (O_EXCL creations get exactly `mode`); the descriptor is the caller's. */
  open(p: VPath, flags: number, mode: number, follow: boolean): Promise<{ fd: number; entry: Entry }>;
  /** A regular file for download from `offset`: inline when at most `maxInline` bytes, else its descriptor. */
  read(p: VPath, offset: number, maxInline: number): Promise<OpenedFile>;
  /** mkdir with exactly `mode`. */
  mkdir(p: VPath, mode: number): Promise<void>;
  rmdir(p: VPath): Promise<void>;
  /** unlink of the entry itself (EISDIR for a directory). */
  unlink(p: VPath): Promise<void>;
  /** rename of the entry itself (a final symlink is moved, not followed). */
  rename(from: VPath, to: VPath): Promise<void>;
  /** A hard link `to` of the entry `from` (EEXIST when `to` exists). */
  link(from: VPath, to: VPath): Promise<void>;
  /** chmod of what `p` resolves to; the root itself keeps u+rwx. */
  chmod(p: VPath, mode: number): Promise<void>;
  setTimes(p: VPath, mtime: Date): Promise<void>;
  statfs(p: VPath): Promise<{ total: number; free: number }>;
  /** True when the account has `mode` (W_OK/X_OK/R_OK bits) on `p`. */
  access(p: VPath, mode: number): Promise<boolean>;
  /** Copies the first `length` bytes of one open descriptor into another (resumed uploads). */
  copy(from: number, to: number, length: number): Promise<void>;
  /** Every entry of a directory, at most `max`, in `order` (0 none, 1 name, 2 mtime, 3 size, 4 names only). */
  scan(dir: VPath, max: number, order: number): Promise<RawScan>;
  /** lstat of each name of one directory, in order (missing ones have mode -1). */
  lstatNames(dir: VPath, names: readonly string[]): Promise<RawScan>;
  /** Stops using the root (operations in flight finish first). */
  close(): void;
}

/** What opening an account root needs to know. */
export interface RootRequest {
  /** Confined to the root (a jailed account) or not (`/`, --follow-symlinks-out). */
  confine: boolean;
  /** Accept the userland walk on kernels without openat2 (--weak-jail). */
  weak?: boolean;
  /** Who the operations act as: uid, gid, supplementary groups (when the server runs as root). */
  identity?: { uid: number; gid: number; groups: readonly number[] };
  /**
   * The parent's id of the session's connection (session workers): the parent grants a broker root
   * to a connection that authenticated, never to a path a worker names.
   */
  connection?: number;
}

/** Opens account roots: in this process, or through a storage broker of the account's identity. */
export type RootOpener = (realPath: string, request: RootRequest) => Promise<RootFs>;
