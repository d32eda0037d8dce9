/**
 * The PROXY protocol, versions 1 and 2 (HAProxy's proxy-protocol.txt), on the control port
 * (security-sensitive, see SECURITY.md). Guarantees: a header is taken only from a connection whose
 * own address is in the trusted list (`--proxy-protocol`); every other connection is refused; a
 * header is at most 107 bytes (v1) or 16 + 4096 bytes (v2) and must arrive within HEADER_TIMEOUT_MS;
 * anything malformed closes the connection. Bytes that follow the header (a TLS ClientHello on an
 * implicit-TLS port) are kept for the session.
 */
import type net from 'node:net';
import { isIP } from 'node:net';

/** The longest v1 line (the specification's bound) and the largest v2 address block we accept. */
const V1_MAX = 107;
const V2_MAX_BLOCK = 4096;
/** How long a trusted proxy may take to send its header. */
export const HEADER_TIMEOUT_MS = 5000;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** The client and server addresses a header gives (undefined for `UNKNOWN` / `LOCAL`: use the socket's). */
export interface ProxiedAddresses {
  sourceIp: string;
  sourcePort: number;
  destIp: string;
  destPort: number;
}

/** The result of parsing what arrived so far. */
export type HeaderParse =
  | { kind: 'more' }
  | { kind: 'error'; reason: string }
  | { kind: 'done'; length: number; addresses?: ProxiedAddresses };

function port(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text) || (text.length > 1 && text.startsWith('0'))) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function parseV1(buf: Buffer): HeaderParse {
  const end = buf.indexOf('\r\n');
  if (end < 0)
    return buf.length >= V1_MAX ? { kind: 'error', reason: 'PROXY v1 line too long' } : { kind: 'more' };
  if (end + 2 > V1_MAX) return { kind: 'error', reason: 'PROXY v1 line too long' };
  const parts = buf.subarray(0, end).toString('latin1').split(' ');
  if (parts[1] === 'UNKNOWN') return { kind: 'done', length: end + 2 };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6'))
    return { kind: 'error', reason: 'malformed PROXY v1 line' };
  const family = parts[1] === 'TCP4' ? 4 : 6;
  const [, , src, dst, sp, dp] = parts;
  const sourcePort = port(sp);
  const destPort = port(dp);
  if (isIP(src) !== family || isIP(dst) !== family || sourcePort === undefined || destPort === undefined)
    return { kind: 'error', reason: 'malformed PROXY v1 addresses' };
  return { kind: 'done', length: end + 2, addresses: { sourceIp: src, sourcePort, destIp: dst, destPort } };
}

function ipv6Text(b: Buffer): string {
  // An IPv4-mapped address is the IPv4 client it carries (as sockets report them, without ::ffff:).
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
    return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // The compressed form Node uses, so the address compares equal to what sockets report.
  const text = groups.join(':');
  const runs = [...text.matchAll(/(?:^|:)0(?::0)+(?::|$)/g)];
  if (runs.length === 0) return text;
  const longest = runs.reduce((a, b) => (b[0].length > a[0].length ? b : a));
  const at = longest.index ?? 0;
  return `${text.slice(0, at)}::${text.slice(at + longest[0].length)}`;
}

function parseV2(buf: Buffer): HeaderParse {
  if (buf.length < 16) return { kind: 'more' };
  const verCmd = buf[12];
  if (verCmd >> 4 !== 2) return { kind: 'error', reason: 'unknown PROXY protocol version' };
  const command = verCmd & 0x0f;
  const family = buf[13];
  const blockLength = buf.readUInt16BE(14);
  if (blockLength > V2_MAX_BLOCK) return { kind: 'error', reason: 'PROXY v2 header too long' };
  if (buf.length < 16 + blockLength) return { kind: 'more' };
  const length = 16 + blockLength;
  if (command === 0) return { kind: 'done', length }; // LOCAL: the proxy's own (health check)
  if (command !== 1) return { kind: 'error', reason: 'unknown PROXY v2 command' };
  const block = buf.subarray(16, length);
  if (family === 0x11 && block.length >= 12) {
    const ip = (o: number): string => `${block[o]}.${block[o + 1]}.${block[o + 2]}.${block[o + 3]}`;
    return {
      kind: 'done',
      length,
      addresses: {
        sourceIp: ip(0),
        destIp: ip(4),
        sourcePort: block.readUInt16BE(8),
        destPort: block.readUInt16BE(10),
      },
    };
  }
  if (family === 0x21 && block.length >= 36) {
    return {
      kind: 'done',
      length,
      addresses: {
        sourceIp: ipv6Text(block.subarray(0, 16)),
        destIp: ipv6Text(block.subarray(16, 32)),
        sourcePort: block.readUInt16BE(32),
        destPort: block.readUInt16BE(34),
      },
    };
  }
  // UNSPEC or UNIX addresses: nothing usable, the socket's own addresses stand.
  if (family === 0x00 || family === 0x31 || family === 0x32) return { kind: 'done', length };
  return { kind: 'error', reason: 'malformed PROXY v2 addresses' };
}

/** Parses a PROXY header (v1 or v2) at the start of `buf`. */
export function parseProxyHeader(buf: Buffer): HeaderParse {
  if (buf.length === 0) return { kind: 'more' };
  const sig = V2_SIGNATURE.subarray(0, Math.min(buf.length, 12));
  if (buf.subarray(0, sig.length).equals(sig)) return buf.length < 12 ? { kind: 'more' } : parseV2(buf);
  const v1 = Buffer.from('PROXY ');
  const n = Math.min(buf.length, v1.length);
  if (!buf.subarray(0, n).equals(v1.subarray(0, n))) return { kind: 'error', reason: 'no PROXY header' };
  return buf.length < v1.length ? { kind: 'more' } : parseV1(buf);
}

/** What reading a header gave: the addresses (if any) and the bytes that followed it. */
export interface HeaderRead {
  addresses?: ProxiedAddresses;
  rest: Buffer;
}

/** The part of a socket's handle that stops the kernel reads (Node has no public call for it). */
interface ReadStoppable {
  reading?: boolean;
  readStop?: () => number;
}

/** Stops the kernel reads of a paused socket (Node has no public call for it). */
function stopReading(socket: net.Socket): void {
  const handle = (socket as unknown as { _handle?: ReadStoppable })._handle;
  if (handle?.readStop === undefined) return;
  // `reading = false`, as Node's own pause() sets it, lets a later resume() start them again.
  handle.reading = false;
  handle.readStop();
}

/**
 * Just before a socket whose header was read goes to another process: whatever Node read since
 * (its stream may have restarted the reads after the header: Readable reads ahead) is taken out of
 * the buffer, and the reads stop, so every later byte stays in the kernel for the new owner.
 * Call it in the same turn as the hand-over.
 */
export function takeForHandOff(socket: net.Socket): Buffer {
  const parts: Buffer[] = [];
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null)
    parts.push(chunk);
  stopReading(socket);
  return Buffer.concat(parts);
}

/**
 * Reads the PROXY header of a connection accepted paused. Leaves the socket paused (bytes that
 * came after the header are `rest`; a socket handed to another process takes the rest of what Node
 * read with takeForHandOff). Rejects with the
 * reason when the header is malformed, late, or the connection ends first.
 */
export function readProxyHeader(socket: net.Socket, timeoutMs = HEADER_TIMEOUT_MS): Promise<HeaderRead> {
  return new Promise<HeaderRead>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const finish = (err?: Error, value?: HeaderRead): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      stopReading(socket);
      if (err !== undefined) reject(err);
      else resolve(value!);
    };
    const onEnd = (): void => finish(new Error('the connection ended before its PROXY header'));
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const parsed = parseProxyHeader(buf);
      if (parsed.kind === 'more') return;
      if (parsed.kind === 'error') finish(new Error(parsed.reason));
      else finish(undefined, { addresses: parsed.addresses, rest: buf.subarray(parsed.length) });
    };
    const timer = setTimeout(
      () => finish(new Error(`no PROXY header within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.resume();
  });
}
