/**
 * Directory scans for listings: the tsftpd_fs addon reads, lstat's and (optionally) sorts every
 * entry in one thread-pool job (native/dirscan.c, through the account's confined root), instead of
 * one promise and one thread-pool round trip per entry, and with no sort on the event loop. The
 * result stays compact (one names buffer, one Float64Array): entries become objects only when a
 * listing batch needs them, so a 100,000-entry directory costs a few MB, not a hundred. Names are
 * bytes; they become strings with name-bytes.ts, so a name that is not UTF-8 keeps its bytes.
 */
import { isAscii } from 'node:buffer';
import { entryOf } from './confined.js';
import { bytesToName } from './name-bytes.js';
import type { DirScan, Entry, RawScan, ScanOrder } from './types.js';

/** Scan order codes of native/dirscan.c. */
export const SCAN_ORDERS: Record<ScanOrder, number> = { none: 0, name: 1, mtime: 2, size: 3 };
/** Names only, in readdir order, nothing stat'ed (NLST, globs). */
export const NAMES_ONLY = 4;

const FIELDS = 8;

/** The addon's compact result behind the DirScan interface. */
export class NativeScan implements DirScan {
  readonly count: number;
  readonly truncated: boolean;
  private readonly links = new Map<number, string>();
  /** Every name is ASCII (the common case): names decode without a per-name check. */
  private readonly ascii: boolean;

  constructor(private readonly raw: RawScan) {
    this.count = raw.ends.length;
    this.truncated = raw.truncated;
    this.ascii = isAscii(raw.names);
    for (let i = 0; i + 1 < raw.links.length; i += 2) {
      this.links.set(raw.links[i] as number, bytesToName(raw.links[i + 1] as Buffer));
    }
  }

  name(i: number): string {
    const start = i === 0 ? 0 : this.raw.ends[i - 1];
    const end = this.raw.ends[i];
    return this.ascii
      ? this.raw.names.toString('latin1', start, end)
      : bytesToName(this.raw.names, start, end);
  }

  /** True when lstatNames found no such entry. */
  missing(i: number): boolean {
    return this.raw.stats[i * FIELDS] < 0;
  }

  entry(i: number): Entry {
    return entryOf(this.name(i), this.raw.stats, i * FIELDS, this.links.get(i));
  }
}
