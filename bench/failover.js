// Fail-over after `kill -9`.
//
// Orderly (default): `--nodes N` (default 2) processes of `orderly serve --database URL
// --node-name nK --port 0` (dist/cli/main.js) on one fresh schema, one admin token for all
// (ORDERLY_ADMIN_TOKEN). n1 is started first and becomes the controller; a workflow `[Finish]`
// is deployed through it; the others start as stand-bys (each has connected to PostgreSQL:
// counted in pg_stat_activity by application_name). Then n1 gets SIGKILL, an order is added at
// once through a stand-by's HTTP API (a stand-by sends commands to the controller through the
// commands table; while there is none it waits, or answers 503 and is asked again), and the
// script times, from the kill:
//   - leaseTakenMs: until the `controller` lease row names another node with a higher epoch;
//   - commandMs: until that add is answered: the next controller has taken over, recovered the
//     journal and committed a command sent during the outage.
// A killed controller does not release its lease: a stand-by takes it when it expires, at most
// one lease time (`--lease-seconds`, default Orderly's 8) after the last renewal (renewed every
// quarter of it), so the take-over is expected between 3/4 and 1 lease time after the kill.
//
// BullMQ (--peer bullmq): a child process runs a Worker (defaults: lockDuration 30 s,
// stalledInterval 30 s) that takes a job and never finishes it; this process has a second
// Worker with the defaults on the same queue. The child gets SIGKILL; the time until the second
// worker starts the job is BullMQ's stalled-job recovery (expected 30 – 60 s: the lock expires,
// then the next stalled check moves the job back to wait). About a minute.
//
//   node bench/failover.js [--nodes 2] [--lease-seconds 8] [--reps 1] [--url postgres://…]
//   node bench/failover.js --peer bullmq [--host 127.0.0.1] [--port 6379]
//
// Prints one JSON line last.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { api } from './http-lib.js';
import { args, emit, freshSchema, median, performance, PG_URL, round, versionOf, startServeNode, stopServeNodes, withTimeout } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const a = args();

/** Polls `check` every `everyMs` until it returns a value (not undefined); no deadline of its own. */
async function until(check, everyMs = 5) {
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    await sleep(everyMs);
  }
}

function startNode({ url, schema, name, leaseSeconds, dir, token }) {
  return startServeNode({ cli: join(here, '..', 'dist', 'cli', 'main.js'), url, schema, name, leaseSeconds, dir, token });
}

async function orderlyOnce({ url, nodes, leaseSeconds }) {
  const { default: pg } = await import('pg');
  const schema = freshSchema('orderly_bench_failover');
  const dir = mkdtempSync(join(tmpdir(), 'orderly-bench-failover-'));
  const db = new pg.Client({ connectionString: url });
  db.on('error', () => undefined);
  await db.connect();
  const started = [];
  const token = `bench-${randomBytes(18).toString('hex')}`;
  try {
    const n1 = startNode({ url, schema, name: 'n1', leaseSeconds, dir, token });
    started.push(n1);
    const s1 = await withTimeout(Promise.race([n1.listening, n1.exited.then((c) => Promise.reject(new Error(`n1 exited (${c}): ${n1.output().slice(-400)}`)))]), 90_000, 'n1 listening');
    const deployed = await api(s1, 'PUT', '/api/v1/workflows/failover', { TYPE: 'Workflow', instructions: [{ TYPE: 'Finish' }], jobs: {} });
    if (deployed.status >= 300) throw new Error(`deploy through n1: ${deployed.status} ${deployed.text.slice(0, 300)}`);
    // Every stand-by has connected (to ask for the lease): n1's connections plus one each at least.
    const connections = async () =>
      (await db.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name IN ($1, $2)', [`orderly:${schema}`, `orderly:listen:${schema}`])).rows[0].n;
    const own = await connections();
    for (let k = 2; k <= nodes; k++) started.push(startNode({ url, schema, name: `n${k}`, leaseSeconds, dir, token }));
    await withTimeout(
      until(async () => ((await connections()) >= own + nodes - 1 ? true : undefined), 20),
      90_000,
      'stand-bys waiting',
    );
    const lease = async () => (await db.query(`SELECT node, epoch::int AS epoch FROM "${schema}".leases WHERE name = 'controller'`)).rows[0];
    const before = await lease();
    // Stand-bys answer HTTP (reads; commands go to the controller); one that does not yet is
    // waited for (then the add goes to whichever stand-by listens first).
    const t0 = performance.now();
    n1.child.kill('SIGKILL');
    const command = (async () => {
      const server = started.slice(1).find((s) => s.server)?.server ?? (await Promise.race(started.slice(1).map((s) => s.listening)));
      for (;;) {
        const r = await api(server, 'POST', '/api/v1/orders', { workflow: 'failover', id: 'added-at-the-kill' });
        if (r.status < 300) return performance.now();
        if (r.status === 409) return performance.now(); // an earlier try was run after all
        if (r.status !== 503) throw new Error(`add through a stand-by: ${r.status} ${r.text.slice(0, 300)}`);
        await sleep(20);
      }
    })();
    command.catch(() => undefined);
    const taken = await withTimeout(
      until(async () => {
        const r = await lease();
        return r && r.epoch > before.epoch ? { ...r, at: performance.now() } : undefined;
      }),
      (leaseSeconds + 60) * 1000,
      'lease taken over',
    );
    // The add, sent at the kill: answered once a controller runs again.
    const commandAt = await command;
    return { leaseTakenMs: round(taken.at - t0, 0), commandMs: round(commandAt - t0, 0), takenBy: taken.node, epochs: `${before.epoch} -> ${taken.epoch}` };
  } finally {
    await stopServeNodes({ started, db, url, schema, dir });
  }
}

async function orderly() {
  const url = a.url ?? PG_URL;
  const nodes = Number(a.nodes ?? 2);
  const leaseSeconds = Number(a['lease-seconds'] ?? 8);
  const reps = Number(a.reps ?? 1);
  if (!(nodes >= 2 && nodes <= 9)) throw new Error(`--nodes: 2 to 9, not ${a.nodes}`);
  const runs = [];
  for (let i = 0; i < reps; i++) runs.push(await orderlyOnce({ url, nodes, leaseSeconds }));
  return {
    bench: 'failover',
    peer: 'orderly',
    nodes,
    leaseSeconds,
    leaseTakenMs: median(runs.map((r) => r.leaseTakenMs)),
    commandMs: median(runs.map((r) => r.commandMs)),
    runs,
    node: process.version,
  };
}

// --- BullMQ ---------------------------------------------------------------------------------

async function redis(host, port) {
  const { default: IORedis } = await import('ioredis');
  const c = new IORedis({ host, port, maxRetriesPerRequest: null, lazyConnect: true });
  await c.connect();
  return c;
}

/** The child: a default Worker that starts the job, says so, and never finishes it. */
async function bullmqChild(queueName, host, port) {
  const { Worker } = await import('bullmq');
  const w = new Worker(queueName, () => {
    process.stdout.write('started\n');
    return new Promise(() => undefined);
  }, { connection: await redis(host, port) });
  await w.waitUntilReady();
  process.stdout.write('ready\n');
}

async function bullmq() {
  const host = a.host ?? '127.0.0.1';
  const port = Number(a.port ?? 6379);
  const base = { bench: 'failover', peer: 'bullmq', version: versionOf('bullmq') };
  let bull;
  try {
    bull = await import('bullmq');
  } catch (err) {
    return { ...base, error: `bullmq is not installed: ${err.message}` };
  }
  const name = `orderly-bench-failover-${process.pid}-${Date.now()}`;
  const conn = await withTimeout(redis(host, port), 5000, `Redis at ${host}:${port}`);
  const queue = new bull.Queue(name, { connection: conn });
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--bullmq-child', name, '--host', host, '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const seen = (word) => new Promise((r) => child.stdout.on('data', (d) => (out += d).includes(word) && r()));
  const childReady = seen('ready');
  const childStarted = seen('started');
  let worker;
  try {
    await withTimeout(childReady, 30_000, 'child worker ready');
    await queue.add('job', {});
    await withTimeout(childStarted, 30_000, 'child worker started the job');
    // The second worker (defaults), started only now so that the child took the job.
    let resolve;
    const recovered = new Promise((r) => (resolve = r));
    worker = new bull.Worker(name, async () => resolve(performance.now()), { connection: await redis(host, port) });
    await worker.waitUntilReady();
    const t0 = performance.now();
    child.kill('SIGKILL');
    const t1 = await withTimeout(recovered, 180_000, 'stalled job recovered');
    return { ...base, defaults: 'lockDuration 30 s, stalledInterval 30 s, maxStalledCount 1', recoveredMs: round(t1 - t0, 0), node: process.version };
  } finally {
    child.kill('SIGKILL');
    await worker?.close().catch(() => undefined);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close().catch(() => undefined);
    await conn.quit().catch(() => undefined);
  }
}

if (a['bullmq-child']) {
  await bullmqChild(a['bullmq-child'], a.host ?? '127.0.0.1', Number(a.port ?? 6379));
} else {
  let result;
  try {
    result = a.peer === 'bullmq' ? await bullmq() : await orderly();
  } catch (err) {
    result = { bench: 'failover', peer: a.peer ?? 'orderly', error: String(err?.message ?? err) };
  }
  emit(result);
  process.exit(0);
}
