// Lock timeline: who held each lock and who waited, over a chosen window, from
// GET /api/v1/timeline/locks (built from the journal). Chart.js floating bars: one row per
// lock and order, holds solid, waits hatched lighter. A table lists the same intervals (for
// keyboards and screen readers).

import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip, type ChartConfiguration } from 'chart.js';
import { useEffect, useRef, useState } from 'preact/hooks';

import { get } from '../api';
import { ErrorBox, fmtTime } from '../util';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

interface Interval {
  lock: string;
  orderId: string;
  kind: 'hold' | 'wait';
  from: number;
  to?: number;
  startsBefore?: boolean;
  exclusive?: boolean;
  count?: number;
  token?: number;
  ended?: string;
}
interface Timeline {
  from: number;
  to: number;
  locks: string[];
  intervals: Interval[];
  eventsScanned: number;
  truncated: boolean;
}

const ROWS_MAX = 200;
const WINDOWS = [
  { label: 'last 5 minutes', ms: 5 * 60_000 },
  { label: 'last 15 minutes', ms: 15 * 60_000 },
  { label: 'last hour', ms: 3600_000 },
  { label: 'last 24 hours', ms: 24 * 3600_000 },
];

function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

function hhmmss(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour12: false });
}

export function TimelineView() {
  const [windowMs, setWindowMs] = useState(15 * 60_000);
  const [custom, setCustom] = useState(false);
  const [fromS, setFromS] = useState(localInput(Date.now() - 15 * 60_000));
  const [toS, setToS] = useState(localInput(Date.now()));
  const [lock, setLock] = useState('');
  const [data, setData] = useState<Timeline | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | undefined>(undefined);

  const load = async (): Promise<void> => {
    const now = Date.now();
    const from = custom ? new Date(fromS).getTime() : now - windowMs;
    const to = custom ? new Date(toS).getTime() : now;
    const q = new URLSearchParams({ from: String(from), to: String(to) });
    if (lock.trim() !== '') q.set('lock', lock.trim());
    try {
      setData(await get<Timeline>(`/timeline/locks?${q.toString()}`));
      setError(undefined);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void load(), []);

  useEffect(() => {
    if (!data || !canvas.current) return;
    const rows: string[] = [];
    const rowOf = new Map<string, number>();
    for (const iv of data.intervals) {
      const k = `${iv.lock} · ${iv.orderId}`;
      if (!rowOf.has(k) && rows.length < ROWS_MAX) {
        rowOf.set(k, rows.length);
        rows.push(k);
      }
    }
    const bars = (kind: 'hold' | 'wait') =>
      data.intervals
        .filter((iv) => iv.kind === kind && rowOf.has(`${iv.lock} · ${iv.orderId}`))
        .map((iv) => ({ x: [iv.from, iv.to ?? data.to] as [number, number], y: `${iv.lock} · ${iv.orderId}`, iv }));
    const cfg: ChartConfiguration<'bar', { x: [number, number]; y: string; iv: Interval }[], string> = {
      type: 'bar',
      data: {
        labels: rows,
        datasets: [
          { label: 'holds', data: bars('hold'), backgroundColor: '#1f6feb', borderColor: '#0b3d91', borderWidth: 1, grouped: false, barPercentage: 0.8 },
          { label: 'waits', data: bars('wait'), backgroundColor: '#f2b84b', borderColor: '#8a5a00', borderWidth: 1, grouped: false, barPercentage: 0.45 },
        ],
      },
      options: {
        indexAxis: 'y',
        animation: false,
        maintainAspectRatio: false,
        responsive: true,
        parsing: { xAxisKey: 'x', yAxisKey: 'y' },
        scales: {
          x: { type: 'linear', min: data.from, max: data.to, ticks: { callback: (v) => hhmmss(Number(v)), maxTicksLimit: 8 } },
          y: { type: 'category', ticks: { autoSkip: false, font: { size: 11 } } },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (item) => {
                const iv = (item.raw as { iv: Interval }).iv;
                const w = iv.exclusive === true ? 'exclusive' : iv.count !== undefined ? `weight ${iv.count}` : '';
                return `${iv.kind === 'hold' ? 'held' : 'waited'} ${w} ${hhmmss(iv.from)}–${iv.to !== undefined ? hhmmss(iv.to) : 'now'}${iv.token !== undefined ? ` token ${iv.token}` : ''}`;
              },
            },
          },
        },
      },
    };
    chart.current?.destroy();
    chart.current = new Chart(canvas.current, cfg as unknown as ChartConfiguration);
    return () => {
      chart.current?.destroy();
      chart.current = undefined;
    };
  }, [data]);

  const rowCount = data ? new Set(data.intervals.map((iv) => `${iv.lock} · ${iv.orderId}`)).size : 0;
  const height = Math.max(160, Math.min(ROWS_MAX, rowCount) * 22 + 80);

  return (
    <section aria-labelledby="h-timeline">
      <h2 id="h-timeline">Lock timeline</h2>
      <form
        class="filters"
        aria-label="Time window"
        onSubmit={(e) => {
          e.preventDefault();
          void load();
        }}
      >
        <label>
          Window{' '}
          <select
            aria-label="Window"
            value={custom ? 'custom' : String(windowMs)}
            onChange={(e) => {
              const v = e.currentTarget.value;
              if (v === 'custom') setCustom(true);
              else {
                setCustom(false);
                setWindowMs(Number(v));
              }
            }}
          >
            {WINDOWS.map((w) => (
              <option value={String(w.ms)}>{w.label}</option>
            ))}
            <option value="custom">from … to …</option>
          </select>
        </label>
        {custom && (
          <>
            <label>
              From <input type="datetime-local" step={1} value={fromS} onInput={(e) => setFromS(e.currentTarget.value)} />
            </label>
            <label>
              To <input type="datetime-local" step={1} value={toS} onInput={(e) => setToS(e.currentTarget.value)} />
            </label>
          </>
        )}
        <label>
          Lock <input name="lock" placeholder="all locks" value={lock} onInput={(e) => setLock(e.currentTarget.value)} />
        </label>
        <button type="submit">Show</button>
      </form>
      <ErrorBox error={error} />
      {data && (
        <p class="meta" role="status">
          {fmtTime(data.from)} – {fmtTime(data.to)}: {data.intervals.length} intervals on {data.locks.length} locks ({data.eventsScanned} journal events read)
          {data.truncated ? ' — cut at the limit: choose a shorter window' : ''}
          {rowCount > ROWS_MAX ? ` — the chart shows the first ${ROWS_MAX} rows` : ''}
        </p>
      )}
      <div class="chartbox" style={{ height: `${height}px` }}>
        <canvas ref={canvas} role="img" aria-label="Lock timeline chart: holds and waits per lock and order" />
      </div>
      {data && data.intervals.length > 0 && (
        <details>
          <summary>The intervals as a table</summary>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">lock</th>
                  <th scope="col">order</th>
                  <th scope="col">what</th>
                  <th scope="col">from</th>
                  <th scope="col">to</th>
                  <th scope="col">token</th>
                </tr>
              </thead>
              <tbody>
                {data.intervals.slice(0, 1000).map((iv) => (
                  <tr>
                    <td>{iv.lock}</td>
                    <td>{iv.orderId}</td>
                    <td>
                      {iv.kind}
                      {iv.exclusive === true ? ' exclusive' : iv.count !== undefined ? ` weight ${iv.count}` : ''}
                    </td>
                    <td>
                      {iv.startsBefore === true ? '≤ ' : ''}
                      {fmtTime(iv.from)}
                    </td>
                    <td>{iv.to !== undefined ? fmtTime(iv.to) : 'still'}</td>
                    <td>{iv.token ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </section>
  );
}
