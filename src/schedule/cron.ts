// Fire times of job config schedules (model.ts `Schedule`). Pure: every instant is passed in
// (ms since the epoch) and comes back out; nothing reads the clock or arms a timer. The only
// state is memoisation (compiled expressions, a time zone's offset transitions per year),
// which never changes an answer.
//
// Interval schedules are anchored at the Unix epoch: they fire at every whole multiple of
// `intervalSeconds` since 1970-01-01T00:00:00Z (900 s: :00/:15/:30/:45 UTC), whatever the
// time zone: an interval is a duration, DST does not touch it.
//
// Cron schedules: 5 fields (minute hour day-of-month month day-of-week) or 6 (second first),
// Vixie-cron syntax plus croner's `L` (last day of month; `5#L` last Friday) and `#`
// (`1#2` second Monday); nicknames @yearly @annually @monthly @weekly @daily @hourly.
// Day-of-month and day-of-week combine with OR when both are restricted (Vixie cron;
// croner's `legacyMode`). Refused: 7-field/year forms, other nicknames (@reboot,
// @midnight), croner's `?` (it substitutes the current time: not pure) and ISO dates.
//
// croner (9.1) parses the expression and enumerates matching *wall-clock* times; this
// module maps wall-clock times to instants in the schedule's IANA zone itself. Why not
// croner's `timezone` option: it costs ~180 µs per step (a catch-up count of 10^6 fires
// would take minutes) and at a fall-back it shifts 02:00 CEST to 02:00 CET, so
// `0 * * * *` fires 24 times instead of 25 on that day, and a daily 02:30 fires at the
// *second* 02:30. Here, following Vixie cron's split between wildcard and fixed-time jobs
// (a job is *wildcard* when its second, minute or hour field starts with `*`):
//   - repeated wall-clock times (fall-back): a wildcard job fires on both passes
//     (`0 * * * *` fires 25 times that day); a fixed-time job fires once, on the first
//     pass (`30 2 * * *` in Europe/Berlin on 2026-10-25 fires at 02:30 CEST = 00:30Z);
//   - nonexistent wall-clock times (spring-forward): a wildcard job skips them
//     (`0 * * * *` fires 23 times that day, `*/15 * * * *` 92); a fixed-time job fires once,
//     shifted forward by the length of the gap, as croner, Temporal ("compatible") and
//     RFC 5545 do (`30 2 * * *` in Europe/Berlin on 2026-03-29 fires at 03:30 CEST = 01:30Z;
//     Vixie cron would run it at 03:00).
// Fire times fall on whole seconds; croner stops at the year 3000 (no fire after it).

import { Cron, CronPattern } from 'croner';
import type { Schedule } from '../core/model.js';

export const DEFAULT_TIME_ZONE = 'Etc/UTC';
/** Cron nicknames accepted (case-insensitive), with what they stand for. */
export const CRON_NICKNAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@hourly': '0 * * * *',
};
/** `fireTimesBetween` of a cron schedule counts dropped fires up to this many, then stops (`more` saturates). */
export const FIRE_COUNT_CAP = 1_000_000;

// ---------------------------------------------------------------------------------------
// Expressions

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Value of names[0] (month names count from 1). */
  nameBase?: number;
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
const DOM: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const DOW: FieldSpec = { name: 'day-of-week', min: 0, max: 7, names: DAY_NAMES, nameBase: 0 };
/** In the order of a 6-field expression. */
const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  DOM,
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 },
  DOW,
];
/** `*`, `v` or `v-v`, then an optional `/step`, then an optional `#nth` (day-of-week only). */
const ITEM = /^(?:(\*)|([0-9]+|[A-Z]+)(?:-([0-9]+|[A-Z]+))?)(?:\/([0-9]+))?(?:#([0-9]+|L))?$/i;
const EXPECTED = 'expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second minute hour day-of-month month day-of-week)';
/** Longest length of each month (February in leap years). */
const MONTH_DAYS_MAX = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

interface Compiled {
  /** Evaluates wall-clock times: croner at UTC offset 0, so a Date's UTC fields are the wall clock. */
  cron: Cron;
  /** Fixed-time job (no `*` at the start of the second, minute or hour field): see the DST rules above. */
  fixed: boolean;
}

const compiledCache = new Map<string, Compiled | string>();

function compile(expr: string): Compiled | string {
  const hit = compiledCache.get(expr);
  if (hit !== undefined) return hit;
  const result = compileUncached(expr);
  if (compiledCache.size >= 10_000) compiledCache.clear();
  compiledCache.set(expr, result);
  return result;
}

function compileUncached(expr: string): Compiled | string {
  const where = `cron ${JSON.stringify(expr)}`;
  let text = expr.trim();
  if (text === '') return `${where}: empty; ${EXPECTED}`;
  if (text.startsWith('@')) {
    const expansion = CRON_NICKNAMES[text.toLowerCase()];
    if (expansion === undefined) return `${where}: unknown nickname; use one of ${Object.keys(CRON_NICKNAMES).join(', ')}`;
    text = expansion;
  }
  const given = text.split(/\s+/);
  if (given.length !== 5 && given.length !== 6) return `${where}: ${given.length} field${given.length === 1 ? '' : 's'}; ${EXPECTED}`;
  const fields = given.length === 5 ? ['0', ...given] : given;
  const normalised: string[] = [];
  for (let i = 0; i < FIELDS.length; i++) {
    const r = normaliseField(fields[i] ?? '', FIELDS[i]!);
    if (r.error !== undefined) return `${where}: ${r.error}`;
    normalised.push(r.text);
  }
  let cron: Cron;
  try {
    // No callback, paused: croner arms no timer; it only evaluates.
    cron = new Cron(normalised.join(' '), { utcOffset: 0, legacyMode: true, paused: true });
    if (neverFires(new CronPattern(normalised.join(' ')))) return `${where}: never fires (no date matches)`;
  } catch (e) {
    return `${where}: ${readable(e)}`;
  }
  const fixed = !fields.slice(0, 3).some((f) => f.startsWith('*'));
  return { cron, fixed };
}

/**
 * True when no day ever matches. Not asked of croner: it searches up to the year 3000 by
 * recursion, one stack frame or more per month, and overflows the stack first. A restricted
 * day-of-week (also `#n`/`#L`: every weekday has a 5th occurrence in some year of every month
 * with 29+ days) or `L` always finds a day, day-of-week and day-of-month combining with OR;
 * otherwise some listed day-of-month must fit in some listed month.
 */
function neverFires(p: CronPattern): boolean {
  if (!p.starDOW || p.lastDayOfMonth) return false;
  return !p.month.some((m, i) => m !== 0 && p.day.some((d, j) => d !== 0 && j + 1 <= (MONTH_DAYS_MAX[i] ?? 31)));
}

function readable(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/^(CronPattern|CronDate|CronOptions|Cron): /, '');
}

/** Checks one field; names become numbers, so croner sees digits only. */
function normaliseField(field: string, spec: FieldSpec): { text: string; error?: undefined } | { error: string } {
  const out: string[] = [];
  for (const raw of field.split(',')) {
    if (raw === '') return { error: `${spec.name} "${field}" has an empty list item` };
    if (raw.includes('?')) return { error: `${spec.name} "?" is not supported (croner would put the current time in its place)` };
    if (spec === DOM && raw.toUpperCase() === 'L') {
      out.push('L');
      continue;
    }
    const m = ITEM.exec(raw);
    if (!m) return { error: `${spec.name} "${raw}" is not a number, name, range, step or *` };
    const [, star, from, to, step, nthRaw] = m;
    const nth = nthRaw?.toUpperCase();
    let text: string;
    if (star !== undefined) text = '*';
    else {
      const a = value(from ?? '', spec, false);
      if (typeof a === 'string') return { error: a };
      text = String(a);
      if (to !== undefined) {
        const b = value(to, spec, true);
        if (typeof b === 'string') return { error: b };
        if (a > b) return { error: `${spec.name} range ${from}-${to} is backwards` };
        text += `-${b}`;
      }
    }
    if (step !== undefined) {
      const s = Number(step);
      const span = spec.max - spec.min + 1;
      if (s < 1 || s > span) return { error: `${spec.name} step ${step} out of range (1-${span})` };
      text += `/${s}`;
    }
    if (nth !== undefined) {
      if (spec !== DOW) return { error: `${spec.name} "${raw}": # is only for day-of-week` };
      if (star !== undefined || step !== undefined) return { error: `${spec.name} "${raw}": # needs a day or a range of days` };
      if (nth !== 'L' && !/^[1-5]$/.test(nth)) return { error: `${spec.name} "${raw}": #${nth} out of range (1-5 or L)` };
      text += `#${nth}`;
    }
    out.push(text);
  }
  return { text: out.join(',') };
}

function value(token: string, spec: FieldSpec, rangeEnd: boolean): number | string {
  if (/^[0-9]+$/.test(token)) {
    const n = Number(token);
    return n < spec.min || n > spec.max ? `${spec.name} ${token} out of range (${spec.min}-${spec.max})` : n;
  }
  const i = spec.names?.indexOf(token.toUpperCase()) ?? -1;
  if (i < 0) return `${spec.name} "${token}" is not a number${spec.names ? ` or a name (${spec.names[0]}-${spec.names[spec.names.length - 1]})` : ''}`;
  // SUN ends a range as 7 (FRI-SUN), starts one as 0 (SUN-TUE).
  return spec === DOW && i === 0 && rangeEnd ? 7 : i + (spec.nameBase ?? 0);
}

/** The first wall-clock time (as a UTC-field ms value) strictly after `naive` that matches, at whole seconds. */
function cronNext(c: Compiled, naive: number): number | undefined {
  if (!(Math.abs(naive) < 8.6e15)) return undefined;
  const d = c.cron.nextRun(new Date(naive));
  return d === null ? undefined : d.getTime();
}

// ---------------------------------------------------------------------------------------
// Time zones: UTC offsets and their transitions, found with Intl and memoised per year.

interface Transition {
  /** First instant with the new offset. */
  at: number;
  /** Offsets (ms, local minus UTC) before and from `at`. */
  before: number;
  after: number;
}
interface YearInfo {
  startOffset: number;
  transitions: Transition[];
}
interface Zone {
  /** Undefined: UTC, no transitions. */
  fmt: Intl.DateTimeFormat | undefined;
  years: Map<number, YearInfo>;
}
/** Offsets are sampled this far apart, then transitions found by bisection (two within 6 h would be missed). */
const SAMPLE_MS = 6 * 3600_000;
const zoneCache = new Map<string, Zone | null>();

function zoneFor(name: string): Zone | undefined {
  const hit = zoneCache.get(name);
  if (hit !== undefined) return hit ?? undefined;
  let zone: Zone | null = null;
  try {
    const fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    const id = fmt.resolvedOptions().timeZone;
    zone = { fmt: id === 'UTC' || id === 'Etc/UTC' || id === 'Etc/GMT' ? undefined : fmt, years: new Map() };
  } catch {
    zone = null;
  }
  if (zoneCache.size >= 1000) zoneCache.clear();
  zoneCache.set(name, zone);
  return zone ?? undefined;
}

function utcMs(year: number, monthIndex: number, day: number, h = 0, mi = 0, s = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, monthIndex, day);
  d.setUTCHours(h, mi, s, 0);
  return d.getTime();
}

/** en-US with h23: "3/29/2026, 03:30:00". */
const LOCAL_TEXT = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/;

function offsetAt(fmt: Intl.DateTimeFormat, t: number): number {
  const sec = Math.floor(t / 1000) * 1000;
  // format() and a regex: about 4× faster than formatToParts, which is the fallback.
  const m = LOCAL_TEXT.exec(fmt.format(sec));
  if (m) return utcMs(Number(m[3]), Number(m[1]) - 1, Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6])) - sec;
  const f = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const p of fmt.formatToParts(sec)) {
    if (p.type in f) f[p.type as keyof typeof f] = Number(p.value);
  }
  return utcMs(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) - sec;
}

function yearInfo(z: Zone, fmt: Intl.DateTimeFormat, year: number): YearInfo {
  const hit = z.years.get(year);
  if (hit) return hit;
  const start = utcMs(year, 0, 1);
  const end = utcMs(year + 1, 0, 1);
  const startOffset = offsetAt(fmt, start);
  const transitions: Transition[] = [];
  let lo = start;
  let loOffset = startOffset;
  while (lo < end) {
    const next = Math.min(lo + SAMPLE_MS, end);
    if (offsetAt(fmt, next) === loOffset) {
      lo = next;
      continue;
    }
    // offset(a) = loOffset, offset(b) ≠ loOffset: bisect to the first instant of the new offset.
    let a = lo;
    let b = next;
    while (b - a > 1) {
      const m = Math.floor((a + b) / 2);
      if (offsetAt(fmt, m) === loOffset) a = m;
      else b = m;
    }
    const after = offsetAt(fmt, b);
    transitions.push({ at: b, before: loOffset, after });
    lo = b;
    loOffset = after;
  }
  const info = { startOffset, transitions };
  if (z.years.size >= 2000) z.years.clear();
  z.years.set(year, info);
  return info;
}

interface Segment {
  /** Offset of every instant in [x, end). */
  offset: number;
  /** Exclusive end: the next transition (or a stretch to re-check from). */
  end: number;
  /** The last transition at or before x, if within about a year. */
  prev: Transition | undefined;
}

/** The stretch of constant offset that holds instant x. */
function segmentAt(z: Zone, x: number): Segment {
  const fmt = z.fmt;
  if (!fmt) return { offset: 0, end: Infinity, prev: undefined };
  const year = new Date(x).getUTCFullYear();
  const here = yearInfo(z, fmt, year);
  let prev: Transition | undefined;
  for (const list of [here.transitions, yearInfo(z, fmt, year - 1).transitions]) {
    for (let i = list.length - 1; i >= 0 && !prev; i--) if (list[i]!.at <= x) prev = list[i];
    if (prev) break;
  }
  const offset = prev && prev.at >= utcMs(year, 0, 1) ? prev.after : here.startOffset;
  let end: number | undefined;
  for (const list of [here.transitions, yearInfo(z, fmt, year + 1).transitions]) {
    end = list.find((t) => t.at > x)?.at;
    if (end !== undefined) break;
  }
  return { offset, end: end ?? utcMs(year + 2, 0, 1), prev };
}

/** Every fire strictly after `after`, ascending, each once. */
function* cronFires(c: Compiled, z: Zone, after: number): Generator<number, void, undefined> {
  let x = Math.floor(after) + 1; // fires are whole ms (whole seconds): t > after ⇔ t ≥ x
  for (;;) {
    const seg = segmentAt(z, x);
    const o = seg.offset;
    const prev = seg.prev;
    // A fixed-time job's wall-clock times in the gap just before this stretch, shifted forward by the gap.
    const shifted: number[] = [];
    if (c.fixed && prev && prev.after > prev.before && x < prev.at + (prev.after - prev.before)) {
      for (let n = cronNext(c, x - 1 + prev.before); n !== undefined && n < prev.at + prev.after; n = cronNext(c, n)) {
        const t = n - prev.before;
        if (t >= seg.end) break;
        shifted.push(t);
      }
    }
    // A fixed-time job does not repeat the wall-clock times it had before a fall-back.
    let from = x - 1 + o;
    if (c.fixed && prev && prev.after < prev.before) from = Math.max(from, prev.at + prev.before - 1);
    let n = cronNext(c, from);
    let i = 0;
    while (n !== undefined && n - o < seg.end) {
      const t = n - o;
      while (i < shifted.length && shifted[i]! < t) yield shifted[i++]!;
      if (shifted[i] === t) i++;
      yield t;
      n = cronNext(c, n);
    }
    while (i < shifted.length) yield shifted[i++]!;
    if (n === undefined) return;
    x = seg.end;
  }
}

// ---------------------------------------------------------------------------------------
// API

/** An error message naming what is wrong with a cron expression (or its time zone), or undefined when it is fine. */
export function validateCron(expr: string, timeZone?: string): string | undefined {
  const c = compile(expr);
  if (typeof c === 'string') return c;
  if (timeZone !== undefined && !zoneFor(timeZone)) return `unknown time zone ${JSON.stringify(timeZone)}`;
  return undefined;
}

/** An error message for a schedule these functions cannot use, or undefined. (Invalid schedules never fire.) */
export function validateSchedule(s: Schedule): string | undefined {
  if (s.type === 'interval') {
    const i = s.intervalSeconds;
    if (i === undefined) return 'intervalSeconds is required for an interval schedule';
    if (!Number.isSafeInteger(i) || i < 1) return `intervalSeconds ${i} must be a whole number ≥ 1`;
    if (s.timeZone !== undefined && !zoneFor(s.timeZone)) return `unknown time zone ${JSON.stringify(s.timeZone)}`;
    return undefined;
  }
  if (s.type === 'cron') {
    if (s.cron === undefined) return 'cron is required for a cron schedule';
    return validateCron(s.cron, s.timeZone);
  }
  return `unknown schedule type ${JSON.stringify(s.type)}`;
}

type Plan = { kind: 'interval'; periodMs: number } | { kind: 'cron'; c: Compiled; z: Zone };

function plan(s: Schedule): Plan | undefined {
  if (s.type === 'interval') {
    const i = s.intervalSeconds;
    return i !== undefined && Number.isSafeInteger(i) && i >= 1 ? { kind: 'interval', periodMs: i * 1000 } : undefined;
  }
  if (s.type !== 'cron' || s.cron === undefined) return undefined;
  const c = compile(s.cron);
  const z = zoneFor(s.timeZone ?? DEFAULT_TIME_ZONE);
  return typeof c === 'string' || !z ? undefined : { kind: 'cron', c, z };
}

/** The first fire strictly after `afterMs`; undefined when there is none (or the schedule is invalid). */
export function nextFireTime(s: Schedule, afterMs: number): number | undefined {
  const p = plan(s);
  if (!p || !Number.isFinite(afterMs)) return undefined;
  if (p.kind === 'interval') return (Math.floor(afterMs / p.periodMs) + 1) * p.periodMs;
  for (const t of cronFires(p.c, p.z, afterMs)) return t;
  return undefined;
}

/**
 * Every fire in (afterMs, untilMs], ascending. When there are more than `max`, the LAST `max`
 * (a scheduler catching up needs the newest) and, in `more`, how many earlier ones were left
 * out: exact for intervals (arithmetic); for cron counted one by one up to FIRE_COUNT_CAP,
 * where counting stops (`more` is then at least that).
 */
export function fireTimesBetween(s: Schedule, afterMs: number, untilMs: number, max: number): { times: number[]; more: number } {
  const p = plan(s);
  const keep = Math.min(Math.max(0, Math.floor(max)) || 0, FIRE_COUNT_CAP);
  if (!p || !Number.isFinite(afterMs) || !Number.isFinite(untilMs) || untilMs <= afterMs) return { times: [], more: 0 };
  if (p.kind === 'interval') {
    const first = Math.floor(afterMs / p.periodMs) + 1;
    const last = Math.floor(untilMs / p.periodMs);
    const count = Math.max(0, last - first + 1);
    const n = Math.min(count, keep);
    const times: number[] = [];
    for (let k = last - n + 1; k <= last; k++) times.push(k * p.periodMs);
    return { times, more: count - n };
  }
  return cronBetween(p.c, p.z, afterMs, untilMs, keep);
}

function cronBetween(c: Compiled, z: Zone, after: number, until: number, keep: number): { times: number[]; more: number } {
  // The newest `keep` fires: look back from `until` over a window growing 4× until it holds
  // `keep` fires or reaches `after` (total work ≈ 4/3 of the last window).
  let window = 60_000;
  let from: number;
  let ring: number[];
  let inWindow: number;
  for (;;) {
    from = Math.max(after, until - window);
    ring = [];
    inWindow = 0;
    for (const t of cronFires(c, z, from)) {
      if (t > until) break;
      if (keep > 0) ring[inWindow % keep] = t;
      inWindow++;
    }
    if (inWindow >= keep || from === after) break;
    window *= 4;
  }
  const n = Math.min(inWindow, keep);
  const start = inWindow > keep ? inWindow % keep : 0;
  const times: number[] = [];
  for (let k = 0; k < n; k++) times.push(ring[(start + k) % Math.max(keep, 1)]!);
  // Fires in (after, from] are only counted, one by one; counting stops at FIRE_COUNT_CAP
  // (a few seconds of work) so a decade of per-second fires cannot stall the scheduler.
  let more = inWindow - n;
  if (from > after && more < FIRE_COUNT_CAP) {
    for (const t of cronFires(c, z, after)) {
      if (t > from) break;
      if (++more >= FIRE_COUNT_CAP) break;
    }
  }
  return { times, more: Math.min(more, FIRE_COUNT_CAP) };
}
