/**
 * Switch table, part 6: the operations side (docs/operations.md): the who socket `tsftpd who`
 * reads, and the metrics listener with its status page.
 */
import type { SwitchSpec } from './switch-spec.js';
import { ValueError } from './errors.js';
import { parsePath } from './values.js';

/**
 * `ADDR:PORT`, `[v6]:PORT` or a lone `PORT` (loopback): where the metrics listener binds. An
 * address other than loopback must be written out: metrics are never exposed by accident.
 */
export function parseListenAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$|^(\d{1,5})$/.exec(text);
  if (m === null) throw new ValueError('expected ADDR:PORT, [IPv6]:PORT or PORT');
  const port = Number(m[3] ?? m[4]);
  if (port < 1 || port > 65535) throw new ValueError('the port must be from 1 to 65535');
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

/** --who-socket, --metrics, --metrics-auth. */
export const OPS_SWITCHES: readonly SwitchSpec[] = [
  {
    name: 'who-socket',
    arg: 'path',
    help: "the server's session list socket that `tsftpd who` reads (default: one per server in /var/run/tsftpd, or a per-user directory when not root; none: off)",
    conf: [{ key: 'WhoSocket', form: 'value' }],
    apply: (c, v, ctx) => void (c.whoSocket = v === 'none' ? false : parsePath(v, ctx.cwd, 'the who socket')),
  },
  {
    name: 'metrics',
    arg: 'addr:port',
    help: 'serve Prometheus metrics at /metrics and a live status page at /status (a lone PORT binds to 127.0.0.1)',
    conf: [{ key: 'Metrics', form: 'value' }],
    apply: (c, v) => void (c.metrics = parseListenAddress(v)),
  },
  {
    name: 'metrics-auth',
    arg: 'file',
    help: 'ask for HTTP basic authentication on the metrics listener; FILE holds one line USER:PASSWORD',
    conf: [{ key: 'MetricsAuth', form: 'value' }],
    apply: (c, v, ctx) => void (c.metricsAuth = parsePath(v, ctx.cwd, 'the metrics credentials file')),
  },
];
