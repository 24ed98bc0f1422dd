// Helpers for the HTTP benchmarks (bench/http-adds.js, bench/http-latency.js): start
// `orderly serve` as a SEPARATE process on a loopback port with a temp data dir, call the API,
// read /metrics and the server's CPU time. Not part of the test suite.

import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath, URL } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = dirname(fileURLToPath(import.meta.url));
export const MAIN = join(here, '..', 'dist', 'cli', 'main.js');

/**
 * Starts `node dist/cli/main.js serve --port 0 --host 127.0.0.1 --data-dir <temp> --no-examples
 * --synchronous <sync>` with ORDERLY_ADMIN_TOKEN set. `nodeArgs` go before the script (e.g.
 * `--cpu-prof`), `serveArgs` after it (e.g. `--slots 16`).
 */
export async function startServer({ sync = 'FULL', nodeArgs = [], serveArgs = [], main = MAIN } = {}) {
  const dir = mkdtempSync(join(tmpdir(), `orderly-bench-http-${sync.toLowerCase()}-`));
  const token = `bench-${randomBytes(18).toString('hex')}`;
  const argv = [...nodeArgs, main, 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', join(dir, 'data'), '--no-examples', '--synchronous', sync, ...serveArgs];
  const child = spawn(process.execPath, argv, {
    env: { ...process.env, ORDERLY_ADMIN_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s: ${out}${err}`)), 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /Orderly listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening: ${err || out}`));
    });
  });
  const u = new URL(url);
  const server = {
    url,
    host: u.hostname,
    port: Number(u.port),
    token,
    pid: child.pid,
    dir,
    sync,
    get stdout() {
      return out;
    },
    get stderr() {
      return err;
    },
    /** SIGTERM (a clean close: a --cpu-prof profile is written), wait, remove the temp dir. */
    async stop({ keepDir = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** One API call: resolves { status, body (parsed JSON when it is JSON), text }. */
export function api(server, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers = { authorization: `Bearer ${server.token}` };
    if (data !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(data);
    }
    const req = http.request({ host: server.host, port: server.port, method, path, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let parsed;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode, body: parsed, text });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

export async function apiOk(server, method, path, body) {
  const r = await api(server, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 400)}`);
  return r.body;
}

/** Sums and counts of the Prometheus histograms/gauges we read, from GET /metrics. */
export async function metrics(server) {
  const r = await api(server, 'GET', '/metrics');
  const get = (name) => {
    const m = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(r.text);
    return m ? Number(m[1]) : NaN;
  };
  const buckets = (name) => {
    const out = [];
    const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} ([0-9.eE+-]+)$`, 'gm');
    for (let m; (m = re.exec(r.text)); ) out.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
    return out;
  };
  return {
    commits: get('orderly_journal_commit_events_count'),
    events: get('orderly_journal_commit_events_sum'),
    commitSeconds: get('orderly_journal_commit_seconds_sum'),
    commitSecondsBuckets: buckets('orderly_journal_commit_seconds'),
    commitEventsBuckets: buckets('orderly_journal_commit_events'),
    seq: get('orderly_journal_seq'),
  };
}

/** The difference of two `metrics()` readings, with the events-per-commit distribution. */
export function metricsDelta(a, b) {
  const d = {
    commits: b.commits - a.commits,
    events: b.events - a.events,
    commitMsMean: (1000 * (b.commitSeconds - a.commitSeconds)) / Math.max(1, b.commits - a.commits),
  };
  // Events per commit: the share of commits at or below each bucket bound.
  d.eventsPerCommitCdf = b.commitEventsBuckets.map(([le, n], i) => [le, n - (a.commitEventsBuckets[i]?.[1] ?? 0)]);
  d.commitMsCdf = b.commitSecondsBuckets.map(([le, n], i) => [le * 1000, n - (a.commitSecondsBuckets[i]?.[1] ?? 0)]);
  return d;
}

/** Bucket bound (from a cumulative histogram delta) at or below which fraction q of the counts lie. */
export function bucketQuantile(cdf, q) {
  const total = cdf.at(-1)?.[1] ?? 0;
  if (total === 0) return NaN;
  for (const [le, n] of cdf) if (n >= q * total) return le;
  return Infinity;
}

const CLK_TCK = 100; // Linux USER_HZ

/** CPU seconds (user + system) the process has used so far, from /proc (Linux only). */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after the comm: state(3) ... utime(14) stime(15), i.e. index 11 and 12 here
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** CPU seconds of this process (user + system). */
export function selfCpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Open-loop load at a fixed rate, for latency at a given throughput (autocannon's rate limit
 * sends each connection's quota for a second back to back, so its latencies at a "rate" are
 * those of bursts). Request i is due at t0 + i / rate; it goes out on a free keep-alive
 * connection of a pool (raw HTTP/1.1 over net sockets, one request in flight per connection),
 * or waits for one. Latency is measured from the DUE time (so a slow server cannot hide
 * queueing: no coordinated omission) and, separately, from the moment it was written.
 */
export function pacedLoad(server, { path, body, rate, seconds, connections = 64 }) {
  const data = Buffer.from(body);
  const req = Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: ${server.host}:${server.port}\r\nAuthorization: Bearer ${server.token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${data.length}\r\n\r\n`,
    ),
    data,
  ]);
  const total = Math.round(rate * seconds);
  const fromDue = new Float64Array(total);
  const fromSend = new Float64Array(total);
  const statuses = new Map();
  let next = 0;
  let done = 0;
  let errors = 0;
  const idle = [];
  const backlog = [];
  let backlogAt = 0;
  let maxBacklog = 0;
  let t0 = 0;
  const due = (i) => t0 + (i * 1000) / rate;
  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      for (const c of conns) c.sock.destroy();
      const ok = [];
      const okSend = [];
      let okCount = 0;
      for (const [st, n] of statuses) if (st >= 200 && st < 300) okCount += n;
      for (let i = 0; i < total; i++) {
        if (fromDue[i] > 0) {
          ok.push(fromDue[i]);
          okSend.push(fromSend[i]);
        }
      }
      resolve({ total, done, ok: okCount, errors, statuses: Object.fromEntries(statuses), fromDue: Float64Array.from(ok), fromSend: Float64Array.from(okSend), maxBacklog, t0 });
    };
    const send = (c, i) => {
      c.inflight = i;
      c.sentAt = performance.now();
      c.sock.write(req);
    };
    const complete = (c, status) => {
      const now = performance.now();
      const i = c.inflight;
      c.inflight = -1;
      if (status >= 200 && status < 300) {
        fromDue[i] = Math.max(1e-6, now - due(i));
        fromSend[i] = now - c.sentAt;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      done++;
      if (backlogAt < backlog.length) send(c, backlog[backlogAt++]);
      else idle.push(c);
      if (done + errors >= total) finish();
    };
    const conns = [];
    let connected = 0;
    for (let k = 0; k < connections; k++) {
      const c = { sock: net.connect({ host: server.host, port: server.port }), buf: '', inflight: -1, sentAt: 0 };
      c.sock.setNoDelay(true);
      c.sock.setEncoding('latin1');
      c.sock.on('connect', () => {
        idle.push(c);
        if (++connected === connections) start();
      });
      c.sock.on('data', (chunk) => {
        c.buf += chunk;
        for (;;) {
          const h = c.buf.indexOf('\r\n\r\n');
          if (h < 0) return;
          const m = /content-length: *(\d+)/i.exec(c.buf.slice(0, h));
          const len = m ? Number(m[1]) : 0;
          if (c.buf.length < h + 4 + len) return;
          const status = Number(c.buf.slice(9, 12));
          c.buf = c.buf.slice(h + 4 + len);
          complete(c, status);
        }
      });
      const lost = () => {
        if (c.inflight >= 0) {
          errors++;
          c.inflight = -1;
          if (done + errors >= total) finish();
        }
        const j = idle.indexOf(c);
        if (j >= 0) idle.splice(j, 1);
      };
      c.sock.on('error', lost);
      c.sock.on('close', lost);
    }
    const pump = () => {
      const now = performance.now();
      while (next < total && due(next) <= now) {
        const i = next++;
        const c = idle.pop();
        if (c) send(c, i);
        else {
          backlog.push(i);
          maxBacklog = Math.max(maxBacklog, backlog.length - backlogAt);
        }
      }
      if (next < total) setTimeout(pump, Math.max(0, due(next) - performance.now()));
      else setTimeout(finish, 30_000).unref();
    };
    const start = () => {
      t0 = performance.now() + 5;
      setTimeout(pump, 5);
    };
  });
}
