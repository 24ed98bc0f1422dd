import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyJson } from '../../src/runtime/engine.js';

/** Every object and array reachable from `v`. */
function objectsOf(v: unknown, out = new Set<object>()): Set<object> {
  if (typeof v === 'object' && v !== null) {
    out.add(v);
    for (const x of Object.values(v)) objectsOf(x, out);
  }
  return out;
}

describe('copyJson: the committed copy of events', () => {
  it('gives what a JSON round trip gives, sharing no object', () => {
    const value = fc.jsonValue().chain((j) =>
      fc.oneof(
        fc.constant(j),
        fc.record({ j: fc.constant(j), u: fc.constant(undefined), list: fc.constant([1, undefined, { a: undefined, b: [j] }]), n: fc.constant(Number.NaN) }),
      ),
    );
    fc.assert(
      fc.property(value, (v) => {
        const copy = copyJson(v);
        expect(copy).toStrictEqual(JSON.parse(JSON.stringify(v)));
        const mine = objectsOf(v);
        for (const o of objectsOf(copy)) expect(mine.has(o)).toBe(false);
      }),
      { seed: 1207, numRuns: 300 },
    );
  });

  it('keeps a __proto__ key as an own field, as JSON.parse does', () => {
    const v: unknown = JSON.parse('{"__proto__":{"x":1},"y":[{"__proto__":2}]}');
    expect(copyJson(v)).toStrictEqual(v);
    expect(Object.getPrototypeOf(copyJson(v))).toBe(Object.prototype);
  });
});
