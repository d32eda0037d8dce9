/**
 * Errors as values (docs/architecture.md): storage, auth and policy throw FtpError with a stable
 * code, whose one reply code comes from the error table below, and the text to send; toReply()
 * (the gate, transfers) turns it into a reply. Anything else that escapes a handler is an internal
 * error: the client gets a generic reply and only the log sees the detail.
 */

import { Code, type ReplyCode } from './session/codes.js';
import { reply, type Reply } from './session/reply.js';
import { tr, type Msg, type Text } from './i18n/msg.js';

/** How one error code is answered: exactly one reply code, a default text, and whether to hang up. */
interface ErrorKind {
  readonly reply: ReplyCode;
  readonly text: Msg;
  /** The session is closed after this reply (a 421 always is: RFC 959 §4.2). */
  readonly close?: true;
  /** A server-side fault: its detail is logged as an ERROR (else as a WARNING: a rule at work). */
  readonly fault?: true;
}

/**
 * THE error table: every error code and the one reply it becomes. Texts are defaults; a thrower
 * may give a more precise one (`Prohibited file name: x`), never another reply code.
 */
const KINDS = {
  /** A path names nothing (or something the account may not see). */
  ERR_NOT_FOUND: { reply: Code.FILE_UNAVAILABLE, text: tr`No such file or directory` },
  /** A path that must be a directory is not one. */
  ERR_NOT_DIR: { reply: Code.FILE_UNAVAILABLE, text: tr`Not a directory` },
  /** A file operation named a directory. */
  ERR_IS_DIR: { reply: Code.FILE_UNAVAILABLE, text: tr`Is a directory` },
  /** A download of something that is not a regular file. */
  ERR_NOT_FILE: { reply: Code.FILE_UNAVAILABLE, text: tr`I can only retrieve regular files` },
  /** The kernel (or the account's rights) refused. */
  ERR_PERMISSION: { reply: Code.FILE_UNAVAILABLE, text: tr`Permission denied` },
  /** The path would leave the account's root (shown as a missing file, the jail is not advertised). */
  ERR_JAIL: { reply: Code.FILE_UNAVAILABLE, text: tr`No such file or directory` },
  /** A policy refused the action (ratios). */
  ERR_REFUSED: { reply: Code.FILE_UNAVAILABLE, text: tr`Permission denied` },
  /** A name the name policy refuses (upstream §6.3, §12). */
  ERR_BAD_NAME: { reply: Code.NAME_NOT_ALLOWED, text: tr`Prohibited file name` },
  /** An upload cannot create its target (a directory, not a regular file, no free name). */
  ERR_CANT_CREATE: { reply: Code.NAME_NOT_ALLOWED, text: tr`Can't open that file` },
  /** Quota exceeded (upstream §5.1). */
  ERR_QUOTA: { reply: Code.EXCEEDED_STORAGE, text: tr`Quota exceeded` },
  /** A file could not be read or written during a transfer. */
  ERR_IO: { reply: Code.LOCAL_ERROR, text: tr`Input/output error`, fault: true },
  /** An argument that is not valid for the command (addresses, ports). */
  ERR_ARGUMENT: { reply: Code.BAD_ARGUMENTS, text: tr`Syntax error in parameters or arguments` },
  /** PORT/EPRT to a third host without FXP (Pure-FTPd answers 500, upstream §12). */
  ERR_BOUNCE: { reply: Code.UNKNOWN_COMMAND, text: tr`I won't open a connection to that address` },
  /** The data connection could not be opened. */
  ERR_NO_DATA_CONNECTION: { reply: Code.CANT_OPEN_DATA, text: tr`No data connection` },
  /** The data connection broke or timed out during the transfer. */
  ERR_DATA_CLOSED: { reply: Code.TRANSFER_ABORTED, text: tr`Data connection closed; transfer aborted` },
  /** The transfer was aborted (ABOR, QUIT, the control connection lost). */
  ERR_ABORTED: { reply: Code.TRANSFER_ABORTED, text: tr`Transfer aborted` },
  /** A download failed on the server's side for a reason no other code names. */
  ERR_SEND_FAILED: { reply: Code.TRANSFER_ABORTED, text: tr`Transfer aborted`, fault: true },
  /** The home directory cannot be used. */
  ERR_HOME: {
    reply: Code.SERVICE_UNAVAILABLE,
    text: tr`Home directory not available - aborting`,
    close: true,
    fault: true,
  },
  /** An authentication backend cannot answer (database down, broken .pdb). */
  ERR_UNAVAILABLE: {
    reply: Code.SERVICE_UNAVAILABLE,
    text: tr`Service not available`,
    close: true,
    fault: true,
  },
  /** Too many sessions of one account (-y, per-account max sessions). */
  ERR_SESSION_LIMIT: { reply: Code.SERVICE_UNAVAILABLE, text: tr`Too many sessions`, close: true },
  /** Anything unexpected: the detail goes to the log only. */
  ERR_INTERNAL: { reply: Code.LOCAL_ERROR, text: tr`Internal error, see the server log`, fault: true },
} as const satisfies Record<string, ErrorKind>;

/** Stable error codes; logs and tests key on these, never on texts. */
export type ErrCode = keyof typeof KINDS;

/** An error that knows which FTP reply it becomes. `text` never contains OS error text or real paths. */
export class FtpError extends Error {
  readonly code: ErrCode;
  /** The reply text (translated per session; `message` is its English form). */
  readonly text: Text;
  /** Extra reply lines sent before `text` (multi-line replies such as the ratio refusal). */
  readonly preamble: readonly Text[];
  /** Operator-only detail (may contain real paths); goes to the log, never to the client. */
  readonly detail?: string;

  constructor(
    code: ErrCode,
    text?: Text,
    opts: { preamble?: readonly Text[]; detail?: string; cause?: unknown } = {},
  ) {
    const t = text ?? KINDS[code].text;
    super(String(t), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FtpError';
    this.code = code;
    this.text = t;
    this.preamble = opts.preamble ?? [];
    this.detail = opts.detail;
  }

  /** The reply code of this error (from the table). */
  get reply(): ReplyCode {
    return KINDS[this.code].reply;
  }

  /** True when the session ends after this reply. */
  get closesSession(): boolean {
    return (KINDS[this.code] as ErrorKind).close === true;
  }

  /** True for a server-side fault (its detail is an ERROR in the log). */
  get isFault(): boolean {
    return (KINDS[this.code] as ErrorKind).fault === true;
  }
}

/** Where toReply() writes what only the operator may see. */
export type ErrorLog = (level: 'WARNING' | 'ERROR', message: string) => void;

/**
 * THE error-to-reply function (the gate, the transfer): an FtpError becomes its table reply, its
 * detail logged (an ERROR for a fault, else a WARNING); anything else is logged in full with the
 * context and answered with a generic 451, so OS texts and real paths never reach the client.
 */
export function toReply(err: unknown, log: ErrorLog, context: string): Reply {
  if (err instanceof FtpError) {
    if (err.detail !== undefined) log(err.isFault ? 'ERROR' : 'WARNING', err.detail);
    return reply(err.reply, ...err.preamble, err.text);
  }
  log('ERROR', `${context} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return reply(KINDS.ERR_INTERNAL.reply, KINDS.ERR_INTERNAL.text);
}

/** The errno-style code of a Node.js system error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * The strerror-like text Pure-FTPd appends to failure replies (`550 Can't open x: No such file or
 * directory`). Only a fixed table of generic texts is ever sent, never Node's message (it holds paths).
 */
export function errnoText(err: unknown): Text {
  if (err instanceof FtpError) return err.text;
  switch (errnoCode(err)) {
    case 'ENOENT':
      return tr`No such file or directory`;
    case 'EEXIST':
      return tr`File exists`;
    case 'ENOTDIR':
      return tr`Not a directory`;
    case 'EISDIR':
      return tr`Is a directory`;
    case 'ENOTEMPTY':
      return tr`Directory not empty`;
    case 'EACCES':
      return tr`Permission denied`;
    case 'EPERM':
      return tr`Operation not permitted`;
    case 'ENOSPC':
      return tr`No space left on device`;
    case 'EDQUOT':
      return tr`Disk quota exceeded`;
    case 'ENAMETOOLONG':
      return tr`File name too long`;
    case 'ELOOP':
      return tr`Too many levels of symbolic links`;
    case 'EXDEV':
      return tr`Invalid cross-device link`;
    case 'EROFS':
      return tr`Read-only file system`;
    case 'EBUSY':
      return tr`Device or resource busy`;
    case 'EINVAL':
      return tr`Invalid argument`;
    case 'EMFILE':
    case 'ENFILE':
      return tr`Too many open files`;
    default:
      return tr`Input/output error`;
  }
}
