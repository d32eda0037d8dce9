/**
 * Session and parameter commands: SYST NOOP FEAT OPTS HELP STAT TYPE MODE STRU ALLO, and the
 * greeting (RFC 959 §4.1.2-3, RFC 2389, RFC 2640, spec §2.3).
 */
import { raw, reply, type Reply } from '../session/reply.js';
import type { Session } from '../session/session.js';
import type { CommandSpec } from './spec.js';
import { featLines, helpReply } from './table.js';
import { statListing } from './listing.js';

/** The 220 greeting (spec §2.3 "Greeting"). */
export function greeting(s: Session): Reply {
  const cfg = s.server.config;
  const now = new Date();
  const hh = String(now.getHours()).padStart(2, '0');
  const mm = String(now.getMinutes()).padStart(2, '0');
  const lines = [
    '--------- Welcome to tsftpd ---------',
    `You are user number ${s.server.sessionCount()} of ${cfg.maxClients} allowed.`,
    `Local time is now ${hh}:${mm}. Server port: ${s.ref.localPort}.`,
  ];
  if (cfg.anonymousOnly) lines.push('Only anonymous FTP is allowed here');
  else if (cfg.noAnonymous) lines.push('This is a private system - No anonymous login');
  if (cfg.allowAnonymousFxp) lines.push('This server supports FXP transfers');
  // Spec §2.3 greeting: ratio announcement (-Q for everyone wins over -q for anonymous).
  const ratio = cfg.userRatio ?? cfg.anonymousRatio;
  if (ratio !== undefined) {
    lines.push(
      cfg.userRatio !== undefined
        ? 'RATIOS ARE ENABLED FOR EVERYONE:'
        : 'ANONYMOUS USERS ARE SUBJECT TO AN UL/DL RATIO:',
      `to download ${ratio.down} Mb, uploading ${ratio.up} Mb of goodies is mandatory.`,
    );
  }
  if (s.server.ipv6Available && !s.ipv6 && !cfg.ipv4Only) {
    lines.push('IPv6 connections are also welcome on this server.');
  }
  const idle = s.idleSeconds;
  lines.push(
    idle < 120
      ? `You will be disconnected after ${idle} seconds of inactivity.`
      : `You will be disconnected after ${Math.floor(idle / 60)} minutes of inactivity.`,
  );
  return reply(220, ...lines);
}

function type(s: Session, arg: string): Reply {
  const now = (): string => (s.type === 'A' ? 'TYPE is now ASCII' : 'TYPE is now 8-bit binary');
  const a = arg.trim().toUpperCase();
  if (a === '') return reply(501, 'Missing argument', 'A(scii) I(mage) L(ocal)', now());
  const letter = a.charAt(0);
  if (letter === 'A') {
    // "A N" and "A" are the same (RFC 959 §3.1.1.5: non-print is the default format).
    if (a.length > 1 && a.slice(1).trim() !== 'N')
      return reply(504, 'Only non-print ASCII is supported', now());
    s.type = 'A';
    return reply(200, now());
  }
  if (letter === 'I') {
    s.type = 'I';
    return reply(200, now());
  }
  if (letter === 'L') {
    const size = a.slice(1).trim();
    if (size !== '' && size !== '8')
      return reply(504, "Only 8-bit bytes are supported, we're not 10 years ago");
    s.type = 'I';
    return reply(200, now());
  }
  return reply(504, `Unknown TYPE: ${arg}`, now());
}

function opts(arg: string): Reply {
  const [name = '', ...rest] = arg.trim().split(/\s+/);
  const what = name.toUpperCase();
  if (what === 'MLST') {
    return reply(200, ' MLST OPTS type;size;sizd;modify;UNIX.mode;UNIX.uid;UNIX.gid;unique;');
  }
  if (what === 'UTF8' || what === 'UTF-8') {
    // RFC 2640 §3.2: names are UTF-8 all the time; ON is acknowledged (Pure-FTPd answers 504, spec §15.5).
    const v = (rest[0] ?? 'ON').toUpperCase();
    if (v === 'ON') return reply(200, 'OK, UTF-8 enabled');
    if (v === 'OFF') return reply(504, 'UTF-8 cannot be turned off');
    return reply(501, 'Syntax: OPTS UTF8 ON');
  }
  return reply(504, 'Unknown command');
}

function stat(s: Session, arg: string): Promise<Reply | void> | Reply {
  const t = s.transfer;
  if (t !== undefined) {
    const total = t.total !== undefined ? ` of ${t.total}` : '';
    return reply(
      213,
      `Status: ${t.direction === 'upload' ? 'receiving' : 'sending'} ${t.path}`,
      `${t.offset + t.bytes()}${total} bytes transferred`,
      'End of status',
    );
  }
  if (arg === '') return reply(211, 'https://github.com/tsftpd - tsftpd FTP server status: OK');
  return statListing(s, arg);
}

/** SYST NOOP FEAT OPTS HELP STAT TYPE MODE STRU ALLO. */
export const infoCommands: CommandSpec[] = [
  {
    verb: 'SYST',
    login: false,
    arg: 'optional',
    antiIdle: true,
    help: 'SYST',
    run: async () => reply(215, 'UNIX Type: L8'),
  },
  {
    verb: 'NOOP',
    login: false,
    arg: 'optional',
    antiIdle: true,
    duringTransfer: true,
    help: 'NOOP',
    run: async () => reply(200, 'Zzz...'),
  },
  {
    verb: 'FEAT',
    login: false,
    arg: 'optional',
    help: 'FEAT',
    feat: { line: 'UTF8', order: 0 },
    run: async (s) => reply(211, 'Extensions supported:', ...featLines(s).map((l) => raw(l)), 'End.'),
  },
  { verb: 'OPTS', login: false, arg: 'required', help: 'OPTS <sp> option', run: async (_s, a) => opts(a) },
  {
    verb: 'HELP',
    login: false,
    arg: 'optional',
    help: 'HELP [<sp> command]',
    run: async (_s, a) => helpReply(a.trim()),
  },
  {
    verb: 'STAT',
    // Not in the pre-login list (spec §2.1): Pure-FTPd answers 530 before login [obs].
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
      a.trim().toUpperCase() === 'S' ? reply(200, 'S OK') : reply(504, 'Please use S(tream) mode'),
  },
  {
    verb: 'STRU',
    login: false,
    arg: 'required',
    help: 'STRU <sp> F',
    run: async (_s, a) =>
      a.trim().toUpperCase() === 'F' ? reply(200, 'F OK') : reply(504, 'Only F(ile) is supported'),
  },
  {
    verb: 'ALLO',
    login: true,
    arg: 'required',
    missingArg: reply(501, "Can't find file size"),
    help: 'ALLO <sp> size',
    run: async (s, a) => {
      const size = Number(a.trim().split(/\s+/)[0]);
      if (!Number.isSafeInteger(size) || size < 0) return reply(501, "Can't find file size");
      const fs = await s.storage!.statfs(s.cwd).catch(() => undefined);
      if (fs !== undefined && size > fs.free) return reply(552, 'Disk full - please upload later');
      return reply(200, "A L'HUILE");
    },
  },
];
