/**
 * Reading what a TLS ClientHello offers to resume (RFC 8446 §4.1.2, §4.2.11; RFC 5077 §3.2), before
 * the TLS library sees it: a data connection may resume a session issued to another control
 * connection of the same account (session-tls.ts), and the ticket's key name says which one.
 * Guarantees: the parser reads only inside the bytes it was given, every length is checked against
 * what remains, and the bytes peeked from a socket are put back untouched, so the handshake that
 * follows sees exactly what the client sent. Anything unexpected means "nothing to resume".
 */
import type net from 'node:net';

/** Largest ClientHello (handshake message, all records) read ahead; larger ones resume nothing. */
export const MAX_CLIENT_HELLO = 64 * 1024;

/** Records one ClientHello may span (a 64 KiB message needs 5). */
const MAX_RECORDS = 8;
/** Reads (TCP segments) a peek waits for before it gives up: a real ClientHello takes 1 to 3. */
const MAX_CHUNKS = 64;
const RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SESSION_TICKET = 35;
const EXT_PRE_SHARED_KEY = 41;

/** What a ClientHello offers to resume. */
export interface ResumptionOffer {
  /** The legacy session id (TLS 1.2 session-id resumption; random in TLS 1.3). */
  sessionId: Buffer;
  /** Tickets: the TLS 1.2 session_ticket extension and the TLS 1.3 PSK identities, in order. */
  tickets: Buffer[];
}

/** A bounds-checked reader over one buffer; every read returns undefined past the end. */
class Reader {
  constructor(
    private readonly buf: Buffer,
    private pos = 0,
    private readonly end = buf.length,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  bytes(n: number): Buffer | undefined {
    if (n < 0 || n > this.remaining) return undefined;
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  uint(size: 1 | 2 | 3): number | undefined {
    const b = this.bytes(size);
    if (b === undefined) return undefined;
    return b.readUIntBE(0, size);
  }

  /** A sub-reader over a vector whose length prefix has `size` bytes. */
  vector(size: 1 | 2 | 3): Reader | undefined {
    const n = this.uint(size);
    if (n === undefined) return undefined;
    const b = this.bytes(n);
    return b === undefined ? undefined : new Reader(b);
  }
}

/**
 * Joins the handshake records at the start of `data` into the first handshake message.
 * Returns 'more' when the message is not complete yet, undefined when this is not a ClientHello.
 */
function handshakeMessage(data: Buffer): Buffer | 'more' | undefined {
  const fragments: Buffer[] = [];
  let have = 0;
  let pos = 0;
  let want: number | undefined;
  while (want === undefined || have < want) {
    if (data.length - pos < RECORD_HEADER) return 'more';
    if (data[pos] !== CONTENT_HANDSHAKE) return undefined;
    const length = data.readUInt16BE(pos + 3);
    if (length === 0 || length > 16384) return undefined; // RFC 8446 §5.1: at most 2^14
    if (data.length - pos - RECORD_HEADER < length) return 'more';
    if (fragments.length >= MAX_RECORDS) return undefined;
    fragments.push(data.subarray(pos + RECORD_HEADER, pos + RECORD_HEADER + length));
    have += length;
    pos += RECORD_HEADER + length;
    if (want === undefined && have >= 4) {
      const head = Buffer.concat(fragments);
      if (head[0] !== HANDSHAKE_CLIENT_HELLO) return undefined;
      want = 4 + head.readUIntBE(1, 3);
      if (want > MAX_CLIENT_HELLO) return undefined;
    }
  }
  return Buffer.concat(fragments).subarray(4, want);
}

/** The identities of a pre_shared_key extension (RFC 8446 §4.2.11). */
function pskIdentities(ext: Reader): Buffer[] | undefined {
  const identities = ext.vector(2);
  if (identities === undefined) return undefined;
  const out: Buffer[] = [];
  while (identities.remaining > 0) {
    const identity = identities.vector(2);
    const age = identities.bytes(4);
    if (identity === undefined || age === undefined) return undefined;
    const id = identity.bytes(identity.remaining);
    if (id !== undefined && id.length > 0) out.push(id);
  }
  return out;
}

/**
 * Parses the start of a TLS stream. Returns what the ClientHello offers to resume, 'more' when more
 * bytes are needed, or undefined when the bytes are not a (well-formed, bounded) ClientHello.
 */
export function parseClientHello(data: Buffer): ResumptionOffer | 'more' | undefined {
  const message = handshakeMessage(data);
  if (message === 'more' || message === undefined) return message;
  const hello = new Reader(message);
  if (hello.bytes(2 + 32) === undefined) return undefined; // legacy_version, random
  const sessionIdVector = hello.vector(1);
  const sessionId = sessionIdVector?.bytes(sessionIdVector.remaining);
  if (sessionId === undefined || sessionId.length > 32) return undefined;
  if (hello.vector(2) === undefined || hello.vector(1) === undefined) return undefined; // suites, compression
  const offer: ResumptionOffer = { sessionId: Buffer.from(sessionId), tickets: [] };
  if (hello.remaining === 0) return offer; // no extensions at all
  const extensions = hello.vector(2);
  if (extensions === undefined) return undefined;
  while (extensions.remaining > 0) {
    const type = extensions.uint(2);
    const ext = extensions.vector(2);
    if (type === undefined || ext === undefined) return undefined;
    if (type === EXT_SESSION_TICKET) {
      const ticket = ext.bytes(ext.remaining);
      if (ticket !== undefined && ticket.length > 0) offer.tickets.push(Buffer.from(ticket));
    } else if (type === EXT_PRE_SHARED_KEY) {
      const ids = pskIdentities(ext);
      if (ids === undefined) return undefined;
      for (const id of ids) offer.tickets.push(Buffer.from(id));
    }
  }
  return offer;
}

/**
 * Reads the ClientHello from a socket nobody reads yet, then puts every byte back (unshift), so the
 * TLS socket built next reads them first. Resolves with the offer, or undefined when the stream does
 * not start with a ClientHello, closes, or `timeoutMs` passes.
 */
export function peekClientHello(socket: net.Socket, timeoutMs: number): Promise<ResumptionOffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const finish = (offer: ResumptionOffer | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      socket.pause();
      if (chunks.length > 0 && !socket.destroyed && !socket.readableEnded)
        socket.unshift(Buffer.concat(chunks));
      resolve(offer);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      const r = parseClientHello(chunks.length === 1 ? chunk : Buffer.concat(chunks));
      if (r !== 'more') finish(r);
      else if (chunks.length >= MAX_CHUNKS || total > MAX_CLIENT_HELLO + MAX_RECORDS * RECORD_HEADER)
        finish(undefined);
    };
    const onEnd = (): void => finish(undefined);
    // Nobody else listens yet: a reset during the peek must not become an uncaught 'error'.
    socket.on('error', () => undefined);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onEnd);
    socket.resume();
  });
}
