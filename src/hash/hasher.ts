/**
 * Runs hash jobs (HASH, XMD5, XSHA*, XCRC) off the event loop: each job is a worker thread reading
 * the open descriptor; at most MAX_JOBS run at once in a process and MAX_WAITING wait (more are
 * refused, the client may retry); an abort (ABOR, QUIT, a lost connection) terminates the thread.
 * Small files the storage read while opening are hashed inline (they are at most a few KiB).
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ReadHandle } from '../storage/types.js';
import { newDigest, type HashAlgorithm } from './algorithms.js';

/** Jobs running at once in one process: the CPU is shared with transfers. */
export const MAX_JOBS = Math.max(1, Math.min(4, os.availableParallelism() - 1));
/** Jobs waiting for a slot at most; beyond, the command is refused at once. */
const MAX_WAITING = 64;

let running = 0;
const waiting: (() => void)[] = [];

/** Why a job did not produce a digest. */
export class HashError extends Error {
  constructor(readonly kind: 'busy' | 'aborted' | 'io') {
    super(`hash ${kind}`);
  }
}

async function slot(signal: AbortSignal): Promise<void> {
  if (running < MAX_JOBS) {
    running++;
    return;
  }
  if (waiting.length >= MAX_WAITING) throw new HashError('busy');
  await new Promise<void>((resolve, reject) => {
    const go = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = (): void => {
      const i = waiting.indexOf(go);
      if (i >= 0) waiting.splice(i, 1);
      reject(new HashError('aborted'));
    };
    waiting.push(go);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  running++;
}

function release(): void {
  running--;
  waiting.shift()?.();
}

/** How long a cancelled thread may take to stop by itself before it is terminated. */
const CANCEL_GRACE_MS = 2000;

function inThread(
  fd: number,
  start: number,
  end: number,
  algorithm: HashAlgorithm,
  signal: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(new URL('./hash-thread.js', import.meta.url), {
      workerData: { cancel, fd, start, end, algorithm },
    });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    // The thread stops itself at its next chunk; the descriptor is closed only once it is gone
    // (it may be inside a read), and a thread that is never seen to stop is terminated.
    const onAbort = (): void =>
      finish(() => {
        Atomics.store(cancel, 0, 1);
        const timer = setTimeout(() => void worker.terminate(), CANCEL_GRACE_MS);
        worker.once('exit', () => {
          clearTimeout(timer);
          reject(new HashError('aborted'));
        });
      });
    signal.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (m: { ok: boolean; hex?: string }) =>
      finish(() => (m.ok && m.hex !== undefined ? resolve(m.hex) : reject(new HashError('io')))),
    );
    worker.once('error', () => finish(() => reject(new HashError('io'))));
    worker.once('exit', () => finish(() => reject(new HashError('io'))));
  });
}

/**
 * The digest of bytes [start, end) of an open file (opened at offset 0); the handle is closed
 * whatever happens. Rejects with HashError('busy'|'aborted'|'io').
 */
export async function hashFile(
  handle: ReadHandle,
  start: number,
  end: number,
  algorithm: HashAlgorithm,
  signal: AbortSignal,
): Promise<string> {
  try {
    if (signal.aborted) throw new HashError('aborted');
    if (handle.data !== undefined) {
      const d = newDigest(algorithm);
      d.update(handle.data.subarray(start, end));
      return d.hex();
    }
    if (handle.fd === undefined) throw new HashError('io');
    await slot(signal);
    try {
      return await inThread(handle.fd, start, end, algorithm, signal);
    } finally {
      release();
    }
  } finally {
    await handle.close();
  }
}
