/**
 * The worker thread of one hash job: reads bytes [start, end) of an open descriptor (the session's
 * process opened it, through its storage broker as root) in 1 MiB positional reads and posts the
 * digest. The event loop of the session process never runs the digest; ABOR sets the job's cancel
 * flag, which the thread reads before each chunk (it is never terminated while reading).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readSync } from 'node:fs';
import { newDigest, type HashAlgorithm } from './algorithms.js';

interface Job {
  /** Set to 1 by the session's process to stop the job (ABOR, QUIT). */
  cancel: Int32Array;
  fd: number;
  start: number;
  end: number;
  algorithm: HashAlgorithm;
}

const CHUNK = 1 << 20;
const job = workerData as Job;
try {
  const digest = newDigest(job.algorithm);
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = job.start;
  while (pos < job.end) {
    if (Atomics.load(job.cancel, 0) === 1) {
      parentPort?.postMessage({ ok: false, code: 'ECANCELED' });
      process.exit(0);
    }
    const n = readSync(job.fd, buf, 0, Math.min(CHUNK, job.end - pos), pos);
    if (n === 0) break;
    digest.update(buf.subarray(0, n));
    pos += n;
  }
  parentPort?.postMessage({ ok: true, hex: digest.hex(), bytes: pos - job.start });
} catch (err) {
  parentPort?.postMessage({ ok: false, code: (err as NodeJS.ErrnoException).code ?? 'EIO' });
}
