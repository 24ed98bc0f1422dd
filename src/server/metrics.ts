// Prometheus metrics (GET /metrics), in a registry of their own.
//
//   orderly_orders{state}                       gauge      orders in memory by state
//   orderly_orders_suspended                    gauge      orders with the suspended flag
//   orderly_lock_holders{lock}                  gauge      holders per lock (keyed: per family)
//   orderly_lock_waiters{lock}                  gauge      waiters per lock (keyed: per family)
//   orderly_lock_wait_seconds{lock}             histogram  queue wait, OrderLocksQueued → OrderLocksAcquired
//   orderly_job_duration_seconds{job,outcome}   histogram  OrderProcessingStarted → OrderProcessed
//   orderly_journal_commit_seconds              histogram  time of one store.append (one turn's commit)
//   orderly_journal_commit_events               histogram  events per commit
//   orderly_journal_seq                         gauge      last journal sequence number
//   + the default Node.js process metrics (process_*, nodejs_*)
//
// Gauges are computed from the engine's state at scrape time; histograms are fed from the
// journal events as they are committed (`orderly.subscribe`). Commit latency needs a timer
// around `store.append`: `timeCommits(store, metrics.observeCommit)` wraps a store for that
// (serve.ts does it); without the wrapper that histogram stays empty.

import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

import type { Event, Stamped } from '../core/events.js';
import { ORDER_STATES } from '../core/model.js';
import { isSyncJournal, type JournalStore, type SyncJournal } from '../journal/types.js';
import type { Orderly } from '../runtime/orderly.js';


const WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600];
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600];
const COMMIT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const COMMIT_EVENTS_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

export class ServerMetrics {
  readonly registry = new Registry();
  private orderly: Orderly | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Orders in a lock queue: since when, and the lock families they wait for. */
  private readonly waits = new Map<string, { since: number; locks: string[] }>();
  /** Running executions: since when, which job. */
  private readonly runs = new Map<string, { since: number; job: string }>();
  private readonly lockWait: Histogram<'lock'>;
  private readonly jobDuration: Histogram<'job' | 'outcome'>;
  private readonly commitSeconds: Histogram;
  private readonly commitEvents: Histogram;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const state = (): Orderly['engine']['state'] | undefined => this.orderly?.engine.state;

    const perLock = (g: Gauge<'lock'>, count: (inst: { holders: { size: number }; queue: { size: number } }) => number): void => {
      g.reset();
      const s = state();
      if (!s) return;
      const by = new Map<string, number>();
      for (const name of s.locks.keys()) by.set(name, 0);
      for (const inst of s.instances.values()) by.set(inst.family, (by.get(inst.family) ?? 0) + count(inst));
      for (const [lock, n] of by) g.set({ lock }, n);
    };
    // Each gauge reads the state when scraped.
    new Gauge({
      name: 'orderly_orders',
      help: 'Orders in memory by state',
      labelNames: ['state'] as const,
      registers,
      collect() {
        this.reset();
        const s = state();
        if (!s) return;
        const counts = new Map<string, number>(ORDER_STATES.map((x) => [x, 0]));
        for (const o of s.orders.values()) counts.set(o.state, (counts.get(o.state) ?? 0) + 1);
        for (const [st, n] of counts) this.set({ state: st }, n);
      },
    });
    new Gauge({
      name: 'orderly_orders_suspended',
      help: 'Orders with the suspended flag',
      registers,
      collect() {
        const s = state();
        let n = 0;
        if (s) for (const o of s.orders.values()) if (o.suspended) n++;
        this.set(n);
      },
    });
    new Gauge({
      name: 'orderly_lock_holders',
      help: 'Orders holding the lock (a keyed lock: all its instances)',
      labelNames: ['lock'] as const,
      registers,
      collect() {
        perLock(this, (i) => i.holders.size);
      },
    });
    new Gauge({
      name: 'orderly_lock_waiters',
      help: 'Orders waiting in the lock queue (a keyed lock: all its instances)',
      labelNames: ['lock'] as const,
      registers,
      collect() {
        perLock(this, (i) => i.queue.size);
      },
    });
    new Gauge({
      name: 'orderly_journal_seq',
      help: 'Last journal sequence number',
      registers,
      collect() {
        this.set(state()?.seq ?? 0);
      },
    });

    this.lockWait = new Histogram({
      name: 'orderly_lock_wait_seconds',
      help: 'Time orders waited in a lock queue before the grant',
      labelNames: ['lock'] as const,
      buckets: WAIT_BUCKETS,
      registers,
    });
    this.jobDuration = new Histogram({
      name: 'orderly_job_duration_seconds',
      help: 'Job execution time, from start to the processed event',
      labelNames: ['job', 'outcome'] as const,
      buckets: JOB_BUCKETS,
      registers,
    });
    this.commitSeconds = new Histogram({
      name: 'orderly_journal_commit_seconds',
      help: 'Time of one journal commit (store.append: one group commit)',
      buckets: COMMIT_BUCKETS,
      registers,
    });
    this.commitEvents = new Histogram({
      name: 'orderly_journal_commit_events',
      help: 'Events written by one journal commit',
      buckets: COMMIT_EVENTS_BUCKETS,
      registers,
    });
  }

  /** Feeds the commit histograms (see `timeCommits`). */
  readonly observeCommit = (ms: number, events: number): void => {
    this.commitSeconds.observe(ms / 1000);
    this.commitEvents.observe(events);
  };

  /** Starts reading an engine: gauges from its state, histograms from its events. */
  attach(orderly: Orderly): void {
    this.detach();
    this.orderly = orderly;
    this.waits.clear();
    this.runs.clear();
    // Waits and runs already under way count from when they began.
    for (const o of orderly.engine.state.orders.values()) {
      if (o.waitingFor?.kind === 'locks' && o.demands && o.waitingSince !== undefined) {
        this.waits.set(o.id, { since: o.waitingSince, locks: [...new Set(o.demands.map((d) => d.family))] });
      }
      if (o.state === 'processing' && o.execution) this.runs.set(o.execution.id, { since: o.execution.startedAt, job: o.execution.job });
    }
    this.unsubscribe = orderly.subscribe((events) => this.onEvents(events));
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.orderly = undefined;
  }

  private onEvents(events: readonly Stamped[]): void {
    for (const { event: e } of events) {
      switch (e.type) {
        case 'OrderLocksQueued':
          this.waits.set(e.orderId, { since: e.at, locks: [...new Set(e.demands.map((d) => d.family))] });
          break;
        case 'OrderLocksAcquired': {
          const w = this.waits.get(e.orderId);
          if (w) {
            const seconds = Math.max(0, e.at - w.since) / 1000;
            for (const lock of w.locks) this.lockWait.observe({ lock }, seconds);
            this.waits.delete(e.orderId);
          }
          break;
        }
        case 'OrderDequeued':
        case 'OrderCancelled':
        case 'OrderFailed':
        case 'OrderDeleted':
          this.waits.delete(e.orderId);
          break;
        case 'OrderProcessingStarted':
          this.runs.set(e.executionId, { since: e.at, job: e.job });
          break;
        case 'OrderProcessed': {
          const r = this.runs.get(e.executionId);
          if (r) {
            this.jobDuration.observe({ job: r.job, outcome: e.outcome.type }, Math.max(0, e.at - r.since) / 1000);
            this.runs.delete(e.executionId);
          }
          break;
        }
        default:
          break;
      }
    }
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * The store with a timer around `append` (one journal commit): `onCommit(ms, events)` is
 * called after each successful commit. Everything else goes straight to the store.
 */
export function timeCommits<S extends JournalStore>(store: S, onCommit: (ms: number, events: number) => void): S {
  const report = (t0: number, events: number): void => {
    if (events === 0) return;
    try {
      onCommit(performance.now() - t0, events);
    } catch {
      // A metric must not fail a commit.
    }
  };
  const append = async (events: readonly Event[], epoch: number): Promise<number> => {
    const t0 = performance.now();
    const first = await store.append(events, epoch);
    report(t0, events.length);
    return first;
  };
  // A store that commits inside the call (SyncJournal) is timed there too: the engine calls that.
  const appendSync = (events: readonly Event[], epoch: number): number => {
    const t0 = performance.now();
    const first = (store as unknown as SyncJournal).appendSync(events, epoch);
    report(t0, events.length);
    return first;
  };
  const sync = isSyncJournal(store);
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'append') return append;
      if (prop === 'appendSync' && sync) return appendSync;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
