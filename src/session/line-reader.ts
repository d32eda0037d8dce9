/**
 * Control-channel line framing (upstream §2.1, RFC 959 §4.1.3, RFC 854 for Telnet).
 * Guarantees: a line never exceeds `maxLength` bytes in memory (a longer one is reported as an
 * overflow and the rest of it discarded up to the next LF); Telnet IAC sequences are removed, `IAC IAC` stays one
 * 0xFF byte; CRLF and bare LF both end a line; the CR before LF is dropped and every other control
 * byte becomes `_`; several lines in one packet (pipelining) come out in order; bytes that are not
 * UTF-8 survive as name-bytes.ts escapes, so a Latin-1 file name keeps its exact bytes.
 */

import { bytesToName } from '../storage/name-bytes.js';

const IAC = 0xff;
const WILL = 0xfb;
const DONT = 0xfe;
const LF = 0x0a;
const CR = 0x0d;
const UNDERSCORE = 0x5f;

/** A framed control line, or the news that a line was too long. */
export type FramedLine = { kind: 'line'; text: string } | { kind: 'overflow' };

/** Incremental line framer for one control connection. */
export class LineReader {
  private readonly buffer: Buffer;
  private length = 0;
  private overflowing = false;
  /** Telnet state: 0 none, 1 after IAC, 2 after IAC WILL/WONT/DO/DONT. */
  private telnet = 0;
  private pendingCr = false;
  private reported = false;

  /** @param maxLength hard bound of one line in bytes (Pure-FTPd: PATH_MAX + 16 = 4112). */
  constructor(private readonly maxLength: number) {
    this.buffer = Buffer.allocUnsafe(maxLength);
  }

  /** Feeds bytes; returns the complete lines they finish, in order. */
  push(chunk: Buffer): FramedLine[] {
    const out: FramedLine[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.telnet === 1) {
        this.telnet = b >= WILL && b <= DONT ? 2 : 0;
        if (b === IAC) this.data(IAC, out); // IAC IAC is one 0xFF data byte
        continue;
      }
      if (this.telnet === 2) {
        this.telnet = 0;
        continue;
      }
      if (b === IAC) {
        this.telnet = 1;
        continue;
      }
      if (b === LF) {
        this.pendingCr = false;
        const line = this.finish();
        if (line !== undefined) out.push(line);
        continue;
      }
      if (b === CR) {
        // A CR ends the line only before LF; anywhere else it becomes `_` (before the next byte).
        if (this.pendingCr) {
          this.pendingCr = false;
          this.data(UNDERSCORE, out);
        }
        this.pendingCr = true;
        continue;
      }
      this.data(b < 0x20 || b === 0x7f ? UNDERSCORE : b, out);
    }
    return out;
  }

  /**
   * One data byte of the line: a pending CR goes first (as `_`), then the byte. Every path that adds
   * a byte comes here, so an overflow is always reported, at once (a client streaming an endless
   * line is cut off without waiting for its LF).
   */
  private data(b: number, out: FramedLine[]): void {
    if (this.pendingCr) {
      this.pendingCr = false;
      this.append(UNDERSCORE);
    }
    this.append(b);
    if (this.overflowing && !this.reported) {
      this.reported = true;
      out.push({ kind: 'overflow' });
    }
  }

  /** Bytes held for the line in progress (for tests and accounting). */
  get pending(): number {
    return this.length;
  }

  private append(b: number): void {
    if (this.length >= this.maxLength) {
      this.overflowing = true;
      return;
    }
    this.buffer[this.length++] = b;
  }

  private finish(): FramedLine | undefined {
    const overflow = this.overflowing;
    const text = overflow ? '' : bytesToName(this.buffer, 0, this.length);
    this.length = 0;
    this.overflowing = false;
    this.reported = false;
    return overflow ? undefined : { kind: 'line', text };
  }
}

/** A parsed command: upper-case verb and the argument after the single separating space. */
export interface ParsedCommand {
  verb: string;
  arg: string;
}

const VERB = /^([A-Za-z0-9@]+)(?: (.*))?$/s;

/**
 * Splits a line into verb and argument (upstream §2.1: the verb is a run of `[A-Za-z0-9@]`, the
 * argument keeps trailing spaces). Returns undefined for a line that has no such verb.
 */
export function parseCommand(line: string): ParsedCommand | undefined {
  const m = VERB.exec(line);
  if (m === null) return undefined;
  return { verb: m[1].toUpperCase(), arg: m[2] ?? '' };
}
