// Orders sorted by id, for listing a page at a time: a page costs the same with 100 or 100,000
// orders in memory. B+ trees (sorted-btree) of order ids: all of them, and per state, per
// workflow and per (workflow, state), so that a filtered page visits only matching orders.
// Kept current from the committed events (every event about an order names it).
//
// Built when first asked for, not when the engine opens: with 100,000 orders in a reopened
// data dir the trees take a few hundred ms to fill one id at a time, which the open does not
// wait for. They are filled in bulk (one sort of the ids, then sorted-btree's bulk load); until
// then, updates have nothing to do (the build reads the orders as they are then).

import { createRequire } from 'node:module';

import type { Order, OrderState } from '../core/model.js';

// A CommonJS package: required, so that Node and the test runner see the same export.
const require = createRequire(import.meta.url);
const { default: BTree, defaultComparator } = require('sorted-btree') as typeof import('sorted-btree');
const { bulkLoad } = require('sorted-btree/extended/bulkLoad.js') as typeof import('sorted-btree/extended/bulkLoad.js');
type IdTree = InstanceType<typeof BTree<string, true>>;

/** The trees' own order of ids (UTF-16 code units, as `<` compares strings). */
const compareIds = defaultComparator as (a: string, b: string) => number;

/** A tree of sorted, distinct ids, built in one pass. */
function treeOf(ids: string[]): IdTree {
  return bulkLoad<string, true>(ids, new Array<true>(ids.length).fill(true), 32, compareIds);
}

export interface OrderPageQuery {
  /** Ids after this one (the `next` of the previous page). */
  after?: string;
  limit: number;
  state?: OrderState;
  workflow?: string;
}

const both = (workflow: string, state: string): string => `${workflow}\u0000${state}`;

export class OrderIndex {
  private all: IdTree = new BTree<string, true>();
  private readonly byState = new Map<string, IdTree>();
  private readonly byWorkflow = new Map<string, IdTree>();
  private readonly byBoth = new Map<string, IdTree>();
  /** What each indexed order was filed under. */
  private readonly filed = new Map<string, { state: string; workflow: string }>();
  /** The trees are built (on first use). */
  private built = false;
  /** Index entries pages have visited, in all (a measure of their work, for tests and benches). */
  visited = 0;

  constructor(private readonly orders: () => ReadonlyMap<string, Order>) {}

  get size(): number {
    this.build();
    return this.all.size;
  }

  /** Whether the trees have been built yet (they are, on the first page or `size`). */
  get isBuilt(): boolean {
    return this.built;
  }

  /** Fills every tree from the orders as they are now: one sort, then each tree in bulk. */
  private build(): void {
    if (this.built) return;
    this.built = true;
    const orders = this.orders();
    const ids = [...orders.keys()].sort(compareIds);
    const lists = { byState: new Map<string, string[]>(), byWorkflow: new Map<string, string[]>(), byBoth: new Map<string, string[]>() };
    const push = (m: Map<string, string[]>, key: string, id: string): void => {
      const l = m.get(key);
      if (l) l.push(id);
      else m.set(key, [id]);
    };
    for (const id of ids) {
      const o = orders.get(id)!;
      push(lists.byState, o.state, id);
      push(lists.byWorkflow, o.workflow, id);
      push(lists.byBoth, both(o.workflow, o.state), id);
      this.filed.set(id, { state: o.state, workflow: o.workflow });
    }
    this.all = treeOf(ids);
    for (const [key, l] of lists.byState) this.byState.set(key, treeOf(l));
    for (const [key, l] of lists.byWorkflow) this.byWorkflow.set(key, treeOf(l));
    for (const [key, l] of lists.byBoth) this.byBoth.set(key, treeOf(l));
  }

  /** Files the order as it is now (or drops it when it is gone). */
  update(id: string): void {
    if (!this.built) return;
    const o = this.orders().get(id);
    const was = this.filed.get(id);
    if (was && o && was.state === o.state && was.workflow === o.workflow) return;
    if (was) {
      this.all.delete(id);
      remove(this.byState, was.state, id);
      remove(this.byWorkflow, was.workflow, id);
      remove(this.byBoth, both(was.workflow, was.state), id);
      this.filed.delete(id);
    }
    if (o) {
      this.all.set(id, true);
      add(this.byState, o.state, id);
      add(this.byWorkflow, o.workflow, id);
      add(this.byBoth, both(o.workflow, o.state), id);
      this.filed.set(id, { state: o.state, workflow: o.workflow });
    }
  }

  /** Ids of one page, sorted, and the cursor of the next page when more follow. */
  page(q: OrderPageQuery): { ids: string[]; next?: string } {
    this.build();
    const tree =
      q.state !== undefined && q.workflow !== undefined
        ? this.byBoth.get(both(q.workflow, q.state))
        : q.state !== undefined
          ? this.byState.get(q.state)
          : q.workflow !== undefined
            ? this.byWorkflow.get(q.workflow)
            : this.all;
    const ids: string[] = [];
    if (!tree) return { ids };
    let more = false;
    for (const id of tree.keys(q.after)) {
      this.visited++;
      if (q.after !== undefined && id <= q.after) continue;
      if (ids.length >= q.limit) {
        more = true;
        break;
      }
      ids.push(id);
    }
    const last = ids[ids.length - 1];
    return more && last !== undefined ? { ids, next: last } : { ids };
  }
}

function add(m: Map<string, IdTree>, key: string, id: string): void {
  let t = m.get(key);
  if (!t) m.set(key, (t = new BTree<string, true>()));
  t.set(id, true);
}

function remove(m: Map<string, IdTree>, key: string, id: string): void {
  const t = m.get(key);
  if (!t) return;
  t.delete(id);
  if (t.size === 0) m.delete(key);
}
