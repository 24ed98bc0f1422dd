// Peer: BullMQ. One queue, one Worker with concurrency 1 (so jobs are serialized, like orders
// through one exclusive lock), a no-op processor. N jobs added at once (addBulk, 1,000 a call);
// measured from the first add to the last `completed` event. Redis at 127.0.0.1:6379; a unique
// queue name, obliterated afterwards.
//
//   node bench/peers/bullmq.js [--n 5000] [--host 127.0.0.1] [--port 6379]
//
// BullMQ 6 no longer bundles a Redis client: `ioredis` (or `redis`, node-redis 5) is an optional
// peer dependency, and under native ESM BullMQ wants a constructed client, which this script
// builds from whichever of the two is installed. With neither, it reports that and exits 0.
// Prints one JSON line last (with `error` when BullMQ, a Redis client or Redis is missing).

import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { args, emit, round } from '../lib.js';

const a = args();
const n = Number(a.n ?? 5000);
const host = a.host ?? '127.0.0.1';
const port = Number(a.port ?? 6379);
const name = `orderly-bench-${process.pid}-${Date.now()}`;
const require = createRequire(import.meta.url);
const versionOf = (pkg) => {
  try {
    return require(`${pkg}/package.json`).version;
  } catch {
    return undefined;
  }
};

function fail(error) {
  emit({ bench: 'peer-bullmq', peer: 'bullmq', version: versionOf('bullmq'), n, error });
  process.exit(0);
}

let bullmq;
try {
  bullmq = await import('bullmq');
} catch (err) {
  fail(`bullmq is not installed: ${err.message}`);
}
const { Queue, Worker } = bullmq;

/** A connected Redis client instance of whichever driver is installed. */
async function redisClient() {
  try {
    const { default: IORedis } = await import('ioredis');
    const c = new IORedis({ host, port, maxRetriesPerRequest: null, lazyConnect: true });
    await c.connect();
    return { client: c, driver: `ioredis ${versionOf('ioredis')}` };
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  }
  try {
    const { createClient } = await import('redis');
    const c = createClient({ url: `redis://${host}:${port}` });
    await c.connect();
    return { client: c, driver: `redis ${versionOf('redis')}` };
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  }
  return undefined;
}

const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);

let conn;
let workerConn;
try {
  conn = await withTimeout(redisClient(), 5000, `Redis at ${host}:${port}`);
  workerConn = conn && (await withTimeout(redisClient(), 5000, `Redis at ${host}:${port}`));
} catch (err) {
  fail(`cannot connect to Redis at ${host}:${port}: ${err.message}`);
}
if (!conn) {
  fail(
    `bullmq ${versionOf('bullmq')} needs a Redis client package (optional peer dependency 'ioredis' or 'redis'), ` +
      'and neither is installed; not measured (npm install --save-dev ioredis to enable)',
  );
}

let queue;
let worker;
let result;
try {
  queue = new Queue(name, { connection: conn.client });
  await queue.waitUntilReady();
  let completed = 0;
  let failed = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  worker = new Worker(name, async () => undefined, { connection: workerConn.client, concurrency: 1, autorun: false });
  worker.on('completed', () => {
    if (++completed + failed === n) resolve(performance.now());
  });
  worker.on('failed', () => {
    if (completed + ++failed === n) resolve(performance.now());
  });
  worker.run().catch((err) => console.error(err));
  await worker.waitUntilReady();

  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    const jobs = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) jobs.push({ name: 'noop', data: { i: j } });
    await queue.addBulk(jobs);
  }
  const tAdded = performance.now();
  const tEnd = await withTimeout(done, 120_000, 'bullmq worker');
  const ms = tEnd - t0;
  result = {
    bench: 'peer-bullmq',
    peer: 'bullmq',
    version: versionOf('bullmq'),
    driver: conn.driver,
    n,
    completed,
    failed,
    ms: round(ms, 1),
    jobsPerSec: Math.round((n / ms) * 1000),
    addMs: round(tAdded - t0, 1),
    node: process.version,
  };
} catch (err) {
  result = { bench: 'peer-bullmq', peer: 'bullmq', version: versionOf('bullmq'), n, error: String(err?.message ?? err) };
} finally {
  try {
    await worker?.close();
    await queue?.obliterate({ force: true });
    await queue?.close();
    await conn?.client.quit?.();
    await workerConn?.client.quit?.();
  } catch (err) {
    if (result && !result.error) result.cleanupError = String(err?.message ?? err);
  }
}
emit(result);
process.exit(0);
