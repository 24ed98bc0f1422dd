// Cost per handoff as a function of how many orders wait on the lock.
//
// `depth` orders are queued behind a closed gate (lock limit 0), then the gate opens (limit 1).
// Every order that gets the lock adds a new one at the back (addOrder from its job), so `depth`
// orders wait during the whole measurement, for 100 as for 100,000. After `warm` handoffs
// (JIT warm-up), the next `handoffs` are timed: time per handoff = elapsed / handoffs.
//
//   node bench/queue-scale.js --depth 100|100000 [--store memory|normal] [--handoffs 5000] [--warm 500]
//
// The memory store (default) isolates the queue cost from the disk. Prints one JSON line last.

import { createOrderly } from '../dist/index.js';
import { args, emit, inventory, median, percentile, performance, round, storeOptions } from './lib.js';

const a = args();
const store = a.store ?? 'memory';
const depth = Number(a.depth ?? 100);
const handoffs = Number(a.handoffs ?? 5000);
const warm = Number(a.warm ?? 500);
// A second, longer window: long enough to include the periodic snapshots (every 50,000 events).
const long = Math.max(handoffs, Number(a.long ?? 20000));

const { opts, cleanup } = storeOptions(store, a.url ? { url: a.url } : {});
const o = await createOrderly(opts);
let result;
try {
  // Refill from inside the job: the order that just got the lock adds its replacement at the
  // back of the line, and `depth` orders wait. The engine waits a few microtasks for an
  // in-process job's result before it decides what is pending, so the add rides in the round
  // of this job's result: one commit per handoff.
  let refill = false;
  let next = depth;
  o.registerFunction('noop', () => {
    if (refill) o.addOrder({ workflow: 'w', id: `q${next++}` }).catch((err) => console.error(err));
    return undefined;
  });
  await o.deploy(inventory({ limit: 0 }));
  const tq0 = performance.now();
  await Promise.all(Array.from({ length: depth }, (_, i) => o.addOrder({ workflow: 'w', id: `q${i}` })));
  await o.engine.whenIdle();
  const queueMs = performance.now() - tq0;
  const waitingAtStart = o.getLock('L')?.queue.length;

  let finished = 0;
  let tWarm = 0;
  let tFirst = 0;
  let stopped = false;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  const gaps = new Float64Array(long);
  let last = 0;
  let commits = 0;
  o.subscribe((events) => {
    if (finished >= warm && !stopped) commits++;
    for (const e of events) {
      if (e.event.type !== 'OrderFinished') continue;
      const t = performance.now();
      finished++;
      if (stopped) continue;
      if (finished > warm && finished <= warm + long) gaps[finished - warm - 1] = t - last;
      last = t;
      if (finished === warm) tWarm = t;
      if (finished === warm + handoffs) tFirst = t;
      if (finished === warm + long) {
        stopped = true;
        refill = false;
        resolve(t);
      }
    }
  });
  refill = true;
  await o.deploy(inventory({ limit: 1 }));
  const tEnd = await done;
  await o.deploy(inventory({ limit: 0 })); // close the gate again: nothing moves any more
  const waitingAtEnd = o.getLock('L')?.queue.length;
  const ms = tFirst - tWarm;
  const msLong = tEnd - tWarm;
  const first = gaps.subarray(0, handoffs);
  // What one snapshot costs at this depth (taken synchronously inside a turn every 50,000 events).
  await o.engine.whenIdle();
  const ts = performance.now();
  await o.engine.snapshot();
  const snapshotMs = performance.now() - ts;
  result = {
    bench: 'queue-scale',
    store,
    depth,
    handoffs,
    usPerHandoff: round((ms * 1000) / handoffs, 1),
    p50Us: round(median([...first]) * 1000, 1),
    p99Us: round(percentile(first, 99) * 1000, 1),
    maxUs: round(Math.max(...first) * 1000, 1),
    longHandoffs: long,
    longUsPerHandoff: round((msLong * 1000) / long, 1),
    longMaxUs: round(Math.max(...gaps) * 1000, 1),
    commitsPerHandoff: round(commits / long, 2),
    queueSetupMs: round(queueMs, 0),
    snapshotMs: round(snapshotMs, 1),
    waitingAtStart,
    waitingAtEnd,
    node: process.version,
  };
} finally {
  await o.close();
  await cleanup();
}
emit(result);
