// EndedOrders (state.ended) behaves as a Set of ids in insertion order, with `oldest` its first.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deserializeState, emptyState, EndedOrders, serializeState } from '../../src/core/state.js';

type Op = { op: 'add' | 'delete'; id: number } | { op: 'dropOldest' };

function check(ops: readonly Op[]): void {
  const model = new Set<string>();
  const e = new EndedOrders();
  for (const o of ops) {
    if (o.op === 'add') {
      model.add(`o${o.id}`);
      e.add(`o${o.id}`);
    } else if (o.op === 'delete') {
      expect(e.delete(`o${o.id}`)).toBe(model.delete(`o${o.id}`));
    } else {
      const first = model.values().next();
      expect(e.oldest()).toBe(first.done ? undefined : first.value);
      if (!first.done) {
        model.delete(first.value);
        e.delete(first.value);
      }
    }
    expect(e.size).toBe(model.size);
  }
  expect([...e]).toEqual([...model]);
  const first = model.values().next();
  expect(e.oldest()).toBe(first.done ? undefined : first.value);
  for (const id of model) expect(e.has(id)).toBe(true);
}

describe('EndedOrders', () => {
  it('keeps a Set’s order: an id added again after it left goes to the end, not to its old place', () => {
    const e = new EndedOrders();
    e.add('a').add('b').add('c');
    e.delete('a');
    e.add('a');
    e.add('b'); // present: keeps its place
    expect([...e]).toEqual(['b', 'c', 'a']);
    expect(e.oldest()).toBe('b');
    e.delete('b');
    expect(e.oldest()).toBe('c');
    e.delete('c');
    expect(e.oldest()).toBe('a');
    e.delete('a');
    expect(e.oldest()).toBeUndefined();
    expect(e.size).toBe(0);
  });

  it('matches a Set under random adds, deletes and drops of the oldest', () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('add' as const), id: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ op: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 30 }) }),
      fc.constant({ op: 'dropOldest' as const }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), (ops) => check(ops)), { numRuns: 300 });
  });

  it('stays right across compactions (many ids leaving from the front and from the middle)', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 5000; i++) {
      ops.push({ op: 'add', id: i });
      if (i % 3 === 0) ops.push({ op: 'dropOldest' });
      if (i % 7 === 0) ops.push({ op: 'delete', id: i - 3 });
      if (i % 11 === 0) ops.push({ op: 'add', id: i - 5 });
    }
    for (let i = 0; i < 3000; i++) ops.push({ op: 'delete', id: 4999 - i });
    for (let i = 0; i < 3000; i++) ops.push({ op: 'dropOldest' });
    check(ops);
  });

  it('is rebuilt, in the same order, from a snapshot', () => {
    const s = emptyState();
    for (const id of ['x', 'y', 'z']) s.ended.add(id);
    s.ended.delete('x');
    s.ended.add('x');
    const r = deserializeState(serializeState(s));
    expect([...r.ended]).toEqual(['y', 'z', 'x']);
    expect(r.ended.oldest()).toBe('y');
    expect(serializeState(r)).toBe(serializeState(s));
  });
});
