/**
 * File names are bytes (upstream §2.1: Pure-FTPd stores the bytes a client sends, whatever the
 * encoding). Inside tsftpd they are strings, so two different byte names must never become one
 * string: bytes that are not valid UTF-8 are carried as the lone surrogates U+DC80..U+DCFF (one per
 * byte, as Python's "surrogateescape"), which valid UTF-8 never decodes to. nameToBytes() gives the
 * exact bytes back. Every boundary where names cross (the control line, replies, listings, the
 * storage layer) goes through these two functions; Buffer.from(string) would turn the escapes into
 * U+FFFD and merge `caf\xE9` with `caf\xE8`.
 */
import { isUtf8 } from 'node:buffer';

const LOW_ESCAPE = 0xdc00;
const ANY_SURROGATE = /[\uD800-\uDFFF]/;

/** Length of the valid UTF-8 sequence at `i`, or 0 when the byte there does not start one. */
function sequenceLength(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < end && b[i + k] >= lo && b[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // no UTF-16 surrogates
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** Decodes name bytes; each byte of an invalid UTF-8 sequence becomes U+DC00 + byte. */
export function bytesToName(buf: Buffer, start = 0, end = buf.length): string {
  const slice = buf.subarray(start, end);
  if (isUtf8(slice)) return slice.toString('utf8');
  let out = '';
  let run = 0;
  let i = 0;
  while (i < slice.length) {
    const n = sequenceLength(slice, i, slice.length);
    if (n > 0) {
      i += n;
      continue;
    }
    out += slice.toString('utf8', run, i) + String.fromCharCode(LOW_ESCAPE + slice[i]);
    i++;
    run = i;
  }
  return out + slice.toString('utf8', run, slice.length);
}

/** The exact bytes of a name made by bytesToName(); other lone surrogates become U+FFFD. */
export function nameToBytes(name: string): Buffer {
  if (!ANY_SURROGATE.test(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < name.length; i++) {
    const u = name.charCodeAt(i);
    if (u < 0xd800 || u > 0xdfff) continue;
    if (u <= 0xdbff && i + 1 < name.length) {
      const next = name.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair: UTF-8 as usual
        continue;
      }
    }
    parts.push(Buffer.from(name.slice(run, i), 'utf8'));
    parts.push(u >= 0xdc80 && u <= 0xdcff ? Buffer.of(u - LOW_ESCAPE) : Buffer.of(0xef, 0xbf, 0xbd));
    run = i + 1;
  }
  parts.push(Buffer.from(name.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

/** True when a name holds bytes that are not UTF-8 (shown as such in logs). */
export function hasRawBytes(name: string): boolean {
  return /[\uDC80-\uDCFF]/.test(name);
}
