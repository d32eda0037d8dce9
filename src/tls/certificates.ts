/**
 * The server certificate (upstream §10, -2/-J): loaded at start-up, reloaded on SIGHUP or when the
 * files change, without dropping a session — sessions keep the context they started with, new
 * ones get the new certificate. A reload that fails keeps the previous certificate and is logged.
 * Each control session gets its own SecureContext (own session-ticket keys) so that a ticket names
 * the control connection it was issued to (see issued-sessions.ts and session-tls.ts).
 */
import { unwatchFile, watchFile } from 'node:fs';
import tls from 'node:tls';
import { IssuedSessions, type Issuer } from './issued-sessions.js';
import type { SniChoice } from './sni-certs.js';
import { loadMaterial, type Material } from './material.js';

export type { Material } from './material.js';

/** TLS 1.2 is the floor (upstream §10: SSLv3, TLS 1.0 and 1.1 are refused). */
export const MIN_TLS_VERSION = 'TLSv1.2';

/**
 * Lifetime of a TLS session, in seconds: the TLS 1.3 maximum (RFC 8446 §4.6.1). Tickets are issued
 * once, at the control connection's handshake, and every data connection must resume one (the
 * session binding): with OpenSSL's usual hour, a control connection older than that got 425 on
 * every transfer. The keys die with the control connection (plus issued-sessions.ts RETAIN_MS).
 */
export const SESSION_LIFETIME_S = 7 * 24 * 3600;

/** What the certificate store needs from the configuration. */
export interface CertificateOptions {
  certFile: string;
  keyFile?: string;
  ciphers?: string;
  /** Require and verify a client certificate against the certificates of the cert file. */
  clientCert: boolean;
}

/** Friendly hint printed when no certificate exists. */
export function missingCertificateHelp(file: string): string {
  return (
    `no TLS certificate at ${file}; give one with -2 cert.pem[,key.pem], ` +
    `or make a self-signed one for testing with: tsftpd gencert ${file}`
  );
}

/** Holds the current certificate and makes per-session TLS contexts from it. */
export class CertificateStore {
  /** Which control connection issued which TLS session (server-wide). */
  readonly issued = new IssuedSessions();
  private material!: Material;
  private watched: string[] = [];
  private reloadTimer?: NodeJS.Timeout;
  private readonly reloadListeners: ((material: Material) => void)[] = [];

  private constructor(
    private readonly opts: CertificateOptions,
    private readonly log: (level: 'INFO' | 'ERROR', message: string) => void,
  ) {}

  /** Loads the certificate; throws with a precise message when it is missing or broken. */
  static async open(
    opts: CertificateOptions,
    log: (level: 'INFO' | 'ERROR', message: string) => void,
  ): Promise<CertificateStore> {
    const store = new CertificateStore(opts, log);
    try {
      store.material = await loadMaterial(opts);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT')
        throw new Error(missingCertificateHelp(opts.certFile));
      throw err;
    }
    return store;
  }

  /** A store over material loaded elsewhere (a worker gets the parent's); it never reads files. */
  static fromMaterial(
    opts: CertificateOptions,
    material: Material,
    log: (level: 'INFO' | 'ERROR', message: string) => void,
  ): CertificateStore {
    const store = new CertificateStore(opts, log);
    store.material = material;
    return store;
  }

  /** The current material (for worker processes). */
  get current(): Material {
    return this.material;
  }

  /** Replaces the material (a worker, when the parent reloaded it). */
  replace(material: Material): void {
    this.material = material;
  }

  /** Runs `fn` with the new material after every successful reload. */
  onReload(fn: (material: Material) => void): void {
    this.reloadListeners.push(fn);
  }

  /** Subject and expiry of the current certificate (for the start-up log). */
  describe(): string {
    return `${this.material.subject.replace(/\n/g, ', ')} (valid until ${this.material.validTo})`;
  }

  /** Server-side TLS options shared by control and data connections. */
  socketOptions(): Pick<tls.TlsOptions, 'requestCert' | 'rejectUnauthorized'> {
    return { requestCert: this.opts.clientCert, rejectUnauthorized: this.opts.clientCert };
  }

  /**
   * -3: what the handshake of a client asking for a server name uses (sni-certs.ts; in a worker, the
   * parent's answer). Unset: every client gets the default certificate.
   */
  sniChooser?: (sni: string) => Promise<SniChoice>;

  /**
   * A context with the ticket keys and session id context of one control connection, for the
   * default certificate or the one chosen for its server name (-3).
   */
  newContext(issuer: Issuer, material: Material = this.material): tls.SecureContext {
    const m = material;
    return tls.createSecureContext({
      key: m.key,
      cert: m.cert,
      ca: this.opts.clientCert ? m.ca : undefined,
      ciphers: this.opts.ciphers,
      honorCipherOrder: true,
      minVersion: MIN_TLS_VERSION,
      maxVersion: 'TLSv1.3',
      sessionTimeout: SESSION_LIFETIME_S,
      ticketKeys: issuer.ticketKeys,
      // OpenSSL refuses to resume a session when a client certificate is requested and no session
      // id context is set ("session id context uninitialized"): without it, -J -C: would break every
      // PROT P data connection. A random one per issuer also ties sessions to their issuer.
      sessionIdContext: issuer.sessionIdContext,
    });
  }

  /** Reloads the files; on failure the previous certificate stays in use. */
  async reload(): Promise<boolean> {
    try {
      this.material = await loadMaterial(this.opts);
      this.log('INFO', `TLS certificate reloaded: ${this.describe()}`);
      for (const fn of this.reloadListeners) fn(this.material);
      return true;
    } catch (err) {
      this.log('ERROR', `TLS certificate reload failed, keeping the previous one: ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * Reloads when the certificate or key file changes. Polling the file's stat (every 2 s) also sees
   * a file replaced by rename, which is how certbot and friends renew certificates.
   */
  watchFiles(): void {
    const files = [this.opts.certFile, ...(this.opts.keyFile ? [this.opts.keyFile] : [])];
    for (const file of files) {
      watchFile(file, { persistent: false, interval: 2000 }, (now, before) => {
        if (now.mtimeMs === before.mtimeMs && now.ino === before.ino && now.size === before.size) return;
        clearTimeout(this.reloadTimer);
        this.reloadTimer = setTimeout(() => void this.reload(), 500);
        this.reloadTimer.unref();
      });
      this.watched.push(file);
    }
  }

  /** Stops watching. */
  close(): void {
    clearTimeout(this.reloadTimer);
    for (const file of this.watched) unwatchFile(file);
    this.watched = [];
  }
}
