// JS7 admission times of a job (`admissionTimeScheme`): when an order may start the job.
//
// A period is given in the local time of the workflow's time zone (JS7: `timeZone`, default
// UTC) as seconds from the start of its calendar period (a day, a week from Monday 00:00, a
// month) or, for SpecificDatePeriod, seconds since 1970-01-01T00:00 local; `duration` is in
// seconds. As in JS7:
// - The start is a local date-time made an instant in the zone: a start in a gap (clocks
//   move forward) moves later by the gap (02:30 → 03:30); a start in an overlap (clocks move
//   back) is its first occurrence. The end is the start plus `duration` seconds of real time.
// - MonthlyDatePeriod on a day the month lacks (the 31st in April) falls on the month's last
//   day at the same time. MonthlyLastDatePeriod counts back from the end of the month
//   (`lastSecondOfMonth` -86400 = the last day 00:00). MonthlyWeekdayPeriod: `secondOfWeeks`
//   from Monday 00:00 of the week holding the month's first such weekday (0 = the first
//   Monday 00:00); MonthlyLastWeekdayPeriod: negative, -604800 = the last Monday 00:00.
// - An order's day has an admission start when a period of the scheme starts on that local
//   date (`skipIfNoAdmissionForOrderDay`).
// Pure: the zone data comes from ECMAScript Intl, the instant from the caller.

import { wallClock } from './expr/time-format.js';

export type AdmissionPeriod =
  | { TYPE: 'DailyPeriod'; secondOfDay: number; duration: number }
  | { TYPE: 'WeekdayPeriod'; secondOfWeek: number; duration: number }
  | { TYPE: 'MonthlyDatePeriod'; secondOfMonth: number; duration: number }
  | { TYPE: 'MonthlyLastDatePeriod'; lastSecondOfMonth: number; duration: number }
  | { TYPE: 'MonthlyWeekdayPeriod'; secondOfWeeks: number; duration: number }
  | { TYPE: 'MonthlyLastWeekdayPeriod'; secondOfWeeks: number; duration: number }
  | { TYPE: 'SpecificDatePeriod'; secondsSinceLocalEpoch: number; duration: number };

export interface AdmissionTimeScheme {
  periods: AdmissionPeriod[];
}

export const DAY_SECONDS = 86_400;
export const WEEK_SECONDS = 7 * DAY_SECONDS;
const DAY_MS = DAY_SECONDS * 1000;
/** How far ahead the next admission is looked for (JS7 looks 1096 days ahead). */
export const ADMISSION_LOOKAHEAD_DAYS = 1096;
/** Period types and the field holding their start. */
export const PERIOD_START_FIELD: Readonly<Record<AdmissionPeriod['TYPE'], string>> = {
  DailyPeriod: 'secondOfDay',
  WeekdayPeriod: 'secondOfWeek',
  MonthlyDatePeriod: 'secondOfMonth',
  MonthlyLastDatePeriod: 'lastSecondOfMonth',
  MonthlyWeekdayPeriod: 'secondOfWeeks',
  MonthlyLastWeekdayPeriod: 'secondOfWeeks',
  SpecificDatePeriod: 'secondsSinceLocalEpoch',
};

/** The range of a period's start field (inclusive min, exclusive max), as JS7 checks it. */
export function startRange(type: AdmissionPeriod['TYPE']): { min: number; max: number; minExclusive?: boolean } {
  switch (type) {
    case 'DailyPeriod':
      return { min: 0, max: DAY_SECONDS };
    case 'WeekdayPeriod':
      return { min: 0, max: WEEK_SECONDS };
    case 'MonthlyDatePeriod':
      return { min: 0, max: 31 * DAY_SECONDS };
    case 'MonthlyLastDatePeriod':
      return { min: -28 * DAY_SECONDS, max: 0, minExclusive: true };
    case 'MonthlyWeekdayPeriod':
      return { min: 0, max: 4 * WEEK_SECONDS };
    case 'MonthlyLastWeekdayPeriod':
      return { min: -4 * WEEK_SECONDS, max: 0, minExclusive: true };
    case 'SpecificDatePeriod':
      // Local seconds of the years 0000 to 9999.
      return { min: -62_167_219_200, max: 253_402_300_800 };
  }
}

// ------------------------------------------------------------------ local time ↔ instants

/** Offset of the zone at instant `ms`, in ms east of UTC. */
function offsetAt(ms: number, tz: string): number {
  const c = wallClock(ms, tz);
  if (c === undefined) throw new Error(`unknown time zone ${tz}`);
  return c.offsetMinutes * 60_000;
}

/** The local date-time of instant `ms` as ms since 1970-01-01T00:00 local. */
export function toLocal(ms: number, tz: string): number {
  return ms + offsetAt(ms, tz);
}

/**
 * The instant of a local date-time (ms since 1970-01-01T00:00 local), as java.time's
 * ZonedDateTime.of: in a gap later by the gap's length, in an overlap the earlier instant.
 */
export function fromLocal(local: number, tz: string): number {
  const before = offsetAt(local - DAY_MS, tz);
  const after = offsetAt(local + DAY_MS, tz);
  const candidates = [...new Set([before, offsetAt(local, tz), after])]
    .map((o) => local - o)
    .filter((t) => offsetAt(t, tz) === local - t)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return candidates[0]!;
  return local - before; // a gap: the offset before it carries the time past the gap
}

interface YMD {
  year: number;
  /** 1–12. */
  month: number;
  day: number;
}

function ymdOf(localMs: number): YMD {
  const d = new Date(localMs);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Local ms of 00:00 of the date. */
function midnight(y: number, m: number, d: number): number {
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d);
  return t.getTime();
}

function startOfDay(local: number): number {
  const c = ymdOf(local);
  return midnight(c.year, c.month, c.day);
}

function startOfMonth(local: number): number {
  const c = ymdOf(local);
  return midnight(c.year, c.month, 1);
}

/** 00:00 of the last day of the month holding `local`. */
function lastDayOfMonth(local: number): number {
  const c = ymdOf(local);
  return midnight(c.year, c.month + 1, 0);
}

function plusMonths(local: number, n: number): number {
  const c = ymdOf(local);
  return midnight(c.year, c.month + n, 1) + (local - startOfMonth(local));
}

/** Seconds since Monday 00:00 of local epoch seconds (1970-01-01 was a Thursday). */
function sinceStartOfWeek(localSeconds: number): number {
  const r = (localSeconds + 3 * DAY_SECONDS) % WEEK_SECONDS;
  return r < 0 ? r + WEEK_SECONDS : r;
}

function startOfWeek(local: number): number {
  const s = Math.floor(startOfDay(local) / 1000);
  return (s - sinceStartOfWeek(s)) * 1000;
}

// ------------------------------------------------------------------ periods

/** The calendar period (day, week, month) holding `local`: its start and the next one's. */
function calendarPeriod(p: AdmissionPeriod, local: number): { start: number; next: number } | undefined {
  switch (p.TYPE) {
    case 'DailyPeriod': {
      const start = startOfDay(local);
      return { start, next: start + DAY_MS };
    }
    case 'WeekdayPeriod': {
      const start = startOfWeek(local);
      return { start, next: start + 7 * DAY_MS };
    }
    case 'SpecificDatePeriod':
      return undefined;
    default: {
      const start = startOfMonth(local);
      return { start, next: plusMonths(start, 1) };
    }
  }
}

/** The local start of the period's admission in the calendar period starting at `cal`. */
function periodStart(p: AdmissionPeriod, cal: number): number {
  switch (p.TYPE) {
    case 'DailyPeriod':
      return cal + p.secondOfDay * 1000;
    case 'WeekdayPeriod':
      return cal + p.secondOfWeek * 1000;
    case 'MonthlyDatePeriod': {
      const a = cal + p.secondOfMonth * 1000;
      if (ymdOf(a).month === ymdOf(cal).month) return a;
      return lastDayOfMonth(cal) + (p.secondOfMonth % DAY_SECONDS) * 1000;
    }
    case 'MonthlyLastDatePeriod':
      return plusMonths(cal, 1) + p.lastSecondOfMonth * 1000;
    case 'MonthlyWeekdayPeriod': {
      const first = Math.floor(cal / 1000);
      const sinceMonday = sinceStartOfWeek(first);
      const dayOfWeek = Math.floor(p.secondOfWeeks / DAY_SECONDS) % 7;
      const shift = Math.floor(sinceMonday / DAY_SECONDS) > dayOfWeek ? WEEK_SECONDS : 0;
      return (first - sinceMonday + shift + p.secondOfWeeks) * 1000;
    }
    case 'MonthlyLastWeekdayPeriod': {
      const last = Math.floor(lastDayOfMonth(cal) / 1000);
      const sinceMonday = sinceStartOfWeek(last);
      const shifted = p.secondOfWeeks + 5 * WEEK_SECONDS;
      const dayOfWeek = Math.floor(shifted / DAY_SECONDS) % 7;
      const secondOfWeek = shifted % WEEK_SECONDS;
      // 0 = the last week, -1 the one before… (JS7 truncates toward zero)
      const shiftWeeks = Math.trunc((p.secondOfWeeks + 1) / WEEK_SECONDS);
      const notYet = Math.floor(sinceMonday / DAY_SECONDS) < dayOfWeek ? 1 : 0;
      return (last - sinceMonday + (shiftWeeks - notYet) * WEEK_SECONDS + secondOfWeek) * 1000;
    }
    case 'SpecificDatePeriod':
      return p.secondsSinceLocalEpoch * 1000;
  }
}

/** Shortest length of the period's calendar period, ms. */
function calendarLengthMin(p: AdmissionPeriod): number {
  switch (p.TYPE) {
    case 'DailyPeriod':
      return DAY_MS;
    case 'WeekdayPeriod':
      return 7 * DAY_MS;
    default:
      return 28 * DAY_MS;
  }
}

/** An admission interval: [start, end) in ms since the epoch. */
export interface Interval {
  start: number;
  end: number;
}

function intervalOf(p: AdmissionPeriod, localStart: number, tz: string): Interval {
  const start = fromLocal(localStart, tz);
  return { start, end: start + Math.round(p.duration * 1000) };
}

/**
 * The period's intervals that end after `from`, in order of their start, up to the first
 * that starts after `from` (and none beyond `limit`).
 */
function periodIntervals(p: AdmissionPeriod, from: number, tz: string, limit: number): Interval[] {
  if (p.TYPE === 'SpecificDatePeriod') {
    const i = intervalOf(p, periodStart(p, 0), tz);
    return i.end > from && i.start <= limit ? [i] : [];
  }
  const local = toLocal(from, tz);
  // Look back far enough for a long duration to reach into the present.
  const back = Math.ceil((p.duration * 1000) / calendarLengthMin(p)) + 1;
  let cal = calendarPeriod(p, local)!.start;
  for (let n = 0; n < back; n++) cal = calendarPeriod(p, cal - 1)!.start;
  const out: Interval[] = [];
  for (;;) {
    const i = intervalOf(p, periodStart(p, cal), tz);
    if (i.start > limit) break;
    if (i.end > from) out.push(i);
    if (i.start > from) break;
    cal = calendarPeriod(p, cal)!.next;
  }
  return out;
}

export type Admission =
  /** Inside an admission interval, which ends at `until`. */
  | { admitted: true; until: number }
  /** Outside: the next interval starts at `next` (absent: none within ADMISSION_LOOKAHEAD_DAYS). */
  | { admitted: false; next?: number };

/** Whether a job with this scheme may start at `now` (ms), in the time zone `tz`. */
export function admissionAt(scheme: AdmissionTimeScheme, tz: string, now: number): Admission {
  const limit = now + ADMISSION_LOOKAHEAD_DAYS * DAY_MS;
  let until: number | undefined;
  let next: number | undefined;
  for (const p of scheme.periods) {
    for (const i of periodIntervals(p, now, tz, limit)) {
      if (i.start <= now && now < i.end) until = Math.max(until ?? i.end, i.end);
      else if (i.start > now) next = Math.min(next ?? i.start, i.start);
    }
  }
  if (until !== undefined) return { admitted: true, until };
  return next === undefined ? { admitted: false } : { admitted: false, next };
}

/** The local date `YYYY-MM-DD` of instant `ms` in `tz`. */
export function localDate(ms: number, tz: string): string {
  const c = ymdOf(toLocal(ms, tz));
  return `${String(c.year).padStart(4, '0')}-${String(c.month).padStart(2, '0')}-${String(c.day).padStart(2, '0')}`;
}

/** Whether a period of the scheme starts on the local date `date` (`YYYY-MM-DD`). */
export function hasAdmissionStartOn(scheme: AdmissionTimeScheme, date: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return false;
  const day = midnight(Number(m[1]), Number(m[2]), Number(m[3]));
  return scheme.periods.some((p) => {
    const cal = calendarPeriod(p, day)?.start ?? 0;
    return startOfDay(periodStart(p, cal)) === day;
  });
}

const ORDER_DAY_IN_ID = /^#(\d{4}-\d{2}-\d{2})#/;

/**
 * The day an order is for: the date in a JS7 daily-plan order id (`#2026-12-07#…`), else the
 * local date of its `scheduledFor` in the workflow's zone; undefined when it has neither.
 */
export function orderDay(order: { id: string; scheduledFor?: number | undefined }, tz: string): string | undefined {
  const m = ORDER_DAY_IN_ID.exec(order.id);
  if (m) return m[1];
  return order.scheduledFor === undefined ? undefined : localDate(order.scheduledFor, tz);
}
