/**
 * Security commands: AUTH, PBSZ, PROT, CCC, ADAT (RFC 2228, RFC 4217, upstream §10).
 */
import { reply, type Reply } from '../session/reply.js';
import type { SessionContext } from '../session/context.js';
import { startControlTls } from '../tls/control.js';
import type { CommandSpec } from './spec.js';
import { Code } from '../session/codes.js';
import { tr } from '../i18n/msg.js';

async function auth(s: SessionContext, arg: string): Promise<Reply | void> {
  const store = s.server.tls;
  if (s.server.config.tls === 0 || store === undefined) {
    return reply(Code.UNKNOWN_COMMAND, tr`This security scheme is not implemented`);
  }
  if (s.tls !== undefined) return reply(Code.BAD_SEQUENCE, tr`Already using TLS`);
  if (s.loggedIn) return reply(Code.BAD_SEQUENCE, tr`AUTH must come before USER/PASS`);
  const mechanism = arg.trim().toUpperCase();
  // AUTH SSL is what old clients send; most servers accept it as TLS (RFC 4217 §4, Appendix).
  if (!['TLS', 'TLS-C', 'SSL', 'TLS-P'].includes(mechanism)) {
    return reply(Code.PARAMETER_NOT_IMPLEMENTED, tr`This security scheme is not implemented`);
  }
  await startControlTls(s, store, mechanism === 'TLS-P');
}

function prot(s: SessionContext, arg: string): Reply {
  const level = arg.trim().toUpperCase();
  if (level === '') return reply(Code.BAD_SEQUENCE, tr`Missing argument`);
  if (s.tls === undefined)
    return reply(Code.BAD_SEQUENCE, tr`PROT must be preceded by a successful PBSZ command`);
  if (level === 'C') {
    s.tls.prot = 'C';
    return reply(Code.OK, tr`Data protection level set to "clear"`);
  }
  if (level === 'P') {
    s.tls.prot = 'P';
    return reply(Code.OK, tr`Data protection level set to "private"`);
  }
  if (level === 'S' || level === 'E') {
    // Upstream §10: Pure-FTPd falls back to private for the levels it cannot do.
    s.tls.prot = 'P';
    return reply(Code.OK, tr`Protection level ${level} not understood. Fallback to "private"`);
  }
  // The reply tells the client that data connections are now clear (upstream §10): the level must say
  // the same, or a client that believes it opens a plain data connection the server wants as TLS.
  s.tls.prot = 'C';
  return reply(Code.POLICY_DENIED, tr`Fallback to [C]`);
}

/** AUTH PBSZ PROT CCC ADAT. */
export const tlsCommands: CommandSpec[] = [
  {
    verb: 'AUTH',
    login: false,
    arg: 'required',
    feat: { line: 'AUTH TLS', order: 10 },
    help: 'AUTH <sp> TLS',
    run: (s, a) => auth(s, a),
  },
  {
    verb: 'PBSZ',
    login: false,
    arg: 'optional',
    feat: { line: 'PBSZ', order: 11 },
    help: 'PBSZ <sp> 0',
    run: async (s) => {
      if (s.tls === undefined) return reply(Code.BAD_SEQUENCE, 'PBSZ=0');
      s.tls.pbsz = true;
      return reply(Code.OK, 'PBSZ=0');
    },
  },
  {
    verb: 'PROT',
    login: false,
    arg: 'optional',
    feat: { line: 'PROT', order: 12 },
    help: 'PROT <sp> C | P',
    run: async (s, a) => prot(s, a),
  },
  {
    verb: 'CCC',
    login: false,
    arg: 'optional',
    help: 'CCC',
    // Node.js cannot return a TLS socket to plaintext, and a clear control channel would expose the
    // commands again: tsftpd refuses CCC (documented in docs/tls.md).
    run: async () => reply(Code.POLICY_DENIED, tr`CCC not allowed at this point`),
  },
  {
    verb: 'ADAT',
    login: false,
    arg: 'optional',
    help: 'ADAT',
    run: async () => reply(Code.UNKNOWN_COMMAND, tr`This security scheme is not implemented`),
  },
];
