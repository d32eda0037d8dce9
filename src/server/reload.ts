/**
 * SIGHUP (docs/configuration.md "Reloading"): the switches and the configuration file are read
 * again and every process takes the result for its new sessions (open sessions keep theirs); the
 * certificate is read again too. What only a restart can change (the listeners, the process model,
 * the logger, whether TLS exists) is kept as it was, and the log says which settings wait for a
 * restart. A configuration that does not load leaves everything as it was.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/types.js';

/** Settings a running server cannot change, with the switch that names them. */
const RESTART_ONLY: readonly (readonly [keyof Config, string])[] = [
  ['bind', '-S'],
  ['implicitTls', '--implicit-tls'],
  ['workers', '--workers'],
  ['runAs', '--run-as'],
  ['inetd', '--inetd'],
  ['daemonize', '-B'],
  ['pidFile', '-g'],
  ['certFile', 'the certificate file'],
  ['keyFile', 'the key file'],
  ['logFormat', '--log-format'],
  ['syslogFacility', '-f'],
  ['syslogSocket', '--syslog-socket'],
  ['logPid', '-1'],
  ['altLog', '-O'],
  ['uploadScript', '-o'],
  ['uploadPipe', '--upload-pipe'],
  ['verboseLog', '-d'],
  ['whoSocket', '--who-socket'],
  ['metrics', '--metrics'],
  ['metricsAuth', '--metrics-auth'],
  ['quickstart', '--quickstart'],
];

/**
 * The configuration a running server takes from `next`: every setting of `next`, except those only
 * a restart can change (kept from `running`), listed by their switches.
 */
export function reloadable(
  running: Readonly<Config>,
  next: Readonly<Config>,
): { config: Config; needRestart: string[] } {
  const config: Config = { ...next };
  const needRestart: string[] = [];
  const keep = <K extends keyof Config>(key: K): void => {
    config[key] = running[key];
  };
  for (const [key, name] of RESTART_ONLY) {
    if (isDeepStrictEqual(running[key], next[key])) continue;
    keep(key);
    needRestart.push(name);
  }
  // TLS can change its level (-Y 0 to 3) but needs the certificate store, which is made at start.
  if (running.tls === 0 && running.implicitTls.length === 0 && next.tls > 0) {
    keep('tls');
    needRestart.push('-Y');
  }
  return { config, needRestart };
}
