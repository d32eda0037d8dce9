#!/usr/bin/env node
/**
 * Entry point: picks the subcommand (ARCHITECTURE §1) and nothing else. A first argument that
 * starts with `-` (or none, or a lone pure-ftpd.conf path) means "run the server".
 */
import { runServer } from './server/run.js';

const SUBCOMMANDS: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {};

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first !== undefined && !first.startsWith('-') && first in SUBCOMMANDS) {
    const mod = await SUBCOMMANDS[first]!();
    return mod.main(argv.slice(1));
  }
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
