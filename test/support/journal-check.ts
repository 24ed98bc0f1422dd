// Replays a data dir's journal event by event with the pure evolve and checks the lock table
// after every event: no lock over its limit, an exclusive holder alone. For the crash tests.
import type { Event } from '../../src/core/events.js';
import { evolve } from '../../src/core/evolve.js';
import { emptyState, type State } from '../../src/core/state.js';
import { SqliteStore } from '../../src/journal/sqlite.js';

export async function replayChecked(journalFile: string, onEvent?: (e: Event) => void): Promise<{ events: number; state: State }> {
  const store = SqliteStore.open(journalFile);
  const s = emptyState();
  let events = 0;
  let after = 0;
  try {
    for (;;) {
      const batch = await store.readAfter(after, 5000);
      if (batch.length === 0) break;
      for (const { seq, event } of batch) {
        evolve(s, event);
        onEvent?.(event);
        events++;
        after = seq;
        for (const inst of s.instances.values()) {
          const limit = s.locks.get(inst.family)!.def.limit;
          if (inst.weight > limit) throw new Error(`seq ${seq}: ${inst.name} weight ${inst.weight} > ${limit}`);
          if (inst.exclusive !== undefined && inst.holders.size !== 1) throw new Error(`seq ${seq}: ${inst.name} exclusive with ${inst.holders.size} holders`);
        }
      }
    }
  } finally {
    await store.close();
  }
  return { events, state: s };
}
