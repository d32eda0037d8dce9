/**
 * The telemetry bus (docs/architecture.md): handlers emit typed events; logs, the scoreboard, upload
 * hooks and metrics subscribe. Emitting never throws into a handler: a failing listener is logged.
 */
import { EventEmitter } from 'node:events';

/** Who a session is, as events report it. */
export interface SessionRef {
  id: number;
  remoteIp: string;
  remotePort: number;
  localIp: string;
  localPort: number;
  /** Account name once logged in (`ftp` for anonymous). */
  account?: string;
}

/** Severity, as in Pure-FTPd's syslog lines (upstream §9.1). */
export type LogLevel = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';

/** Every event and its payload. */
export interface Events {
  connect: { session: SessionRef };
  disconnect: { session: SessionRef; reason: string };
  /** `vhost`: the local address of a virtual host whose root an anonymous session got. */
  login: { session: SessionRef; account: string; anonymous: boolean; backend: string; vhost?: string };
  /** `backend`: the backend that refused, `none` when no backend knew the login. */
  'login-failed': { session: SessionRef; login: string; reason: string; backend: string };
  'transfer-start': {
    session: SessionRef;
    direction: 'upload' | 'download';
    /** A directory listing (LIST, NLST, MLSD), not a file transfer. */
    listing: boolean;
    path: string;
    offset: number;
  };
  'transfer-end': {
    session: SessionRef;
    direction: 'upload' | 'download';
    /** A directory listing (LIST, NLST, MLSD): not logged as a download, nor counted as one. */
    listing: boolean;
    path: string;
    realPath: string;
    bytes: number;
    seconds: number;
    ok: boolean;
    /** TYPE A (ASCII conversion) rather than binary. */
    ascii: boolean;
  };
  'upload-complete': { session: SessionRef; path: string; realPath: string; bytes: number };
  command: { session: SessionRef; verb: string; arg: string };
  reply: { session: SessionRef; line: string };
  log: { session?: SessionRef; level: LogLevel; message: string };
}

/** Typed wrapper around an EventEmitter. */
export class EventBus {
  private readonly emitter = new EventEmitter({ captureRejections: false });

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  /** Subscribes to one event type. */
  on<K extends keyof Events>(name: K, listener: (event: Events[K]) => void): () => void {
    const wrapped = (event: Events[K]): void => {
      try {
        listener(event);
      } catch (err) {
        if (name !== 'log')
          this.log(undefined, 'ERROR', `telemetry listener for ${name} failed: ${String(err)}`);
      }
    };
    this.emitter.on(name, wrapped);
    return () => this.emitter.off(name, wrapped);
  }

  /** Publishes an event to every subscriber. */
  emit<K extends keyof Events>(name: K, event: Events[K]): void {
    this.emitter.emit(name, event);
  }

  /** True when someone listens (lets hot paths skip building payloads). */
  has(name: keyof Events): boolean {
    return this.emitter.listenerCount(name) > 0;
  }

  /** Shorthand for a `log` event. */
  log(session: SessionRef | undefined, level: LogLevel, message: string): void {
    this.emitter.emit('log', { session, level, message });
  }
}

/** Receives formatted log records; `flush` writes what was gathered. */
export interface LogSink {
  /** `fields`: the event's structured fields (`event`, `path`, `bytes`, ...), for JSON output. */
  write(
    level: LogLevel,
    session: SessionRef | undefined,
    message: string,
    fields?: Record<string, unknown>,
  ): void;
  flush(): void;
}
