/**
 * The shape of one command table entry (ARCHITECTURE §3, §9). Everything generic about a command
 * lives here as data, so the gate can enforce it in one place and FEAT/HELP are generated from it.
 */
import type { Access } from '../policy/names.js';
import type { Reply } from '../session/reply.js';
import type { Session } from '../session/session.js';
import type { VPath } from '../storage/types.js';

/** How the gate resolves a path argument before the handler runs. */
export interface PathRule {
  access: Access;
  /** Argument used when the client gave none (`~` for CWD); none = argument required. */
  default?: string;
  /** The 553 text names a directory (MKD). */
  dir?: boolean;
  /** Creates a name: leading/trailing blanks become `_` (spec §2.1, STOR APPE MKD RNTO). */
  creates?: boolean;
  /** Names a regular file: a trailing slash is refused, as open(2) refuses it (RETR STOR APPE DELE SIZE MDTM). */
  file?: boolean;
  /** Removes the name (DELE): a stale upload temp file may be named (the storage refuses live ones). */
  removes?: boolean;
}

/** One FTP command. */
export interface CommandSpec {
  verb: string;
  aliases?: string[];
  /** False: allowed before login (spec §2.1 list). */
  login: boolean;
  arg: 'required' | 'optional';
  /** Reply when a required argument is missing (default `501 Missing argument`). */
  missingArg?: Reply;
  /** The argument is a path resolved through the jail and the name policy. */
  path?: PathRule;
  /** Opens a data connection. */
  transfer?: boolean;
  /** Runs at once even while a transfer is in progress (ABOR, STAT, QUIT, NOOP). */
  duringTransfer?: boolean;
  /** Does not count as activity for the anti-idle rule (spec §2.6). */
  antiIdle?: boolean;
  /** FEAT line and its position in Pure-FTPd's order (RFC 2389). */
  feat?: { line: string; order: number };
  /** One-line syntax for HELP. */
  help: string;
  run(s: Session, arg: string, path: VPath): Promise<Reply | void>;
}
