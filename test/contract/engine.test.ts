// The engine's promises to its readers and callers, whatever the store: SQLite and memory
// (commit inside the call), a store that commits asynchronously, and stores whose appends fail.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AssertionFailed, type Command } from '../../src/core/commands.js';
import type { Workflow } from '../../src/core/model.js';
import { serializeState } from '../../src/core/state.js';
import { MemoryStore } from '../../src/journal/memory.js';
import { LeaseExpired, PostgresStore } from '../../src/journal/postgres.js';
import { SqliteStore } from '../../src/journal/sqlite.js';
import { StaleEpoch, type JournalStore } from '../../src/journal/types.js';
import { BATCH_COMMANDS_MAX, Engine, EngineStopped, EngineUnavailable, type EngineMode } from '../../src/runtime/engine.js';
import { FunctionExecutor, type JobFunction } from '../../src/runtime/function-executor.js';
import { DiskFull, FailingMemoryStore, FaultStore } from '../support/fault-store.js';
import { modeReached, readersAgreeWithJournal, until } from '../support/engine-checks.js';
import { dropSchema, TEST_DATABASE_URL, testSchemaName, withClient } from '../support/postgres.js';

const WF: Workflow = {
  name: 'w',
  instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }],
  jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'gate' }, parallelism: 100 } },
};

const add = (orderId: string): Command => ({ type: 'addOrder', orderId, workflow: 'w' });

interface Setup {
  engine: Engine;
  /** Resolves the job of an order (it runs until then). */
  finish: (orderId: string) => void;
  started: Set<string>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // Last made, first undone: engines close before their stores' files or schemas go.
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A PostgreSQL store on a schema of its own, dropped after the test. */
async function postgresStore(schema = testSchemaName(), node = 'engine'): Promise<PostgresStore> {
  const store = await PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema, node });
  cleanups.push(async () => {
    await store.close();
    await dropSchema(schema);
  });
  return store;
}

/** `more`: further job functions (given the engine, for a job that submits) and workflows, deployed beside WF. */
async function open(store: JournalStore, more: { functions?: Record<string, (engine: () => Engine) => JobFunction>; workflows?: Workflow[] } = {}): Promise<Setup> {
  const functions = new FunctionExecutor();
  const waiting = new Map<string, () => void>();
  const started = new Set<string>();
  functions.register('gate', (ctx) => {
    started.add(ctx.orderId);
    return new Promise<void>((resolve) => waiting.set(ctx.orderId, resolve));
  });
  const opened: { engine?: Engine } = {};
  for (const [name, make] of Object.entries(more.functions ?? {})) functions.register(name, make(() => opened.engine!));
  const engine = await Engine.open({ store, scriptDir: tmpdir(), functions, jobLauncher: 'inline', retryMinMs: 5, retryMaxMs: 20 });
  opened.engine = engine;
  cleanups.push(() => engine.close());
  await engine.submit({ type: 'deploy', locks: [], workflows: [WF, ...(more.workflows ?? [])] });
  return { engine, started, finish: (id) => waiting.get(id)?.() };
}




const STORES: Record<string, () => Promise<JournalStore>> = {
  memory: async () => new MemoryStore(),
  sqlite: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'orderly-engine-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return SqliteStore.open(join(dir, 'journal.sqlite'));
  },
  'asynchronous commit': async () => new FaultStore(),
  postgres: () => postgresStore(),
};

for (const [name, make] of Object.entries(STORES)) {
  describe(`engine over ${name}`, () => {
    it('starts in running mode, answers after the commit, and stops', async () => {
      const store = await make();
      const { engine } = await open(store);
      expect(engine.mode).toBe('running');
      const events = await engine.submit(add('a'));
      expect(events.map((e) => e.type)).toContain('OrderAdded');
      expect(engine.state.orders.get('a')?.state).toBe('processing');
      await readersAgreeWithJournal(engine, store);
      await engine.close();
      expect(engine.mode).toBe('stopped');
      await expect(engine.submit(add('b'))).rejects.toBeInstanceOf(EngineStopped);
    });

    it('journals a flood of commands in several commits of at most BATCH_COMMANDS_MAX commands, answering every caller', async () => {
      const store = await make();
      const { engine } = await open(store);
      // Counted where the engine commits: appendSync when the store commits inside the call.
      const sizes: number[] = [];
      const count = (events: readonly { type: string }[]): void => void sizes.push(events.filter((e) => e.type === 'OrderAdded').length);
      const sync = store as unknown as { appendSync?: (events: never[], epoch: number) => number };
      if (sync.appendSync) {
        const appendSync = sync.appendSync.bind(store);
        sync.appendSync = (events, epoch) => {
          count(events);
          return appendSync(events, epoch);
        };
      } else {
        const append = store.append.bind(store);
        store.append = (events, epoch) => {
          count(events);
          return append(events, epoch);
        };
      }
      const n = Math.floor(BATCH_COMMANDS_MAX * 2.5);
      const answers = await Promise.all(Array.from({ length: n }, (_, i) => engine.submit(add(`f${i}`))));
      expect(answers).toHaveLength(n);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(BATCH_COMMANDS_MAX);
      expect(sizes.length).toBeGreaterThanOrEqual(3);
      await readersAgreeWithJournal(engine, store);
    });

    it("journals an order added by a running function job in the same commit as that job's result", async () => {
      const store = await make();
      const added: Promise<unknown>[] = [];
      const chain: Workflow = { name: 'chain', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'adder' } } } };
      const { engine } = await open(store, {
        workflows: [chain],
        // Each run adds the next order (up to 5) from inside the job, then returns at once.
        functions: {
          adder: (engineOf) => (ctx) => {
            const n = Number(ctx.orderId.slice(1));
            if (n < 5) added.push(engineOf().submit({ type: 'addOrder', orderId: `a${n + 1}`, workflow: 'chain' }));
          },
        },
      });
      const commits: string[][] = [];
      engine.subscribe((stamped) => void commits.push(stamped.map((s) => `${s.event.type}${'orderId' in s.event ? ` ${s.event.orderId}` : ''}`)));
      await engine.submit({ type: 'addOrder', orderId: 'a1', workflow: 'chain' });
      await until(() => engine.state.orders.get('a5')?.state === 'finished');
      await Promise.all(added);
      // The job of a1..a4 ends within microtasks of its add: one commit holds both.
      for (let n = 1; n <= 4; n++) {
        const withResult = commits.find((c) => c.includes(`OrderProcessed a${n}`));
        expect(withResult, `the commit of a${n}'s result: ${JSON.stringify(commits)}`).toContain(`OrderAdded a${n + 1}`);
      }
      await readersAgreeWithJournal(engine, store);
    });

    it('settles every caller of a batch that breaks an invariant, with the cause, and readers keep the committed state', async () => {
      const { engine } = await open(await make());
      await engine.submit(add('before'));
      const poisoned = {
        type: 'addOrder',
        orderId: 'p',
        get workflow(): string {
          throw new AssertionFailed('planted');
        },
      } as unknown as Command;
      // One turn: submitted together.
      const results = await Promise.allSettled([engine.submit(add('a')), engine.submit(poisoned), engine.submit(add('c'))]);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect(String((r as PromiseRejectedResult).reason)).toMatch(/planted/);
      }
      expect(engine.mode).toBe('failed');
      expect(engine.state.orders.has('a')).toBe(false);
      expect(engine.state.orders.has('before')).toBe(true);
      await expect(engine.submit(add('d'))).rejects.toThrow(/planted/);
    });
  });
}

describe('engine over a store that commits asynchronously', () => {
  it('readers never see events whose commit is under way', async () => {
    const store = new FaultStore();
    const { engine } = await open(store);
    let inFlight = false;
    store.onAppend = () => (inFlight = true);
    store.hold();
    const p = engine.submit(add('x'));
    await until(() => inFlight);
    expect(engine.state.orders.has('x')).toBe(false);
    const seqBefore = engine.state.seq;
    store.release();
    await p;
    expect(engine.state.orders.get('x')?.state).toBe('processing');
    expect(engine.state.seq).toBeGreaterThan(seqBefore);
    await readersAgreeWithJournal(engine, store);
  });

  it('after a commit whose answer was lost, goes on from what the journal holds', async () => {
    const store = new FaultStore();
    const { engine } = await open(store);
    store.tearNext(1);
    await expect(engine.submit(add('t'))).rejects.toBeInstanceOf(EngineUnavailable);
    await modeReached(engine, 'running');
    // The journal has it: so do readers, and the engine goes on from there.
    expect(engine.state.orders.has('t')).toBe(true);
    await engine.submit(add('u'));
    await readersAgreeWithJournal(engine, store);
  });

  it.each([
    ['refused as stale', () => new StaleEpoch(1, 2)],
    ['failing otherwise', () => new DiskFull()],
  ])('a command whose commit is under way when the engine is failed from outside (a lost lease) is refused, not left waiting: commit %s', async (_, err) => {
    const store = new FaultStore();
    const { engine } = await open(store);
    let inFlight = false;
    store.onAppend = () => (inFlight = true);
    store.hold();
    store.failNext(1, err());
    const p = engine.submit(add('f'));
    await until(() => inFlight);
    engine.fail(new Error('lease lost'));
    store.release();
    await expect(p).rejects.toThrow(/engine stopped after a fatal error: .*lease lost/);
    // Still failed: a failed commit after the failure starts no retry.
    expect(engine.mode).toBe('failed');
  });

  it('a writer whose epoch was replaced fails and writes nothing', async () => {
    const store = new FaultStore();
    const { engine } = await open(store);
    store.failNext(1, new StaleEpoch(1, 2));
    await expect(engine.submit(add('s'))).rejects.toThrow(/epoch/);
    expect(engine.mode).toBe('failed');
    expect(engine.state.orders.has('s')).toBe(false);
  });
});

describe('engine over PostgreSQL', () => {
  it('a controller whose lease ran out fails and writes nothing; the next goes on from the journal', async () => {
    const schema = testSchemaName();
    const { engine: first, started } = await open(await postgresStore(schema, 'first'));
    await first.submit(add('a'));
    await until(() => started.has('a'));
    // Its renewals no longer reach the database, say: the lease runs out.
    await withClient((c) => c.query(`UPDATE ${c.escapeIdentifier(schema)}.leases SET expires_at = now() WHERE name = 'controller'`));
    await expect(first.submit(add('x'))).rejects.toThrow(/lease expire/);
    expect(first.mode).toBe('failed');
    expect(first.cause).toBeInstanceOf(LeaseExpired);

    const secondStore = await postgresStore(schema, 'second');
    const { engine: second } = await open(secondStore);
    expect(second.epoch).toBe(first.epoch + 1);
    expect(second.state.orders.has('a')).toBe(true);
    expect(second.state.orders.has('x')).toBe(false);
    await second.submit(add('y'));
    await expect(first.submit(add('z'))).rejects.toBeInstanceOf(EngineStopped);
    await readersAgreeWithJournal(second, secondStore);
    expect(await secondStore.controller()).toMatchObject({ node: 'second', epoch: second.epoch, live: true });
  });
});

const FAILING: Record<string, () => FaultStore | FailingMemoryStore> = {
  'asynchronous, failing': () => new FaultStore(),
  'synchronous, failing': () => new FailingMemoryStore(),
};

for (const [name, make] of Object.entries(FAILING)) {
  describe(`engine over a store whose append fails (${name})`, () => {
    it('refuses commands while the journal cannot be written, readers see the last committed state, and it goes on by itself', async () => {
      const store = make();
      const modes: EngineMode[] = [];
      const { engine, finish, started } = await open(store);
      (engine as unknown as { opts: { onModeChange: (m: EngineMode) => void } }).opts.onModeChange = (m) => modes.push(m);
      await engine.submit(add('a'));
      await until(() => started.has('a'));
      const committed = serializeState(engine.state);

      store.failWrites();
      const refused = await Promise.allSettled([engine.submit(add('b')), engine.submit(add('c'))]);
      for (const r of refused) {
        expect(r.status).toBe('rejected');
        const reason = (r as PromiseRejectedResult).reason as Error;
        expect(reason).toBeInstanceOf(EngineUnavailable);
        expect(reason.message).toMatch(/disk is full/);
      }
      expect(engine.mode).toBe('refusing');
      expect(serializeState(engine.state)).toBe(committed);
      expect(engine.state.orders.has('b')).toBe(false);
      await expect(engine.submit(add('d'))).rejects.toBeInstanceOf(EngineUnavailable);

      // A job that ends meanwhile: its result is kept, not lost.
      finish('a');
      await until(() => engine.commandsKept === 1);
      expect(engine.state.orders.get('a')?.state).toBe('processing');

      store.heal();
      await modeReached(engine, 'running');
      await until(() => engine.state.orders.get('a')?.state === 'finished');
      expect(engine.state.orders.has('b')).toBe(false);
      await engine.submit(add('e'));
      expect(engine.state.orders.get('e')?.state).toBe('processing');
      expect(modes).toEqual(['refusing', 'running']);
      await readersAgreeWithJournal(engine, store instanceof FaultStore ? store.inner : store);
    });
  });
}

describe('engine: a full disk at the start', () => {
  it('opens refusing and recovers by itself', async () => {
    const store2 = new FailingMemoryStore();
    store2.failWrites(new DiskFull());
    const engine = await Engine.open({ store: store2, scriptDir: tmpdir(), jobLauncher: 'inline', slots: 3, retryMinMs: 5, retryMaxMs: 20 });
    cleanups.push(() => engine.close());
    expect(engine.mode).toBe('refusing');
    store2.heal();
    await modeReached(engine, 'running');
    await until(() => engine.state.slots === 3);
  });
});
