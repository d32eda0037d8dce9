/**
 * FTP replies (RFC 959 §4.2). Pure-FTPd repeats the code on every line of a multi-line reply
 * (`230-...` / `230 ...`, upstream §2.1); only body lines of FEAT, HELP and MLST start with a space
 * and carry no code. Every text line is scrubbed of control characters so a file name can never
 * inject a fake reply line.
 */
import { Msg, renderText, type Catalog } from '../i18n/msg.js';

/** A reply line sent verbatim (it must start with a space: FEAT/HELP/MLST bodies, RFC 2389 §3.2). */
export interface RawLine {
  raw: string;
}

/** One reply line: text that gets the `NNN-` prefix (verbatim or translatable), or a raw body line. */
export type ReplyLine = string | Msg | RawLine;

/** A complete FTP reply. */
export interface Reply {
  code: number;
  lines: ReplyLine[];
}

/** Builds a reply; with no text, the line is empty (`200 `). */
export function reply(code: number, ...lines: ReplyLine[]): Reply {
  return { code, lines: lines.length > 0 ? lines : [''] };
}

/** A raw (uncoded) body line; a leading space is added when missing (RFC 959 §4.2). */
export function raw(text: string): RawLine {
  return { raw: text.startsWith(' ') ? text : ` ${text}` };
}

function isRaw(line: ReplyLine): line is RawLine {
  return typeof line === 'object' && !(line instanceof Msg);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/g;

/** Replaces control characters (CR and LF included) by `_`, as Pure-FTPd does for names. */
export function scrub(text: string): string {
  return text.replace(CONTROL, '_');
}

/** Serialises a reply to the bytes sent on the control channel (UTF-8, CRLF), in a catalog's language. */
export function formatReply(r: Reply, catalog?: Catalog): string {
  const last = r.lines.length - 1;
  let out = '';
  for (let i = 0; i <= last; i++) {
    const line = r.lines[i];
    if (isRaw(line) && i !== last) {
      out += scrub(line.raw) + '\r\n';
      continue;
    }
    const text = isRaw(line) ? line.raw.trimStart() : renderText(line, catalog);
    out += `${r.code}${i === last ? ' ' : '-'}${scrub(text)}\r\n`;
  }
  return out;
}
