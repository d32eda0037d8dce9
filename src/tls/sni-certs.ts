/**
 * Certificates per SNI name (-3, upstream §10): for each name a client asks for, the certificate
 * program behind `tsftpd certd` (or Pure-FTPd's pure-certd) says deny, default, fallback or strict,
 * and which files to use. Runs where key files can be read: the single process, or the root parent
 * (workers ask it over IPC and get the PEM material, as they get the default certificate).
 *
 * Answers are cached per name for ANSWER_TTL_MS and certificates per file pair until the files
 * change (checked at most every FILE_CHECK_MS) or SIGHUP clears everything; both caches are
 * bounded. A certd that does not answer within CERTD_TIMEOUT_MS is "not ready": the handshake is
 * refused, as Pure-FTPd refuses it.
 */
import net from 'node:net';
import { stat } from 'node:fs/promises';
import { CERTD_MAX_REPLY, certdRequest, parseCertdAnswer, type CertdAnswer } from './certd-protocol.js';
import { loadMaterial, type Material } from './material.js';

/** How long one certd exchange may take. */
export const CERTD_TIMEOUT_MS = 5000;
/** How long an answer is reused for the same name. */
const ANSWER_TTL_MS = 60_000;
/** How often a cached certificate's files are checked for a change. */
const FILE_CHECK_MS = 2000;
/** Names and file pairs remembered at most (the oldest is forgotten first). */
const MAX_CACHED = 1024;
/**
 * Questions to the certificate program in flight at once (each may run a program): clients sending
 * many new names cannot make this process open unbounded connections; beyond it, "not ready".
 */
const MAX_IN_FLIGHT = 64;

/** What a handshake does for one name. */
export type SniChoice =
  | { kind: 'default' }
  | { kind: 'cert'; material: Material }
  /** The handshake is refused; `reason` is Pure-FTPd's text (logged). */
  | { kind: 'refuse'; reason: string };

interface CachedMaterial {
  material: Material;
  signature: string;
  checkedAt: number;
}

/** Puts a key last in a Map used as an LRU, dropping the oldest beyond the bound. */
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_CACHED) map.delete(map.keys().next().value as K);
}

/** Asks certd about one name; undefined when it cannot be reached or answers nonsense in time. */
export function askCertd(
  socketPath: string,
  sni: string,
  timeoutMs = CERTD_TIMEOUT_MS,
): Promise<CertdAnswer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const socket = net.createConnection(socketPath);
    const done = (answer: CertdAnswer | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('connect', () => socket.write(certdRequest(sni)));
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > CERTD_MAX_REPLY) return done(undefined);
      chunks.push(chunk);
      const answer = parseCertdAnswer(Buffer.concat(chunks).toString('utf8'));
      if (answer !== undefined) done(answer);
    });
    socket.on('end', () => done(parseCertdAnswer(Buffer.concat(chunks).toString('utf8'))));
    socket.on('error', () => done(undefined));
  });
}

/** The SNI certificate chooser of one server. */
export class SniCertificates {
  private readonly answers = new Map<string, { answer: CertdAnswer; at: number }>();
  private readonly materials = new Map<string, CachedMaterial>();
  /** Questions being asked, by name: handshakes asking for the same name share one. */
  private readonly inFlight = new Map<string, Promise<CertdAnswer | undefined>>();

  constructor(
    private readonly socketPath: string,
    private readonly log: (level: 'INFO' | 'WARNING' | 'ERROR', message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Forgets every answer and certificate (SIGHUP). */
  clear(): void {
    this.answers.clear();
    this.materials.clear();
  }

  /** Decides what the handshake of a client that asked for `sni` uses. */
  async choose(sni: string): Promise<SniChoice> {
    const answer = await this.answer(sni);
    if (answer === undefined) {
      this.log('ERROR', `TLS: the certificate program at ${this.socketPath} did not answer for [${sni}]`);
      return { kind: 'refuse', reason: 'Cert handler not ready' };
    }
    switch (answer.action) {
      case 'deny':
        this.log('WARNING', `TLS: certificate program denied [${sni}]`);
        return { kind: 'refuse', reason: 'Logout.' };
      case 'default':
        return { kind: 'default' };
      case 'fallback':
      case 'strict': {
        const loaded = await this.material(answer);
        if (loaded.material !== undefined) return { kind: 'cert', material: loaded.material };
        this.log(
          answer.action === 'strict' ? 'ERROR' : 'WARNING',
          `TLS: certificate for [${sni}]: ${loaded.problem}` +
            (answer.action === 'strict' ? '; refusing the handshake' : '; using the default certificate'),
        );
        if (answer.action === 'fallback') return { kind: 'default' };
        return { kind: 'refuse', reason: loaded.missing ? 'Missing certificate' : 'Invalid certificate' };
      }
    }
  }

  private async answer(sni: string): Promise<CertdAnswer | undefined> {
    const cached = this.answers.get(sni);
    if (cached !== undefined && this.now() - cached.at < ANSWER_TTL_MS) return cached.answer;
    let asking = this.inFlight.get(sni);
    if (asking === undefined) {
      if (this.inFlight.size >= MAX_IN_FLIGHT) return undefined;
      asking = askCertd(this.socketPath, sni).then((answer) => {
        this.inFlight.delete(sni);
        if (answer !== undefined) remember(this.answers, sni, { answer, at: this.now() });
        return answer;
      });
      this.inFlight.set(sni, asking);
    }
    return asking;
  }

  /** The certificate an answer names, from the cache while its files are unchanged. */
  private async material(
    answer: CertdAnswer,
  ): Promise<{ material?: Material; problem?: string; missing?: boolean }> {
    if (answer.certFile === undefined) return { problem: 'no cert_file given', missing: true };
    const key = `${answer.certFile}\0${answer.keyFile ?? ''}`;
    const cached = this.materials.get(key);
    const now = this.now();
    if (cached !== undefined && now - cached.checkedAt < FILE_CHECK_MS) return { material: cached.material };
    let signature: string;
    try {
      signature = await this.signature(answer);
    } catch (err) {
      return { problem: `${(err as Error).message}`, missing: true };
    }
    if (cached !== undefined && cached.signature === signature) {
      cached.checkedAt = now;
      return { material: cached.material };
    }
    try {
      const material = await loadMaterial({ certFile: answer.certFile, keyFile: answer.keyFile });
      remember(this.materials, key, { material, signature, checkedAt: now });
      if (cached !== undefined) this.log('INFO', `TLS: certificate ${answer.certFile} reloaded`);
      return { material };
    } catch (err) {
      return { problem: (err as Error).message, missing: false };
    }
  }

  /** What identifies the files' current content (inode, size, mtime of each). */
  private async signature(answer: CertdAnswer): Promise<string> {
    const files = [answer.certFile!, ...(answer.keyFile !== undefined ? [answer.keyFile] : [])];
    const parts: string[] = [];
    for (const file of files) {
      const st = await stat(file).catch(() => {
        throw new Error(`${file} does not exist or cannot be read`);
      });
      if (!st.isFile()) throw new Error(`${file} is not a regular file`);
      parts.push(`${st.ino}:${st.size}:${st.mtimeMs}`);
    }
    return parts.join('|');
  }
}
