// Peer: graphile-worker. A no-op task, every job in one named queue (`queueName`: graphile-worker
// runs the jobs of a named queue one at a time, in order), a runner with concurrency 1. N jobs
// added at once (addJobs, one call); measured from the add to the last `job:success` event.
// PostgreSQL at 127.0.0.1:5432, database `test`, in a fresh schema that is dropped afterwards.
//
//   node bench/peers/graphile-worker.js [--n 500] [--url postgres://postgres@127.0.0.1:5432/test]
//
// Prints one JSON line last (with `error` if graphile-worker or PostgreSQL is not available).

import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { args, emit, round } from '../lib.js';

const a = args();
const n = Number(a.n ?? 500);
const url = a.url ?? 'postgres://postgres@127.0.0.1:5432/test';
const pollInterval = Number(a['poll-interval'] ?? 2000); // graphile-worker's default
const queueName = a['no-queue-name'] ? undefined : 'orderly-bench';
const schema = `orderly_bench_gw_${process.pid}_${Date.now()}`;
const require = createRequire(import.meta.url);
const versionOf = (pkg) => {
  try {
    return require(`${pkg}/package.json`).version;
  } catch {
    return undefined;
  }
};

function fail(error) {
  emit({ bench: 'peer-graphile-worker', peer: 'graphile-worker', version: versionOf('graphile-worker'), n, error });
  process.exit(0);
}

// Whatever goes wrong, the last line is still a JSON result.
for (const ev of ['uncaughtException', 'unhandledRejection']) {
  process.on(ev, (err) => {
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

const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);

const quiet = new gw.Logger(() => (level, message) => {
  if (level === 'error') console.error(`graphile-worker: ${message}`);
});

const pool = new pg.Pool({ connectionString: url, max: 4 });
pool.on('error', () => undefined);
pool.on('connect', (client) => client.on('error', () => undefined));
let runner;
let result;
let pgSettings = {};
try {
  const c = await withTimeout(pool.connect(), 5000, `PostgreSQL at ${url}`);
  try {
    for (const k of ['server_version', 'synchronous_commit', 'fsync']) pgSettings[k] = (await c.query(`SHOW ${k}`)).rows[0][k];
  } finally {
    c.release();
  }
  const events = new EventEmitter();
  let succeeded = 0;
  let failed = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  events.on('job:success', () => {
    if (++succeeded + failed === n) resolve(performance.now());
  });
  events.on('job:error', () => {
    if (succeeded + ++failed === n) resolve(performance.now());
  });
  runner = await gw.run({
    pgPool: pool,
    schema,
    concurrency: 1,
    noHandleSignals: true,
    pollInterval,
    logger: quiet,
    events,
    taskList: { noop: async () => undefined },
  });
  const utils = await gw.makeWorkerUtils({ pgPool: pool, schema, logger: quiet });
  const specs = Array.from({ length: n }, (_, i) => ({ identifier: 'noop', payload: { i }, ...(queueName ? { queueName } : {}) }));
  const t0 = performance.now();
  await utils.addJobs(specs);
  const tAdded = performance.now();
  const tEnd = await withTimeout(done, 120_000, 'graphile-worker runner');
  const ms = tEnd - t0;
  await utils.release();
  result = {
    bench: 'peer-graphile-worker',
    peer: 'graphile-worker',
    version: versionOf('graphile-worker'),
    postgres: pgSettings.server_version,
    synchronousCommit: pgSettings.synchronous_commit,
    pgFsync: pgSettings.fsync,
    queueName: queueName ?? null,
    pollIntervalMs: pollInterval,
    n,
    succeeded,
    failed,
    ms: round(ms, 1),
    jobsPerSec: Math.round((n / ms) * 1000),
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
