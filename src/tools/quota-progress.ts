/**
 * The progress line of `tsftpd quotacheck`: on a terminal (stderr is a TTY) a run lasting more
 * than a second shows `quotacheck: <files> files, <size> so far (<seconds> s)` on one line,
 * rewritten at most 5 times a second and erased when the count ends, so that the terminal is left
 * as pure-quotacheck leaves it. Nothing is ever written when stderr is not a terminal (scripts,
 * cron, logs), nor for short runs.
 */

/** No line before the run has lasted this long. */
export const PROGRESS_AFTER_MS = 1000;
/** At most one rewrite per this many milliseconds. */
export const PROGRESS_EVERY_MS = 200;
const ERASE_LINE = '\r\x1b[K';
const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** Where the line goes: process.stderr, or a stand-in in tests. */
export interface ProgressSink {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** `1536` → `1.5 KiB`; below 1 KiB, bytes. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** The text of the line (no control characters). */
export function formatProgress(files: number, bytes: number, elapsedMs: number): string {
  return `quotacheck: ${files} files, ${formatSize(bytes)} so far (${Math.floor(elapsedMs / 1000)} s)`;
}

/** Shows the counts of a running walk on a terminal; silent anywhere else. */
export class QuotaProgress {
  private readonly enabled: boolean;
  private readonly started: number;
  private last = -Infinity;
  private shown = false;
  private done = false;

  constructor(
    private readonly sink: ProgressSink = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.enabled = sink.isTTY === true;
    this.started = now();
  }

  /** Reports the counts so far (called freely: the display throttles itself). */
  update(files: number, bytes: number): void {
    if (!this.enabled || this.done) return;
    const t = this.now();
    if (t - this.started < PROGRESS_AFTER_MS || t - this.last < PROGRESS_EVERY_MS) return;
    this.last = t;
    this.shown = true;
    this.sink.write(`${ERASE_LINE}${formatProgress(files, bytes, t - this.started)}`);
  }

  /** The count ended: erases the line if one was shown; later updates are ignored. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.shown) this.sink.write(ERASE_LINE);
  }
}
