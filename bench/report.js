// Tables of the benchmark results: used by run.js, and by combine.js over several runs.

import { median, round } from './lib.js';

export const TARGETS = {
  ordersPerSec: 15_000,
  handoffP99Us: 1000,
  queueRatio: 1.5,
  bytesPerOrder: 2048,
};

/** The median of each numeric field across repetitions (other fields from the first). */
export function medianOf(results) {
  const ok = results.filter((r) => !r.error);
  if (ok.length === 0) return results[0];
  const flat = ok.map((r) => r.result ?? (r.bench === 'throughput' ? r.fsync : undefined) ?? r);
  const out = { ...flat[0], runs: ok.length };
  for (const k of Object.keys(flat[0])) {
    if (typeof flat[0][k] === 'number') out[k] = round(median(flat.map((f) => f[k])), 2);
  }
  // The headline figure of each repetition, to show the spread.
  out.all = flat.map((f) => f.ordersPerSec ?? f.usPerHandoff ?? f.p99Us ?? f.bytesPerOrder ?? f.jobsPerSec ?? f.fsyncAppendMedianMs);
  return out;
}

/** Raw results ({ key: [result, ...] }) into medians ({ key: median result }). */
export function mediansOf(raw) {
  const m = {};
  for (const [k, rs] of Object.entries(raw)) m[k] = medianOf(rs);
  return m;
}

/** Median over repetitions of raw[b][i][field] / raw[a][i][field]: 100 and 100k ran side by side. */
export function pairedRatio(raw, a, b, field) {
  const xs = raw?.[a] ?? [];
  const ys = raw?.[b] ?? [];
  const rs = [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    if (xs[i].error || ys[i].error) continue;
    rs.push(ys[i][field] / xs[i][field]);
  }
  return rs.length ? round(median(rs), 2) : undefined;
}

/** The text of the tables (raw: the repetitions, for paired ratios). */
export function report(m, machine, raw) {
  const lines = [];
  const log = (x = '') => lines.push(x);

  const fmt = (x, unit = '') => (x === undefined || x === null || Number.isNaN(x) ? '—' : `${typeof x === 'number' ? x.toLocaleString('en-US') : x}${unit}`);
  const met = (ok) => (ok === undefined ? '' : ok ? 'met' : 'NOT met');
  const rows = [];
  const row = (...cells) => rows.push(cells.map(String));

  const tp = (s) => m[`throughput.${s}`];
  const ho = (s) => m[`handoff.${s}`];
  const us = (ms) => (ms === undefined ? undefined : round(ms * 1000, 0));
  row('figure', 'SQLite FULL', 'SQLite NORMAL', 'memory store', 'target', 'verdict');
  if (m['throughput.full']) {
    const ok = (s) => tp(s)?.ordersPerSec >= TARGETS.ordersPerSec;
    row(
      'orders/s, one lock, no-op job (20k added at once)',
      fmt(tp('full')?.ordersPerSec),
      fmt(tp('normal')?.ordersPerSec),
      fmt(tp('memory')?.ordersPerSec),
      `>= ${TARGETS.ordersPerSec.toLocaleString('en-US')}`,
      `FULL ${met(ok('full'))}; NORMAL ${met(ok('normal'))}; memory ${met(ok('memory'))}`,
    );
    row('  µs per order (each one lock handoff)', fmt(tp('full')?.usPerOrder), fmt(tp('normal')?.usPerOrder), fmt(tp('memory')?.usPerOrder), '', '');
    row('  journal commits per order', ...['full', 'normal', 'memory'].map((s) => fmt(round(tp(s)?.commits / tp(s)?.n, 2))), '', '');
  }
  if (m['throughput.full.locks10']) {
    const t10 = (s) => m[`throughput.${s}.locks10`];
    row('orders/s, 10 locks (10 serial queues side by side)', fmt(t10('full')?.ordersPerSec), fmt(t10('normal')?.ordersPerSec), fmt(t10('memory')?.ordersPerSec), '', 'group commit: one sync serves many handoffs');
    row('  journal commits per order', ...['full', 'normal', 'memory'].map((s) => fmt(round(t10(s)?.commits / t10(s)?.n, 2))), '', '');
  }
  if (m['handoff.full']) {
    const ok = (s) => ho(s)?.p99Us < TARGETS.handoffP99Us;
    row('handoff p50 µs (job end -> next job start)', fmt(ho('full')?.p50Us), fmt(ho('normal')?.p50Us), fmt(ho('memory')?.p50Us), '', '');
    row(
      'handoff p99 µs',
      fmt(ho('full')?.p99Us),
      fmt(ho('normal')?.p99Us),
      fmt(ho('memory')?.p99Us),
      `< ${TARGETS.handoffP99Us.toLocaleString('en-US')}`,
      `FULL ${met(ok('full'))}; NORMAL ${met(ok('normal'))}; memory ${met(ok('memory'))}`,
    );
    row('handoff p99.9 / max µs', ...['full', 'normal', 'memory'].map((s) => `${fmt(ho(s)?.p999Us)} / ${fmt(ho(s)?.maxUs)}`), '', '');
    row('  p50 job end -> commit seen µs', fmt(ho('full')?.endToCommitSeenP50Us), fmt(ho('normal')?.endToCommitSeenP50Us), fmt(ho('memory')?.endToCommitSeenP50Us), '', '');
  }
  if (m.fsync) {
    row('disk: 4 KiB write + fsync, median µs', fmt(us(m.fsync.fsyncAppendMedianMs)), '', '', '', `p99 ${fmt(us(m.fsync.fsyncAppendP99Ms))} µs; 4 KiB overwrite + fdatasync median ${fmt(us(m.fsync.fdatasyncOverwriteMedianMs))} µs`);
  }

  const q = (s, d) => m[`queue.${s}.${d}`];
  const qrows = [['queue cost (store)', 'window', '100 waiting µs/handoff', '100,000 waiting µs/handoff', 'ratio 100k/100, paired', 'target', 'verdict']];
  for (const s of ['memory', 'normal']) {
    const lo = q(s, 100);
    const hi = q(s, 100000);
    if (!lo || !hi) continue;
    // Ratio: the median over repetitions of the paired ratio (100 and 100k ran one after the
    // other in each repetition), which shrugs off a noisy spell better than a ratio of medians.
    const ratio = (field) => pairedRatio(raw, `queue.${s}.100`, `queue.${s}.100000`, field) ?? round(hi[field] / lo[field], 2);
    const show = (field) => `${fmt(ratio(field))} (of medians ${fmt(round(hi[field] / lo[field], 2))})`;
    const r1 = ratio('usPerHandoff');
    const r2 = ratio('longUsPerHandoff');
    qrows.push([s, `first ${lo.handoffs} handoffs, mean`, fmt(lo.usPerHandoff), fmt(hi.usPerHandoff), show('usPerHandoff'), `<= ${TARGETS.queueRatio}`, met(r1 <= TARGETS.queueRatio)]);
    qrows.push([s, `first ${lo.handoffs} handoffs, p50`, fmt(lo.p50Us), fmt(hi.p50Us), show('p50Us'), '', '']);
    qrows.push([s, `${lo.longHandoffs} handoffs, mean (spans snapshots)`, fmt(lo.longUsPerHandoff), fmt(hi.longUsPerHandoff), show('longUsPerHandoff'), `<= ${TARGETS.queueRatio}`, met(r2 <= TARGETS.queueRatio)]);
    qrows.push([s, 'one snapshot, ms (every 50k events, or 10 per order in memory if more, in the turn)', fmt(lo.snapshotMs), fmt(hi.snapshotMs), fmt(round(hi.snapshotMs / lo.snapshotMs, 1)), '', '']);
  }
  const mrows = [['memory per waiting order (100,000 at a closed lock)', 'bytes', 'target', 'verdict']];
  if (m['memory.normal']) {
    mrows.push(['V8 heap used, SQLite journal (NORMAL)', fmt(m['memory.normal'].bytesPerOrder), `<= ${TARGETS.bytesPerOrder.toLocaleString('en-US')}`, met(m['memory.normal'].bytesPerOrder <= TARGETS.bytesPerOrder)]);
    mrows.push(['  RSS growth, same run', fmt(m['memory.normal'].rssBytesPerOrder), '', '']);
  }
  if (m['memory.memory']) {
    mrows.push(['V8 heap used, memory store (journal text in the heap too)', fmt(m['memory.memory'].bytesPerOrder), `<= ${TARGETS.bytesPerOrder.toLocaleString('en-US')}`, met(m['memory.memory'].bytesPerOrder <= TARGETS.bytesPerOrder)]);
  }

  const peers = [];
  const peerRow = (label, r, durable) => {
    if (!r) return;
    if (r.error) {
      peers.push([label, '—', '—', '—', `not measured: ${r.error}`]);
      return;
    }
    const x = (o) => (o ? `${round(o.ordersPerSec / r.jobsPerSec, 1)}x` : '—');
    peers.push([label, fmt(r.jobsPerSec), x(tp('full')), x(tp('normal')), `n=${r.n}, ${r.runs} run(s); ${durable}`]);
  };
  peerRow('BullMQ, 1 queue, worker concurrency 1', m['peer.bullmq'], 'Redis');
  peerRow('graphile-worker, queue_name, pollInterval 10 ms', m['peer.gw.queue'], 'PostgreSQL, synchronous_commit on');
  peerRow('graphile-worker, queue_name, pollInterval 2 s (default)', m['peer.gw.queue.default'], 'PostgreSQL, synchronous_commit on');
  peerRow('graphile-worker, no queue_name, concurrency 1', m['peer.gw.noqueue'], 'PostgreSQL, synchronous_commit on');

  log(`\nOrderly benchmarks — ${machine.date}, node ${machine.node}, ${machine.nproc} cpus (${machine.cpu}), ${machine.memTotalGB} GiB, load avg ${machine.loadavgAtStart?.[0] ?? '?'} -> ${machine.loadavgAtEnd?.[0] ?? '?'}, git ${machine.git?.head ?? '?'}${machine.git?.srcChanged ? ` + ${machine.git.srcChanged} changed src files` : ''}; medians of ${machine.runsLabel ?? `${machine.reps} runs`}\n`);
  if (rows.length > 1) log(table(rows));
  if (qrows.length > 1) log(`\n${table(qrows)}`);
  if (mrows.length > 1) log(`\n${table(mrows)}`);
  if (peers.length > 0) {
    log('\nPeers (same shape: N no-op jobs serialized through one queue/lock); ratio = Orderly orders/s / peer jobs/s\n');
    log(table([['peer', 'jobs/s', 'Orderly FULL', 'Orderly NORMAL', 'notes'], ...peers]));
  }
  return lines.join('\n');
}

function table(rs) {
  const w = rs[0].map((_, i) => Math.max(...rs.map((r) => (r[i] ?? '').length)));
  return rs
    .map((r, j) => {
      const line = `| ${r.map((c, i) => (c ?? '').padEnd(w[i])).join(' | ')} |`;
      return j === 0 ? `${line}\n|${w.map((n) => '-'.repeat(n + 2)).join('|')}|` : line;
    })
    .join('\n');
}
