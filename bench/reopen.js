// Reopening a data dir with N orders waiting (default 100,000): the time from createOrderly()
// to its answer, the CPU the process used until then (every thread, start-up included: steadier
// than the wall time on a shared machine), and the process's RSS after, in a fresh process.
//
//   node bench/reopen.js [--n 100000] [--reps 3]
//
// The data dir is built first (N orders added through the library, queued behind one lock
// whose holder never ends), closed, and then opened `reps` times, each in a child process
// (`--open DIR`). Prints one JSON line last.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createOrderly } from '../dist/index.js';
import { args, emit, inventory, median, performance, round, storeOptions } from './lib.js';

const a = args();

if (a.open) {
  const t0 = performance.now();
  const orderly = await createOrderly({ dataDir: a.open, synchronous: 'NORMAL', jobLauncher: 'inline' });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage();
  const rssBytes = process.memoryUsage().rss;
  const waiting = orderly.listOrders({ state: 'waiting' }).length;
  await orderly.close();
  emit({ ms: round(ms, 1), cpuMs: round((cpu.user + cpu.system) / 1000, 0), rssMiB: round(rssBytes / 1024 / 1024, 1), waiting });
} else {
  const n = Number(a.n ?? 100_000);
  const reps = Number(a.reps ?? 3);
  const store = storeOptions('normal');
  try {
    const t0 = performance.now();
    const orderly = await createOrderly({ ...store.opts, jobLauncher: 'inline' });
    orderly.registerFunction('hold', () => new Promise(() => undefined));
    await orderly.deploy(inventory({ fn: 'hold' }));
    for (let i = 0; i < n; i += 1000) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) batch.push({ id: `o${j}`, workflow: 'w' });
      await orderly.addOrders(batch);
    }
    await orderly.close();
    const buildMs = performance.now() - t0;
    const runs = [];
    for (let r = 0; r < reps; r++) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--open', store.dir], { encoding: 'utf8' });
      runs.push(JSON.parse(out.trim().split('\n').at(-1)));
    }
    emit({
      bench: 'reopen',
      orders: n,
      buildS: round(buildMs / 1000, 1),
      reopenMsMedian: median(runs.map((r) => r.ms)),
      cpuMsMedian: median(runs.map((r) => r.cpuMs)),
      rssMiBMedian: median(runs.map((r) => r.rssMiB)),
      waiting: runs[0].waiting,
      runs,
    });
  } finally {
    store.cleanup();
  }
}
