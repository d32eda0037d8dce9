/**
 * What every connection goes through before it becomes a session, in whichever process accepts it
 * (a one-process server, or the parent of the session workers). Security-sensitive, see SECURITY.md.
 * Guarantees:
 * - with --proxy-protocol, only a trusted proxy's connection is taken, and its PROXY header gives the
 *   client address that everything after sees (bans, -C, per-account address rules, logs, who);
 * - a banned address is refused with a 421 before anything else happens;
 * - with a shared store (Redis), -c and -C are also counted across every node.
 */
import type net from 'node:net';
import type { Config } from '../config/types.js';
import type { EventBus } from '../telemetry/bus.js';
import { CLIENTS_KEY, ipKey, type StateStore } from '../policy/state.js';
import { matchCidr, parseCidrList } from '../auth/cidr.js';
import type { Cidr } from '../auth/types.js';
import { readProxyHeader } from './proxy-protocol.js';
import { tr, type Msg } from '../i18n/msg.js';

/** Who is at both ends of a control connection (the PROXY header's, or the socket's own). */
export interface Peer {
  remoteIp: string;
  remotePort: number;
  localIp: string;
  localPort: number;
}

/** A connection that may go on: its peer, and the bytes read past a PROXY header. */
export interface Arrival {
  peer: Peer;
  head?: Buffer;
}

/** What admission decided against a connection: a 421 text to send, or (none) a silent close. */
export interface Refusal {
  refusal?: Msg;
}

const strip = (a: string | undefined): string => (a ?? '').replace(/^::ffff:/, '');

/** Addresses refused as untrusted proxies, and when each was last logged (one line a minute each). */
const refusedProxies = new Map<string, number>();
const REFUSAL_LOG_EVERY_MS = 60_000;
const MAX_REFUSALS_TRACKED = 1024;

/** True when a refusal of `ip` should be logged now (a flood from one address logs once a minute). */
function logRefusal(ip: string, now = Date.now()): boolean {
  const last = refusedProxies.get(ip);
  if (last !== undefined && now - last < REFUSAL_LOG_EVERY_MS) return false;
  if (refusedProxies.size >= MAX_REFUSALS_TRACKED) refusedProxies.clear();
  refusedProxies.set(ip, now);
  return true;
}

/** The parsed --proxy-protocol list of each configuration (parsed once, not per connection). */
const trustedLists = new WeakMap<readonly string[], Cidr[]>();

/**
 * With --proxy-protocol: whether an address is one of the trusted proxies (the control connection
 * must come from one; a passive data connection may); undefined without the switch.
 */
export function trustedProxy(config: Readonly<Config>): ((ip: string) => boolean) | undefined {
  const list = config.proxyProtocol;
  if (list === undefined) return undefined;
  let cidrs = trustedLists.get(list);
  if (cidrs === undefined) {
    cidrs = parseCidrList(list.join(',')).list;
    trustedLists.set(list, cidrs);
  }
  const parsed = cidrs;
  return (ip) => matchCidr(parsed, ip);
}

/** The socket's own addresses. */
export function socketPeer(socket: net.Socket): Peer {
  return {
    remoteIp: strip(socket.remoteAddress),
    remotePort: socket.remotePort ?? 0,
    localIp: strip(socket.localAddress),
    localPort: socket.localPort ?? 0,
  };
}

/**
 * The first steps of admission: the PROXY header (when required) and the ban check. Resolves with
 * the arrival, or with a refusal (the caller sends the 421 or closes).
 */
export async function arrive(
  socket: net.Socket,
  config: Readonly<Config>,
  bus: EventBus,
  store: StateStore,
): Promise<Arrival | Refusal> {
  let peer = socketPeer(socket);
  let head: Buffer | undefined;
  if (peer.remoteIp === '') return {};
  const trusted = trustedProxy(config);
  if (trusted !== undefined) {
    if (!trusted(peer.remoteIp)) {
      if (logRefusal(peer.remoteIp))
        bus.log(undefined, 'WARNING', `Refused [${peer.remoteIp}]: not a trusted proxy (--proxy-protocol)`);
      return {};
    }
    try {
      const header = await readProxyHeader(socket);
      if (header.addresses !== undefined) {
        const a = header.addresses;
        peer = { remoteIp: a.sourceIp, remotePort: a.sourcePort, localIp: a.destIp, localPort: a.destPort };
      }
      if (header.rest.length > 0) head = header.rest;
    } catch (err) {
      bus.log(undefined, 'WARNING', `Refused [${peer.remoteIp}]: ${(err as Error).message}`);
      return {};
    }
  }
  const ban = await store.banned(peer.remoteIp).catch(() => undefined);
  if (ban !== undefined) {
    const seconds = Math.max(1, Math.ceil((ban.until - Date.now()) / 1000));
    bus.log(
      undefined,
      'NOTICE',
      `Refused [${peer.remoteIp}]: banned for ${seconds} more seconds (${ban.reason})`,
    );
    return { refusal: tr`This address is banned for ${seconds} more seconds` };
  }
  return head === undefined ? { peer } : { peer, head };
}

/**
 * With a shared store, takes this connection's -c and -C slots across every node. Resolves with
 * the function that gives them back, or with the refusal.
 */
export async function takeSharedSlots(
  store: StateStore,
  config: Readonly<Config>,
  ip: string,
): Promise<(() => void) | Refusal> {
  if (!store.shared) return () => undefined;
  if (!(await store.acquire(CLIENTS_KEY, config.maxClients)))
    return { refusal: tr`${config.maxClients} users (the maximum) are already logged in, sorry` };
  if (config.maxClientsPerIp > 0 && !(await store.acquire(ipKey(ip), config.maxClientsPerIp))) {
    store.release(CLIENTS_KEY);
    return { refusal: tr`Too many connections (${config.maxClientsPerIp}) from this IP` };
  }
  return () => {
    store.release(CLIENTS_KEY);
    if (config.maxClientsPerIp > 0) store.release(ipKey(ip));
  };
}
