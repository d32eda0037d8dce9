/**
 * The shape of one command table entry (docs/architecture.md). Everything generic about a command
 * lives here as data — login, arguments, path rule, permission, transfer flags, FEAT and HELP — so
 * the gate enforces it in one place and FEAT/HELP are generated from it. SITE subcommands are rows
 * too (`verb: 'SITE CHMOD'`).
 */
import type { Access } from '../policy/names.js';
import type { Permission, Denial } from '../policy/permissions.js';
import type { Reply } from '../session/reply.js';
import type { LoggedIn, SessionContext } from '../session/context.js';
import type { VPath } from '../storage/types.js';
import type { Text } from '../i18n/msg.js';

/** How the gate resolves a path argument before the handler runs. */
export interface PathRule {
  access: Access;
  /** Argument used when the client gave none (`~` for CWD); none = argument required. */
  default?: string;
  /** The 553 text names a directory (MKD). */
  dir?: boolean;
  /** Creates a name: leading/trailing blanks become `_` (upstream §2.1, STOR APPE MKD RNTO). */
  creates?: boolean;
  /** Names a regular file: a trailing slash is refused, as open(2) refuses it (RETR STOR APPE DELE SIZE MDTM). */
  file?: boolean;
  /** Removes the name (DELE): a stale upload temp file may be named (the storage refuses live ones). */
  removes?: boolean;
}

/** What the gate checks before a row's handler runs (policy/permissions.ts decides). */
export interface PermissionRule {
  need: Permission;
  /** The refusal text for each rule that can deny it (Pure-FTPd's texts differ per command). */
  denied: Partial<Record<Denial, Text | ((arg: string) => Text)>>;
}

/** What every row has, whatever its login rule. */
interface CommandBase {
  /** The verb, or `SITE SUB` for a SITE subcommand. */
  verb: string;
  aliases?: string[];
  arg: 'required' | 'optional';
  /** Reply when a required argument is missing (default `501 Missing argument`). */
  missingArg?: Reply;
  /** The argument is a path resolved through the jail and the name policy. */
  path?: PathRule;
  /** What the account must be allowed to do (anonymous rules, -K -G -R -M -i). */
  perm?: PermissionRule;
  /** Opens a data connection. */
  transfer?: boolean;
  /** Runs at once even while a transfer is in progress (ABOR, STAT, QUIT, NOOP). */
  duringTransfer?: boolean;
  /** Does not count as activity for the anti-idle rule (upstream §2.6). */
  antiIdle?: boolean;
  /** FEAT line and its position in Pure-FTPd's order (RFC 2389). */
  feat?: { line: string; order: number };
  /** One-line syntax for HELP. */
  help: string;
}

/** A command allowed before login (upstream §2.1 list). */
export interface PublicCommand extends CommandBase {
  login: false;
  run(s: SessionContext, arg: string, path: VPath): Promise<Reply | void>;
}

/** A command that needs a login: its handler gets the account and storage, guaranteed. */
export interface LoginCommand extends CommandBase {
  login: true;
  /** A sequence rule checked before the permission (RNTO needs RNFR first: 503). */
  precondition?(s: LoggedIn): Reply | undefined;
  run(s: LoggedIn, arg: string, path: VPath): Promise<Reply | void>;
}

/** One FTP command (or SITE subcommand). */
export type CommandSpec = PublicCommand | LoginCommand;
