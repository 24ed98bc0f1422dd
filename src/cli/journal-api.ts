// Read-only access to a data dir's journal for the CLI when no engine runs (see client.ts):
// the journal read into a state, shown as it is. It writes nothing: a command that changes
// something starts a short-lived engine through the node start-up instead.

import { problem, type Command } from '../core/commands.js';
import type { Event, Stamped } from '../core/events.js';
import type { State } from '../core/state.js';
import { SqliteStore } from '../journal/sqlite.js';
import type { StepLog } from '../journal/types.js';
import { CommandsApi } from '../runtime/commands-api.js';
import { loadState } from '../runtime/engine.js';
import { OrderlyError, type OrderFilter } from '../runtime/orderly.js';
import { lockViews, orderView, type LockView, type OrderView } from '../runtime/views.js';
import type { ControlApi } from '../node/control.js';

/** The journal of a data dir, read into a state. Commands are refused: it is not a writer. */
export class JournalReader extends CommandsApi implements ControlApi {
  private constructor(
    private readonly store: SqliteStore,
    private readonly state: State,
  ) {
    super();
  }

  protected get currentState(): State {
    return this.state;
  }

  static async open(journalFile: string): Promise<JournalReader> {
    const store = SqliteStore.open(journalFile);
    try {
      return new JournalReader(store, await loadState(store));
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }

  protected run(cmd: Command): Promise<Event[]> {
    return Promise.reject(new OrderlyError(problem('unavailable', `${cmd.type}: the journal is open for reading only; changes go through an engine`)));
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
