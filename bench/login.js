// Logins under a flood: how many login tries per second `orderly serve` takes, and how much
// other requests slow meanwhile.
//
// `orderly serve` runs as a SEPARATE process (bench/http-lib.js: loopback, temp data dir, admin
// token via env, --no-examples). One user `flood` is created. Then three phases of `--duration`
// seconds each, one after the other; in each, a probe client sends GET /api/v1/orders with the
// admin token one at a time (closed loop) and records each answer's latency:
//   quiet:  nothing else (the baseline);
//   spread: `--concurrency` clients log in as `flood` with the right password back to back,
//           each try from the next of `--addresses` loopback addresses (127.0.1.1, 127.0.1.2, …:
//           Linux answers on all of 127/8), so that the limit per address (20 tries a minute)
//           leaves most tries to be hashed: this measures the hashing itself (scrypt N=16384,
//           one at a time, at most 32 waiting; beyond, 429 at once);
//   one:    the same clients, all from 127.0.0.1, once its 20 tries of the minute are spent
//           (before the phase): every try is refused (429) before any hashing.
// Counted per phase (answers that came within it): login answers by status, per second; the probe's p50 / p99 / max and
// requests per second; the server's CPU seconds (from /proc).
//
//   node bench/login.js [--duration 10] [--concurrency 16] [--addresses 200] [--store full|normal]
//
// Prints one JSON line last. A benchmark: not part of the test suite.

import { Buffer } from 'node:buffer';
import http from 'node:http';
import { setTimeout } from 'node:timers';
import { args, emit, percentile, performance, round } from './lib.js';
import { apiOk, cpuSeconds, startServer } from './http-lib.js';

const a = args();
const duration = Number(a.duration ?? 10);
const concurrency = Number(a.concurrency ?? 16);
const addresses = Number(a.addresses ?? 200);
const sync = String(a.store ?? 'full').toUpperCase();
if (!(duration > 0) || !(concurrency > 0) || !(addresses > 0 && addresses <= 250)) {
  throw new Error('--duration > 0, --concurrency > 0, --addresses 1..250');
}

const PASSWORD = 'a long enough password';
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 * concurrency });

/** One request; resolves the status once the answer has been read. */
function request(server, { method, path, body, headers = {}, localAddress }) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const h = { ...headers };
    if (data !== undefined) {
      h['content-type'] = 'application/json';
      h['content-length'] = Buffer.byteLength(data);
    }
    const req = http.request({ host: server.host, port: server.port, method, path, headers: h, agent, localAddress }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const login = (server, localAddress) =>
  request(server, { method: 'POST', path: '/api/v1/login', body: { username: 'flood', password: PASSWORD }, localAddress });

/** The probe: GET /api/v1/orders one at a time until `stop()`; latencies in ms of the answers before then. */
function probe(server) {
  const ms = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const t0 = performance.now();
      const status = await request(server, { method: 'GET', path: '/api/v1/orders?limit=10', headers: { authorization: `Bearer ${server.token}` } });
      if (status !== 200) throw new Error(`probe: GET /api/v1/orders answered ${status}`);
      if (running) ms.push(performance.now() - t0);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return ms;
    },
  };
}

/** Login clients until `stop()`; counts by status of the answers that came before then. */
function flood(server, addressOf) {
  const counts = {};
  let running = true;
  let tries = 0;
  const client = async () => {
    while (running) {
      const localAddress = addressOf(tries++);
      const status = await login(server, localAddress);
      if (running) counts[status] = (counts[status] ?? 0) + 1;
    }
  };
  const clients = Array.from({ length: concurrency }, () => client());
  return {
    /** Counts at once; `drained` when every client's last try was answered. */
    stop: () => {
      running = false;
      return { counts: { ...counts }, drained: Promise.all(clients) };
    },
  };
}

async function phase(server, name, addressOf) {
  const c0 = cpuSeconds(server.pid);
  const t0 = performance.now();
  const p = probe(server);
  const f = addressOf ? flood(server, addressOf) : undefined;
  await new Promise((r) => setTimeout(r, duration * 1000));
  const seconds = (performance.now() - t0) / 1000;
  const c1 = cpuSeconds(server.pid);
  const stopped = f?.stop();
  const ms = await p.stop();
  const counts = stopped?.counts;
  await stopped?.drained; // the tries still in the server's line, before the next phase
  const perSecond = Object.fromEntries(Object.entries(counts ?? {}).map(([s, n]) => [s, round(n / seconds, 1)]));
  return {
    phase: name,
    seconds: round(seconds, 2),
    loginsPerSecondByStatus: perSecond,
    probe: {
      requests: ms.length,
      perSecond: round(ms.length / seconds, 1),
      p50Ms: round(percentile(ms, 50), 2),
      p99Ms: round(percentile(ms, 99), 2),
      maxMs: round(Math.max(...ms), 1),
    },
    serverCpuSeconds: round(c1 - c0, 2),
  };
}

const server = await startServer({ sync });
try {
  await apiOk(server, 'POST', '/api/v1/users', { name: 'flood', password: PASSWORD, role: 'viewer' });
  const phases = [];
  phases.push(await phase(server, 'quiet'));
  phases.push(await phase(server, 'spread', (i) => `127.0.1.${1 + (i % addresses)}`));
  // 127.0.0.1's 20 tries of the minute, hashed before the phase begins: from then on each try is refused.
  await Promise.all(Array.from({ length: 20 }, () => login(server, '127.0.0.1')));
  phases.push(await phase(server, 'one', () => '127.0.0.1'));
  for (const p of phases) console.error(JSON.stringify(p));
  emit({ bench: 'login', store: sync, duration, concurrency, addresses, phases });
} finally {
  agent.destroy();
  await server.stop();
}
