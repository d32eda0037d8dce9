/**
 * A parsed file kept in memory and read again only when stat() shows a new version (device, inode,
 * size, mtime, ctime), so that `useradd`, `passwd` or an edit take effect without reading the file
 * at every lookup. Guarantees: reads are asynchronous; stat() runs at most once per check interval;
 * concurrent callers share one stat/read, and a caller arriving during a reload waits for it
 * instead of seeing the previous (possibly empty) value.
 */
import { readFile, stat } from 'node:fs/promises';
import { errnoCode } from '../errors.js';

/** How a CachedFile reads its file and how often it looks at it. */
export interface CachedFileOptions<T> {
  /** The value while the file does not exist (ENOENT, ENOTDIR). */
  missing: T;
  /**
   * Without it, other errors (EACCES, EIO...) reject get(). With it, they are reported here once per
   * attempt and get() keeps answering the last good value (`missing` before the first).
   */
  onReadError?: (err: unknown) => void;
  /** `latin1` keeps every byte as one char, for tools that print names byte-for-byte. */
  encoding?: 'utf8' | 'latin1';
  /** Least time between two stat() calls, in ms; 0 looks at every get(). */
  checkIntervalMs?: number;
}

/** One file, parsed by `parse`, refreshed when it changes. */
export class CachedFile<T> {
  private value: T | undefined;
  private signature = '';
  /** The last load: shared by every caller until the next check is due. */
  private current: Promise<T> | undefined;
  private loading = false;
  private checkedAt = -Infinity;
  private readonly encoding: 'utf8' | 'latin1';
  private readonly checkIntervalMs: number;
  private readonly missing: T;
  private readonly onReadError: ((err: unknown) => void) | undefined;

  constructor(
    readonly path: string,
    private readonly parse: (text: string) => T,
    options: CachedFileOptions<T>,
  ) {
    this.missing = options.missing;
    this.onReadError = options.onReadError;
    this.encoding = options.encoding ?? 'utf8';
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
  }

  /** The current content; `force` looks at the file even if the interval has not passed. */
  get(force = false): Promise<T> {
    const due = force || Date.now() - this.checkedAt >= this.checkIntervalMs;
    if (this.current !== undefined && (this.loading || !due)) return this.current;
    this.checkedAt = Date.now();
    this.loading = true;
    const load = this.refresh();
    const done = (): void => {
      this.loading = false;
    };
    load.then(done, done);
    this.current = load;
    return load;
  }

  private async refresh(): Promise<T> {
    try {
      const s = await stat(this.path);
      const signature = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
      if (this.value !== undefined && signature === this.signature) return this.value;
      this.value = this.parse(await readFile(this.path, this.encoding));
      this.signature = signature;
      return this.value;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        this.value = undefined;
        this.signature = '';
        return this.missing;
      }
      if (this.onReadError === undefined) throw err;
      this.onReadError(err);
      return this.value ?? this.missing;
    }
  }
}
