import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import type { Schedule } from '../../src/core/model.js';
import { FIRE_COUNT_CAP, fireTimesBetween, nextFireTime, validateCron, validateSchedule } from '../../src/schedule/cron.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString();
const cron = (expr: string, timeZone?: string): Schedule => (timeZone === undefined ? { type: 'cron', cron: expr } : { type: 'cron', cron: expr, timeZone });
const every = (intervalSeconds: number, timeZone?: string): Schedule =>
  timeZone === undefined ? { type: 'interval', intervalSeconds } : { type: 'interval', intervalSeconds, timeZone };
/** All fires in (from, until], as ISO strings. */
const fires = (s: Schedule, from: string, until: string): string[] => {
  const r = fireTimesBetween(s, at(from), at(until), 100_000);
  expect(r.more).toBe(0);
  return r.times.map(iso);
};
/** Fires by repeated nextFireTime, for cross-checking fireTimesBetween. */
const stepped = (s: Schedule, from: number, until: number): number[] => {
  const out: number[] = [];
  for (let t = nextFireTime(s, from); t !== undefined && t <= until; t = nextFireTime(s, t)) out.push(t);
  return out;
};

const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';
// Local midnights (as UTC instants) around the 2026 transitions.
const BERLIN_SPRING_DAY = ['2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z'] as const; // 23 h
const BERLIN_FALL_DAY = ['2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z'] as const; // 25 h
const NY_SPRING_DAY = ['2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z'] as const;
const NY_FALL_DAY = ['2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z'] as const;
/** Fires in the local day [start, end): (start - 1 ms, end - 1 ms]. */
const localDay = (s: Schedule, [start, end]: readonly [string, string]): string[] => {
  const r = fireTimesBetween(s, at(start) - 1, at(end) - 1, 100_000);
  expect(r.more).toBe(0);
  return r.times.map(iso);
};

describe('validateCron', () => {
  it('accepts 5 and 6 fields, names, ranges, steps, lists, L, # and the nicknames', () => {
    for (const ok of [
      '* * * * *',
      '*/15 * * * *',
      '0 30 2 * * *',
      '*/30 * * * * *',
      '0 9-17/2 * * MON-FRI',
      '0 0 1,15 JAN,jul *',
      '0 0 * * FRI-SUN',
      '0 0 L * *',
      '0 0 * * 5#L',
      '0 0 * * MON#2',
      '0 0 29 2 *',
      '  0   0 * * *  ',
      '@yearly',
      '@annually',
      '@monthly',
      '@weekly',
      '@daily',
      '@HOURLY',
    ]) {
      expect(validateCron(ok), ok).toBeUndefined();
    }
    expect(validateCron('0 * * * *', BERLIN)).toBeUndefined();
    expect(validateCron('0 * * * *', 'Etc/UTC')).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(validateCron('61 * * * *')).toBe('cron "61 * * * *": minute 61 out of range (0-59)');
    expect(validateCron('0 60 * * * *')).toBe('cron "0 60 * * * *": minute 60 out of range (0-59)');
    expect(validateCron('60 * * * * *')).toBe('cron "60 * * * * *": second 60 out of range (0-59)');
    expect(validateCron('0 24 * * *')).toBe('cron "0 24 * * *": hour 24 out of range (0-23)');
    expect(validateCron('0 0 0 * *')).toBe('cron "0 0 0 * *": day-of-month 0 out of range (1-31)');
    expect(validateCron('0 0 32 * *')).toBe('cron "0 0 32 * *": day-of-month 32 out of range (1-31)');
    expect(validateCron('0 0 * 13 *')).toBe('cron "0 0 * 13 *": month 13 out of range (1-12)');
    expect(validateCron('0 0 * * 8')).toBe('cron "0 0 * * 8": day-of-week 8 out of range (0-7)');
    expect(validateCron('0 0 * FOO *')).toBe('cron "0 0 * FOO *": month "FOO" is not a number or a name (JAN-DEC)');
    expect(validateCron('a b c d e')).toBe('cron "a b c d e": minute "a" is not a number');
    expect(validateCron('*/0 * * * *')).toBe('cron "*/0 * * * *": minute step 0 out of range (1-60)');
    expect(validateCron('5-1 * * * *')).toBe('cron "5-1 * * * *": minute range 5-1 is backwards');
    expect(validateCron('1,,2 * * * *')).toBe('cron "1,,2 * * * *": minute "1,,2" has an empty list item');
    expect(validateCron('0 0 * * MON#6')).toBe('cron "0 0 * * MON#6": day-of-week "MON#6": #6 out of range (1-5 or L)');
    expect(validateCron('0 0 1#2 * *')).toBe('cron "0 0 1#2 * *": day-of-month "1#2": # is only for day-of-week');
    expect(validateCron('0 0 30 2 *')).toBe('cron "0 0 30 2 *": never fires (no date matches)');
    expect(validateCron('0 0 31 4,6,9,11 *')).toBe('cron "0 0 31 4,6,9,11 *": never fires (no date matches)');
  });

  it('accepts only 5 or 6 fields: no year field, no ISO dates', () => {
    expect(validateCron('0 0 0 1 1 * 2027')).toBe(
      'cron "0 0 0 1 1 * 2027": 7 fields; expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second minute hour day-of-month month day-of-week)',
    );
    expect(validateCron('* * * *')).toMatch(/^cron "\* \* \* \*": 4 fields; expected 5 fields/);
    expect(validateCron('2026-01-01T00:00:00')).toMatch(/^cron "2026-01-01T00:00:00": 1 field; expected 5 fields/);
    expect(validateCron('')).toMatch(/^cron "": empty; expected 5 fields/);
  });

  it('refuses other nicknames and croner\'s "?" (it would read the clock)', () => {
    expect(validateCron('@reboot')).toBe('cron "@reboot": unknown nickname; use one of @yearly, @annually, @monthly, @weekly, @daily, @hourly');
    expect(validateCron('@midnight')).toMatch(/unknown nickname/);
    expect(validateCron('? * * * *')).toBe('cron "? * * * *": minute "?" is not supported (croner would put the current time in its place)');
  });

  it('names an unknown time zone', () => {
    expect(validateCron('0 * * * *', 'Mars/Olympus')).toBe('unknown time zone "Mars/Olympus"');
    expect(validateCron('0 * * * *', '+01:00')).toBe('unknown time zone "+01:00"');
    expect(validateCron('0 * * * *', '')).toBe('unknown time zone ""');
    // The expression is checked first.
    expect(validateCron('61 * * * *', 'Mars/Olympus')).toMatch(/minute 61/);
  });
});

describe('validateSchedule', () => {
  it('checks both kinds', () => {
    expect(validateSchedule(every(900))).toBeUndefined();
    expect(validateSchedule(cron('0 * * * *', BERLIN))).toBeUndefined();
    expect(validateSchedule(every(0))).toBe('intervalSeconds 0 must be a whole number ≥ 1');
    expect(validateSchedule(every(1.5))).toBe('intervalSeconds 1.5 must be a whole number ≥ 1');
    expect(validateSchedule({ type: 'interval' })).toBe('intervalSeconds is required for an interval schedule');
    expect(validateSchedule({ type: 'cron' })).toBe('cron is required for a cron schedule');
    expect(validateSchedule(cron('0 * * * *', 'Nowhere/Else'))).toBe('unknown time zone "Nowhere/Else"');
  });

  it('invalid schedules never fire', () => {
    for (const s of [cron('61 * * * *'), cron('0 * * * *', 'Mars/Olympus'), every(0), every(-5), { type: 'cron' } as Schedule]) {
      expect(nextFireTime(s, 0)).toBeUndefined();
      expect(fireTimesBetween(s, 0, 1e12, 10)).toEqual({ times: [], more: 0 });
    }
  });
});

describe('interval schedules', () => {
  it('are anchored at the Unix epoch', () => {
    expect(iso(nextFireTime(every(900), at('2026-05-05T10:07:12.345Z'))!)).toBe('2026-05-05T10:15:00.000Z');
    expect(fires(every(900), '2026-05-05T10:00:00Z', '2026-05-05T11:00:00Z')).toEqual([
      '2026-05-05T10:15:00.000Z',
      '2026-05-05T10:30:00.000Z',
      '2026-05-05T10:45:00.000Z',
      '2026-05-05T11:00:00.000Z',
    ]);
    expect(nextFireTime(every(7), 0)).toBe(7000);
    expect(nextFireTime(every(7), -1)).toBe(0);
    expect(nextFireTime(every(7), -7000)).toBe(0);
  });

  it('fire strictly after', () => {
    expect(iso(nextFireTime(every(900), at('2026-05-05T10:15:00Z'))!)).toBe('2026-05-05T10:30:00.000Z');
    expect(iso(nextFireTime(every(900), at('2026-05-05T10:15:00Z') - 1)!)).toBe('2026-05-05T10:15:00.000Z');
    expect(iso(nextFireTime(every(900), at('2026-05-05T10:15:00Z') - 0.5)!)).toBe('2026-05-05T10:15:00.000Z');
  });

  it('ignore time zones and DST: an interval is a duration', () => {
    for (const day of [BERLIN_SPRING_DAY, BERLIN_FALL_DAY]) {
      const utc = localDay(every(3600), day);
      expect(localDay(every(3600, BERLIN), day)).toEqual(utc);
      expect(utc.every((t) => t.endsWith(':00:00.000Z'))).toBe(true);
    }
    expect(localDay(every(3600, BERLIN), BERLIN_SPRING_DAY)).toHaveLength(23);
    expect(localDay(every(3600, BERLIN), BERLIN_FALL_DAY)).toHaveLength(25);
  });

  it('keep the last `max` fires and count the rest by arithmetic', () => {
    const r = fireTimesBetween(every(60), at('2026-01-01T00:00:00Z'), at('2026-01-01T01:00:00Z'), 3);
    expect(r.times.map(iso)).toEqual(['2026-01-01T00:58:00.000Z', '2026-01-01T00:59:00.000Z', '2026-01-01T01:00:00.000Z']);
    expect(r.more).toBe(57);
    // Fifty years of seconds, counted without building them.
    const big = fireTimesBetween(every(1), at('1976-01-01T00:00:00Z'), at('2026-01-01T00:00:00Z'), 2);
    expect(big.times).toEqual([at('2025-12-31T23:59:59Z'), at('2026-01-01T00:00:00Z')]);
    expect(big.more).toBe((at('2026-01-01T00:00:00Z') - at('1976-01-01T00:00:00Z')) / 1000 - 2);
    expect(fireTimesBetween(every(60), 0, 600_000, 0)).toEqual({ times: [], more: 10 });
  });
});

describe('cron schedules (UTC)', () => {
  it('default to Etc/UTC', () => {
    expect(iso(nextFireTime(cron('30 2 * * *'), at('2026-03-29T00:00:00Z'))!)).toBe('2026-03-29T02:30:00.000Z');
    expect(nextFireTime(cron('30 2 * * *'), 0)).toBe(nextFireTime(cron('30 2 * * *', 'Etc/UTC'), 0));
  });

  it('*/15 * * * * fires 96 times on an ordinary day', () => {
    const day = localDay(cron('*/15 * * * *'), ['2026-05-05T00:00:00Z', '2026-05-06T00:00:00Z']);
    expect(day).toHaveLength(96);
    expect(day[0]).toBe('2026-05-05T00:00:00.000Z');
    expect(day[95]).toBe('2026-05-05T23:45:00.000Z');
    expect(localDay(cron('*/15 * * * *', BERLIN), ['2026-05-04T22:00:00Z', '2026-05-05T22:00:00Z'])).toHaveLength(96);
    expect(localDay(cron('*/15 * * * *', NEW_YORK), ['2026-05-05T04:00:00Z', '2026-05-06T04:00:00Z'])).toHaveLength(96);
  });

  it('6 fields put seconds first: */30 * * * * * fires twice a minute', () => {
    expect(fires(cron('*/30 * * * * *'), '2026-05-05T10:00:00Z', '2026-05-05T10:02:00Z')).toEqual([
      '2026-05-05T10:00:30.000Z',
      '2026-05-05T10:01:00.000Z',
      '2026-05-05T10:01:30.000Z',
      '2026-05-05T10:02:00.000Z',
    ]);
    expect(fires(cron('15 * * * * *'), '2026-05-05T10:00:00Z', '2026-05-05T10:02:00Z')).toEqual([
      '2026-05-05T10:00:15.000Z',
      '2026-05-05T10:01:15.000Z',
    ]);
    // 5 fields fire at second 0.
    expect(iso(nextFireTime(cron('15 * * * *'), at('2026-05-05T10:00:00Z'))!)).toBe('2026-05-05T10:15:00.000Z');
    expect(nextFireTime(cron('0 30 2 * * *', BERLIN), 0)).toBe(nextFireTime(cron('30 2 * * *', BERLIN), 0));
  });

  it('fires strictly after `afterMs`', () => {
    const s = cron('0 * * * *');
    expect(iso(nextFireTime(s, at('2026-05-05T10:00:00Z'))!)).toBe('2026-05-05T11:00:00.000Z');
    expect(iso(nextFireTime(s, at('2026-05-05T10:00:00Z') - 1)!)).toBe('2026-05-05T10:00:00.000Z');
    expect(iso(nextFireTime(s, at('2026-05-05T10:00:00Z') - 0.25)!)).toBe('2026-05-05T10:00:00.000Z');
    expect(iso(nextFireTime(s, at('2026-05-05T10:00:00.001Z'))!)).toBe('2026-05-05T11:00:00.000Z');
  });

  it('day-of-month and day-of-week combine with OR (Vixie cron) when both are restricted', () => {
    // June 2026: the 13th is a Saturday; Fridays are 5, 12, 19, 26.
    expect(fires(cron('0 0 13 * FRI'), '2026-06-01T00:00:00Z', '2026-06-30T00:00:00Z').map((t) => t.slice(0, 10))).toEqual([
      '2026-06-05',
      '2026-06-12',
      '2026-06-13',
      '2026-06-19',
      '2026-06-26',
    ]);
    expect(fires(cron('0 0 * * FRI'), '2026-06-01T00:00:00Z', '2026-06-30T00:00:00Z')).toHaveLength(4);
  });

  it('knows L, # and leap days', () => {
    expect(iso(nextFireTime(cron('0 0 L * *'), at('2026-02-01T00:00:00Z'))!)).toBe('2026-02-28T00:00:00.000Z');
    expect(iso(nextFireTime(cron('0 0 * * 5#L'), at('2026-07-01T00:00:00Z'))!)).toBe('2026-07-31T00:00:00.000Z');
    expect(iso(nextFireTime(cron('0 0 * * MON#2'), at('2026-07-01T00:00:00Z'))!)).toBe('2026-07-13T00:00:00.000Z');
    expect(iso(nextFireTime(cron('0 0 29 2 *'), at('2026-01-01T00:00:00Z'))!)).toBe('2028-02-29T00:00:00.000Z');
    // Long gaps: 2100 is no leap year; Feb 29 falls on a Monday every 28 years.
    expect(iso(nextFireTime(cron('0 0 29 2 *', BERLIN), at('2096-03-01T00:00:00Z'))!)).toBe('2104-02-28T23:00:00.000Z');
    expect(iso(nextFireTime(cron('0 0 * 2 MON#5'), at('2016-03-01T00:00:00Z'))!)).toBe('2044-02-29T00:00:00.000Z');
  });

  it('agrees with croner where there is no DST', () => {
    for (const [expr, tz, from] of [
      ['*/7 3-5 * * MON-FRI', 'Etc/UTC', '2026-01-01T00:00:00Z'],
      ['0 12 1,15 * *', BERLIN, '2026-05-01T00:00:00Z'],
      ['*/20 * * * * *', NEW_YORK, '2026-07-01T00:00:00Z'],
      ['0 0 13 * 5', 'Asia/Tokyo', '2026-01-01T00:00:00Z'],
    ] as const) {
      const theirs = new Cron(expr, { timezone: tz, legacyMode: true, paused: true }).nextRuns(20, new Date(at(from))).map((d) => d.getTime());
      const ours = fireTimesBetween(cron(expr, tz), at(from), theirs[19]!, 100).times;
      expect(ours, expr).toEqual(theirs);
    }
  });
});

describe('cron schedules across DST', () => {
  it('Europe/Berlin spring-forward (2026-03-29, 02:00→03:00): nonexistent 02:30 fires once, shifted to 03:30 CEST', () => {
    for (const expr of ['30 2 * * *', '0 30 2 * * *']) {
      expect(fires(cron(expr, BERLIN), '2026-03-27T12:00:00Z', '2026-03-31T12:00:00Z'), expr).toEqual([
        '2026-03-28T01:30:00.000Z', // 02:30 CET
        '2026-03-29T01:30:00.000Z', // 02:30 does not exist: 03:30 CEST
        '2026-03-30T00:30:00.000Z', // 02:30 CEST
        '2026-03-31T00:30:00.000Z',
      ]);
    }
    // Also when asked from inside the shifted hour.
    expect(iso(nextFireTime(cron('30 2 * * *', BERLIN), at('2026-03-29T01:10:00Z'))!)).toBe('2026-03-29T01:30:00.000Z');
    expect(iso(nextFireTime(cron('30 2 * * *', BERLIN), at('2026-03-29T01:30:00Z'))!)).toBe('2026-03-30T00:30:00.000Z');
    // Two fixed times in the gap keep their distance; one that collides with a real time fires once.
    expect(fires(cron('0,30 2,3 * * *', BERLIN), '2026-03-29T00:00:00Z', '2026-03-29T03:00:00Z')).toEqual([
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T01:30:00.000Z',
    ]);
  });

  it('Europe/Berlin fall-back (2026-10-25, 03:00→02:00): the repeated 02:30 fires once, on the first pass', () => {
    expect(fires(cron('30 2 * * *', BERLIN), '2026-10-23T12:00:00Z', '2026-10-27T12:00:00Z')).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST (first pass); not again at 02:30 CET = 01:30Z
      '2026-10-26T01:30:00.000Z', // 02:30 CET
      '2026-10-27T01:30:00.000Z',
    ]);
    // Asked from inside the second pass: nothing until tomorrow.
    expect(iso(nextFireTime(cron('30 2 * * *', BERLIN), at('2026-10-25T01:10:00Z'))!)).toBe('2026-10-26T01:30:00.000Z');
    expect(iso(nextFireTime(cron('30 2 * * *', BERLIN), at('2026-10-25T00:10:00Z'))!)).toBe('2026-10-25T00:30:00.000Z');
  });

  it('hourly fires 23 and 25 times on the transition days (wildcard hours run on both passes)', () => {
    const spring = localDay(cron('0 * * * *', BERLIN), BERLIN_SPRING_DAY);
    expect(spring).toHaveLength(23);
    expect(spring.slice(0, 4)).toEqual(['2026-03-28T23:00:00.000Z', '2026-03-29T00:00:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z']);
    const fall = localDay(cron('0 * * * *', BERLIN), BERLIN_FALL_DAY);
    expect(fall).toHaveLength(25);
    expect(fall.slice(0, 5)).toEqual([
      '2026-10-24T22:00:00.000Z', // 00:00 CEST
      '2026-10-24T23:00:00.000Z', // 01:00 CEST
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T02:00:00.000Z', // 03:00 CET
    ]);
    expect(localDay(cron('@hourly', BERLIN), BERLIN_FALL_DAY)).toHaveLength(25);
    expect(localDay(cron('0 * * * *', BERLIN), ['2026-05-04T22:00:00Z', '2026-05-05T22:00:00Z'])).toHaveLength(24);
    // Every fire is one hour after the previous one: nothing doubled, nothing lost.
    for (const day of [spring, fall]) for (let i = 1; i < day.length; i++) expect(at(day[i]!) - at(day[i - 1]!)).toBe(3600_000);
  });

  it('*/15 * * * * fires 92 and 100 times on the transition days', () => {
    expect(localDay(cron('*/15 * * * *', BERLIN), BERLIN_SPRING_DAY)).toHaveLength(92);
    expect(localDay(cron('*/15 * * * *', BERLIN), BERLIN_FALL_DAY)).toHaveLength(100);
  });

  it('daily jobs fire once a day across both transitions', () => {
    expect(localDay(cron('0 0 * * *', BERLIN), BERLIN_SPRING_DAY)).toEqual(['2026-03-28T23:00:00.000Z']);
    expect(localDay(cron('@daily', BERLIN), BERLIN_FALL_DAY)).toEqual(['2026-10-24T22:00:00.000Z']);
    expect(localDay(cron('59 23 * * *', BERLIN), BERLIN_FALL_DAY)).toEqual(['2026-10-25T22:59:00.000Z']);
  });

  it('America/New_York: hourly 23/25, 02:30 shifted to 03:30 EDT, the repeated 01:30 once', () => {
    expect(localDay(cron('0 * * * *', NEW_YORK), NY_SPRING_DAY)).toHaveLength(23);
    expect(localDay(cron('0 * * * *', NEW_YORK), NY_FALL_DAY)).toHaveLength(25);
    expect(fires(cron('30 2 * * *', NEW_YORK), '2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z')).toEqual([
      '2026-03-07T07:30:00.000Z', // 02:30 EST
      '2026-03-08T07:30:00.000Z', // 02:30 does not exist: 03:30 EDT
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
    ]);
    expect(fires(cron('30 1 * * *', NEW_YORK), '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z')).toEqual([
      '2026-10-31T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T05:30:00.000Z', // 01:30 EDT, first pass only
      '2026-11-02T06:30:00.000Z', // 01:30 EST
    ]);
  });

  it('nextFireTime, step by step, agrees with fireTimesBetween across transitions', () => {
    for (const [expr, tz] of [
      ['*/20 * * * *', BERLIN],
      ['0,30 2 * * *', BERLIN],
      ['15 1-3 * * *', NEW_YORK],
      ['0 */10 * * * *', NEW_YORK],
    ] as const) {
      for (const [from, until] of [
        ['2026-03-28T00:00:00Z', '2026-03-30T12:00:00Z'],
        ['2026-10-24T00:00:00Z', '2026-10-26T12:00:00Z'],
        ['2026-03-07T00:00:00Z', '2026-03-09T12:00:00Z'],
        ['2026-10-31T00:00:00Z', '2026-11-02T12:00:00Z'],
      ] as const) {
        const s = cron(expr, tz);
        const all = fireTimesBetween(s, at(from), at(until), 100_000);
        expect(all.times, `${expr} ${tz} ${from}`).toEqual(stepped(s, at(from), at(until)));
        for (let i = 1; i < all.times.length; i++) expect(all.times[i]!).toBeGreaterThan(all.times[i - 1]!);
        // The tail with max = 5 is the tail of the whole list.
        const tail = fireTimesBetween(s, at(from), at(until), 5);
        expect(tail.times).toEqual(all.times.slice(-5));
        expect(tail.more).toBe(all.times.length - 5);
      }
    }
  });
});

describe('fireTimesBetween bounds', () => {
  const s = cron('0 * * * *');

  it('excludes afterMs, includes untilMs', () => {
    expect(fires(s, '2026-05-05T10:00:00Z', '2026-05-05T12:00:00Z')).toEqual(['2026-05-05T11:00:00.000Z', '2026-05-05T12:00:00.000Z']);
    expect(fireTimesBetween(s, at('2026-05-05T10:00:00Z'), at('2026-05-05T11:00:00Z') - 1, 10)).toEqual({ times: [], more: 0 });
    expect(fireTimesBetween(s, at('2026-05-05T12:00:00Z'), at('2026-05-05T10:00:00Z'), 10)).toEqual({ times: [], more: 0 });
    expect(fireTimesBetween(s, at('2026-05-05T12:00:00Z'), at('2026-05-05T12:00:00Z'), 10)).toEqual({ times: [], more: 0 });
  });

  it('returns the LAST max fires and counts the dropped ones', () => {
    const r = fireTimesBetween(s, at('2026-05-01T00:00:00Z'), at('2026-05-05T00:00:00Z'), 3);
    expect(r.times.map(iso)).toEqual(['2026-05-04T22:00:00.000Z', '2026-05-04T23:00:00.000Z', '2026-05-05T00:00:00.000Z']);
    expect(r.more).toBe(4 * 24 - 3);
    expect(fireTimesBetween(s, at('2026-05-01T00:00:00Z'), at('2026-05-05T00:00:00Z'), 0)).toEqual({ times: [], more: 96 });
    expect(fireTimesBetween(s, at('2026-05-01T00:00:00Z'), at('2026-05-05T00:00:00Z'), 96).more).toBe(0);
    expect(fireTimesBetween(s, at('2026-05-01T00:00:00Z'), at('2026-05-05T00:00:00Z'), 97).times).toHaveLength(96);
    // Sparse schedules, long ago: years of yearly fires.
    const y = fireTimesBetween(cron('@yearly', BERLIN), at('2000-06-01T00:00:00Z'), at('2026-06-01T00:00:00Z'), 2);
    expect(y.times.map(iso)).toEqual(['2024-12-31T23:00:00.000Z', '2025-12-31T23:00:00.000Z']);
    expect(y.more).toBe(24);
  });

  it(`stops counting dropped cron fires at ${FIRE_COUNT_CAP}`, () => {
    // Every second for 30 days: 2,592,000 fires.
    const r = fireTimesBetween(cron('* * * * * *'), at('2026-01-01T00:00:00Z'), at('2026-01-31T00:00:00Z'), 2);
    expect(r.times.map(iso)).toEqual(['2026-01-30T23:59:59.000Z', '2026-01-31T00:00:00.000Z']);
    expect(r.more).toBe(FIRE_COUNT_CAP);
  });
});
