/**
 * The command table and the gate (ARCHITECTURE §3.3; security-sensitive, see SECURITY.md).
 * Guarantees, for every command, in one place: unknown verbs and HTTP verbs are refused, login is
 * required except for the pre-login list, -N hides passive commands, missing arguments are refused,
 * path arguments are resolved through the jail and checked against the name policy before a handler
 * sees them, and every error becomes a precise reply (internal details only reach the log).
 */
import { FtpError } from '../errors.js';
import { checkName } from '../policy/names.js';
import { resolveVirtual } from '../storage/jail.js';
import { raw, reply, type Reply } from '../session/reply.js';
import type { ParsedCommand } from '../session/line-reader.js';
import type { Session } from '../session/session.js';
import type { CommandSpec, PathRule } from './spec.js';
import { authCommands } from './auth.js';
import { infoCommands } from './info.js';
import { dirCommands } from './dirs.js';
import { fileCommands } from './files.js';
import { transferCommands } from './transfer.js';
import { listingCommands } from './listing.js';
import { siteCommands } from './site.js';
import { tlsCommands } from './tls.js';

/** Every command, by verb and alias. */
const TABLE = new Map<string, CommandSpec>();
/** Every command once, in registration order (for HELP). */
const COMMANDS: readonly CommandSpec[] = [
  ...authCommands,
  ...infoCommands,
  ...dirCommands,
  ...fileCommands,
  ...transferCommands,
  ...listingCommands,
  ...siteCommands,
  ...tlsCommands,
];
for (const spec of COMMANDS) {
  TABLE.set(spec.verb, spec);
  for (const alias of spec.aliases ?? []) TABLE.set(alias, spec);
}

/** Verbs that cross-protocol attacks send (spec §2.1): the session is closed at once. */
const HTTP_VERBS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
/** Verbs that disappear with -N (spec §2.3). */
const PASSIVE_VERBS = new Set(['PASV', 'P@SW', 'EPSV', 'ESTA']);
const DURING_TRANSFER = new Set(['ABOR', 'STAT', 'QUIT', 'NOOP']);
/** Verbs of the TLS group, advertised only when TLS is on. */
const TLS_VERBS = new Set(['AUTH', 'PBSZ', 'PROT']);

/** True for the verbs handled at once while a transfer runs. */
export function isDuringTransferVerb(verb: string): boolean {
  return DURING_TRANSFER.has(verb);
}

/** FEAT body lines in Pure-FTPd's order (spec §2.3). */
export function featLines(s: Session): string[] {
  const cfg = s.server.config;
  return (
    COMMANDS.filter((c) => c.feat !== undefined)
      .filter((c) => !(cfg.natMode && (c.verb === 'PASV' || c.verb === 'EPSV')))
      .filter((c) => !(c.verb === 'ESTP' && (cfg.natMode || cfg.forcePassiveIp !== undefined)))
      // RFC 2389: only what works is advertised (Pure-FTPd lists AUTH TLS even with -Y 0, spec §15.5).
      .filter((c) => !(TLS_VERBS.has(c.verb) && (cfg.tls === 0 || s.server.tls === undefined)))
      .sort((a, b) => a.feat!.order - b.feat!.order)
      .map((c) => c.feat!.line)
  );
}

/** The reply for an error thrown by a handler. */
function errorReply(s: Session, cmd: ParsedCommand, err: unknown): Reply {
  if (err instanceof FtpError) {
    if (err.detail !== undefined) s.server.bus.log(s.ref, 'WARNING', `${cmd.verb}: ${err.detail}`);
    return reply(err.reply, ...err.preamble, err.text);
  }
  s.server.bus.log(s.ref, 'ERROR', `${cmd.verb} failed: ${err instanceof Error ? err.stack : String(err)}`);
  return reply(451, 'Internal error, see the server log');
}

/** The gate: applies every generic rule, then runs the handler. */
export async function executeCommand(s: Session, cmd: ParsedCommand): Promise<Reply | void> {
  if (HTTP_VERBS.has(cmd.verb)) {
    s.server.bus.log(s.ref, 'INFO', `HTTP command: [${cmd.verb.toLowerCase()}]`);
    s.reply(500, `HTTP command: [${cmd.verb.toLowerCase()}]`);
    s.close('HTTP command');
    return;
  }
  const spec = TABLE.get(cmd.verb);
  if (spec === undefined || (s.server.config.natMode && PASSIVE_VERBS.has(cmd.verb))) {
    return s.loggedIn ? reply(500, 'Unknown command') : reply(530, "You aren't logged in");
  }
  if (spec.login && !s.loggedIn) return reply(530, "You aren't logged in");
  // -Y 3 (spec §10): data connections and MLST need PROT P.
  if (s.server.config.tls >= 3 && (spec.transfer === true || spec.verb === 'MLST') && s.tls?.prot !== 'P') {
    return reply(521, 'Data connection cannot be opened with this PROT setting.');
  }
  if (!s.noteActivity(spec.antiIdle !== true)) return;
  if (s.transfer !== undefined && !spec.duringTransfer) {
    // Only reachable through the queue once the transfer is over; kept as a safety net.
    return reply(503, 'A transfer is in progress');
  }
  let arg = cmd.arg;
  if (arg === '' && spec.path?.default !== undefined) arg = spec.path.default;
  if (arg === '' && spec.arg === 'required') return spec.missingArg ?? reply(501, 'Missing argument');
  try {
    let path = '';
    if (spec.path !== undefined) {
      if (spec.path.creates === true) arg = blanksToUnderscores(arg);
      path = resolvePathRule(s, spec.path, arg);
    }
    return await spec.run(s, arg, path);
  } catch (err) {
    return errorReply(s, cmd, err);
  }
}

/** Resolves a command's path argument as its rule says; throws the FtpError the gate replies with. */
function resolvePathRule(s: Session, rule: PathRule, arg: string): string {
  let path: string;
  try {
    path = resolveVirtual(s.cwd, arg, s.home);
  } catch (err) {
    // MKD/RMD name the refusal as a directory name (spec §2.3: `553 Prohibited directory name`).
    if (rule.dir === true && err instanceof FtpError && err.code === 'ERR_BAD_NAME') {
      throw new FtpError('ERR_BAD_NAME', 553, 'Prohibited directory name');
    }
    throw err;
  }
  if (rule.file === true && path !== '/' && arg.endsWith('/')) {
    // POSIX: only a directory takes a trailing slash, so `RETR f/` or `STOR new/` must not reach
    // `f` or create `new` (Pure-FTPd gets ENOTDIR/EISDIR from open(2) and replies 550/553).
    throw rule.creates === true
      ? new FtpError('ERR_IS_DIR', 553, "Can't open that file: Is a directory")
      : new FtpError('ERR_NOT_DIR', 550, `${arg}: Not a directory`);
  }
  checkName(path, rule.access, namePolicy(s), arg, rule.dir, rule.removes);
  return path;
}

/**
 * Resolves a path that is only part of an argument (MFMT, SITE CHMOD, LIST patterns) through the
 * same jail and name policy as the gate, so handlers with compound arguments are held to the same rules.
 */
export function resolvePathArg(s: Session, arg: string, access: 'read' | 'write'): string {
  const p = resolveVirtual(s.cwd, arg, s.home);
  checkName(p, access, namePolicy(s), arg);
  return p;
}

/**
 * Leading and trailing ASCII spaces of a new name become `_` (spec §2.1), so names stay visible.
 * Only U+0020: other blanks (no-break, ideographic spaces) are part of the name, as in Pure-FTPd;
 * control characters never get here (the line reader made them `_`).
 */
function blanksToUnderscores(arg: string): string {
  return arg.replace(/^ +| +$/g, (m) => '_'.repeat(m.length));
}

/** The name-policy inputs of a session. */
export function namePolicy(s: Session): Parameters<typeof checkName>[2] {
  const c = s.server.config;
  return {
    anonymous: s.anonymous,
    allowDotFiles: c.allowDotFiles,
    prohibitDotFilesWrite: c.prohibitDotFilesWrite,
    prohibitDotFilesRead: c.prohibitDotFilesRead,
    quota: s.quota !== undefined,
  };
}

/** HELP text generated from the table (RFC 959 HELP, spec §2.3). */
export function helpReply(topic: string): Reply {
  if (topic !== '') {
    const spec = TABLE.get(topic.toUpperCase());
    return spec ? reply(214, `Syntax: ${spec.help}`) : reply(502, `Unknown command ${topic.toUpperCase()}`);
  }
  const verbs = COMMANDS.flatMap((c) => [c.verb, ...(c.aliases ?? [])]).sort();
  const rows: ReturnType<typeof raw>[] = [];
  for (let i = 0; i < verbs.length; i += 8)
    rows.push(
      raw(
        verbs
          .slice(i, i + 8)
          .map((v) => v.padEnd(5))
          .join(' '),
      ),
    );
  return reply(
    214,
    'The following commands are recognized',
    ...rows,
    'The following SITE commands are recognized',
    raw('CHMOD'),
    raw('IDLE'),
    raw('TIME'),
    raw('UTIME'),
    raw('HELP'),
    'tsftpd - https://github.com/tsftpd',
  );
}
