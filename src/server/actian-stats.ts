// Actian's job statistics over every job in memory (GET /v2/api/jobstats without filters),
// kept as counters: an answer costs the same with 100 or 100,000 orders.
//
// Each order has an entry (its Actian status, when it was added, when its run started and
// ended); the counters are sums over the entries, changed by each committed event about an
// order. Building them reads every order's history once (the start and end times are in the
// journal, see actian-times.ts), at the first request; after that only events move them.
// totalDuration adds, for each started job, its end (or now, while it has none) minus its start:
// the sum of ended runs is kept, and for open ones their count and the sum of their starts.

import { createRequire } from 'node:module';

import type { Stamped } from '../core/events.js';
import type { Orderly } from '../runtime/orderly.js';
import { orderView } from '../runtime/views.js';
import { actianStatus, type ActianStatus } from './actian-map.js';
import type { RunTimes } from './actian-times.js';

const { default: BTree } = createRequire(import.meta.url)('sorted-btree') as typeof import('sorted-btree');

interface Entry {
  status: ActianStatus;
  addedAt: number;
  started?: number;
  settled?: number;
  /** What this entry adds to the duration sums. */
  end?: number;
}

export interface JobStatsCounts {
  counts: ReadonlyMap<ActianStatus, number>;
  totalJobs: number;
  totalMs: number;
  /** The oldest job's addedAt, if any. */
  oldestAddedAt?: number;
}

export class JobStats {
  private readonly entries = new Map<string, Entry>();
  private readonly counts = new Map<ActianStatus, number>();
  /** addedAt → how many entries have it. */
  private readonly added = new BTree<number, number>();
  private endedMs = 0;
  private openCount = 0;
  private openStartSum = 0;
  private ready: Promise<void> | undefined;
  private readonly unsubscribe: () => void;
  /** Entries (re)computed, in all: a measure of the work, for tests. */
  work = 0;

  constructor(
    private readonly orderly: Orderly,
    private readonly times: RunTimes,
  ) {
    this.unsubscribe = orderly.subscribe((events) => this.onEvents(events));
  }

  close(): void {
    this.unsubscribe();
  }

  /** The counters as of now (built at the first call). */
  async read(now: number): Promise<JobStatsCounts> {
    this.ready ??= this.build();
    await this.ready;
    const out: JobStatsCounts = { counts: this.counts, totalJobs: this.entries.size, totalMs: this.endedMs + Math.max(0, this.openCount * now - this.openStartSum) };
    const oldest = this.added.minKey();
    if (oldest !== undefined) out.oldestAddedAt = oldest;
    return out;
  }

  private async build(): Promise<void> {
    // The histories are read first (slow); then everything in memory is taken at once.
    await this.times.all(this.orderly.listOrders());
    const orders = this.orderly.listOrders();
    const t = await this.times.all(orders);
    orders.forEach((o, i) => this.put(o.id, t[i]?.started, t[i]?.settled));
  }

  private onEvents(events: readonly Stamped[]): void {
    if (this.ready === undefined) return;
    for (const { event } of events) {
      if (!('orderId' in event)) continue;
      const e = this.entries.get(event.orderId);
      let started = e?.started;
      let settled = e?.settled;
      if (event.type === 'OrderProcessingStarted') started ??= event.at;
      else if (event.type === 'OrderFailed' || event.type === 'OrderStopped') settled = event.at;
      else if (event.type === 'OrderResumed') settled = undefined;
      this.put(event.orderId, started, settled);
    }
  }

  /** Replaces the order's entry with one from its state now (none when it is gone). */
  private put(id: string, started: number | undefined, settled: number | undefined): void {
    this.work++;
    const old = this.entries.get(id);
    if (old) this.remove(old);
    this.entries.delete(id);
    const o = this.orderly.engine.state.orders.get(id);
    if (!o) return;
    const v = orderView(o);
    const status = actianStatus(v);
    const e: Entry = { status, addedAt: v.addedAt };
    const start = started ?? v.execution?.startedAt;
    if (start !== undefined) e.started = start;
    if (settled !== undefined) e.settled = settled;
    if (start !== undefined) {
      const end = v.endedAt ?? (status === 'finished_error' || status === 'aborted' ? settled : undefined);
      if (end !== undefined) e.end = end;
    }
    this.entries.set(id, e);
    this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
    this.added.set(e.addedAt, (this.added.get(e.addedAt) ?? 0) + 1);
    if (start !== undefined) {
      if (e.end !== undefined) this.endedMs += Math.max(0, e.end - start);
      else {
        this.openCount++;
        this.openStartSum += start;
      }
    }
  }

  private remove(e: Entry): void {
    this.counts.set(e.status, (this.counts.get(e.status) ?? 1) - 1);
    const n = this.added.get(e.addedAt) ?? 1;
    if (n <= 1) this.added.delete(e.addedAt);
    else this.added.set(e.addedAt, n - 1);
    if (e.started !== undefined) {
      if (e.end !== undefined) this.endedMs -= Math.max(0, e.end - e.started);
      else {
        this.openCount--;
        this.openStartSum -= e.started;
      }
    }
  }
}
