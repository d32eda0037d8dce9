/**
 * Numbers read the way the C tools (pure-pw, pure-quotacheck) read them, so that odd input gives
 * the same result as with Pure-FTPd's tools.
 */

/** strtoul(3) then a cast to a `bits`-wide unsigned type: lenient, as the C tools parse numbers. */
export function cUnsigned(text: string, bits: 32 | 64): bigint {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d*)/.exec(text) ?? ['', '', ''];
  const max64 = (1n << 64n) - 1n;
  let v = m[2] === '' ? 0n : BigInt(m[2]);
  if (v > max64) v = max64; // strtoul saturates at ULONG_MAX
  if (m[1] === '-' && v !== max64) v = (1n << 64n) - v;
  v &= max64;
  return bits === 32 ? v & 0xffffffffn : v;
}
