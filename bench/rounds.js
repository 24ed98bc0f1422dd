// The throughput shape (bench/throughput.js: N orders through K exclusive locks, a no-op
// function job each) run several times in ONE process: the first round is what
// bench/throughput.js measures (the engine's code still being optimized), the later ones the
// same work with the code warm.
//
//   node bench/rounds.js [--store memory] [--locks 10] [--n 20000] [--rounds 2] [--mark]
//
// --mark calls os.hostname() right before and after each measured round, so that
//   valgrind --tool=callgrind --dump-before=uv_os_gethostname node bench/rounds.js --mark
// writes each round's instruction count (all threads: the compiler's and the collector's too)
// into a file of its own (callgrind.out.<pid>.<k>; the start-up and the gaps between rounds in
// the others; an Orderly that calls hostname() at its start adds one file before each round).
// Instruction counts repeat within a few per cent from run to run where time does not.
//
// Prints one line per round and one JSON line last.

import { hostname } from 'node:os';
import { createOrderly } from '../dist/index.js';
import { args, emit, finishedCounter, inventory, performance, round, storeOptions } from './lib.js';

const a = args();
const store = a.store ?? 'memory';
const locks = Number(a.locks ?? 10);
const n = Number(a.n ?? 20_000);
const rounds = Number(a.rounds ?? 2);
const mark = a.mark !== undefined;

async function once() {
  const { opts, cleanup } = storeOptions(store);
  const o = await createOrderly({ ...opts, ...(locks > 4 ? { slots: locks } : {}) });
  try {
    o.registerFunction('noop', () => undefined);
    if (locks === 1) await o.deploy(inventory());
    else {
      const parts = Array.from({ length: locks }, (_, i) => inventory({ lock: `L${i}`, wf: `w${i}` }));
      await o.deploy({ locks: parts.flatMap((p) => p.locks), workflows: parts.flatMap((p) => p.workflows) });
    }
    const fin = finishedCounter(o, n);
    if (mark) hostname();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const adds = new Array(n);
    for (let i = 0; i < n; i++) adds[i] = o.addOrder({ workflow: locks === 1 ? 'w' : `w${i % locks}`, id: `o${i}` });
    await Promise.all(adds);
    const tAdded = performance.now();
    const tDone = await fin.done;
    const c = process.cpuUsage(c0);
    if (mark) hostname();
    fin.unsubscribe();
    return { ordersPerSec: Math.round((n / (tDone - t0)) * 1000), ms: round(tDone - t0, 1), addMs: round(tAdded - t0, 1), cpuMs: round((c.user + c.system) / 1000, 1) };
  } finally {
    await o.close();
    await cleanup();
  }
}

const out = [];
for (let r = 0; r < rounds; r++) {
  const res = await once();
  out.push(res);
  process.stderr.write(`round ${r + 1}: ${JSON.stringify(res)}\n`);
}
emit({ bench: 'rounds', node: process.version, store, locks, n, rounds: out });
