// A wait queue ordered by (priority desc, arrival asc), O(1) amortised for the common
// operations: append at the back, look at the head, remove anyone (lazy deletion).
// Used for each lock instance's waiters and each job's waiters.

interface Entry {
  readonly orderId: string;
  readonly priority: number;
  readonly arrival: number;
  live: boolean;
}

class Bucket {
  items: Entry[] = [];
  head = 0;

  insert(e: Entry): void {
    const items = this.items;
    const last = items[items.length - 1];
    if (last === undefined || last.arrival < e.arrival) {
      items.push(e);
      return;
    }
    // Re-inserted with an old arrival (priority change): binary search among live slots.
    let lo = this.head;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (items[mid]!.arrival < e.arrival) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, e);
  }

  /** First live entry, dropping dead ones in front. */
  first(): Entry | undefined {
    const items = this.items;
    while (this.head < items.length && !items[this.head]!.live) this.head++;
    if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
    return this.items[this.head];
  }
}

export class WaitQueue {
  private readonly buckets = new Map<number, Bucket>();
  /** Priorities present, highest first. */
  private priorities: number[] = [];
  /**
   * Live entries by order id, built when first needed: a queue filled by `append` (rebuilding
   * the state from a snapshot, 100,000 waiters and more) has none until a waiter is looked up
   * by id. Taking the head out of line needs none either.
   */
  private index: Map<string, Entry> | undefined;
  private live = 0;

  get size(): number {
    return this.live;
  }

  has(orderId: string): boolean {
    return this.byOrder().has(orderId);
  }

  add(orderId: string, priority: number, arrival: number): void {
    if (this.byOrder().has(orderId)) this.remove(orderId);
    this.append(orderId, priority, arrival);
  }

  /** `add` for an order known not to be in the queue (rebuilding it): no lookup by id. */
  append(orderId: string, priority: number, arrival: number): void {
    const e: Entry = { orderId, priority, arrival, live: true };
    let b = this.buckets.get(priority);
    if (!b) {
      b = new Bucket();
      this.buckets.set(priority, b);
      let i = 0;
      while (i < this.priorities.length && this.priorities[i]! > priority) i++;
      this.priorities.splice(i, 0, priority);
    }
    b.insert(e);
    this.index?.set(orderId, e);
    this.live++;
  }

  remove(orderId: string): boolean {
    if (!this.index) {
      // The head leaves (a grant) without building the index.
      const head = this.first();
      if (head?.orderId === orderId) {
        head.live = false;
        this.live--;
        return true;
      }
    }
    const index = this.byOrder();
    const e = index.get(orderId);
    if (!e) return false;
    e.live = false;
    index.delete(orderId);
    this.live--;
    return true;
  }

  private byOrder(): Map<string, Entry> {
    if (this.index) return this.index;
    const index = new Map<string, Entry>();
    for (const b of this.buckets.values()) {
      for (let i = b.head; i < b.items.length; i++) {
        const e = b.items[i]!;
        if (e.live) index.set(e.orderId, e);
      }
    }
    this.index = index;
    return index;
  }

  /** The order first in line, if any. */
  head(): string | undefined {
    return this.headEntry()?.orderId;
  }

  headEntry(): { orderId: string; priority: number; arrival: number } | undefined {
    return this.first();
  }

  private first(): Entry | undefined {
    if (this.live === 0) return undefined;
    for (let i = 0; i < this.priorities.length; ) {
      const p = this.priorities[i]!;
      const b = this.buckets.get(p)!;
      const e = b.first();
      if (e) return e;
      this.buckets.delete(p);
      this.priorities.splice(i, 1);
    }
    return undefined;
  }

  /** Live order ids in line order. O(n): for greedy scans and for showing the queue. */
  *inOrder(): Generator<string> {
    for (const p of [...this.priorities]) {
      const b = this.buckets.get(p);
      if (!b) continue;
      const items = b.items;
      for (let i = b.head; i < items.length; i++) {
        const e = items[i]!;
        if (e.live) yield e.orderId;
      }
    }
  }
}
