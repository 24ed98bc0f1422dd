// Runs the journal contract against every store; a new store is one more journalContract call.

import { Buffer } from 'node:buffer';
import { closeSync, copyFileSync, fstatSync, openSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/journal/memory.js';
import { PostgresStore } from '../../src/journal/postgres.js';
import { MIGRATIONS, SqliteStore } from '../../src/journal/sqlite.js';
import { WAL_INDEX_HEADER_BYTES, WalRoom, walUsedBytes } from '../../src/journal/wal-room.js';
import type { JournalStore } from '../../src/journal/types.js';
import { dropSchema, TEST_DATABASE_URL, testSchemaName } from '../support/postgres.js';
import { journalContract, SAMPLE_EVENTS } from './journal.contract.js';

journalContract('memory', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
}, { durable: false });

journalContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orderly-journal-'));
  const file = join(dir, 'journal.db');
  let current: JournalStore = SqliteStore.open(file);
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = SqliteStore.open(file);
      return current;
    },
    cleanup: async () => {
      await current.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}, { durable: true });

// The machine's real PostgreSQL (test/support/postgres.ts), a schema of its own per test.
journalContract('postgres', async () => {
  const schema = testSchemaName();
  const open = () => PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema, node: 'contract' });
  let current: JournalStore = await open();
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = await open();
      return current;
    },
    cleanup: async () => {
      await current.close();
      await dropSchema(schema);
    },
  };
}, { durable: true });

/** What the WAL file stays under however long commits keep coming (docs/decisions.md, Durability). */
const WAL_BOUND_BYTES = 60 * 1024 * 1024;

describe('sqlite store', () => {
  const withDir = async (fn: (file: string) => Promise<void>) => {
    const dir = await mkdtemp(join(tmpdir(), 'orderly-journal-'));
    try {
      await fn(join(dir, 'journal.db'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  it('lets a second connection read while the first is open (WAL)', () =>
    withDir(async (file) => {
      const writer = SqliteStore.open(file);
      const reader = SqliteStore.open(file, { synchronous: 'NORMAL' });
      try {
        writer.appendSync(SAMPLE_EVENTS);
        expect(await reader.lastSeq()).toBe(SAMPLE_EVENTS.length);
        expect((await reader.readAfter(0, 1000)).map((s) => s.event)).toStrictEqual(SAMPLE_EVENTS);
      } finally {
        await reader.close();
        await writer.close();
      }
    }));

  it('keeps every order history when the process dies before the order index was written', () =>
    withDir(async (file) => {
      const crashed = SqliteStore.open(file);
      const mine = (i: number) => ({ type: 'OrderPriorityChanged' as const, at: i, orderId: `o${i % 3}`, priority: i });
      for (let i = 0; i < 50; i++) crashed.appendSync([mine(i)]);
      // No close: the index entries of these commits were only in the dead process's memory.
      const reopened = SqliteStore.open(file);
      try {
        const history = await reopened.readOrder('o1', 100);
        expect(history.map((s) => s.event)).toEqual(Array.from({ length: 50 }, (_, i) => mine(i)).filter((e) => e.orderId === 'o1'));
        expect(history.map((s) => s.seq)).toEqual(history.map((s) => s.seq).sort((a, b) => a - b));
      } finally {
        await reopened.close();
        await crashed.close(); // its late index write is ignored where rows are indexed already
      }
    }));

  it('checkpoints the WAL from the sidecar worker thread, off the writer, when asked to', () =>
    withDir(async (file) => {
      const store = SqliteStore.open(file, { checkpoint: 'worker', checkpointIntervalMs: 20 });
      try {
        const before = statSync(file).size;
        const big = 'x'.repeat(2000);
        for (let i = 0; i < 200; i++) store.appendSync([{ type: 'OrderDeleted', at: i, orderId: `o${i}-${big}` }]);
        // Only a checkpoint moves pages from the WAL into the database file; the writer's own
        // automatic checkpoint is off, so the worker's is the one that does it.
        // Looks until the worker's checkpoint came (it does in its own time; the test's timeout
        // is the safety net).
        while (statSync(file).size <= before + 200 * 2000) await new Promise((r) => setTimeout(r, 20));
        expect((await store.readAfter(0, 1000)).length).toBe(200);
      } finally {
        await store.close();
      }
    }));

  /**
   * Commits back to back (nothing else happens between them) until SQLite has started the WAL
   * over `times` times from at least `fromBytes` of frames; and the largest size of the WAL file
   * meanwhile. Counted, not timed: a WAL that does not start over fails once `capBytes` of
   * events were written.
   */
  const commitUntilStartedOver = (store: SqliteStore, file: string, opts: { times: number; fromBytes: number; eventBytes: number; capBytes: number }) => {
    const big = 'y'.repeat(opts.eventBytes);
    const commit = (i: number) => store.appendSync([{ type: 'OrderDeleted', at: i, orderId: `o${i}-${big}` }]);
    commit(0);
    const wal = openSync(`${file}-wal`, 'r');
    const shm = openSync(`${file}-shm`, 'r');
    try {
      // How far SQLite's frames reach: back near the start when it started the WAL over.
      const header = Buffer.alloc(WAL_INDEX_HEADER_BYTES);
      let used = walUsedBytes(shm, header)!;
      let largest = fstatSync(wal).size;
      let startedOver = 0;
      let written = 0;
      for (let i = 1; startedOver < opts.times && written < opts.capBytes; i++) {
        commit(i);
        written += opts.eventBytes;
        largest = Math.max(largest, fstatSync(wal).size);
        const now = walUsedBytes(shm, header)!;
        if (now < used && used >= opts.fromBytes) startedOver++;
        used = now;
      }
      return { startedOver, largest, written };
    } finally {
      closeSync(wal);
      closeSync(shm);
    }
  };

  it('makes the WAL start over at the size set, every time, while the sidecar reads behind commits that never stop', () =>
    withDir(async (file) => {
      // The engine's store (sidecar, FULL, WAL room), its sidecar looking for new rows every
      // 10 ms, the writer's restart set below SQLite's automatic checkpoint (10,000 pages).
      const restartBytes = 8 * 1024 * 1024;
      const store = SqliteStore.open(file, { checkpoint: 'worker', checkpointIntervalMs: 10, walRestartBytes: restartBytes });
      try {
        const run = commitUntilStartedOver(store, file, { times: 3, fromBytes: restartBytes, eventBytes: 16 * 1024, capBytes: 4 * 3 * restartBytes });
        expect(run.startedOver).toBe(3);
        // Each time at the writer's RESTART checkpoint. One that could not finish (the sidecar
        // mid-read longer than the gate waits, which depends on the machine's speed) is tried
        // again once the WAL has grown by another quarter of the restart size.
        const restart = store.walRestart!;
        expect(restart.checkpoints).toBeGreaterThanOrEqual(3);
        // The frames up to the restart size, the 32 commits (~20 KiB each) until the writer
        // looks again, and the WAL room's at most 6 MiB of zeros ahead of them; plus a quarter
        // of the restart size for each checkpoint that had to be tried again.
        expect(run.largest).toBeLessThan(restartBytes + 7 * 1024 * 1024 + restart.timedOut * (restartBytes / 4));
        expect(await store.lastSeq()).toBe(run.written / (16 * 1024) + 1);
      } finally {
        await store.close();
      }
    }));

  it('keeps the WAL under 60 MiB with the default sizes while commits never stop', () =>
    withDir(async (file) => {
      // NORMAL, so that the ~50 MB of commits cost no sync each; the bound is the same with
      // FULL (the WAL room adds at most 6 MiB, counted in the 60).
      const store = SqliteStore.open(file, { checkpoint: 'worker', checkpointIntervalMs: 10, synchronous: 'NORMAL' });
      try {
        const run = commitUntilStartedOver(store, file, { times: 1, fromBytes: 32 * 1024 * 1024, eventBytes: 16 * 1024, capBytes: 4 * WAL_BOUND_BYTES });
        expect(run.startedOver).toBe(1);
        expect(run.largest).toBeLessThan(WAL_BOUND_BYTES);
      } finally {
        await store.close();
      }
    }));

  it('with FULL keeps room ahead of SQLite in the WAL, and a journal copied mid-run (a crash) recovers every commit', () =>
    withDir(async (file) => {
      const store = SqliteStore.open(file, { checkpoint: 'worker' });
      const copy = join(dirname(file), 'copy.db');
      try {
        const room = store.walRoom!;
        expect(room).toBeDefined();
        // Grown at open already: the first commits overwrite zeros.
        expect(statSync(`${file}-wal`).size).toBeGreaterThanOrEqual(4 * 1024 * 1024);
        const big = 'z'.repeat(20_000);
        for (let i = 0; i < 1200; i++) store.appendSync([{ type: 'OrderDeleted', at: i, orderId: `o${i}-${big}` }]);
        // ~24 MB of commits: grown in steps, always ahead of what SQLite wrote.
        expect(room.grownBytes).toBeGreaterThan(16 * 1024 * 1024);
        // The files as a power cut would leave them: the WAL's valid frames, then zeros. Without
        // the -shm file SQLite rebuilds its index by reading the WAL until the first bad frame.
        copyFileSync(file, copy);
        copyFileSync(`${file}-wal`, `${copy}-wal`);
        const recovered = SqliteStore.open(copy, { synchronous: 'NORMAL' });
        try {
          expect(await recovered.lastSeq()).toBe(1200);
          const events = await recovered.readAfter(1190, 100);
          expect(events.map((s) => s.event.at)).toEqual([1190, 1191, 1192, 1193, 1194, 1195, 1196, 1197, 1198, 1199]);
        } finally {
          await recovered.close();
        }
        // And the original goes on.
        store.appendSync([{ type: 'OrderDeleted', at: 1200, orderId: 'last' }]);
        expect(await store.lastSeq()).toBe(1201);
      } finally {
        await store.close();
      }
      const reopened = SqliteStore.open(file, { checkpoint: 'worker' });
      try {
        expect(await reopened.lastSeq()).toBe(1201);
      } finally {
        await reopened.close();
      }
    }));

  it('keeps no WAL room with NORMAL (commits do not fsync) nor for other openers than the engine', () =>
    withDir(async (file) => {
      for (const opts of [{ synchronous: 'NORMAL' as const, checkpoint: 'worker' as const }, {}]) {
        const store = SqliteStore.open(file, opts);
        try {
          expect(store.walRoom).toBeUndefined();
        } finally {
          await store.close();
        }
      }
    }));

  it('grows the WAL only while holding its write lock, never over what SQLite wrote', () =>
    withDir(async (file) => {
      const db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE t (x)');
      db.prepare('INSERT INTO t VALUES (?)').run('a'.repeat(5000));
      const wal = `${file}-wal`;
      const written = statSync(wal).size;
      const sizes: [number, number][] = [];
      const room = new WalRoom(file, {
        limitBytes: 64 * 1024 * 1024,
        writeLocked: (fn) => {
          const before = statSync(wal).size;
          fn();
          sizes.push([before, statSync(wal).size]);
        },
      });
      try {
        room.check();
        expect(sizes).toEqual([[written, written + 4 * 1024 * 1024]]);
        // Enough room now: no lock taken, nothing written.
        room.check();
        expect(sizes).toHaveLength(1);
        // SQLite's frames before the zeros are intact.
        db.close();
        const again = new Database(file);
        expect(again.prepare('SELECT length(x) AS n FROM t').get()).toEqual({ n: 5000 });
        again.close();
      } finally {
        if (db.open) db.close();
        room.close();
      }
    }));

  it('writes one row per commit, and still reads journals written with one row per run of same-order events', () =>
    withDir(async (file) => {
      const ev = (orderId: string, priority: number) => ({ type: 'OrderPriorityChanged' as const, at: 1, orderId, priority });
      const old = SqliteStore.open(file);
      await old.close();
      // The earlier layout: a commit [a1, a2, b3, a4] as three rows, indexed by order.
      const db = new Database(file);
      const insert = db.prepare('INSERT INTO events (seq, n, order_id, body) VALUES (?, ?, ?, ?)');
      insert.run(1, 2, 'a', JSON.stringify([ev('a', 1), ev('a', 2)]));
      insert.run(3, 1, 'b', JSON.stringify([ev('b', 3)]));
      insert.run(4, 1, 'a', JSON.stringify([ev('a', 4)]));
      db.close();
      for (const opts of [{}, { checkpoint: 'worker' as const }]) {
        const store = SqliteStore.open(file, opts);
        try {
          expect(await store.lastSeq()).toBe(4 + (opts.checkpoint ? 3 : 0));
          if (!opts.checkpoint) {
            // New commits: one row each, order_id only when all events are about one order.
            store.appendSync([ev('a', 5), ev('b', 6)]);
            store.appendSync([ev('b', 7)]);
          }
          const prio = async (id: string) => (await store.readOrder(id, 100)).map((x) => (x.event as { priority: number }).priority);
          expect(await prio('a')).toEqual([1, 2, 4, 5]);
          expect(await prio('b')).toEqual([3, 6, 7]);
          expect((await store.readAfter(0, 100)).map((x) => x.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
        } finally {
          await store.close();
        }
      }
      const check = new Database(file, { readonly: true });
      expect(check.prepare('SELECT seq, n, order_id FROM events WHERE seq > 4 ORDER BY seq').all()).toEqual([
        { seq: 5, n: 2, order_id: null },
        { seq: 7, n: 1, order_id: 'b' },
      ]);
      check.close();
    }));

  it('works in memory', async () => {
    const store = SqliteStore.open(':memory:');
    expect(store.appendSync(SAMPLE_EVENTS)).toBe(1);
    expect(await store.lastSeq()).toBe(SAMPLE_EVENTS.length);
    await store.close();
  });

  it('refuses a journal from a newer schema', () =>
    withDir(async (file) => {
      await SqliteStore.open(file).close();
      const db = new Database(file);
      db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
      db.close();
      expect(() => SqliteStore.open(file)).toThrow(/newer/);
    }));

  it('sqlite-schema.sql matches the migrations', async () => {
    const schemaOf = (db: Database.Database): string[] =>
      db
        .prepare<[], string>("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY type, name")
        .pluck()
        .all()
        .map((sql) => sql.replace(/\s+/g, ' ').trim());
    const fromFile = new Database(':memory:');
    fromFile.exec(await readFile(new URL('../../src/journal/sqlite-schema.sql', import.meta.url), 'utf8'));
    const migrated = new Database(':memory:');
    for (const m of MIGRATIONS) migrated.exec(m);
    expect(schemaOf(fromFile)).toEqual(schemaOf(migrated));
    expect(schemaOf(migrated).length).toBeGreaterThan(0);
    fromFile.close();
    migrated.close();
  });
});
