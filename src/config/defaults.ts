/**
 * THE built-in defaults: Pure-FTPd 1.0.50's behaviour with no switches (upstream §13), plus the values of
 * tsftpd's own options. Each call returns a fresh, mutable object for the loader to fill.
 */
import { resolve } from 'node:path';
import type { Config } from './types.js';
import { defaultBanSettings } from '../policy/defender.js';

/** Pure-FTPd's defaults (upstream §13): port 21 on every address, 50 clients, 15 min idle, 1024-65535. */
export function defaultConfig(): Config {
  return {
    bind: { port: 21 },
    ipv4Only: false,
    ipv6Only: false,
    maxClients: 50,
    maxClientsPerIp: 0,
    maxIdleSeconds: 15 * 60,
    passivePorts: { first: 1024, last: 65535 },
    anonymousOnly: false,
    noAnonymous: false,
    anonymousCantUpload: false,
    anonymousCanCreateDirs: false,
    natMode: false,
    // 133:022 gives 0644 files and 0755 directories (upstream §1.2 -U).
    umask: { file: 0o133, dir: 0o022 },
    noTruncate: false,
    autoRename: false,
    keepAllFiles: false,
    noRename: false,
    noChmod: false,
    displayDotFiles: false,
    prohibitDotFilesWrite: false,
    prohibitDotFilesRead: false,
    allowDotFiles: false,
    // 10000:5 is the 1.0.50 source; the man page's 2000:5 is stale (upstream §1.2, §15.21).
    limitRecursion: { files: 10000, depth: 5 },
    allowUserFxp: false,
    allowAnonymousFxp: false,
    dontResolve: false,
    verboseLog: 0,
    daemonize: false,
    brokenClients: false,
    chrootEveryone: false,
    createHomeDir: false,
    auth: [],
    // Pure-FTPd's failed-login delay unit (upstream §12).
    authDelayMs: 3000,
    followSymlinksOut: false,
    weakJail: false,
    inetd: false,
    uploadScript: false,
    antiWarez: false,
    customerProof: false,
    quickstart: false,
    logFormat: 'text',
    logPid: false,
    syslogSocket: '/dev/log',
    throttleAnonymous: false,
    throttleUsers: false,
    tls: 0,
    // Pure-FTPd's default certificate path (upstream §10).
    certFile: '/etc/ssl/private/pure-ftpd.pem',
    tlsClientCert: false,
    implicitTls: [],
    tlsSessionBinding: true,
    ban: defaultBanSettings(),
  };
}

/**
 * The `--quickstart` preset (`npm start`): port 2121, ./public and ./pureftpd.passwd made absolute,
 * and homes created at first login (-j), so that the user added as the start-up line says can log in.
 */
export function quickstartConfig(cwd: string = process.cwd()): Config {
  return {
    ...defaultConfig(),
    bind: { port: 2121 },
    anonymousRoot: resolve(cwd, 'public'),
    passwdFile: resolve(cwd, 'pureftpd.passwd'),
    createHomeDir: true,
    quickstart: true,
  };
}
