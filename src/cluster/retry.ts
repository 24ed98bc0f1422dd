// Tries a write to the database again while it fails (the database may be away for a while),
// waiting RETRY_MIN_MS, doubling up to RETRY_MAX_MS, until it succeeds or `stop()` says to give up.

/** First wait after a failed write. */
export const RETRY_MIN_MS = 100;
/** Longest wait between tries. */
export const RETRY_MAX_MS = 5_000;

export async function retrying<T>(f: () => Promise<T>, stop: () => boolean): Promise<T> {
  let waitMs = RETRY_MIN_MS;
  for (;;) {
    try {
      return await f();
    } catch (err) {
      if (stop()) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
    waitMs = Math.min(waitMs * 2, RETRY_MAX_MS);
    if (stop()) throw new Error('given up');
  }
}
