// Orderly on PostgreSQL next to its peers, measured in the same run on the same machine and
// printed side by side as ratios (machines are shared and noisy: only figures of one run are
// compared). Every figure is a fresh child process (bench/throughput.js, bench/handoff.js,
// bench/failover.js, bench/peers/*.js); groups run one after the other, `--reps` times
// interleaved, medians shown. Raw results go to bench/results/.
//
//   npm run build && node bench/peers-pg.js [--reps 1] [--only serial,keyed,handoff,failover]
//     [--keys 10000] [--per-key 10] [--slots 32] [--peer-seconds 20] [--nodes 1|3]
//
// Shapes:
// - serial: N no-op jobs through ONE exclusive lock (Orderly), one queue with concurrency 1
//   (BullMQ), a singleton queue (pg-boss), one named queue (graphile-worker);
// - keyed: keys × per-key jobs, at most one at a time per key, `slots` at once: Orderly's keyed
//   lock (an exclusive lock per key), graphile-worker's named queue per key, pg-boss's
//   `singleton` queue with `singletonKey`; BullMQ has no per-key serialization (groups are
//   BullMQ Pro), so it has no row;
// - handoff: job end → next job start through one lock (Orderly);
// - failover: Orderly's take-over after `kill -9` of the controller (`orderly serve --database`
//   processes), BullMQ's stalled-job recovery measured; pg-boss and graphile-worker quoted.
//
// `--nodes 3`: the fail-over group with three `orderly serve` nodes. The throughput of three
// nodes sharing the work is TODO (see NODES_TODO below).
//
// PostgreSQL: postgres://postgres@127.0.0.1:5432/test (ORDERLY_BENCH_DATABASE_URL overrides),
// each child in a fresh schema it drops. Redis: 127.0.0.1:6379.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args, gitInfo, median, PG_URL, round, runBenchChild } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const a = args();
const reps = Number(a.reps ?? 1);
const only = a.only ? new Set(String(a.only).split(',')) : undefined;
const keys = String(a.keys ?? 10_000);
const perKey = String(a['per-key'] ?? 10);
const slots = String(a.slots ?? 32);
const peerSeconds = String(a['peer-seconds'] ?? 20);
const nodes = Number(a.nodes ?? 1);
if (nodes !== 1 && nodes !== 3) throw new Error(`--nodes: 1 or 3, not ${a.nodes}`);

/**
 * TODO(cluster): three nodes sharing the work. Main has stand-by nodes that follow the journal,
 * forward commands and take over (measured by the fail-over group, also with `--nodes 3`), but
 * no dispatch to stand-by nodes' workers yet (docs/cluster.md: "workers on every node, dispatch
 * with SKIP LOCKED: not yet"; `--agent` is taken, src/node/cluster.ts does not dispatch by it):
 * every job runs on the controller, so three nodes cannot do more work than one. When they
 * can: start n1..n3 as bench/failover.js does (`node dist/cli/main.js serve
 * --database URL --database-schema S --node-name nK --port 0`), deploy the serial and keyed
 * inventories with a job every node can run (`orderly serve` has no in-process functions), add
 * the orders over HTTP spread over the nodes (bench/http-lib.js) and count OrderFinished from
 * the event stream, as bench/http-adds.js does.
 */
const NODES_TODO = 'three nodes sharing the work: TODO, no workers on stand-by nodes on main yet (docs/cluster.md); see NODES_TODO in bench/peers-pg.js';

// synchronous_commit off for Orderly's own connections only (libpq `options`), nothing global.
const asyncUrl = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=-c%20synchronous_commit%3Doff`;
const keyed = ['--keys', keys, '--per-key', perKey];

/** key: where the result goes; group: for --only; once: first repetition only. */
const TASKS = [
  { key: 'serial.orderly.pg', group: 'serial', script: 'throughput.js', args: ['--store', 'pg', '--n', '2000'] },
  { key: 'serial.orderly.pgAsync', group: 'serial', script: 'throughput.js', args: ['--store', 'pg', '--n', '2000', '--url', asyncUrl] },
  { key: 'serial.orderly.full', group: 'serial', script: 'throughput.js', args: ['--store', 'full', '--n', '5000'] },
  { key: 'serial.bullmq', group: 'serial', script: 'peers/bullmq.js', args: ['--n', '5000'] },
  { key: 'serial.gw', group: 'serial', script: 'peers/graphile-worker.js', args: ['--n', '300', '--poll-interval', '10'] },
  { key: 'serial.pgboss', group: 'serial', script: 'peers/pg-boss.js', args: ['--n', '20'] },
  { key: 'keyed.orderly.pg', group: 'keyed', script: 'throughput.js', args: ['--store', 'pg', ...keyed, '--slots', slots] },
  { key: 'keyed.orderly.full', group: 'keyed', script: 'throughput.js', args: ['--store', 'full', ...keyed, '--slots', slots] },
  { key: 'keyed.gw', group: 'keyed', script: 'peers/graphile-worker.js', args: [...keyed, '--concurrency', slots, '--poll-interval', '10', '--max-seconds', peerSeconds] },
  { key: 'keyed.gw.default', group: 'keyed', script: 'peers/graphile-worker.js', args: [...keyed, '--concurrency', slots, '--max-seconds', peerSeconds], once: true },
  { key: 'keyed.pgboss', group: 'keyed', script: 'peers/pg-boss.js', args: [...keyed, '--batch', slots, '--max-seconds', peerSeconds] },
  { key: 'handoff.orderly.pg', group: 'handoff', script: 'handoff.js', args: ['--store', 'pg', '--n', '1500'] },
  { key: 'handoff.orderly.pgAsync', group: 'handoff', script: 'handoff.js', args: ['--store', 'pg', '--n', '1500', '--url', asyncUrl] },
  { key: 'handoff.orderly.full', group: 'handoff', script: 'handoff.js', args: ['--store', 'full', '--n', '1500'] },
  { key: 'failover.orderly', group: 'failover', script: 'failover.js', args: ['--nodes', String(Math.max(2, nodes))] },
  { key: 'failover.bullmq', group: 'failover', script: 'failover.js', args: ['--peer', 'bullmq'], once: true },
];

const want = (t) => !only || only.has(t.group);
const started = new Date();
const loadStart = loadavg().map((x) => round(x, 2));
const raw = {};
for (let rep = 0; rep < reps; rep++) {
  for (const t of TASKS.filter(want)) {
    if (t.once && rep > 0) continue;
    const t0 = Date.now();
    const load = round(loadavg()[0], 2);
    const r = await runBenchChild(here, t, 300_000);
    r.load1 = load;
    (raw[t.key] ??= []).push(r);
    const brief = r.error ? `ERROR ${r.error}` : JSON.stringify(r.result ?? r).slice(0, 200);
    process.stderr.write(`[${rep + 1}/${reps}] ${t.key} (${((Date.now() - t0) / 1000).toFixed(1)} s, load ${load}): ${brief}\n`);
  }
}

/** The median of a numeric field over the repetitions without error (from `result` when nested). */
function fig(key, field) {
  const xs = (raw[key] ?? []).filter((r) => !r.error).map((r) => (field === 'load1' ? r : (r.result ?? r))[field]).filter((x) => typeof x === 'number');
  return xs.length ? median(xs) : undefined;
}
const firstOk = (key) => (raw[key] ?? []).map((r) => r.result ?? r).find((r) => !r.error);
const errorOf = (key) => (raw[key]?.length && raw[key].every((r) => r.error) ? raw[key][0].error : undefined);
const fmt = (x) => (x === undefined || Number.isNaN(x) ? '—' : typeof x === 'number' ? x.toLocaleString('en-US') : String(x));
const ratio = (x, y) => (x !== undefined && y ? `${round(x / y, 1)}×` : '—');
const verdict = (ok) => (ok === undefined ? 'not measured' : ok ? 'met' : 'NOT met');

function table(rs) {
  const w = rs[0].map((_, i) => Math.max(...rs.map((r) => String(r[i] ?? '').length)));
  return rs
    .map((r, j) => {
      const line = `| ${r.map((c, i) => String(c ?? '').padEnd(w[i])).join(' | ')} |`;
      return j === 0 ? `${line}\n|${w.map((n) => '-'.repeat(n + 2)).join('|')}|` : line;
    })
    .join('\n');
}

const lines = [];
const log = (x = '') => lines.push(x);
const git = gitInfo(here);
log(
  `\nOrderly on PostgreSQL vs peers — ${started.toISOString()}, node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model}), git ${git?.head ?? '?'}${git?.srcChanged ? ` + ${git.srcChanged} changed src files` : ''}, ` +
    `load avg ${loadStart[0]} -> ${round(loadavg()[0], 2)}, ${reps} repetition(s), medians. ×: Orderly's figure / the peer's.`,
);

const summary = {};
if (TASKS.some((t) => t.group === 'serial' && want(t))) {
  const o = fig('serial.orderly.pg', 'ordersPerSec');
  const rows = [['serial: one exclusive lock / one queue, concurrency 1', 'jobs/s', 'Orderly PG ×', 'load', 'notes']];
  const row = (label, key, field, note) => {
    const x = fig(key, field);
    rows.push([label, errorOf(key) ? `not measured: ${errorOf(key)}` : fmt(x), key === 'serial.orderly.pg' ? '' : ratio(o, x), fmt(fig(key, 'load1')), note]);
  };
  row('Orderly, PostgreSQL (synchronous_commit on)', 'serial.orderly.pg', 'ordersPerSec', 'n=2,000; one commit per handoff');
  row('Orderly, PostgreSQL, synchronous_commit off', 'serial.orderly.pgAsync', 'ordersPerSec', 'n=2,000; a PostgreSQL crash may lose the last commits');
  row('Orderly, SQLite FULL (embedded, reference)', 'serial.orderly.full', 'ordersPerSec', 'n=5,000');
  row('BullMQ, one queue, Worker concurrency 1', 'serial.bullmq', 'jobsPerSec', `Redis; n=5,000; ${firstOk('serial.bullmq')?.version ?? ''}`);
  row('graphile-worker, one queueName, pollInterval 10 ms', 'serial.gw', 'jobsPerSec', `n=300; ${firstOk('serial.gw')?.version ?? ''}`);
  row('pg-boss, singleton queue, 1 worker (0.5 s poll, woken per batch)', 'serial.pgboss', 'jobsPerSec', `n=20; ${firstOk('serial.pgboss')?.version ?? ''}`);
  const b = fig('serial.bullmq', 'jobsPerSec');
  summary.serial = { orderlyPg: o, bullmq: b, met: o === undefined ? undefined : o >= 3000 && (b === undefined || o >= b) };
  log(`\n${table(rows)}`);
  log(`target: Orderly PG >= 3,000 orders/s and >= BullMQ: ${verdict(summary.serial.met)} (${fmt(o)} vs ${fmt(b)})`);
  if (nodes === 3) log(`3 nodes: ${NODES_TODO}`);
}

if (TASKS.some((t) => t.group === 'keyed' && want(t))) {
  const o = fig('keyed.orderly.pg', 'ordersPerSec');
  const rows = [[`per key: ${fmt(Number(keys))} keys × ${perKey}, ${slots} slots`, 'jobs/s', 'Orderly PG ×', 'load', 'notes']];
  const capped = (key) => (firstOk(key)?.capped ? `; capped at ${peerSeconds} s: ${fmt(fig(key, 'succeeded') ?? fig(key, 'completed'))} done` : '');
  const row = (label, key, field, note) => {
    const x = fig(key, field);
    rows.push([label, errorOf(key) ? `not measured: ${errorOf(key)}` : fmt(x), key === 'keyed.orderly.pg' ? '' : ratio(o, x), fmt(fig(key, 'load1')), note + capped(key)]);
  };
  row('Orderly, PostgreSQL: keyed lock K[$k] (exclusive per key)', 'keyed.orderly.pg', 'ordersPerSec', `${fmt(fig('keyed.orderly.pg', 'commits'))} commits`);
  row('Orderly, SQLite FULL (embedded, reference)', 'keyed.orderly.full', 'ordersPerSec', '');
  row('graphile-worker: queueName per key, pollInterval 10 ms', 'keyed.gw', 'jobsPerSec', 'concurrency 32');
  row('graphile-worker: queueName per key, default pollInterval (2 s)', 'keyed.gw.default', 'jobsPerSec', 'concurrency 32');
  row('pg-boss: singleton queue, singletonKey per key', 'keyed.pgboss', 'jobsPerSec', 'batchSize 32, 0.5 s poll, woken per batch');
  rows.push(['BullMQ', 'cannot', '', '', 'no per-key serialization in BullMQ OSS (groups are BullMQ Pro); a queue per key = 10,000 workers']);
  const peers = ['keyed.gw', 'keyed.gw.default', 'keyed.pgboss'].map((k) => fig(k, 'jobsPerSec')).filter((x) => x !== undefined);
  const best = peers.length ? Math.max(...peers) : undefined;
  summary.keyed = { orderlyPg: o, bestPgPeer: best, met: o === undefined || best === undefined ? undefined : o >= 3 * best };
  log(`\n${table(rows)}`);
  log(`target: Orderly PG >= 3 × the best PostgreSQL peer: ${verdict(summary.keyed.met)} (${fmt(o)} vs ${fmt(best)}: ${ratio(o, best)})`);
}

if (TASKS.some((t) => t.group === 'handoff' && want(t))) {
  const rows = [['handoff through one lock (job end → next job start)', 'p50 ms', 'p99 ms', 'p99.9 ms', 'load']];
  const ms = (x) => (x === undefined ? undefined : round(x / 1000, 2));
  for (const [label, key] of [
    ['Orderly, PostgreSQL (synchronous_commit on)', 'handoff.orderly.pg'],
    ['Orderly, PostgreSQL, synchronous_commit off', 'handoff.orderly.pgAsync'],
    ['Orderly, SQLite FULL (reference)', 'handoff.orderly.full'],
  ]) {
    rows.push([label, errorOf(key) ? `not measured: ${errorOf(key)}` : fmt(ms(fig(key, 'p50Us'))), fmt(ms(fig(key, 'p99Us'))), fmt(ms(fig(key, 'p999Us'))), fmt(fig(key, 'load1'))]);
  }
  const p99 = ms(fig('handoff.orderly.pg', 'p99Us'));
  summary.handoff = { p99Ms: p99, met: p99 === undefined ? undefined : p99 < 5 };
  log(`\n${table(rows)}`);
  log(`target: p99 handoff on PostgreSQL < 5 ms: ${verdict(summary.handoff.met)} (${fmt(p99)} ms)`);
}

if (TASKS.some((t) => t.group === 'failover' && want(t))) {
  const s = (ms) => (ms === undefined ? undefined : `${round(ms / 1000, 1)} s`);
  const fo = firstOk('failover.orderly');
  const rows = [['fail-over after kill -9', 'take-over', 'how', 'load']];
  rows.push([
    `Orderly, ${fo?.nodes ?? Math.max(2, nodes)} nodes (orderly serve --database), lease ${fo?.leaseSeconds ?? 8} s`,
    errorOf('failover.orderly') ? `not measured: ${errorOf('failover.orderly')}` : `${s(fig('failover.orderly', 'leaseTakenMs'))} (an add sent at the kill: ${s(fig('failover.orderly', 'commandMs'))})`,
    'measured: kill → lease taken by a stand-by (→ an order added through a stand-by at the kill is committed)',
    fmt(fig('failover.orderly', 'load1')),
  ]);
  rows.push([
    'BullMQ, defaults (lockDuration 30 s, stalledInterval 30 s)',
    errorOf('failover.bullmq') ? `not measured: ${errorOf('failover.bullmq')}` : s(fig('failover.bullmq', 'recoveredMs')),
    'measured: kill → the stalled job starts on another worker',
    fmt(fig('failover.bullmq', 'load1')),
  ]);
  rows.push(['pg-boss 10, default expiration', '15 – 17 min', 'quoted: a job active longer than its expiration (default 15 min) is failed by maintenance (every 120 s by default), then retried', '']);
  rows.push(['graphile-worker 0.17, locked job', '4 h', "quoted: a job (and its named queue) locked by a dead worker is unlocked after 4 hours (dist/sql/resetLockedAt.js)", '']);
  summary.failover = { orderlyMs: fig('failover.orderly', 'leaseTakenMs'), orderlyCommandMs: fig('failover.orderly', 'commandMs'), bullmqMs: fig('failover.bullmq', 'recoveredMs') };
  log(`\n${table(rows)}`);
}

console.log(lines.join('\n'));
const resultsDir = join(here, 'results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `peers-pg-${started.toISOString().replace(/[:.]/g, '-')}.json`);
const machine = { date: started.toISOString(), node: process.version, nproc: cpus().length, cpu: cpus()[0]?.model, reps, git, loadavgAtStart: loadStart, loadavgAtEnd: loadavg().map((x) => round(x, 2)) };
writeFileSync(file, `${JSON.stringify({ machine, summary, raw }, null, 1)}\n`);
console.log(`\nraw results: ${file}`);
console.log(JSON.stringify({ bench: 'peers-pg', machine, summary }));
