// Orderly as a cluster: `--nodes 1|3` real node processes on one fresh schema, n1 the
// controller (started first), the others stand-bys whose workers take the jobs the controller
// dispatches to them through the `executions` table. The job (`--job`):
// - shell (default): the nodes are `orderly serve --database` (dist/cli/main.js, as
//   bench/failover.js starts them), which has no in-process functions, so the job is a shell job
//   of no agent: `#!/bin/bash` that appends `$EPOCHREALTIME` to a file when it starts and when it
//   ends (bash's clock, no process for it). Every figure then includes a process spawn per job,
//   on whichever node runs it. Orders and deploys go over HTTP (below).
// - function: the nodes are bench/cluster-node.js, the library (`createOrderly` with
//   `database`) in its own process with a no-op FunctionExecutable `noop` registered on its
//   worker: the job of the peers (bench/peers/*.js) and of the library rows (bench/throughput.js).
//   Orders and deploys go through the library of the node they are sent to (an IPC message to
//   that process, then `orderly.addOrders` / `orderly.deploy` there): on n1 the controller's own
//   engine takes them, as the peers' clients insert their jobs directly, with no HTTP parsing on
//   the controller's event loop. In the handoff shape the function appends its start and end
//   (the wall clock to the µs) to a file like the shell job; otherwise it does nothing.
//
// Slots: `--slots` in total, split over the nodes with the controller's share the smallest
// (32 → 10 + 11 + 11). The engine gives a job to the controller's own worker while it has a
// free slot, else to the worker with the most free slots: the serial and handoff shapes run on
// the controller's worker, and the keyed shape's jobs beyond its 10 slots go to the stand-bys'
// (dispatched through PostgreSQL, the cluster's handoff). With one node everything runs on it.
// `--controller-slots C` gives the controller C slots and splits the rest over the stand-bys
// (`--slots 32 --controller-slots 2` → 2 + 15 + 15): a small C sends most jobs through
// PostgreSQL to the stand-bys, and C = 0 every job (the handoff shape on a stand-by).
//
// Shapes (`--shape`):
// - serial: n orders through ONE exclusive lock, added at once in batches of 1,000
//   (POST /api/v1/orders {orders}, or one `addOrders` of the library) through the controller
//   (`--add-via all`: round-robin over every node; a stand-by forwards each add to the
//   controller as one command through the `commands` table, see docs/cluster.md);
// - keyed: keys × per-key orders through a keyed lock (limit 1 per key, `key: '$k'`), the job's
//   parallelism = slots, added in awaited chunks of 5,000 (batches of 1,000 round-robin);
// - handoff: n orders queued behind a closed gate (lock limit 0), then the gate opens
//   (limit 1): each handoff is the next job's start minus the previous job's end, both taken in
//   the jobs (so: end of the script → its process exits → the worker reports → the commit that
//   releases and grants → the dispatch → the next process starts; a function job: end of the
//   function → the worker reports → the commit → the dispatch → the next call).
// Throughput is n / (the last OrderFinished's `at`, the controller's clock, minus the moment
// the first add was sent); with `--cap-seconds S` a run still going S seconds after that moment
// stops there and gives the orders finished by then over the same span (`capped`, as the
// peers' `--max-seconds`); the events are read from the schema every 100 ms (no extra load
// per commit). `jobsByNode`: how many jobs each node's worker ran (OrderProcessingStarted).
//
//   node bench/cluster.js --nodes 3 --shape serial [--n 1000] [--slots 32] [--url postgres://…]
//   node bench/cluster.js --nodes 3 --shape keyed [--keys 1000] [--per-key 10] [--slots 32]
//   node bench/cluster.js --nodes 3 --shape handoff [--n 500]
//   [--job shell|function] [--lease-seconds 8] [--max-seconds 120] [--cap-seconds S]
//   [--add-via controller|all] [--controller-slots C] [--early-starts]
//   --early-starts: the job is restartable and the nodes start with early starts (`--early-starts`,
//   DatabaseOptions.earlyStarts): the controller starts it before its commit
//   [--main path/to/dist/cli/main.js]   (another build, for paired runs of two versions; shell)
//   [--node-script path/to/bench/cluster-node.js]   (the same, for --job function)
//
// Prints one JSON line last.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { api } from './http-lib.js';
import { args, emit, freshSchema, percentile, PG_URL, round, startFunctionNode, startServeNode, stopServeNodes, withTimeout } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const a = args();
const nodes = Number(a.nodes ?? 3);
const shape = a.shape ?? 'serial';
const url = a.url ?? PG_URL;
const slots = Number(a.slots ?? 32);
const leaseSeconds = Number(a['lease-seconds'] ?? 8);
const maxSeconds = Number(a['max-seconds'] ?? 120);
const capSeconds = a['cap-seconds'] === undefined ? undefined : Number(a['cap-seconds']);
const keys = shape === 'keyed' ? Number(a.keys ?? 1000) : 0;
const perKey = Number(a['per-key'] ?? 10);
const n = shape === 'keyed' ? keys * perKey : Number(a.n ?? (shape === 'handoff' ? 500 : 1000));
const addVia = a['add-via'] ?? 'controller';
const controllerSlots = a['controller-slots'] === undefined ? undefined : Number(a['controller-slots']);
const main = a.main ?? join(here, '..', 'dist', 'cli', 'main.js');
const jobKind = a.job ?? 'shell';
const earlyStarts = a['early-starts'] === true;
const nodeScript = a['node-script'] ?? join(here, 'cluster-node.js');
const BATCH = 1000; // the API's batch limit
const CHUNK = 5000;
if (!(nodes >= 1 && nodes <= 9)) throw new Error(`--nodes: 1 to 9, not ${a.nodes}`);
if (!['serial', 'keyed', 'handoff'].includes(shape)) throw new Error(`--shape: serial, keyed or handoff, not ${shape}`);
if (!['controller', 'all'].includes(addVia)) throw new Error(`--add-via: controller or all, not ${addVia}`);
if (!['shell', 'function'].includes(jobKind)) throw new Error(`--job: shell or function, not ${jobKind}`);
if (!(slots >= nodes)) throw new Error(`--slots: at least one per node, not ${slots}`);
if (controllerSlots !== undefined && !(Number.isInteger(controllerSlots) && controllerSlots >= 0 && nodes > 1 && slots - controllerSlots >= nodes - 1)) {
  throw new Error(`--controller-slots: 0 to --slots less one per stand-by, with --nodes 2 or more, not ${a['controller-slots']}`);
}

/** `total` slots over `k` nodes, the first (the controller's) the smallest share. */
function split(total, k) {
  const base = Math.floor(total / k);
  const out = Array.from({ length: k }, () => base);
  for (let i = 0; i < total - base * k; i++) out[k - 1 - i]++;
  return out;
}

function startNode({ schema, name, dir, token, nodeSlots, times }) {
  if (jobKind === 'function') return startFunctionNode({ script: nodeScript, url, schema, name, leaseSeconds, slots: nodeSlots, times, earlyStarts });
  return startServeNode({ cli: main, url, schema, name, leaseSeconds, dir, token, extraArgs: ['--slots', String(nodeSlots), ...(earlyStarts ? ['--early-starts'] : [])] });
}

async function ok(server, method, path, body) {
  const r = await api(server, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 300)}`);
  return r.body;
}

/** A node as the benchmark talks to it: over HTTP (`orderly serve`) or through its library (cluster-node.js). */
function client(up) {
  if (jobKind === 'function') {
    return {
      deploy: (inventory) => up.call('deploy', { inventory }),
      add: (orders) => up.call('add', { orders }),
      queueLength: async (lock) => (await up.call('lock', { name: lock }))?.queueLength ?? 0,
    };
  }
  return {
    async deploy({ locks = [], workflows = [] }) {
      for (const { name, ...body } of locks) await ok(up, 'PUT', `/api/v1/locks/${name}`, body);
      for (const { name, ...body } of workflows) await ok(up, 'PUT', `/api/v1/workflows/${name}`, { TYPE: 'Workflow', ...body });
    },
    async add(orders) {
      const r = await ok(up, 'POST', '/api/v1/orders', { orders });
      const bad = r.results.find((x) => x.error);
      if (bad) throw new Error(`add: ${JSON.stringify(bad.error).slice(0, 300)}`);
    },
    async queueLength(lock) {
      const r = await ok(up, 'GET', `/api/v1/locks/${lock}`);
      return r.queueLength ?? r.waiting?.length ?? 0;
    },
  };
}

/** Adds orders [from, to) in batches of 1,000, round-robin over the nodes, all at once. */
async function addOrders(clients, from, to, order) {
  const calls = [];
  for (let i = from, b = 0; i < to; i += BATCH, b++) {
    const orders = [];
    for (let j = i; j < Math.min(to, i + BATCH); j++) orders.push(order(j));
    calls.push(clients[b % clients.length].add(orders));
  }
  await Promise.all(calls);
}

async function run() {
  const { default: pg } = await import('pg');
  const schema = freshSchema('orderly_bench_nodes');
  const dir = mkdtempSync(join(tmpdir(), 'orderly-bench-nodes-'));
  const times = join(dir, 'times');
  const token = `bench-${randomBytes(18).toString('hex')}`;
  const db = new pg.Client({ connectionString: url });
  db.on('error', () => undefined);
  await db.connect();
  const started = [];
  const shares = controllerSlots === undefined ? split(slots, nodes) : [controllerSlots, ...split(slots - controllerSlots, nodes - 1)];
  try {
    const fnTimes = jobKind === 'function' && shape === 'handoff' ? times : undefined;
    const n1 = startNode({ schema, name: 'n1', dir, token, nodeSlots: shares[0], times: fnTimes });
    started.push(n1);
    const s1 = client(await withTimeout(n1.up, 90_000, 'n1 up'));
    for (let k = 2; k <= nodes; k++) started.push(startNode({ schema, name: `n${k}`, dir, token, nodeSlots: shares[k - 1], times: fnTimes }));
    const standbys = (await withTimeout(Promise.all(started.slice(1).map((s) => s.up)), 90_000, 'stand-bys up')).map(client);
    const servers = addVia === 'all' ? [s1, ...standbys] : [s1];
    // Every node's worker is known to the controller (registered in the journal), with the
    // function when the job is one (registered after the node started: a second registration).
    const workerOf = new Map(); // worker id -> node name
    await withTimeout(
      (async () => {
        for (;;) {
          const { rows } = await db.query(`SELECT name, worker_id FROM "${schema}".nodes WHERE NOT stopped AND expires_at > now()`);
          const reg = await db.query(
            `SELECT DISTINCT body::jsonb->>'workerId' AS w FROM "${schema}".events WHERE body::jsonb->>'type' = 'WorkerRegistered'` +
              (jobKind === 'function' ? ` AND body::jsonb->'functions' ? 'noop'` : ''),
          );
          const known = new Set(reg.rows.map((r) => r.w));
          if (rows.length === nodes && rows.every((r) => known.has(r.worker_id))) {
            for (const r of rows) workerOf.set(r.worker_id, r.name);
            return;
          }
          await sleep(50);
        }
      })(),
      60_000,
      'every worker registered',
    );

    const script = `#!/bin/bash\necho "s $EPOCHREALTIME $ORDERLY_ORDER_ID" >> ${times}\necho "e $EPOCHREALTIME $ORDERLY_ORDER_ID" >> ${times}\n`;
    const job = { executable: jobKind === 'function' ? { TYPE: 'FunctionExecutable', functionName: 'noop' } : { TYPE: 'ShellScriptExecutable', script } };
    const lock = (name, body) => s1.deploy({ locks: [{ name, ...body }] });
    const workflow = (name, demands, parallelism) =>
      s1.deploy({
        workflows: [
          {
            name,
            instructions: [{ TYPE: 'Lock', demands, lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } }],
            jobs: { j: { ...job, parallelism, ...(earlyStarts ? { restartable: true } : {}) } },
          },
        ],
      });
    let wf;
    let order;
    if (shape === 'keyed') {
      await lock('K', { limit: 1, keyed: true });
      await workflow('wk', [{ lockName: 'K', key: '$k' }], slots);
      wf = 'wk';
      order = (i) => ({ workflow: wf, id: `o${i}`, arguments: { k: `key${i % keys}` } });
    } else {
      await lock('L', { limit: shape === 'handoff' ? 0 : 1 });
      await workflow('w', [{ lockName: 'L' }], 1);
      wf = 'w';
      order = (i) => ({ workflow: wf, id: `o${i}` });
    }

    // The journal read as it grows (every 100 ms): finished orders, who ran what.
    let after = (await db.query(`SELECT coalesce(max(seq), 0)::bigint AS s FROM "${schema}".events`)).rows[0].s;
    let finished = 0;
    let lastFinishedAt = 0;
    const jobsByNode = {};
    const processedAt = new Map(); // order id -> its OrderProcessed's `at` (the controller's clock, ms)
    const read = async () => {
      const { rows } = await db.query(`SELECT seq, body FROM "${schema}".events WHERE seq > $1 ORDER BY seq LIMIT 50000`, [after]);
      for (const r of rows) {
        const e = JSON.parse(r.body);
        if (e.type === 'OrderFinished') {
          finished++;
          lastFinishedAt = Math.max(lastFinishedAt, e.at);
        } else if (e.type === 'OrderProcessed') {
          processedAt.set(e.orderId, e.at);
        } else if (e.type === 'OrderProcessingStarted') {
          const node = workerOf.get(e.worker) ?? e.worker ?? '?';
          jobsByNode[node] = (jobsByNode[node] ?? 0) + 1;
        }
      }
      if (rows.length > 0) after = rows.at(-1).seq;
      return rows.length;
    };
    let capped = false;
    const until = async (deadline) => {
      while (finished < n) {
        if (capSeconds !== undefined && Date.now() > t0 + capSeconds * 1000 && finished > 0) {
          capped = true;
          return;
        }
        if (Date.now() > deadline) throw new Error(`only ${finished} of ${n} orders finished in ${maxSeconds} s`);
        if ((await read()) < 50000) await sleep(100);
      }
    };

    let t0;
    if (shape === 'handoff') {
      await addOrders(servers, 0, n, order);
      // Every order is waiting at the gate before it opens.
      while ((await s1.queueLength('L')) < n) await sleep(50);
      await read();
      t0 = Date.now();
      await lock('L', { limit: 1 });
    } else {
      t0 = Date.now();
      const chunk = shape === 'keyed' ? CHUNK : n;
      for (let from = 0; from < n; from += chunk) await addOrders(servers, from, Math.min(n, from + chunk), order);
    }
    await until(t0 + maxSeconds * 1000);
    const ms = lastFinishedAt - t0;
    const eventCount = Number((await db.query(`SELECT count(*) FROM "${schema}".events`)).rows[0].count);
    const result = {
      bench: 'cluster',
      nodes,
      shape,
      job: jobKind,
      ...(earlyStarts ? { earlyStarts } : {}),
      n,
      ...(keys > 0 ? { keys, perKey } : {}),
      slots: shares,
      addVia,
      ms,
      ordersPerSec: Math.round((finished / ms) * 1000),
      ...(capped ? { capped, finished } : {}),
      jobsByNode,
      events: eventCount,
    };
    if (shape === 'handoff') {
      // Lines "s T order" / "e T order" in run order (one job at a time): handoff k = start(k+1) -
      // end(k), split at the controller's decision on job k's result (its OrderProcessed's `at`,
      // whole ms; the next grant is in the same commit): end → decided (the result's way to the
      // controller), decided → next start (the commit, the dispatch, the process start).
      const lines = readFileSync(times, 'utf8').trim().split('\n').map((l) => l.split(' '));
      const starts = lines.filter((l) => l[0] === 's').map((l) => Number(l[1]) * 1000);
      const endLines = lines.filter((l) => l[0] === 'e');
      const ends = endLines.map((l) => Number(l[1]) * 1000);
      const h = [];
      const toDecided = [];
      const decidedToStart = [];
      for (let k = 0; k + 1 < starts.length && k < ends.length; k++) {
        h.push(starts[k + 1] - ends[k]);
        const at = processedAt.get(endLines[k][2]);
        if (at !== undefined) {
          toDecided.push(at - ends[k]);
          decidedToStart.push(starts[k + 1] - at);
        }
      }
      const xs = Float64Array.from(h);
      Object.assign(result, {
        handoffs: h.length,
        p50Ms: round(percentile(xs, 50), 2),
        p90Ms: round(percentile(xs, 90), 2),
        p99Ms: round(percentile(xs, 99), 2),
        p999Ms: round(percentile(xs, 99.9), 2),
        endToDecidedP50Ms: round(percentile(Float64Array.from(toDecided), 50), 2),
        decidedToStartP50Ms: round(percentile(Float64Array.from(decidedToStart), 50), 2),
        jobMsP50: round(percentile(Float64Array.from(ends.map((e, i) => e - starts[i])), 50), 2),
      });
    }
    return { ...result, node: process.version };
  } finally {
    // Library nodes close on SIGTERM (their heartbeat rows stopped); the rest is killed.
    if (jobKind === 'function') await Promise.all(started.map((s) => s.term()));
    await stopServeNodes({ started, db, url, schema, dir });
  }
}

let result;
try {
  result = await run();
} catch (err) {
  result = { bench: 'cluster', nodes, shape, job: jobKind, error: String(err?.message ?? err) };
}
emit(result);
process.exit(0);
