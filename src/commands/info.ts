/**
 * Session and parameter commands: SYST NOOP FEAT OPTS HELP STAT TYPE MODE STRU ALLO, and the
 * greeting (RFC 959 §4.1.2-3, RFC 2389, RFC 2640, upstream §2.3).
 */
import { reply, scrub, type Reply, type ReplyLine } from '../session/reply.js';
import type { LoggedIn, SessionContext } from '../session/context.js';
import type { CommandSpec } from './spec.js';
import { statListing } from './listing.js';
import { Code } from '../session/codes.js';
import { fortuneCookie } from './fortune.js';
import { anonymousOnlyOn } from '../policy/login-rules.js';
import { tr, type Msg } from '../i18n/msg.js';
import { findLanguage, languageOf } from '../i18n/languages.js';
import { optsHash } from './hash.js';

/** The 220 greeting (upstream §2.3 "Greeting"). */
export function greeting(s: SessionContext): Reply {
  const cfg = s.server.config;
  const now = new Date();
  const hh = String(now.getHours()).padStart(2, '0');
  const mm = String(now.getMinutes()).padStart(2, '0');
  // -F: a fortune cookie replaces the welcome block (welcome, user number, time, IPv6, idle).
  const cookie = cfg.fortunesFile !== undefined ? fortuneCookie(cfg.fortunesFile) : undefined;
  const lines: ReplyLine[] = cookie ?? [
    tr`--------- Welcome to tsftpd ---------`,
    tr`You are user number ${s.server.sessionCount()} of ${cfg.maxClients} allowed.`,
    tr`Local time is now ${hh}:${mm}. Server port: ${s.ref.localPort}.`,
  ];
  if (anonymousOnlyOn(cfg, s.ref.localIp)) lines.push(tr`Only anonymous FTP is allowed here`);
  else if (cfg.noAnonymous) lines.push(tr`This is a private system - No anonymous login`);
  if (cfg.allowAnonymousFxp) lines.push(tr`This server supports FXP transfers`);
  // Upstream §2.3 greeting: ratio announcement (-Q for everyone wins over -q for anonymous).
  const ratio = cfg.userRatio ?? cfg.anonymousRatio;
  if (ratio !== undefined) {
    lines.push(
      cfg.userRatio !== undefined
        ? tr`RATIOS ARE ENABLED FOR EVERYONE:`
        : tr`ANONYMOUS USERS ARE SUBJECT TO AN UL/DL RATIO:`,
      tr`to download ${ratio.down} Mb, uploading ${ratio.up} Mb of goodies is mandatory.`,
    );
  }
  if (cookie !== undefined) return reply(Code.READY, ...lines);
  if (s.server.ipv6Available && !s.ipv6 && !cfg.ipv4Only) {
    lines.push(tr`IPv6 connections are also welcome on this server.`);
  }
  const idle = s.idleSeconds;
  lines.push(
    idle < 120
      ? tr`You will be disconnected after ${idle} seconds of inactivity.`
      : tr`You will be disconnected after ${Math.floor(idle / 60)} minutes of inactivity.`,
  );
  return reply(Code.READY, ...lines);
}

function type(s: SessionContext, arg: string): Reply {
  const now = (): Msg => (s.type === 'A' ? tr`TYPE is now ASCII` : tr`TYPE is now 8-bit binary`);
  const a = arg.trim().toUpperCase();
  if (a === '') return reply(Code.BAD_ARGUMENTS, tr`Missing argument`, tr`A(scii) I(mage) L(ocal)`, now());
  const letter = a.charAt(0);
  if (letter === 'A') {
    // "A N" and "A" are the same (RFC 959 §3.1.1.5: non-print is the default format).
    if (a.length > 1 && a.slice(1).trim() !== 'N')
      return reply(Code.PARAMETER_NOT_IMPLEMENTED, tr`Only non-print ASCII is supported`, now());
    s.type = 'A';
    return reply(Code.OK, now());
  }
  if (letter === 'I') {
    s.type = 'I';
    return reply(Code.OK, now());
  }
  if (letter === 'L') {
    const size = a.slice(1).trim();
    if (size !== '' && size !== '8')
      return reply(
        Code.PARAMETER_NOT_IMPLEMENTED,
        tr`Only 8-bit bytes are supported, we're not 10 years ago`,
      );
    s.type = 'I';
    return reply(Code.OK, now());
  }
  return reply(Code.PARAMETER_NOT_IMPLEMENTED, tr`Unknown TYPE: ${arg}`, now());
}

function opts(s: SessionContext, arg: string): Reply {
  const [name = '', ...rest] = arg.trim().split(/\s+/);
  const what = name.toUpperCase();
  if (what === 'MLST') {
    return reply(Code.OK, ' MLST OPTS type;size;sizd;modify;UNIX.mode;UNIX.uid;UNIX.gid;unique;');
  }
  if (what === 'HASH') return optsHash(s, rest[0]);
  if (what === 'UTF8' || what === 'UTF-8') {
    // RFC 2640 §3.2: names are UTF-8 all the time; ON is acknowledged (Pure-FTPd answers 504, upstream §15.5).
    const v = (rest[0] ?? 'ON').toUpperCase();
    if (v === 'ON') return reply(Code.OK, tr`OK, UTF-8 enabled`);
    if (v === 'OFF') return reply(Code.PARAMETER_NOT_IMPLEMENTED, tr`UTF-8 cannot be turned off`);
    return reply(Code.BAD_ARGUMENTS, tr`Syntax: OPTS UTF8 ON`);
  }
  return reply(Code.PARAMETER_NOT_IMPLEMENTED, tr`Unknown command`);
}

/**
 * LANG (RFC 2640 §4.1): no argument is the server's language again; a tag this server has (or one
 * it falls back to: `de-AT` is German) switches this session's replies, the 200 already in it.
 */
function language(s: SessionContext, arg: string): Reply {
  const wanted = arg.trim();
  const next = wanted === '' ? languageOf(s.server.config) : findLanguage(wanted);
  if (next === undefined) {
    if (!/^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$/.test(wanted))
      return reply(Code.BAD_ARGUMENTS, tr`Syntax error in parameters or arguments`);
    return reply(Code.PARAMETER_NOT_IMPLEMENTED, tr`Language ${wanted} is not supported`);
  }
  s.language = next;
  return reply(Code.OK, tr`Responses changed to ${next.native}`);
}

function stat(s: LoggedIn, arg: string): Promise<Reply | void> | Reply {
  const t = s.transfer;
  if (t !== undefined) {
    const done = t.offset + t.bytes();
    return reply(
      Code.FILE_STATUS,
      t.direction === 'upload' ? tr`Status: receiving ${t.path}` : tr`Status: sending ${t.path}`,
      t.total !== undefined ? tr`${done} of ${t.total} bytes transferred` : tr`${done} bytes transferred`,
      tr`End of status`,
    );
  }
  if (arg === '')
    return reply(Code.SYSTEM_STATUS, tr`https://github.com/tsftpd - tsftpd FTP server status: OK`);
  return statListing(s, arg);
}

/** SYST NOOP OPTS STAT TYPE MODE STRU ALLO (FEAT and HELP: meta.ts). */
export const infoCommands: CommandSpec[] = [
  {
    verb: 'SYST',
    login: false,
    arg: 'optional',
    antiIdle: true,
    help: 'SYST',
    run: async () => reply(Code.SYSTEM_TYPE, 'UNIX Type: L8'),
  },
  {
    verb: 'NOOP',
    login: false,
    arg: 'optional',
    antiIdle: true,
    duringTransfer: true,
    help: 'NOOP',
    run: async () => reply(Code.OK, 'Zzz...'),
  },
  { verb: 'OPTS', login: false, arg: 'required', help: 'OPTS <sp> option', run: async (s, a) => opts(s, a) },
  {
    // draft-peterson-streamlined-ftp-command-extensions: the client's name, for the log.
    verb: 'CLNT',
    login: false,
    arg: 'required',
    feat: { line: 'CLNT', order: 24 },
    help: 'CLNT <sp> client-name',
    run: async (s, a) => {
      s.server.bus.log(s.ref, 'INFO', `Client: ${scrub(a.slice(0, 200))}`);
      return reply(Code.OK, tr`Noted.`);
    },
  },
  {
    verb: 'LANG',
    login: false,
    arg: 'optional',
    help: 'LANG [<sp> language-tag]',
    feat: { line: 'LANG', order: 1 },
    run: async (s, a) => language(s, a),
  },
  {
    verb: 'STAT',
    // Not in the pre-login list (upstream §2.1): Pure-FTPd answers 530 before login [obs].
    login: true,
    arg: 'optional',
    duringTransfer: true,
    help: 'STAT [<sp> path]',
    run: async (s, a) => stat(s, a),
  },
  {
    verb: 'TYPE',
    login: false,
    arg: 'optional',
    antiIdle: true,
    help: 'TYPE <sp> A | I | L 8',
    run: async (s, a) => type(s, a),
  },
  {
    verb: 'MODE',
    login: false,
    arg: 'required',
    antiIdle: true,
    help: 'MODE <sp> S',
    run: async (_s, a) =>
      a.trim().toUpperCase() === 'S'
        ? reply(Code.OK, 'S OK')
        : reply(Code.PARAMETER_NOT_IMPLEMENTED, tr`Please use S(tream) mode`),
  },
  {
    verb: 'STRU',
    login: false,
    arg: 'required',
    help: 'STRU <sp> F',
    run: async (_s, a) =>
      a.trim().toUpperCase() === 'F'
        ? reply(Code.OK, 'F OK')
        : reply(Code.PARAMETER_NOT_IMPLEMENTED, tr`Only F(ile) is supported`),
  },
  {
    verb: 'ALLO',
    login: true,
    arg: 'required',
    missingArg: reply(Code.BAD_ARGUMENTS, tr`Can't find file size`),
    help: 'ALLO <sp> size',
    run: async (s, a) => {
      const size = Number(a.trim().split(/\s+/)[0]);
      if (!Number.isSafeInteger(size) || size < 0) return reply(Code.BAD_ARGUMENTS, tr`Can't find file size`);
      const fs = await s.storage.statfs(s.cwd).catch(() => undefined);
      if (fs !== undefined && size > fs.free)
        return reply(Code.EXCEEDED_STORAGE, tr`Disk full - please upload later`);
      return reply(Code.OK, "A L'HUILE");
    },
  },
];
