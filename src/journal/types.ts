// The journal: an append-only list of events plus snapshots, and the logs kept with orders.
// The runtime owns these interfaces; each store (memory, SQLite, later PostgreSQL) implements
// them and passes the one contract suite in test/contract/.
//
// A store is four parts with nothing in common but the place they live in: the event journal
// (the truth), snapshots (derived from it), execution logs and small meta settings. A store for
// another database implements each part in its own shapes; `JournalStore` is their union.

import type { Event, Stamped } from '../core/events.js';
import type { AuthStore } from './auth-store.js';

/** Every store keeps this many of the newest snapshots. */
export const SNAPSHOTS_KEPT = 2;

/** The epoch of an embedded store's one writer (the data dir's writer lock keeps it alone). */
export const EMBEDDED_EPOCH = 1;

export interface SnapshotRecord {
  /** The state is the result of applying every event with seq ≤ this. */
  seq: number;
  /** The core's serialized state (JSON text). */
  state: string;
  at: number;
}

/** Output of one job execution, bounded, kept with the order. */
export interface StepLog {
  orderId: string;
  executionId: string;
  job: string;
  stdout: string;
  stderr: string;
  /** Bytes dropped from the front of each stream to keep the bounds. */
  stdoutDroppedBytes: number;
  stderrDroppedBytes: number;
  at: number;
}

/** An append carried an epoch that is not the current writer's: that writer was deposed and may write nothing. */
export class StaleEpoch extends Error {
  override name = 'StaleEpoch';
  constructor(
    readonly epoch: number,
    readonly current: number,
  ) {
    super(`journal: writer epoch ${epoch} is not the current one (${current}); this writer was replaced`);
  }
}

/** The event journal: the one truth. Appended by one writer at a time, followed by any number of readers. */
export interface EventJournal {
  /**
   * Makes the caller the journal's writer and returns its epoch, which every `append` carries.
   * Stores with one writer by construction (memory, SQLite under the writer lock) return
   * EMBEDDED_EPOCH every time; a shared store gives each new writer a higher epoch.
   */
  acquireWriter(): Promise<number>;
  /**
   * Appends the events in order as ONE durable transaction (group commit); returns the seq of
   * the first. Empty → returns lastSeq + 1 and writes nothing. Rejects with StaleEpoch (and
   * writes nothing) when `epoch` is not the current writer's.
   */
  append(events: readonly Event[], epoch: number): Promise<number>;
  /** Events with seq > afterSeq, in order, at most `limit`. A follower reads on from its position. */
  readAfter(afterSeq: number, limit: number): Promise<Stamped[]>;
  /**
   * Resolves with lastSeq once it is above `afterSeq` (at once if it is), or after `timeoutMs`
   * with lastSeq as it is then. A follower's wait for new events, without reading them.
   */
  waitForAppend(afterSeq: number, timeoutMs: number): Promise<number>;
  /** Events about one order, in order, at most `limit` (newest kept when over). */
  readOrder(orderId: string, limit: number): Promise<Stamped[]>;
  /** Highest seq written, 0 when empty. */
  lastSeq(): Promise<number>;
}

/**
 * A journal that commits inside the call (SQLite, memory). The engine then needs no second
 * copy of the state for readers: nothing can read between its decision and the commit. It
 * also reads synchronously, so that after a failed commit the engine rebuilds its state
 * before anything else runs.
 */
export interface SyncJournal {
  appendSync(events: readonly Event[], epoch: number): number;
  readAfterSync(afterSeq: number, limit: number): Stamped[];
  loadSnapshotSync(): SnapshotRecord | undefined;
}

export function isSyncJournal(store: object): store is SyncJournal {
  const s = store as Partial<SyncJournal>;
  return typeof s.appendSync === 'function' && typeof s.readAfterSync === 'function' && typeof s.loadSnapshotSync === 'function';
}

/** Snapshots of the state, derived from the journal (a store may write them by itself). */
export interface SnapshotStore {
  saveSnapshot(snapshot: SnapshotRecord): Promise<void>;
  /** True while the store writes snapshots by itself (off the engine's thread): the engine then writes none but its last, at close. */
  readonly backgroundSnapshots?: boolean;
  /** The newest snapshot, if any. */
  loadSnapshot(): Promise<SnapshotRecord | undefined>;
}

/** Output of job executions, kept with their orders. */
export interface LogStore {
  putLog(log: StepLog): Promise<void>;
  /** Logs of an order's executions, oldest first. */
  getLogs(orderId: string): Promise<StepLog[]>;
}

/** Small key/value settings of the data dir (engine id, …). */
export interface MetaStore {
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  /**
   * Writes a little and resolves when it was durable, or rejects with why not (a full disk):
   * the engine's test, while it refuses commands, of whether writing works again.
   */
  checkWritable(): Promise<void>;
}

export interface JournalStore extends EventJournal, SnapshotStore, LogStore, MetaStore {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /** Users and tokens of the HTTP API, as rows: a fifth part (auth-store.ts). */
  readonly auth: AuthStore;
  close(): Promise<void>;
}
