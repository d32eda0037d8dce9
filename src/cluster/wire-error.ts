/**
 * Errors across a process boundary: an FtpError keeps its code and texts (the session answers the
 * same reply as if the error were local); anything else becomes a plain Error with its message —
 * never a stack or a path the other side could leak.
 */
import { FtpError, type ErrCode } from '../errors.js';
import type { WireError } from './protocol.js';

/** The wire form of an error. */
export function toWire(err: unknown): WireError {
  if (err instanceof FtpError) {
    return {
      ftp: { code: err.code, text: err.text, preamble: err.preamble, detail: err.detail },
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
    return new FtpError(w.ftp.code as ErrCode, w.ftp.text, {
      preamble: w.ftp.preamble,
      detail: w.ftp.detail,
    });
  }
  return new Error(w.message);
}
