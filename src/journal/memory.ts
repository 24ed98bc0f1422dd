// An in-memory journal for tests and throwaway runs. Events are kept as JSON text, exactly as
// the SQLite store keeps them, so both round-trip the same way and nobody shares objects with us.

import { orderIdOf, upcast, type Event, type Stamped } from '../core/events.js';
import { AppendWaiters } from './append-waiters.js';
import { MemoryAuthStore, type AuthStore } from './auth-store.js';
import { EMBEDDED_EPOCH, SNAPSHOTS_KEPT, StaleEpoch, type JournalStore, type SnapshotRecord, type StepLog, type SyncJournal } from './types.js';

export class MemoryStore implements JournalStore, SyncJournal {
  readonly kind = 'memory' as const;
  readonly auth: AuthStore = new MemoryAuthStore();
  /** bodies[i] is the event with seq i + 1. */
  private readonly bodies: string[] = [];
  private readonly byOrder = new Map<string, number[]>();
  private snapshots: SnapshotRecord[] = [];
  private readonly logs: StepLog[] = [];
  private readonly meta = new Map<string, string>();
  private closed = false;
  private readonly waiters = new AppendWaiters(() => this.bodies.length);

  async acquireWriter(): Promise<number> {
    this.check();
    return EMBEDDED_EPOCH;
  }

  async append(events: readonly Event[], epoch: number): Promise<number> {
    return this.appendSync(events, epoch);
  }

  appendSync(events: readonly Event[], epoch: number): number {
    this.check();
    if (epoch !== EMBEDDED_EPOCH) throw new StaleEpoch(epoch, EMBEDDED_EPOCH);
    const first = this.bodies.length + 1;
    // Serialize everything first so a bad event leaves the journal untouched (one transaction).
    const bodies = events.map((e) => JSON.stringify(e));
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const seq = first + i;
      this.bodies.push(bodies[i]!);
      const orderId = orderIdOf(e);
      if (orderId !== undefined) {
        let seqs = this.byOrder.get(orderId);
        if (!seqs) this.byOrder.set(orderId, (seqs = []));
        seqs.push(seq);
      }
    }
    if (events.length > 0) this.waiters.appended(this.bodies.length);
    return first;
  }

  async readAfter(afterSeq: number, limit: number): Promise<Stamped[]> {
    return this.readAfterSync(afterSeq, limit);
  }

  readAfterSync(afterSeq: number, limit: number): Stamped[] {
    this.check();
    if (limit <= 0) return [];
    const from = Math.max(0, afterSeq);
    return this.bodies.slice(from, from + limit).map((body, i) => this.stamp(from + i + 1, body));
  }

  async waitForAppend(afterSeq: number, timeoutMs: number): Promise<number> {
    this.check();
    return this.waiters.wait(afterSeq, timeoutMs);
  }

  async readOrder(orderId: string, limit: number): Promise<Stamped[]> {
    this.check();
    if (limit <= 0) return [];
    const seqs = this.byOrder.get(orderId) ?? [];
    return seqs.slice(-limit).map((seq) => this.stamp(seq, this.bodies[seq - 1]!));
  }

  async lastSeq(): Promise<number> {
    this.check();
    return this.bodies.length;
  }

  async saveSnapshot(snapshot: SnapshotRecord): Promise<void> {
    this.check();
    const kept = this.snapshots.filter((s) => s.seq !== snapshot.seq);
    kept.push({ seq: snapshot.seq, state: snapshot.state, at: snapshot.at });
    kept.sort((a, b) => a.seq - b.seq);
    this.snapshots = kept.slice(-SNAPSHOTS_KEPT);
  }

  async loadSnapshot(): Promise<SnapshotRecord | undefined> {
    return this.loadSnapshotSync();
  }

  loadSnapshotSync(): SnapshotRecord | undefined {
    this.check();
    const s = this.snapshots.at(-1);
    return s && { ...s };
  }

  async putLog(log: StepLog): Promise<void> {
    this.check();
    this.logs.push({ ...log });
  }

  async getLogs(orderId: string): Promise<StepLog[]> {
    this.check();
    return this.logs.filter((l) => l.orderId === orderId).map((l) => ({ ...l }));
  }

  async getMeta(key: string): Promise<string | undefined> {
    this.check();
    return this.meta.get(key);
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.check();
    this.meta.set(key, value);
  }

  async checkWritable(): Promise<void> {
    this.check();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiters.close(this.bodies.length);
  }

  private stamp(seq: number, body: string): Stamped {
    return { seq, event: upcast(JSON.parse(body)) };
  }

  private check(): void {
    if (this.closed) throw new Error('journal: memory store is closed');
  }
}
