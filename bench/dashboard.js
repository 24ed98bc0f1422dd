/* global URL, fetch, performance -- Node 20 globals; `performance` inside page.evaluate is the browser's */
// The dashboard under load: 10,000 orders, 1,000 of them waiting on one lock. For each view,
// the time from navigation to the view drawn with its data (and the browser's first
// contentful paint), in Debian's Chromium driven by playwright-core, against a real
// `orderly serve`. Then one live update on the Locks view: how long until it shows, and
// which requests it cost (one lock fetched again, not the list).
//
//   npm run bench:dashboard        (= npm run build && node bench/dashboard.js)
//   node bench/dashboard.js [--orders 10000] [--waiters 1000] [--reps 3]

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { args } from './lib.js';

const a = args();
const ORDERS = Number(a.orders ?? 10_000);
const WAITERS = Number(a.waiters ?? 1000);
const REPS = Number(a.reps ?? 3);
for (const [name, v, min] of [['--orders', ORDERS, WAITERS + 1], ['--waiters', WAITERS, 1], ['--reps', REPS, 1]]) {
  if (!Number.isSafeInteger(v) || v < min) throw new Error(`${name} must be a whole number ≥ ${min}`);
}
const TOKEN = 'bench-dashboard-token-0123456789';
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'orderly-bench-dashboard-'));

function serve() {
  const proc = spawn(process.execPath, [cli, 'serve', '--port', '0', '--data-dir', join(root, 'data'), '--no-examples', '--slots', '1', '--synchronous', 'NORMAL'], {
    env: { ...process.env, ORDERLY_ADMIN_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (b) => {
      out += b;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ proc, base: m[1] });
    });
    proc.stderr.on('data', (b) => (out += b));
    proc.on('exit', (c) => reject(new Error(`serve exited ${c}: ${out}`)));
  });
}

async function call(base, method, path, body) {
  const r = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? undefined : r.json();
}

const sleeper = { executable: { TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\nsleep 3600\n' } };

async function setUp(base) {
  await call(base, 'PUT', '/api/v1/locks/bigLock', { limit: 1 });
  await call(base, 'PUT', '/api/v1/workflows/bench', {
    TYPE: 'Workflow',
    title: 'one order holds bigLock, the others wait in front of it',
    instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'bigLock' }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'hold' }] } }],
    jobs: { hold: sleeper },
  });
  await call(base, 'PUT', '/api/v1/workflows/many', { TYPE: 'Workflow', title: 'orders waiting for a job slot', instructions: [{ TYPE: 'Execute.Named', jobName: 'work' }], jobs: { work: sleeper } });
  const ids = [];
  for (let i = 0; i <= WAITERS; i++) ids.push({ workflow: 'bench', id: `w${String(i).padStart(5, '0')}` });
  for (let i = 0; i < ORDERS - WAITERS - 1; i++) ids.push({ workflow: 'many', id: `m${String(i).padStart(5, '0')}` });
  for (let i = 0; i < ids.length; i += 1000) await call(base, 'POST', '/api/v1/orders', { orders: ids.slice(i, i + 1000) });
  // Wait until the holder holds and every waiter stands in line.
  for (;;) {
    const l = await call(base, 'GET', '/api/v1/locks/bigLock');
    if (l.holders.length === 1 && (l.queueLength ?? l.queue.length) === WAITERS) return;
    await sleep(100);
  }
}

const VIEWS = [
  { name: 'Workflows', hash: '#/workflows', ready: '.workflow .chip' },
  { name: 'Locks', hash: '#/locks', ready: 'article.lockcard[data-lock="bigLock"] tr[data-waiter]' },
  { name: 'Orders', hash: '#/orders', ready: 'table.orders tr[data-order]' },
  { name: 'Order detail', hash: '#/orders/w00500', ready: 'ol.where li' },
  { name: 'Job configs', hash: '#/jobconfigs', ready: 'h2#h-jobconfigs' },
  { name: 'Lock timeline', hash: '#/timeline', ready: '.chartbox canvas' },
  { name: 'Deploy', hash: '#/deploy', ready: 'ul.downloads li' },
];

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

async function main() {
  const { proc, base } = await serve();
  const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'orderly-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const t0 = Date.now();
    await setUp(base);
    process.stderr.write(`set up ${ORDERS} orders (${WAITERS} waiting on bigLock) in ${Date.now() - t0} ms\n`);
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(120_000);
    await page.goto(base + '/');
    await page.getByLabel('Token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('navigation', { name: 'Views' }).waitFor();

    const rows = [];
    for (const v of VIEWS) {
      const drawn = [];
      const fcp = [];
      for (let r = 0; r < REPS; r++) {
        await page.goto('about:blank');
        await page.goto(`${base}/${v.hash}`);
        await page.locator(v.ready).first().waitFor();
        const t = await page.evaluate(() => {
          const nav = performance.getEntriesByType('navigation')[0];
          const paint = performance.getEntriesByName('first-contentful-paint')[0];
          return { drawn: performance.now() - (nav ? nav.startTime : 0), fcp: paint ? paint.startTime : NaN };
        });
        drawn.push(t.drawn);
        fcp.push(t.fcp);
      }
      rows.push({ view: v.name, drawnMs: Math.round(median(drawn)), firstContentfulPaintMs: Math.round(median(fcp)) });
    }

    // One live update on the Locks view: a waiter cancelled.
    await page.goto(`${base}/#/locks`);
    await page.locator('article.lockcard[data-lock="bigLock"] tr[data-waiter="w00001"]').waitFor();
    const requests = [];
    page.on('request', (r) => requests.push(`${r.method()} ${r.url().replace(base, '')}`));
    const tc = Date.now();
    await call(base, 'POST', '/api/v1/orders/w00001/cancel', {});
    await page.locator('article.lockcard[data-lock="bigLock"] tr[data-waiter="w00001"]').waitFor({ state: 'detached' });
    const updateMs = Date.now() - tc;

    console.table(rows);
    console.log(`live update (a waiter cancelled, Locks view): shown after ${updateMs} ms; requests: ${requests.join(', ')}`);
    console.log(JSON.stringify({ orders: ORDERS, waiters: WAITERS, reps: REPS, views: rows, update: { ms: updateMs, requests } }));
  } finally {
    await ctx.close();
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
