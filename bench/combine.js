// Combines the raw results of several `bench/run.js` runs (the JSON files it writes to
// bench/results/) and prints the same tables over all their samples: each figure is the median
// of every repetition of every run given.
//
//   node bench/combine.js bench/results/run-A.json bench/results/run-B.json
//
// Prints one JSON line last.

import { readFileSync } from 'node:fs';
import { round } from './lib.js';
import { mediansOf, report } from './report.js';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node bench/combine.js bench/results/run-*.json ...');
  process.exit(2);
}
const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
const raw = {};
for (const r of runs) for (const [k, rs] of Object.entries(r.raw)) (raw[k] ??= []).push(...rs);
const m = mediansOf(raw);
const first = runs[0].machine;
const machine = {
  ...first,
  date: runs.map((r) => r.machine.date).join(', '),
  loadavgAtStart: [runs.map((r) => r.machine.loadavgAtStart?.[0] ?? '?').join('/')],
  loadavgAtEnd: [runs.map((r) => r.machine.loadavgAtEnd?.[0] ?? '?').join('/')],
  git: { head: [...new Set(runs.map((r) => r.machine.git?.head))].join('/') },
  runsLabel: `all repetitions of ${runs.length} runs (${runs.map((r) => r.machine.reps).join(' + ')})`,
};
console.log(report(m, machine, raw));
console.log(
  JSON.stringify({
    bench: 'combine',
    files,
    medians: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { ...v, all: v.all?.map((x) => round(x, 2)) }])),
  }),
);
