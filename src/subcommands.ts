/**
 * The subcommands of `tsftpd` (docs/architecture.md), in one list shared by the entry point, `--help` and
 * the "unknown command" message. Each module is loaded only when its command runs.
 */
import { existsSync } from 'node:fs';
import { nearest } from './config/suggest.js';

/** What a subcommand module exports. */
export interface SubcommandModule {
  main(argv: string[]): Promise<number>;
}

/** One subcommand: its name, what it does (for `tsftpd --help`), and its loader. */
export interface Subcommand {
  readonly name: string;
  readonly summary: string;
  readonly load: () => Promise<SubcommandModule>;
}

/** Every subcommand, in `--help` order. */
export const SUBCOMMANDS: readonly Subcommand[] = [
  {
    name: 'pw',
    summary:
      'manage virtual users, as pure-pw: useradd, usermod, userdel, passwd, show, list, mkdb, import-system',
    load: () => import('./tools/pw/index.js'),
  },
  {
    name: 'quotacheck',
    summary: 'count the files and bytes of an account into its .ftpquota, as pure-quotacheck',
    load: () => import('./tools/quotacheck.js'),
  },
  {
    name: 'authd',
    summary: 'run a program to authenticate users for -l extauth, as pure-authd',
    load: () => import('./tools/authd.js'),
  },
  {
    name: 'certd',
    summary: 'run a program that picks the TLS certificate for each SNI name (-3), as pure-certd',
    load: () => import('./tools/certd.js'),
  },
  {
    name: 'statsdecode',
    summary: 'print a stats transfer log (-O stats:FILE) with readable dates, as pure-statsdecode',
    load: () => import('./tools/statsdecode.js'),
  },
  {
    name: 'uploadscript',
    summary: 'run a program for every completed upload of a server started with -o, as pure-uploadscript',
    load: () => import('./tools/uploadscript.js'),
  },
  {
    name: 'who',
    summary:
      'list the sessions of the running servers and what each is doing, as pure-ftpwho; --kill ID ends one',
    load: () => import('./tools/who.js'),
  },
  {
    name: 'ban',
    summary: 'list, add or lift the bans of the brute-force defender of the running servers',
    load: () => import('./tools/ban.js'),
  },
  {
    name: 'mrtginfo',
    summary: "print the server's connection count, uptime and host name for MRTG, as pure-mrtginfo",
    load: () => import('./tools/mrtginfo.js'),
  },
  {
    name: 'gencert',
    summary: 'write a self-signed certificate for trying FTPS (-Y 1 -2 FILE)',
    load: () => import('./tools/gencert.js'),
  },
];

/** The subcommand named `word`, if any. */
export function findSubcommand(word: string): Subcommand | undefined {
  return SUBCOMMANDS.find((c) => c.name === word);
}

/**
 * What a first argument that is neither a switch nor a subcommand means: a config file (Pure-FTPd's
 * lone-argument form) when it is the only argument and names an existing file or looks like a path
 * (so a missing `/etc/pure-ftpd.conf` still gets "cannot read the config file"), otherwise a
 * mistyped or future subcommand (`tsftpd who`).
 */
export function isUnknownCommand(
  argv: readonly string[],
  fileExists: (file: string) => boolean = existsSync,
): boolean {
  const first = argv[0];
  if (first === undefined || first.startsWith('-') || findSubcommand(first) !== undefined) return false;
  if (argv.length === 1 && fileExists(first)) return false;
  return !/[/.]/.test(first);
}

/** The message for an unknown command: the nearest name for a typo and the list of commands. */
export function unknownCommandMessage(word: string): string {
  const guess = nearest(
    word,
    SUBCOMMANDS.map((c) => c.name),
  );
  return [
    `tsftpd: unknown command ${JSON.stringify(word)}${guess === undefined ? '' : ` (did you mean ${guess}?)`}`,
    `Commands: ${SUBCOMMANDS.map((c) => c.name).join(', ')}; with no command (or a first argument`,
    'starting with -) tsftpd runs the FTP server. See tsftpd --help.',
    '',
  ].join('\n');
}
