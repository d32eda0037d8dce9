#!/usr/bin/env node
/**
 * Entry point of a session worker process (started by the parent: supervisor.ts). The thread pool
 * is sized before anything uses it, as in main.ts.
 */
import '../threadpool.js';
import { runWorker } from './worker.js';

runWorker().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `tsftpd worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
