/**
 * `tsftpd statsdecode FILE|-` (pure-statsdecode): copies a stats-format transfer log (`-O stats:`)
 * with each line's leading Unix time turned into the local date `YYYY/MM/DD HH:MM:SS`, byte for
 * byte as pure-statsdecode does: the leading digits and the one character after them are replaced
 * by the date and a space, the rest of the line is copied unchanged. Streams: any file size.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

const USAGE = 'Usage: tsftpd statsdecode [stats log file] [-]\n';
/** Most digits of a timestamp kept (pure-statsdecode's buffer). */
const MAX_DIGITS = 41;

const pad = (n: number): string => String(n).padStart(2, '0');

/** `YYYY/MM/DD HH:MM:SS ` for a Unix time in seconds, local time. */
export function statsDate(seconds: number): string {
  const t = new Date(seconds * 1000);
  if (Number.isNaN(t.getTime())) return '1970/01/01 00:00:00 ';
  return (
    `${t.getFullYear()}/${pad(t.getMonth() + 1)}/${pad(t.getDate())} ` +
    `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())} `
  );
}

/** The decoder as a state machine over bytes, so lines may be split anywhere between chunks. */
export class StatsDecoder {
  /** Digits of the current line's timestamp; undefined once past it. */
  private digits: string | undefined = '';

  /** Decodes one chunk; returns the output bytes. */
  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    // Bytes after the timestamp are copied in runs: [runStart, i) is pending.
    let runStart = this.digits === undefined ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.digits !== undefined) {
        if (c >= 0x30 && c <= 0x39) {
          if (this.digits.length < MAX_DIGITS) this.digits += String.fromCharCode(c);
        } else {
          // strtoul of the digits read (none: 0); the character that ended them is not copied.
          out.push(Buffer.from(statsDate(this.digits === '' ? 0 : Number(this.digits))));
          this.digits = undefined;
          runStart = i + 1;
        }
      }
      if (c === 0x0a) {
        if (runStart !== -1 && runStart <= i) out.push(chunk.subarray(runStart, i + 1));
        runStart = -1;
        this.digits = '';
      }
    }
    if (runStart !== -1 && runStart < chunk.length) out.push(chunk.subarray(runStart));
    return Buffer.concat(out);
  }
}

/** Decodes `input` to `output`. */
export async function decodeStream(input: Readable, output: NodeJS.WritableStream): Promise<void> {
  const decoder = new StatsDecoder();
  for await (const chunk of input as AsyncIterable<Buffer>) {
    const data = decoder.push(chunk);
    if (data.length > 0 && !output.write(data)) {
      await new Promise<void>((resolve) => output.once('drain', resolve));
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length !== 1) {
    process.stdout.write(USAGE);
    return 1;
  }
  const file = argv[0];
  let input: Readable;
  if (file === '-') input = process.stdin;
  else {
    input = createReadStream(file);
    try {
      await new Promise<void>((resolve, reject) => {
        input.once('open', () => resolve());
        input.once('error', reject);
      });
    } catch (err) {
      process.stderr.write(`tsftpd statsdecode: cannot open ${file}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  await decodeStream(input, process.stdout);
  return 0;
}
