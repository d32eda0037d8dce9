/**
 * Opening a file for download without a thread-pool round trip when the kernel has everything
 * cached (native/dirscan.c openFileNow), else in one thread-pool job (openFile): realpath, the
 * jail's confinement check, open(O_NOFOLLOW), fstat, and for small files the content itself. The
 * rules are exactly those of Jail.toRealFollow + open(O_NOFOLLOW) in local.ts, which remains the
 * path when the addon is missing. The raw descriptor is closed exactly once (guarded).
 */
import { close, createReadStream, read } from 'node:fs';
import { constants } from 'node:os';
import { Readable } from 'node:stream';
import { FtpError } from '../errors.js';
import { fsAddon } from './scan.js';
import type { ReadHandle } from './types.js';

/** Files up to this size are read in the same job as the open. */
export const INLINE_MAX = 128 * 1024;

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(constants.errno).map(([name, value]) => [value as number, name]),
);

/** A system error shaped like fs.promises' (code + errno), for the same reply mapping. */
function systemError(errno: number): Error {
  const code = ERRNO_NAMES.get(errno) ?? 'EIO';
  return Object.assign(new Error(code), { code, errno: -errno });
}

/**
 * Opens `lexicalPath` under canonical `root` for reading from `offset`; undefined when the addon is
 * not available. Throws FtpError for a path outside the root or not a regular file, else the errno.
 */
export async function openFast(
  root: string,
  lexicalPath: string,
  offset: number,
  chunk: number,
): Promise<ReadHandle | undefined> {
  const native = await fsAddon();
  if (native === undefined) return undefined;
  // A cached file opens on this thread without waiting (openat2 RESOLVE_CACHED, preadv2 RWF_NOWAIT);
  // anything else, errors included, goes to the pool job, which has the final word.
  const r =
    native.openFileNow(root, lexicalPath, offset, INLINE_MAX) ??
    (await native.openFile(root, lexicalPath, offset, INLINE_MAX));
  if (r.err === -1) {
    throw new FtpError('ERR_JAIL', 550, 'No such file or directory', {
      detail: `symlink leaves the root: ${lexicalPath}`,
    });
  }
  if (r.err === -2) throw new FtpError('ERR_NOT_FILE', 550, 'I can only retrieve regular files');
  if (r.err !== 0) throw systemError(r.err);
  const size = r.size ?? 0;
  if (r.data !== undefined) {
    const data = r.data;
    return {
      size,
      data,
      stream: () => Readable.from([data]),
      close: async () => undefined,
    };
  }
  const fd = r.fd!;
  let open = true;
  const release = (): Promise<void> =>
    new Promise((resolve) => {
      if (!open) return resolve();
      open = false;
      close(fd, () => resolve());
    });
  return {
    size,
    fd,
    read: (buf, length, position) =>
      new Promise((resolve, reject) => {
        if (!open) return reject(systemError(constants.errno.EBADF));
        read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n)));
      }),
    stream: () => {
      // The stream owns the descriptor from now on and closes it itself.
      open = false;
      return createReadStream('', { fd, start: offset, autoClose: true, highWaterMark: chunk });
    },
    close: release,
  };
}
