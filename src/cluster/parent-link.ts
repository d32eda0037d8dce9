/**
 * A worker's line to its parent: requests with ids and bounded waits (authentication, shared state,
 * storage), one-way notes, and the pushed messages dispatched to their owners. When the parent is
 * gone every pending request fails at once (the worker then exits: it cannot serve without it).
 */
import type { ParentMessage, RequestMethod, WorkerMessage } from './protocol.js';
import { fromWire } from './wire-error.js';

/** Most requests waiting for an answer at once (a bound, not a tuning knob). */
const MAX_PENDING = 10_000;
/** How long a request may wait (authentication against a slow backend included). */
const REQUEST_TIMEOUT_MS = 120_000;

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Requests to the parent over the IPC channel. */
export class ParentLink {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private gone = false;

  constructor(private readonly send: (msg: WorkerMessage) => void) {}

  /** Sends a request and resolves with the parent's answer (rejects with its error). */
  call(method: RequestMethod, args: unknown): Promise<unknown> {
    if (this.gone) return Promise.reject(new Error('the parent process is gone'));
    if (this.pending.size >= MAX_PENDING) return Promise.reject(new Error('too many requests to the parent'));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the parent did not answer ${method} within ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      this.send({ t: 'req', id, method, args });
    });
  }

  /** Sends a one-way message. */
  post(msg: WorkerMessage): void {
    if (!this.gone) this.send(msg);
  }

  /** Settles the request an answer belongs to. */
  answer(msg: Extract<ParentMessage, { t: 'res' }>): void {
    const p = this.pending.get(msg.id);
    if (p === undefined) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(fromWire(msg.error));
  }

  /** The parent is gone: every pending request fails. */
  disconnect(): void {
    this.gone = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('the parent process is gone'));
      this.pending.delete(id);
    }
  }
}
