/**
 * Bandwidth limits (upstream §4.2, -t/-T and per-account rates): a token bucket per account and
 * direction, shared by all of that account's sessions so that opening more sessions does not beat
 * the limit. Data is cut into slices of at most 1/8 s of the rate and each slice is released at
 * its scheduled time (GCRA), which keeps the long-run rate exact whatever the chunk sizes.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Burst allowed after an idle period, in seconds of the rate. */
const BURST_SECONDS = 0.1;
/** Largest slice released at once. */
const MAX_SLICE = 256 * 1024;

/** A shared rate (bytes per second). */
export class RateLimiter {
  /** Theoretical arrival time of the next byte, ms. */
  private tat = 0;
  /** The rate in force: `limit` times this process's share of the account's sessions. */
  private current: number;

  /** @param limit the account's rate in bytes per second (all its sessions together) */
  constructor(readonly limit: number) {
    this.current = limit;
  }

  /** The rate this process may use now (bytes per second). */
  get rate(): number {
    return this.current;
  }

  /**
   * Sets this process's share of the limit (sessions of the account here / everywhere): with
   * several worker processes each gets its part, so the account's total stays the limit.
   */
  share(fraction: number): void {
    const f = Number.isFinite(fraction) && fraction > 0 ? Math.min(1, fraction) : 1;
    this.current = Math.max(1, this.limit * f);
  }

  /** Reserves `bytes`; returns how long to wait (ms) before sending them. */
  reserve(bytes: number, now = performance.now()): number {
    const start = Math.max(now, this.tat);
    this.tat = start + (bytes / this.rate) * 1000;
    return Math.max(0, start - now - BURST_SECONDS * 1000);
  }

  /** Bytes in one slice. */
  get slice(): number {
    return Math.max(1024, Math.min(MAX_SLICE, Math.floor(this.rate / 8)));
  }
}

/** A stream that passes data through at the limiter's rate (backpressure slows the sender). */
export function throttle(limiter: RateLimiter): Transform {
  return new Transform({
    highWaterMark: limiter.slice,
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      const step = limiter.slice;
      let offset = 0;
      const next = (): void => {
        if (offset >= chunk.length) return done();
        const piece = chunk.subarray(offset, offset + step);
        offset += piece.length;
        const wait = limiter.reserve(piece.length);
        const send = (): void => {
          this.push(piece);
          next();
        };
        if (wait <= 0) send();
        else setTimeout(send, wait);
      };
      next();
    },
  });
}

/** Limiters by key (`user:joe:down`), kept while sessions use them. */
export class RateLimiters {
  private readonly map = new Map<string, { limiter: RateLimiter; refs: number }>();

  /** The shared limiter for a key; the same key always gets the same limiter while in use. */
  acquire(key: string, rate: number): RateLimiter {
    const hit = this.map.get(key);
    if (hit && hit.limiter.limit === rate) {
      hit.refs++;
      return hit.limiter;
    }
    const limiter = new RateLimiter(rate);
    this.map.set(key, { limiter, refs: 1 });
    return limiter;
  }

  /** Gives a limiter back. */
  release(key: string): void {
    const hit = this.map.get(key);
    if (hit && --hit.refs <= 0) this.map.delete(key);
  }
}
