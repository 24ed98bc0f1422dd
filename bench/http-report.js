// The HTTP benchmarks' table (bench/http-adds.js, bench/http-latency.js), printed by run.js
// after the other tables. m: { key: median result } as run.js makes it.

export const HTTP_TARGETS = { addsPerSec: 5000, p99Ms: 10 };

const fmt = (x) => (x === undefined || x === null || Number.isNaN(x) ? '—' : typeof x === 'number' ? x.toLocaleString('en-US') : String(x));

function table(rs) {
  const w = rs[0].map((_, i) => Math.max(...rs.map((r) => (r[i] ?? '').length)));
  return rs
    .map((r, j) => {
      const line = `| ${r.map((c, i) => (c ?? '').padEnd(w[i])).join(' | ')} |`;
      return j === 0 ? `${line}\n|${w.map((n) => '-'.repeat(n + 2)).join('|')}|` : line;
    })
    .join('\n');
}

export function httpReport(m) {
  const out = [];
  const f = m['http.adds.full'];
  const n = m['http.adds.normal'];
  if (f || n) {
    const rows = [['POST /api/v1/orders (server process, loopback)', 'adds/s FULL', 'adds/s NORMAL', 'p50 / p99 ms FULL', 'p50 / p99 ms NORMAL', 'non-2xx F/N', 'adds per commit F/N', 'verdict (>= 5,000/s, p99 < 10 ms)']];
    const levels = [...new Set(Object.keys({ ...f, ...n }).filter((k) => /^(c|r)\d+_addsPerSec$/.test(k)).map((k) => k.split('_')[0]))];
    for (const l of levels) {
      const get = (r, k) => r?.[`${l}_${k}`];
      const label = l.startsWith('r') ? `open loop at ${Number(l.slice(1)).toLocaleString('en-US')}/s, 64 conns` : `${l.slice(1)} connections, closed loop`;
      // Open loop: the rate is offered; it is "met" when the server kept up with it (≥ 98 %).
      const rateOk = (r) => (l.startsWith('r') ? get(r, 'addsPerSec') >= 0.98 * Number(l.slice(1)) && Number(l.slice(1)) >= HTTP_TARGETS.addsPerSec : get(r, 'addsPerSec') >= HTTP_TARGETS.addsPerSec);
      const v = (r) => (r ? `${rateOk(r) ? 'rate met' : 'rate NOT met'}, ${get(r, 'p99Ms') < HTTP_TARGETS.p99Ms ? 'p99 met' : 'p99 NOT met'}` : '—');
      rows.push([
        label,
        fmt(get(f, 'addsPerSec')),
        fmt(get(n, 'addsPerSec')),
        `${fmt(get(f, 'p50Ms'))} / ${fmt(get(f, 'p99Ms'))}`,
        `${fmt(get(n, 'p50Ms'))} / ${fmt(get(n, 'p99Ms'))}`,
        `${fmt((get(f, 'non2xx') ?? 0) + (get(f, 'errors') ?? 0))} / ${fmt((get(n, 'non2xx') ?? 0) + (get(n, 'errors') ?? 0))}`,
        `${fmt(get(f, 'addsPerCommit'))} / ${fmt(get(n, 'addsPerCommit'))}`,
        `FULL ${v(f)}; NORMAL ${v(n)}`,
      ]);
    }
    out.push(table(rows));
  }
  const lf = m['http.latency.full'];
  const ln = m['http.latency.normal'];
  if (lf || ln) {
    const rows = [['POST → SSE event (client clock), ms', 'FULL p50', 'FULL p99', 'NORMAL p50', 'NORMAL p99']];
    const row = (label, k) => rows.push([label, fmt(lf?.[`${k}P50Ms`]), fmt(lf?.[`${k}P99Ms`]), fmt(ln?.[`${k}P50Ms`]), fmt(ln?.[`${k}P99Ms`])]);
    row(`shell \`true\`: POST → OrderProcessingStarted (${fmt(ln?.rate ?? lf?.rate)}/s)`, 'shell_');
    row('  same orders: POST → 201 answer', 'shell_answer');
    row('  same orders: POST → OrderFinished (the job ran)', 'shell_finished');
    row('Finish only: POST → OrderFinished (same commit as OrderAdded)', 'finish_');
    row('  same orders: POST → 201 answer', 'finish_answer');
    out.push(table(rows));
  }
  return out.length ? `\nHTTP (orderly serve as a separate process; load from the benchmark process)\n\n${out.join('\n\n')}` : '';
}
