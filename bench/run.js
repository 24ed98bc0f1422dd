// Runs every benchmark as a fresh child process, `--reps` times (interleaved, so a noisy spell on
// the machine does not hit one benchmark only), takes the median of each figure, and prints
// Orderly's figures next to the peers' and the targets. Raw results go to bench/results/.
//
//   npm run bench                       (= npm run build && node bench/run.js)
//   node bench/run.js [--reps 3] [--only throughput,handoff,queue-scale,memory,peers,http]
//
// Each child prints one JSON line last; that line is its result.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args, gitInfo, round, runBenchChild } from './lib.js';
import { httpReport } from './http-report.js';
import { mediansOf, report } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const a = args();
const reps = Number(a.reps ?? 3);
const only = a.only ? new Set(String(a.only).split(',')) : undefined;
const want = (group) => !only || only.has(group);

/** key: where the result goes; group: for --only; once: run in the first repetition only. */
const TASKS = [
  { key: 'fsync', group: 'throughput', script: 'throughput.js', args: ['--fsync'] },
  { key: 'throughput.full', group: 'throughput', script: 'throughput.js', args: ['--store', 'full'] },
  { key: 'throughput.normal', group: 'throughput', script: 'throughput.js', args: ['--store', 'normal'] },
  { key: 'throughput.memory', group: 'throughput', script: 'throughput.js', args: ['--store', 'memory'] },
  { key: 'throughput.full.locks10', group: 'throughput', script: 'throughput.js', args: ['--store', 'full', '--locks', '10'] },
  { key: 'throughput.normal.locks10', group: 'throughput', script: 'throughput.js', args: ['--store', 'normal', '--locks', '10'] },
  { key: 'throughput.memory.locks10', group: 'throughput', script: 'throughput.js', args: ['--store', 'memory', '--locks', '10'] },
  { key: 'handoff.full', group: 'handoff', script: 'handoff.js', args: ['--store', 'full'] },
  { key: 'handoff.normal', group: 'handoff', script: 'handoff.js', args: ['--store', 'normal'] },
  { key: 'handoff.memory', group: 'handoff', script: 'handoff.js', args: ['--store', 'memory'] },
  { key: 'queue.memory.100', group: 'queue-scale', script: 'queue-scale.js', args: ['--depth', '100'] },
  { key: 'queue.memory.100000', group: 'queue-scale', script: 'queue-scale.js', args: ['--depth', '100000'] },
  { key: 'queue.normal.100', group: 'queue-scale', script: 'queue-scale.js', args: ['--depth', '100', '--store', 'normal'] },
  { key: 'queue.normal.100000', group: 'queue-scale', script: 'queue-scale.js', args: ['--depth', '100000', '--store', 'normal'] },
  { key: 'memory.normal', group: 'memory', script: 'memory.js', node: ['--expose-gc'], args: ['--store', 'normal'] },
  { key: 'memory.memory', group: 'memory', script: 'memory.js', node: ['--expose-gc'], args: ['--store', 'memory'], once: true },
  { key: 'peer.bullmq', group: 'peers', script: 'peers/bullmq.js', args: ['--n', '5000'] },
  { key: 'peer.gw.queue', group: 'peers', script: 'peers/graphile-worker.js', args: ['--n', '500', '--poll-interval', '10'] },
  { key: 'peer.gw.noqueue', group: 'peers', script: 'peers/graphile-worker.js', args: ['--n', '500', '--no-queue-name'] },
  // graphile-worker's default poll interval (2 s) with a named queue: about one job per poll, so few jobs.
  { key: 'peer.gw.queue.default', group: 'peers', script: 'peers/graphile-worker.js', args: ['--n', '10'], once: true },
  // `orderly serve` as a separate process, driven over loopback HTTP (about 2 min per repetition).
  { key: 'http.adds.full', group: 'http', script: 'http-adds.js', args: ['--store', 'full'] },
  { key: 'http.adds.normal', group: 'http', script: 'http-adds.js', args: ['--store', 'normal'] },
  { key: 'http.latency.full', group: 'http', script: 'http-latency.js', args: ['--store', 'full'] },
  { key: 'http.latency.normal', group: 'http', script: 'http-latency.js', args: ['--store', 'normal'] },
];

const runChild = (task) => runBenchChild(here, task);

const started = new Date();
const loadAtStart = loadavg().map((x) => round(x, 2));
const raw = {};
const tasks = TASKS.filter((t) => want(t.group));
for (let rep = 0; rep < reps; rep++) {
  for (const t of tasks) {
    if (t.once && rep > 0) continue;
    const t0 = Date.now();
    const r = await runChild(t);
    (raw[t.key] ??= []).push(r);
    const brief = r.error ? `ERROR ${r.error}` : JSON.stringify(r.result ?? (r.bench === 'throughput' ? r.fsync : undefined) ?? r).slice(0, 160);
    process.stderr.write(`[${rep + 1}/${reps}] ${t.key} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${brief}\n`);
  }
}
const m = mediansOf(raw);

const machine = {
  date: started.toISOString(),
  node: process.version,
  nproc: cpus().length,
  cpu: cpus()[0]?.model,
  memTotalGB: round(totalmem() / 2 ** 30, 1),
  memFreeGB: round(freemem() / 2 ** 30, 1),
  reps,
  git: gitInfo(here),
  loadavgAtStart: loadAtStart,
  loadavgAtEnd: loadavg().map((x) => round(x, 2)),
  wallSeconds: round((Date.now() - started.getTime()) / 1000, 0),
};
console.log(report(m, machine, raw) + httpReport(m));
const resultsDir = join(here, 'results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `run-${started.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ machine, medians: m, raw }, null, 1)}\n`);
console.log(`\nraw results: ${file} (${round((Date.now() - started.getTime()) / 1000, 0)} s)`);
console.log(JSON.stringify({ bench: 'run', machine, medians: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { ...v, all: undefined }])) }));
