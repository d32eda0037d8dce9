/**
 * Switch table, part 10: brute-force bans, the PROXY protocol and the shared state of several nodes
 * (tsftpd's own; Pure-FTPd has none of them). docs/bans.md and docs/cluster.md explain them.
 */
import { parseCidrList } from '../auth/cidr.js';
import { ValueError } from './errors.js';
import type { SwitchSpec } from './switch-spec.js';
import { parseInteger } from './values.js';

/** A week: the longest ban time or window accepted. */
const WEEK = 7 * 86_400;

/** A comma-separated CIDR list, every entry valid. */
function parseNetworks(value: string, what: string): string[] {
  const { list, invalid } = parseCidrList(value);
  if (invalid.length > 0) throw new ValueError(`${invalid.map((i) => `"${i}"`).join(', ')}: not ${what}`);
  if (list.length === 0) throw new ValueError(`give at least one ${what}`);
  return list.map((c) => c.text);
}

/** --ban-*, --proxy-protocol, --state, --node-name. */
export const CLUSTER_SWITCHES: readonly SwitchSpec[] = [
  {
    name: 'ban-after',
    arg: 'N',
    help: 'ban a client address after N failed logins within --ban-window (default 20; 0: no bans)',
    conf: [{ key: 'BanAfter', form: 'value' }],
    apply: (c, v) => void (c.ban = { ...c.ban, after: parseInteger(v, 'the failure count', 0, 1_000_000) }),
  },
  {
    name: 'ban-window',
    arg: 'seconds',
    help: 'the window in which failed logins count towards a ban (default 600)',
    conf: [{ key: 'BanWindow', form: 'value' }],
    apply: (c, v) => void (c.ban = { ...c.ban, windowSeconds: parseInteger(v, 'the window', 1, WEEK) }),
  },
  {
    name: 'ban-time',
    arg: 'seconds',
    help: 'length of a first ban (default 900); each new ban of the same address within a day doubles it',
    conf: [{ key: 'BanTime', form: 'value' }],
    apply: (c, v) => void (c.ban = { ...c.ban, seconds: parseInteger(v, 'the ban time', 1, WEEK) }),
  },
  {
    name: 'ban-max-time',
    arg: 'seconds',
    help: 'the longest ban (default 86400)',
    conf: [{ key: 'BanMaxTime', form: 'value' }],
    apply: (c, v) => void (c.ban = { ...c.ban, maxSeconds: parseInteger(v, 'the longest ban', 1, WEEK) }),
  },
  {
    name: 'ban-allow',
    arg: 'cidr[,cidr...]',
    help: 'networks never banned (an office, a monitoring host)',
    conf: [{ key: 'BanAllow', form: 'value' }],
    apply: (c, v) => void (c.ban = { ...c.ban, allow: parseNetworks(v, 'an address or network (CIDR)') }),
  },
  {
    name: 'ban-account-after',
    arg: 'N',
    help: 'lock an account for --ban-time after N failed logins for it from any address (default 0: off)',
    conf: [{ key: 'BanAccountAfter', form: 'value' }],
    apply: (c, v) =>
      void (c.ban = { ...c.ban, accountAfter: parseInteger(v, 'the failure count', 0, 1_000_000) }),
  },
  {
    name: 'proxy-protocol',
    arg: 'cidr[,cidr...]',
    help: 'connections come through these proxies (HAProxy send-proxy / send-proxy-v2) with a PROXY header giving the client address; other connections are refused',
    conf: [{ key: 'ProxyProtocol', form: 'value' }],
    apply: (c, v) => void (c.proxyProtocol = parseNetworks(v, 'an address or network (CIDR)')),
  },
  {
    name: 'state',
    arg: 'redis://host:port[/db]',
    help: 'share limits, bans and the session list with the other nodes through this Redis server',
    conf: [{ key: 'State', form: 'value' }],
    apply: (c, v) => {
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        throw new ValueError('expected redis://host:port[/db] (or rediss:// for TLS)');
      }
      if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
        throw new ValueError('expected redis://host:port[/db] (or rediss:// for TLS)');
      if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname))
        throw new ValueError('the database is a number: redis://host:port/0');
      c.state = v;
    },
  },
  {
    name: 'node-name',
    arg: 'name',
    help: "this node's name in the shared state and in `tsftpd who` (default: the host name and port)",
    conf: [{ key: 'NodeName', form: 'value' }],
    apply: (c, v) => {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(v)) throw new ValueError('1 to 64 of A-Z a-z 0-9 . _ -');
      c.nodeName = v;
    },
  },
];
