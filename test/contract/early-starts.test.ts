// Early starts (EngineOptions.earlyStarts, docs/decisions.md): a restartable job on the node's
// own worker starts before the commit of its start, and one commit may carry several handoffs
// of a lock. What must still hold: readers see only what is committed; a job that is not
// restartable starts only after its commit; a failed commit kills what it started and drops
// its results; no fencing token is shown to two orders; what the journal holds of a lost
// commit runs again.

import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from '../../src/core/commands.js';
import type { Grant, Workflow } from '../../src/core/model.js';
import { MemoryStore } from '../../src/journal/memory.js';
import { PostgresStore } from '../../src/journal/postgres.js';
import type { JournalStore } from '../../src/journal/types.js';
import { EARLY_STARTS_HEADROOM, Engine, EngineUnavailable } from '../../src/runtime/engine.js';
import { FunctionExecutor } from '../../src/runtime/function-executor.js';
import { FaultStore } from '../support/fault-store.js';
import { modeReached, readersAgreeWithJournal, until } from '../support/engine-checks.js';
import { dropSchema, TEST_DATABASE_URL, testSchemaName, withClient } from '../support/postgres.js';
import { createOrderly } from '../../src/index.js';

const locked = (name: string, functionName: string, restartable: boolean): Workflow => ({
  name,
  instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'L' }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } }],
  jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName }, parallelism: 100, restartable } },
});

const WORKFLOWS = [locked('gated', 'gate', true), locked('once', 'gate', false), locked('quick', 'noop', true), locked('quickOnce', 'noop', false)];

/** Grants the engine counts as made ahead of the journal (none once everything is committed). */
const grantsAhead = (engine: Engine): number => (engine as unknown as { earlyGrants: number }).earlyGrants;
const add = (orderId: string, workflow = 'gated'): Command => ({ type: 'addOrder', orderId, workflow });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  engine: Engine;
  /** Runs of the gate function per order, with the tokens each was shown. */
  runs: Map<string, Grant[][]>;
  /** Ends the latest run of an order's gate job. */
  finish: (orderId: string) => void;
  /** Runs of the gate function that were aborted (killed). */
  killed: string[];
  /** Runs of the no-op function so far. */
  quickRuns: () => number;
}

async function open(store: JournalStore): Promise<Setup> {
  const functions = new FunctionExecutor();
  const runs = new Map<string, Grant[][]>();
  const waiting = new Map<string, () => void>();
  const killed: string[] = [];
  functions.register('gate', (ctx) => {
    const list = runs.get(ctx.orderId) ?? [];
    list.push([...ctx.locks]);
    runs.set(ctx.orderId, list);
    ctx.signal.addEventListener('abort', () => killed.push(ctx.orderId));
    return new Promise<void>((resolve) => waiting.set(ctx.orderId, resolve));
  });
  let quick = 0;
  functions.register('noop', () => {
    quick++;
  });
  const engine = await Engine.open({ store, scriptDir: tmpdir(), functions, jobLauncher: 'inline', retryMinMs: 5, retryMaxMs: 20, earlyStarts: true });
  cleanups.push(() => engine.close());
  await engine.submit({ type: 'deploy', locks: [{ name: 'L', limit: 1 }], workflows: WORKFLOWS });
  return { engine, runs, killed, quickRuns: () => quick, finish: (id) => waiting.get(id)?.() };
}




/** Tokens of lock L in the order the journal granted them. */
async function grantedTokens(store: JournalStore): Promise<number[]> {
  const out: number[] = [];
  for (const { event } of await store.readAfter(0, 1_000_000)) if (event.type === 'OrderLocksAcquired') for (const g of event.grants) if (g.lock === 'L') out.push(g.token);
  return out;
}

describe('early starts over a store that commits asynchronously', () => {
  it('a restartable job starts before the commit of its start; readers see the order only once it is committed', async () => {
    const store = new FaultStore();
    const { engine, runs, finish } = await open(store);
    store.hold();
    const p = engine.submit(add('a'));
    await until(() => runs.has('a'));
    // Running, but nothing of it is committed: readers do not see the order.
    expect(engine.state.orders.has('a')).toBe(false);
    store.release();
    await p;
    expect(engine.state.orders.get('a')?.state).toBe('processing');
    finish('a');
    await until(() => engine.state.orders.get('a')?.state === 'finished');
    expect(runs.get('a')).toHaveLength(1);
    await readersAgreeWithJournal(engine, store);
  });

  it('a job that is not restartable starts only after the commit of its start', async () => {
    const store = new FaultStore();
    const { engine, runs, finish } = await open(store);
    let inFlight = false;
    store.onAppend = (events) => (inFlight ||= events.some((e) => e.type === 'OrderProcessingStarted'));
    store.hold();
    const p = engine.submit(add('b', 'once'));
    await until(() => inFlight);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(runs.has('b')).toBe(false);
    store.release();
    await p;
    await until(() => runs.has('b'));
    finish('b');
    await until(() => engine.state.orders.get('b')?.state === 'finished');
  });

  it('handoffs of a lock go on while a commit is under way, and one commit carries many of them; tokens grow one by one', async () => {
    const store = new FaultStore();
    const { engine, quickRuns } = await open(store);
    const before = store.appendsWritten;
    // More than one commit's first gathering takes (64 rounds): the rest run while it is held.
    const n = 200;
    store.hold();
    const adds = Promise.all(Array.from({ length: n }, (_, i) => engine.submit(add(`q${i}`, 'quick'))));
    await until(() => quickRuns() === n);
    // Every job ran, and nothing is committed yet: no handoff waited for a commit.
    expect(store.appendsWritten).toBe(before);
    expect(engine.state.orders.size).toBe(0);
    store.release();
    await adds;
    await until(() => [...engine.state.orders.values()].filter((o) => o.state === 'finished').length === n);
    await engine.whenIdle();
    // The one held, and the one decided while it was: without early starts, at least n commits.
    expect(store.appendsWritten - before).toBe(2);
    const tokens = await grantedTokens(store);
    expect(tokens).toHaveLength(n);
    for (let i = 1; i < n; i++) expect(tokens[i]).toBe(tokens[i - 1]! + 1);
    await readersAgreeWithJournal(engine, store);
    // Committed, nothing is ahead of the journal: grants of jobs that are not restartable
    // (which start after their commit) leave nothing behind either.
    expect(grantsAhead(engine)).toBe(0);
    await Promise.all(Array.from({ length: 20 }, (_, i) => engine.submit(add(`s${i}`, 'quickOnce'))));
    await until(() => [...engine.state.orders.values()].filter((o) => o.state === 'finished').length === n + 20);
    await engine.whenIdle();
    expect(quickRuns()).toBe(n + 20);
    expect(grantsAhead(engine)).toBe(0);
  });

  it('a failed commit kills the job it started early and refuses the caller; the next grant shows a token past the headroom', async () => {
    const store = new FaultStore();
    const { engine, runs, killed, finish } = await open(store);
    store.failNext(1);
    await expect(engine.submit(add('a'))).rejects.toBeInstanceOf(EngineUnavailable);
    expect(runs.get('a')).toHaveLength(1);
    await until(() => killed.includes('a'));
    await modeReached(engine, 'running');
    expect(engine.state.orders.has('a')).toBe(false);
    // Added again: it runs with a token that no job was shown before.
    await engine.submit(add('a'));
    await until(() => runs.get('a')?.length === 2);
    const [first, second] = runs.get('a')!;
    expect(second![0]!.token).toBeGreaterThan(first![0]!.token + EARLY_STARTS_HEADROOM - 1);
    finish('a');
    await until(() => engine.state.orders.get('a')?.state === 'finished');
    await readersAgreeWithJournal(engine, store);
  });

  it('a commit whose answer was lost: the journal holds the early start, so the job runs again, with the same hold', async () => {
    const store = new FaultStore();
    const { engine, runs, killed, finish } = await open(store);
    store.tearNext(1);
    await expect(engine.submit(add('t'))).rejects.toBeInstanceOf(EngineUnavailable);
    await until(() => killed.includes('t'));
    await modeReached(engine, 'running');
    await until(() => runs.get('t')?.length === 2);
    const [first, second] = runs.get('t')!;
    expect(second![0]!.token).toBe(first![0]!.token);
    expect(engine.state.orders.get('t')?.state).toBe('processing');
    finish('t');
    await until(() => engine.state.orders.get('t')?.state === 'finished');
    expect(engine.state.orders.get('t')?.outcome?.type).toBe('succeeded');
    await readersAgreeWithJournal(engine, store);
  });

  it('the result of a job started early whose commit failed is dropped: the order runs again in full', async () => {
    const store = new FaultStore();
    const { engine, runs, finish } = await open(store);
    // x holds L, a waits for it.
    await engine.submit(add('x'));
    await until(() => runs.has('x'));
    await engine.submit(add('a'));
    expect(engine.state.orders.get('a')?.state).toBe('waiting');
    // x ends: a is granted L and starts early, and ends too, all while the commit is held; then the commit fails.
    store.hold();
    store.failNext(1);
    finish('x');
    await until(() => runs.has('a'));
    finish('a');
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    store.release();
    await modeReached(engine, 'refusing');
    await modeReached(engine, 'running');
    // x's result was kept and committed; a's first run is as if it never was: it runs again.
    await until(() => runs.get('a')?.length === 2);
    expect(engine.state.orders.get('x')?.state).toBe('finished');
    await engine.whenIdle();
    expect(engine.state.orders.get('a')?.state).toBe('processing');
    finish('a');
    await until(() => engine.state.orders.get('a')?.state === 'finished');
    await readersAgreeWithJournal(engine, store);
  });

  it('a bad database.earlyStarts is refused by name before anything is opened', async () => {
    const schema = testSchemaName();
    await expect(createOrderly({ database: { url: TEST_DATABASE_URL, schema, earlyStarts: 'yes' as unknown as boolean } })).rejects.toThrow(/database\.earlyStarts: must be true or false/);
    const found = await withClient((c) => c.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]));
    expect(found.rowCount).toBe(0);
  });

  it('is refused with a store that commits inside the call', async () => {
    await expect(Engine.open({ store: new MemoryStore(), scriptDir: tmpdir(), earlyStarts: true })).rejects.toThrow(/early starts need a journal that commits asynchronously/);
  });
});

describe('early starts over PostgreSQL', () => {
  it('orders through one lock: every one finishes, tokens grow one by one, fewer commits than handoffs, readers agree with the journal', async () => {
    const schema = testSchemaName();
    const store = await PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema, node: 'early' });
    cleanups.push(async () => {
      await store.close();
      await dropSchema(schema);
    });
    let appends = 0;
    const append = store.append.bind(store);
    store.append = (events, epoch) => {
      appends++;
      return append(events, epoch);
    };
    const { engine } = await open(store);
    const before = appends;
    const n = 200;
    await Promise.all(Array.from({ length: n }, (_, i) => engine.submit(add(`p${i}`, 'quick'))));
    await until(() => [...engine.state.orders.values()].filter((o) => o.state === 'finished').length === n);
    await engine.whenIdle();
    expect(appends - before).toBeLessThan(n);
    const tokens = await grantedTokens(store);
    expect(tokens).toHaveLength(n);
    for (let i = 1; i < n; i++) expect(tokens[i]).toBe(tokens[i - 1]! + 1);
    await readersAgreeWithJournal(engine, store);
  });
});
