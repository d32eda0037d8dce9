/**
 * The metrics listener (`--metrics`, docs/operations.md): Prometheus text at /metrics (every
 * process's registry, aggregated by prom-client) and a status page at /status that updates itself
 * from /status.json. Off by default; a lone port binds to loopback; optional HTTP basic
 * authentication (`--metrics-auth FILE`). Bounded: connections, header size and request time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OpsSource } from './ops-source.js';
import { aggregate, sumOf } from '../telemetry/metrics.js';
import {
  STATUS_CSP,
  STATUS_CSS,
  STATUS_HTML,
  STATUS_JS,
  type StatusJson,
} from '../telemetry/status-assets.js';

/** Bounds of the listener. */
const MAX_CONNECTIONS = 64;
const REQUEST_TIMEOUT_MS = 10_000;
/** Most sessions in one /status.json (the page polls it every second; the totals count them all). */
const MAX_STATUS_ROWS = 500;

/** Reads `USER:PASSWORD` (first line) from the credentials file; throws a sentence when it cannot. */
export function readCredentials(file: string): { user: string; password: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the metrics credentials file ${file}: ${(err as Error).message}`);
  }
  const line = text.split('\n')[0].replace(/\r$/, '');
  const colon = line.indexOf(':');
  if (colon <= 0 || colon === line.length - 1)
    throw new Error(`${file}: the first line must be USER:PASSWORD`);
  return { user: line.slice(0, colon), password: line.slice(colon + 1) };
}

/** Constant-time check of an `Authorization: Basic ...` header. */
function authorized(header: string | undefined, expected: Buffer): boolean {
  const m = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (m === null) return false;
  const given = createHash('sha256').update(Buffer.from(m[1], 'base64')).digest();
  return timingSafeEqual(given, expected);
}

/** The running listener. */
export class MetricsServer {
  private constructor(
    private readonly server: http.Server,
    readonly address: AddressInfo,
  ) {}

  /** Listens on `where`; rejects with a sentence when it cannot (the port is taken, ...). */
  static async open(
    where: { host: string; port: number },
    source: OpsSource,
    info: { version: string; started: number; authFile?: string },
  ): Promise<MetricsServer> {
    const creds = info.authFile === undefined ? undefined : readCredentials(info.authFile);
    const expected =
      creds === undefined
        ? undefined
        : createHash('sha256').update(`${creds.user}:${creds.password}`, 'utf8').digest();
    const server = http.createServer((req, res) => {
      void handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`error: ${String(err)}\n`);
      });
    });
    server.maxConnections = MAX_CONNECTIONS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.headersTimeout = REQUEST_TIMEOUT_MS;
    server.maxHeadersCount = 64;
    const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
      const common = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
      if (expected !== undefined && !authorized(req.headers.authorization, expected)) {
        res.writeHead(401, { ...common, 'www-authenticate': 'Basic realm="tsftpd", charset="UTF-8"' });
        res.end('authentication required\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { ...common, allow: 'GET, HEAD' });
        res.end();
        return;
      }
      const send = (type: string, body: string, extra: Record<string, string> = {}): void => {
        res.writeHead(200, { ...common, ...extra, 'content-type': type });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      const page = { 'content-security-policy': STATUS_CSP, 'x-frame-options': 'DENY' };
      const url = (req.url ?? '/').replace(/\?.*$/, '');
      switch (url) {
        case '/metrics': {
          const registry = aggregate(await source.metrics());
          send(registry.contentType, await registry.metrics());
          return;
        }
        case '/':
          res.writeHead(302, { ...common, location: 'status' });
          res.end();
          return;
        case '/status':
          send('text/html; charset=utf-8', STATUS_HTML, page);
          return;
        case '/status.js':
          send('text/javascript; charset=utf-8', STATUS_JS, page);
          return;
        case '/status.css':
          send('text/css; charset=utf-8', STATUS_CSS, page);
          return;
        case '/status.json':
          send('application/json', JSON.stringify(await statusJson(source, info)));
          return;
        default:
          res.writeHead(404, { ...common, 'content-type': 'text/plain' });
          res.end('not found\n');
      }
    };
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(where.port, where.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    return new MetricsServer(server, server.address() as AddressInfo);
  }

  /** Stops listening and drops open connections. */
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** What the status page polls: the session list and the totals. */
async function statusJson(
  source: OpsSource,
  info: { version: string; started: number },
): Promise<StatusJson> {
  const [sessions, all] = await Promise.all([source.who(), source.metrics()]);
  const json = await aggregate(all).getMetricsAsJSON();
  const p = source.processes();
  return {
    server: {
      version: info.version,
      pid: process.pid,
      started: info.started,
      now: Date.now(),
      processes: p.total,
      workers: p.workers,
    },
    totals: {
      sessions: sessions.length,
      bytesIn: sumOf(json, 'tsftpd_transfer_bytes_total', { direction: 'in' }),
      bytesOut: sumOf(json, 'tsftpd_transfer_bytes_total', { direction: 'out' }),
      uploads: sumOf(json, 'tsftpd_transfers_total', { direction: 'upload' }),
      downloads: sumOf(json, 'tsftpd_transfers_total', { direction: 'download' }),
      loginsOk: sumOf(json, 'tsftpd_logins_total', { result: 'ok' }),
      loginsFailed: sumOf(json, 'tsftpd_logins_total', { result: 'failed' }),
    },
    // Transfers first, then the most recent sessions: what a person watching wants to see.
    sessions: [...sessions]
      .sort((a, b) => Number(a.state === 'IDLE') - Number(b.state === 'IDLE') || b.since - a.since)
      .slice(0, MAX_STATUS_ROWS),
  };
}
