// Writes to the database in batches, one statement at a time: the items added in one
// synchronous run (before the next microtask: an engine turn's dispatches, the results that end
// in one run of the event loop) and those added while a statement is under way go together.
// Under load a statement carries everything that came while the one before it committed (as
// the journal's group commit does); alone, an item is sent at once, with no timer.

export class Batches<T> {
  private items: { item: T; done: () => void }[] = [];
  private flushing = false;

  /**
   * `send` writes a batch and never throws (it retries or gives up by itself); `take` says how
   * many of the waiting items at the front go in the next batch (at least one is sent).
   */
  constructor(
    private readonly send: (batch: T[]) => Promise<void>,
    private readonly take: (items: readonly T[]) => number,
  ) {}

  /** Resolves once the statement that carried the item ended. */
  add(item: T): Promise<void> {
    return new Promise((done) => {
      this.items.push({ item, done });
      if (this.flushing) return;
      this.flushing = true;
      queueMicrotask(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.items.length > 0) {
        const n = Math.max(1, Math.min(this.items.length, this.take(this.items.map((x) => x.item))));
        const batch = this.items.splice(0, n);
        try {
          await this.send(batch.map((x) => x.item));
        } catch {
          // `send` says what became of its items.
        } finally {
          for (const x of batch) x.done();
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

/** How many items at the front share the first one's `engine`, at most `max`. */
export function sameEngineLength(items: readonly { engine: unknown }[], max: number): number {
  const engine = items[0]?.engine;
  let n = 0;
  while (n < items.length && n < max && items[n]!.engine === engine) n++;
  return n;
}
