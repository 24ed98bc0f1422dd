// The SQLite journal (better-sqlite3). All work is synchronous inside; the async methods only
// satisfy the JournalStore interface. WAL lets other processes read while we write.

import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { orderIdOf, upcast, type Event, type Stamped } from '../core/events.js';
import { SqliteAuthStore } from './auth-sqlite.js';
import { LEGACY_TOKENS_KEY, LEGACY_USERS_KEY, type AuthStore } from './auth-store.js';
import type { SidecarData } from './sqlite-sidecar.js';
import { SIDE_INDEX_SEQ_KEY, SIDE_SCHEMA, sideFileOf } from './side-file.js';
import { AppendWaiters } from './append-waiters.js';
import { EMBEDDED_EPOCH, SNAPSHOTS_KEPT, StaleEpoch, type JournalStore, type SnapshotRecord, type StepLog, type SyncJournal } from './types.js';
import { orderIdsOf, orderNeedle } from './rows.js';
import { READ_GATE_BYTES, ReadGate, WalRestart } from './wal-restart.js';
import { WalRoom } from './wal-room.js';

/**
 * Append-only: never edit an entry that may have shipped, add a new one.
 * Entry i brings the schema to `PRAGMA user_version` i + 1.
 * src/journal/sqlite-schema.sql shows the result of all of them (a test keeps it in step).
 */
export const MIGRATIONS: readonly string[] = [
  `
-- Events in rows: seq is the first event's number, n how many, body their JSON array,
-- order_id set when every event of the row is about that order (rows.ts: one row per
-- commit; journals written before that hold one row per run of same-order events).
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  n INTEGER NOT NULL,
  order_id TEXT,
  body TEXT NOT NULL
);

-- Which rows of events are about which order, as first written here (complete up to meta
-- 'orderIndexSeq'). Read, no longer written: the order index lives in the side file.
CREATE TABLE order_events (
  order_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (order_id, seq)
) WITHOUT ROWID;

CREATE TABLE snapshots (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  state TEXT NOT NULL
);

CREATE TABLE step_logs (
  id INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL,
  execution_id TEXT NOT NULL,
  job TEXT NOT NULL,
  stdout TEXT NOT NULL,
  stderr TEXT NOT NULL,
  stdout_dropped INTEGER NOT NULL,
  stderr_dropped INTEGER NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX step_logs_order_id ON step_logs (order_id);

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
  `
-- Users and tokens of the HTTP API as rows (auth-sqlite.ts), moved from the JSON lists that
-- meta kept under 'auth.users' and 'auth.tokens' (a list that is not JSON fails the move, and
-- the journal does not open, as it did not before).
CREATE TABLE auth_users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  created TEXT NOT NULL,
  scrypt TEXT NOT NULL
);
CREATE TABLE auth_tokens (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  kind TEXT NOT NULL,
  created TEXT NOT NULL,
  expires TEXT,
  user_name TEXT
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_name) WHERE user_name IS NOT NULL;
INSERT INTO auth_users (name, role, created, scrypt)
  SELECT json_extract(value, '$.name'), json_extract(value, '$.role'), json_extract(value, '$.created'), json(json_extract(value, '$.scrypt'))
  FROM json_each(coalesce((SELECT value FROM meta WHERE key = '${LEGACY_USERS_KEY}'), '[]'));
INSERT INTO auth_tokens (id, hash, name, role, kind, created, expires, user_name)
  SELECT json_extract(value, '$.id'), json_extract(value, '$.hash'), json_extract(value, '$.name'), json_extract(value, '$.role'),
         json_extract(value, '$.kind'), json_extract(value, '$.created'), json_extract(value, '$.expires'), json_extract(value, '$.user')
  FROM json_each(coalesce((SELECT value FROM meta WHERE key = '${LEGACY_TOKENS_KEY}'), '[]'));
DELETE FROM meta WHERE key IN ('${LEGACY_USERS_KEY}', '${LEGACY_TOKENS_KEY}');
`,
];

/** Order index entries kept in memory before they are written (in the commit that reaches it). */
const INDEX_BATCH = 4096;
/** Up to where the main file's order_events (written before the side file existed) is complete. */
const LEGACY_INDEX_SEQ_KEY = 'orderIndexSeq';

/** The sidecar worker's module: built JS, or the TypeScript source under the tests (through tsx). */
function sidecarWorker(data: SidecarData): Worker {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const url = new URL('./sqlite-sidecar.ts', self).href;
    const boot = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(url)}, ${JSON.stringify(self)}));`;
    return new Worker(boot, { eval: true, workerData: { sidecar: data } });
  }
  return new Worker(fileURLToPath(new URL('./sqlite-sidecar.js', self)), { workerData: { sidecar: data } });
}

/** The WAL is truncated back to this size when it starts over (journal_size_limit). */
const WAL_LIMIT_BYTES = 64 * 1024 * 1024;
/**
 * The writer makes the WAL start over (wal-restart.ts) once SQLite's frames fill this much of
 * it: past the automatic checkpoint's 10,000 pages (~39 MiB), which usually restarts it first.
 * With the WAL room's at most 6 MiB ahead and the frames of the 32 commits between two looks,
 * the file stays under WAL_LIMIT_BYTES.
 */
export const WAL_RESTART_BYTES = 44 * 1024 * 1024;

export const SYNCHRONOUS_SETTINGS: readonly ('FULL' | 'NORMAL' | 'OFF')[] = ['FULL', 'NORMAL', 'OFF'];

export interface SqliteOptions {
  /** FULL (default) syncs every commit; NORMAL may lose the last commits on power loss, never corrupts. */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  /**
   * Who does the background work. `inline` (default): SQLite copies the WAL into the database
   * file inside the commit that crosses the threshold (a pause of tens of ms for that commit),
   * and the order index is written in batches inside commits. `worker` (what the engine uses):
   * the sidecar worker thread (sqlite-sidecar.ts) writes the order index and snapshots into the
   * side file and checkpoints the WAL every `checkpointIntervalMs` (50), off the engine's event
   * loop; the writer keeps a short checkpoint of its own every 10,000 pages so the WAL can
   * start over, and makes it start over itself past `walRestartBytes` (wal-restart.ts).
   */
  checkpoint?: 'inline' | 'worker';
  checkpointIntervalMs?: number;
  /**
   * With FULL and `worker` (the engine's own store): keep room ahead of SQLite in the WAL file
   * (wal-room.ts), so that each commit's fsync overwrites blocks instead of growing the file
   * (about half the fsync). Default true.
   */
  walRoom?: boolean;
  /** With `worker`: snapshots are written by the sidecar every max(this, 10 × orders) events (default 50,000). */
  snapshotEveryEvents?: number;
  /** The writer makes the WAL start over once its frames fill this many bytes (wal-restart.ts; default WAL_RESTART_BYTES). */
  walRestartBytes?: number;
}

interface EventRow {
  seq: number;
  n: number;
  body: string;
}

/** Expands stored rows into stamped events. */
function expand(rows: readonly EventRow[]): Stamped[] {
  const out: Stamped[] = [];
  for (const r of rows) {
    const events = JSON.parse(r.body) as unknown[];
    for (let i = 0; i < events.length; i++) out.push({ seq: r.seq + i, event: upcast(events[i]) });
  }
  return out;
}

interface LogRow {
  order_id: string;
  execution_id: string;
  job: string;
  stdout: string;
  stderr: string;
  stdout_dropped: number;
  stderr_dropped: number;
  at: number;
}

function migrate(db: Database.Database): void {
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  if (version() >= MIGRATIONS.length) {
    if (version() > MIGRATIONS.length) {
      throw new Error(`journal: ${db.name} has schema version ${version()}, newer than this Orderly knows (${MIGRATIONS.length})`);
    }
    return;
  }
  // IMMEDIATE, and re-read inside, so two processes opening a new file do not both migrate.
  db.transaction(() => {
    for (let v = version(); v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}

/** How often a follower waiting for new events looks for commits made by another process. */
const FOLLOW_POLL_MS = 25;
/** The meta key that `checkWritable` writes. */
const WRITE_CHECK_KEY = 'writeCheckAt';

export class SqliteStore implements JournalStore, SyncJournal {
  readonly kind = 'sqlite' as const;
  /** Users and tokens of the HTTP API. */
  readonly auth: AuthStore;

  private readonly maxSeq;
  private readonly insertEvent;
  private readonly selectAfter;
  private readonly selectOrder;
  private readonly insertSnapshot;
  private readonly trimSnapshots;
  private readonly selectSnapshot;
  private readonly insertLog;
  private readonly selectLogs;
  private readonly selectMeta;
  private readonly upsertMeta;
  private readonly selectSideMeta;
  private readonly upsertSideMeta;
  private readonly appendTx;
  private readonly insertIndex;
  private readonly selectUnindexed;
  /** [orderId, row seq] of rows not yet in the order index (inline indexing only). */
  private pendingIndex: [string, number][] = [];
  /** The store writes the order index itself (no sidecar, or the sidecar failed). */
  private inlineIndex = true;
  private indexedSeq = 0;
  private nextSeq = 1;
  private sidecar: Worker | undefined;
  private sidecarSnapshots = false;
  /** The engine's own store with synchronous FULL: keeps the WAL's commits overwriting existing blocks. */
  private room: WalRoom | undefined;
  /** Makes the WAL start over when readers keep SQLite from doing it (file journals). */
  private restart: WalRestart | undefined;
  /** While the sidecar runs: its reads of the journal wait for the RESTART checkpoint. */
  private sidecarGate: ReadGate | undefined;
  private readonly waiters: AppendWaiters;

  private constructor(
    private readonly db: Database.Database,
    readonly sideFile: string,
  ) {
    this.maxSeq = db.prepare<[], number>('SELECT coalesce(max(seq + n - 1), 0) FROM (SELECT seq, n FROM events ORDER BY seq DESC LIMIT 1)').pluck();
    this.insertEvent = db.prepare<[number, number, string | null, string]>(
      'INSERT INTO events (seq, n, order_id, body) VALUES (?, ?, ?, ?)',
    );
    // Starts at the row holding afterSeq (if any) so that a row split by afterSeq is included.
    this.selectAfter = db.prepare<[number, number], EventRow>(
      'SELECT seq, n, body FROM events WHERE seq >= coalesce((SELECT max(seq) FROM events WHERE seq <= ?), 0) ORDER BY seq LIMIT ?',
    );
    // The order's rows: the side file's index, the main file's index from before the side file
    // existed, and the rows not indexed yet (a short scan of the newest). A row is the order's
    // when its order_id says so, or when it is about several orders (NULL) and its text holds
    // the order's id (rows.ts; readOrder then keeps the order's own events). The same check in
    // the join makes an index entry that outlived its row (power loss) find nothing.
    this.selectOrder = db.prepare<[{ id: string; needle: string; limit: number }], EventRow>(
      `SELECT e.seq, e.n, e.body FROM events e JOIN (
         SELECT seq FROM (
           SELECT seq FROM side.order_events WHERE order_id = @id
           UNION SELECT seq FROM main.order_events WHERE order_id = @id
           UNION SELECT seq FROM events
             WHERE seq > coalesce((SELECT CAST(value AS INTEGER) FROM side.meta WHERE key = '${SIDE_INDEX_SEQ_KEY}'), 0)
               AND (order_id = @id OR (order_id IS NULL AND instr(body, @needle) > 0))
         ) ORDER BY seq DESC LIMIT @limit
       ) i ON e.seq = i.seq
       WHERE e.order_id = @id OR (e.order_id IS NULL AND instr(e.body, @needle) > 0)
       ORDER BY e.seq`,
    );
    this.insertIndex = db.prepare<[string, number]>('INSERT OR IGNORE INTO side.order_events (order_id, seq) VALUES (?, ?)');
    // Rows about several orders (order_id NULL) are listed under each of their orders; SQLite's
    // own JSON functions read their ids, much faster than parsing in JS.
    this.selectUnindexed = db.prepare<{ after: number }, { order_id: string; seq: number }>(
      `SELECT seq, order_id FROM events WHERE seq > @after AND order_id IS NOT NULL
       UNION
       SELECT e.seq, json_extract(j.value, '$.orderId') FROM events e, json_each(e.body) j
         WHERE e.seq > @after AND e.order_id IS NULL AND json_type(j.value, '$.orderId') = 'text'
       ORDER BY seq`,
    );
    this.insertSnapshot = db.prepare<[number, number, string]>('INSERT OR REPLACE INTO side.snapshots (seq, at, state) VALUES (?, ?, ?)');
    this.trimSnapshots = db.prepare<[number]>(
      'DELETE FROM side.snapshots WHERE seq NOT IN (SELECT seq FROM side.snapshots ORDER BY seq DESC LIMIT ?)',
    );
    // The newest snapshot: the side file's, or the main file's (from before the side file). Side
    // snapshots beyond the journal's end (power loss) are dropped at open (repairSide).
    this.selectSnapshot = db.prepare<[], SnapshotRecord>(
      `SELECT seq, at, state FROM (SELECT seq, at, state FROM side.snapshots UNION ALL SELECT seq, at, state FROM main.snapshots)
       ORDER BY seq DESC LIMIT 1`,
    );
    this.insertLog = db.prepare<[string, string, string, string, string, number, number, number]>(
      `INSERT INTO step_logs (order_id, execution_id, job, stdout, stderr, stdout_dropped, stderr_dropped, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.selectLogs = db.prepare<[string], LogRow>('SELECT * FROM step_logs WHERE order_id = ? ORDER BY id');
    this.selectMeta = db.prepare<[string], string>('SELECT value FROM main.meta WHERE key = ?').pluck();
    this.upsertMeta = db.prepare<[string, string]>(
      'INSERT INTO main.meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.selectSideMeta = db.prepare<[string], string>('SELECT value FROM side.meta WHERE key = ?').pluck();
    this.upsertSideMeta = db.prepare<[string, string]>(
      'INSERT INTO side.meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.appendTx = db.transaction((events: readonly Event[]): number => {
      // One writer per journal (the data dir's writer lock): the next seq is known without a
      // query. Were another writer to append, the INSERT would hit the primary key and fail.
      const first = this.nextSeq;
      // One row per commit (rows.ts): order_id when every event is about that one order.
      let id = orderIdOf(events[0]!);
      for (let i = 1; i < events.length && id !== undefined; i++) if (orderIdOf(events[i]!) !== id) id = undefined;
      this.insertEvent.run(first, events.length, id ?? null, JSON.stringify(events));
      if (this.inlineIndex) {
        if (id !== undefined) this.pendingIndex.push([id, first]);
        else for (const o of orderIdsOf(events)) this.pendingIndex.push([o, first]);
      }
      if (this.pendingIndex.length >= INDEX_BATCH) this.writeIndex(first + events.length - 1);
      return first;
    });
    this.auth = new SqliteAuthStore(db);
    const last = this.maxSeq.get()!;
    this.nextSeq = last + 1;
    this.waiters = new AppendWaiters(() => this.maxSeq.get()!, FOLLOW_POLL_MS);
    this.repairSide(last);
  }

  /** Makes the side file agree with the journal: created, started where the old index ended, nothing beyond the journal's end. */
  private repairSide(last: number): void {
    this.db.transaction(() => {
      const have = this.selectSideMeta.get(SIDE_INDEX_SEQ_KEY);
      let indexed = have === undefined ? Number(this.selectMeta.get(LEGACY_INDEX_SEQ_KEY) ?? 0) : Number(have);
      if (indexed > last) {
        // The side file kept what the journal lost (power loss with synchronous NORMAL).
        this.db.prepare('DELETE FROM side.order_events WHERE seq > ?').run(last);
        indexed = last;
      }
      this.db.prepare('DELETE FROM side.snapshots WHERE seq > ?').run(last);
      if (have === undefined || Number(have) !== indexed) this.upsertSideMeta.run(SIDE_INDEX_SEQ_KEY, String(indexed));
      this.indexedSeq = indexed;
    }).immediate();
  }

  /** Indexes, in this thread, what the sidecar did not (at open without one, or when it failed). */
  private indexInline(): void {
    this.inlineIndex = true;
    this.indexedSeq = Number(this.selectSideMeta.get(SIDE_INDEX_SEQ_KEY) ?? this.indexedSeq);
    for (const r of this.selectUnindexed.iterate({ after: this.indexedSeq })) this.pendingIndex.push([r.order_id, r.seq]);
    if (this.pendingIndex.length > 0) this.db.transaction(() => this.writeIndex(this.maxSeq.get()!)).immediate();
  }

  /** Writes the pending order index entries (inside the caller's transaction). */
  private writeIndex(upToSeq: number): void {
    for (const [id, seq] of this.pendingIndex) this.insertIndex.run(id, seq);
    this.pendingIndex = [];
    this.indexedSeq = upToSeq;
    this.upsertSideMeta.run(SIDE_INDEX_SEQ_KEY, String(upToSeq));
  }

  private flushIndex(): void {
    if (this.pendingIndex.length === 0 || !this.db.open) return;
    this.db.transaction(() => this.writeIndex(this.maxSeq.get()!)).immediate();
  }

  static open(file: string, opts: SqliteOptions = {}): SqliteStore {
    if (opts.synchronous !== undefined && !SYNCHRONOUS_SETTINGS.includes(opts.synchronous)) {
      throw new Error(`journal: synchronous must be one of ${SYNCHRONOUS_SETTINGS.join(', ')}, not ${String(opts.synchronous)}`);
    }
    const restartBytes = opts.walRestartBytes ?? WAL_RESTART_BYTES;
    if (!Number.isSafeInteger(restartBytes) || restartBytes <= 0) {
      throw new Error(`journal: walRestartBytes must be a positive whole number of bytes, not ${String(opts.walRestartBytes)}`);
    }
    const db = new Database(file, { timeout: 5000 });
    const sideFile = sideFileOf(file);
    let store: SqliteStore | undefined;
    try {
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
      // Checkpoint every 10,000 pages (~40 MB of WAL) instead of 1,000: fewer checkpoint pauses in
      // the append path. With the sidecar (which copies the WAL often, off the event loop) this
      // one finds almost every frame copied already, and it is what lets the WAL start over from
      // its beginning instead of growing for as long as commits keep coming. Rare, because even
      // a short checkpoint syncs the WAL and the database file inside that commit (5–40 ms
      // measured under load, against none in commits without one).
      db.pragma('wal_autocheckpoint = 10000');
      migrate(db);
      db.prepare('ATTACH DATABASE ? AS side').run(sideFile);
      if (sideFile !== ':memory:') db.pragma('side.journal_mode = WAL');
      // Derived data: a lost side write is redone from the journal.
      db.pragma('side.synchronous = NORMAL');
      db.exec(SIDE_SCHEMA);
      store = new SqliteStore(db, sideFile);
      if (file !== ':memory:') store.restart = new WalRestart(file, { restartBytes, restart: () => store!.checkpointRestart() });
      if (opts.checkpoint === 'worker' && sideFile !== ':memory:') store.startSidecar(file, opts);
      else store.indexInline();
      return store;
    } catch (err) {
      db.close();
      store?.room?.close();
      store?.restart?.close();
      throw err;
    }
  }

  /** The engine's own store: the sidecar does the background work, and with FULL the WAL room. */
  private startSidecar(file: string, opts: SqliteOptions): void {
    const db = this.db;
    this.inlineIndex = false;
    this.sidecarSnapshots = true;
    db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
    if ((opts.synchronous ?? 'FULL') === 'FULL' && opts.walRoom !== false) {
      // A write transaction on the journal that writes nothing: it holds the WAL's write lock
      // (and not the side file's, which BEGIN IMMEDIATE would take too).
      const takeLock = db.prepare('UPDATE main.meta SET value = value WHERE 0');
      const writeLocked = db.transaction((fn: () => void) => {
        takeLock.run();
        fn();
      });
      this.room = new WalRoom(file, { limitBytes: WAL_LIMIT_BYTES, writeLocked: (fn) => writeLocked(fn) });
      this.room.check();
    }
    const gate = new ReadGate(new SharedArrayBuffer(READ_GATE_BYTES));
    const w = sidecarWorker({
      file,
      gate: gate.shared,
      sideFile: this.sideFile,
      intervalMs: opts.checkpointIntervalMs ?? 50,
      snapshots: true,
      snapshotEveryEvents: opts.snapshotEveryEvents ?? 50_000,
    });
    this.sidecar = w;
    this.sidecarGate = gate;
    w.unref();
    // A sidecar that cannot run: the store does its work itself, as without one. Catching up
    // the index may fail too (a full disk): the entries then stay pending and are written by a
    // later commit; readOrder finds the rows by their text meanwhile.
    const fallBack = (): void => {
      if (this.sidecar !== w) return;
      this.sidecar = undefined;
      this.sidecarGate = undefined;
      this.sidecarSnapshots = false;
      void w.terminate();
      if (!db.open) return;
      try {
        this.indexInline();
      } catch {
        // written later (see above)
      }
    };
    w.on('message', (m: { t?: string }) => {
      if (m?.t === 'error') fallBack();
    });
    w.on('error', fallBack);
    w.on('exit', fallBack); // an exit we did not ask for (close() lets go of it first)
  }

  /** A RESTART checkpoint (wal-restart.ts): false when readers kept it waiting past the busy timeout. */
  private checkpointRestart(): boolean {
    const run = (): boolean => (this.db.pragma('wal_checkpoint(RESTART)') as { busy: number }[])[0]?.busy === 0;
    // The sidecar's statement in progress ends first (a read or its own checkpoint, a few ms);
    // the 5 s are only for a sidecar stuck in one, as the busy timeout is for other readers.
    return this.sidecarGate ? this.sidecarGate.closed(run, 5000) : run();
  }

  /** What makes the WAL start over, for a file journal (tests, diagnostics). */
  get walRestart(): WalRestart | undefined {
    return this.restart;
  }

  /** The WAL room, when this store keeps one (tests, diagnostics). */
  get walRoom(): WalRoom | undefined {
    return this.room;
  }

  /** True while the sidecar writes snapshots: the engine need not. */
  get backgroundSnapshots(): boolean {
    return this.sidecarSnapshots;
  }

  async acquireWriter(): Promise<number> {
    return EMBEDDED_EPOCH;
  }

  /** The synchronous append, for callers that must commit without yielding (group commit). */
  appendSync(events: readonly Event[], epoch: number = EMBEDDED_EPOCH): number {
    if (epoch !== EMBEDDED_EPOCH) throw new StaleEpoch(epoch, EMBEDDED_EPOCH);
    if (events.length === 0) return this.nextSeq;
    // DEFERRED, not IMMEDIATE: BEGIN IMMEDIATE takes the write lock of every attached
    // database, the side file's too, and would wait (1 ms and more) whenever the sidecar is
    // writing it. A deferred transaction locks only what it writes: the journal, which has
    // one writer (the data dir's writer lock).
    const first = this.appendTx(events);
    this.nextSeq = first + events.length;
    this.room?.afterCommit();
    this.restart?.afterCommit();
    this.waiters.appended(this.nextSeq - 1);
    return first;
  }

  async append(events: readonly Event[], epoch: number): Promise<number> {
    return this.appendSync(events, epoch);
  }

  async readAfter(afterSeq: number, limit: number): Promise<Stamped[]> {
    return this.readAfterSync(afterSeq, limit);
  }

  async waitForAppend(afterSeq: number, timeoutMs: number): Promise<number> {
    return this.waiters.wait(afterSeq, timeoutMs);
  }

  readAfterSync(afterSeq: number, limit: number): Stamped[] {
    if (limit <= 0) return []; // SQLite reads a negative LIMIT as "no limit"
    const out = expand(this.selectAfter.all(afterSeq, limit + 1)).filter((s) => s.seq > afterSeq);
    return out.length > limit ? out.slice(0, limit) : out;
  }

  async readOrder(orderId: string, limit: number): Promise<Stamped[]> {
    if (limit <= 0) return [];
    try {
      this.flushIndex();
    } catch {
      // Not writable now (a full disk): the rows not indexed yet are found by their text.
    }
    const out = expand(this.selectOrder.all({ id: orderId, needle: orderNeedle(orderId), limit })).filter((s) => orderIdOf(s.event) === orderId);
    return out.length > limit ? out.slice(out.length - limit) : out;
  }

  async lastSeq(): Promise<number> {
    return this.maxSeq.get()!;
  }

  async saveSnapshot(snapshot: SnapshotRecord): Promise<void> {
    this.db.transaction(() => {
      this.insertSnapshot.run(snapshot.seq, snapshot.at, snapshot.state);
      this.trimSnapshots.run(SNAPSHOTS_KEPT);
    }).immediate();
  }

  async loadSnapshot(): Promise<SnapshotRecord | undefined> {
    return this.loadSnapshotSync();
  }

  loadSnapshotSync(): SnapshotRecord | undefined {
    const row = this.selectSnapshot.get();
    return row && { seq: row.seq, state: row.state, at: row.at };
  }

  async putLog(log: StepLog): Promise<void> {
    this.insertLog.run(
      log.orderId,
      log.executionId,
      log.job,
      log.stdout,
      log.stderr,
      log.stdoutDroppedBytes,
      log.stderrDroppedBytes,
      log.at,
    );
  }

  async getLogs(orderId: string): Promise<StepLog[]> {
    return this.selectLogs.all(orderId).map((r) => ({
      orderId: r.order_id,
      executionId: r.execution_id,
      job: r.job,
      stdout: r.stdout,
      stderr: r.stderr,
      stdoutDroppedBytes: r.stdout_dropped,
      stderrDroppedBytes: r.stderr_dropped,
      at: r.at,
    }));
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.selectMeta.get(key);
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.upsertMeta.run(key, value);
  }

  async checkWritable(): Promise<void> {
    this.upsertMeta.run(WRITE_CHECK_KEY, String(Date.now()));
  }

  async close(): Promise<void> {
    this.waiters.close(this.nextSeq - 1);
    const w = this.sidecar;
    if (w) {
      this.sidecar = undefined;
      this.sidecarGate = undefined;
      this.sidecarSnapshots = false;
      // Referenced while it stops, so that the process does not end under our feet.
      w.ref();
      const exited = new Promise((r) => w.once('exit', r));
      w.postMessage('stop');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      await w.terminate();
    }
    try {
      this.flushIndex();
      if (this.db.open) this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Not writable (a full disk): the next open catches the index up and checkpoints.
    }
    if (this.db.open) this.db.close();
    this.room?.close();
    this.restart?.close();
  }
}
