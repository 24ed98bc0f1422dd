// Paired runs, before and after a change: the figures of several result files of each build,
// side by side, with the ratio of their medians and a verdict by this rule: a figure is worse
// (or better) beyond the noise only when every run after is worse (or better) than every run
// before; when the ranges overlap it is within the noise. Beside it, the rank-sum test's p-value
// (Mann–Whitney, exact): below 0.05, a difference that the ranges' rule may call noise is
// unlikely to be chance. Run the two builds alternately (before, after, before, after, …) so
// that a noisy spell on the machine hits both.
//
//   node bench/pairs.js --before A1.json,A2.json,… --after B1.json,B2.json,… [--json]
//
// Each file is either what `bench/run.js` writes to bench/results/ (every figure of its run), or
// the output of `bench/reopen.js`, `cli-startup.js`, `login.js`, `bounded-answers.js` or
// `dashboard.js` (its last line is read). The i-th file of each list is the i-th pair. Prints a
// Markdown table; with --json, one JSON line.

import { readFileSync } from 'node:fs';
import { knownArgs, median, round } from './lib.js';

/** [figure, key in run.js's raw results, field, true when higher is better]. */
const RUN_FIGURES = [
  ['disk: 4 KiB append + fsync, median ms', 'fsync', (r) => r.fsync?.fsyncAppendMedianMs, false],
  ['orders/s, one lock, FULL', 'throughput.full', (r) => r.result?.ordersPerSec, true],
  ['orders/s, one lock, NORMAL', 'throughput.normal', (r) => r.result?.ordersPerSec, true],
  ['orders/s, one lock, memory store', 'throughput.memory', (r) => r.result?.ordersPerSec, true],
  ['orders/s, ten locks, FULL', 'throughput.full.locks10', (r) => r.result?.ordersPerSec, true],
  ['orders/s, ten locks, NORMAL', 'throughput.normal.locks10', (r) => r.result?.ordersPerSec, true],
  ['orders/s, ten locks, memory store', 'throughput.memory.locks10', (r) => r.result?.ordersPerSec, true],
  ['handoff p50 µs, FULL', 'handoff.full', (r) => r.p50Us, false],
  ['handoff p99 µs, FULL', 'handoff.full', (r) => r.p99Us, false],
  ['handoff p50 µs, NORMAL', 'handoff.normal', (r) => r.p50Us, false],
  ['handoff p99 µs, NORMAL', 'handoff.normal', (r) => r.p99Us, false],
  ['handoff p50 µs, memory', 'handoff.memory', (r) => r.p50Us, false],
  ['handoff p99 µs, memory', 'handoff.memory', (r) => r.p99Us, false],
  ['of it, job end → commit seen, p50 µs, memory', 'handoff.memory', (r) => r.endToCommitSeenP50Us, false],
  ['of it, commit seen → next start, p50 µs, memory', 'handoff.memory', (r) => r.commitSeenToStartP50Us, false],
  ['µs/handoff, 100 waiting, memory', 'queue.memory.100', (r) => r.usPerHandoff, false],
  ['µs/handoff, 100,000 waiting, memory', 'queue.memory.100000', (r) => r.usPerHandoff, false],
  ['µs/handoff, 100,000 waiting, long window, memory', 'queue.memory.100000', (r) => r.longUsPerHandoff, false],
  ['snapshot ms, 100,000 waiting, memory', 'queue.memory.100000', (r) => r.snapshotMs, false],
  ['µs/handoff, 100 waiting, NORMAL', 'queue.normal.100', (r) => r.usPerHandoff, false],
  ['µs/handoff, 100,000 waiting, NORMAL', 'queue.normal.100000', (r) => r.usPerHandoff, false],
  ['µs/handoff, 100,000 waiting, long window, NORMAL', 'queue.normal.100000', (r) => r.longUsPerHandoff, false],
  ['snapshot ms, 100,000 waiting, NORMAL', 'queue.normal.100000', (r) => r.snapshotMs, false],
  ['heap per waiting order, B, NORMAL', 'memory.normal', (r) => r.bytesPerOrder, false],
  ['heap per waiting order, B, memory store', 'memory.memory', (r) => r.bytesPerOrder, false],
  ...['full', 'normal'].flatMap((s) => {
    const S = s.toUpperCase();
    return [
      [`HTTP adds/s, 10 connections, ${S}`, `http.adds.${s}`, (r) => r.result?.c10_addsPerSec, true],
      [`HTTP add p99 ms, 10 connections, ${S}`, `http.adds.${s}`, (r) => r.result?.c10_p99Ms, false],
      [`HTTP adds/s, 100 connections, ${S}`, `http.adds.${s}`, (r) => r.result?.c100_addsPerSec, true],
      [`HTTP server CPU µs per add, 10 connections, ${S}`, `http.adds.${s}`, (r) => r.result?.c10_serverCpuUsPerAdd, false],
      [`HTTP POST → job start p50 ms, 200/s, ${S}`, `http.latency.${s}`, (r) => r.result?.shell_P50Ms, false],
      [`HTTP POST → job start p99 ms, 200/s, ${S}`, `http.latency.${s}`, (r) => r.result?.shell_P99Ms, false],
      [`HTTP POST → order finished p99 ms, 200/s, ${S}`, `http.latency.${s}`, (r) => r.result?.finish_P99Ms, false],
    ];
  }),
];

/** The figures of one file: { figure: { value, higherIsBetter } }. */
function figuresOf(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read it (${err.code ?? err.message})`);
  }
  let doc;
  try {
    doc = JSON.parse(text);
  } catch {
    try {
      doc = JSON.parse(text.trim().split('\n').at(-1));
    } catch {
      throw new Error(`${file}: neither the file nor its last line is JSON (a benchmark's result line)`);
    }
  }
  const out = new Map();
  const put = (name, value, higher) => {
    if (typeof value === 'number' && Number.isFinite(value)) out.set(name, { value, higher });
  };
  if (doc.raw) {
    for (const [name, key, get, higher] of RUN_FIGURES) {
      const rs = (doc.raw[key] ?? []).filter((r) => !r.error);
      if (rs.length) put(name, median(rs.map(get).filter((v) => typeof v === 'number')), higher);
    }
  } else if (doc.bench === 'reopen') {
    put(`reopen wall time, ${doc.orders.toLocaleString('en-US')} waiting, ms`, doc.reopenMsMedian, false);
    put(`CPU until the answer, ${doc.orders.toLocaleString('en-US')} waiting, ms`, doc.cpuMsMedian, false);
    put(`RSS after the answer, ${doc.orders.toLocaleString('en-US')} waiting, MiB`, doc.rssMiBMedian, false);
  } else if (doc.result && doc.runs !== undefined) {
    // cli-startup.js: each command's median wall time and mean CPU, as ratios to `node -e 0`.
    for (const [cmd, r] of Object.entries(doc.result)) {
      if (cmd === 'node -e 0' || cmd.startsWith('npx ')) continue;
      put(`\`${cmd}\`, wall time / node -e 0`, r.wallRatio, false);
      put(`\`${cmd}\`, CPU / node -e 0`, r.cpuRatio, false);
    }
  } else if (doc.bench === 'login') {
    for (const ph of doc.phases ?? []) {
      for (const [status, perSec] of Object.entries(ph.loginsPerSecondByStatus ?? {})) put(`login answers/s (${status}), ${ph.phase}`, perSec, true);
      put(`probe requests/s, ${ph.phase}`, ph.probe?.perSecond, true);
      put(`probe p50 ms, ${ph.phase}`, ph.probe?.p50Ms, false);
      put(`probe p99 ms, ${ph.phase}`, ph.probe?.p99Ms, false);
    }
  } else if (doc.bench === 'bounded-answers') {
    const calls = { ordersPage: 'GET /orders?limit=100', ordersPageAfter: '…&after=<middle>', ordersFiltered: '…limit=20&state=waiting&workflow=…', locks: 'GET /locks', jobstats: 'GET /v2/api/jobstats' };
    for (const r of doc.results ?? []) {
      for (const [k, label] of Object.entries(calls)) put(`\`${label}\` p50 ms, ${r.orders.toLocaleString('en-US')} orders`, r[k]?.p50Ms, false);
    }
  } else if (doc.views) {
    // dashboard.js
    for (const v of doc.views) {
      put(`dashboard ${v.view}: first contentful paint, ms`, v.firstContentfulPaintMs, false);
      put(`dashboard ${v.view}: drawn with data, ms`, v.drawnMs, false);
    }
    put('dashboard live update shown, ms', doc.update?.ms, false);
    put('dashboard live update, requests', doc.update?.requests?.length, false);
  } else throw new Error(`${file}: not a result of bench/run.js, reopen.js, cli-startup.js, login.js, bounded-answers.js or dashboard.js`);
  return out;
}

/**
 * The two-sided p-value of the Mann–Whitney rank-sum test of `a` against `b`: how likely a
 * difference at least this large is when both builds are the same. Exact (the distribution of U
 * counted over every arrangement); ties count a half.
 */
export function rankSumP(a, b) {
  const n = a.length;
  const m = b.length;
  let u = 0;
  for (const x of a) for (const y of b) u += x > y ? 1 : x === y ? 0.5 : 0;
  // ways[k][s]: the arrangements of k of the first i values as "a" with a U of s (DP over i).
  const max = n * m;
  let ways = Array.from({ length: n + 1 }, () => new Float64Array(max + 1));
  ways[0][0] = 1;
  for (let i = 0; i < n + m; i++) {
    const next = Array.from({ length: n + 1 }, () => new Float64Array(max + 1));
    for (let k = 0; k <= Math.min(i, n); k++) {
      const bs = i - k; // b values placed so far (all smaller than what comes)
      if (bs > m) continue;
      for (let s = 0; s <= max; s++) {
        const w = ways[k][s];
        if (w === 0) continue;
        if (k < n && s + bs <= max) next[k + 1][s + bs] += w; // the next value is an a: above bs b's
        if (bs < m) next[k][s] += w;
      }
    }
    ways = next;
  }
  const dist = ways[n];
  let total = 0;
  for (const w of dist) total += w;
  const dev = Math.abs(u - max / 2);
  let tail = 0;
  for (let s = 0; s <= max; s++) if (Math.abs(s - max / 2) >= dev - 1e-9) tail += dist[s];
  return Math.min(1, tail / total);
}

const fmt = (x) => round(x, x >= 100 ? 0 : x >= 10 ? 1 : 2).toLocaleString('en-US');

export function compare(beforeFiles, afterFiles) {
  if (beforeFiles.length !== afterFiles.length) throw new Error(`--before has ${beforeFiles.length} files, --after ${afterFiles.length}: give one of each per pair`);
  const before = beforeFiles.map(figuresOf);
  const after = afterFiles.map(figuresOf);
  const names = [...new Set([...before, ...after].flatMap((m) => [...m.keys()]))];
  const rows = [];
  for (const name of names) {
    const b = before.map((m) => m.get(name)?.value).filter((v) => v !== undefined);
    const a = after.map((m) => m.get(name)?.value).filter((v) => v !== undefined);
    if (!b.length || !a.length) continue;
    const higher = (before.find((m) => m.has(name)) ?? after.find((m) => m.has(name))).get(name).higher;
    const ratio = median(a) / median(b);
    const worse = higher ? Math.max(...a) < Math.min(...b) : Math.min(...a) > Math.max(...b);
    const better = higher ? Math.min(...a) > Math.max(...b) : Math.max(...a) < Math.min(...b);
    const verdict = worse ? '**worse**: every after run worse than every before run' : better ? 'better: every after run better than every before run' : 'within the noise (ranges overlap)';
    rows.push({ name, before: b, after: a, ratio: round(ratio, 2), p: round(rankSumP(a, b), 3), worse, better, verdict });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const usage = 'usage: node bench/pairs.js --before A1.json,A2.json,… --after B1.json,B2.json,… [--json]';
  let a;
  let rows;
  const list = (x) => String(x ?? '').split(',').filter(Boolean);
  try {
    a = knownArgs(['before', 'after', 'json']);
    for (const k of ['before', 'after']) if (typeof a[k] !== 'string' || list(a[k]).length === 0) throw new Error(`--${k}: a comma-separated list of result files is needed`);
    if (a.json !== undefined && a.json !== true) throw new Error('--json takes no value');
    rows = compare(list(a.before), list(a.after));
  } catch (err) {
    console.error(`bench/pairs.js: ${err.message}\n${usage}`);
    process.exit(2);
  }
  if (a.json) console.log(JSON.stringify({ bench: 'pairs', rows }));
  else {
    const n = list(a.before).length;
    const pairs = Array.from({ length: n }, (_, i) => i + 1).join(' / ');
    console.log(`| figure | before: pair ${pairs} | after: pair ${pairs} | after / before (medians) | rank-sum p | verdict |`);
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.name} | ${r.before.map(fmt).join(' / ')} | ${r.after.map(fmt).join(' / ')} | ${r.ratio.toFixed(2)} | ${r.p.toFixed(3)} | ${r.verdict} |`);
    const worse = rows.filter((r) => r.worse).length;
    console.log(`\n${rows.length} figures, ${worse} worse beyond the noise, ${rows.filter((r) => r.better).length} better.`);
  }
}
