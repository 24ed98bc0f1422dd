// What one page costs as the number of orders grows: GET /api/v1/orders (a page of 100, and
// a filtered page of 20), GET /api/v1/locks (one lock with every order in its queue, 100
// waiters shown) and GET /v2/api/jobstats, in-process (app.inject, no network), over an
// in-memory engine with N orders of a serialized workflow waiting for one lock (no worker
// slots, so nothing moves). For each N: the median and p90 of 30 calls in ms, the answer's
// bytes, and the order index entries a page visited.
//
//   npm run build && node bench/bounded-answers.js [--sizes 100,10000,100000]
//
// Prints one JSON line last.

import { performance } from 'node:perf_hooks';
import { fileURLToPath, URL } from 'node:url';

import { createOrderly } from '../dist/index.js';
import { buildServer } from '../dist/server/app.js';
import { AuthService } from '../dist/server/auth.js';

const args = process.argv.slice(2);
const sizesArg = args.indexOf('--sizes') >= 0 ? args[args.indexOf('--sizes') + 1] : '100,10000,100000';
const sizes = sizesArg.split(',').map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error(`--sizes: ${s} is not a whole number from 1 to 1000000`);
  return n;
});
const CALLS = 30;
const EXAMPLES = fileURLToPath(new URL('../examples/all', import.meta.url));
const TOKEN = 'bench-admin-token-0123456789abcdef';

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function measure(app, url, index) {
  const ms = [];
  let bytes = 0;
  let visited = 0;
  for (let i = 0; i < CALLS; i++) {
    const before = index.visited;
    const t0 = performance.now();
    const r = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
    ms.push(performance.now() - t0);
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
    bytes = r.body.length;
    visited = index.visited - before;
  }
  ms.sort((a, b) => a - b);
  return { p50Ms: +quantile(ms, 0.5).toFixed(3), p90Ms: +quantile(ms, 0.9).toFixed(3), bytes, visited };
}

const results = [];
for (const n of sizes) {
  const orderly = await createOrderly({ slots: 0 });
  await orderly.deployDir(EXAMPLES);
  for (let i = 0; i < n; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ workflow: 'pdSerialSingle', id: `o${String(i + j).padStart(7, '0')}` }));
    await orderly.addOrders(batch);
  }
  await orderly.engine.whenIdle();
  const auth = await AuthService.open(orderly.engine.store);
  await auth.bootstrap(TOKEN);
  const app = buildServer({ orderly, auth });
  await app.ready();
  const idx = orderly.orderIndex;
  const row = { orders: n };
  row.ordersPage = await measure(app, '/api/v1/orders?limit=100', idx);
  row.ordersPageAfter = await measure(app, `/api/v1/orders?limit=100&after=o${String(Math.floor(n / 2)).padStart(7, '0')}`, idx);
  row.ordersFiltered = await measure(app, '/api/v1/orders?limit=20&state=waiting&workflow=pdSerialSingle', idx);
  row.locks = await measure(app, '/api/v1/locks', idx);
  row.jobstats = await measure(app, '/v2/api/jobstats', idx);
  console.log(JSON.stringify(row));
  results.push(row);
  await app.close();
  await orderly.close();
}
console.log(JSON.stringify({ bench: 'bounded-answers', calls: CALLS, node: process.version, results }));
