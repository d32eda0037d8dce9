/**
 * The who socket (docs/operations.md "Who is connected"): a UNIX socket the running server owns,
 * through which `tsftpd who` reads the live session list of every process and ends a session
 * (`--kill`). Only the server's own user can connect: the socket is 0600 in a 0700 directory owned by
 * that user (root when started as root), both checked before use, as Pure-FTPd checks its
 * scoreboard directory. One request per connection: a JSON line in, a JSON line out.
 */
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { OpsSource } from './ops-source.js';
import type { WhoReport } from '../telemetry/who.js';
import type { Ban } from '../policy/defender.js';

/** Longest request line; the time a client may take to send it. */
const MAX_REQUEST = 4096;
const REQUEST_TIMEOUT_MS = 5000;
/** Clients served at once (a stuck `who` must not pile up sockets). */
const MAX_CLIENTS = 32;

/** The directory of the servers' who sockets for this user (root: /var/run/tsftpd). */
export function defaultWhoDir(): string {
  const uid = process.geteuid?.() ?? 0;
  if (uid === 0) return '/var/run/tsftpd';
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime !== undefined && runtime.startsWith('/')) return path.join(runtime, 'tsftpd');
  return path.join(os.tmpdir(), `tsftpd-${uid}`);
}

/** The socket name of server `pid` in the default directory. */
export function whoSocketName(pid: number): string {
  return `who-${pid}.sock`;
}

/**
 * Makes (or checks) a private directory: a real directory (not a link), owned by us, with no access
 * for group or others. Throws a sentence saying what is wrong otherwise.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  const uid = process.geteuid?.() ?? 0;
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (st.uid !== uid) throw new Error(`${dir} belongs to uid ${st.uid}, not to uid ${uid}`);
  if ((st.mode & 0o077) !== 0)
    throw new Error(`${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)}; want 700)`);
}

/** A request of `tsftpd who`. */
export type WhoRequest =
  | { cmd: 'list' }
  | { cmd: 'kick'; id: number; node?: string }
  | { cmd: 'bans' }
  | { cmd: 'ban'; ip: string; seconds?: number }
  | { cmd: 'unban'; ip: string };

/** The answer to a request. */
export type WhoAnswer =
  | ({ ok: true } & WhoReport)
  | { ok: true; kicked: boolean }
  | { ok: true; bans: Ban[] }
  | { ok: true; ban: Ban | null }
  | { ok: true; removed: boolean }
  | { ok: false; error: string };

/** The server side of the who socket. */
export class WhoSocketServer {
  private server?: net.Server;
  private readonly clients = new Set<net.Socket>();

  private constructor(
    readonly path: string,
    private readonly source: OpsSource,
    private readonly started: number,
  ) {}

  /**
   * Listens on `configured` (false: off; undefined: the default directory). Returns undefined and
   * logs why when the socket cannot be made safely (the server runs on without it).
   */
  static async open(
    configured: string | false | undefined,
    source: OpsSource,
    started: number,
    log: (level: 'INFO' | 'WARNING', message: string) => void,
  ): Promise<WhoSocketServer | undefined> {
    if (configured === false) return undefined;
    let file: string;
    try {
      if (configured === undefined) {
        const dir = defaultWhoDir();
        ensurePrivateDir(dir);
        file = path.join(dir, whoSocketName(process.pid));
      } else file = configured;
      await removeStale(file);
      const w = new WhoSocketServer(file, source, started);
      await w.listen();
      return w;
    } catch (err) {
      log('WARNING', `tsftpd who is off: cannot open its socket: ${(err as Error).message}`);
      return undefined;
    }
  }

  private listen(): Promise<void> {
    const server = net.createServer((socket) => this.serve(socket));
    server.maxConnections = MAX_CLIENTS;
    this.server = server;
    return new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // The socket is created 0600 (the umask is the process's, so only for this call: the bind
      // happens inside listen()).
      const old = process.umask(0o177);
      try {
        server.listen(this.path, () => {
          server.off('error', reject);
          server.on('error', () => undefined);
          resolve();
        });
      } finally {
        process.umask(old);
      }
    });
  }

  private serve(socket: net.Socket): void {
    this.clients.add(socket);
    socket.on('close', () => this.clients.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const nl = buffered.indexOf('\n');
      if (nl < 0) {
        if (buffered.length > MAX_REQUEST) socket.destroy();
        return;
      }
      socket.off('data', onData);
      void this.answer(buffered.slice(0, nl)).then((a) => socket.end(`${JSON.stringify(a)}\n`));
    };
    socket.on('data', onData);
  }

  private async answer(line: string): Promise<WhoAnswer> {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch {
      return { ok: false, error: 'the request is not JSON' };
    }
    const r = req as Partial<{ cmd: string; id: unknown; ip: unknown; seconds: unknown; node: unknown }>;
    try {
      if (r.cmd === 'list') {
        return {
          ok: true,
          pid: process.pid,
          started: this.started,
          now: Date.now(),
          sessions: await this.source.who(),
        };
      }
      if (r.cmd === 'kick' && typeof r.id === 'number' && Number.isSafeInteger(r.id)) {
        const node = typeof r.node === 'string' && r.node.length <= 64 ? r.node : undefined;
        return { ok: true, kicked: await this.source.kick(r.id, node) };
      }
      if (r.cmd === 'bans') return { ok: true, bans: await this.source.bans() };
      if ((r.cmd === 'ban' || r.cmd === 'unban') && (typeof r.ip !== 'string' || net.isIP(r.ip) === 0))
        return { ok: false, error: 'not an IP address' };
      const ip = String(r.ip)
        .toLowerCase()
        .replace(/^::ffff:(?=\d+\.)/, '');
      if (r.cmd === 'ban') {
        const s = r.seconds;
        if (s !== undefined && (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 1 || s > 31_536_000))
          return { ok: false, error: 'the time is 1 to 31536000 seconds' };
        return { ok: true, ban: (await this.source.ban(ip, s)) ?? null };
      }
      if (r.cmd === 'unban') return { ok: true, removed: await this.source.unban(ip) };
      return { ok: false, error: 'unknown request' };
    } catch (err) {
      return { ok: false, error: String(err) };
    }
  }

  /** Stops listening and removes the socket. */
  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    await new Promise<void>((resolve) =>
      this.server === undefined ? resolve() : this.server.close(() => resolve()),
    );
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

/** Removes a socket left by a server that is gone; refuses a live one or anything else. */
async function removeStale(file: string): Promise<void> {
  let st;
  try {
    st = lstatSync(file);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${file} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(file);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new Error(`another server listens on ${file}`);
  unlinkSync(file);
}
