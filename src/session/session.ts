/**
 * One control connection: framing, the command queue, replies, timers and per-session state.
 * Commands run one at a time in arrival order (pipelining works); while a transfer runs, ABOR,
 * STAT, QUIT and NOOP are handled at once and anything else waits its turn. Every buffer is
 * bounded: the line length, the queue (the socket is paused when it fills) and pending output.
 */
import os from 'node:os';
import type net from 'node:net';

import type { Account } from '../auth/types.js';
import type { Storage, VPath } from '../storage/types.js';
import type { SessionRef } from '../telemetry/bus.js';
import type { ServerContext } from '../server/context.js';
import { LineReader, parseCommand, type ParsedCommand } from './line-reader.js';
import { formatReply, reply, type Reply, type ReplyLine } from './reply.js';
import { nameToBytes } from '../storage/name-bytes.js';
import type { Dispatcher, SessionContext } from './context.js';
import type { DataSetup, Transfer } from '../data/types.js';
import type { EffectiveLimits } from '../policy/limits.js';
import type { RateLimiter } from '../data/throttle.js';
import type { SessionTls } from '../tls/session-tls.js';
import { Code } from './codes.js';
import { tr } from '../i18n/msg.js';
import { languageOf, type Language } from '../i18n/languages.js';
import { socketPeer, type Peer } from '../server/admission.js';

/** Longest command line in bytes (upstream §2.1: PATH_MAX + 16). */
export const MAX_LINE = 4112;
/** Commands waiting in the queue before the socket is paused. */
const QUEUE_HIGH_WATER = 64;
/** Pending reply bytes that make the session wait for the client to read. */
const OUTPUT_HIGH_WATER = 256 * 1024;
/** Grace given to a closing socket to flush its last reply. */
const CLOSE_GRACE_MS = 2000;

let nextSessionId = 1;

/** A control connection and everything the protocol remembers about it. */
export class Session implements SessionContext {
  /** Unique among the server's live sessions: the parent's connection id when a parent accepted it. */
  readonly id: number;
  readonly ref: SessionRef;
  readonly startedAt = Date.now();
  /** The parent's id of the connection, when a parent process accepted it (session workers). */
  connection?: number;
  /** Control connection over IPv6 (not IPv4-mapped). */
  readonly ipv6: boolean;

  // Login state.
  pendingUser?: string;
  hostName?: string;
  account?: Account;
  storage?: Storage;
  /** True when the session is confined to its account's home (upstream §6.2). */
  chrooted = true;
  failedLogins = 0;
  failedCwds = 0;

  // Navigation and transfer parameters.
  cwd: VPath = '/';
  /** Virtual path `~` stands for. */
  home: VPath = '/';
  type: 'A' | 'I' = 'A';
  restOffset = 0;
  renameFrom?: VPath;
  data?: DataSetup;
  epsvAll = false;
  transfer?: Transfer;
  /** Per-session idle timeout (SITE IDLE), seconds. */
  idleSeconds: number;
  language: Language;

  // Per-account limits (upstream §4.2, §5), set at login.
  limits: EffectiveLimits = {};
  rates: { up?: RateLimiter; down?: RateLimiter } = {};

  // Counters for QUIT and ratios.
  uploadedBytes = 0;
  downloadedBytes = 0;

  private reader = new LineReader(MAX_LINE);
  private readonly queue: ParsedCommand[] = [];
  private running = false;
  /** Set by finishCurrent(): no further command runs; these resolve when the current one is done. */
  private finishing: (() => void)[] | undefined;
  private closing = false;
  private idleTimer: NodeJS.Timeout;
  private lastRealActivity = Date.now();
  private readonly closeListeners: (() => void)[] = [];

  /** The control connection; replaced by its TLS socket after AUTH TLS. */
  socket: net.Socket;
  /** TLS state once the control connection is encrypted (AUTH TLS or implicit TLS). */
  tls?: SessionTls;
  private readonly onDataListener = (chunk: Buffer): void => this.onData(chunk);

  /** -m: the 5-minute load average at connect time (upstream §5.3: sampled once). */
  readonly connectLoad: number | undefined;

  constructor(
    socket: net.Socket,
    readonly server: ServerContext,
    private readonly dispatcher: Dispatcher,
    connection?: number,
    peer?: Peer,
  ) {
    this.connection = connection;
    this.id = connection ?? nextSessionId++;
    this.connectLoad = server.config.maxLoad !== undefined ? os.loadavg()[1] : undefined;
    // The PROXY header's addresses when a balancer forwards the connection (server/admission.ts).
    const p = peer ?? socketPeer(socket);
    this.ipv6 = p.remoteIp.includes(':');
    this.ref = { id: this.id, ...p };
    this.idleSeconds = server.config.maxIdleSeconds;
    this.language = languageOf(server.config);
    this.idleTimer = setTimeout(() => this.onIdle(), this.idleSeconds * 1000);
    socket.setNoDelay(true);
    this.socket = socket;
    this.listen(socket);
  }

  /** True once logged in (user or anonymous). */
  get loggedIn(): boolean {
    return this.account !== undefined;
  }

  /** True for anonymous sessions. */
  get anonymous(): boolean {
    return this.account?.anonymous === true;
  }

  /** True once close() has started. */
  get isClosing(): boolean {
    return this.closing;
  }

  /** Registers a callback run once when the session ends. */
  onClose(fn: () => void): void {
    this.closeListeners.push(fn);
  }

  /** Sends a reply (or several) on the control connection. */
  send(r: Reply): void {
    if (this.socket.destroyed) return;
    const text = formatReply(r, this.language.catalog);
    if (this.server.bus.has('reply')) {
      for (const line of text.split('\r\n'))
        if (line) this.server.bus.emit('reply', { session: this.ref, line });
    }
    this.socket.write(nameToBytes(text));
  }

  /** Shorthand for send(reply(code, ...lines)). */
  reply(code: number, ...lines: ReplyLine[]): void {
    this.send(reply(code, ...lines));
  }

  /** Waits until the client has read most of what we sent (bounded output). */
  async drained(): Promise<void> {
    if (this.socket.writableLength < OUTPUT_HIGH_WATER || this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Re-arms the idle timer with the session's idle time (SITE IDLE changes it). */
  touch(): void {
    this.idleTimer.refresh();
  }

  /** Ends the session: aborts a transfer, closes data listeners, flushes and closes the socket. */
  close(reason: string): void {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.idleTimer);
    this.queue.length = 0;
    if (this.transfer) {
      this.transfer.reason ??= 'gone';
      this.transfer.abort.abort();
    }
    this.clearData();
    if (!this.socket.destroyed) {
      this.socket.end();
      const t = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
      t.unref();
      this.socket.once('close', () => clearTimeout(t));
    }
    this.server.bus.emit('disconnect', { session: this.ref, reason });
    for (const fn of this.closeListeners) fn();
  }

  private listen(socket: net.Socket): void {
    socket.on('data', this.onDataListener);
    socket.on('error', () => this.close('Connection error'));
    socket.on('close', () => this.close(''));
  }

  /**
   * Stops reading the current socket and forgets every unprocessed byte and queued command: after
   * AUTH TLS, plaintext sent before the handshake must not be executed (upstream §10).
   */
  holdInput(): void {
    this.socket.pause();
    this.socket.off('data', this.onDataListener);
    this.queue.length = 0;
    this.reader = new LineReader(MAX_LINE);
  }

  /** Continues the session on a new socket (the TLS socket that wraps the old one). */
  adoptSocket(socket: net.Socket): void {
    this.socket = socket;
    this.listen(socket);
  }

  /** Drops the pending data-connection setup (a new PASV/PORT, ABOR, or the end of the session). */
  clearData(): void {
    const d = this.data;
    this.data = undefined;
    if (d?.kind === 'passive') d.listener.close();
    else if (d?.kind === 'connected') d.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    for (const line of this.reader.push(chunk)) {
      if (this.closing) return;
      if (line.kind === 'overflow') {
        this.server.bus.log(this.ref, 'WARNING', 'Line too long');
        this.reply(Code.SERVICE_UNAVAILABLE, tr`Line too long`);
        this.close('Line too long');
        return;
      }
      const cmd = parseCommand(line.text);
      if (cmd === undefined) {
        if (line.text.trim() === '') continue; // empty lines are keep-alives for some clients
        this.queue.push({ verb: '', arg: line.text });
      } else if (this.finishing !== undefined) {
        continue; // the server is stopping: nothing new starts
      } else if (this.transfer !== undefined && this.dispatcher.duringTransfer(cmd.verb)) {
        void this.runOne(cmd);
        continue;
      } else {
        this.queue.push(cmd);
      }
    }
    if (this.queue.length >= QUEUE_HIGH_WATER) this.socket.pause();
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closing && this.finishing === undefined) {
        const cmd = this.queue.shift()!;
        await this.runOne(cmd);
        if (this.queue.length < QUEUE_HIGH_WATER / 2 && this.socket.isPaused()) this.socket.resume();
        await this.drained();
      }
    } finally {
      this.running = false;
      for (const done of this.finishing?.splice(0) ?? []) done();
    }
  }

  /**
   * For a draining server: runs no further command, and resolves once the one running (a
   * transfer included) has sent its reply — at once when none runs.
   */
  finishCurrent(): Promise<void> {
    this.finishing ??= [];
    this.queue.length = 0;
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.finishing!.push(resolve));
  }

  private async runOne(cmd: ParsedCommand): Promise<void> {
    this.touch();
    if (cmd.verb === '') {
      this.reply(Code.UNKNOWN_COMMAND, tr`Syntax error, command unrecognized`);
      return;
    }
    if (this.server.bus.has('command')) {
      this.server.bus.emit('command', { session: this.ref, verb: cmd.verb, arg: cmd.arg });
    }
    try {
      const r = await this.dispatcher.execute(this, cmd);
      if (r !== undefined) this.send(r);
    } catch (err) {
      // executeCommand turns every error into a reply; reaching here is a bug: keep serving.
      this.server.bus.log(this.ref, 'ERROR', `internal error in ${cmd.verb}: ${String(err)}`);
      this.reply(Code.LOCAL_ERROR, tr`Internal error`);
    }
  }

  /**
   * Anti-idle bookkeeping (upstream §2.6): commands that do not count as activity may not keep a
   * session alive for more than twice the idle time. Returns false when the session was closed.
   */
  noteActivity(counts: boolean): boolean {
    const now = Date.now();
    if (counts) {
      this.lastRealActivity = now;
      return true;
    }
    if (now - this.lastRealActivity > 2 * this.idleSeconds * 1000) {
      this.reply(Code.SERVICE_UNAVAILABLE, tr`Timeout (no operation for ${2 * this.idleSeconds} seconds)`);
      this.close('Timeout (anti-idle)');
      return false;
    }
    return true;
  }

  /** Changes the idle timeout (SITE IDLE). */
  setIdle(seconds: number): void {
    this.idleSeconds = seconds;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.onIdle(), seconds * 1000);
  }

  private onIdle(): void {
    if (this.closing) return;
    if (this.transfer !== undefined) {
      this.idleTimer.refresh(); // the data connection has its own timeout
      return;
    }
    this.reply(Code.SERVICE_UNAVAILABLE, tr`Timeout - try typing a little faster next time`);
    this.close('Timeout');
  }
}
