// Waiting on an engine (Engine, not the library) and checking what its readers see, for the
// engine's contract tests: every wait is for a state, checked after each turn of the event loop.

import { expect } from 'vitest';
import { serializeState } from '../../src/core/state.js';
import type { JournalStore } from '../../src/journal/types.js';
import { loadState, type Engine, type EngineMode } from '../../src/runtime/engine.js';

/** Resolves once `cond` holds, checked after each turn of the event loop. */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

export function modeReached(engine: Engine, mode: EngineMode): Promise<void> {
  return until(() => engine.mode === mode);
}

/** The journal's state equals what readers see. */
export async function readersAgreeWithJournal(engine: Engine, store: JournalStore): Promise<void> {
  const fromJournal = await loadState(store);
  expect(engine.state.seq).toBe(fromJournal.seq);
  expect(serializeState(engine.state)).toBe(serializeState(fromJournal));
}
