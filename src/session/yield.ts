/**
 * Cooperative yielding for long synchronous runs (listing formatting, big sorts): other sessions
 * get the event loop at least every SLICE_MS, so one big listing never stalls everybody
 * (docs/performance.md; the benchmark checks the event-loop delay).
 */

/** Longest stretch of work between two yields. */
const SLICE_MS = 8;

let sliceStart = performance.now();

/** Yields to the event loop when the current stretch of work has run for a slice. */
export async function yieldIfBusy(): Promise<void> {
  const now = performance.now();
  if (now - sliceStart < SLICE_MS) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  sliceStart = performance.now();
}
