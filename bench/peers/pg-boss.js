// Peer: pg-boss (PostgreSQL). Two shapes, like Orderly's:
//
// - serial (default): every job in one queue with the `singleton` policy (pg-boss 10: at most
//   one job of the queue active at a time), one worker: N no-op jobs one at a time.
// - per key (--keys K --per-key M): K × M jobs in one `singleton` queue, each with
//   `singletonKey` = its key (at most one active job per key: pg-boss 10's per-key
//   serialization), added round-robin over the keys; `--batch` jobs fetched per worker poll
//   (default 32, the slots), `--workers` workers (default 1), the jobs of a batch run at once.
//
// pg-boss 10 (the last major for Node 20; 11 and 12 want Node 22) polls: a worker fetches
// `batchSize` jobs, runs them, and waits out its polling interval (default 2 s, at least 0.5 s)
// before it fetches again, unless `notifyWorker(id)` woke it. `--tuned` (default) sets the
// shortest interval and has the handler wake its own worker after every non-empty batch, so a
// worker goes on at once while there is work; `--no-tuned` keeps pg-boss's defaults.
//
// Measured from the insert of the first job to the last completion (`onComplete` off: a job
// counts as done when its handler returned and pg-boss completed it). `--max-seconds` caps a
// slow run: the rate is then the completions within that window (`capped: true`).
//
//   node bench/peers/pg-boss.js [--n 200] [--keys 10000 --per-key 10] [--batch 32] [--workers 1]
//     [--no-tuned] [--max-seconds 60] [--url postgres://postgres@127.0.0.1:5432/test]
//
// PostgreSQL at 127.0.0.1:5432 (database `test`), a fresh schema dropped afterwards. Prints one
// JSON line last (with `error` when pg-boss or PostgreSQL is not available).

import { performance } from 'node:perf_hooks';
import { args, completions, dropSchema, emit, freshSchema, pgSettings, PG_URL, round, versionOf, withTimeout } from '../lib.js';

const a = args();
const url = a.url ?? PG_URL;
const keys = Number(a.keys ?? 0);
const perKey = Number(a['per-key'] ?? 10);
const n = keys > 0 ? keys * perKey : Number(a.n ?? 200);
const tuned = !a['no-tuned'];
const batch = Number(a.batch ?? (keys > 0 ? 32 : 1));
const workers = Number(a.workers ?? 1);
const maxSeconds = Number(a['max-seconds'] ?? 60);
const schema = freshSchema('orderly_bench_pgboss');
const base = { bench: 'peer-pg-boss', peer: 'pg-boss', version: versionOf('pg-boss'), n, keys, perKey: keys > 0 ? perKey : undefined };

for (const ev of ['uncaughtException', 'unhandledRejection']) {
  process.on(ev, (err) => {
    emit({ ...base, error: `${ev}: ${err?.stack ?? err}`.replace(/\s+/g, ' ').slice(0, 600) });
    process.exit(0);
  });
}

let PgBoss;
try {
  PgBoss = (await import('pg-boss')).default;
} catch (err) {
  emit({ ...base, error: `pg-boss is not installed: ${err.message}` });
  process.exit(0);
}

const boss = new PgBoss({ connectionString: url, schema, max: Math.max(4, workers + 2) });
boss.on('error', (err) => {
  // A fetch that meets a key with an active job fails on the singleton index and is retried at
  // the next poll; pg-boss swallows that one. Anything else is worth seeing.
  console.error(`pg-boss: ${err?.message ?? err}`);
});
let result;
const queue = 'bench';
try {
  await withTimeout(boss.start(), 30_000, `pg-boss start on ${url}`);
  const settings = await pgSettings({ query: (sql) => boss.getDb().executeSql(sql) });
  await boss.createQueue(queue, { policy: 'singleton' });
  const count = completions(n, maxSeconds);
  const ids = [];
  for (let w = 0; w < workers; w++) {
    const id = await boss.work(queue, { batchSize: batch, ...(tuned ? { pollingIntervalSeconds: 0.5 } : {}) }, async (jobs) => {
      await Promise.all(jobs.map(async () => undefined));
      // Counted when the handler returns: pg-boss then sends the completion without awaiting it.
      for (let i = 0; i < jobs.length; i++) count.one();
      if (tuned) boss.notifyWorker(ids[w] ?? id);
    });
    ids.push(id);
  }
  const specs = Array.from({ length: n }, (_, i) => ({ name: queue, data: { i }, ...(keys > 0 ? { singletonKey: `key${i % keys}` } : {}) }));
  const t0 = performance.now();
  count.start();
  for (let i = 0; i < n; i += 5000) await boss.insert(specs.slice(i, i + 5000));
  const tAdded = performance.now();
  const tEnd = await count.done;
  const ms = tEnd - t0;
  result = {
    ...base,
    ...settings,
    policy: 'singleton',
    tuned,
    pollingIntervalMs: tuned ? 500 : 2000,
    batch,
    workers,
    completed: count.ended,
    capped: count.capped,
    ms: round(ms, 1),
    jobsPerSec: Math.round((count.ended / ms) * 1000),
    addMs: round(tAdded - t0, 1),
    node: process.version,
  };
} catch (err) {
  result = { ...base, error: String(err?.message ?? err) };
} finally {
  try {
    await boss.stop({ graceful: false, wait: true, close: true, timeout: 5000 });
    await dropSchema(url, schema);
  } catch (err) {
    if (result && !result.error) result.cleanupError = String(err?.message ?? err);
  }
}
emit(result);
process.exit(0);
