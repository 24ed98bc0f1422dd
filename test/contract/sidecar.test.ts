// The SQLite journal's sidecar worker (src/journal/sqlite-sidecar.ts): the order index and the
// snapshots are written off the engine's thread into the side file, and the side file is
// repaired from the journal when it is behind, ahead of it, or lost.

import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { serializeState } from '../../src/core/state.js';
import { sideFileOf } from '../../src/journal/side-file.js';
import { SqliteStore } from '../../src/journal/sqlite.js';
import { loadState } from '../../src/runtime/engine.js';
import { createOrderly } from '../../src/node/library.js';
import { journalContract } from './journal.contract.js';

journalContract('sqlite with the sidecar', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orderly-sidecar-'));
  const file = join(dir, 'journal.sqlite');
  let current = SqliteStore.open(file, { checkpoint: 'worker', checkpointIntervalMs: 5 });
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = SqliteStore.open(file, { checkpoint: 'worker', checkpointIntervalMs: 5 });
      return current;
    },
    cleanup: async () => {
      await current.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}, { durable: true });

const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = await mkdtemp(join(tmpdir(), 'orderly-sidecar-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

/** Looks every 20 ms until `cond` holds: the sidecar's next turns come when the machine lets them (the test's timeout is the safety net). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

const FINISH = { locks: [], workflows: [{ name: 'w', instructions: [{ TYPE: 'Finish' as const }], jobs: {} }] };

describe('the sidecar', () => {
  it('writes the order index and snapshots into the side file; the state they give equals the live one', () =>
    withDir(async (dir) => {
      const o = await createOrderly({ dataDir: dir, snapshotEveryEvents: 200, endedOrdersKeptMax: 10 });
      const side = sideFileOf(join(dir, 'journal.sqlite'));
      expect(side).toBe(join(dir, 'journal-side.sqlite'));
      try {
        await o.deploy(FINISH);
        for (let i = 0; i < 300; i++) await o.addOrder({ workflow: 'w', id: `o${i}` });
        const seq = o.engine.state.seq;
        const peek = new Database(side, { readonly: true });
        try {
          const indexed = (): number => Number(peek.prepare("SELECT value FROM meta WHERE key = 'indexedSeq'").pluck().get() ?? 0);
          await until(() => indexed() >= seq);
          // Two rows: OrderAdded + OrderFinished in one commit, OrderDeleted (only 10 ended orders kept) in a later one.
          expect(peek.prepare("SELECT count(*) FROM order_events WHERE order_id = 'o7'").pluck().get()).toBe(2);
          await until(() => (peek.prepare('SELECT count(*) FROM snapshots').pluck().get() as number) > 0);
          const snapSeq = peek.prepare('SELECT max(seq) FROM snapshots').pluck().get() as number;
          expect(snapSeq).toBeGreaterThan(0);
          expect(snapSeq).toBeLessThanOrEqual(seq);
        } finally {
          peek.close();
        }
        // The main thread wrote no snapshot: every one is the sidecar's, made by replaying the journal.
        const store = o.engine.store;
        const fromJournal = await loadState(store);
        expect(serializeState(fromJournal)).toBe(serializeState(o.engine.state));
        expect((await store.readOrder('o7', 10)).map((s) => s.event.type)).toEqual(['OrderAdded', 'OrderFinished', 'OrderDeleted']);
      } finally {
        await o.close();
      }
    }));

  it('order histories include what the sidecar has not indexed yet', () =>
    withDir(async (dir) => {
      const file = join(dir, 'journal.sqlite');
      // A sidecar that (almost) never comes round: every read has to find the newest rows itself.
      const store = SqliteStore.open(file, { checkpoint: 'worker', checkpointIntervalMs: 60_000 });
      try {
        const ev = (i: number) => ({ type: 'OrderPriorityChanged' as const, at: i, orderId: `o${i % 3}`, priority: i });
        for (let i = 0; i < 30; i++) store.appendSync([ev(i)]);
        const h = await store.readOrder('o1', 100);
        expect(h.map((s) => s.event)).toEqual(Array.from({ length: 30 }, (_, i) => ev(i)).filter((e) => e.orderId === 'o1'));
        expect((await store.readOrder('o1', 2)).map((s) => (s.event as { priority: number }).priority)).toEqual([25, 28]);
      } finally {
        await store.close();
      }
    }));

  it('if the sidecar dies, the store indexes and the engine snapshots by themselves again', () =>
    withDir(async (dir) => {
      const store = SqliteStore.open(join(dir, 'journal.sqlite'), { checkpoint: 'worker', checkpointIntervalMs: 60_000 });
      try {
        expect(store.backgroundSnapshots).toBe(true);
        const ev = (i: number) => ({ type: 'OrderPriorityChanged' as const, at: i, orderId: `o${i % 2}`, priority: i });
        for (let i = 0; i < 10; i++) store.appendSync([ev(i)]);
        const sidecar = (store as unknown as { sidecar: Worker }).sidecar;
        const exited = new Promise((r) => sidecar.once('exit', r));
        await sidecar.terminate();
        await exited;
        expect(store.backgroundSnapshots).toBe(false);
        for (let i = 10; i < 20; i++) store.appendSync([ev(i)]);
        expect((await store.readOrder('o1', 100)).map((s) => s.seq)).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
      } finally {
        await store.close();
      }
    }));

  it('a journal from before the side file: its order index and snapshots are still read', () =>
    withDir(async (dir) => {
      const file = join(dir, 'journal.sqlite');
      const ev = (i: number) => ({ type: 'OrderPriorityChanged' as const, at: i, orderId: `o${i % 2}`, priority: i });
      const first = SqliteStore.open(file);
      for (let i = 0; i < 10; i++) first.appendSync([ev(i)]);
      await first.close();
      // Make it look as the previous version left it: index and snapshot in the main file, no side file.
      const raw = new Database(file);
      for (let seq = 1; seq <= 8; seq++) raw.prepare('INSERT INTO order_events (order_id, seq) VALUES (?, ?)').run(`o${(seq - 1) % 2}`, seq);
      raw.prepare("INSERT INTO meta (key, value) VALUES ('orderIndexSeq', '8')").run();
      raw.prepare('INSERT INTO snapshots (seq, at, state) VALUES (8, 1, ?)').run('{"legacy":true}');
      raw.close();
      for (const f of [sideFileOf(file), `${sideFileOf(file)}-wal`, `${sideFileOf(file)}-shm`]) if (existsSync(f)) rmSync(f);
      const store = SqliteStore.open(file, { checkpoint: 'worker', checkpointIntervalMs: 60_000 });
      try {
        expect(await store.loadSnapshot()).toEqual({ seq: 8, at: 1, state: '{"legacy":true}' });
        // 1–8 from the old index, 9–10 from the journal's newest rows, 11–12 new.
        for (let i = 10; i < 12; i++) store.appendSync([ev(i)]);
        expect((await store.readOrder('o0', 100)).map((s) => s.seq)).toEqual([1, 3, 5, 7, 9, 11]);
        expect((await store.readOrder('o1', 100)).map((s) => s.seq)).toEqual([2, 4, 6, 8, 10, 12]);
        await store.saveSnapshot({ seq: 12, at: 2, state: '{"new":true}' });
        expect((await store.loadSnapshot())?.seq).toBe(12);
      } finally {
        await store.close();
      }
    }));

  it('the sidecar reads the newest snapshot only once a snapshot can come due, not at start', () =>
    withDir(async (dir) => {
      const file = join(dir, 'journal.sqlite');
      const ev = (i: number) => ({ type: 'OrderPriorityChanged' as const, at: i, orderId: `o${i % 2}`, priority: i });
      const first = SqliteStore.open(file);
      for (let i = 0; i < 10; i++) first.appendSync([ev(i)]);
      // A snapshot the sidecar cannot read: were it parsed at start, the sidecar would stop there.
      await first.saveSnapshot({ seq: 10, at: 1, state: '{"unreadable":true}' });
      await first.close();
      const store = SqliteStore.open(file, { checkpoint: 'worker', checkpointIntervalMs: 5, snapshotEveryEvents: 20 });
      const side = new Database(sideFileOf(file), { readonly: true });
      const indexed = (): number => Number(side.prepare("SELECT value FROM meta WHERE key = 'indexedSeq'").pluck().get() ?? 0);
      try {
        // Fewer events than a snapshot's spacing: the sidecar indexes them and goes on running.
        for (let i = 10; i < 25; i++) store.appendSync([ev(i)]);
        await until(() => indexed() >= 25);
        expect(store.backgroundSnapshots).toBe(true);
        // A snapshot comes due: now the sidecar reads the newest one, fails on it, and the store
        // takes the work back (as with any sidecar that cannot go on).
        for (let i = 25; i < 40; i++) store.appendSync([ev(i)]);
        await until(() => !store.backgroundSnapshots);
        expect((await store.readOrder('o1', 100)).map((s) => s.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i + 2));
      } finally {
        side.close();
        await store.close();
      }
    }));

  it('a side file ahead of the journal (lost commits) or lost altogether is repaired on open', () =>
    withDir(async (dir) => {
      const file = join(dir, 'journal.sqlite');
      const ev = (i: number, id: string) => ({ type: 'OrderPriorityChanged' as const, at: i, orderId: id, priority: i });
      const first = SqliteStore.open(file);
      for (let i = 0; i < 20; i++) first.appendSync([ev(i, `a${i % 2}`)]);
      await first.saveSnapshot({ seq: 20, at: 1, state: '{}' });
      await first.readOrder('a0', 100); // indexes everything (inline)
      await first.close();
      // The journal loses its last 10 commits (as after a power loss); the side file kept them.
      const raw = new Database(file);
      raw.prepare('DELETE FROM events WHERE seq > 10').run();
      raw.close();
      const second = SqliteStore.open(file);
      try {
        expect(await second.lastSeq()).toBe(10);
        expect(await second.loadSnapshot()).toBeUndefined(); // the snapshot at 20 described lost events
        // New events take the lost seqs; a0's history must not pick up b's events at those seqs.
        for (let i = 10; i < 20; i++) second.appendSync([ev(i, 'b')]);
        expect((await second.readOrder('a0', 100)).map((s) => s.seq)).toEqual([1, 3, 5, 7, 9]);
        expect((await second.readOrder('b', 100)).map((s) => s.seq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
      } finally {
        await second.close();
      }
      // Without the side file the index is rebuilt from the journal.
      rmSync(sideFileOf(file));
      for (const suffix of ['-wal', '-shm']) if (existsSync(sideFileOf(file) + suffix)) rmSync(sideFileOf(file) + suffix);
      const third = SqliteStore.open(file);
      try {
        expect((await third.readOrder('a1', 100)).map((s) => s.seq)).toEqual([2, 4, 6, 8, 10]);
        expect((await third.readOrder('b', 3)).map((s) => s.seq)).toEqual([18, 19, 20]);
      } finally {
        await third.close();
      }
    }));
});
