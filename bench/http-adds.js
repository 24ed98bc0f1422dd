// Adds over HTTP: `orderly serve` runs as a SEPARATE process (loopback, temp data dir, admin
// token via env, --no-examples); this process is the load generator (autocannon's programmatic
// API) and POSTs /api/v1/orders {"workflow": ...} without an id (the server makes a UUID), with
// 10, 50 and 100 connections in turn (closed loop: each connection sends its next request
// when the answer to the last one came), for `--duration` s each, after a 2 s warm-up; then
// open loop at `--rates` adds/s (default 5000, the target; pacedLoad in http-lib.js), where
// latency is measured from when each request was due.
//
// The workflow is chosen so that the cost is the add itself:
//   --shape finish (default): `[Finish]`. The order is added, and finishes in the same engine
//     turn, in the same journal commit: OrderAdded + OrderFinished (+ OrderDeleted later, once
//     more than 10,000 ended orders are kept). No job, no process, nothing serialized.
//   --shape lock: `Lock httpAddsL (count 1 of limit 1,000,000) { }`: the order also takes and
//     releases a shared lock in that turn (+ OrderLocksAcquired, OrderLocksReleased, OrderMoved).
// The lock `httpAddsL` is deployed over HTTP in both cases.
//
// Per level: adds/s (2xx answers / elapsed s), latency p50/p99/p99.9/max of the 2xx answers
// (autocannon's per-request duration in ms with µs precision, kept here: its own histogram
// rounds to whole ms), non-2xx and errors, and from the server's /metrics before and after:
// journal commits, events per commit (orderly_journal_commit_events), adds per commit (group
// commit), mean commit time; and the CPU the server and this process used (/proc, per s).
//
//   node bench/http-adds.js --store full|normal [--shape finish|lock] [--duration 10]
//        [--connections 10,50,100] [--rates 5000|none] [--cpu-prof DIR] [--main dist/cli/main.js]
//   --cpu-prof DIR: the server runs with --cpu-prof --cpu-prof-dir DIR (written at its clean exit)
//   --main: another build of the CLI to serve (e.g. of a clean checkout, to compare)
//
// Prints one JSON line last.

import autocannon from 'autocannon';
import { args, emit, median, percentile, performance, round } from './lib.js';
import { apiOk, bucketQuantile, cpuSeconds, metrics, metricsDelta, pacedLoad, selfCpuSeconds, startServer } from './http-lib.js';

const WORKFLOW = 'httpAdds';
const LOCK = 'httpAddsL';

export async function deployAdds(server, shape) {
  await apiOk(server, 'PUT', `/api/v1/locks/${LOCK}`, { TYPE: 'Lock', limit: 1_000_000 });
  const instructions =
    shape === 'lock'
      ? [{ TYPE: 'Lock', demands: [{ lockName: LOCK, count: 1 }], lockedWorkflow: { instructions: [] } }]
      : [{ TYPE: 'Finish' }];
  if (shape !== 'lock' && shape !== 'finish') throw new Error(`unknown shape ${shape} (finish | lock)`);
  await apiOk(server, 'PUT', `/api/v1/workflows/${WORKFLOW}`, { TYPE: 'Workflow', instructions, jobs: {} });
}

function cannon(server, connections, duration, onLatency) {
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: `${server.url}/api/v1/orders`,
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ workflow: WORKFLOW }),
        connections,
        pipelining: 1,
        duration,
        timeout: 10,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    if (onLatency) {
      inst.on('response', (_client, statusCode, _bytes, ms) => {
        if (statusCode >= 200 && statusCode < 300) onLatency(ms);
      });
    }
  });
}

/** One level: closed loop with `connections` (autocannon), or open loop at `rate` adds/s (pacedLoad). */
export async function level(server, { connections, rate }, duration) {
  const lat = [];
  const m0 = await metrics(server);
  const c0 = cpuSeconds(server.pid);
  const s0 = selfCpuSeconds();
  const t0 = performance.now();
  let r;
  let extra = {};
  if (rate) {
    const p = await pacedLoad(server, { path: '/api/v1/orders', body: JSON.stringify({ workflow: WORKFLOW }), rate, seconds: duration, connections });
    for (const x of p.fromDue) lat.push(x);
    const sendXs = p.fromSend;
    let non2xx = 0;
    for (const [st, n] of Object.entries(p.statuses)) if (!(Number(st) >= 200 && Number(st) < 300)) non2xx += n;
    r = { '2xx': p.ok, non2xx, errors: p.errors, timeouts: p.total - p.done - p.errors };
    extra = {
      offeredPerSec: rate,
      sendP50Ms: round(percentile(sendXs, 50), 2),
      sendP99Ms: round(percentile(sendXs, 99), 2),
      maxBacklog: p.maxBacklog,
    };
  } else {
    r = await cannon(server, connections, duration, (ms) => lat.push(ms));
  }
  const secs = (performance.now() - t0) / 1000;
  const c1 = cpuSeconds(server.pid);
  const s1 = selfCpuSeconds();
  const m1 = await metrics(server);
  const d = metricsDelta(m0, m1);
  const ok = r['2xx'];
  const xs = Float64Array.from(lat);
  return {
    name: rate ? `r${rate}` : `c${connections}`,
    connections,
    ...extra,
    seconds: round(secs, 2),
    adds: ok,
    addsPerSec: Math.round(ok / secs),
    p50Ms: round(percentile(xs, 50), 2),
    p90Ms: round(percentile(xs, 90), 2),
    p99Ms: round(percentile(xs, 99), 2),
    p999Ms: round(percentile(xs, 99.9), 2),
    maxMs: round(percentile(xs, 100), 1),
    meanMs: round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length), 2),
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    commits: d.commits,
    addsPerCommit: round(ok / Math.max(1, d.commits), 1),
    eventsPerAdd: round(d.events / Math.max(1, ok), 2),
    commitMsMean: round(d.commitMsMean, 3),
    // Bucket bounds of the per-commit histograms: half / 99 % of the commits are at or below.
    eventsPerCommitP50Bucket: bucketQuantile(d.eventsPerCommitCdf, 0.5),
    commitMsP99Bucket: bucketQuantile(d.commitMsCdf, 0.99),
    serverCpu: round((c1 - c0) / secs, 2),
    loadGenCpu: round((s1 - s0) / secs, 2),
    serverCpuUsPerAdd: round(((c1 - c0) * 1e6) / Math.max(1, ok), 1),
  };
}

export async function httpAdds({ store, shape = 'finish', duration = 10, connections = [10, 50, 100], rates = [5000], cpuProfDir, main } = {}) {
  const sync = { full: 'FULL', normal: 'NORMAL' }[store];
  if (!sync) throw new Error(`unknown store ${store} (full | normal)`);
  const nodeArgs = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const server = await startServer({ sync, nodeArgs, ...(main ? { main } : {}) });
  try {
    await deployAdds(server, shape);
    await cannon(server, 50, 2); // warm-up: JIT, connections, retention reaching its steady state
    const levels = [];
    for (const c of connections) levels.push(await level(server, { connections: c }, duration));
    for (const rate of rates) levels.push(await level(server, { connections: 64, rate }, duration));
    const flat = { store, shape, durationSec: duration };
    for (const l of levels) {
      for (const [k, v] of Object.entries(l)) if (k !== 'name') flat[`${l.name}_${k}`] = v;
    }
    const closed = levels.filter((l) => !l.offeredPerSec);
    flat.bestAddsPerSec = Math.max(...closed.map((l) => l.addsPerSec));
    flat.medianAddsPerSec = median(closed.map((l) => l.addsPerSec));
    flat.worstP99Ms = Math.max(...closed.map((l) => l.p99Ms));
    flat.totalNon2xx = levels.reduce((a, l) => a + l.non2xx + l.errors + l.timeouts, 0);
    return { result: flat, levels };
  } finally {
    await server.stop();
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const a = args();
  const connections = String(a.connections ?? '10,50,100').split(',').filter(Boolean).map(Number);
  const rates = a.rates === undefined ? [5000] : a.rates === 'none' ? [] : String(a.rates).split(',').map(Number);
  const out = { bench: 'http-adds', node: process.version };
  const r = await httpAdds({
    store: a.store ?? 'full',
    shape: a.shape ?? 'finish',
    duration: Number(a.duration ?? 10),
    connections,
    rates,
    ...(typeof a.main === 'string' ? { main: a.main } : {}),
    cpuProfDir: typeof a['cpu-prof'] === 'string' ? a['cpu-prof'] : undefined,
  });
  for (const l of r.levels) process.stderr.write(`${JSON.stringify(l)}\n`);
  out.result = r.result;
  out.levels = r.levels;
  emit(out);
}
