// Offline access to a data dir's journal for the CLI (see client.ts): the journal read into a
// state, commands decided by the pure core and appended, without an engine.

import type { Command } from '../core/commands.js';
import { decide } from '../core/decide.js';
import type { Event, Stamped } from '../core/events.js';
import type { State } from '../core/state.js';
import { SqliteStore } from '../journal/sqlite.js';
import { EMBEDDED_EPOCH, type StepLog } from '../journal/types.js';
import { CommandsApi } from '../runtime/commands-api.js';
import { loadState } from '../runtime/engine.js';
import { OrderlyError, type OrderFilter } from '../runtime/orderly.js';
import { lockViews, orderView, type LockView, type OrderView } from '../runtime/views.js';
import type { ControlApi } from './control.js';

/** The journal of a data dir, read into a state; commands are decided by the core and appended. */
export class JournalApi extends CommandsApi implements ControlApi {
  private constructor(
    private readonly store: SqliteStore,
    private readonly state: State,
  ) {
    super();
  }

  protected get currentState(): State {
    return this.state;
  }

  static async open(journalFile: string): Promise<JournalApi> {
    const store = SqliteStore.open(journalFile);
    try {
      return new JournalApi(store, await loadState(store));
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }

  protected async run(cmd: Command): Promise<Event[]> {
    const now = Date.now();
    // No worker here: orders that reach a job queue for a slot instead of starting.
    const noWorker = decide(this.state, { type: 'setSlots', slots: 0 }, now);
    const pre: Event[] = noWorker.ok ? noWorker.events : [];
    const d = decide(this.state, cmd, now);
    if (!d.ok) throw new OrderlyError(d.problem);
    if (d.events.length > 0) {
      const all = [...pre, ...d.events];
      const first = this.store.appendSync(all, EMBEDDED_EPOCH);
      this.state.seq = first + all.length - 1;
    }
    return d.events;
  }

  getOrder(id: string): OrderView | undefined {
    const o = this.state.orders.get(id);
    return o ? orderView(o, this.state) : undefined;
  }

  listOrders(filter: OrderFilter = {}): OrderView[] {
    const out: OrderView[] = [];
    for (const o of this.state.orders.values()) {
      if (filter.state && o.state !== filter.state) continue;
      if (filter.workflow && o.workflow !== filter.workflow) continue;
      out.push(orderView(o, this.state));
    }
    return out;
  }

  listLocks(): LockView[] {
    return lockViews(this.state);
  }

  history(id: string, limit = 1000): Promise<Stamped[]> {
    return this.store.readOrder(id, limit);
  }

  logs(id: string): Promise<StepLog[]> {
    return this.store.getLogs(id);
  }
}
