/**
 * `pw mkdb`: builds the PDB2 file the server reads (upstream §3.4) from `pureftpd.passwd`, byte-identical
 * to `pure-pw mkdb` (writePureDb). The passwd file is streamed (one read buffer, lines handed over as
 * raw bytes), so 1.5 million accounts cost the writer's 8 bytes per key and no copy of the text; on a
 * terminal a percentage is shown on stderr, refreshed at most 10 times a second.
 */
import { open } from 'node:fs/promises';
import { writePureDb, type PureDbEntry } from '../../auth/pdb-writer.js';
import { readLineBatches, stripCarriageReturn } from '../line-reader.js';
import { errorLine, strerror, toBinary } from '../output.js';

/** Minimum time between two progress updates (at most 10 a second). */
const PROGRESS_INTERVAL_MS = 100;
/** Smaller passwd files are indexed without any progress display. */
const PROGRESS_MIN_BYTES = 4 << 20;

/** A percentage line on stderr when it is a terminal; silent otherwise. */
class Progress {
  private last = 0;
  private shown = false;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {
    // Only worth a display when the file spans several reads.
    this.enabled = process.stderr.isTTY === true && total > PROGRESS_MIN_BYTES;
  }

  /** Reports `done` bytes out of the total, if the last report is old enough. */
  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < PROGRESS_INTERVAL_MS) return;
    this.last = now;
    this.shown = true;
    process.stderr.write(`\r${this.label}: ${Math.min(100, Math.floor((done * 100) / this.total))}%`);
  }

  /** All lines read: writePureDb now sorts and writes the index (no percentage for that part). */
  readingDone(): void {
    if (this.shown) process.stderr.write(`\r${this.label}: 100% read, writing the index...`);
  }

  /** Ends the line, if a percentage was ever printed (small files print nothing at all). */
  finish(ok: boolean): void {
    if (this.shown) process.stderr.write(ok ? `\r${this.label}: done${' '.repeat(30)}\n` : '\n');
  }
}

const COLON = 0x3a;
const HASH = 0x23;

/**
 * The entries pure-pw indexes: for each line (cut at CR/LF), not a `#` comment, holding a `:` with
 * something after it, key = text before the first `:`, value = the rest (upstream §3.4).
 */
async function* passwdEntries(file: string, progress: Progress): AsyncGenerator<PureDbEntry> {
  for await (const batch of readLineBatches(file)) {
    for (const raw of batch.lines) {
      const line = stripCarriageReturn(raw);
      if (line.length === 0 || line[0] === HASH) continue;
      const colon = line.indexOf(COLON);
      if (colon === -1 || colon === line.length - 1) continue;
      yield [line.subarray(0, colon), line.subarray(colon + 1)];
    }
    progress.update(batch.position);
  }
  progress.readingDone();
}

/**
 * Rebuilds `pdbFile` from `passwdFile`. Exit status as pure-pw: 0, 2 when the passwd file cannot
 * be opened, 255 when the database cannot be written.
 */
export async function makeDatabase(pdbFile: string, passwdFile: string): Promise<number> {
  let size: number;
  try {
    // Opened first, as pure-pw does: an unreadable passwd file is status 2, not a database error.
    const fh = await open(passwdFile, 'r');
    size = (await fh.stat()).size;
    await fh.close();
  } catch (err) {
    errorLine(`Unable to open the passwd file: ${strerror(err)}`);
    return 2;
  }
  const progress = new Progress(toBinary(`Building ${pdbFile}`), size);
  try {
    await writePureDb(pdbFile, passwdEntries(passwdFile, progress));
  } catch (err) {
    progress.finish(false);
    errorLine(toBinary(`Unable to create the database: ${strerror(err)}`));
    return 255;
  }
  progress.finish(true);
  return 0;
}
