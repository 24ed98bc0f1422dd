// The order index (src/runtime/order-index.ts): built in bulk when first asked for, then kept
// current one order at a time; either way its pages are the orders sorted by id (UTF-16 code
// units, as `<` compares strings) and filtered by state and workflow.

import { describe, expect, it } from 'vitest';

import type { Order, OrderState } from '../../src/core/model.js';
import { OrderIndex } from '../../src/runtime/order-index.js';

const order = (id: string, workflow: string, state: OrderState): Order => ({ id, workflow, state }) as unknown as Order;

/** Every id of a query, page by page (3 a page). */
function all(index: OrderIndex, q: { state?: OrderState; workflow?: string } = {}): string[] {
  const out: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = index.page({ ...q, limit: 3, ...(after !== undefined ? { after } : {}) });
    out.push(...page.ids);
    if (page.next === undefined) return out;
    after = page.next;
  }
}

describe('the order index', () => {
  it('is built on the first page, from the orders as they are then, and sorted as strings compare', () => {
    const orders = new Map<string, Order>();
    const ids = ['o10', 'o2', 'O1', 'o1', 'é', 'a', 'Z', '\u{1F600}', 'o100', 'b'];
    ids.forEach((id, i) => orders.set(id, order(id, i % 2 ? 'w1' : 'w2', i % 3 ? 'waiting' : 'processing')));
    const index = new OrderIndex(() => orders);
    expect(index.isBuilt).toBe(false);
    // Changes before the build are not lost: the build reads the orders as they are.
    orders.get('a')!.state = 'finished';
    index.update('a');
    orders.delete('b');
    index.update('b');
    expect(index.isBuilt).toBe(false);
    const sorted = ids.filter((id) => id !== 'b').sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    expect(all(index)).toEqual(sorted);
    expect(index.isBuilt).toBe(true);
    expect(index.size).toBe(9);
    for (const state of ['waiting', 'processing', 'finished'] as const) {
      for (const workflow of [undefined, 'w1', 'w2']) {
        const want = sorted.filter((id) => orders.get(id)!.state === state && (workflow === undefined || orders.get(id)!.workflow === workflow));
        expect(all(index, { state, ...(workflow ? { workflow } : {}) })).toEqual(want);
      }
    }
    expect(all(index, { workflow: 'w1' })).toEqual(sorted.filter((id) => orders.get(id)!.workflow === 'w1'));
  });

  it('after the build, follows each order as it changes, arrives and leaves', () => {
    const orders = new Map<string, Order>();
    for (let i = 0; i < 200; i++) orders.set(`o${i}`, order(`o${i}`, 'w', 'waiting'));
    const index = new OrderIndex(() => orders);
    expect(all(index, { state: 'waiting' })).toHaveLength(200);
    orders.get('o7')!.state = 'processing';
    index.update('o7');
    orders.delete('o8');
    index.update('o8');
    orders.set('n1', order('n1', 'v', 'waiting'));
    index.update('n1');
    expect(all(index, { state: 'processing' })).toEqual(['o7']);
    expect(all(index, { state: 'waiting', workflow: 'v' })).toEqual(['n1']);
    expect(all(index)).toEqual([...orders.keys()].sort());
    expect(index.size).toBe(200);
  });
});
