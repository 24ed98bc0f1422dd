// When runs started and when they failed or stopped, for Actian's JobResponse (`started`,
// `finished`, `duration`) and JobStatsResponse (`totalDuration`). Orders do not carry these
// times; the journal does. Each order's history is read once, on first use, and kept current
// from the live journal events afterwards. Entries of orders the engine no longer keeps are
// dropped.

import type { Stamped } from '../core/events.js';
import type { Orderly } from '../runtime/orderly.js';
import type { OrderView } from '../runtime/views.js';
import type { RunTimesOf } from './actian-map.js';

const HISTORY_MAX = 1000;

interface Entry extends RunTimesOf {
  loaded: boolean;
  /** Live events seen since the entry was created (a history read racing with them loses). */
  live: number;
}

export class RunTimes {
  private readonly entries = new Map<string, Entry>();
  private readonly unsubscribe: () => void;

  constructor(private readonly orderly: Orderly) {
    this.unsubscribe = orderly.subscribe((events) => this.onEvents(events));
  }

  close(): void {
    this.unsubscribe();
    this.entries.clear();
  }

  private entry(id: string): Entry {
    let e = this.entries.get(id);
    if (!e) {
      e = { loaded: false, live: 0 };
      this.entries.set(id, e);
    }
    return e;
  }

  private onEvents(events: readonly Stamped[]): void {
    for (const { event } of events) {
      switch (event.type) {
        case 'OrderProcessingStarted': {
          const e = this.entry(event.orderId);
          e.live++;
          e.started ??= event.at;
          break;
        }
        case 'OrderFailed':
        case 'OrderStopped': {
          const e = this.entry(event.orderId);
          e.live++;
          e.settled = event.at;
          break;
        }
        case 'OrderResumed': {
          const e = this.entry(event.orderId);
          e.live++;
          delete e.settled;
          break;
        }
        case 'OrderDeleted':
          this.entries.delete(event.orderId);
          break;
        default:
          break;
      }
    }
  }

  /** The times of one run (reads its history the first time). */
  async of(o: OrderView): Promise<RunTimesOf> {
    const e = this.entry(o.id);
    if (!e.loaded) {
      const liveBefore = e.live;
      const history = await this.orderly.history(o.id, HISTORY_MAX);
      let started: number | undefined;
      let settled: number | undefined;
      for (const { event } of history) {
        if (event.type === 'OrderProcessingStarted') started ??= event.at;
        else if (event.type === 'OrderFailed' || event.type === 'OrderStopped') settled = event.at;
        else if (event.type === 'OrderResumed') settled = undefined;
      }
      if (started !== undefined && (e.started === undefined || started < e.started)) e.started = started;
      if (e.live === liveBefore) {
        if (settled !== undefined) e.settled = settled;
        else delete e.settled;
      }
      e.loaded = true;
    }
    const out: RunTimesOf = {};
    if (e.started !== undefined) out.started = e.started;
    if (e.settled !== undefined) out.settled = e.settled;
    return out;
  }

  /** The times of many runs, in their order. */
  all(orders: readonly OrderView[]): Promise<RunTimesOf[]> {
    this.prune();
    return Promise.all(orders.map((o) => this.of(o)));
  }

  /** Forgets orders the engine dropped (retention). */
  private prune(): void {
    if (this.entries.size < 1000) return;
    for (const id of [...this.entries.keys()]) if (!this.orderly.getOrder(id)) this.entries.delete(id);
  }
}
