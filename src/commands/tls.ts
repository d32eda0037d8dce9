/**
 * Security commands: AUTH, PBSZ, PROT, CCC, ADAT (RFC 2228, RFC 4217, spec §10).
 */
import { reply, type Reply } from '../session/reply.js';
import type { Session } from '../session/session.js';
import { startControlTls } from '../tls/control.js';
import type { CommandSpec } from './spec.js';

async function auth(s: Session, arg: string): Promise<Reply | void> {
  const store = s.server.tls;
  if (s.server.config.tls === 0 || store === undefined) {
    return reply(500, 'This security scheme is not implemented');
  }
  if (s.tls !== undefined) return reply(503, 'Already using TLS');
  if (s.loggedIn) return reply(503, 'AUTH must come before USER/PASS');
  const mechanism = arg.trim().toUpperCase();
  // AUTH SSL is what old clients send; most servers accept it as TLS (RFC 4217 §4, Appendix).
  if (!['TLS', 'TLS-C', 'SSL', 'TLS-P'].includes(mechanism)) {
    return reply(504, 'This security scheme is not implemented');
  }
  await startControlTls(s, store, mechanism === 'TLS-P');
}

function prot(s: Session, arg: string): Reply {
  const level = arg.trim().toUpperCase();
  if (level === '') return reply(503, 'Missing argument');
  if (s.tls === undefined) return reply(503, 'PROT must be preceded by a successful PBSZ command');
  if (level === 'C') {
    s.tls.prot = 'C';
    return reply(200, 'Data protection level set to "clear"');
  }
  if (level === 'P') {
    s.tls.prot = 'P';
    return reply(200, 'Data protection level set to "private"');
  }
  if (level === 'S' || level === 'E') {
    // Spec §10: Pure-FTPd falls back to private for the levels it cannot do.
    s.tls.prot = 'P';
    return reply(200, `Protection level ${level} not understood. Fallback to "private"`);
  }
  // The reply tells the client that data connections are now clear (spec §10): the level must say
  // the same, or a client that believes it opens a plain data connection the server wants as TLS.
  s.tls.prot = 'C';
  return reply(534, 'Fallback to [C]');
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
      if (s.tls === undefined) return reply(503, 'PBSZ=0');
      s.tls.pbsz = true;
      return reply(200, 'PBSZ=0');
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
    run: async () => reply(534, 'CCC not allowed at this point'),
  },
  {
    verb: 'ADAT',
    login: false,
    arg: 'optional',
    help: 'ADAT',
    run: async () => reply(500, 'This security scheme is not implemented'),
  },
];
