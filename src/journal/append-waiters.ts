// Followers waiting for the journal to grow past a position (EventJournal.waitForAppend).
// The store calls `appended(lastSeq)` after each commit of its own; `poll`, when given, is
// asked every `pollMs` while someone waits, for appends this process did not make (another
// process writing the same file).

interface Waiter {
  afterSeq: number;
  resolve: (lastSeq: number) => void;
  timer: NodeJS.Timeout;
}

export class AppendWaiters {
  private readonly waiters = new Set<Waiter>();
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly lastSeq: () => number,
    private readonly pollMs?: number,
  ) {}

  wait(afterSeq: number, timeoutMs: number): Promise<number> {
    const last = this.lastSeq();
    if (last > afterSeq || !(timeoutMs > 0)) return Promise.resolve(last);
    return new Promise((resolve) => {
      const w: Waiter = {
        afterSeq,
        resolve,
        timer: setTimeout(() => this.settle(w, this.lastSeq()), Math.min(timeoutMs, 2 ** 31 - 1)),
      };
      this.waiters.add(w);
      this.armPoll();
    });
  }

  /** After a commit: wakes those waiting for less than `lastSeq`. */
  appended(lastSeq: number): void {
    if (this.waiters.size === 0) return;
    for (const w of this.waiters) if (lastSeq > w.afterSeq) this.settle(w, lastSeq);
  }

  /** Wakes everyone with the position as it is (the store closes). */
  close(lastSeq: number): void {
    for (const w of this.waiters) this.settle(w, lastSeq);
  }

  private settle(w: Waiter, lastSeq: number): void {
    if (!this.waiters.delete(w)) return;
    clearTimeout(w.timer);
    w.resolve(lastSeq);
    if (this.waiters.size === 0 && this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  private armPoll(): void {
    if (this.pollMs === undefined || this.pollTimer) return;
    this.pollTimer = setInterval(() => {
      try {
        this.appended(this.lastSeq());
      } catch {
        // A store that cannot be read now: the waiters' own timeouts end their waits.
      }
    }, this.pollMs);
    this.pollTimer.unref();
  }
}
