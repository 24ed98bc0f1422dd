// A journal store that commits asynchronously and fails on demand, for the engine's contract
// tests and the engine simulator. It keeps its events in a MemoryStore, but offers none of the
// synchronous methods (SyncJournal), so the engine treats it like a remote database: a commit
// takes a trip through the event loop, and readers must not see it before it is done.
//
// Faults, each for the next appends:
// - `hold()`: appends wait until `release()` (a slow store, as slow as the test wants);
// - `failNext(n, err)`: the next n appends fail and write nothing (a full disk);
// - `tearNext(n)`: the next n appends are written but report a failure (the answer lost on its
//   way: the writer cannot tell whether it committed);
// - `failWrites(err)`: every append and checkWritable fails until `heal()`.

import type { Event, Stamped } from '../../src/core/events.js';
import { MemoryStore } from '../../src/journal/memory.js';
import type { JournalStore, SnapshotRecord, StepLog } from '../../src/journal/types.js';

export class DiskFull extends Error {
  override name = 'DiskFull';
  readonly code = 'SQLITE_FULL';
  constructor() {
    super('database or disk is full');
  }
}

export class FaultStore implements JournalStore {
  readonly kind = 'memory' as const;
  readonly inner = new MemoryStore();
  /** Users and tokens: the inner store's (no faults). */
  readonly auth = this.inner.auth;
  private failCount = 0;
  private tearCount = 0;
  private failing: Error | undefined;
  private failWith: Error = new DiskFull();
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  /** Appends asked for (held ones included), and how many of them wrote. */
  appendsAsked = 0;
  appendsWritten = 0;
  /** Called at the start of each append with its events (tests watch what is in flight). */
  onAppend: ((events: readonly Event[]) => void) | undefined;

  hold(): void {
    if (this.gate) return;
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    const open = this.openGate;
    this.gate = undefined;
    this.openGate = undefined;
    open?.();
  }

  failNext(n: number, err: Error = new DiskFull()): void {
    this.failCount = n;
    this.failWith = err;
  }

  tearNext(n: number): void {
    this.tearCount = n;
  }

  failWrites(err: Error = new DiskFull()): void {
    this.failing = err;
  }

  heal(): void {
    this.failing = undefined;
  }

  acquireWriter(): Promise<number> {
    return this.inner.acquireWriter();
  }

  async append(events: readonly Event[], epoch: number): Promise<number> {
    this.appendsAsked++;
    this.onAppend?.(events);
    // Always a trip through the event loop, as with a database on the network.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.gate) await this.gate;
    if (this.failing) throw this.failing;
    if (this.failCount > 0) {
      this.failCount--;
      throw this.failWith;
    }
    const first = await this.inner.append(events, epoch);
    this.appendsWritten++;
    if (this.tearCount > 0 && events.length > 0) {
      this.tearCount--;
      throw new Error('connection lost before the commit was confirmed');
    }
    return first;
  }

  readAfter(afterSeq: number, limit: number): Promise<Stamped[]> {
    return this.inner.readAfter(afterSeq, limit);
  }

  waitForAppend(afterSeq: number, timeoutMs: number): Promise<number> {
    return this.inner.waitForAppend(afterSeq, timeoutMs);
  }

  readOrder(orderId: string, limit: number): Promise<Stamped[]> {
    return this.inner.readOrder(orderId, limit);
  }

  lastSeq(): Promise<number> {
    return this.inner.lastSeq();
  }

  async saveSnapshot(snapshot: SnapshotRecord): Promise<void> {
    if (this.failing) throw this.failing;
    return this.inner.saveSnapshot(snapshot);
  }

  loadSnapshot(): Promise<SnapshotRecord | undefined> {
    return this.inner.loadSnapshot();
  }

  async putLog(log: StepLog): Promise<void> {
    if (this.failing) throw this.failing;
    return this.inner.putLog(log);
  }

  getLogs(orderId: string): Promise<StepLog[]> {
    return this.inner.getLogs(orderId);
  }

  getMeta(key: string): Promise<string | undefined> {
    return this.inner.getMeta(key);
  }

  async setMeta(key: string, value: string): Promise<void> {
    if (this.failing) throw this.failing;
    return this.inner.setMeta(key, value);
  }

  async checkWritable(): Promise<void> {
    if (this.failing) throw this.failing;
  }

  close(): Promise<void> {
    this.release();
    return this.inner.close();
  }
}

/** A memory store (synchronous, like SQLite) whose writes fail while `failWrites` is set. */
export class FailingMemoryStore extends MemoryStore {
  private failing: Error | undefined;

  failWrites(err: Error = new DiskFull()): void {
    this.failing = err;
  }

  heal(): void {
    this.failing = undefined;
  }

  override appendSync(events: readonly Event[], epoch: number): number {
    if (this.failing && events.length > 0) throw this.failing;
    return super.appendSync(events, epoch);
  }

  override async checkWritable(): Promise<void> {
    if (this.failing) throw this.failing;
    return super.checkWritable();
  }
}
