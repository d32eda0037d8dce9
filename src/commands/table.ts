/**
 * The command table and the gate (docs/architecture.md; security-sensitive, see SECURITY.md).
 * Guarantees, for every command, in one place: unknown verbs and HTTP verbs are refused, login is
 * required except for the pre-login rows (and a handler that needs a login gets an account and a
 * storage by its type), -N hides passive commands, missing arguments are refused, path arguments are
 * resolved through the jail and checked against the name policy, the row's permission is authorized
 * (policy/permissions.ts), and every error becomes its one reply (errors.ts toReply; a session-ending
 * error closes the session after its reply). Internal details only reach the log.
 */
import { FtpError, toReply } from '../errors.js';
import { authorize } from '../policy/permissions.js';
import { Code } from '../session/codes.js';
import { reply, type Reply } from '../session/reply.js';
import type { ParsedCommand } from '../session/line-reader.js';
import type { Dispatcher, LoggedIn, SessionContext } from '../session/context.js';
import type { CommandSpec, PermissionRule } from './spec.js';
import { blanksToUnderscores, resolvePathRule } from './paths.js';
import { metaCommands, PASSIVE_VERBS, SITE_PREFIX } from './meta.js';
import { authCommands } from './auth.js';
import { infoCommands } from './info.js';
import { dirCommands } from './dirs.js';
import { fileCommands } from './files.js';
import { transferCommands } from './transfer.js';
import { listingCommands } from './listing.js';
import { siteCommands } from './site.js';
import { tlsCommands } from './tls.js';
import { hashCommands } from './hash.js';
import { isTrusted } from '../policy/login-rules.js';
import { tr } from '../i18n/msg.js';

/** Every command once, in registration order (HELP lists SITE subcommands in this order). */
const COMMANDS: readonly CommandSpec[] = [
  ...authCommands,
  ...infoCommands,
  ...dirCommands,
  ...fileCommands,
  ...transferCommands,
  ...listingCommands,
  ...siteCommands,
  ...tlsCommands,
  ...hashCommands,
  ...metaCommands(() => COMMANDS),
];

/** Every command, by verb and alias. */
const TABLE = new Map<string, CommandSpec>();
for (const spec of COMMANDS) {
  TABLE.set(spec.verb, spec);
  for (const alias of spec.aliases ?? []) TABLE.set(alias, spec);
}

/** Verbs that cross-protocol attacks send (upstream §2.1): the session is closed at once. */
const HTTP_VERBS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

/** True when the gate has checked the login: the account and its storage are there. */
function isLoggedIn(s: SessionContext): s is LoggedIn {
  return s.account !== undefined && s.storage !== undefined;
}

/** `SITE SUB rest` becomes the row `SITE SUB` with argument `rest`; or the reply refusing it. */
function siteCommand(s: SessionContext, cmd: ParsedCommand): ParsedCommand | Reply {
  const m = /^(\S*)\s?(.*)$/s.exec(cmd.arg)!;
  const sub = m[1].toUpperCase();
  if (sub === '') return reply(Code.UNKNOWN_COMMAND, tr`SITE: Missing argument`);
  const verb = SITE_PREFIX + sub;
  if (TABLE.has(verb)) return { verb, arg: m[2] };
  return s.loggedIn
    ? reply(Code.UNKNOWN_COMMAND, tr`SITE ${sub} is an unknown extension`)
    : reply(Code.NOT_LOGGED_IN, tr`You aren't logged in`);
}

/** The refusal of a row's permission, or undefined when the account has it. */
function permissionRefusal(s: LoggedIn, rule: PermissionRule, arg: string): Reply | undefined {
  const denial = authorize(
    rule.need,
    {
      anonymous: s.anonymous,
      uid: s.account.uid,
      trusted: isTrusted(s.account),
    },
    s.server.config,
  );
  if (denial === undefined) return undefined;
  const text = rule.denied[denial] ?? tr`Permission denied`;
  return reply(Code.FILE_UNAVAILABLE, typeof text === 'function' ? text(arg) : text);
}

/** The gate: applies every generic rule, then runs the handler. */
export async function executeCommand(s: SessionContext, parsed: ParsedCommand): Promise<Reply | void> {
  if (HTTP_VERBS.has(parsed.verb)) {
    s.server.bus.log(s.ref, 'INFO', `HTTP command: [${parsed.verb.toLowerCase()}]`);
    s.reply(Code.UNKNOWN_COMMAND, tr`HTTP command: [${parsed.verb.toLowerCase()}]`);
    s.close('HTTP command');
    return;
  }
  let cmd = parsed;
  if (cmd.verb === 'SITE') {
    const site = siteCommand(s, cmd);
    if ('code' in site) return site;
    cmd = site;
  }
  const spec = TABLE.get(cmd.verb);
  if (spec === undefined || (s.server.config.natMode && PASSIVE_VERBS.has(cmd.verb))) {
    return s.loggedIn
      ? reply(Code.UNKNOWN_COMMAND, tr`Unknown command`)
      : reply(Code.NOT_LOGGED_IN, tr`You aren't logged in`);
  }
  if (spec.login && !isLoggedIn(s)) return reply(Code.NOT_LOGGED_IN, tr`You aren't logged in`);
  // -Y 3 (upstream §10): data connections and MLST need PROT P.
  if (s.server.config.tls >= 3 && (spec.transfer === true || spec.verb === 'MLST') && s.tls?.prot !== 'P') {
    return reply(Code.PROT_REQUIRED, tr`Data connection cannot be opened with this PROT setting.`);
  }
  if (!s.noteActivity(spec.antiIdle !== true)) return;
  if (s.transfer !== undefined && !spec.duringTransfer) {
    // Only reachable through the queue once the transfer is over; kept as a safety net.
    return reply(Code.BAD_SEQUENCE, tr`A transfer is in progress`);
  }
  let arg = cmd.arg;
  if (arg === '' && spec.path?.default !== undefined) arg = spec.path.default;
  if (arg === '' && spec.arg === 'required') {
    return spec.missingArg ?? reply(Code.BAD_ARGUMENTS, tr`Missing argument`);
  }
  try {
    let path = '';
    if (spec.path !== undefined) {
      if (spec.path.creates === true) arg = blanksToUnderscores(arg);
      path = resolvePathRule(s, spec.path, arg);
    }
    if (!spec.login) return await spec.run(s, arg, path);
    if (!isLoggedIn(s)) return reply(Code.NOT_LOGGED_IN, tr`You aren't logged in`);
    const early = spec.precondition?.(s);
    if (early !== undefined) return early;
    if (spec.perm !== undefined) {
      const refused = permissionRefusal(s, spec.perm, arg);
      if (refused !== undefined) return refused;
    }
    return await spec.run(s, arg, path);
  } catch (err) {
    const r = toReply(err, (level, message) => s.server.bus.log(s.ref, level, message), cmd.verb);
    if (err instanceof FtpError && err.closesSession) {
      s.send(r);
      s.close(String(err.text));
      return;
    }
    return r;
  }
}

/** The table as the session's dispatcher (server.ts hands it to every Session). */
export const commandDispatcher: Dispatcher = {
  execute: executeCommand,
  duringTransfer: (verb) => TABLE.get(verb)?.duringTransfer === true,
};
