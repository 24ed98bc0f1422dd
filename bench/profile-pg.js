// Where the time of the serial path on PostgreSQL goes: N orders through ONE exclusive lock (as
// bench/throughput.js --store pg), with every query this process sends to PostgreSQL counted and
// timed by statement (node-postgres' Client.prototype.query wrapped before Orderly is loaded),
// the listening connection's notifications counted by channel, and the time the event loop was
// blocked (monitorEventLoopDelay). Prints, per order: round trips, their summed latency, and
// the rest (the engine, the job, waits).
//
//   node bench/profile-pg.js [--n 2000] [--url postgres://…] [--keys 0]
//
// Prints a table on stderr and one JSON line last.

import pg from 'pg';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { args, emit, finishedCounter, inventory, performance, round, storeOptions } from './lib.js';

const a = args();
const n = Number(a.n ?? 2000);

const stats = new Map(); // statement kind -> { count, ms }
let inFlightMax = 0;
let inFlight = 0;
const kindOf = (q) => {
  const text = typeof q === 'string' ? q : (q?.text ?? '');
  const name = typeof q === 'object' && q?.name ? `[${q.name.replace(/_orderly_bench.*$/, '').replace(/orderly_bench\w*/, 'S')}] ` : '';
  return (name + text.replace(/\s+/g, ' ').replace(/"orderly_bench[^"]*"/g, 'S').trim()).slice(0, 90);
};
const record = (kind, t0) => {
  inFlight--;
  const s = stats.get(kind) ?? { count: 0, ms: 0 };
  s.count++;
  s.ms += performance.now() - t0;
  stats.set(kind, s);
};
let counting = false;
const origQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, values, callback) {
  if (!counting) return origQuery.call(this, config, values, callback);
  const kind = kindOf(config);
  const t0 = performance.now();
  inFlight++;
  inFlightMax = Math.max(inFlightMax, inFlight);
  const cb = typeof values === 'function' ? values : typeof callback === 'function' ? callback : undefined;
  if (cb) {
    const wrapped = (err, res) => {
      record(kind, t0);
      cb(err, res);
    };
    return typeof values === 'function' ? origQuery.call(this, config, wrapped) : origQuery.call(this, config, values, wrapped);
  }
  const r = origQuery.call(this, config, values);
  if (r && typeof r.then === 'function') {
    return r.then(
      (x) => (record(kind, t0), x),
      (e) => {
        record(kind, t0);
        throw e;
      },
    );
  }
  inFlight--;
  return r;
};
const notes = new Map();
const origEmit = pg.Client.prototype.emit;
pg.Client.prototype.emit = function (ev, msg, ...rest) {
  if (counting && ev === 'notification') notes.set(msg.channel.replace(/^orderly_bench\w*\./, 'S.'), (notes.get(msg.channel.replace(/^orderly_bench\w*\./, 'S.')) ?? 0) + 1);
  return origEmit.call(this, ev, msg, ...rest);
};

const { createOrderly } = await import('../dist/index.js');
const { opts, cleanup } = storeOptions('pg', a.url ? { url: a.url } : {});
const o = await createOrderly(opts);
let result;
try {
  o.registerFunction('noop', () => undefined);
  await o.deploy(inventory());
  let commits = 0;
  const unsub = o.subscribe(() => commits++);
  const fin = finishedCounter(o, n);
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const cpu0 = process.cpuUsage();
  counting = true;
  loop.enable();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => o.addOrder({ workflow: 'w', id: `o${i}` })));
  const tDone = await fin.done;
  counting = false;
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  fin.unsubscribe();
  unsub();
  const ms = tDone - t0;
  const rows = [...stats.entries()].sort((x, y) => y[1].ms - x[1].ms);
  const queryMs = rows.reduce((s, [, v]) => s + v.ms, 0);
  const queries = rows.reduce((s, [, v]) => s + v.count, 0);
  for (const [k, v] of rows) process.stderr.write(`${String(v.count).padStart(7)} ${(v.count / n).toFixed(3).padStart(7)}/order ${(v.ms / v.count).toFixed(3).padStart(8)} ms each  ${k}\n`);
  process.stderr.write(`notifications received: ${JSON.stringify(Object.fromEntries(notes))}\n`);
  result = {
    bench: 'profile-pg',
    n,
    ms: round(ms, 1),
    ordersPerSec: Math.round((n / ms) * 1000),
    usPerOrder: round((ms * 1000) / n, 1),
    commits,
    queriesPerOrder: round(queries / n, 3),
    queryUsPerOrder: round((queryMs * 1000) / n, 1),
    queriesInFlightMax: inFlightMax,
    cpuUsPerOrder: round((cpu.user + cpu.system) / n, 1),
    eventLoopDelayP50Ms: round(loop.percentile(50) / 1e6, 3),
    eventLoopDelayP99Ms: round(loop.percentile(99) / 1e6, 3),
    notificationsPerOrder: round([...notes.values()].reduce((s, x) => s + x, 0) / n, 3),
    statements: Object.fromEntries(rows.map(([k, v]) => [k, { count: v.count, msEach: round(v.ms / v.count, 3) }])),
    node: process.version,
  };
} finally {
  await o.close();
  await cleanup();
}
emit(result);
