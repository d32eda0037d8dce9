/**
 * `-S [address],[port]` (upstream §1.2): no comma means the whole value is the port, so an address alone
 * needs a trailing comma; the port may be a service name. The address is kept from the first -S of a
 * source and the port from the last, as Pure-FTPd does. `-S 127.0.0.1` is a port for Pure-FTPd and
 * fails later at bind time (upstream §15.18); tsftpd refuses it at once and suggests the intended form.
 */
import { isIP } from 'node:net';
import { ValueError } from './errors.js';
import type { ApplyContext } from './switch-spec.js';
import type { Config } from './types.js';
import { isHostOrAddress } from './values.js';

/** Applies one `-S` / `Bind` value to `config.bind`. */
export async function applyBind(
  config: Pick<Config, 'bind'>,
  value: string,
  ctx: ApplyContext,
): Promise<void> {
  const comma = value.indexOf(',');
  if (comma < 0) {
    config.bind.port = await parsePort(value, ctx, true);
    return;
  }
  let host = value.slice(0, comma);
  const port = value.slice(comma + 1);
  if (host === '' && port === '') throw new ValueError('expected address,port or address, or ,port or port');
  if (host !== '') {
    // Brackets are the URL habit for IPv6; Pure-FTPd's getaddrinfo would reject them, tsftpd is kinder.
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    if (!isHostOrAddress(host)) throw new ValueError(`"${host}" is not an IP address or a host name`);
    if (ctx.firstInSource('bind-address')) config.bind.host = host;
  }
  if (port !== '') config.bind.port = await parsePort(port, ctx, false);
}

async function parsePort(text: string, ctx: ApplyContext, noComma: boolean): Promise<number> {
  if (/^\d+$/.test(text)) {
    const port = Number(text);
    if (port > 65535) throw new ValueError('the port must be <= 65535');
    return port;
  }
  const service = await ctx.lookupService(text);
  if (service !== undefined) return service;
  if (noComma && looksLikeAddress(text)) {
    throw new ValueError(`no comma, so this is read as a port; did you mean ${suggestion(text)}?`);
  }
  throw new ValueError(`"${text}" is neither a port number nor a service name from /etc/services`);
}

function looksLikeAddress(text: string): boolean {
  return isIP(text) !== 0 || text.includes('.') || text.includes(':') || text === 'localhost';
}

/** `127.0.0.1` → `127.0.0.1,21`; `[::1]:2121` and `host:2121` → `::1,2121`, `host,2121`. */
function suggestion(text: string): string {
  if (isIP(text) !== 0) return `${text},21`;
  const withPort = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text);
  if (withPort !== null) return `${withPort[1]},${withPort[2]}`;
  return `${text},21`;
}
