/**
 * The worker thread of one hash job: reads bytes [start, end) of an open descriptor (the session's
 * process opened it, through its storage broker as root) in 1 MiB positional reads and posts the
 * digest. The event loop of the session process never runs the digest; ABOR terminates the thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readSync } from 'node:fs';
import { newDigest, type HashAlgorithm } from './algorithms.js';

interface Job {
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
    const n = readSync(job.fd, buf, 0, Math.min(CHUNK, job.end - pos), pos);
    if (n === 0) break;
    digest.update(buf.subarray(0, n));
    pos += n;
  }
  parentPort?.postMessage({ ok: true, hex: digest.hex(), bytes: pos - job.start });
} catch (err) {
  parentPort?.postMessage({ ok: false, code: (err as NodeJS.ErrnoException).code ?? 'EIO' });
}
