#!/usr/bin/env node
/**
 * `node .build/bench/profile-summary.js [FILE|DIR ...]`: prints where tsftpd spent its CPU in the given
 * V8 profiles (default: everything under bench/profiles/, as written by `npm run bench -- --profile`).
 */
import { findProfiles, formatSummary, summariseProfile } from './profile.js';

async function main(argv: string[]): Promise<number> {
  const files = await findProfiles(argv.length > 0 ? argv : ['bench/profiles']);
  if (files.length === 0) {
    process.stderr.write('no .cpuprofile files found (run: npm run bench -- --profile --tsftpd-only)\n');
    return 1;
  }
  for (const f of files) process.stdout.write(`${formatSummary(await summariseProfile(f))}\n\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`profile-summary: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
