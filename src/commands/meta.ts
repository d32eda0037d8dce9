/**
 * The commands that describe the table itself — FEAT, HELP and SITE HELP (RFC 2389, RFC 959 HELP,
 * upstream §2.3) — generated from the rows, so what is advertised is what the gate runs. They get the
 * rows through a function (the table passes its own list) rather than importing the table.
 */
import { Code } from '../session/codes.js';
import { raw, reply, type Reply, type RawLine } from '../session/reply.js';
import type { SessionContext } from '../session/context.js';
import type { CommandSpec } from './spec.js';
import { tr } from '../i18n/msg.js';
import { featLangLine } from '../i18n/languages.js';
import { featHashLine, HASH_VERBS } from './hash.js';

/** Verbs that disappear with -N (upstream §2.3). */
export const PASSIVE_VERBS = new Set(['PASV', 'P@SW', 'EPSV', 'ESTA']);
/** Verbs of the TLS group, advertised only when TLS is on. */
const TLS_VERBS = new Set(['AUTH', 'PBSZ', 'PROT']);
/** Prefix of SITE subcommand rows. */
export const SITE_PREFIX = 'SITE ';

/** FEAT body lines in Pure-FTPd's order (upstream §2.3). */
export function featLines(rows: readonly CommandSpec[], s: SessionContext): string[] {
  const cfg = s.server.config;
  return (
    rows
      .filter((c) => c.feat !== undefined)
      .filter((c) => !(cfg.natMode && (c.verb === 'PASV' || c.verb === 'EPSV')))
      // -b: EPSV is not offered on IPv4 (old clients break on it; upstream §6.4).
      .filter((c) => !(cfg.brokenClients && !s.ipv6 && c.verb === 'EPSV'))
      .filter((c) => !(c.verb === 'ESTP' && (cfg.natMode || cfg.forcePassiveIp !== undefined)))
      // RFC 2389: only what works is advertised (Pure-FTPd lists AUTH TLS even with -Y 0, upstream §15.5).
      .filter((c) => !(TLS_VERBS.has(c.verb) && (cfg.tls === 0 || s.server.tls === undefined)))
      // --hash-limit 0 turns the digest commands off.
      .filter((c) => !(HASH_VERBS.has(c.verb) && cfg.hashLimitMb === 0))
      .sort((a, b) => a.feat!.order - b.feat!.order)
      .map((c) =>
        c.verb === 'LANG' ? featLangLine(s.language) : c.verb === 'HASH' ? featHashLine(s) : c.feat!.line,
      )
  );
}

/** Lines of 8 verbs, as Pure-FTPd lays HELP out. */
function columns(verbs: readonly string[]): RawLine[] {
  const rows: RawLine[] = [];
  for (let i = 0; i < verbs.length; i += 8) {
    rows.push(
      raw(
        verbs
          .slice(i, i + 8)
          .map((v) => v.padEnd(5))
          .join(' '),
      ),
    );
  }
  return rows;
}

/** HELP text generated from the rows (RFC 959 HELP, upstream §2.3). */
export function helpReply(rows: readonly CommandSpec[], topic: string): Reply {
  if (topic !== '') {
    const wanted = topic.toUpperCase();
    const spec = rows.find((c) => c.verb === wanted || c.aliases?.includes(wanted) === true);
    return spec
      ? reply(Code.HELP, tr`Syntax: ${spec.help}`)
      : reply(Code.NOT_IMPLEMENTED, tr`Unknown command ${wanted}`);
  }
  const verbs = rows
    .filter((c) => !c.verb.startsWith(SITE_PREFIX))
    .flatMap((c) => [c.verb, ...(c.aliases ?? [])])
    .sort();
  const site = rows
    .filter((c) => c.verb.startsWith(SITE_PREFIX))
    .map((c) => raw(c.verb.slice(SITE_PREFIX.length)));
  return reply(
    Code.HELP,
    tr`The following commands are recognized`,
    ...columns(verbs),
    tr`The following SITE commands are recognized`,
    ...site,
    `tsftpd - https://github.com/tsftpd`,
  );
}

/** FEAT, HELP and SITE HELP, over the rows `all()` returns. */
export function metaCommands(all: () => readonly CommandSpec[]): CommandSpec[] {
  return [
    {
      verb: 'FEAT',
      login: false,
      arg: 'optional',
      help: 'FEAT',
      feat: { line: 'UTF8', order: 0 },
      run: async (s) =>
        reply(Code.SYSTEM_STATUS, 'Extensions supported:', ...featLines(all(), s).map((l) => raw(l)), 'End.'),
    },
    {
      verb: 'HELP',
      login: false,
      arg: 'optional',
      help: 'HELP [<sp> command]',
      run: async (_s, a) => helpReply(all(), a.trim()),
    },
    {
      verb: 'SITE HELP',
      login: false,
      arg: 'optional',
      help: 'SITE HELP [<sp> command]',
      run: async (_s, a) => helpReply(all(), a.trim()),
    },
  ];
}
