/**
 * Errors across a process boundary: an FtpError keeps its code and texts (the session answers the
 * same reply as if the error were local); anything else becomes a plain Error with its message —
 * never a stack or a path the other side could leak.
 */
import { FtpError, type ErrCode } from '../errors.js';
import type { WireError, WireText } from './protocol.js';
import { Msg, revive, type Text } from '../i18n/msg.js';

function wireText(text: Text): WireText {
  return text instanceof Msg ? text.toJSON() : text;
}

/** The wire form of an error. */
export function toWire(err: unknown): WireError {
  if (err instanceof FtpError) {
    return {
      ftp: {
        code: err.code,
        text: wireText(err.text),
        preamble: err.preamble.map(wireText),
        detail: err.detail,
      },
      message: err.message,
    };
  }
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? `${e.code}: ` : '';
  return { message: `${code}${typeof e.message === 'string' ? e.message : String(err)}` };
}

/** The error a wire form stands for (an FtpError when it was one). */
export function fromWire(w: WireError): Error {
  if (w.ftp !== undefined) {
    return new FtpError(w.ftp.code as ErrCode, revive(w.ftp.text), {
      preamble: Array.isArray(w.ftp.preamble) ? w.ftp.preamble.slice(0, 16).map(revive) : [],
      detail: w.ftp.detail,
    });
  }
  return new Error(w.message);
}
