// Throughput through ONE exclusive lock: N orders added at once, each takes lock L and runs a
// no-op FunctionExecutable job. Measured from the first addOrder call to the last OrderFinished
// (as delivered by `subscribe`, i.e. after its journal commit).
//
//   node bench/throughput.js --store full|normal|memory|pg [--n 20000] [--locks 1] [--url postgres://…]
//     [--early-starts]   (pg: restartable jobs start before their commit, DatabaseOptions.earlyStarts)
//     --locks K: K independent serial queues (lock Li, workflow wi), the orders spread over them
//   node bench/throughput.js --store pg --keys 10000 --per-key 10 [--slots 32]
//     per key: one keyed lock K (an exclusive lock per key, `key: '$k'`), keys × per-key orders
//     added round-robin over the keys (order i has k = key(i mod keys)), `slots` worker slots and
//     a job parallelism of `slots`: at most one order per key runs at a time, up to `slots` keys at once;
//     added in awaited chunks of --add-chunk (default 5,000 here, like the peers' inserts; 0 =
//     all at once, the serial shape's default)
//   --store pg: the journal on PostgreSQL (default postgres://postgres@127.0.0.1:5432/test) in a
//     fresh schema, dropped afterwards
//   node bench/throughput.js --fsync [--samples 2000]     raw write+fsync latency of this disk
//
// Without --store/--fsync it does all four in this one process (run.js runs each fresh).
// Prints one JSON line last.

import { Buffer } from 'node:buffer';
import { closeSync, fdatasyncSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOrderly } from '../dist/index.js';
import { args, emit, finishedCounter, inventory, median, percentile, performance, PG_URL, round, storeOptions } from './lib.js';

/**
 * write(4 KiB) + fsync, `samples` times, in the temp dir (the same file system as the benchmark
 * data dirs). Appending (the file grows, like a WAL being filled) and overwriting one block with
 * fdatasync (like a reused WAL) are both timed; the figure quoted is the appending fsync median.
 */
export function fsyncLatency(samples = 2000) {
  const dir = mkdtempSync(join(tmpdir(), 'orderly-bench-fsync-'));
  const buf = Buffer.alloc(4096, 7);
  const time = (file, fn) => {
    const fd = openSync(join(dir, file), 'w');
    const xs = new Float64Array(samples);
    try {
      for (let i = 0; i < 20; i++) fn(fd, i); // warm-up
      for (let i = 0; i < samples; i++) {
        const t = performance.now();
        fn(fd, i + 20);
        xs[i] = performance.now() - t;
      }
    } finally {
      closeSync(fd);
    }
    return xs;
  };
  try {
    const append = time('append', (fd, i) => {
      writeSync(fd, buf, 0, buf.length, i * buf.length);
      fsyncSync(fd);
    });
    const overwrite = time('overwrite', (fd) => {
      writeSync(fd, buf, 0, buf.length, 0);
      fdatasyncSync(fd);
    });
    return {
      samples,
      fsyncAppendMedianMs: round(median([...append]), 4),
      fsyncAppendP99Ms: round(percentile(append, 99), 4),
      fdatasyncOverwriteMedianMs: round(median([...overwrite]), 4),
      fdatasyncOverwriteP99Ms: round(percentile(overwrite, 99), 4),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One keyed lock `K` (limit 1 per key) and a workflow `wk` whose job runs `slots` at once. */
export function keyedInventory(slots, fn = 'noop', restartable = false) {
  return {
    locks: [{ name: 'K', limit: 1, keyed: true }],
    workflows: [
      {
        name: 'wk',
        instructions: [
          {
            TYPE: 'Lock',
            demands: [{ lockName: 'K', key: '$k' }],
            lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] },
          },
        ],
        jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: fn }, parallelism: slots, ...(restartable ? { restartable: true } : {}) } },
      },
    ],
  };
}

/**
 * n orders through `locks` exclusive locks, or (keys > 0) keys × perKey orders through one keyed
 * lock with `slots` worker slots. Returns the figures.
 */
export async function throughput(store, n, locks = 1, { keys = 0, perKey = 10, slots, url = PG_URL, addChunk = keys > 0 ? 5000 : 0, earlyStarts = false } = {}) {
  const { opts, cleanup } = storeOptions(store, { url, earlyStarts });
  const restartable = earlyStarts;
  if (keys > 0) n = keys * perKey;
  // Job slots (default 4) must not be what limits K queues.
  const slotCount = slots ?? (keys > 0 ? 32 : locks > 4 ? locks : undefined);
  const o = await createOrderly({ ...opts, ...(slotCount !== undefined ? { slots: slotCount } : {}) });
  try {
    o.registerFunction('noop', () => undefined);
    if (keys > 0) await o.deploy(keyedInventory(slotCount, 'noop', restartable));
    else if (locks === 1) await o.deploy(inventory({ restartable }));
    else {
      // K independent serial queues: lock Li and workflow wi each; orders spread round-robin.
      const parts = Array.from({ length: locks }, (_, i) => inventory({ lock: `L${i}`, wf: `w${i}`, restartable }));
      await o.deploy({ locks: parts.flatMap((p) => p.locks), workflows: parts.flatMap((p) => p.workflows) });
    }
    let commits = 0;
    let events = 0;
    const unsub = o.subscribe((evs) => {
      commits++;
      events += evs.length;
    });
    const fin = finishedCounter(o, n);
    const t0 = performance.now();
    const add = (i) =>
      keys > 0 ? o.addOrder({ workflow: 'wk', id: `o${i}`, arguments: { k: `key${i % keys}` } }) : o.addOrder({ workflow: locks === 1 ? 'w' : `w${i % locks}`, id: `o${i}` });
    // In chunks of addChunk (each awaited, as a client streaming its adds would), or all at once.
    const chunk = addChunk > 0 ? addChunk : n;
    for (let from = 0; from < n; from += chunk) {
      const adds = [];
      for (let i = from; i < Math.min(n, from + chunk); i++) adds.push(add(i));
      await Promise.all(adds);
    }
    const tAdded = performance.now();
    const tDone = await fin.done;
    fin.unsubscribe();
    unsub();
    const ms = tDone - t0;
    return {
      store,
      ...(earlyStarts ? { earlyStarts } : {}),
      n,
      locks,
      ...(keys > 0 ? { keys, perKey, slots: slotCount, addChunk } : {}),
      ms: round(ms, 1),
      ordersPerSec: Math.round((n / ms) * 1000),
      addMs: round(tAdded - t0, 1),
      commits,
      eventsPerOrder: round(events / n, 2),
      usPerOrder: round((ms * 1000) / n, 1),
      rssMB: Math.round(process.memoryUsage().rss / 1e6),
    };
  } finally {
    await o.close();
    await cleanup();
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const a = args();
  const n = Number(a.n ?? 20_000);
  const samples = Number(a.samples ?? 2000);
  const out = { bench: 'throughput', node: process.version };
  if (a.fsync) out.fsync = fsyncLatency(samples);
  const locks = Number(a.locks ?? 1);
  if (!Number.isInteger(locks) || locks < 1 || locks > 10_000) throw new Error(`--locks: a whole number from 1 to 10000, not ${a.locks}`);
  const keys = Number(a.keys ?? 0);
  if (!Number.isInteger(keys) || keys < 0 || keys > 1_000_000) throw new Error(`--keys: a whole number from 0 to 1000000, not ${a.keys}`);
  const keyed = {
    keys,
    perKey: Number(a['per-key'] ?? 10),
    ...(a.slots ? { slots: Number(a.slots) } : {}),
    ...(a['add-chunk'] ? { addChunk: Number(a['add-chunk']) } : {}),
    url: a.url ?? PG_URL,
    earlyStarts: a['early-starts'] === true,
  };
  if (a.store) out.result = await throughput(a.store, n, locks, keyed);
  if (!a.fsync && !a.store) {
    out.fsync = fsyncLatency(samples);
    out.results = [];
    for (const s of ['full', 'normal', 'memory']) out.results.push(await throughput(s, n));
  }
  emit(out);
}
