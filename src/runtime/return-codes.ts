// Which return codes count as success (JS7 `returnCodeMeaning`). Pure: no I/O.
//
// Syntax: comma-separated whole numbers and inclusive ranges `a..b`, e.g. "0,3..5", or
// JS7's array form `[0, [3, 5]]`.
// `{success: spec}` lists the success codes; `{failure: spec}` lists the failure codes
// (everything else succeeds); absent means only 0 succeeds. If both are given, a code
// succeeds when it is listed under `success` and not under `failure`.

import type { ReturnCodeList, ReturnCodeMeaning } from '../core/model.js';
import { returnCodeListText } from '../core/return-code-list.js';

type Range = readonly [number, number];

const ITEM = /^\s*(-?\d{1,10})\s*(?:\.\.\s*(-?\d{1,10})\s*)?$/;

function parseSpec(s: string): { ranges: Range[] } | { error: string } {
  if (s.trim() === '') return { error: 'empty return code list' };
  const ranges: Range[] = [];
  for (const part of s.split(',')) {
    const m = ITEM.exec(part);
    if (!m) return { error: `bad return code item ${JSON.stringify(part.trim())} (expected N or A..B)` };
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b)) {
      return { error: `return code out of range in ${JSON.stringify(part.trim())}` };
    }
    if (a > b) return { error: `empty return code range ${JSON.stringify(part.trim())} (${a} > ${b})` };
    ranges.push([a, b]);
  }
  return { ranges };
}

/** An error message for bad syntax, or undefined when `s` is a valid return code list. */
export function validateReturnCodeSpec(s: string): string | undefined {
  const r = parseSpec(s);
  return 'error' in r ? r.error : undefined;
}

function matcher(list: ReturnCodeList): (rc: number) => boolean {
  const text = returnCodeListText(list);
  if ('index' in text) throw new Error(`invalid returnCodeMeaning: ${text.message}`);
  const r = parseSpec(text.text);
  if ('error' in r) throw new Error(`invalid returnCodeMeaning: ${r.error}`);
  const { ranges } = r;
  if (ranges.every(([a, b]) => a === b)) {
    if (ranges.length === 1) {
      const only = ranges[0]![0];
      return (rc) => rc === only;
    }
    const set = new Set(ranges.map(([a]) => a));
    return (rc) => set.has(rc);
  }
  return (rc) => {
    for (const [a, b] of ranges) if (rc >= a && rc <= b) return true;
    return false;
  };
}

const onlyZero = (rc: number): boolean => rc === 0;
const cache = new WeakMap<ReturnCodeMeaning, (rc: number) => boolean>();

/**
 * A predicate `rc → success?`. Throws on bad syntax (validate workflows with
 * `validateReturnCodeSpec` first). Parsed predicates are cached per meaning object.
 */
export function parseReturnCodeMeaning(m: ReturnCodeMeaning | undefined): (rc: number) => boolean {
  if (m === undefined) return onlyZero;
  const hit = cache.get(m);
  if (hit) return hit;
  let fn: (rc: number) => boolean;
  if (m.success !== undefined && m.failure !== undefined) {
    const ok = matcher(m.success);
    const bad = matcher(m.failure);
    fn = (rc) => ok(rc) && !bad(rc);
  } else if (m.success !== undefined) {
    fn = matcher(m.success);
  } else if (m.failure !== undefined) {
    const bad = matcher(m.failure);
    fn = (rc) => !bad(rc);
  } else {
    fn = onlyZero;
  }
  cache.set(m, fn);
  return fn;
}
