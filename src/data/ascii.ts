/**
 * TYPE A conversion (RFC 959 §3.1.1.1, upstream §2.5): downloads get a CR before every LF, uploads
 * lose every CR byte — exactly Pure-FTPd's rule, so files round-trip the same way with both servers.
 */
import { Transform, type TransformCallback } from 'node:stream';

const LF = 0x0a;
const CR = 0x0d;

/** LF -> CRLF for downloads. */
export function toNetworkAscii(): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      let count = 0;
      for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) count++;
      if (count === 0) return done(null, chunk);
      const out = Buffer.allocUnsafe(chunk.length + count);
      let o = 0;
      let start = 0;
      for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
        o += chunk.copy(out, o, start, i);
        out[o++] = CR;
        out[o++] = LF;
        start = i + 1;
      }
      chunk.copy(out, o, start);
      done(null, out);
    },
  });
}

/** Drops every CR for uploads. */
export function fromNetworkAscii(): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      if (chunk.indexOf(CR) === -1) return done(null, chunk);
      const out = Buffer.allocUnsafe(chunk.length);
      let o = 0;
      let start = 0;
      for (let i = chunk.indexOf(CR); i !== -1; i = chunk.indexOf(CR, i + 1)) {
        o += chunk.copy(out, o, start, i);
        start = i + 1;
      }
      o += chunk.copy(out, o, start);
      done(null, out.subarray(0, o));
    },
  });
}
