/**
 * Output of the admin tools. Text is handled as "binary" strings (one char per byte, latin1) so
 * that what came from a passwd file is printed byte-for-byte, whatever its encoding; stdout is
 * written in batches with backpressure, so `pw list` of millions of accounts stays cheap.
 */

/** A JS (UTF-16) string, e.g. from argv, as the binary string of its UTF-8 bytes. */
export function toBinary(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** Writes one binary-string line (a `\n` is added) to stderr. */
export function errorLine(binaryText: string): void {
  process.stderr.write(Buffer.from(binaryText + '\n', 'latin1'));
}

/** Buffered binary-string writer over a stream (stdout by default). */
export class Output {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {}

  /** Queues text; writes when 64 KiB are queued. */
  async write(binaryText: string): Promise<void> {
    this.parts.push(binaryText);
    this.size += binaryText.length;
    if (this.size >= 65536) await this.flush();
  }

  /** Writes what is queued, waiting for the stream to drain when it asks to. */
  async flush(): Promise<void> {
    if (this.size === 0) return;
    const data = Buffer.from(this.parts.join(''), 'latin1');
    this.parts = [];
    this.size = 0;
    if (!this.stream.write(data)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.stream.off('drain', done);
          this.stream.off('error', done);
          this.stream.off('close', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('error', done);
        this.stream.on('close', done);
      });
    }
  }
}

/** strerror(3)-style text of a Node fs error, as the C tools print it after perror(). */
export function strerror(err: unknown): string {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  const known: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    EPERM: 'Operation not permitted',
    ENOTDIR: 'Not a directory',
    EISDIR: 'Is a directory',
    ELOOP: 'Too many levels of symbolic links',
    EEXIST: 'File exists',
    ENOSPC: 'No space left on device',
    EROFS: 'Read-only file system',
    EIO: 'Input/output error',
    EFBIG: 'File too large',
    EMFILE: 'Too many open files',
    ENAMETOOLONG: 'File name too long',
    EDQUOT: 'Disk quota exceeded',
  };
  if (code !== undefined && known[code] !== undefined) return known[code];
  return err instanceof Error ? err.message : String(err);
}
