/**
 * Listing order, the one JavaScript copy of the rule native/dirscan.c applies to whole-directory
 * scans (upstream §2.4): names in strcmp order of their bytes (UTF-8, or the raw bytes of a name that
 * is not UTF-8), or -t newest first (whole seconds), or -S largest first; ties keep the input
 * (readdir) order, as Pure-FTPd's stable sort does; -r reverses the comparison. test/unit/order.test.ts
 * checks that this and the C comparators agree.
 */
import type { Entry } from './types.js';
import type { ListFlags } from './list-options.js';
import { nameToBytes } from './name-bytes.js';

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * strcmp() order of the names' bytes. Without surrogates, UTF-16 unit order equals UTF-8 byte order
 * except for units U+E000..U+FFFF against astral characters; names with surrogates (astral
 * characters, or raw bytes carried as U+DC80..U+DCFF) compare as bytes.
 */
export function compareNames(a: string, b: string): number {
  if (SURROGATE.test(a) || SURROGATE.test(b))
    return Math.sign(Buffer.compare(nameToBytes(a), nameToBytes(b)));
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Sorts names in listing order (in place) and returns them. */
export function sortNames(names: string[]): string[] {
  return names.sort(compareNames);
}

/** Seconds since the epoch: ls compares times in whole seconds. */
function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** The comparison LIST sorts entries with (negative: `a` comes first). */
export function entryComparator<T extends Pick<Entry, 'name' | 'mtime' | 'size'>>(
  flags: Pick<ListFlags, 'reverse' | 'sortTime' | 'sortSize'>,
): (a: T, b: T) => number {
  const sign = flags.reverse ? -1 : 1;
  if (flags.sortTime) return (a, b) => sign * Math.sign(epochSeconds(b.mtime) - epochSeconds(a.mtime));
  if (flags.sortSize) return (a, b) => sign * Math.sign(b.size - a.size);
  return (a, b) => sign * compareNames(a.name, b.name);
}

/** LIST order of entries (a new array; Array.prototype.sort is stable: ties keep the input order). */
export function sortEntries<T extends Pick<Entry, 'name' | 'mtime' | 'size'>>(
  entries: readonly T[],
  flags: Pick<ListFlags, 'reverse' | 'sortTime' | 'sortSize'>,
): T[] {
  return [...entries].sort(entryComparator(flags));
}
