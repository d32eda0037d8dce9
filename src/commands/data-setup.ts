/**
 * Data-connection setup: PASV/P@SW, EPSV, PORT, EPRT, ESTA, ESTP (RFC 959 §4.1.2, RFC 2428,
 * upstream §2.3, §2.5). Security: PORT/EPRT targets go through the bounce rules in data/active.ts;
 * passive listeners accept only the client's own address unless FXP is allowed.
 */
import net from 'node:net';
import {
  checkActiveTarget,
  connectActive,
  familyMismatch,
  parseEprt,
  parsePort,
  type ActiveTarget,
} from '../data/active.js';
import { PassiveListener, parseEpsv, pasvAddress } from '../data/passive.js';
import { passiveAddressFor } from '../data/passive-address.js';
import { trustedProxy } from '../server/admission.js';
import { reply, type Reply } from '../session/reply.js';
import type { LoggedIn } from '../session/context.js';
import type { CommandSpec } from './spec.js';
import { Code } from '../session/codes.js';
import { tr } from '../i18n/msg.js';

/** True when FXP is allowed for this session (-W everybody, -w authenticated users). */
function fxpAllowed(s: LoggedIn): boolean {
  const c = s.server.config;
  return c.allowAnonymousFxp || (c.allowUserFxp && !s.anonymous);
}

async function openPassive(s: LoggedIn): Promise<PassiveListener> {
  s.clearData(); // a new PASV releases the previous listener (upstream §2.5)
  const cfg = s.server.config;
  const listener = await PassiveListener.open({
    localIp: s.socket.localAddress ?? s.ref.localIp,
    range: cfg.passivePorts,
    allowedIp: fxpAllowed(s) ? undefined : s.ref.remoteIp,
    // Behind a balancer (--proxy-protocol) the data connection may come through the proxy too.
    alsoAllowed: trustedProxy(cfg),
    timeoutMs: s.idleSeconds * 1000,
    onRefused: (ip) => s.server.bus.log(s.ref, 'WARNING', `Refused passive connection from ${ip}`),
  });
  s.data = { kind: 'passive', listener };
  return listener;
}

/** PASV takes no argument (RFC 959); one is ignored, as Pure-FTPd does. */
async function pasv(s: LoggedIn): Promise<Reply> {
  if (s.ipv6)
    return reply(Code.CANT_OPEN_DATA, tr`You cannot use PASV on IPv6 connections. Use EPSV instead.`);
  if (s.epsvAll) return reply(Code.BAD_ARGUMENTS, tr`Only EPSV is allowed after EPSV ALL`);
  // -P: one address, or one per client network (rules); names are re-resolved.
  const address = await passiveAddressFor(s.server.config.forcePassiveIp, s.ref.remoteIp, s.ref.localIp);
  if (!net.isIPv4(address))
    return reply(Code.CANT_OPEN_DATA, tr`Please use an IPv6-conformant client with EPSV support`);
  const listener = await openPassive(s);
  const text = pasvAddress(address, listener.port);
  if (text === undefined) {
    s.clearData();
    return reply(Code.CANT_OPEN_DATA, tr`Can't open passive connection`);
  }
  return reply(Code.PASSIVE, `Entering Passive Mode (${text})`);
}

async function epsv(s: LoggedIn, arg: string): Promise<Reply> {
  // -b: on IPv4, EPSV is as unknown as Pure-FTPd makes it (clients then fall back to PASV).
  if (s.server.config.brokenClients && !s.ipv6) return reply(Code.UNKNOWN_COMMAND, tr`Unknown command`);
  const request = parseEpsv(arg, s.ipv6);
  switch (request.kind) {
    case 'all':
      s.epsvAll = true;
      // RFC 2428 §3 asks for a positive completion; Pure-FTPd's code 220 is a quirk (upstream §15.6).
      return reply(Code.OK, tr`EPSV ALL OK: active mode is disabled`);
    case 'bad-family':
      return reply(Code.PROTOCOL_NOT_SUPPORTED, request.text);
    case 'syntax':
      return reply(Code.BAD_ARGUMENTS, tr`Syntax error in EPSV argument`);
    case 'open': {
      const listener = await openPassive(s);
      return reply(Code.EXTENDED_PASSIVE, `Extended Passive mode OK (|||${listener.port}|)`);
    }
  }
}

function setActive(s: LoggedIn, target: ActiveTarget): Reply {
  if (s.epsvAll) return reply(Code.BAD_ARGUMENTS, tr`Active mode is disabled`);
  // RFC 2428 §2: the data connection leaves from the control connection's own address family.
  const mismatch = familyMismatch(target, s.ipv6);
  if (mismatch !== undefined) return reply(Code.PROTOCOL_NOT_SUPPORTED, mismatch);
  const note = checkActiveTarget(target, s.ref.remoteIp, fxpAllowed(s));
  s.clearData();
  s.data = { kind: 'active', target };
  return note === undefined
    ? reply(Code.OK, tr`PORT command successful`)
    : reply(Code.OK, note, tr`PORT command successful`);
}

async function port(s: LoggedIn, arg: string): Promise<Reply> {
  if (s.epsvAll) return reply(Code.BAD_ARGUMENTS, tr`Active mode is disabled`);
  const t = parsePort(arg);
  if (t === undefined) return reply(Code.BAD_ARGUMENTS, tr`Syntax error in IP address`);
  return setActive(s, t);
}

async function eprt(s: LoggedIn, arg: string): Promise<Reply> {
  if (s.epsvAll) return reply(Code.BAD_ARGUMENTS, tr`Active mode is disabled`);
  const t = parseEprt(arg.trim());
  if (t === 'bad-family')
    return reply(Code.PROTOCOL_NOT_SUPPORTED, tr`Only IPv4 and IPv6 are supported (1,2)`);
  if (t === undefined) return reply(Code.BAD_ARGUMENTS, tr`Syntax error in IP address`);
  return setActive(s, t);
}

function endpoint(address: string | undefined, port: number | undefined): string {
  const a = (address ?? '').replace(/^::ffff:/, '');
  return `(|${net.isIPv6(a) ? 2 : 1}|${a}|${port ?? 0}|)`;
}

async function esta(s: LoggedIn): Promise<Reply> {
  const d = s.data;
  // A connection ESTP made is an active one: ESTA only reports passive connections (upstream §2.3).
  if (d === undefined || d.kind === 'active' || (d.kind === 'connected' && !d.passive)) {
    return reply(Code.ESTABLISH_REFUSED, tr`Unable to open a passive connection`);
  }
  const abort = new AbortController();
  const onClose = (): void => abort.abort();
  s.socket.once('close', onClose);
  try {
    const socket =
      d.kind === 'connected' ? d.socket : await d.listener.accept(abort.signal, s.idleSeconds * 1000);
    s.data = { kind: 'connected', socket, passive: true };
    return reply(Code.DATA_OPEN, tr`Connected from ${endpoint(socket.remoteAddress, socket.remotePort)}`);
  } finally {
    s.socket.off('close', onClose);
  }
}

async function estp(s: LoggedIn): Promise<Reply> {
  const d = s.data;
  // After ESTA the pending connection is a passive one: ESTP must not report it as active.
  if (d === undefined || d.kind === 'passive' || (d.kind === 'connected' && d.passive)) {
    return reply(Code.ESTABLISH_REFUSED, tr`Active mode is disabled`);
  }
  // A control connection lost while connecting stops the attempt (as ESTA's wait): a socket made
  // for a session that is gone would stay open, since nothing would ever clear it.
  const abort = new AbortController();
  const onClose = (): void => abort.abort();
  s.socket.once('close', onClose);
  try {
    const socket =
      d.kind === 'connected'
        ? d.socket
        : await connectActive(d.target, s.ref.localIp, abort.signal, s.idleSeconds * 1000);
    s.data = { kind: 'connected', socket, passive: false };
    return reply(Code.DATA_OPEN, tr`Connected to ${endpoint(socket.remoteAddress, socket.remotePort)}`);
  } finally {
    s.socket.off('close', onClose);
  }
}

/** PASV P@SW EPSV PORT EPRT ESTA ESTP. */
export const dataSetupCommands: CommandSpec[] = [
  {
    verb: 'PASV',
    aliases: ['P@SW'],
    login: true,
    arg: 'optional',
    feat: { line: 'PASV', order: 15 },
    help: 'PASV',
    run: (s) => pasv(s),
  },
  {
    verb: 'EPSV',
    login: true,
    arg: 'optional',
    feat: { line: 'EPSV', order: 16 },
    help: 'EPSV [<sp> 1 | 2 | ALL]',
    run: (s, a) => epsv(s, a),
  },
  {
    verb: 'PORT',
    login: true,
    arg: 'required',
    help: 'PORT <sp> h1,h2,h3,h4,p1,p2',
    run: (s, a) => port(s, a),
  },
  {
    verb: 'EPRT',
    login: true,
    arg: 'required',
    feat: { line: 'EPRT', order: 1 },
    help: 'EPRT <sp> |af|addr|port|',
    run: (s, a) => eprt(s, a),
  },
  {
    verb: 'ESTA',
    login: true,
    arg: 'optional',
    feat: { line: 'ESTA', order: 14 },
    help: 'ESTA',
    run: (s) => esta(s),
  },
  {
    verb: 'ESTP',
    login: true,
    arg: 'optional',
    feat: { line: 'ESTP', order: 17 },
    help: 'ESTP',
    run: (s) => estp(s),
  },
];
