/**
 * Errors as values (ARCHITECTURE §3.5): storage, auth and policy throw FtpError with a stable code,
 * the reply number and the text to send; the gate turns it into a reply. Anything else that escapes
 * a handler is an internal error: the client gets a generic reply and only the log sees the detail.
 */

/** Stable error codes; logs and tests key on these, never on texts. */
export type ErrCode =
  | 'ERR_NOT_FOUND'
  | 'ERR_EXISTS'
  | 'ERR_NOT_DIR'
  | 'ERR_IS_DIR'
  | 'ERR_NOT_FILE'
  | 'ERR_NOT_EMPTY'
  | 'ERR_PERMISSION'
  | 'ERR_JAIL'
  | 'ERR_BAD_NAME'
  | 'ERR_QUOTA'
  | 'ERR_DISK_FULL'
  | 'ERR_IO'
  | 'ERR_ABORTED'
  | 'ERR_DATA_CONNECTION'
  | 'ERR_SYNTAX'
  | 'ERR_TOO_LARGE'
  | 'ERR_POLICY'
  | 'ERR_AUTH'
  | 'ERR_INTERNAL';

/** An error that knows which FTP reply it becomes. `text` never contains OS error text or real paths. */
export class FtpError extends Error {
  readonly code: ErrCode;
  readonly reply: number;
  readonly text: string;
  /** Extra reply lines sent before `text` (multi-line replies such as the ratio refusal). */
  readonly preamble: readonly string[];
  /** Operator-only detail (may contain real paths); goes to the log, never to the client. */
  readonly detail?: string;

  constructor(
    code: ErrCode,
    reply: number,
    text: string,
    opts: { preamble?: readonly string[]; detail?: string; cause?: unknown } = {},
  ) {
    super(text, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FtpError';
    this.code = code;
    this.reply = reply;
    this.text = text;
    this.preamble = opts.preamble ?? [];
    this.detail = opts.detail;
  }
}

/** The errno-style code of a Node.js system error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * The strerror-like text Pure-FTPd appends to failure replies (`550 Can't open x: No such file or
 * directory`). Only a fixed table of generic texts is ever sent, never Node's message (it holds paths).
 */
export function errnoText(err: unknown): string {
  if (err instanceof FtpError) return err.text;
  switch (errnoCode(err)) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'EEXIST':
      return 'File exists';
    case 'ENOTDIR':
      return 'Not a directory';
    case 'EISDIR':
      return 'Is a directory';
    case 'ENOTEMPTY':
      return 'Directory not empty';
    case 'EACCES':
      return 'Permission denied';
    case 'EPERM':
      return 'Operation not permitted';
    case 'ENOSPC':
      return 'No space left on device';
    case 'EDQUOT':
      return 'Disk quota exceeded';
    case 'ENAMETOOLONG':
      return 'File name too long';
    case 'ELOOP':
      return 'Too many levels of symbolic links';
    case 'EXDEV':
      return 'Invalid cross-device link';
    case 'EROFS':
      return 'Read-only file system';
    case 'EBUSY':
      return 'Device or resource busy';
    case 'EINVAL':
      return 'Invalid argument';
    case 'EMFILE':
    case 'ENFILE':
      return 'Too many open files';
    default:
      return 'Input/output error';
  }
}
