import { describe, expect, it } from 'vitest';

import { parseReturnCodeMeaning, validateReturnCodeSpec } from '../../src/runtime/return-codes.js';

describe('parseReturnCodeMeaning', () => {
  it('absent: only 0 succeeds', () => {
    const ok = parseReturnCodeMeaning(undefined);
    expect(ok(0)).toBe(true);
    expect(ok(1)).toBe(false);
    expect(ok(-1)).toBe(false);
    expect(ok(255)).toBe(false);
  });

  it('success list with ranges', () => {
    const ok = parseReturnCodeMeaning({ success: '0,3..5' });
    expect([0, 1, 2, 3, 4, 5, 6, 255].map(ok)).toEqual([true, false, false, true, true, true, false, false]);
  });

  it('single success code and a set of codes', () => {
    expect(parseReturnCodeMeaning({ success: '7' })(7)).toBe(true);
    expect(parseReturnCodeMeaning({ success: '7' })(0)).toBe(false);
    const set = parseReturnCodeMeaning({ success: '1, 2 ,9' });
    expect([0, 1, 2, 3, 9].map(set)).toEqual([false, true, true, false, true]);
  });

  it('failure list: everything else succeeds', () => {
    const ok = parseReturnCodeMeaning({ failure: '1,10..20' });
    expect([0, 1, 2, 9, 10, 15, 20, 21, 255].map(ok)).toEqual([true, false, true, true, false, false, false, true, true]);
  });

  it('both: listed as success and not as failure', () => {
    const ok = parseReturnCodeMeaning({ success: '0..10', failure: '5' });
    expect([0, 4, 5, 6, 11].map(ok)).toEqual([true, true, false, true, false]);
  });

  it('empty object behaves as absent', () => {
    const ok = parseReturnCodeMeaning({});
    expect(ok(0)).toBe(true);
    expect(ok(1)).toBe(false);
  });

  it('caches the predicate per meaning object', () => {
    const m = { success: '0,1' };
    expect(parseReturnCodeMeaning(m)).toBe(parseReturnCodeMeaning(m));
  });

  it('throws on bad syntax', () => {
    expect(() => parseReturnCodeMeaning({ success: '0,x' })).toThrow(/invalid returnCodeMeaning/);
    expect(() => parseReturnCodeMeaning({ failure: '' })).toThrow(/empty/);
  });
});

describe('validateReturnCodeSpec', () => {
  it.each(['0', '0,3..5', ' 1 , 2..3 ', '0..0', '-1', '-5..-1', '255'])('accepts %j', (s) => {
    expect(validateReturnCodeSpec(s)).toBeUndefined();
  });

  it.each(['', ' ', '0,', ',0', 'a', '1..', '..2', '1...2', '5..3', '1.5', '0;1', '1 2', '12345678901', '0x10'])(
    'rejects %j',
    (s) => {
      expect(validateReturnCodeSpec(s)).toEqual(expect.any(String));
    },
  );

  it('says what is wrong', () => {
    expect(validateReturnCodeSpec('5..3')).toMatch(/5 > 3/);
    expect(validateReturnCodeSpec('0,zz')).toMatch(/"zz"/);
  });
});
