// The schedule of a Cycle instruction (JS7's `Cycle`): when the next cycle starts, in the
// workflow's time zone. Pure: `now` comes from the command; the runtime's timer fires the
// order at the time computed here (a `tick`).
//
// A cycle state says which scheme and period the last cycle was in, how many cycles ran in
// that period, and when the next starts. From it and `now`:
// - every period of every scheme that is current or comes before the end of the order's day
//   is looked at; in each, the repeat gives the next start (Periodic: the latest offset not
//   after now when late, else the earliest one after the last start; Ticking: the next tick,
//   skipping missed ones; Continuous: `pause` after the last cycle ended, `limit` cycles);
// - the earliest start wins; none before the end of the day (or, with `onlyOnePeriod`, a
//   change of period) ends cycling.

import type { CyclePeriod, CycleScheme, CycleState, Position } from '../model.js';
import { wallClock } from '../expr/time-format.js';

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

export interface CycleSchedule {
  schemes: CycleScheme[];
}

function offsetMs(ms: number, timeZone: string): number {
  return (wallClock(ms, timeZone)?.offsetMinutes ?? 0) * 60_000;
}

/** The wall-clock time of instant `ms` as if it were UTC. */
export function localMs(ms: number, timeZone: string): number {
  return ms + offsetMs(ms, timeZone);
}

/** The instant of a wall-clock time (in a gap of a DST change: the time after it). */
export function instantOf(local: number, timeZone: string): number {
  const first = local - offsetMs(local, timeZone);
  const second = local - offsetMs(first, timeZone);
  return second;
}

/** The end of the local day of `ms`: the next local midnight. */
export function endOfDay(ms: number, timeZone: string): number {
  const local = localMs(ms, timeZone);
  return instantOf(Math.floor(local / DAY_MS) * DAY_MS + DAY_MS, timeZone);
}

interface Interval {
  periodIndex: number;
  start: number;
  end: number;
}

/** Occurrences of the scheme's periods that end after `from` and start before `until`, by start. */
function intervals(periods: readonly CyclePeriod[], from: number, until: number, timeZone: string): Interval[] {
  const out: Interval[] = [];
  // Local days from a week before `from` (a weekly period may have begun then) to `until`.
  const firstDay = Math.floor(localMs(from, timeZone) / DAY_MS) * DAY_MS - WEEK_MS;
  const lastDay = Math.floor(localMs(until, timeZone) / DAY_MS) * DAY_MS;
  periods.forEach((p, periodIndex) => {
    for (let day = firstDay; day <= lastDay; day += DAY_MS) {
      let startLocal: number;
      if (p.TYPE === 'DailyPeriod') startLocal = day + p.secondOfDay * 1000;
      else {
        // 1970-01-01 was a Thursday: Monday 00:00 is 3 days before the epoch's day + 7.
        const weekday = (Math.floor(day / DAY_MS) + 3) % 7; // 0 = Monday
        const second = p.secondOfWeek;
        if (Math.floor(second / 86_400) !== weekday) continue;
        startLocal = day + (second % 86_400) * 1000;
      }
      const start = instantOf(startLocal, timeZone);
      const end = start + p.duration * 1000;
      if (end > from && start < until) out.push({ periodIndex, start, end });
    }
  });
  return out.sort((a, b) => a.start - b.start || a.periodIndex - b.periodIndex);
}

function permitted(scheme: CycleScheme, t: number, timeZone: string): boolean {
  return intervals(scheme.admissionTimeScheme.periods, t, t + 1, timeZone).some((i) => i.start <= t && t < i.end);
}

/** The next start of a Periodic repeat after `last` (or at it, for the first), before `end`. */
function nextPeriodic(period: number, offsets: readonly number[], last: number, now: number, isFirst: boolean, end: number, timeZone: string): number | undefined {
  const p = period * 1000;
  const sorted = [...offsets].sort((a, b) => a - b).map((s) => s * 1000);
  const localLast = localMs(last, timeZone);
  const periodStart = Math.floor(localLast / p) * p;
  const ofPeriod = localLast - periodStart;
  // Skip whole periods that lie before now (only the latest start not after now matters).
  const kFrom = Math.max(0, Math.floor((localMs(now, timeZone) - periodStart) / p) - 1);
  let late: number | undefined;
  for (let k = kFrom; ; k++) {
    for (const off of sorted) {
      const t = k * p + off;
      if (k === 0 && (isFirst ? t < ofPeriod : t <= ofPeriod)) continue;
      const at = instantOf(periodStart + t, timeZone);
      if (at >= end) return late;
      if (at <= now) late = at;
      else return late ?? at;
    }
  }
}

/**
 * The cycle state after `cs` (the initial one has `index` 0): undefined when cycling ends.
 */
export function nextCycleState(schedule: CycleSchedule, onlyOnePeriod: boolean, cs: CycleState, now: number, timeZone: string): CycleState | undefined {
  let best: { schemeIndex: number; periodIndex: number; next: number } | undefined;
  schedule.schemes.forEach((scheme, schemeIndex) => {
    for (const iv of intervals(scheme.admissionTimeScheme.periods, now, cs.end, timeZone)) {
      const last = Math.max(cs.next, iv.start);
      const end = Math.min(cs.end, iv.end);
      const isFirst = cs.index === 0 || schemeIndex !== cs.schemeIndex || iv.periodIndex !== cs.periodIndex;
      const r = scheme.repeat;
      let next: number | undefined;
      if (r.TYPE === 'Periodic') next = nextPeriodic(r.period, r.offsets, last, now, isFirst, end, timeZone);
      else if (r.TYPE === 'Ticking') {
        const ms = r.interval * 1000;
        const ticks = Math.floor((now - last) / ms);
        next = ticks > 0 ? last + ticks * ms : last + (isFirst ? 0 : ms);
      } else {
        const index = isFirst ? 0 : cs.index;
        if (r.limit === undefined || index < r.limit) next = Math.max(now, Math.max(now, iv.start) + (isFirst ? 0 : r.pause * 1000));
      }
      if (next === undefined || next >= end) continue;
      if (!best || next < best.next) best = { schemeIndex, periodIndex: iv.periodIndex, next };
    }
  });
  if (!best) return undefined;
  const periodChanges = cs.index !== 0 && (best.schemeIndex !== cs.schemeIndex || best.periodIndex !== cs.periodIndex);
  if (onlyOnePeriod && periodChanges) return undefined;
  return { at: cs.at, end: cs.end, schemeIndex: best.schemeIndex, periodIndex: best.periodIndex, index: periodChanges ? 1 : cs.index + 1, next: best.next };
}

/** The state before the first cycle of a Cycle at `at`, ending with the order's day. */
export function initialCycleState(at: Position, day: number, timeZone: string): CycleState {
  return { at, end: endOfDay(day, timeZone), schemeIndex: 0, periodIndex: 0, index: 0, next: 0 };
}

export type CycleDue =
  | { do: 'wait' }
  | { do: 'start' }
  /** The time of the cycle passed outside its period (the engine was down): this is the next. */
  | { do: 'change'; state: CycleState }
  | { do: 'end' };

/** What to do when the next cycle of `cs` is due (its `next` has come). */
export function cycleDue(schedule: CycleSchedule, onlyOnePeriod: boolean, cs: CycleState, now: number, timeZone: string): CycleDue {
  const scheme = schedule.schemes[cs.schemeIndex];
  if (!scheme) return { do: 'end' };
  let next = cs.next;
  if (scheme.repeat.TYPE === 'Ticking') {
    const ms = scheme.repeat.interval * 1000;
    next += Math.max(0, Math.floor((now - cs.next) / ms)) * ms;
  }
  if (now < next) return { do: 'wait' };
  if (permitted(scheme, now, timeZone)) return { do: 'start' };
  const state = nextCycleState(schedule, onlyOnePeriod, cs, now, timeZone);
  return state ? { do: 'change', state } : { do: 'end' };
}
