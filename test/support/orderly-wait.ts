// Waiting on a library engine (createOrderly) for what its journal will show.
import type { Orderly } from '../../src/index.js';

/** Waits until `pred` holds, checking after every journal commit (no fixed sleeps); the timeout only ends a hung test. */
export function until(o: Orderly, pred: () => boolean, timeoutMs = 90_000): Promise<void> {
  if (pred()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('condition not reached in time'));
    }, timeoutMs);
    const off = o.subscribe(() => {
      if (pred()) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  });
}
