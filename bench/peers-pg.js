// Orderly on PostgreSQL next to its peers, measured in the same run on the same machine and
// printed side by side as ratios (machines are shared and noisy: only figures of one run are
// compared). Every figure is a fresh child process (bench/throughput.js, bench/handoff.js,
// bench/failover.js, bench/peers/*.js); groups run one after the other, `--reps` times
// interleaved, medians shown. Raw results go to bench/results/.
//
//   npm run build && node bench/peers-pg.js [--reps 1] [--only serial,keyed,handoff,failover]
//     [--keys 10000] [--per-key 10] [--slots 32] [--peer-seconds 20] [--nodes 2|3]
//     [--cluster-n 1000] [--cluster-keys 1000] [--fn-cap-seconds 60]
//
// Shapes:
// - serial: N no-op jobs through ONE exclusive lock (Orderly), one queue with concurrency 1
//   (BullMQ), a singleton queue (pg-boss), one named queue (graphile-worker);
//   with, beside them, the floor (bench/pg-floor.js): one-statement commits one after the other
//   from Node, no scheduling at all, which any path committing once per handoff cannot beat;
// - keyed: keys × per-key jobs, at most one at a time per key, `slots` at once: Orderly's keyed
//   lock (an exclusive lock per key), graphile-worker's named queue per key, pg-boss's
//   `singleton` queue with `singletonKey`; BullMQ has no per-key serialization (groups are
//   BullMQ Pro), so it has no row;
// - handoff: job end → next job start through one lock (Orderly);
// - failover: Orderly's take-over after `kill -9` of the controller (`orderly serve --database`
//   processes), BullMQ's stalled-job recovery measured; pg-boss and graphile-worker quoted.
//
// Orderly as deployed (bench/cluster.js): the serial, keyed and handoff shapes also run on 1 and
// on 3 real `orderly serve --database` processes on one schema (n1 the controller, n2 and n3
// stand-bys whose workers run the jobs the controller dispatches through PostgreSQL), with a
// shell job (a process per job: `orderly serve` has no in-process functions), `--cluster-n`
// orders serial / handoff, `--cluster-keys` × `--per-key` keyed, `--slots` in total over the
// nodes. `--nodes`: the fail-over group's node count (default 3).
//
// Early starts (rows `*Early`): the same shapes with the job marked restartable and the nodes
// started with early starts (DatabaseOptions.earlyStarts, `--early-starts`): a job on the
// controller starts before the commit of its start, one commit carries several handoffs.
//
// The same nodes with the peers' job (`bench/cluster.js --job function`, rows `*.cluster1fn`,
// `*.cluster3fn`): each node a process of the library (`createOrderly({ database })`,
// bench/cluster-node.js) with a no-op function registered, orders added through the
// controller's library; the shapes of the library rows: n = 2,000 serial, 1,500 handoffs,
// `--keys` × `--per-key` keyed (10,000 × 10), a keyed run capped at `--fn-cap-seconds` (its
// rate over that span, as the peers' `--peer-seconds`).
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
const nodes = Number(a.nodes ?? 3);
if (nodes !== 2 && nodes !== 3) throw new Error(`--nodes: 2 or 3, not ${a.nodes}`);
const clusterN = String(a['cluster-n'] ?? 1000);
const clusterKeys = String(a['cluster-keys'] ?? 1000);
const fnCap = String(a['fn-cap-seconds'] ?? 60);
const fn = ['--job', 'function'];
const early = ['--early-starts'];


// synchronous_commit off for Orderly's own connections only (libpq `options`), nothing global.
const asyncUrl = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=-c%20synchronous_commit%3Doff`;
const keyed = ['--keys', keys, '--per-key', perKey];

/** key: where the result goes; group: for --only; once: first repetition only. */
const TASKS = [
  { key: 'serial.orderly.pg', group: 'serial', script: 'throughput.js', args: ['--store', 'pg', '--n', '2000'] },
  // The floor: commits one after the other from Node, no scheduling (bench/pg-floor.js).
  { key: 'serial.floor', group: 'serial', script: 'pg-floor.js', args: ['--n', '3000'] },
  { key: 'serial.floorAsync', group: 'serial', script: 'pg-floor.js', args: ['--n', '3000', '--url', asyncUrl] },
  { key: 'serial.orderly.pgAsync', group: 'serial', script: 'throughput.js', args: ['--store', 'pg', '--n', '2000', '--url', asyncUrl] },
  { key: 'serial.orderly.full', group: 'serial', script: 'throughput.js', args: ['--store', 'full', '--n', '5000'] },
  { key: 'serial.cluster1', group: 'serial', script: 'cluster.js', args: ['--nodes', '1', '--shape', 'serial', '--n', clusterN, '--slots', slots] },
  { key: 'serial.cluster3', group: 'serial', script: 'cluster.js', args: ['--nodes', '3', '--shape', 'serial', '--n', clusterN, '--slots', slots] },
  { key: 'serial.cluster1fn', group: 'serial', script: 'cluster.js', args: ['--nodes', '1', '--shape', 'serial', '--n', '2000', '--slots', slots, ...fn] },
  { key: 'serial.cluster3fn', group: 'serial', script: 'cluster.js', args: ['--nodes', '3', '--shape', 'serial', '--n', '2000', '--slots', slots, ...fn] },
  // Early starts (DatabaseOptions.earlyStarts): the job restartable, started before its commit.
  { key: 'serial.orderly.pgEarly', group: 'serial', script: 'throughput.js', args: ['--store', 'pg', '--n', '10000', ...early] },
  { key: 'serial.cluster1fnEarly', group: 'serial', script: 'cluster.js', args: ['--nodes', '1', '--shape', 'serial', '--n', '10000', '--slots', slots, ...fn, ...early] },
  { key: 'serial.cluster3fnEarly', group: 'serial', script: 'cluster.js', args: ['--nodes', '3', '--shape', 'serial', '--n', '10000', '--slots', slots, ...fn, ...early] },
  { key: 'serial.bullmq', group: 'serial', script: 'peers/bullmq.js', args: ['--n', '5000'] },
  { key: 'serial.gw', group: 'serial', script: 'peers/graphile-worker.js', args: ['--n', '300', '--poll-interval', '10'] },
  { key: 'serial.pgboss', group: 'serial', script: 'peers/pg-boss.js', args: ['--n', '20'] },
  { key: 'keyed.orderly.pg', group: 'keyed', script: 'throughput.js', args: ['--store', 'pg', ...keyed, '--slots', slots] },
  { key: 'keyed.orderly.full', group: 'keyed', script: 'throughput.js', args: ['--store', 'full', ...keyed, '--slots', slots] },
  { key: 'keyed.cluster1', group: 'keyed', script: 'cluster.js', args: ['--nodes', '1', '--shape', 'keyed', '--keys', clusterKeys, '--per-key', perKey, '--slots', slots] },
  { key: 'keyed.cluster3', group: 'keyed', script: 'cluster.js', args: ['--nodes', '3', '--shape', 'keyed', '--keys', clusterKeys, '--per-key', perKey, '--slots', slots] },
  { key: 'keyed.cluster1fn', group: 'keyed', script: 'cluster.js', args: ['--nodes', '1', '--shape', 'keyed', ...keyed, '--slots', slots, '--cap-seconds', fnCap, ...fn] },
  { key: 'keyed.cluster3fn', group: 'keyed', script: 'cluster.js', args: ['--nodes', '3', '--shape', 'keyed', ...keyed, '--slots', slots, '--cap-seconds', fnCap, ...fn] },
  { key: 'keyed.gw', group: 'keyed', script: 'peers/graphile-worker.js', args: [...keyed, '--concurrency', slots, '--poll-interval', '10', '--max-seconds', peerSeconds] },
  { key: 'keyed.gw.default', group: 'keyed', script: 'peers/graphile-worker.js', args: [...keyed, '--concurrency', slots, '--max-seconds', peerSeconds], once: true },
  { key: 'keyed.pgboss', group: 'keyed', script: 'peers/pg-boss.js', args: [...keyed, '--batch', slots, '--max-seconds', peerSeconds] },
  { key: 'handoff.orderly.pg', group: 'handoff', script: 'handoff.js', args: ['--store', 'pg', '--n', '1500'] },
  { key: 'handoff.orderly.pgAsync', group: 'handoff', script: 'handoff.js', args: ['--store', 'pg', '--n', '1500', '--url', asyncUrl] },
  { key: 'handoff.orderly.full', group: 'handoff', script: 'handoff.js', args: ['--store', 'full', '--n', '1500'] },
  { key: 'handoff.cluster1', group: 'handoff', script: 'cluster.js', args: ['--nodes', '1', '--shape', 'handoff', '--n', String(Math.min(500, Number(clusterN)))] },
  { key: 'handoff.cluster3', group: 'handoff', script: 'cluster.js', args: ['--nodes', '3', '--shape', 'handoff', '--n', String(Math.min(500, Number(clusterN)))] },
  { key: 'handoff.cluster1fn', group: 'handoff', script: 'cluster.js', args: ['--nodes', '1', '--shape', 'handoff', '--n', '1500', ...fn] },
  { key: 'handoff.cluster3fn', group: 'handoff', script: 'cluster.js', args: ['--nodes', '3', '--shape', 'handoff', '--n', '1500', ...fn] },
  { key: 'handoff.orderly.pgEarly', group: 'handoff', script: 'handoff.js', args: ['--store', 'pg', '--n', '1500', ...early] },
  { key: 'handoff.cluster1fnEarly', group: 'handoff', script: 'cluster.js', args: ['--nodes', '1', '--shape', 'handoff', '--n', '1500', ...fn, ...early] },
  { key: 'handoff.cluster3fnEarly', group: 'handoff', script: 'cluster.js', args: ['--nodes', '3', '--shape', 'handoff', '--n', '1500', ...fn, ...early] },
  { key: 'failover.orderly', group: 'failover', script: 'failover.js', args: ['--nodes', String(nodes)] },
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
const ratio = (x, y) => (x !== undefined && y ? `${round(x / y, x / y < 1 ? 2 : 1)}×` : '—');
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
/** The ratios of Orderly's figures (library, 1 node, 3 nodes) to a peer's `x`. */
const vs = (x, keys) => keys.map((k) => ratio(fig(k, 'ordersPerSec'), x));
const clusterNote = (key) => {
  const r = firstOk(key);
  if (!r || r.error) return '';
  const by = Object.entries(r.jobsByNode ?? {}).map(([n, c]) => `${n} ${fmt(c)}`).join(', ');
  return `n=${fmt(r.n)}; slots ${r.slots?.join(' + ')}; jobs ran on ${by}${r.capped ? `; capped at ${fnCap} s: ${fmt(r.finished)} done` : ''}`;
};

if (TASKS.some((t) => t.group === 'serial' && want(t))) {
  // The ratio columns: Orderly's rows with the peers' job (a no-op function).
  const mine = ['serial.orderly.pg', 'serial.cluster1fn', 'serial.cluster3fn'];
  const mineEarly = ['serial.orderly.pgEarly', 'serial.cluster1fnEarly', 'serial.cluster3fnEarly'];
  const own = [...mine, ...mineEarly, 'serial.cluster1', 'serial.cluster3'];
  const rows = [['serial: one exclusive lock / one queue, concurrency 1', 'jobs/s', 'lib ÷ it', '1 node fn ÷ it', '3 nodes fn ÷ it', 'load', 'notes']];
  const row = (label, key, field, note) => {
    const x = fig(key, field);
    rows.push([label, errorOf(key) ? `not measured: ${errorOf(key)}` : fmt(x), ...(own.includes(key) ? ['', '', ''] : vs(x, mine)), fmt(fig(key, 'load1')), note]);
  };
  row('Orderly library, PostgreSQL (synchronous_commit on), function job', 'serial.orderly.pg', 'ordersPerSec', 'n=2,000; one commit per handoff');
  row('Orderly, 1 node: library process with database, function job', 'serial.cluster1fn', 'ordersPerSec', clusterNote('serial.cluster1fn'));
  row('Orderly, 3 nodes: library processes × 3, function job', 'serial.cluster3fn', 'ordersPerSec', clusterNote('serial.cluster3fn'));
  row('Orderly library, PostgreSQL, early starts (restartable function job)', 'serial.orderly.pgEarly', 'ordersPerSec', `n=10,000; ${fmt(fig('serial.orderly.pgEarly', 'commits'))} commits`);
  row('Orderly, 1 node, early starts (restartable function job)', 'serial.cluster1fnEarly', 'ordersPerSec', clusterNote('serial.cluster1fnEarly'));
  row('Orderly, 3 nodes, early starts (restartable function job)', 'serial.cluster3fnEarly', 'ordersPerSec', clusterNote('serial.cluster3fnEarly'));
  row('Orderly, 1 node: orderly serve --database, shell job', 'serial.cluster1', 'ordersPerSec', clusterNote('serial.cluster1'));
  row('Orderly, 3 nodes: orderly serve --database × 3, shell job', 'serial.cluster3', 'ordersPerSec', clusterNote('serial.cluster3'));
  row('Orderly library, PostgreSQL, synchronous_commit off', 'serial.orderly.pgAsync', 'ordersPerSec', 'n=2,000; a PostgreSQL crash may lose the last commits');
  row('Orderly library, SQLite FULL (embedded, reference)', 'serial.orderly.full', 'ordersPerSec', 'n=5,000');
  row('floor: one-statement commits in a loop from Node, no scheduling (synchronous_commit on)', 'serial.floor', 'commitsPerSec', `p50 ${fmt(firstOk('serial.floor')?.commit?.p50Us)} µs, p99 ${fmt(firstOk('serial.floor')?.commit?.p99Us)} µs; bench/pg-floor.js`);
  row('floor, synchronous_commit off', 'serial.floorAsync', 'commitsPerSec', `p50 ${fmt(firstOk('serial.floorAsync')?.commit?.p50Us)} µs, p99 ${fmt(firstOk('serial.floorAsync')?.commit?.p99Us)} µs`);
  row('BullMQ, one queue, Worker concurrency 1', 'serial.bullmq', 'jobsPerSec', `Redis; n=5,000; ${firstOk('serial.bullmq')?.version ?? ''}`);
  row('graphile-worker, one queueName, pollInterval 10 ms', 'serial.gw', 'jobsPerSec', `n=300; ${firstOk('serial.gw')?.version ?? ''}`);
  row('pg-boss, singleton queue, 1 worker (0.5 s poll, woken per batch)', 'serial.pgboss', 'jobsPerSec', `n=20; ${firstOk('serial.pgboss')?.version ?? ''}`);
  const o = fig('serial.orderly.pg', 'ordersPerSec');
  const c1 = fig('serial.cluster1', 'ordersPerSec');
  const c3 = fig('serial.cluster3', 'ordersPerSec');
  const f1 = fig('serial.cluster1fn', 'ordersPerSec');
  const f3 = fig('serial.cluster3fn', 'ordersPerSec');
  const b = fig('serial.bullmq', 'jobsPerSec');
  const meets = (x) => (x === undefined ? undefined : x >= 3000 && (b === undefined || x >= b));
  const [e0, e1, e3] = mineEarly.map((k) => fig(k, 'ordersPerSec'));
  summary.serial = {
    ...{ orderlyPg: o, node1: c1, nodes3: c3, node1fn: f1, nodes3fn: f3, bullmq: b, met: meets(o), met1: meets(c1), met3: meets(c3), met1fn: meets(f1), met3fn: meets(f3) },
    ...{ orderlyPgEarly: e0, node1fnEarly: e1, nodes3fnEarly: e3, metEarly: meets(e0), met1fnEarly: meets(e1), met3fnEarly: meets(e3) },
  };
  log(`\n${table(rows)}`);
  log(`3 nodes ÷ 1 node: function ${ratio(f3, f1)}, shell ${ratio(c3, c1)}`);
  const floor = fig('serial.floor', 'commitsPerSec');
  if (floor !== undefined) log(`one lock needs a commit per handoff: the floor is ${fmt(floor)} commits/s (${fmt(fig('serial.floorAsync', 'commitsPerSec'))} with synchronous_commit off); library ÷ floor ${ratio(o, floor)}`);
  log(
    `target: >= 3,000 orders/s and >= BullMQ (${fmt(b)}): library ${verdict(summary.serial.met)} (${fmt(o)}); 1 node fn ${verdict(summary.serial.met1fn)} (${fmt(f1)}); ` +
      `3 nodes fn ${verdict(summary.serial.met3fn)} (${fmt(f3)}); 1 node shell ${verdict(summary.serial.met1)} (${fmt(c1)}); 3 nodes shell ${verdict(summary.serial.met3)} (${fmt(c3)})`,
  );
  log(
    `with early starts: library ${verdict(summary.serial.metEarly)} (${fmt(e0)}, ${ratio(e0, b)} BullMQ); 1 node fn ${verdict(summary.serial.met1fnEarly)} (${fmt(e1)}, ${ratio(e1, b)}); ` +
      `3 nodes fn ${verdict(summary.serial.met3fnEarly)} (${fmt(e3)}, ${ratio(e3, b)})`,
  );
}

if (TASKS.some((t) => t.group === 'keyed' && want(t))) {
  const mine = ['keyed.orderly.pg', 'keyed.cluster1fn', 'keyed.cluster3fn'];
  const own = [...mine, 'keyed.cluster1', 'keyed.cluster3'];
  const rows = [[`per key: keys × ${perKey}, ${slots} slots`, 'jobs/s', 'lib ÷ it', '1 node fn ÷ it', '3 nodes fn ÷ it', 'load', 'notes']];
  const capped = (key) => (!own.includes(key) && firstOk(key)?.capped ? `; capped at ${peerSeconds} s: ${fmt(fig(key, 'succeeded') ?? fig(key, 'completed'))} done` : '');
  const row = (label, key, field, note) => {
    const x = fig(key, field);
    rows.push([label, errorOf(key) ? `not measured: ${errorOf(key)}` : fmt(x), ...(own.includes(key) ? ['', '', ''] : vs(x, mine)), fmt(fig(key, 'load1')), note + capped(key)]);
  };
  row(`Orderly library, PostgreSQL: keyed lock K[$k], function job, ${fmt(Number(keys))} keys`, 'keyed.orderly.pg', 'ordersPerSec', `${fmt(fig('keyed.orderly.pg', 'commits'))} commits`);
  row(`Orderly, 1 node (library process with database), function job, ${fmt(Number(keys))} keys`, 'keyed.cluster1fn', 'ordersPerSec', clusterNote('keyed.cluster1fn'));
  row(`Orderly, 3 nodes (library processes × 3), function job, ${fmt(Number(keys))} keys`, 'keyed.cluster3fn', 'ordersPerSec', clusterNote('keyed.cluster3fn'));
  row(`Orderly, 1 node (orderly serve), shell job, ${fmt(Number(clusterKeys))} keys`, 'keyed.cluster1', 'ordersPerSec', clusterNote('keyed.cluster1'));
  row(`Orderly, 3 nodes (orderly serve × 3), shell job, ${fmt(Number(clusterKeys))} keys`, 'keyed.cluster3', 'ordersPerSec', clusterNote('keyed.cluster3'));
  row(`Orderly library, SQLite FULL (embedded, reference), ${fmt(Number(keys))} keys`, 'keyed.orderly.full', 'ordersPerSec', '');
  row(`graphile-worker: queueName per key, pollInterval 10 ms, ${fmt(Number(keys))} keys`, 'keyed.gw', 'jobsPerSec', `concurrency ${slots}`);
  row('graphile-worker: the same, default pollInterval (2 s)', 'keyed.gw.default', 'jobsPerSec', `concurrency ${slots}`);
  row(`pg-boss: singleton queue, singletonKey per key, ${fmt(Number(keys))} keys`, 'keyed.pgboss', 'jobsPerSec', `batchSize ${slots}, 0.5 s poll, woken per batch`);
  rows.push(['BullMQ', 'cannot', '', '', '', '', 'no per-key serialization in BullMQ OSS (groups are BullMQ Pro); a queue per key = 10,000 workers']);
  const peers = ['keyed.gw', 'keyed.gw.default', 'keyed.pgboss'].map((k) => fig(k, 'jobsPerSec')).filter((x) => x !== undefined);
  const best = peers.length ? Math.max(...peers) : undefined;
  const meets = (x) => (x === undefined || best === undefined ? undefined : x >= 3 * best);
  const [o, f1, f3, c1, c3] = own.map((k) => fig(k, 'ordersPerSec'));
  summary.keyed = { orderlyPg: o, node1: c1, nodes3: c3, node1fn: f1, nodes3fn: f3, bestPgPeer: best, met: meets(o), met1: meets(c1), met3: meets(c3), met1fn: meets(f1), met3fn: meets(f3) };
  log(`\n${table(rows)}`);
  log(`3 nodes ÷ 1 node: function ${ratio(f3, f1)}, shell ${ratio(c3, c1)}`);
  log(
    `target: >= 3 × the best PostgreSQL peer (${fmt(best)}): library ${verdict(summary.keyed.met)} (${ratio(o, best)}); 1 node fn ${verdict(summary.keyed.met1fn)} (${ratio(f1, best)}); ` +
      `3 nodes fn ${verdict(summary.keyed.met3fn)} (${ratio(f3, best)}); 1 node shell ${verdict(summary.keyed.met1)} (${ratio(c1, best)}); 3 nodes shell ${verdict(summary.keyed.met3)} (${ratio(c3, best)})`,
  );
}

if (TASKS.some((t) => t.group === 'handoff' && want(t))) {
  const rows = [['handoff through one lock (job end → next job start)', 'p50 ms', 'p99 ms', 'p99.9 ms', 'load', 'notes']];
  const ms = (x) => (x === undefined ? undefined : round(x / 1000, 2));
  for (const [label, key] of [
    ['Orderly library, PostgreSQL (synchronous_commit on), function job', 'handoff.orderly.pg'],
    ['Orderly library, PostgreSQL, synchronous_commit off', 'handoff.orderly.pgAsync'],
    ['Orderly library, SQLite FULL (reference)', 'handoff.orderly.full'],
    ['Orderly library, PostgreSQL, early starts (restartable function job)', 'handoff.orderly.pgEarly'],
  ]) {
    rows.push([label, errorOf(key) ? `not measured: ${errorOf(key)}` : fmt(ms(fig(key, 'p50Us'))), fmt(ms(fig(key, 'p99Us'))), fmt(ms(fig(key, 'p999Us'))), fmt(fig(key, 'load1')), 'n=1,500']);
  }
  for (const [label, key] of [
    ['Orderly, 1 node (library process with database), function job', 'handoff.cluster1fn'],
    ['Orderly, 3 nodes (library processes × 3), function job', 'handoff.cluster3fn'],
    ['Orderly, 1 node, early starts (restartable function job)', 'handoff.cluster1fnEarly'],
    ['Orderly, 3 nodes, early starts (restartable function job)', 'handoff.cluster3fnEarly'],
  ]) {
    rows.push([label, errorOf(key) ? `not measured: ${errorOf(key)}` : fmt(fig(key, 'p50Ms')), fmt(fig(key, 'p99Ms')), fmt(fig(key, 'p999Ms')), fmt(fig(key, 'load1')), clusterNote(key)]);
  }
  for (const [label, key] of [
    ['Orderly, 1 node (orderly serve), shell job', 'handoff.cluster1'],
    ['Orderly, 3 nodes (orderly serve × 3), shell job on a stand-by', 'handoff.cluster3'],
  ]) {
    rows.push([label, errorOf(key) ? `not measured: ${errorOf(key)}` : fmt(fig(key, 'p50Ms')), fmt(fig(key, 'p99Ms')), fmt(fig(key, 'p999Ms')), fmt(fig(key, 'load1')), `${clusterNote(key)}; includes the next job's process start`]);
  }
  const p99 = ms(fig('handoff.orderly.pg', 'p99Us'));
  const p1 = fig('handoff.cluster1', 'p99Ms');
  const p3 = fig('handoff.cluster3', 'p99Ms');
  const q1 = fig('handoff.cluster1fn', 'p99Ms');
  const q3 = fig('handoff.cluster3fn', 'p99Ms');
  const meets = (x) => (x === undefined ? undefined : x < 5);
  summary.handoff = { p99Ms: p99, node1P99Ms: p1, nodes3P99Ms: p3, node1fnP99Ms: q1, nodes3fnP99Ms: q3, met: meets(p99), met1: meets(p1), met3: meets(p3), met1fn: meets(q1), met3fn: meets(q3) };
  log(`\n${table(rows)}`);
  log(
    `target: p99 handoff < 5 ms: library ${verdict(summary.handoff.met)} (${fmt(p99)} ms); 1 node fn ${verdict(summary.handoff.met1fn)} (${fmt(q1)} ms); 3 nodes fn ${verdict(summary.handoff.met3fn)} (${fmt(q3)} ms); ` +
      `1 node shell ${verdict(summary.handoff.met1)} (${fmt(p1)} ms); 3 nodes shell ${verdict(summary.handoff.met3)} (${fmt(p3)} ms)`,
  );
  const r0 = ms(fig('handoff.orderly.pgEarly', 'p99Us'));
  const r1 = fig('handoff.cluster1fnEarly', 'p99Ms');
  const r3 = fig('handoff.cluster3fnEarly', 'p99Ms');
  Object.assign(summary.handoff, { p99MsEarly: r0, node1fnP99MsEarly: r1, nodes3fnP99MsEarly: r3, metEarly: meets(r0), met1fnEarly: meets(r1), met3fnEarly: meets(r3) });
  log(
    `with early starts: library ${verdict(summary.handoff.metEarly)} (${fmt(r0)} ms); 1 node fn ${verdict(summary.handoff.met1fnEarly)} (${fmt(r1)} ms); 3 nodes fn ${verdict(summary.handoff.met3fnEarly)} (${fmt(r3)} ms)`,
  );
}

if (TASKS.some((t) => t.group === 'failover' && want(t))) {
  const s = (ms) => (ms === undefined ? undefined : `${round(ms / 1000, 1)} s`);
  const fo = firstOk('failover.orderly');
  const rows = [['fail-over after kill -9', 'take-over', 'how', 'load']];
  rows.push([
    `Orderly, ${fo?.nodes ?? nodes} nodes (orderly serve --database), lease ${fo?.leaseSeconds ?? 8} s`,
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
