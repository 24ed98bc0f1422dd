// Shared helpers for the benchmarks (plain ESM, run with node after `npm run build`).
// Not part of the test suite: nothing here is imported by test/**.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export { performance };

/** One exclusive lock `lock`, one workflow `wf` that takes it and runs a FunctionExecutable job `fn`. */
export function inventory({ lock = 'L', limit = 1, wf = 'w', fn = 'noop' } = {}) {
  return {
    locks: [{ name: lock, limit }],
    workflows: [
      {
        name: wf,
        instructions: [
          {
            TYPE: 'Lock',
            demands: [{ lockName: lock }],
            lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] },
          },
        ],
        jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: fn } } },
      },
    ],
  };
}

/** Orderly options for a store mode: 'full' | 'normal' (SQLite in a temp dir) or 'memory'. */
export function storeOptions(mode) {
  if (mode === 'memory') return { opts: {}, cleanup: () => undefined, dir: undefined };
  const sync = { full: 'FULL', normal: 'NORMAL', off: 'OFF' }[mode];
  if (!sync) throw new Error(`unknown store mode ${mode} (full | normal | memory)`);
  const dir = mkdtempSync(join(tmpdir(), `orderly-bench-${mode}-`));
  return { opts: { dataDir: dir, synchronous: sync }, cleanup: () => rmSync(dir, { recursive: true, force: true }), dir };
}

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile of a list (p in 0..100). */
export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = xs instanceof Float64Array ? Float64Array.from(xs).sort() : [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export function round(x, digits = 1) {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Command-line `--key value` / `--flag` pairs into an object; bare words into `_`. */
export function args(argv = process.argv.slice(2)) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const k = a.slice(2);
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) out[k] = true;
      else {
        out[k] = v;
        i++;
      }
    } else out._.push(a);
  }
  return out;
}

/** The result line: every script prints exactly one JSON line last. */
export function emit(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** A promise resolved when `count` OrderFinished events have been seen. */
export function finishedCounter(orderly, count, onFinished) {
  let seen = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  const unsubscribe = orderly.subscribe((events) => {
    for (const e of events) {
      if (e.event.type !== 'OrderFinished') continue;
      seen++;
      if (onFinished) onFinished(seen, e.event);
      if (seen === count) resolve(performance.now());
    }
  });
  return { done, unsubscribe, get seen() { return seen; } };
}
