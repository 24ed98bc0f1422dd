// Shared helpers for the benchmarks (plain ESM, run with node after `npm run build`).
// Not part of the test suite: nothing here is imported by test/**.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';

export { performance };

/** One exclusive lock `lock`, one workflow `wf` that takes it and runs a FunctionExecutable job `fn`. */
export function inventory({ lock = 'L', limit = 1, wf = 'w', fn = 'noop', restartable = false } = {}) {
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
        jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: fn }, ...(restartable ? { restartable: true } : {}) } },
      },
    ],
  };
}

/** The PostgreSQL of the benchmarks (user postgres, trust, database `test`); `--url` overrides. */
export const PG_URL = process.env.ORDERLY_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name unique to this process and moment (for one run, dropped after); short: Orderly takes at most 48 bytes. */
export function freshSchema(prefix) {
  return `${prefix}_${process.pid.toString(36)}_${Date.now().toString(36)}_${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
}

/** Drops a schema (and everything in it) on `url`. */
export async function dropSchema(url, schema) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

/**
 * Orderly options for a store mode: 'full' | 'normal' (SQLite in a temp dir), 'memory', or 'pg'
 * (the journal on PostgreSQL at `url`, in a fresh schema). `cleanup()` may return a promise
 * (await it): for 'pg' it drops the schema.
 */
export function storeOptions(mode, { url = PG_URL, earlyStarts = false } = {}) {
  if (earlyStarts && mode !== 'pg') throw new Error('--early-starts: only with --store pg');
  if (mode === 'memory') return { opts: {}, cleanup: () => undefined, dir: undefined };
  if (mode === 'pg') {
    const schema = freshSchema('orderly_bench');
    return { opts: { database: { url, schema, ...(earlyStarts ? { earlyStarts } : {}) } }, cleanup: () => dropSchema(url, schema), dir: undefined, schema, url };
  }
  const sync = { full: 'FULL', normal: 'NORMAL', off: 'OFF' }[mode];
  if (!sync) throw new Error(`unknown store mode ${mode} (full | normal | memory | pg)`);
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

/** `args()`, refusing a flag not in `names` (and loose words) by name. */
export function knownArgs(names, argv = process.argv.slice(2)) {
  const out = args(argv);
  const unknown = Object.keys(out).filter((k) => k !== '_' && !names.includes(k));
  if (unknown.length > 0 || out._.length > 0) {
    throw new Error(`unknown argument ${unknown.length > 0 ? `--${unknown[0]}` : JSON.stringify(out._[0])} (known: ${names.map((n) => `--${n}`).join(', ')})`);
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

const require = createRequire(import.meta.url);

/** The installed version of a package, or undefined. */
export function versionOf(pkg) {
  try {
    return require(`${pkg}/package.json`).version;
  } catch {
    return undefined;
  }
}

/** `p`, or a rejection naming `what` after `ms`. */
export function withTimeout(p, ms, what) {
  return Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);
}

/**
 * Completion counting for a peer run: `done` resolves with the time the `n`th job ended, or
 * with the time `maxSeconds` after `start()` (then `capped`): a slow peer gives its rate over
 * that window instead of holding the run for minutes.
 */
export function completions(n, maxSeconds) {
  let ended = 0;
  let resolve;
  let capped = false;
  let timer;
  const done = new Promise((r) => (resolve = r));
  return {
    done,
    get ended() {
      return ended;
    },
    get capped() {
      return capped;
    },
    start() {
      if (maxSeconds > 0) {
        timer = setTimeout(() => {
          capped = true;
          resolve(performance.now());
        }, maxSeconds * 1000);
        timer.unref();
      }
    },
    one() {
      if (++ended === n) {
        clearTimeout(timer);
        resolve(performance.now());
      }
    },
  };
}

/** The PostgreSQL settings that decide a commit's cost, as a peer result shows them. */
export async function pgSettings(pool) {
  const out = {};
  for (const k of ['server_version', 'synchronous_commit', 'fsync']) out[k] = (await pool.query(`SHOW ${k}`)).rows[0][k];
  return { postgres: out.server_version, synchronousCommit: out.synchronous_commit, pgFsync: out.fsync };
}

/**
 * Runs `task.script` (relative to `dir`) with `task.args` as a fresh node process and resolves
 * with its result: the JSON of its last stdout line, or `{ error }` naming what went wrong.
 */
export function runBenchChild(dir, task, timeoutMs = 240_000) {
  return new Promise((resolve) => {
    const argv = [...(task.node ?? []), join(dir, task.script), ...task.args];
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        const r = JSON.parse(last);
        if (code !== 0 && !r.error) r.error = `exit ${code ?? signal}`;
        resolve(r);
      } catch {
        const lines = (err || out).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('at ') && !l.startsWith('Node.js v'));
        resolve({ error: `no JSON result (exit ${code ?? signal}): ${lines.slice(-4).join(' | ').slice(0, 600)}` });
      }
    });
  });
}

/** The commit the benchmark ran at, and how many files under src/ differ from it. */
export function gitInfo(dir) {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: dir, encoding: 'utf8' }).trim();
    return { head, srcChanged: dirty ? dirty.split('\n').length : 0 };
  } catch {
    return undefined;
  }
}

/**
 * One `orderly serve --database` node of a benchmark's cluster (`cli`: the built dist/cli/main.js
 * to run). `listening` resolves with its { url, host, port, token, at } once it printed
 * `listening on`; `up` is that or the exit, as an error with the end of its output.
 */
export function startServeNode({ cli, url, schema, name, leaseSeconds, dir, token, extraArgs = [] }) {
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--database', url, '--database-schema', schema, '--node-name', name, '--port', '0', '--host', '127.0.0.1', '--data-dir', join(dir, name), '--no-examples', '--lease-seconds', String(leaseSeconds), ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ORDERLY_ADMIN_TOKEN: token } },
  );
  let out = '';
  let server;
  let resolve;
  const listening = new Promise((r) => (resolve = r));
  child.stdout.on('data', (d) => {
    out += d;
    const m = server === undefined && /listening on (http:\/\/(\S+):(\d+))/.exec(out);
    if (m) {
      server = { url: m[1], host: m[2], port: Number(m[3]), token, at: performance.now() };
      resolve(server);
    }
  });
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.on('exit', (code, signal) => r(code ?? signal)));
  const up = Promise.race([listening, exited.then((c) => Promise.reject(new Error(`${name} exited (${c}): ${out.slice(-600)}`)))]);
  return {
    name,
    child,
    listening,
    up,
    exited,
    output: () => out,
    get server() {
      return server;
    },
  };
}

/**
 * One bench/cluster-node.js node of a benchmark's cluster (the library with `database`, a no-op
 * function `noop` registered), a child process with an IPC channel. `up` resolves with a
 * `call(op, fields)` (see cluster-node.js) once it printed `ready`, or rejects with the end of
 * its output when it exits first. `term()`: SIGTERM (it closes its node), SIGKILL after `ms`.
 */
export function startFunctionNode({ script, url, schema, name, leaseSeconds, slots, times, earlyStarts = false }) {
  const child = spawn(
    process.execPath,
    [
      script,
      ...['--url', url, '--schema', schema, '--name', name, '--lease-seconds', String(leaseSeconds), '--slots', String(slots)],
      ...(times ? ['--times', times] : []),
      ...(earlyStarts ? ['--early-starts'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  let out = '';
  let nextId = 0;
  const waiting = new Map();
  child.on('message', (m) => {
    const w = waiting.get(m?.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.value);
    else w.reject(new Error(`${name}: ${m.error}`));
  });
  const call = (op, fields = {}) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      waiting.set(id, { resolve, reject });
      child.send({ id, op, ...fields }, (err) => {
        if (err) {
          waiting.delete(id);
          reject(err);
        }
      });
    });
  let resolve;
  const ready = new Promise((r) => (resolve = r));
  child.stdout.on('data', (d) => {
    out += d;
    if (/^ready /m.test(out)) resolve({ name, call, at: performance.now() });
  });
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) =>
    child.on('exit', (code, signal) => {
      for (const w of waiting.values()) w.reject(new Error(`${name} exited (${code ?? signal})`));
      waiting.clear();
      r(code ?? signal);
    }),
  );
  const up = Promise.race([ready, exited.then((c) => Promise.reject(new Error(`${name} exited (${c}): ${out.slice(-600)}`)))]);
  up.catch(() => undefined);
  return {
    name,
    child,
    up,
    exited,
    output: () => out,
    async term(ms = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Kills a benchmark's nodes and waits for them, then ends its client and drops its schema and folder. */
export async function stopServeNodes({ started, db, url, schema, dir }) {
  for (const s of started) s.child.kill('SIGKILL');
  await Promise.all(started.map((s) => s.exited));
  await db.end().catch(() => undefined);
  await dropSchema(url, schema).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
