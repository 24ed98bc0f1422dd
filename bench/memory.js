// Memory per waiting order: V8 heap used (after global.gc()) with `n` orders waiting at a closed
// lock (limit 0), minus the heap used before they were added, divided by n.
//
//   node --expose-gc bench/memory.js [--store normal|full|memory] [--n 100000]
//
// Default store NORMAL: the SQLite journal and its page cache live outside the V8 heap, so the
// figure is the engine's state per order. With --store memory the in-memory journal (the events'
// JSON text) is counted too. Prints one JSON line last.

import { createOrderly } from '../dist/index.js';
import { args, emit, inventory, round, storeOptions } from './lib.js';

const gc = globalThis.gc;
if (typeof gc !== 'function') {
  emit({ bench: 'memory', error: 'run node with --expose-gc' });
  process.exit(1);
}

const a = args();
const store = a.store ?? 'normal';
const n = Number(a.n ?? 100_000);

function settle() {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage();
}

const { opts, cleanup } = storeOptions(store, a.url ? { url: a.url } : {});
// No snapshot during the adds: its transient text is garbage anyway, but keep the run short.
const o = await createOrderly({ ...opts, snapshotEveryEvents: 10_000_000 });
let result;
try {
  o.registerFunction('noop', () => undefined);
  await o.deploy(inventory({ limit: 0 }));
  // Warm the code paths (and let lazily allocated structures exist) with one order, then measure.
  await o.addOrder({ workflow: 'w', id: 'warm' });
  await o.engine.whenIdle();
  const before = settle();
  for (let i = 0; i < n; i += 10_000) {
    const chunk = [];
    for (let j = i; j < Math.min(n, i + 10_000); j++) chunk.push(o.addOrder({ workflow: 'w', id: `m${j}` })); // the id is part of the cost
    await Promise.all(chunk);
  }
  await o.engine.whenIdle();
  const after = settle();
  const lock = o.getLock('L');
  const waiting = lock ? lock.queue.length : -1;
  result = {
    bench: 'memory',
    store,
    n,
    waiting,
    bytesPerOrder: Math.round((after.heapUsed - before.heapUsed) / n),
    rssBytesPerOrder: Math.round((after.rss - before.rss) / n),
    externalBytesPerOrder: Math.round((after.external - before.external) / n),
    heapUsedBeforeMB: round(before.heapUsed / 1e6, 1),
    heapUsedAfterMB: round(after.heapUsed / 1e6, 1),
    node: process.version,
  };
} finally {
  await o.close();
  await cleanup();
}
emit(result);
