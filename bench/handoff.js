// Handoff latency through ONE exclusive lock: the time from the end of one order's job function
// (the lock holder is about to return) to the start of the next order's job function, both taken
// with performance.now() inside the job. Everything between — the jobFinished command, the turn
// that releases the lock and grants it to the next waiter, the journal commit (one fsync with
// FULL), the job start — is the handoff.
//
// The waiters are queued first behind a closed gate (lock limit 0), then the gate opens (limit 1),
// so no addOrder competes with the handoffs. 500 orders through another lock warm the JIT first.
//
//   node bench/handoff.js --store full|normal|memory|pg [--n 6000] [--url postgres://…] [--early-starts]
//     --early-starts (pg): the jobs are restartable and start before their commit (DatabaseOptions.earlyStarts)
//
// Also splits each handoff at the moment `subscribe` sees the commit that holds the previous
// order's OrderLocksReleased: end → commit-seen (command, decide, journal commit) and
// commit-seen → next start (effects, microtask). Prints one JSON line last.

import { createOrderly } from '../dist/index.js';
import { args, emit, finishedCounter, inventory, median, percentile, performance, round, storeOptions } from './lib.js';

const a = args();
const store = a.store ?? 'full';
const n = Number(a.n ?? 6000); // n orders => n - 1 handoffs
const warm = Number(a.warm ?? 500);

const earlyStarts = a['early-starts'] === true;
const { opts, cleanup } = storeOptions(store, { ...(a.url ? { url: a.url } : {}), earlyStarts });
const o = await createOrderly(opts);
let result;
try {
  // Indexed by run order (whatever order the lock grants in).
  const runIds = [];
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  const releaseSeen = new Map(); // orderId -> time subscribe saw its OrderLocksReleased
  let measuring = false;
  o.registerFunction('warm', () => undefined);
  o.registerFunction('noop', (ctx) => {
    const t = performance.now();
    const k = runIds.length;
    runIds.push(ctx.orderId);
    starts[k] = t;
    ends[k] = performance.now();
    return undefined;
  });
  o.subscribe((events) => {
    if (!measuring) return;
    const t = performance.now();
    for (const e of events) if (e.event.type === 'OrderLocksReleased') releaseSeen.set(e.event.orderId, t);
  });

  // Warm-up on its own lock and workflow.
  await o.deploy(inventory({ lock: 'W', wf: 'warm', fn: 'warm' }));
  if (warm > 0) {
    const fin = finishedCounter(o, warm);
    await Promise.all(Array.from({ length: warm }, (_, i) => o.addOrder({ workflow: 'warm', id: `warm${i}` })));
    await fin.done;
    fin.unsubscribe();
  }

  // Queue n orders behind the closed gate, then open it.
  await o.deploy(inventory({ limit: 0, restartable: earlyStarts }));
  await Promise.all(Array.from({ length: n }, (_, i) => o.addOrder({ workflow: 'w', id: `h${i}` })));
  await o.engine.whenIdle();
  const fin = finishedCounter(o, n);
  measuring = true;
  const t0 = performance.now();
  await o.deploy(inventory({ limit: 1, restartable: earlyStarts }));
  const tEnd = await fin.done;
  fin.unsubscribe();

  const h = n - 1;
  const handoff = new Float64Array(h);
  const toCommit = [];
  const fromCommit = [];
  for (let k = 0; k < h; k++) {
    handoff[k] = starts[k + 1] - ends[k];
    const seen = releaseSeen.get(runIds[k]);
    if (seen !== undefined) {
      toCommit.push(seen - ends[k]);
      fromCommit.push(starts[k + 1] - seen);
    }
  }
  let max = 0;
  let maxAt = 0;
  for (let k = 0; k < h; k++) if (handoff[k] > max) [max, maxAt] = [handoff[k], k];
  const us = (ms) => round(ms * 1000, 1);
  result = {
    bench: 'handoff',
    store,
    handoffs: h,
    p50Us: us(percentile(handoff, 50)),
    p90Us: us(percentile(handoff, 90)),
    p99Us: us(percentile(handoff, 99)),
    p999Us: us(percentile(handoff, 99.9)),
    maxUs: us(max),
    maxAtHandoff: maxAt,
    meanUs: us(handoff.reduce((x, y) => x + y, 0) / h),
    endToCommitSeenP50Us: us(median(toCommit)),
    commitSeenToStartP50Us: us(median(fromCommit)),
    jobsPerSec: Math.round((n / (tEnd - t0)) * 1000),
    node: process.version,
  };
} finally {
  await o.close();
  await cleanup();
}
emit(result);
