// POST → job start latency over HTTP, seen from a client on the same machine.
//
// `orderly serve` runs as a SEPARATE process (loopback, temp data dir, admin token via env,
// --no-examples, --slots 64: each `true` job holds a worker slot for ~20 ms, so the default 4
// slots would cap the shell workflow at about 200 jobs/s and the measured start would be a
// wait for a slot). This process subscribes to GET /api/v1/events (SSE,
// one connection, opened before the first POST) and then POSTs /api/v1/orders one at a time at
// a fixed rate (open loop: order i is sent at t0 + i / rate, whatever the answers to the
// others; default 200/s for 10 s, after 1 s of warm-up orders that are not counted), each
// with its own id. Timestamps (performance.now() in this process) are taken
//   - just before the request is written (t_post),
//   - when the 201 answer has arrived (→ "answer"),
//   - when the SSE chunk that carries the order's event has arrived (before parsing it).
// Two workflows, one after the other on the same server:
//   shell:  [Execute.Named j], j = ShellScriptExecutable `#!/bin/sh\ntrue`, parallelism 100.
//           Measured: t_post → arrival of the order's OrderProcessingStarted event: the
//           order was added, given a worker slot and its job's start was committed to the
//           journal (the engine starts the process right after that commit). Also: → its
//           OrderFinished (the `true` process ran and its end was committed).
//   finish: [Finish]. Measured: t_post → arrival of its OrderFinished event, which is in the
//           same journal commit as its OrderAdded: the bare add-and-commit path with no job.
// Orders that found no free slot (OrderJobQueued) are counted: their start waited for a slot.
//
//   node bench/http-latency.js --store full|normal [--rate 200] [--duration 10] [--slots 64] [--shapes shell,finish]
//        [--cpu-prof DIR] [--main dist/cli/main.js]
//
// Prints one JSON line last.

import http from 'node:http';
import { clearTimeout, setTimeout } from 'node:timers';
import { args, emit, percentile, performance, round } from './lib.js';
import { apiOk, cpuSeconds, metrics, metricsDelta, startServer } from './http-lib.js';

const WF = { shell: 'httpLatShell', finish: 'httpLatFinish' };

async function deploy(server) {
  await apiOk(server, 'PUT', `/api/v1/workflows/${WF.shell}`, {
    TYPE: 'Workflow',
    instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }],
    jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\ntrue\n' }, parallelism: 100 } },
  });
  await apiOk(server, 'PUT', `/api/v1/workflows/${WF.finish}`, { TYPE: 'Workflow', instructions: [{ TYPE: 'Finish' }], jobs: {} });
}

/** The SSE stream: calls onEvent(type, orderId, arrivalMs) for the event types we time. */
function subscribe(server, onEvent) {
  const WANT = new Set(['OrderAdded', 'OrderJobQueued', 'OrderProcessingStarted', 'OrderFinished']);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: server.host, port: server.port, path: '/api/v1/events', headers: { authorization: `Bearer ${server.token}`, accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET /api/v1/events: ${res.statusCode}`));
          return;
        }
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk) => {
          const now = performance.now();
          buf += chunk;
          let end;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const frame = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const e = /^event: (\w+)$/m.exec(frame);
            if (!e || !WANT.has(e[1])) continue;
            const o = /"orderId":"([^"]+)"/.exec(frame);
            if (o) onEvent(e[1], o[1], now);
          }
        });
        resolve({ close: () => req.destroy() });
      },
    );
    req.on('error', (err) => reject(err));
    req.end();
  });
}

async function measure(server, shape, { rate, duration, warmup }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const total = Math.round(rate * (duration + warmup));
  const skip = Math.round(rate * warmup);
  const run = Math.random().toString(36).slice(2, 8);
  const idOf = (i) => `lat-${shape}-${run}-${i}`;
  const index = new Map();
  const tPost = new Float64Array(total);
  const tAnswer = new Float64Array(total);
  const tAdded = new Float64Array(total);
  const tStarted = new Float64Array(total);
  const tFinished = new Float64Array(total);
  const queued = new Uint8Array(total);
  let answered = 0;
  let failed = 0;
  let seenFinished = 0;
  let allDone;
  const done = new Promise((r) => (allDone = r));
  const onEvent = (type, orderId, now) => {
    const i = index.get(orderId);
    if (i === undefined) return;
    if (type === 'OrderAdded') tAdded[i] = now;
    else if (type === 'OrderJobQueued') queued[i] = 1;
    else if (type === 'OrderProcessingStarted') tStarted[i] ||= now;
    else if (type === 'OrderFinished') {
      tFinished[i] = now;
      if (++seenFinished === total) allDone();
    }
  };
  const sse = await subscribe(server, onEvent);
  const m0 = await metrics(server);
  const c0 = cpuSeconds(server.pid);
  const post = (i) => {
    const id = idOf(i);
    index.set(id, i);
    const body = JSON.stringify({ workflow: WF[shape], id });
    const req = http.request(
      {
        host: server.host,
        port: server.port,
        method: 'POST',
        path: '/api/v1/orders',
        agent,
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          tAnswer[i] = performance.now();
          answered++;
          if (res.statusCode !== 201) failed++;
        });
      },
    );
    req.on('error', () => failed++);
    tPost[i] = performance.now();
    req.end(body);
  };
  const t0 = performance.now() + 20;
  let next = 0;
  await new Promise((resolve) => {
    const pump = () => {
      const now = performance.now();
      while (next < total && t0 + (next * 1000) / rate <= now) post(next++);
      if (next < total) setTimeout(pump, Math.max(0, t0 + (next * 1000) / rate - performance.now()));
      else resolve();
    };
    setTimeout(pump, 20);
  });
  const sentSecs = (performance.now() - t0) / 1000;
  const timer = setTimeout(() => allDone(), 15_000);
  await done;
  clearTimeout(timer);
  const c1 = cpuSeconds(server.pid);
  const m1 = await metrics(server);
  sse.close();
  agent.destroy();
  const d = metricsDelta(m0, m1);
  const lat = (to) => {
    const xs = [];
    for (let i = skip; i < total; i++) if (to[i] > 0) xs.push(to[i] - tPost[i]);
    return Float64Array.from(xs);
  };
  const stats = (xs, prefix) => ({
    [`${prefix}P50Ms`]: round(percentile(xs, 50), 2),
    [`${prefix}P90Ms`]: round(percentile(xs, 90), 2),
    [`${prefix}P99Ms`]: round(percentile(xs, 99), 2),
    [`${prefix}P999Ms`]: round(percentile(xs, 99.9), 2),
    [`${prefix}MaxMs`]: round(percentile(xs, 100), 2),
  });
  const measured = total - skip;
  const target = shape === 'shell' ? tStarted : tFinished;
  const main = lat(target);
  let queuedCount = 0;
  for (let i = skip; i < total; i++) queuedCount += queued[i];
  return {
    shape,
    event: shape === 'shell' ? 'OrderProcessingStarted' : 'OrderFinished',
    rate,
    sentPerSec: Math.round(total / sentSecs),
    n: measured,
    seen: main.length,
    missing: measured - main.length,
    failed,
    answered,
    ...stats(main, ''),
    ...stats(lat(tAnswer), 'answer'),
    ...stats(lat(tAdded), 'added'),
    ...(shape === 'shell' ? stats(lat(tFinished), 'finished') : {}),
    queued: queuedCount,
    commits: d.commits,
    eventsPerCommit: round(d.events / Math.max(1, d.commits), 2),
    commitMsMean: round(d.commitMsMean, 3),
    serverCpu: round((c1 - c0) / sentSecs, 2),
  };
}

export async function httpLatency({ store, rate = 200, duration = 10, warmup = 1, slots = 64, shapes = ['shell', 'finish'], cpuProfDir, main } = {}) {
  const sync = { full: 'FULL', normal: 'NORMAL' }[store];
  if (!sync) throw new Error(`unknown store ${store} (full | normal)`);
  const nodeArgs = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const server = await startServer({ sync, nodeArgs, serveArgs: ['--slots', String(slots)], ...(main ? { main } : {}) });
  try {
    await deploy(server);
    const results = [];
    for (const shape of shapes) results.push(await measure(server, shape, { rate, duration, warmup }));
    const flat = { store, rate, slots, durationSec: duration };
    for (const r of results) for (const [k, v] of Object.entries(r)) if (k !== 'shape') flat[`${r.shape}_${k}`] = v;
    return { result: flat, results };
  } finally {
    await server.stop();
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const a = args();
  const r = await httpLatency({
    store: a.store ?? 'full',
    rate: Number(a.rate ?? 200),
    duration: Number(a.duration ?? 10),
    warmup: Number(a.warmup ?? 1),
    slots: Number(a.slots ?? 64),
    shapes: String(a.shapes ?? 'shell,finish').split(','),
    cpuProfDir: typeof a['cpu-prof'] === 'string' ? a['cpu-prof'] : undefined,
    ...(typeof a.main === 'string' ? { main: a.main } : {}),
  });
  for (const x of r.results) process.stderr.write(`${JSON.stringify(x)}\n`);
  emit({ bench: 'http-latency', node: process.version, result: r.result, results: r.results });
}
