// Peer: graphile-worker. A no-op task, every job in one named queue (`queueName`: graphile-worker
// runs the jobs of a named queue one at a time, in order), a runner with concurrency 1. N jobs
// added at once (addJobs, one call); measured from the add to the last `job:success` event.
// PostgreSQL at 127.0.0.1:5432, database `test`, in a fresh schema that is dropped afterwards.
//
//   node bench/peers/graphile-worker.js [--n 500] [--url postgres://postgres@127.0.0.1:5432/test]
//
// Per key: --keys K --per-key M [--concurrency 32]: K × M jobs, job i in the named queue
// `key(i mod K)` (graphile-worker runs a named queue's jobs one at a time: its per-key
// serialization), added round-robin over the keys, a runner of `concurrency` (the slots).
// --max-seconds S (default 60) caps a slow run: the rate is then the completions in S seconds.
//
// Prints one JSON line last (with `error` if graphile-worker or PostgreSQL is not available).

import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { args, completions, emit, PG_URL, pgSettings, round, versionOf, withTimeout } from '../lib.js';

const a = args();
const keys = Number(a.keys ?? 0);
const perKey = Number(a['per-key'] ?? 10);
const n = keys > 0 ? keys * perKey : Number(a.n ?? 500);
const concurrency = Number(a.concurrency ?? (keys > 0 ? 32 : 1));
const maxSeconds = Number(a['max-seconds'] ?? 60);
const url = a.url ?? PG_URL;
const pollInterval = Number(a['poll-interval'] ?? 2000); // graphile-worker's default
const queueName = a['no-queue-name'] ? undefined : 'orderly-bench';
const schema = `orderly_bench_gw_${process.pid}_${Date.now()}`;

function fail(error) {
  emit({ bench: 'peer-graphile-worker', peer: 'graphile-worker', version: versionOf('graphile-worker'), n, error });
  process.exit(0);
}

// Whatever goes wrong, the last line is still a JSON result. Once measured, an error of the
// shut-down (a capped run stops the runner with completions in flight) leaves the result be.
let result;
for (const ev of ['uncaughtException', 'unhandledRejection']) {
  process.on(ev, (err) => {
    if (result && !result.error) {
      emit({ ...result, cleanupError: `${ev}: ${err?.message ?? err}`.slice(0, 300) });
      process.exit(0);
    }
    emit({ bench: 'peer-graphile-worker', peer: 'graphile-worker', n, error: `${ev}: ${err?.stack ?? err}`.replace(/\s+/g, ' ').slice(0, 600) });
    process.exit(0);
  });
}

let gw;
let pg;
try {
  gw = await import('graphile-worker');
  pg = (await import('pg')).default;
} catch (err) {
  fail(`graphile-worker is not installed: ${err.message}`);
}

const quiet = new gw.Logger(() => (level, message) => {
  if (level === 'error') console.error(`graphile-worker: ${message}`);
});

const pool = new pg.Pool({ connectionString: url, max: Math.max(4, concurrency + 2) });
pool.on('error', () => undefined);
pool.on('connect', (client) => client.on('error', () => undefined));
let runner;
let settings = {};
try {
  settings = await withTimeout(pgSettings(pool), 5000, `PostgreSQL at ${url}`);
  const events = new EventEmitter();
  let failed = 0;
  const count = completions(n, maxSeconds);
  events.on('job:success', () => count.one());
  events.on('job:error', () => {
    failed++;
    count.one();
  });
  runner = await gw.run({
    pgPool: pool,
    schema,
    concurrency,
    noHandleSignals: true,
    pollInterval,
    logger: quiet,
    events,
    taskList: { noop: async () => undefined },
  });
  const utils = await gw.makeWorkerUtils({ pgPool: pool, schema, logger: quiet });
  const queueOf = (i) => (keys > 0 ? `key${i % keys}` : queueName);
  const specs = Array.from({ length: n }, (_, i) => ({ identifier: 'noop', payload: { i }, ...(queueOf(i) ? { queueName: queueOf(i) } : {}) }));
  const t0 = performance.now();
  count.start();
  for (let i = 0; i < n; i += 5000) await utils.addJobs(specs.slice(i, i + 5000));
  const tAdded = performance.now();
  const tEnd = await withTimeout(count.done, 120_000 + maxSeconds * 1000, 'graphile-worker runner');
  const ms = tEnd - t0;
  await utils.release();
  result = {
    bench: 'peer-graphile-worker',
    peer: 'graphile-worker',
    version: versionOf('graphile-worker'),
    ...settings,
    queueName: keys > 0 ? 'per key' : (queueName ?? null),
    pollIntervalMs: pollInterval,
    n,
    keys,
    ...(keys > 0 ? { perKey } : {}),
    concurrency,
    succeeded: count.ended - failed,
    failed,
    capped: count.capped,
    ms: round(ms, 1),
    jobsPerSec: Math.round((count.ended / ms) * 1000),
    addMs: round(tAdded - t0, 1),
    node: process.version,
  };
} catch (err) {
  result = { bench: 'peer-graphile-worker', peer: 'graphile-worker', version: versionOf('graphile-worker'), n, error: String(err?.message ?? err) };
} finally {
  try {
    await runner?.stop();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } catch (err) {
    if (result && !result.error) result.cleanupError = String(err?.message ?? err);
  }
  await pool.end().catch(() => undefined);
}
emit(result);
process.exit(0);
