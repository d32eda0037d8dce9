/**
 * Reads a new password as pure-pw does: "Password: " then "Enter it again: " on stdout, both lines
 * from stdin, up to 3 attempts when they differ (upstream §4.1). On a terminal nothing is echoed (raw
 * mode, restored on every path); from a pipe, `printf 'pw\npw\n' | tsftpd pw useradd ...` works.
 */
import { Output } from '../output.js';

/** pure-pw's MAX_PASSWD_CHANGE_TRIES. */
const ATTEMPTS = 3;
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const CTRL_U = '\u0015';

/** Lines of stdin, pulled one at a time; null at end of input. */
class StdinLines {
  private buffered = '';
  private ended = false;
  private waiter: (() => void) | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.buffered += chunk.toString('utf8');
    this.wake();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake();
  };

  constructor(private readonly stdin: NodeJS.ReadStream) {
    stdin.on('data', this.onData);
    stdin.on('end', this.onEnd);
    stdin.on('error', this.onEnd);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next line without its end of line (`\r\n`, `\n` or, on a terminal, `\r`), or null. */
  async next(tty: boolean): Promise<string | null> {
    for (;;) {
      if (tty) {
        const line = this.fromTerminal();
        if (line !== undefined) return line;
      } else {
        const nl = this.buffered.indexOf('\n');
        if (nl !== -1) {
          const line = this.buffered.slice(0, nl);
          this.buffered = this.buffered.slice(nl + 1);
          // pure-pw's strip_lf: cut at the first CR as well.
          const cr = line.indexOf('\r');
          return cr === -1 ? line : line.slice(0, cr);
        }
      }
      if (this.ended) {
        // fgets() returns a last unterminated line; an empty remainder is end of input.
        if (tty || this.buffered === '') return null;
        const line = this.buffered;
        this.buffered = '';
        return line;
      }
      this.stdin.resume();
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.stdin.pause();
    }
  }

  /** Consumes raw keystrokes up to Enter; null for Ctrl-C/Ctrl-D (abort), undefined if incomplete. */
  private fromTerminal(): string | null | undefined {
    let line = '';
    for (let i = 0; i < this.buffered.length; i++) {
      const c = this.buffered[i];
      if (c === '\r' || c === '\n') {
        this.buffered = this.buffered.slice(i + 1);
        return line;
      }
      if (c === CTRL_C || (c === CTRL_D && line === '')) {
        this.buffered = '';
        return null;
      }
      if (c === '\u007f' || c === '\b') line = [...line].slice(0, -1).join('');
      else if (c === CTRL_U) line = '';
      else if (c >= ' ') line += c;
    }
    return undefined;
  }

  /** Stops reading stdin so that it no longer keeps the process alive. */
  close(): void {
    this.stdin.off('data', this.onData);
    this.stdin.off('end', this.onEnd);
    this.stdin.off('error', this.onEnd);
    this.stdin.pause();
  }
}

/**
 * Asks for the password twice; returns it, or null when input ended or the two entries differed
 * three times (pure-pw then exits with "Error with entering password - aborting").
 */
export async function readNewPassword(
  stdin: NodeJS.ReadStream = process.stdin,
  out: Output = new Output(),
): Promise<string | null> {
  const tty = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  const lines = new StdinLines(stdin);
  if (tty) stdin.setRawMode(true);
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      await out.write('Password: ');
      await out.flush();
      const first = await lines.next(tty);
      if (first === null) return null;
      await out.write('\nEnter it again: ');
      await out.flush();
      const second = await lines.next(tty);
      if (second === null) return null;
      await out.write('\n');
      if (first === second) return first;
      await out.write("You didn't enter the same password\n");
    }
    return null;
  } finally {
    if (tty) stdin.setRawMode(false);
    lines.close();
    await out.flush();
  }
}
