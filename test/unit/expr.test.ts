import { describe, expect, it } from 'vitest';
import type { Scope, Value } from '../../src/core/expr/index.js';
import { evaluateText, MISSING, parseExpression, formatInstant, describeExprProblem } from '../../src/core/expr/index.js';

const vars: Record<string, Value> = {
  NAME: 'Orderly',
  NUMBER: 7,
  FLAG: true,
  TEXT_NUMBER: '12',
  LIST: ['a', 'b', 1],
  OBJ: { field: 'f', nested: { n: 1 } },
  'my-var': 'dashed',
};

const scope: Scope = {
  variable: (n) => vars[n],
  returnCode: 3,
  orderId: '#2026-12-06#T1',
  workflowPath: 'daily',
  label: 'job1',
  now: Date.UTC(2026, 11, 7, 1, 30, 5, 123), // Monday 2026-12-07 01:30:05.123 UTC
  timeZone: 'Europe/Berlin',
  env: (n) => ({ HOME: '/home/orderly' })[n],
  byLabel: (l, n) => (l === 'A' && n === 'result' ? 'from-A' : undefined),
  byJob: (j, n) => (j === 'job1' && n === 'result' ? 'from-job1' : undefined),
};

function ev(text: string, s: Scope = scope): Value {
  const r = evaluateText(text, s);
  if (!r.ok) throw new Error(`${text}: ${describeExprProblem(r.problem, text)}`);
  return r.value;
}

function problem(text: string, s: Scope = scope): { message: string; position: number } {
  const r = evaluateText(text, s);
  if (r.ok) throw new Error(`${text}: expected a problem, got ${String(r.value)}`);
  return r.problem;
}

describe('expression literals and variables', () => {
  it.each([
    ["'A-VALUE'", 'A-VALUE'],
    ['"A-VALUE"', 'A-VALUE'],
    ['""', ''],
    ["''it's''", "it's"],
    ['"tab\\there \\$NAME \\"q\\" \\\\"', 'tab\there $NAME "q" \\'],
    ['"Hello, $NAME!"', 'Hello, Orderly!'],
    ['"${NAME}s"', 'Orderlys'],
    ['"rc=$($returnCode + 1)"', 'rc=4'],
    ['1 + 2', 3],
    ['-5 + 2', -3],
    ['- $NUMBER', -7],
    ['7 / 2', 3.5],
    ['2 * 3 + 4', 10],
    ['2 * (3 + 4)', 14],
    ['10 - 3 - 2', 5],
    ['true', true],
    ['false', false],
    ['$NAME', 'Orderly'],
    ['${NAME}', 'Orderly'],
    ['$`my-var`', 'dashed'],
    ['${OBJ.field}', 'f'],
    ['$OBJ.nested.n', 1],
    ['$LIST(1)', 'b'],
    ['[1, 2] ++ [3]', [1, 2, 3]],
    ['{a: 1, b: "x"}', { a: 1, b: 'x' }],
    ['$returnCode', 3],
    ['$js7OrderId', '#2026-12-06#T1'],
    ['missing', MISSING],
    ["/* comment */ 1 + // line\n 1", 2],
  ] as [string, Value][])('%s', (text, want) => {
    expect(ev(text)).toEqual(want);
  });
});

describe('expression operators', () => {
  it.each([
    ['$returnCode > 0', true],
    ['$returnCode >= 3 && $returnCode <= 5', true],
    ['$returnCode == 3', true],
    ['$returnCode != 3', false],
    ["'a' < 'b'", true],
    ['!$FLAG', false],
    ['!($returnCode > 0) || $FLAG', true],
    ["$NAME ++ '-' ++ $NUMBER", 'Orderly-7'],
    ["'x' ++ true", 'xtrue'],
    ["$NAME == 'Orderly'", true],
    ["'b' in ['a', 'b']", true],
    ["3 in [1, 2]", false],
    ["'abc' matches 'a.*'", true],
    ["'abc' matches 'b'", false],
    ['if $returnCode > 1 then "big" else "small"', 'big'],
    ['$unknown ? "default"', 'default'],
    ['$unknown?', MISSING],
    ['$NAME ? "default"', 'Orderly'],
    ['missing < 1', MISSING],
    ['[1, 2] == [1, 2]', true],
  ] as [string, Value][])('%s', (text, want) => {
    expect(ev(text)).toEqual(want);
  });

  it('evaluates && and || lazily', () => {
    expect(ev('false && $unknown')).toBe(false);
    expect(ev('true || $unknown')).toBe(true);
  });
});

describe('expression functions', () => {
  it.each([
    ['toNumber($TEXT_NUMBER) + 1', 13],
    ['$TEXT_NUMBER.toNumber', 12],
    ["toBoolean('true')", true],
    ["toBoolean('false') || false", false],
    ["replaceAll('a-b-c', '-', '+')", 'a+b+c'],
    ["replaceAll('2026-12-07', '(\\d+)-(\\d+)-(\\d+)', '$3.$2.$1')", '07.12.2026'],
    ["substring('Orderly', 0, 5)", 'Order'],
    ["substring('Orderly', 5)", 'ly'],
    ["stripMargin('first\n  |second\n  |third')", 'first\nsecond\nthird'],
    ['mkString($LIST)', 'ab1'],
    ['mkString(1)', '1'],
    ["match('key=value', 'key=(.*)', '$1')", 'value'],
    ['min(3, 4) + max(3, 4)', 7],
    ["now(format='yyyy-MM-dd HH:mm:ss', timezone='Etc/UTC')", '2026-12-07 01:30:05'],
    ["now('yyyy-MM-dd HH:mm', 'America/New_York')", '2026-12-06 20:30'],
    ["now('HH:mm XXX')", '02:30 +01:00'],
    ["now('EEEE dd.MM.yy SSS')", 'Monday 07.12.26 123'],
    ["env('HOME')", '/home/orderly'],
    ["env('NOPE', 'fallback')", 'fallback'],
    ["env(name='NOPE', default='fb')", 'fb'],
    ["variable('NAME')", 'Orderly'],
    ["variable('nope', default='d')", 'd'],
    ["variable('result', label=A)", 'from-A'],
    ["variable(key='result', job=job1)", 'from-job1'],
    ["argument('NAME')", 'Orderly'],
    ['orderId', '#2026-12-06#T1'],
    ['workflowPath', 'daily'],
    ['label', 'job1'],
    ['workflow.timezone', 'Europe/Berlin'],
  ] as [string, Value][])('%s', (text, want) => {
    expect(ev(text)).toEqual(want);
  });

  it('takes the clock from the scope only', () => {
    expect(problem("now('yyyy')", { variable: () => undefined }).message).toMatch(/now\(\) is not available/);
    expect(ev("now('yyyy')", { now: Date.UTC(1999, 5, 1) })).toBe('1999');
  });
});

describe('expression problems name the position', () => {
  it.each([
    ['1 +', 'expected a value', 4],
    ["'abc", 'unterminated', 1],
    ['$NAME +', 'expected a value', 8],
    ['foo(1)', "unknown function 'foo'", 1],
    ['1 2', "unexpected '2'", 3],
    ['toNumber(1, 2)', 'takes 1 argument', 1],
    ['(1 + 2', "expected ')'", 7],
    ['orderID', "unknown name 'orderID'", 1],
    ['"\\x"', 'backslash', 2],
  ])('parse %s', (text, msg, position) => {
    const r = parseExpression(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problem.message).toContain(msg);
      expect(r.problem.position).toBe(position);
    }
  });

  it.each([
    ['1 + $nope', 'no such named value: nope', 5],
    ["1 + 'a'", 'expected a Number, got String', 5],
    ["1 < 'a'", 'not comparable', 3],
    ["toNumber('x1')", 'not a valid number', 1],
    ['$NUMBER && true', 'expected a Boolean', 1],
    ["error('stop here')", 'stop here', 1],
    ["substring('abc', 2, 9)", 'out of range', 1],
    ['1 / 0', 'division by zero', 3],
    ["now('yyyy QQ')", "letter 'Q' is not supported", 1],
    ["now('yyyy', 'Mars/Olympus')", 'unknown time zone', 1],
  ])('evaluate %s', (text, msg, position) => {
    const p = problem(text);
    expect(p.message).toContain(msg);
    expect(p.position).toBe(position);
  });

  it('refuses too deep nesting without overflowing the stack', () => {
    const r = parseExpression('('.repeat(10_000) + '1' + ')'.repeat(10_000));
    expect(r.ok).toBe(false);
  });
});

describe('formatInstant', () => {
  it('follows daylight saving time', () => {
    const summer = Date.UTC(2026, 6, 1, 12);
    expect(formatInstant(summer, 'HH:mm Z', 'Europe/Berlin')).toEqual({ ok: true, value: '14:00 +0200' });
    expect(formatInstant(summer, "yyyy-MM-dd'T'HH:mmX", 'Etc/UTC')).toEqual({ ok: true, value: '2026-07-01T12:00Z' });
  });
});
