#!/usr/bin/env node
/**
 * Entry point: picks the subcommand (ARCHITECTURE §1) and nothing else. A first argument that
 * starts with `-` (or none, or a lone pure-ftpd.conf path) means "run the server".
 */
import './threadpool.js'; // must stay the first import: sizes the pool before first use

const SUBCOMMANDS: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  pw: () => import('./tools/pw/index.js'),
  quotacheck: () => import('./tools/quotacheck.js'),
  authd: () => import('./tools/authd.js'),
  gencert: () => import('./tools/gencert.js'),
};

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first !== undefined && !first.startsWith('-') && first in SUBCOMMANDS) {
    const mod = await SUBCOMMANDS[first]!();
    return mod.main(argv.slice(1));
  }
  // Loaded only for the server: the admin tools must not depend on (or pay for) its module graph.
  const { runServer } = await import('./server/run.js');
  return runServer(argv);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tsftpd: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
