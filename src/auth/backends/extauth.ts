/**
 * `-l extauth:/path/to/socket` (upstream §3.5): asks an external helper (pure-authd or `tsftpd authd`)
 * over a UNIX stream socket. Guarantees: the whole exchange (connection attempts included) is
 * bounded by one deadline; at most EXTAUTH_MAX_REPLY bytes are read; a helper that cannot be
 * reached or does not answer in time ends the session with 421 (Pure-FTPd retries 10 times, 1 s
 * apart, then fails the same way); the password is sent only to the socket and never logged.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FtpError } from '../../errors.js';
import type { AuthResult, Authenticator, Credentials } from '../types.js';
import {
  EXTAUTH_MAX_REPLY,
  formatRequest,
  parseReply,
  replyToResult,
  requestFor,
} from './extauth-protocol.js';

/** Options of the extauth backend. */
export interface ExtAuthOptions {
  /** Receives operator messages (helper unreachable, timeouts). */
  onWarning?: (message: string) => void;
  /** Connection attempts before giving up (default 3). */
  attempts?: number;
  /** Pause between attempts, in ms (default 300). */
  retryDelayMs?: number;
  /** Bound of the whole exchange, in ms (default 10000: above authd's 8 s program timeout). */
  timeoutMs?: number;
}

/** The reply text of a helper that cannot be used. */
export const EXTAUTH_DOWN_TEXT = 'Temporary authentication failure, try again later';

/** Why an exchange failed, for the log. */
class HelperUnavailable extends Error {}

/** Authenticates through an external helper listening on a UNIX socket. */
export class ExtAuthAuthenticator implements Authenticator {
  /** Backend name as given to `-l`. */
  readonly name = 'extauth';
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private readonly timeoutMs: number;

  /** `socketPath`: the helper's socket (`-s` of pure-authd). */
  constructor(
    readonly socketPath: string,
    private readonly opts: ExtAuthOptions = {},
  ) {
    this.attempts = Math.max(1, opts.attempts ?? 3);
    this.retryDelayMs = opts.retryDelayMs ?? 300;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** Sends the request, reads the answer; throws FtpError 421 when the helper cannot be used. */
  async authenticate(login: string, cred: Credentials): Promise<AuthResult> {
    const request = formatRequest(requestFor(login, cred));
    // A line break in a value could forge a key: such a login is simply not this backend's.
    if (request === undefined) return { kind: 'unknown' };
    const deadline = AbortSignal.timeout(this.timeoutMs);
    try {
      const text = await this.exchange(request, deadline);
      return replyToResult(parseReply(text), login, this.name);
    } catch (err) {
      const reason = deadline.aborted ? `no answer within ${this.timeoutMs} ms` : (err as Error).message;
      this.opts.onWarning?.(`extauth: helper at ${this.socketPath} unavailable: ${reason}`);
      throw new FtpError('ERR_UNAVAILABLE', EXTAUTH_DOWN_TEXT, { cause: err });
    }
  }

  /** Connects (with retries), writes the request and reads until EOF or the cap, as Pure-FTPd's safe_read. */
  private async exchange(request: string, signal: AbortSignal): Promise<string> {
    let socket: net.Socket | undefined;
    for (let attempt = 1; socket === undefined; attempt++) {
      try {
        socket = await connect(this.socketPath, signal);
      } catch (err) {
        if (attempt >= this.attempts || signal.aborted) throw err;
        await sleep(this.retryDelayMs, undefined, { signal });
      }
    }
    return readReply(socket, request, signal);
  }
}

/** One connection attempt, abandoned when `signal` fires. */
function connect(socketPath: string, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path: socketPath });
    const onAbort = (): void => {
      socket.destroy();
      reject(new HelperUnavailable('timed out connecting'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(new HelperUnavailable(`cannot connect: ${err.code ?? err.message}`));
    });
  });
}

/** Writes the request and collects the reply; the socket is always destroyed at the end. */
function readReply(socket: net.Socket, request: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const finish = (err?: Error): void => {
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(buffer.toString('utf8'));
    };
    const onAbort = (): void => finish(new HelperUnavailable('timed out waiting for the reply'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('data', (chunk: Buffer) => {
      const room = EXTAUTH_MAX_REPLY - buffer.length;
      buffer = Buffer.concat([buffer, chunk.subarray(0, room)]);
      if (buffer.length >= EXTAUTH_MAX_REPLY) finish();
    });
    // The helper closing without `end` is a refusal (parseReply), not an outage.
    socket.on('end', () => finish());
    socket.on('error', (err: NodeJS.ErrnoException) =>
      buffer.length > 0
        ? finish()
        : finish(new HelperUnavailable(`connection failed: ${err.code ?? err.message}`)),
    );
    socket.write(request);
  });
}
