// The clock of something held in PostgreSQL by renewal (a lease, a node's heartbeat row): it
// is renewed every `renewEveryMs`, and it counts as lost at `ttlMs` after the last successful
// renewal was SENT (performance.now(), this process's monotonic clock). The database extended
// it from a moment after that, so the holder gives up no later than the database lets it go.
// A failed renewal is tried again at the next period; only the deadline decides the loss.

export interface RenewalOptions {
  ttlMs: number;
  renewEveryMs: number;
  /** One renewal (its success calls `renewed`); an error or a refusal waits for the next period. */
  renew: () => Promise<unknown>;
  /** The deadline passed without a successful renewal. */
  expired: () => void;
}

export class Renewal {
  /** performance.now() by which a successful renewal must have been sent again. */
  private deadline = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private active = false;

  constructor(private readonly o: RenewalOptions) {}

  /** A renewal sent at `sentAt` (performance.now()) succeeded: held until sentAt + ttlMs; the next one is scheduled. */
  renewed(sentAt: number): void {
    this.active = true;
    this.deadline = sentAt + this.o.ttlMs;
    this.watchDeadline();
    this.schedule();
  }

  /**
   * A timer may fire before performance.now() reached its time (the event loop's clock, which it
   * counts from, is read once per turn, and a long turn makes it late): then it is set again
   * for the rest, else that loss would never be told.
   */
  private watchDeadline(): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(
      () => {
        this.deadlineTimer = undefined;
        if (!this.active) return;
        if (performance.now() >= this.deadline) this.o.expired();
        else this.watchDeadline();
      },
      Math.max(1, Math.ceil(this.deadline - performance.now())),
    );
    this.deadlineTimer.unref();
  }

  /** Stops renewing and watching the deadline. */
  stop(): void {
    this.active = false;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.renewTimer = undefined;
    this.deadlineTimer = undefined;
  }

  private schedule(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => {
      this.renewTimer = undefined;
      // A success has scheduled the next renewal already (renewed); otherwise try again next period.
      const again = (): void => {
        if (this.active && !this.renewTimer) this.schedule();
      };
      this.o.renew().then(again, again);
    }, this.o.renewEveryMs);
    this.renewTimer.unref();
  }
}
