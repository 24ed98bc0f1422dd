// The journal: an append-only list of events plus snapshots, and the logs kept with orders.
// The runtime owns this interface; each store (memory, SQLite, later PostgreSQL) implements it
// and passes the one contract suite in test/contract/.

import type { Event, Stamped } from '../core/events.js';

/** Every store keeps this many of the newest snapshots. */
export const SNAPSHOTS_KEPT = 2;

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

export interface JournalStore {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /** Appends the events in order as ONE durable transaction (group commit); returns the seq of the first. Empty → returns lastSeq + 1 and writes nothing. */
  append(events: readonly Event[]): Promise<number>;
  /** Events with seq > afterSeq, in order, at most `limit`. */
  readAfter(afterSeq: number, limit: number): Promise<Stamped[]>;
  /** Events about one order, in order, at most `limit` (newest kept when over). */
  readOrder(orderId: string, limit: number): Promise<Stamped[]>;
  /** Highest seq written, 0 when empty. */
  lastSeq(): Promise<number>;
  saveSnapshot(snapshot: SnapshotRecord): Promise<void>;
  /** True while the store writes snapshots by itself (off the engine's thread): the engine then writes none but its last, at close. */
  readonly backgroundSnapshots?: boolean;
  /** The newest snapshot, if any. */
  loadSnapshot(): Promise<SnapshotRecord | undefined>;
  putLog(log: StepLog): Promise<void>;
  /** Logs of an order's executions, oldest first. */
  getLogs(orderId: string): Promise<StepLog[]>;
  /** Small key/value settings of the data dir (engine id, …). */
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}
