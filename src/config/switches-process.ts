/**
 * Switch table, part 5: the process model (docs/architecture.md "Processes"): how many session
 * workers serve, and which unprivileged user they run as when the server is started as root.
 */
import type { SwitchSpec } from './switch-spec.js';
import { ValueError } from './errors.js';
import { parseInteger } from './values.js';

/** Most session workers (a bound: each is a Node.js process). */
export const MAX_WORKERS = 256;

/** --workers, --run-as and --inetd. */
export const PROCESS_SWITCHES: readonly SwitchSpec[] = [
  {
    name: 'workers',
    arg: 'count',
    help: 'session worker processes (default: one per CPU; 1 serves in a single process when not root)',
    conf: [{ key: 'Workers', form: 'value' }],
    apply: (c, v) => void (c.workers = parseInteger(v, 'the number of workers', 1, MAX_WORKERS)),
  },
  {
    name: 'run-as',
    arg: 'user',
    help: 'unprivileged user the session workers run as when started as root (default: tsftpd, ftp or nobody)',
    conf: [{ key: 'RunAs', form: 'value' }],
    apply: (c, v) => {
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$|^\d{1,10}$/.test(v))
        throw new ValueError('a user name or uid');
      c.runAs = v;
    },
  },
  {
    name: 'inetd',
    help: 'serve the one connection on standard input, then exit (inetd, xinetd, tcpserver; detected by itself)',
    conf: [{ key: 'Inetd', form: 'bool' }],
    apply: (c) => void (c.inetd = true),
  },
];
