// The floor of any serial path through PostgreSQL from Node on this machine: N transactions one
// after the other, each ONE statement that inserts `--rows` rows (8: the events of one order
// through one lock) with node-postgres, as a journal append does, each awaited before the next.
// No scheduling, no lock table, no job: whatever commits once per handoff from Node, as
// Orderly's one-lock path must (the grant is durable before the next job starts), cannot hand
// off faster than this loop commits. `select 1` round trips are timed beside it.
//
//   node bench/pg-floor.js [--n 3000] [--rows 8] [--url postgres://…]
//
// A fresh schema, dropped afterwards. Prints one JSON line last.

import pg from 'pg';
import { dropSchema, emit, freshSchema, knownArgs, median, percentile, performance, PG_URL, pgSettings, round } from './lib.js';

const a = knownArgs(['n', 'rows', 'url']);
const n = Number(a.n ?? 3000);
const rows = Number(a.rows ?? 8);
const url = a.url ?? PG_URL;
if (!Number.isInteger(n) || n < 100 || n > 1_000_000) throw new Error(`--n: a whole number from 100 to 1000000, not ${a.n}`);
if (!Number.isInteger(rows) || rows < 1 || rows > 1000) throw new Error(`--rows: a whole number from 1 to 1000, not ${a.rows}`);

const schema = freshSchema('orderly_floor');
const pool = new pg.Pool({ connectionString: url, max: 2 });
pool.on('error', () => undefined);

/** `count` awaited calls of `fn` after a warm-up: per call wall time (µs) and this process's CPU. */
async function loop(count, fn) {
  for (let i = 0; i < Math.min(300, count); i++) await fn(-1 - i);
  const xs = new Float64Array(count);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await fn(i);
    xs[i] = (performance.now() - t) * 1000;
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    perSec: Math.round((count / ms) * 1000),
    p50Us: round(median([...xs]), 1),
    p99Us: round(percentile(xs, 99), 1),
    cpuUsEach: round((cpu.user + cpu.system) / count, 1),
  };
}

let out;
try {
  await pool.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".events (seq bigint PRIMARY KEY, order_id text, body text NOT NULL)`);
  const body = (i, j) => JSON.stringify({ type: 'OrderLocksAcquired', at: 1_765_000_000_000 + i, orderId: `o${i}`, grants: [{ lockName: 'L', token: i * rows + j }] });
  let seq = 1000 * rows; // the warm-up's negative indexes stay below
  const insert = (i) => {
    const bodies = Array.from({ length: rows }, (_, j) => body(i, j));
    const ids = bodies.map(() => `o${i}`);
    const first = seq;
    seq += rows;
    return pool.query({
      name: 'floor_insert',
      text: `INSERT INTO "${schema}".events (seq, order_id, body) SELECT $1::bigint + e.i, e.order_id, e.body FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS e(order_id, body, i)`,
      values: [first, ids, bodies],
    });
  };
  const commits = await loop(n, insert);
  const selects = await loop(n, () => pool.query('SELECT 1'));
  out = { bench: 'pg-floor', n, rows, ...(await pgSettings(pool)), commitsPerSec: commits.perSec, commit: commits, select1: selects, node: process.version };
} finally {
  await pool.end();
  await dropSchema(url, schema);
}
emit(out);
