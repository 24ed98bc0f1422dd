// How fast the `orderly` command starts, next to a bare `node -e 0`.
//
//   npm run build && node bench/cli-startup.js [--runs 20]
//
// Starts `orderly serve` (examples deployed, port 0, a fresh data dir), then runs each command
// --runs times, interleaved (a noisy spell on the machine hits all of them alike), and prints
// per command the median wall time and the mean CPU time (user + system, of the child
// process, from /proc/self/stat on Linux), each also as a ratio to `node -e 0`.
// `npx orderly --version` is shown for what npx adds; the target (≤ 2× node -e 0) is for the
// command itself. The last line is the result as JSON.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args, round } from './lib.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const a = args();
const runs = Number(a.runs ?? 20);
if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new Error(`--runs ${a.runs}: expected a whole number from 1 to 1000`);

/** CPU seconds used so far by this process's waited-for children (Linux), else undefined. */
function childCpuSeconds() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the comm: state is f[0]; cutime and cstime are fields 16 and 17 of the line (f[13], f[14]).
    return (Number(f[13]) + Number(f[14])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---------------------------------------------------------------- a server to talk to

const dataDir = mkdtempSync(join(tmpdir(), 'orderly-cli-bench-'));
const token = 'bench-admin-token-0123456789abcdef';
const server = spawn(process.execPath, [cli, 'serve', '--port', '0', '--data-dir', dataDir], {
  env: { ...process.env, ORDERLY_ADMIN_TOKEN: token },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (b) => {
    out += b;
    const m = /http:\/\/[\d.]+:\d+/.exec(out);
    if (m) resolve(m[0]);
  });
  server.once('exit', (code) => reject(new Error(`orderly serve exited (${code}) before it listened:\n${out}`)));
});
server.stdout.resume();

const env = { ...process.env, ORDERLY_SERVER: url, ORDERLY_TOKEN: token };
delete env.ORDERLY_DATA_DIR;

const COMMANDS = [
  { name: 'node -e 0', cmd: process.execPath, argv: ['-e', '0'] },
  { name: 'orderly --version', cmd: process.execPath, argv: [cli, '--version'] },
  { name: 'orderly locks (HTTP)', cmd: process.execPath, argv: [cli, 'locks'] },
  { name: 'orderly orders (HTTP)', cmd: process.execPath, argv: [cli, 'orders'] },
  { name: 'orderly order add (HTTP)', cmd: process.execPath, argv: [cli, 'order', 'add', 'pdSerialSingle'] },
  { name: 'orderly locks (socket)', cmd: process.execPath, argv: [cli, 'locks', '--data-dir', dataDir], env: { ...process.env, ORDERLY_SERVER: '' } },
  { name: 'npx orderly --version', cmd: 'npx', argv: ['--no-install', 'orderly', '--version'], info: true },
];

const samples = new Map(COMMANDS.map((c) => [c.name, { wallMs: [], cpuS: 0, cpuKnown: true }]));
try {
  for (let r = 0; r < runs; r++) {
    for (const c of COMMANDS) {
      const cpu0 = childCpuSeconds();
      const t0 = process.hrtime.bigint();
      const res = spawnSync(c.cmd, c.argv, { cwd: root, env: c.env ?? env, encoding: 'utf8' });
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const cpu1 = childCpuSeconds();
      if (res.status !== 0) throw new Error(`${c.name} failed (${res.status ?? res.signal}):\n${res.stderr}`);
      const s = samples.get(c.name);
      s.wallMs.push(wallMs);
      if (cpu0 === undefined || cpu1 === undefined) s.cpuKnown = false;
      else s.cpuS += cpu1 - cpu0;
    }
  }
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}

const rows = COMMANDS.map((c) => {
  const s = samples.get(c.name);
  return { name: c.name, info: c.info === true, wallMs: median(s.wallMs), cpuMs: s.cpuKnown ? (s.cpuS * 1000) / runs : undefined };
});
const base = rows[0];
const result = {};
const w = Math.max(...rows.map((r) => r.name.length));
console.log(`${runs} runs each, interleaved; wall: median, CPU: mean of user + system`);
console.log(`${'command'.padEnd(w)}  ${'wall ms'.padStart(8)}  ${'× node'.padStart(6)}  ${'CPU ms'.padStart(7)}  ${'× node'.padStart(6)}`);
for (const r of rows) {
  const wallX = r.wallMs / base.wallMs;
  const cpuX = r.cpuMs !== undefined && base.cpuMs ? r.cpuMs / base.cpuMs : undefined;
  console.log(
    `${r.name.padEnd(w)}  ${r.wallMs.toFixed(0).padStart(8)}  ${wallX.toFixed(2).padStart(6)}  ${(r.cpuMs?.toFixed(0) ?? '-').padStart(7)}  ${(cpuX?.toFixed(2) ?? '-').padStart(6)}${r.info ? '  (npx itself, for information)' : ''}`,
  );
  result[r.name] = { wallMs: round(r.wallMs, 1), wallRatio: round(wallX, 2), cpuMs: r.cpuMs === undefined ? null : round(r.cpuMs, 1), cpuRatio: cpuX === undefined ? null : round(cpuX, 2) };
}
console.log(JSON.stringify({ runs, result }));
