/**
 * Byte-wise name ordering for listings (spec §2.4: sorted like C strcmp on UTF-8 names).
 * JavaScript's default sort compares UTF-16 code units, which equals UTF-8 byte order except for
 * characters at U+D800 and above; only then are names sorted through byte-valued keys. The native
 * sort keeps a 100,000-name directory well under the event-loop budget.
 */

const NEEDS_BYTE_KEYS = /[\uD800-\uFFFF]/;

/** Returns the names sorted in UTF-8 byte order (the input array is sorted in place). */
export function sortNames(names: string[]): string[] {
  if (!names.some((n) => NEEDS_BYTE_KEYS.test(n))) return names.sort();
  const keys = names.map((n) => Buffer.from(n, 'utf8').toString('latin1'));
  keys.sort();
  for (let i = 0; i < keys.length; i++) names[i] = Buffer.from(keys[i]!, 'latin1').toString('utf8');
  return names;
}
