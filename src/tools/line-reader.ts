/**
 * Streams a text file as byte lines, a chunk at a time, for the admin tools (`pw`, `mkdb`): files
 * of millions of accounts are never held in memory, and lines stay raw bytes so that whatever the
 * file's encoding, what is copied or indexed is byte-for-byte what was read (as pure-pw does).
 */
import { open } from 'node:fs/promises';

/** Read size: big enough that a 250 MB passwd file takes a few hundred reads. */
const CHUNK = 1 << 20;

/** A batch of complete lines from one read, with the file position reached after them. */
export interface LineBatch {
  /** Lines without their `\n` (a `\r` before it is kept: callers decide, as pure-pw's strip_lf). */
  lines: Buffer[];
  /** Bytes of the file consumed so far (for progress displays). */
  position: number;
  /** True when the last line of the file had no final `\n`. */
  unterminated: boolean;
}

/**
 * Yields the lines of `path` in batches (one per read): yielding per batch rather than per line
 * keeps the per-line cost to a plain loop. Rejects with the open/read error (code kept).
 */
export async function* readLineBatches(path: string): AsyncGenerator<LineBatch> {
  const fh = await open(path, 'r');
  // One read always in flight ahead of the lines being processed: disk and CPU work overlap.
  const readNext = (): Promise<Buffer> =>
    fh
      .read(Buffer.allocUnsafe(CHUNK), 0, CHUNK, null)
      .then(({ buffer, bytesRead }) => buffer.subarray(0, bytesRead));
  let ahead: Promise<Buffer> | undefined;
  try {
    let carry: Buffer | undefined;
    let position = 0;
    ahead = readNext();
    for (;;) {
      const chunk = await ahead;
      ahead = undefined;
      if (chunk.length === 0) break;
      ahead = readNext();
      position += chunk.length;
      const lines: Buffer[] = [];
      let start = 0;
      if (carry !== undefined) {
        // Only the line cut by the previous read is copied, never the whole chunk.
        const nl = chunk.indexOf(0x0a);
        if (nl === -1) {
          carry = Buffer.concat([carry, chunk]);
          continue;
        }
        lines.push(Buffer.concat([carry, chunk.subarray(0, nl)]));
        start = nl + 1;
      }
      for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
        lines.push(chunk.subarray(start, nl));
        start = nl + 1;
      }
      carry = start < chunk.length ? chunk.subarray(start) : undefined;
      if (lines.length > 0) yield { lines, position, unterminated: false };
    }
    if (carry !== undefined) yield { lines: [carry], position, unterminated: true };
  } finally {
    // An abandoned iteration must not close the handle under a pending read.
    await ahead?.catch(() => undefined);
    await fh.close();
  }
}

/** The line as pure-pw's strip_lf() leaves it: cut at the first `\r` (the `\n` is already gone). */
export function stripCarriageReturn(line: Buffer): Buffer {
  const cr = line.indexOf(0x0d);
  return cr === -1 ? line : line.subarray(0, cr);
}
