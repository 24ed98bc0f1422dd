// Workers on every node of a cluster, on the machine's PostgreSQL: a controller (an Engine on a
// PostgresStore with the ClusterDispatcher) and other "nodes" in this process, each with its own
// pool, heartbeat, ClusterWorker, LocalWorker and FunctionExecutor. Jobs name agent B, served by
// the other nodes only (the controller's worker registers no agents: a catch-all while no node
// serves B, and it has no `hold` function anyway).

import { tmpdir } from 'node:os';
import { escapeIdentifier, type Pool } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Event, Stamped } from '../../src/core/events.js';
import type { Job, Workflow } from '../../src/core/model.js';
import { LIMITS } from '../../src/core/model.js';
import { ClusterDispatcher, parseReport } from '../../src/cluster/dispatcher.js';
import { NodeHeartbeat } from '../../src/cluster/heartbeat.js';
import { ClusterWorker } from '../../src/cluster/worker.js';
import { PostgresStore } from '../../src/journal/postgres.js';
import { LocalWorker, type Dispatch } from '../../src/runtime/dispatcher.js';
import { Engine } from '../../src/runtime/engine.js';
import { FunctionExecutor } from '../../src/runtime/function-executor.js';
import { ShellExecutor } from '../../src/runtime/shell-executor.js';
import { executionRequest } from '../support/execution-request.js';
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

interface Statement {
  text: string;
  values: unknown[];
  /** Settles when the statement did (never rejects). */
  done: Promise<void>;
}

/** A pool whose queries are kept with their text and values; `fail(text)` refuses a query before it is sent. */
function recordingPool(pool: Pool, fail: (text: string) => boolean = () => false): { pool: Pool; statements: Statement[]; next: (match: (s: Statement) => boolean) => Promise<Statement> } {
  const statements: Statement[] = [];
  const waiters: { match: (s: Statement) => boolean; resolve: (s: Statement) => void }[] = [];
  const wrapped = {
    query: (text: string, values?: unknown[]) => {
      const run = fail(text) ? Promise.reject(new Error('refused (test)')) : (pool.query as (t: string, v?: unknown[]) => Promise<unknown>)(text, values);
      const st: Statement = { text, values: values ?? [], done: run.then(() => undefined, () => undefined) };
      statements.push(st);
      for (const w of waiters.splice(0)) {
        if (w.match(st)) w.resolve(st);
        else waiters.push(w);
      }
      return run;
    },
  } as unknown as Pool;
  const next = (match: (s: Statement) => boolean) => new Promise<Statement>((resolve) => waiters.push({ match, resolve }));
  return { pool: wrapped, statements, next };
}

const isInsert = (s: Statement) => /INSERT INTO \S+\.executions/.test(s.text);
const isDelete = (s: Statement) => /DELETE FROM \S+\.executions WHERE execution_id/.test(s.text);
const isReport = (s: Statement) => /UPDATE \S+\.executions e SET result/.test(s.text);

interface Controller {
  engine: Engine;
  events: Event[];
  store: PostgresStore;
  dispatcher: ClusterDispatcher;
  /** The dispatcher's statements (with `record`). */
  statements: Statement[];
  nextStatement: (match: (s: Statement) => boolean) => Promise<Statement>;
  close: () => Promise<void>;
}

async function startController(schema: string, name = 'a', opts: { failDispatcher?: (text: string) => boolean } = {}): Promise<Controller> {
  const store = await PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema, node: name });
  const functions = new FunctionExecutor();
  const shell = new ShellExecutor({ scriptDir: tmpdir(), engineId: `cluster-test-${name}` });
  const workerId = `${name}-1`;
  const local = new LocalWorker(workerId, 4, shell, functions);
  const heartbeat = new NodeHeartbeat({ pool: store.shared.pool, schema, node: name, workerId, slots: 4, functions: [], ttlMs: TTL_MS, listener: store.shared.listener });
  await heartbeat.start();
  const recorded = recordingPool(store.shared.pool, opts.failDispatcher);
  const dispatcher = new ClusterDispatcher({ pool: recorded.pool, schema, listener: store.shared.listener, local, heartbeat });
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
  return { engine, events, store, dispatcher, statements: recorded.statements, nextStatement: recorded.next, close };
}

interface WorkerNode {
  name: string;
  workerId: string;
  heartbeat: NodeHeartbeat;
  worker: ClusterWorker;
  /** The worker's own queries (claims, results), counted. */
  workerQueries: () => number;
  /** The worker's own statements. */
  workerStatements: Statement[];
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
  const recorded = recordingPool(store.shared.pool);
  const workerPool = wrappedPool(recorded.pool);
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
    workerStatements: recorded.statements,
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

  it('a row that reads as unclaimed again (its claim lost in a crash of PostgreSQL) is not run twice by its worker', async () => {
    const schema = await newSchema();
    const c = await startController(schema);
    const b = await startWorkerNode(schema, 'b');
    await whenState(c.engine, registered(c, b.workerId), 'b registered');
    await c.engine.submit({ type: 'addOrder', orderId: 'o1', workflow: 'hold' });
    await b.started('o1');
    const isClaim = (st: Statement) => /SET claimed_at = now\(\)/.test(st.text);
    const claims = b.workerStatements.filter(isClaim).length;
    // The claim undone, and the worker told of its row again.
    await withClient((cl) => cl.query(`UPDATE ${cl.escapeIdentifier(schema)}.executions SET claimed_at = NULL`));
    await withClient((cl) => cl.query('SELECT pg_notify($1, $2)', [c.dispatcher.channels.dispatch, b.workerId]));
    await eventually(() => b.workerStatements.filter(isClaim).length > claims, 'claimed again');
    await Promise.all(b.workerStatements.filter(isClaim).map((st) => st.done));
    expect(b.log.filter((l) => l === 'b runs o1')).toHaveLength(1);
    expect(b.worker.runningCount).toBe(1);
    b.release('o1');
    await whenState(c.engine, () => order(c, 'o1')?.state === 'finished', 'o1 finished');
    expect(b.log.filter((l) => l === 'b runs o1')).toHaveLength(1);
  });
});

describe('cluster dispatch in batches', () => {
  /** A dispatch of execution `id` to worker `worker` (the request is not run: nobody claims it). */
  const dispatchOf = (id: string, worker: string): Dispatch => ({
    ...executionRequest({ TYPE: 'FunctionExecutable', functionName: 'hold' }, {}, { executionId: id, orderId: `order-${id}` }),
    worker,
    lease: 1,
    attempt: 1,
  });
  const rowsOf = (schema: string) =>
    withClient(async (cl) => (await cl.query<{ execution_id: string; epoch: string }>(`SELECT execution_id, epoch FROM ${cl.escapeIdentifier(schema)}.executions ORDER BY execution_id`)).rows);

  it('the executions of one engine turn are one statement; results that end together take fewer statements than results, to write and to delete', async () => {
    const schema = await newSchema();
    const b = await startWorkerNode(schema, 'b', { slots: 3 });
    const d = await startWorkerNode(schema, 'd', { slots: 3 });
    const c = await startController(schema);
    await whenState(c.engine, () => registered(c, b.workerId)() && registered(c, d.workerId)(), 'b and d registered');
    const inserts = c.statements.filter(isInsert).length;
    const ids = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6'];
    // Submitted together: decided in one turn, committed in one append.
    await Promise.all(ids.map((id) => c.engine.submit({ type: 'addOrder', orderId: id, workflow: 'hold' })));
    const nodeOf = (id: string) => (order(c, id)?.execution?.worker === b.workerId ? b : d);
    await Promise.all(ids.map((id) => nodeOf(id).started(id)));
    const sent = c.statements.filter(isInsert).slice(inserts);
    expect(sent).toHaveLength(1);
    expect([...(sent[0]!.values[0] as string[])].sort()).toEqual(ids.map((id) => order(c, id)!.execution!.id).sort());
    expect(b.holding() + d.holding()).toBe(6);
    // b's three end together: written by b in one statement, taken by the controller, deleted in one statement.
    const onB = ids.filter((id) => order(c, id)?.execution?.worker === b.workerId);
    expect(onB).toHaveLength(3);
    const deletes = c.statements.filter(isDelete).length;
    for (const id of onB) b.release(id);
    await whenState(c.engine, () => onB.every((id) => order(c, id)?.state === 'finished'), "b's orders finished");
    await eventually(async () => (await executionRows(schema)) === 3, "b's rows deleted");
    const reports = b.workerStatements.filter(isReport);
    expect(reports.length).toBeLessThan(3);
    expect(reports.flatMap((r) => r.values[0] as string[])).toHaveLength(3);
    const deleted = c.statements.filter(isDelete).slice(deletes);
    expect(deleted.length).toBeLessThan(3);
    expect(deleted.flatMap((s) => s.values[0] as string[])).toHaveLength(3);
    for (const id of ids.filter((x) => !onB.includes(x))) d.release(id);
    await whenState(c.engine, () => ids.every((id) => order(c, id)?.state === 'finished'), 'all finished');
  });

  it('a batch whose controller lease was taken over inserts none of its rows and notifies no one', async () => {
    const schema = await newSchema();
    const c = await startController(schema);
    const notified: string[] = [];
    await c.store.shared.listener.listen(c.dispatcher.channels.dispatch, (p) => notified.push(p));
    // Another node's take-over: the lease's epoch is no longer this engine's.
    await withClient((cl) => cl.query(`UPDATE ${cl.escapeIdentifier(schema)}.leases SET epoch = epoch + 1, node = 'intruder' WHERE name = 'controller'`));
    const sent = c.nextStatement(isInsert);
    for (const id of ['x1', 'x2', 'x3']) expect(c.dispatcher.dispatch(dispatchOf(id, 'z-1'))).toBeUndefined();
    const st = await sent;
    await st.done;
    expect(st.values[0]).toEqual(['x1', 'x2', 'x3']);
    expect(await rowsOf(schema)).toEqual([]);
    expect(c.statements.filter(isInsert)).toHaveLength(1);
    // A notification of the rows would have come before this one (one listening connection, in commit order).
    const marker = new Promise<void>((resolve) => void c.store.shared.listener.listen(`${schema}.marker`, () => resolve()));
    await withClient((cl) => cl.query('SELECT pg_notify($1, $2)', [`${schema}.marker`, 'm']));
    await marker;
    expect(notified).toEqual([]);
  });

  it('a batch whose statement fails is sent again whole: all its rows, fenced by the epoch, once each', async () => {
    const schema = await newSchema();
    let refusals = 1;
    const c = await startController(schema, 'a', { failDispatcher: (text) => /INSERT INTO \S+\.executions/.test(text) && refusals-- > 0 });
    const first = c.nextStatement(isInsert);
    for (const id of ['x1', 'x2', 'x3']) c.dispatcher.dispatch(dispatchOf(id, 'z-1'));
    const again = c.nextStatement((s) => isInsert(s) && s !== c.statements.find(isInsert));
    await (await first).done;
    const second = await again;
    await second.done;
    expect(c.statements.filter(isInsert).map((s) => s.values[0])).toEqual([
      ['x1', 'x2', 'x3'],
      ['x1', 'x2', 'x3'],
    ]);
    expect(await rowsOf(schema)).toEqual(['x1', 'x2', 'x3'].map((id) => ({ execution_id: id, epoch: String(c.engine.epoch) })));
    // Dispatched once more (as recovery may): ON CONFLICT leaves the rows as they are.
    const third = c.nextStatement(isInsert);
    c.dispatcher.dispatch(dispatchOf('x1', 'z-1'));
    c.dispatcher.dispatch(dispatchOf('x1', 'z-1'));
    const st = await third;
    await st.done;
    expect(st.values[0]).toEqual(['x1']);
    expect(await rowsOf(schema)).toHaveLength(3);
  });

  it('results written in one commit are deleted by one statement', async () => {
    const schema = await newSchema();
    const c = await startController(schema);
    const b = await startWorkerNode(schema, 'b', { slots: 4 });
    await whenState(c.engine, registered(c, b.workerId), 'b registered');
    const ids = ['o1', 'o2', 'o3', 'o4'];
    await Promise.all(ids.map((id) => c.engine.submit({ type: 'addOrder', orderId: id, workflow: 'hold' })));
    await Promise.all(ids.map((id) => b.started(id)));
    // The worker is stopped (its jobs killed, nothing reported); their results are written here,
    // in one transaction, as a worker does: one notification each.
    await b.worker.close();
    const deletes = c.statements.filter(isDelete).length;
    const s = escapeIdentifier(schema);
    const result = JSON.stringify({ outcome: { type: 'succeeded', returnCode: 0 } });
    await withClient((cl) =>
      cl.query(
        `WITH u AS (UPDATE ${s}.executions SET result = $1, reported_at = now() RETURNING execution_id, order_id)
         SELECT pg_notify($2, json_build_object('id', execution_id, 'order', order_id, 'result', $1::text)::text) FROM u`,
        [result, c.dispatcher.channels.results],
      ),
    );
    await whenState(c.engine, () => ids.every((id) => order(c, id)?.state === 'finished'), 'all finished');
    await eventually(async () => (await executionRows(schema)) === 0, 'the rows deleted');
    const deleted = c.statements.filter(isDelete).slice(deletes);
    expect(deleted).toHaveLength(1);
    const executions = c.events.flatMap((e) => (e.type === 'OrderProcessingStarted' ? [e.executionId] : []));
    expect([...(deleted[0]!.values[0] as string[])].sort()).toEqual(executions.sort());
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
