// The wait queue (src/core/queue.ts): a queue filled by `append` (the state rebuilt from a
// snapshot) builds its index by order id only when a waiter is looked up; the head leaves
// without it. Either way it behaves as a list sorted by (priority desc, arrival asc).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { WaitQueue } from '../../src/core/queue.js';

type Op = { t: 'add'; id: number; priority: number } | { t: 'remove'; id: number } | { t: 'removeHead' } | { t: 'has'; id: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('add' as const), id: fc.nat(30), priority: fc.integer({ min: -1, max: 1 }) }),
  fc.record({ t: fc.constant('remove' as const), id: fc.nat(30) }),
  fc.constant({ t: 'removeHead' as const }),
  fc.record({ t: fc.constant('has' as const), id: fc.nat(30) }),
);

describe('the wait queue', () => {
  it('filled by append, then changed at random, equals a sorted list', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1, max: 1 }), { maxLength: 20 }), fc.array(op, { maxLength: 60 }), (start, ops) => {
        const q = new WaitQueue();
        let model: { id: string; priority: number; arrival: number }[] = [];
        let arrival = 0;
        start.forEach((priority, i) => {
          q.append(`s${i}`, priority, arrival);
          model.push({ id: `s${i}`, priority, arrival: arrival++ });
        });
        const sorted = (): string[] => [...model].sort((a, b) => b.priority - a.priority || a.arrival - b.arrival).map((e) => e.id);
        for (const o of ops) {
          if (o.t === 'add') {
            q.add(`o${o.id}`, o.priority, arrival);
            model = model.filter((e) => e.id !== `o${o.id}`);
            model.push({ id: `o${o.id}`, priority: o.priority, arrival: arrival++ });
          } else if (o.t === 'remove') {
            expect(q.remove(`o${o.id}`)).toBe(model.some((e) => e.id === `o${o.id}`));
            model = model.filter((e) => e.id !== `o${o.id}`);
          } else if (o.t === 'removeHead') {
            const head = sorted()[0];
            expect(q.head()).toBe(head);
            if (head !== undefined) expect(q.remove(head)).toBe(true);
            model = model.filter((e) => e.id !== head);
          } else {
            expect(q.has(`o${o.id}`)).toBe(model.some((e) => e.id === `o${o.id}`));
          }
          expect(q.size).toBe(model.length);
          expect([...q.inOrder()]).toEqual(sorted());
        }
      }),
    );
  });

  it('takes waiters appended in bulk out at the head without building its index', () => {
    const q = new WaitQueue();
    for (let i = 0; i < 1000; i++) q.append(`o${i}`, 0, i);
    for (let i = 0; i < 10; i++) expect(q.remove(q.head()!)).toBe(true);
    expect((q as unknown as { index?: unknown }).index).toBeUndefined();
    expect(q.size).toBe(990);
    expect(q.head()).toBe('o10');
    // A waiter out of the middle: the index is built from the live entries.
    expect(q.remove('o500')).toBe(true);
    expect((q as unknown as { index?: Map<string, unknown> }).index?.size).toBe(989);
    expect(q.has('o5')).toBe(false);
    expect(q.has('o11')).toBe(true);
  });
});
