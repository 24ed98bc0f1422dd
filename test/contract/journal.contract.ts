// The one contract every JournalStore passes. A store's test file calls journalContract once
// with a factory; see journal.test.ts.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Event } from '../../src/core/events.js';
import type { JournalStore, SnapshotRecord, StepLog } from '../../src/journal/types.js';

export interface JournalHarness {
  store: JournalStore;
  /** Closes `store` and opens the same journal again; absent for stores that do not persist. */
  reopen?: () => Promise<JournalStore>;
  /** Closes whatever store is open and removes what the factory made. */
  cleanup: () => Promise<void>;
}

const AT = 1_700_000_000_000;

function added(orderId: string, at = AT): Event {
  return { type: 'OrderAdded', at, orderId, workflow: 'wf', version: 1, arguments: {}, priority: 0 };
}

/** One of (nearly) every shape: nested objects, arrays, optional fields present and absent, odd text. */
export const SAMPLE_EVENTS: readonly Event[] = [
  { type: 'LockDeployed', at: AT, lock: { name: 'db', limit: 3, title: 'Database', keyed: true, policy: 'greedy' } },
  { type: 'LockDeployed', at: AT, lock: { name: 'gate', limit: 0 } },
  {
    type: 'WorkflowDeployed',
    at: AT + 1,
    version: 2,
    workflow: {
      name: 'nightly',
      title: 'Nightly “build” ✓',
      timeZone: 'Europe/Berlin',
      instructions: [
        {
          TYPE: 'Lock',
          demands: [{ lockName: 'db', count: 2, key: '$env' }],
          waitTimeout: 0,
          lockedWorkflow: {
            instructions: [
              {
                TYPE: 'Try',
                maxTries: 3,
                retryDelays: [1, 5],
                try: { instructions: [{ TYPE: 'Execute.Named', jobName: 'build', label: 'b' }] },
                catch: { instructions: [{ TYPE: 'Retry' }] },
              },
            ],
          },
        },
        { TYPE: 'Fail', message: 'nope', outcome: { returnCode: 2 }, uncatchable: true },
      ],
      jobs: {
        build: {
          executable: {
            TYPE: 'ShellScriptExecutable',
            script: 'echo "$A"\nexit 0\n',
            env: { A: '$arg', B: "'text'" },
            returnCodeMeaning: { success: '0,3' },
          },
          parallelism: 2,
          timeout: 60,
          defaultArguments: { env: 'prod' },
          restartable: true,
        },
      },
    },
  },
  { type: 'SlotsSet', at: AT + 2, slots: 8 },
  {
    type: 'OrderAdded',
    at: AT + 3,
    orderId: 'o-1',
    workflow: 'nightly',
    version: 2,
    arguments: { env: 'staging', emoji: '🚀', quote: '"\\\'' },
    priority: -5,
    scheduledFor: AT + 60_000,
  },
  { type: 'OrderMoved', at: AT + 4, orderId: 'o-1', to: [0, 'lock', 0, 'try+0', 0] },
  {
    type: 'OrderLocksQueued',
    at: AT + 5,
    orderId: 'o-1',
    demands: [{ lock: 'db[staging]', family: 'db', count: 2 }],
    waitUntil: AT + 10_000,
  },
  { type: 'OrderLocksAcquired', at: AT + 6, orderId: 'o-1', grants: [{ lock: 'db[staging]', count: 2, token: 17 }] },
  { type: 'OrderProcessingStarted', at: AT + 7, orderId: 'o-1', executionId: 'x-1', job: 'build' },
  {
    type: 'OrderProcessed',
    at: AT + 8,
    orderId: 'o-1',
    executionId: 'x-1',
    outcome: { type: 'failed', reason: 'returnCode', returnCode: 1, message: 'line1\nline2\u0000' },
  },
  { type: 'OrderRetryScheduled', at: AT + 9, orderId: 'o-1', until: AT + 1009, to: [0, 'lock', 0] },
  { type: 'OrderLocksReleased', at: AT + 10, orderId: 'o-1', locks: ['db[staging]'] },
  { type: 'OrderFinished', at: AT + 11, orderId: 'o-1', outcome: { type: 'succeeded' } },
  { type: 'OrderResumed', at: AT + 12, orderId: 'o-2', to: [1], asSucceeded: false },
  { type: 'OrderResumed', at: AT + 13, orderId: 'o-2' },
  { type: 'LockDeleted', at: Number.MAX_SAFE_INTEGER, name: 'gate' },
];

const snapshot = (seq: number): SnapshotRecord => ({ seq, state: JSON.stringify({ seq, orders: { a: [1, 2] } }), at: AT + seq });

const log = (orderId: string, executionId: string): StepLog => ({
  orderId,
  executionId,
  job: 'build',
  stdout: `out of ${executionId}\n✓`,
  stderr: '',
  stdoutDroppedBytes: 0,
  stderrDroppedBytes: 1024,
  at: AT,
});

/** `durable`: the store keeps its data across a reopen (the harness must then give `reopen`). */
export function journalContract(name: string, make: () => Promise<JournalHarness>, opts: { durable: boolean }): void {
  describe(`journal contract: ${name}`, () => {
    let h: JournalHarness;
    let store: JournalStore;
    let epoch: number;

    beforeEach(async () => {
      h = await make();
      store = h.store;
      epoch = await store.acquireWriter();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('fences appends by the writer epoch: a stale one writes nothing', async () => {
      expect(epoch).toBeGreaterThan(0);
      await expect(store.append([added('a')], epoch + 1)).rejects.toThrow(/epoch/);
      expect(await store.lastSeq()).toBe(0);
      expect(await store.append([added('a')], epoch)).toBe(1);
    });

    it('lets a follower wait for new events from its position', async () => {
      await store.append([added('a')], epoch);
      // Above the position already: at once.
      expect(await store.waitForAppend(0, 60_000)).toBe(1);
      // Nothing new: the wait ends at its timeout with the position as it is.
      expect(await store.waitForAppend(1, 1)).toBe(1);
      const waiting = store.waitForAppend(1, 60_000);
      await store.append([added('b'), added('c')], epoch);
      expect(await waiting).toBe(3);
      expect((await store.readAfter(1, 10)).map((e) => e.seq)).toEqual([2, 3]);
    });

    it('checks that it can be written', async () => {
      await store.checkWritable();
    });

    it('starts empty', async () => {
      expect(await store.lastSeq()).toBe(0);
      expect(await store.readAfter(0, 10)).toEqual([]);
      expect(await store.loadSnapshot()).toBeUndefined();
    });

    it('append returns consecutive seqs across calls', async () => {
      expect(await store.append([added('a'), added('b')], epoch)).toBe(1);
      expect(await store.append([added('c')], epoch)).toBe(3);
      expect(await store.append([added('d'), added('e'), added('f')], epoch)).toBe(4);
      expect(await store.lastSeq()).toBe(6);
      const read = await store.readAfter(0, 100);
      expect(read.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(read.map((s) => (s.event as { orderId: string }).orderId)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    });

    it('empty append writes nothing and returns lastSeq + 1', async () => {
      expect(await store.append([], epoch)).toBe(1);
      expect(await store.lastSeq()).toBe(0);
      await store.append([added('a'), added('b')], epoch);
      expect(await store.append([], epoch)).toBe(3);
      expect(await store.lastSeq()).toBe(2);
      expect(await store.readAfter(0, 100)).toHaveLength(2);
    });

    it('readAfter pages in order and honours limits', async () => {
      await store.append(Array.from({ length: 25 }, (_, i) => added(`o${i + 1}`)), epoch);
      const seqs = async (after: number, limit: number) => (await store.readAfter(after, limit)).map((s) => s.seq);
      expect(await seqs(0, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(await seqs(10, 10)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
      expect(await seqs(20, 10)).toEqual([21, 22, 23, 24, 25]);
      expect(await seqs(25, 10)).toEqual([]);
      expect(await seqs(100, 10)).toEqual([]);
      expect(await seqs(3, 1)).toEqual([4]);
      expect(await seqs(0, 0)).toEqual([]);
      const paged: number[] = [];
      for (let after = 0; ; ) {
        const page = await store.readAfter(after, 7);
        if (page.length === 0) break;
        paged.push(...page.map((s) => s.seq));
        after = page.at(-1)!.seq;
      }
      expect(paged).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    });

    it('readOrder filters by order and keeps the newest `limit`', async () => {
      await store.append([
        added('a'),
        { type: 'SlotsSet', at: AT, slots: 1 },
        added('b'),
        { type: 'OrderDequeued', at: AT, orderId: 'a' },
        { type: 'OrderJobQueued', at: AT, orderId: 'a', job: 'j' },
      ], epoch);
      await store.append([{ type: 'OrderCancelled', at: AT, orderId: 'b' }, { type: 'OrderDeleted', at: AT, orderId: 'a' }], epoch);
      const a = await store.readOrder('a', 100);
      expect(a.map((s) => s.seq)).toEqual([1, 4, 5, 7]);
      expect(a.map((s) => s.event.type)).toEqual(['OrderAdded', 'OrderDequeued', 'OrderJobQueued', 'OrderDeleted']);
      expect((await store.readOrder('a', 2)).map((s) => s.seq)).toEqual([5, 7]);
      expect((await store.readOrder('a', 4)).map((s) => s.seq)).toEqual([1, 4, 5, 7]);
      expect((await store.readOrder('b', 100)).map((s) => s.seq)).toEqual([3, 6]);
      expect(await store.readOrder('a', 0)).toEqual([]);
      expect(await store.readOrder('nobody', 10)).toEqual([]);
    });

    it('readOrder picks one order out of commits about several, also with look-alike ids', async () => {
      const ids = ['o1', 'o10', 'x"o1"', 'ö 1'];
      const ev = (orderId: string, priority: number): Event => ({ type: 'OrderPriorityChanged', at: AT, orderId, priority });
      // Interleaved in one commit, plus events about no order, then a commit about one order.
      await store.append([ev('o1', 1), ev('o10', 2), { type: 'LockDeleted', at: AT, name: 'o1' }, ev('x"o1"', 3), ev('o1', 4), ev('ö 1', 5)], epoch);
      await store.append([ev('o10', 6)], epoch);
      await store.append([ev('ö 1', 7), ev('o1', 8)], epoch);
      const check = async (s: JournalStore): Promise<void> => {
        const prio = async (id: string) => (await s.readOrder(id, 100)).map((x) => (x.event as { priority: number }).priority);
        expect(await prio('o1')).toEqual([1, 4, 8]);
        expect(await prio('o10')).toEqual([2, 6]);
        expect(await prio('x"o1"')).toEqual([3]);
        expect(await prio('ö 1')).toEqual([5, 7]);
        expect((await s.readOrder('o1', 2)).map((x) => x.seq)).toEqual([5, 9]);
        expect(await s.readOrder('o', 10)).toEqual([]);
        for (const id of ids) for (const x of await s.readOrder(id, 100)) expect((await s.readAfter(x.seq - 1, 1))[0]).toStrictEqual(x);
      };
      await check(store);
      // Again once a background indexer (the SQLite sidecar) has had time to index the rows.
      await new Promise((r) => setTimeout(r, 100));
      await check(store);
      if (h.reopen) await check(await h.reopen());
    });

    it('events round-trip exactly', async () => {
      const first = await store.append(SAMPLE_EVENTS, epoch);
      const read = await store.readAfter(0, 1000);
      expect(read).toStrictEqual(SAMPLE_EVENTS.map((event, i) => ({ seq: first + i, event })));
      const o1 = await store.readOrder('o-1', 1000);
      expect(o1.map((s) => s.event)).toStrictEqual(SAMPLE_EVENTS.filter((e) => 'orderId' in e && e.orderId === 'o-1'));
    });

    it('mutating an appended or read event does not change the journal', async () => {
      const e = {
        type: 'OrderAdded',
        at: AT,
        orderId: 'm',
        workflow: 'wf',
        version: 1,
        arguments: { k: 'v' },
        priority: 0,
      } satisfies Event;
      const original = structuredClone(e);
      const list: Event[] = [e];
      await store.append(list, epoch);
      e.arguments.k = 'changed';
      e.orderId = 'other';
      list.push(added('late'));

      const [read] = await store.readAfter(0, 10);
      expect(read).toStrictEqual({ seq: 1, event: original });
      expect(await store.lastSeq()).toBe(1);

      (read!.event as typeof e).arguments.k = 'changed again';
      expect((await store.readOrder('m', 10))[0]!.event).toStrictEqual(original);
    });

    it('saves snapshots and loads the newest', async () => {
      await store.saveSnapshot(snapshot(5));
      expect(await store.loadSnapshot()).toStrictEqual(snapshot(5));
      await store.saveSnapshot(snapshot(9));
      await store.saveSnapshot(snapshot(12));
      expect(await store.loadSnapshot()).toStrictEqual(snapshot(12));
    });

    it('puts logs and gets an order’s logs in order', async () => {
      await store.putLog(log('a', 'x1'));
      await store.putLog(log('b', 'x2'));
      await store.putLog(log('a', 'x3'));
      await store.putLog({ ...log('a', 'x0'), stdout: '', stderr: 'err', stdoutDroppedBytes: 7, at: AT - 1 });
      expect(await store.getLogs('a')).toStrictEqual([
        log('a', 'x1'),
        log('a', 'x3'),
        { ...log('a', 'x0'), stdout: '', stderr: 'err', stdoutDroppedBytes: 7, at: AT - 1 },
      ]);
      expect(await store.getLogs('b')).toStrictEqual([log('b', 'x2')]);
      expect(await store.getLogs('nobody')).toEqual([]);
    });

    it('gets, sets and overwrites meta', async () => {
      expect(await store.getMeta('engineId')).toBeUndefined();
      await store.setMeta('engineId', 'e-1');
      await store.setMeta('other', '');
      expect(await store.getMeta('engineId')).toBe('e-1');
      expect(await store.getMeta('other')).toBe('');
      await store.setMeta('engineId', 'e-2');
      expect(await store.getMeta('engineId')).toBe('e-2');
    });

    // A memory store has nothing to keep across a reopen: the case does not apply to it.
    if (opts.durable) it('keeps everything across a reopen', async () => {
      if (!h.reopen) throw new Error(`${name}: a durable store's harness must give reopen`);
      await store.append(SAMPLE_EVENTS, epoch);
      await store.append([added('z')], epoch);
      await store.saveSnapshot(snapshot(3));
      await store.putLog(log('o-1', 'x-1'));
      await store.setMeta('engineId', 'e-1');

      store = await h.reopen();
      epoch = await store.acquireWriter();
      const n = SAMPLE_EVENTS.length + 1;
      expect(await store.lastSeq()).toBe(n);
      expect((await store.readAfter(0, 1000)).map((s) => s.event)).toStrictEqual([...SAMPLE_EVENTS, added('z')]);
      expect((await store.readOrder('z', 10)).map((s) => s.seq)).toEqual([n]);
      expect(await store.loadSnapshot()).toStrictEqual(snapshot(3));
      expect(await store.getLogs('o-1')).toStrictEqual([log('o-1', 'x-1')]);
      expect(await store.getMeta('engineId')).toBe('e-1');
      expect(await store.append([added('y')], epoch)).toBe(n + 1);
    });
  });
}
