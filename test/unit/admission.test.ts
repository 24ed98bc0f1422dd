// The period arithmetic of JS7 admission times (src/core/admission.ts): local periods in a
// time zone, DST gaps and overlaps, month ends, and the order's day.
import { describe, expect, it } from 'vitest';
import { admissionAt, fromLocal, hasAdmissionStartOn, orderDay, type AdmissionPeriod } from '../../src/core/admission.js';
import { decide } from '../../src/core/decide.js';
import { deserializeState, serializeState } from '../../src/core/state.js';
import { Problems, validateAdmissionTimeScheme } from '../../src/core/validate.js';
import { Core, fn } from '../support/core-harness.js';

const H = 3600;
const D = 24 * H;
const W = 7 * D;
const BERLIN = 'Europe/Berlin';
const utc = (y: number, m: number, d: number, h = 0, mi = 0): number => Date.UTC(y, m - 1, d, h, mi);
const scheme = (...periods: AdmissionPeriod[]): { periods: AdmissionPeriod[] } => ({ periods });

/** The start of the next admission after `now` (ISO), or 'admitted until …'. */
function next(s: { periods: AdmissionPeriod[] }, tz: string, now: number): string {
  const a = admissionAt(s, tz, now);
  if (a.admitted) return `admitted until ${new Date(a.until).toISOString()}`;
  return a.next === undefined ? 'never' : new Date(a.next).toISOString();
}

describe('admission periods', () => {
  it('DailyPeriod: local time of the zone; inside the period the job is admitted until its end', () => {
    const s = scheme({ TYPE: 'DailyPeriod', secondOfDay: 9 * H, duration: H });
    expect(next(s, BERLIN, utc(2026, 12, 7, 6))).toBe('2026-12-07T08:00:00.000Z'); // 09:00 CET
    expect(next(s, BERLIN, utc(2026, 12, 7, 8, 30))).toBe('admitted until 2026-12-07T09:00:00.000Z');
    expect(next(s, BERLIN, utc(2026, 12, 7, 9))).toBe('2026-12-08T08:00:00.000Z'); // the end is not inside
    expect(next(s, BERLIN, utc(2026, 7, 7, 6))).toBe('2026-07-07T07:00:00.000Z'); // 09:00 CEST
  });

  it('a start in the spring gap moves later by the gap; the duration is real time', () => {
    // 2026-03-29: Berlin's clocks go from 02:00 to 03:00.
    expect(fromLocal(utc(2026, 3, 29, 2, 30), BERLIN)).toBe(utc(2026, 3, 29, 1, 30)); // 03:30 CEST
    const s = scheme({ TYPE: 'DailyPeriod', secondOfDay: 2 * H + 30 * 60, duration: H });
    expect(next(s, BERLIN, utc(2026, 3, 29, 0))).toBe('2026-03-29T01:30:00.000Z');
    expect(next(s, BERLIN, utc(2026, 3, 29, 2))).toBe('admitted until 2026-03-29T02:30:00.000Z');
  });

  it('a start in the autumn overlap is its first occurrence', () => {
    // 2026-10-25: Berlin's clocks go from 03:00 back to 02:00; 02:30 happens twice.
    expect(fromLocal(utc(2026, 10, 25, 2, 30), BERLIN)).toBe(utc(2026, 10, 25, 0, 30)); // 02:30 CEST
    const s = scheme({ TYPE: 'DailyPeriod', secondOfDay: 2 * H + 30 * 60, duration: 30 * 60 });
    // The second 02:30 (CET, 01:30Z) is outside: the period ran 00:30Z–01:00Z.
    expect(next(s, BERLIN, utc(2026, 10, 25, 1, 30))).toBe('2026-10-26T01:30:00.000Z');
  });

  it('WeekdayPeriod: seconds from Monday 00:00; a period over midnight of Sunday admits on Monday', () => {
    const s = scheme({ TYPE: 'WeekdayPeriod', secondOfWeek: 6 * D + 23 * H, duration: 2 * H }); // Sunday 23:00, 2 h
    expect(next(s, 'Etc/UTC', utc(2026, 12, 7, 0, 30))).toBe('admitted until 2026-12-07T01:00:00.000Z'); // a Monday
    expect(next(s, 'Etc/UTC', utc(2026, 12, 7, 1))).toBe('2026-12-13T23:00:00.000Z');
  });

  it('MonthlyDatePeriod: a day the month lacks falls on its last day', () => {
    const s = scheme({ TYPE: 'MonthlyDatePeriod', secondOfMonth: 30 * D + H, duration: 60 }); // the 31st, 01:00
    expect(next(s, 'Etc/UTC', utc(2026, 4, 2))).toBe('2026-04-30T01:00:00.000Z');
    expect(next(s, 'Etc/UTC', utc(2026, 2, 2))).toBe('2026-02-28T01:00:00.000Z');
    expect(next(s, 'Etc/UTC', utc(2028, 2, 2))).toBe('2028-02-29T01:00:00.000Z'); // a leap year
    expect(next(s, 'Etc/UTC', utc(2026, 5, 2))).toBe('2026-05-31T01:00:00.000Z');
  });

  it('MonthlyLastDatePeriod counts back from the end of the month', () => {
    const lastDay22h = scheme({ TYPE: 'MonthlyLastDatePeriod', lastSecondOfMonth: -D + 22 * H, duration: H });
    expect(next(lastDay22h, 'Etc/UTC', utc(2026, 2, 10))).toBe('2026-02-28T22:00:00.000Z');
    expect(next(lastDay22h, 'Etc/UTC', utc(2026, 2, 28, 22, 30))).toBe('admitted until 2026-02-28T23:00:00.000Z');
    expect(next(lastDay22h, 'Etc/UTC', utc(2026, 2, 28, 23))).toBe('2026-03-31T22:00:00.000Z');
    const secondLast = scheme({ TYPE: 'MonthlyLastDatePeriod', lastSecondOfMonth: -2 * D, duration: H });
    expect(next(secondLast, 'Etc/UTC', utc(2026, 4, 1))).toBe('2026-04-29T00:00:00.000Z');
  });

  it('MonthlyWeekdayPeriod and MonthlyLastWeekdayPeriod: the n-th and the n-th last weekday', () => {
    // December 2026 starts on a Tuesday and ends on a Thursday.
    const secondWednesday = scheme({ TYPE: 'MonthlyWeekdayPeriod', secondOfWeeks: W + 2 * D + H, duration: 60 });
    expect(next(secondWednesday, 'Etc/UTC', utc(2026, 12, 1))).toBe('2026-12-09T01:00:00.000Z');
    const firstMonday = scheme({ TYPE: 'MonthlyWeekdayPeriod', secondOfWeeks: 0, duration: 60 });
    expect(next(firstMonday, 'Etc/UTC', utc(2026, 12, 1))).toBe('2026-12-07T00:00:00.000Z');
    const lastFriday = scheme({ TYPE: 'MonthlyLastWeekdayPeriod', secondOfWeeks: -W + 4 * D + H, duration: 60 });
    expect(next(lastFriday, 'Etc/UTC', utc(2026, 12, 1))).toBe('2026-12-25T01:00:00.000Z');
    const lastThursday = scheme({ TYPE: 'MonthlyLastWeekdayPeriod', secondOfWeeks: -W + 3 * D, duration: 60 });
    expect(next(lastThursday, 'Etc/UTC', utc(2026, 12, 1))).toBe('2026-12-31T00:00:00.000Z');
    const secondLastMonday = scheme({ TYPE: 'MonthlyLastWeekdayPeriod', secondOfWeeks: -2 * W + H, duration: 60 });
    expect(next(secondLastMonday, 'Etc/UTC', utc(2026, 12, 1))).toBe('2026-12-21T01:00:00.000Z');
  });

  it('SpecificDatePeriod: once, in local time; after it nothing is ahead', () => {
    const s = scheme({ TYPE: 'SpecificDatePeriod', secondsSinceLocalEpoch: utc(2026, 12, 24, 18) / 1000, duration: H });
    expect(next(s, BERLIN, utc(2026, 12, 1))).toBe('2026-12-24T17:00:00.000Z');
    expect(next(s, BERLIN, utc(2026, 12, 25))).toBe('never');
  });

  it('several periods: the earliest next start; overlapping ones admit until the latest end', () => {
    const s = scheme({ TYPE: 'DailyPeriod', secondOfDay: 20 * H, duration: H }, { TYPE: 'WeekdayPeriod', secondOfWeek: 0 + 8 * H, duration: 14 * H });
    expect(next(s, 'Etc/UTC', utc(2026, 12, 7, 6))).toBe('2026-12-07T08:00:00.000Z');
    expect(next(s, 'Etc/UTC', utc(2026, 12, 7, 20, 30))).toBe('admitted until 2026-12-07T22:00:00.000Z');
  });
});

describe('the order day (skipIfNoAdmissionForOrderDay)', () => {
  it('is the date of a JS7 daily-plan id, else of scheduledFor in the zone, else none', () => {
    expect(orderDay({ id: '#2026-12-07#T1234-x' }, BERLIN)).toBe('2026-12-07');
    expect(orderDay({ id: 'x', scheduledFor: utc(2026, 12, 6, 23, 30) }, BERLIN)).toBe('2026-12-07');
    expect(orderDay({ id: 'x', scheduledFor: utc(2026, 12, 6, 23, 30) }, 'Etc/UTC')).toBe('2026-12-06');
    expect(orderDay({ id: 'x' }, BERLIN)).toBeUndefined();
  });

  it('has an admission start when a period starts on that local date', () => {
    const sundayNight = scheme({ TYPE: 'WeekdayPeriod', secondOfWeek: 6 * D + 23 * H, duration: 2 * H });
    expect(hasAdmissionStartOn(sundayNight, '2026-12-06')).toBe(true); // a Sunday
    expect(hasAdmissionStartOn(sundayNight, '2026-12-07')).toBe(false); // admitted Monday 00:00–01:00, but no start
    const lastDay = scheme({ TYPE: 'MonthlyLastDatePeriod', lastSecondOfMonth: -D, duration: H });
    expect(hasAdmissionStartOn(lastDay, '2028-02-29')).toBe(true);
    expect(hasAdmissionStartOn(lastDay, '2028-02-28')).toBe(false);
  });
});

describe('admissionTimeScheme validation', () => {
  const check = (raw: unknown): { value: unknown; problems: { path: string; message: string }[] } => {
    const p = new Problems();
    const value = validateAdmissionTimeScheme(p, raw, 'jobs.j.admissionTimeScheme');
    return { value, problems: p.items };
  };

  it('takes every JS7 period type and refuses the rest by path', () => {
    expect(check({ periods: [{ TYPE: 'WeekdayPeriod', secondOfWeek: 3600, duration: 7200 }] }).problems).toEqual([]);
    expect(check({ periods: [{ TYPE: 'AlwaysPeriod' }, { TYPE: 'YearlyPeriod' }, { TYPE: 'DailyPeriod', secondOfDay: 86400, duration: 0 }] }).problems).toEqual([
      { path: 'jobs.j.admissionTimeScheme.periods[0].TYPE', message: 'not supported: AlwaysPeriod (leave admissionTimeScheme out for a job admitted at any time)' },
      {
        path: 'jobs.j.admissionTimeScheme.periods[1].TYPE',
        message:
          'not supported: period type "YearlyPeriod" (expected DailyPeriod, WeekdayPeriod, MonthlyDatePeriod, MonthlyLastDatePeriod, MonthlyWeekdayPeriod, MonthlyLastWeekdayPeriod, SpecificDatePeriod)',
      },
      { path: 'jobs.j.admissionTimeScheme.periods[2].secondOfDay', message: 'must be a whole number between 0 and 86399' },
      { path: 'jobs.j.admissionTimeScheme.periods[2].duration', message: 'must be a number > 0 and ≤ 31622400' },
    ]);
    expect(check({ periods: [{ TYPE: 'MonthlyLastDatePeriod', lastSecondOfMonth: 0, duration: 1 }] }).problems).toEqual([
      { path: 'jobs.j.admissionTimeScheme.periods[0].lastSecondOfMonth', message: 'must be a whole number > -2419200 and ≤ -1' },
    ]);
    expect(check({ restrictedSchemes: [] }).problems).toEqual([
      { path: 'jobs.j.admissionTimeScheme.restrictedSchemes', message: 'not supported: admission restricted to months is not implemented (give periods)' },
      { path: 'jobs.j.admissionTimeScheme.periods', message: 'required' },
    ]);
  });
});

describe('an order waiting for admission', () => {
  it('keeps its timer through a snapshot: restored, it starts when the period opens', () => {
    const c = new Core();
    const job = fn('noop', { admissionTimeScheme: scheme({ TYPE: 'DailyPeriod', secondOfDay: 9 * H, duration: H }) });
    c.deploy([], [{ name: 'w', timeZone: BERLIN, instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: job } }]);
    c.now = utc(2026, 12, 7, 6);
    c.add('o1', 'w');
    const opens = utc(2026, 12, 7, 8);
    expect(c.o('o1')).toMatchObject({ state: 'waiting', waitingFor: { kind: 'admission', job: 'w:j', until: opens } });
    const restored = deserializeState(serializeState(c.s));
    const d = decide(restored, { type: 'tick' }, opens);
    expect(d.ok && d.events.map((e) => e.type)).toEqual(['OrderMoved', 'OrderProcessingStarted']);
    expect(restored.orders.get('o1')!.state).toBe('processing');
  });
});
