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
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => {
      if (this.active && performance.now() >= this.deadline) this.o.expired();
    }, Math.max(0, this.deadline - performance.now()));
    this.deadlineTimer.unref();
    this.schedule();
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
