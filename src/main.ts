#!/usr/bin/env node
/**
 * Entry point: picks the subcommand (docs/architecture.md) and nothing else. A first argument that
 * starts with `-` (or none, or a lone pure-ftpd.conf path) means "run the server"; any other word
 * that is not a subcommand gets "unknown command" and the list.
 */
import './threadpool.js'; // must stay the first import: sizes the pool before first use
import { findSubcommand, isUnknownCommand, unknownCommandMessage } from './subcommands.js';

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  const command = first === undefined ? undefined : findSubcommand(first);
  if (command !== undefined) {
    const mod = await command.load();
    return mod.main(argv.slice(1));
  }
  if (isUnknownCommand(argv)) {
    process.stderr.write(unknownCommandMessage(first));
    return 2;
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
