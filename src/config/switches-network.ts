/**
 * Switch table, part 1: listening, connection limits, data channel and logging (upstream §1.2, §6.4, §9.1).
 */
import { parseAltLog } from '../telemetry/altlog.js';
import { DEFAULT_UPLOAD_PIPE } from '../telemetry/upload-pipe.js';
import { isIPv6 } from 'node:net';
import { applyBind } from './bind.js';
import { parsePassiveRules } from '../data/passive-address.js';
import { ValueError } from './errors.js';
import type { SwitchSpec } from './switch-spec.js';
import { parseInteger, parsePath, splitPair, UINT_MAX } from './values.js';

/** Pure-FTPd's default idle timeout in minutes, also used for `-I 0` or junk (upstream §1.2 -I). */
const DEFAULT_IDLE_MINUTES = 15;
/** Longest timer Node can arm (2^31-1 ms), in seconds: a larger -I would fire at once. */
const MAX_IDLE_SECONDS = 2147483;

/** syslog facility names accepted by -f (upstream §1.2; syslog(3) defines local0..local7 only). */
// prettier-ignore
const FACILITIES = new Set([
  'auth', 'authpriv', 'cron', 'daemon', 'ftp', 'kern', 'lpr', 'mail', 'mark', 'news', 'security', 'syslog',
  'user', 'uucp', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
]);

/** Listening, limits, data channel and logging switches. */
export const NETWORK_SWITCHES: readonly SwitchSpec[] = [
  {
    short: 'S',
    pureName: 'bind',
    name: 'bind',
    arg: '[address],[port]',
    help: 'listen address and port; port alone, address, (trailing comma), ,port; service names work',
    conf: [{ key: 'Bind', form: 'value' }],
    apply: applyBind,
  },
  {
    short: '4',
    pureName: 'ipv4only',
    name: 'ipv4-only',
    help: 'listen on IPv4 only',
    conf: [{ key: 'IPV4Only', form: 'bool' }],
    apply: (c) => void (c.ipv4Only = true),
  },
  {
    short: '6',
    pureName: 'ipv6only',
    name: 'ipv6-only',
    help: 'listen on IPv6 only',
    conf: [{ key: 'IPV6Only', form: 'bool' }],
    apply: (c) => void (c.ipv6Only = true),
  },
  {
    short: 'c',
    pureName: 'maxclientsnumber',
    name: 'max-clients',
    arg: 'count',
    help: 'maximum simultaneous sessions (default 50; at most half the passive ports)',
    conf: [{ key: 'MaxClientsNumber', form: 'value' }],
    apply: (c, v) => void (c.maxClients = parseInteger(v, 'the number of clients', 1, UINT_MAX)),
  },
  {
    short: 'C',
    pureName: 'maxclientsperip',
    name: 'max-clients-per-ip',
    arg: 'count',
    help: 'maximum simultaneous sessions from one client IP (default unlimited)',
    conf: [{ key: 'MaxClientsPerIP', form: 'value' }],
    apply: (c, v) => void (c.maxClientsPerIp = parseInteger(v, 'the number of clients per IP', 1, UINT_MAX)),
  },
  {
    short: 'I',
    pureName: 'maxidletime',
    name: 'max-idle-time',
    arg: 'minutes',
    help: 'idle timeout in minutes (default 15; 0 or junk means 15)',
    conf: [{ key: 'MaxIdleTime', form: 'value' }],
    apply: (c, v) => {
      // Pure-FTPd: strtoul(optarg) * 60, and 0 falls back to 15 minutes without complaint (upstream §1.2).
      const leading = /^\s*\+?(\d+)/.exec(v);
      const minutes = leading === null ? 0 : Number(leading[1]);
      const seconds = (minutes === 0 ? DEFAULT_IDLE_MINUTES : minutes) * 60;
      c.maxIdleSeconds = Math.min(seconds, MAX_IDLE_SECONDS);
    },
  },
  {
    short: 'p',
    pureName: 'passiveportrange',
    name: 'passive-port-range',
    arg: 'first:last',
    help: 'passive data ports, inclusive (default 1024:65535)',
    conf: [{ key: 'PassivePortRange', form: 'pair' }],
    apply: (c, v) => {
      const [firstText, lastText] = splitPair(v, 'first:last, such as 30000:30099');
      const first = parseInteger(firstText, 'the first passive port', 1024, 65535);
      const last = parseInteger(lastText, 'the last passive port', 0, 65535);
      if (last < first) throw new ValueError('the last passive port must be >= the first');
      c.passivePorts = { first, last };
    },
  },
  {
    short: 'P',
    pureName: 'forcepassiveip',
    name: 'force-passive-ip',
    arg: 'address|rules',
    help: 'IPv4 address or host name announced in PASV replies (NAT), or one per client network: 10.0.0.0/8=10.1.2.3,*=ftp.example.com (names are re-resolved every minute)',
    conf: [{ key: 'ForcePassiveIP', form: 'value' }],
    apply: (c, v, ctx) => {
      if (isIPv6(v))
        throw new ValueError('PASV replies carry an IPv4 address; give an IPv4 address or a host name');
      try {
        parsePassiveRules(v);
      } catch (err) {
        throw new ValueError((err as Error).message);
      }
      // Pure-FTPd keeps the first -P (upstream §1.2); a later source still overrides an earlier one.
      if (ctx.firstInSource('force-passive-ip')) c.forcePassiveIp = v;
    },
  },
  {
    short: 'N',
    pureName: 'natmode',
    name: 'nat-mode',
    help: 'active mode only: PASV, EPSV and friends become unknown commands',
    conf: [{ key: 'NATmode', form: 'bool' }],
    apply: (c) => void (c.natMode = true),
  },
  {
    short: 'H',
    pureName: 'dontresolve',
    name: 'dont-resolve',
    help: 'do not resolve client addresses to host names',
    conf: [{ key: 'DontResolve', form: 'bool' }],
    apply: (c) => void (c.dontResolve = true),
  },
  {
    short: 'B',
    pureName: 'daemonize',
    name: 'daemonize',
    help: 'run in the background',
    conf: [{ key: 'Daemonize', form: 'bool' }],
    apply: (c) => void (c.daemonize = true),
  },
  {
    short: 'g',
    pureName: 'pidfile',
    name: 'pid-file',
    arg: 'file',
    help: 'write the process id to this file',
    conf: [{ key: 'PIDFile', form: 'value' }],
    apply: (c, v, ctx) => void (c.pidFile = parsePath(v, ctx.cwd, 'the PID file')),
  },
  {
    short: 'f',
    pureName: 'syslogfacility',
    name: 'syslog-facility',
    arg: 'facility',
    help: 'log to syslog with this facility (ftp, daemon, local0..local7, ...) instead of stderr; none: stderr',
    conf: [{ key: 'SyslogFacility', form: 'value' }],
    apply: (c, v) => {
      const facility = v.toLowerCase();
      // Pure-FTPd only logs an unknown facility and goes on (upstream §1.2); a typo should stop start-up.
      if (facility !== 'none' && !FACILITIES.has(facility)) {
        throw new ValueError(
          `unknown syslog facility (expected none or one of ${[...FACILITIES].join(', ')})`,
        );
      }
      c.syslogFacility = facility;
    },
  },
  {
    short: 'O',
    pureName: 'altlog',
    name: 'alt-log',
    arg: '[format:]file',
    help: 'transfer log in clf (default), stats, w3c or xferlog format, one line per file transfer',
    conf: [{ key: 'AltLog', form: 'value' }],
    apply: (c, v) => {
      try {
        c.altLog = parseAltLog(v);
      } catch (err) {
        throw new ValueError((err as Error).message);
      }
    },
  },
  {
    short: 'F',
    pureName: 'fortunesfile',
    name: 'fortunes-file',
    arg: 'file',
    help: 'a random cookie of this fortune file (cookies separated by % lines) replaces the greeting',
    conf: [{ key: 'FortunesFile', form: 'value' }],
    apply: (c, v, ctx) => void (c.fortunesFile = parsePath(v, ctx.cwd, 'the fortunes file')),
  },
  {
    short: 'm',
    pureName: 'maxload',
    name: 'max-load',
    arg: 'load',
    help: 'refuse anonymous downloads when the 5-minute load average at connect time is at least this',
    conf: [{ key: 'MaxLoad', form: 'value' }],
    apply: (c, v) => {
      const load = Number(v);
      if (!/^\d+(\.\d+)?$/.test(v) || !(load > 0)) throw new ValueError('the load must be a number above 0');
      c.maxLoad = load;
    },
  },
  {
    short: 'k',
    pureName: 'maxdiskusagepct',
    name: 'max-disk-usage',
    arg: 'percent',
    help: 'refuse uploads when the file system is more than this percent full (0 or 100 and more: off)',
    conf: [{ key: 'MaxDiskUsage', form: 'value' }],
    apply: (c, v) => {
      const pct = parseInteger(v, 'the percentage', 0, UINT_MAX);
      c.maxDiskUsage = pct > 0 && pct < 100 ? pct : undefined;
    },
  },
  {
    short: 's',
    pureName: 'antiwarez',
    name: 'anti-warez',
    help: 'anonymous users cannot download files owned by the ftp account (uploads waiting for approval)',
    conf: [{ key: 'AntiWarez', form: 'bool' }],
    apply: (c) => void (c.antiWarez = true),
  },
  {
    short: 'Z',
    pureName: 'customerproof',
    name: 'customer-proof',
    help: "SITE CHMOD keeps the owner's read and write (and x on directories)",
    conf: [{ key: 'CustomerProof', form: 'bool' }],
    apply: (c) => void (c.customerProof = true),
  },
  {
    short: 'o',
    pureName: 'uploadscript',
    name: 'upload-script',
    help: 'pass every completed upload to the upload script (tsftpd uploadscript) through the upload pipe',
    conf: [{ key: 'CallUploadScript', form: 'bool' }],
    apply: (c) => void (c.uploadScript = true),
  },
  {
    name: 'upload-pipe',
    arg: 'path',
    help: `the FIFO of -o (default ${DEFAULT_UPLOAD_PIPE})`,
    conf: [{ key: 'UploadPipe', form: 'value' }],
    apply: (c, v, ctx) => void (c.uploadPipe = parsePath(v, ctx.cwd, 'the upload pipe')),
  },
  {
    short: '1',
    pureName: 'logpid',
    name: 'log-pid',
    help: 'add the process id to syslog records',
    conf: [{ key: 'LogPID', form: 'bool' }],
    apply: (c) => void (c.logPid = true),
  },
  {
    name: 'syslog-socket',
    arg: 'path',
    help: 'the local syslog socket used with -f (default /dev/log)',
    conf: [{ key: 'SyslogSocket', form: 'value' }],
    apply: (c, v, ctx) => void (c.syslogSocket = parsePath(v, ctx.cwd, 'the syslog socket')),
  },
  {
    short: 'd',
    pureName: 'verboselog',
    name: 'verbose-log',
    help: 'log every command; twice: every reply too',
    conf: [{ key: 'VerboseLog', form: 'bool' }],
    apply: (c, _v, ctx) => {
      if (ctx.firstInSource('verbose-log')) c.verboseLog = 0;
      // Pure-FTPd counts at most two -d and ignores the rest (upstream §1.2).
      c.verboseLog = Math.min(2, c.verboseLog + 1);
    },
  },
  {
    name: 'log-format',
    arg: 'text|json',
    help: 'log line format on stderr: text (Pure-FTPd style, default) or json (one object per line)',
    conf: [{ key: 'LogFormat', form: 'value' }],
    apply: (c, v) => {
      if (v !== 'text' && v !== 'json') throw new ValueError('expected text or json');
      c.logFormat = v;
    },
  },
];
