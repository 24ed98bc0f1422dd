// Workers on every node of a cluster, on the machine's PostgreSQL: a controller (an Engine on a
// PostgresStore with the ClusterDispatcher) and other "nodes" in this process, each with its own
// pool, heartbeat, ClusterWorker, LocalWorker and FunctionExecutor. Jobs name agent B, served by
// the other nodes only (the controller's worker registers no agents: a catch-all while no node
// serves B, and it has no `hold` function anyway).

import { tmpdir } from 'node:os';
import type { Pool } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Event, Stamped } from '../../src/core/events.js';
import type { Job, Workflow } from '../../src/core/model.js';
import { LIMITS } from '../../src/core/model.js';
import { ClusterDispatcher, parseReport } from '../../src/cluster/dispatcher.js';
import { NodeHeartbeat } from '../../src/cluster/heartbeat.js';
import { ClusterWorker } from '../../src/cluster/worker.js';
import { PostgresStore } from '../../src/journal/postgres.js';
import { LocalWorker } from '../../src/runtime/dispatcher.js';
import { Engine } from '../../src/runtime/engine.js';
import { FunctionExecutor } from '../../src/runtime/function-executor.js';
import { ShellExecutor } from '../../src/runtime/shell-executor.js';
import { dropSchema, TEST_DATABASE_URL, testSchemaName, withClient } from '../support/postgres.js';

/**
 * Long enough that a machine loaded by the whole suite renews in time (2 s was not: a node lost
 * its heartbeat before its first job); the loss tests wait it out once.
 */
const TTL_MS = 6_000;

const hold = (extra: Partial<Job> = {}): Job => ({ executable: { TYPE: 'FunctionExecutable', functionName: 'hold' }, agentName: 'B', parallelism: 100, ...extra });
const WORKFLOWS: Workflow[] = [
  {
    name: 'echo',
    instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }],
    jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\necho "hi from $NODE_NAME"\n' }, agentName: 'B' } },
  },
  { name: 'hold', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: hold() } },
  { name: 'rhold', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: hold({ restartable: true }) } },
  {
    name: 'locked',
    instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'L' }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } }],
    jobs: { j: hold() },
  },
];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Waits for `cond`, checked on every committed event of the engine (and now). */
function whenState(engine: Engine, cond: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (cond()) return resolve();
    const safety = setTimeout(() => {
      stop();
      reject(new Error(`timed out waiting for ${what}`));
    }, 60_000);
    const stop = engine.subscribe(() => {
      if (!cond()) return;
      clearTimeout(safety);
      stop();
      resolve();
    });
  });
}

/** Checks `cond` again and again (a safety net of a minute), for what no event announces. */
async function eventually(cond: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const until = performance.now() + 60_000;
  while (!(await cond())) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A pool whose queries are counted, and refused while `cut` (a node cut off from PostgreSQL). */
function wrappedPool(pool: Pool): { pool: Pool; count: () => number; cut: () => void; onQuery: (f: () => void) => void } {
  let n = 0;
  let cut = false;
  const listeners: (() => void)[] = [];
  const wrapped = {
    query: (...args: unknown[]) => {
      n++;
      for (const f of listeners) f();
      if (cut) return Promise.reject(new Error('connection cut (test)'));
      return (pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
    },
  } as unknown as Pool;
  return { pool: wrapped, count: () => n, cut: () => (cut = true), onQuery: (f) => listeners.push(f) };
}

interface Controller {
  engine: Engine;
  events: Event[];
  store: PostgresStore;
  dispatcher: ClusterDispatcher;
  close: () => Promise<void>;
}

async function startController(schema: string, name = 'a'): Promise<Controller> {
  const store = await PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema, node: name });
  const functions = new FunctionExecutor();
  const shell = new ShellExecutor({ scriptDir: tmpdir(), engineId: `cluster-test-${name}` });
  const workerId = `${name}-1`;
  const local = new LocalWorker(workerId, 4, shell, functions);
  const heartbeat = new NodeHeartbeat({ pool: store.shared.pool, schema, node: name, workerId, slots: 4, functions: [], ttlMs: TTL_MS, listener: store.shared.listener });
  await heartbeat.start();
  const dispatcher = new ClusterDispatcher({ pool: store.shared.pool, schema, listener: store.shared.listener, local, heartbeat });
  const engine = await Engine.open({ store, scriptDir: tmpdir(), functions, dispatcher, slots: LIMITS.parallelismMax, jobLauncher: 'inline' });
  const events: Event[] = [];
  engine.subscribe((batch: readonly Stamped[]) => events.push(...batch.map((s) => s.event)));
  // The heartbeat first: it uses the store's pool, which the engine's close ends.
  const close = async (): Promise<void> => {
    await heartbeat.stop().catch(() => undefined);
    await engine.close();
  };
  cleanups.push(close);
  await dispatcher.startControlling(engine);
  await engine.submit({ type: 'deploy', locks: [{ name: 'L', limit: 1 }], workflows: WORKFLOWS });
  return { engine, events, store, dispatcher, close };
}

interface WorkerNode {
  name: string;
  workerId: string;
  heartbeat: NodeHeartbeat;
  worker: ClusterWorker;
  /** The worker's own queries (claims, results), counted. */
  workerQueries: () => number;
  heartbeatPool: ReturnType<typeof wrappedPool>;
  /** Ends the `hold` job of an order. */
  release: (orderId: string) => void;
  started: (orderId: string) => Promise<void>;
  aborted: (orderId: string) => Promise<void>;
  /** `hold` jobs running at once now, and at most so far. */
  holding: () => number;
  holdingMax: () => number;
  log: string[];
}

async function startWorkerNode(schema: string, name: string, opts: { slots?: number; agents?: string[]; log?: string[] } = {}): Promise<WorkerNode> {
  const store = await PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema, node: name });
  const functions = new FunctionExecutor();
  const log = opts.log ?? [];
  const releases = new Map<string, () => void>();
  const starts = new Map<string, ReturnType<typeof deferred>>();
  const aborts = new Map<string, ReturnType<typeof deferred>>();
  const of = (m: Map<string, ReturnType<typeof deferred>>, id: string): ReturnType<typeof deferred> => {
    let d = m.get(id);
    if (!d) m.set(id, (d = deferred()));
    return d;
  };
  let holding = 0;
  let holdingMax = 0;
  functions.register('hold', (ctx) => {
    holding++;
    holdingMax = Math.max(holdingMax, holding);
    log.push(`${name} runs ${ctx.orderId}`);
    of(starts, ctx.orderId).resolve();
    return new Promise<void>((resolve, reject) => {
      releases.set(ctx.orderId, () => {
        holding--;
        resolve();
      });
      ctx.signal.addEventListener('abort', () => {
        holding--;
        log.push(`${name} killed ${ctx.orderId}`);
        of(aborts, ctx.orderId).resolve();
        reject(new Error('aborted'));
      });
    });
  });
  const shell = new ShellExecutor({ scriptDir: tmpdir(), engineId: `cluster-test-${name}`, extraEnv: { NODE_NAME: name } });
  const workerId = `${name}-1`;
  const slots = opts.slots ?? 4;
  const local = new LocalWorker(workerId, slots, shell, functions);
  const heartbeatPool = wrappedPool(store.shared.pool);
  const workerPool = wrappedPool(store.shared.pool);
  const heartbeat = new NodeHeartbeat({
    pool: heartbeatPool.pool,
    schema,
    node: name,
    workerId,
    agents: opts.agents ?? ['B'],
    slots,
    functions: functions.names(),
    ttlMs: TTL_MS,
    listener: store.shared.listener,
  });
  const worker = new ClusterWorker({ pool: workerPool.pool, schema, listener: store.shared.listener, workerId, local, store, heartbeat });
  cleanups.push(async () => {
    await worker.close();
    await heartbeat.stop().catch(() => undefined);
    await store.close();
  });
  await heartbeat.start();
  await worker.start();
  return {
    name,
    workerId,
    heartbeat,
    worker,
    workerQueries: workerPool.count,
    heartbeatPool,
    release: (id) => releases.get(id)?.(),
    started: (id) =>
      Promise.race([
        of(starts, id).promise,
        new Promise<void>((_, reject) => heartbeat.onLost((err) => reject(new Error(`${name} lost its heartbeat before ${id} started: ${err.message}`)))),
      ]),
    aborted: (id) => of(aborts, id).promise,
    holding: () => holding,
    holdingMax: () => holdingMax,
    log,
  };
}

async function newSchema(): Promise<string> {
  const schema = testSchemaName();
  cleanups.push(() => dropSchema(schema));
  return schema;
}

const registered = (c: Controller, workerId: string) => () => c.engine.state.workers.has(workerId);
const order = (c: Controller, id: string) => c.engine.state.orders.get(id);

async function executionRows(schema: string): Promise<number> {
  return withClient(async (cl) => Number((await cl.query(`SELECT count(*) AS n FROM ${cl.escapeIdentifier(schema)}.executions`)).rows[0].n));
}

describe('cluster workers', () => {
  it('runs an execution given to another node there: its output is logged, its order finishes, its row is gone', async () => {
    const schema = await newSchema();
    const b = await startWorkerNode(schema, 'b');
    const c = await startController(schema);
    await whenState(c.engine, registered(c, b.workerId), 'b registered');
    expect(c.engine.state.workers.get(b.workerId)).toMatchObject({ slots: 4, functions: ['hold'], agents: ['B'] });
    await c.engine.submit({ type: 'addOrder', orderId: 'o1', workflow: 'echo' });
    await whenState(c.engine, () => order(c, 'o1')?.state === 'finished', 'o1 finished');
    const started = c.events.find((e) => e.type === 'OrderProcessingStarted' && e.orderId === 'o1');
    expect(started).toMatchObject({ worker: b.workerId, attempt: 1 });
    const logs = await c.store.getLogs('o1');
    expect(logs.map((l) => l.stdout)).toEqual(['hi from b\n']);
    await eventually(async () => (await executionRows(schema)) === 0, 'the execution row deleted');
  });

  it('holds the slots of each worker; a node that joins later gets work', async () => {
    const schema = await newSchema();
    const b = await startWorkerNode(schema, 'b', { slots: 2 });
    const c = await startController(schema);
    await whenState(c.engine, registered(c, b.workerId), 'b registered');
    for (let i = 1; i <= 5; i++) await c.engine.submit({ type: 'addOrder', orderId: `o${i}`, workflow: 'hold' });
    await Promise.all([b.started('o1'), b.started('o2')]);
    expect(b.holding()).toBe(2);
    expect(b.worker.runningCount).toBe(2);
    expect(['o3', 'o4', 'o5'].map((id) => order(c, id)?.state)).toEqual(['waiting', 'waiting', 'waiting']);
    // One ends: the next one starts there, never more than 2 at once.
    b.release('o1');
    await b.started('o3');
    expect(b.holdingMax()).toBe(2);
    // A second node serving B joins and takes the rest.
    const d = await startWorkerNode(schema, 'd', { slots: 2 });
    await whenState(c.engine, registered(c, d.workerId), 'd registered');
    await Promise.all([d.started('o4'), d.started('o5')]);
    for (const id of ['o2', 'o3']) b.release(id);
    for (const id of ['o4', 'o5']) d.release(id);
    await whenState(c.engine, () => [1, 2, 3, 4, 5].every((i) => order(c, `o${i}`)?.state === 'finished'), 'all finished');
    expect(b.holdingMax()).toBe(2);
    expect(d.holdingMax()).toBe(2);
  });

  it('a node cut off from PostgreSQL kills its job when its heartbeat is lost, before its worker is reported lost and its lock goes to the next order', async () => {
    const schema = await newSchema();
    const log: string[] = [];
    const b = await startWorkerNode(schema, 'b', { log });
    const c = await startController(schema);
    c.engine.subscribe((batch) => {
      for (const { event: e } of batch) {
        if (e.type === 'WorkerLost') log.push(`lost ${e.workerId}`);
        if (e.type === 'OrderLocksAcquired') log.push(`${e.orderId} locks`);
      }
    });
    await whenState(c.engine, registered(c, b.workerId), 'b registered');
    await c.engine.submit({ type: 'addOrder', orderId: 'o1', workflow: 'locked' });
    await b.started('o1');
    await c.engine.submit({ type: 'addOrder', orderId: 'o2', workflow: 'locked' });
    expect(order(c, 'o2')?.waitingFor).toMatchObject({ kind: 'locks' });
    const lost = deferred();
    b.heartbeat.onLost(() => lost.resolve());
    b.heartbeatPool.cut();
    await lost.promise;
    await b.aborted('o1');
    expect(b.worker.active).toBe(false);
    await whenState(c.engine, () => order(c, 'o1')?.state === 'failed', 'o1 failed');
    expect(order(c, 'o1')?.outcome).toMatchObject({ type: 'failed', reason: 'disrupted' });
    await whenState(c.engine, () => (order(c, 'o2')?.held.length ?? 0) > 0, 'o2 holds the lock');
    expect(log.indexOf('b killed o1')).toBeGreaterThanOrEqual(0);
    expect(log.indexOf('b killed o1')).toBeLessThan(log.indexOf(`lost ${b.workerId}`));
    expect(log.indexOf(`lost ${b.workerId}`)).toBeLessThan(log.indexOf('o2 locks'));
    expect(c.engine.state.workers.has(b.workerId)).toBe(false);
    // No result of the killed job was reported.
    expect(c.events.filter((e) => e.type === 'OrderProcessed' && e.orderId === 'o1').map((e) => (e as { outcome: unknown }).outcome)).toEqual([
      expect.objectContaining({ reason: 'disrupted' }),
    ]);
  });

  it('a restartable job of a lost node runs again, as attempt 2, on a node that joins', async () => {
    const schema = await newSchema();
    const b = await startWorkerNode(schema, 'b');
    const c = await startController(schema);
    await whenState(c.engine, registered(c, b.workerId), 'b registered');
    await c.engine.submit({ type: 'addOrder', orderId: 'r1', workflow: 'rhold' });
    await b.started('r1');
    // A clean stop: announced, so the controller reports the worker lost at once.
    await b.worker.close();
    await b.heartbeat.stop();
    await whenState(c.engine, () => !c.engine.state.workers.has(b.workerId), 'b lost');
    expect(order(c, 'r1')?.state).toBe('waiting');
    const d = await startWorkerNode(schema, 'd');
    await d.started('r1');
    expect(order(c, 'r1')?.execution).toMatchObject({ worker: d.workerId, attempt: 2 });
    d.release('r1');
    await whenState(c.engine, () => order(c, 'r1')?.state === 'finished', 'r1 finished');
  });

  it('a new controller keeps the live workers of other nodes: a job running there during the switch-over finishes its order', async () => {
    const schema = await newSchema();
    const b = await startWorkerNode(schema, 'b');
    const c1 = await startController(schema, 'a');
    await whenState(c1.engine, registered(c1, b.workerId), 'b registered');
    await c1.engine.submit({ type: 'addOrder', orderId: 'o1', workflow: 'locked' });
    await b.started('o1');
    // The controller stops (its lease is released); another node's engine takes over.
    await c1.close();
    const c2 = await startController(schema, 'a2');
    expect(c2.engine.state.workers.has(b.workerId)).toBe(true);
    expect(c2.engine.state.workers.has('a-1')).toBe(false);
    expect(order(c2, 'o1')?.state).toBe('processing');
    b.release('o1');
    await whenState(c2.engine, () => order(c2, 'o1')?.state === 'finished', 'o1 finished');
    expect(order(c2, 'o1')?.outcome).toMatchObject({ type: 'succeeded' });
  });

  it("a new controller's own worker, registered after the live ones, gets a job while it has a free slot", async () => {
    const schema = await newSchema();
    const b = await startWorkerNode(schema, 'b', { agents: [] });
    const c1 = await startController(schema, 'a');
    await whenState(c1.engine, registered(c1, b.workerId), 'b registered');
    await c1.close();
    const c2 = await startController(schema, 'a2');
    // b is registered before a2's worker, with as many free slots (4).
    expect([...c2.engine.state.workers.keys()]).toEqual([b.workerId, 'a2-1']);
    const anywhere: Workflow = { name: 'anywhere', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\ntrue\n' } } } };
    await c2.engine.submit({ type: 'deploy', locks: [], workflows: [anywhere] });
    await c2.engine.submit({ type: 'addOrder', orderId: 't', workflow: 'anywhere' });
    await whenState(c2.engine, () => order(c2, 't')?.state === 'finished', 't finished');
    const started = c2.events.find((e) => e.type === 'OrderProcessingStarted' && e.orderId === 't');
    expect(started).toMatchObject({ worker: 'a2-1' });
  });

  it('an idle worker makes no query of its own: only its heartbeat renews', async () => {
    const schema = await newSchema();
    const b = await startWorkerNode(schema, 'b');
    const c = await startController(schema);
    await whenState(c.engine, registered(c, b.workerId), 'b registered');
    const atStart = b.workerQueries();
    expect(atStart).toBe(1); // the claim at start
    // Four renewals of the heartbeat: a whole ttl of an idle node.
    const renewals = deferred();
    let n = 0;
    b.heartbeatPool.onQuery(() => {
      if (++n === 4) renewals.resolve();
    });
    await renewals.promise;
    expect(b.workerQueries()).toBe(atStart);
    // Work arrives: one claim, one result.
    await c.engine.submit({ type: 'addOrder', orderId: 'o1', workflow: 'hold' });
    await b.started('o1');
    b.release('o1');
    await whenState(c.engine, () => order(c, 'o1')?.state === 'finished', 'o1 finished');
    expect(b.workerQueries()).toBe(atStart + 2);
  });

  it('a function registered later on a node is offered: its waiting orders start there', async () => {
    const schema = await newSchema();
    const c = await startController(schema);
    const b = await startWorkerNode(schema, 'b');
    await whenState(c.engine, registered(c, b.workerId), 'b registered');
    await c.engine.submit({ type: 'deploy', locks: [], workflows: [{ name: 'late', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'late' }, agentName: 'B' } } }] });
    await c.engine.submit({ type: 'addOrder', orderId: 'x', workflow: 'late' });
    expect(order(c, 'x')?.state).toBe('waiting');
    // Registered on b's FunctionExecutor: the node's row changes, the controller registers b again.
    const ran = deferred();
    (b.worker as unknown as { opts: { local: LocalWorker } }).opts.local.functions.register('late', () => ran.resolve());
    await ran.promise;
    await whenState(c.engine, () => order(c, 'x')?.state === 'finished', 'x finished');
  });

  it('a result comes with its notification when it fits, else the controller reads its row: both reach the order', async () => {
    const schema = await newSchema();
    const c = await startController(schema);
    const b = await startWorkerNode(schema, 'b');
    await whenState(c.engine, registered(c, b.workerId), 'b registered');
    // 3 bytes a character: a message of the longest kept length is over the notification's 7,900 bytes.
    const long = '€'.repeat(LIMITS.messageLengthMax);
    // One function, failing with a short or a long message by order (one registration: two in a row may
    // reach the node's row out of order, NodeHeartbeat.setFunctions does not serialize its writes).
    (b.worker as unknown as { opts: { local: LocalWorker } }).opts.local.functions.register('fail', (ctx) => {
      throw new Error(ctx.orderId === 'l' ? long : 'short failure');
    });
    const job: Job = { executable: { TYPE: 'FunctionExecutable', functionName: 'fail' }, agentName: 'B' };
    await c.engine.submit({ type: 'deploy', locks: [], workflows: [{ name: 'fail', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: job } }] });
    await whenState(c.engine, () => c.engine.state.workers.get(b.workerId)?.functions.includes('fail') === true, 'fail offered');
    await c.engine.submit({ type: 'addOrder', orderId: 's', workflow: 'fail' });
    await c.engine.submit({ type: 'addOrder', orderId: 'l', workflow: 'fail' });
    const processed = (id: string) => c.events.find((e) => e.type === 'OrderProcessed' && e.orderId === id) as Extract<Event, { type: 'OrderProcessed' }> | undefined;
    await whenState(c.engine, () => processed('s') !== undefined && processed('l') !== undefined, 'both processed');
    expect(processed('s')?.outcome).toMatchObject({ type: 'failed', message: 'short failure' });
    expect(processed('l')?.outcome.type).toBe('failed');
    expect(processed('l')?.outcome.message?.startsWith('€€€€')).toBe(true);
    expect(Buffer.byteLength(processed('l')?.outcome.message ?? '')).toBeGreaterThan(7_900);
    await eventually(async () => (await executionRows(schema)) === 0, 'the execution rows deleted');
  });
});

describe('cluster results', () => {
  it('a result that cannot be read fails the execution, saying why', () => {
    expect(parseReport('{"outcome":{"type":"succeeded","returnCode":0}}')).toEqual({ type: 'succeeded', returnCode: 0 });
    expect(parseReport('nope')).toMatchObject({ type: 'failed', reason: 'exception' });
    expect(parseReport('{"outcome":{"type":"maybe"}}').message).toContain('outcome.type');
    expect(parseReport('{"outcome":{"type":"failed","reason":"fail-instruction"}}').message).toContain('outcome.reason');
  });
});
