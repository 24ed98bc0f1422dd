// Formatting an instant in a time zone with a Java DateTimeFormatter pattern (what JS7's
// `now(format, timezone)` takes). Deterministic: the wall clock of an instant comes from the
// ECMAScript Intl time-zone data, not from the host's clock or zone.

export interface WallClock {
  year: number;
  /** 1–12. */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  /** 1 = Monday … 7 = Sunday (ISO). */
  weekday: number;
  /** Minutes east of UTC. */
  offsetMinutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A formatter of the zone, or undefined when the zone is unknown. */
function formatterOf(timeZone: string): Intl.DateTimeFormat | undefined {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      return undefined;
    }
    if (formatters.size > 1000) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall clock of instant `ms` in `timeZone`, or undefined for an unknown zone. */
export function wallClock(ms: number, timeZone: string): WallClock | undefined {
  const f = formatterOf(timeZone);
  if (f === undefined) return undefined;
  const seconds = Math.floor(ms / 1000) * 1000;
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(seconds))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const year = parts['year']!;
  const month = parts['month']!;
  const day = parts['day']!;
  const hour = parts['hour']!;
  const minute = parts['minute']!;
  const second = parts['second']!;
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  const offsetMinutes = Math.round((asUtc - seconds) / 60_000);
  const weekdaySun0 = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  return {
    year,
    month,
    day,
    hour,
    minute,
    second,
    millisecond: ms - seconds,
    weekday: weekdaySun0 === 0 ? 7 : weekdaySun0,
    offsetMinutes,
  };
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

function pad(n: number, width: number): string {
  const s = String(Math.abs(n)).padStart(width, '0');
  return n < 0 ? `-${s}` : s;
}

function offsetText(minutes: number, colon: boolean, zForZero: boolean): string {
  if (minutes === 0 && zForZero) return 'Z';
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `${sign}${pad(Math.floor(m / 60), 2)}${colon ? ':' : ''}${pad(m % 60, 2)}`;
}

function dayOfYear(c: WallClock): number {
  return Math.round((Date.UTC(c.year, c.month - 1, c.day) - Date.UTC(c.year, 0, 1)) / 86_400_000) + 1;
}

export type Formatted = { ok: true; value: string } | { ok: false; message: string };

/**
 * Formats with a Java DateTimeFormatter pattern. Letters understood: y u M L d D H h k K m s S
 * a E e Z X x V; `'…'` quotes text (`''` is a quote). Other letters are refused.
 */
export function formatInstant(ms: number, pattern: string, timeZone: string): Formatted {
  const c = wallClock(ms, timeZone);
  if (c === undefined) return { ok: false, message: `unknown time zone: ${timeZone}` };
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end < 0) return { ok: false, message: `unterminated quote in the date format '${pattern}'` };
      out += end === i + 1 ? "'" : pattern.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(ch)) {
      out += ch;
      i++;
      continue;
    }
    let n = 1;
    while (pattern[i + n] === ch) n++;
    i += n;
    switch (ch) {
      case 'y':
      case 'u':
        out += n === 2 ? pad(c.year % 100, 2) : pad(c.year, n);
        break;
      case 'M':
      case 'L':
        out += n >= 4 ? MONTHS[c.month - 1]! : n === 3 ? MONTHS[c.month - 1]!.slice(0, 3) : pad(c.month, n);
        break;
      case 'd':
        out += pad(c.day, n);
        break;
      case 'D':
        out += pad(dayOfYear(c), n);
        break;
      case 'H':
        out += pad(c.hour, n);
        break;
      case 'k':
        out += pad(c.hour === 0 ? 24 : c.hour, n);
        break;
      case 'h':
        out += pad(c.hour % 12 === 0 ? 12 : c.hour % 12, n);
        break;
      case 'K':
        out += pad(c.hour % 12, n);
        break;
      case 'm':
        out += pad(c.minute, n);
        break;
      case 's':
        out += pad(c.second, n);
        break;
      case 'S':
        out += pad(c.millisecond, 3).padEnd(n, '0').slice(0, n);
        break;
      case 'a':
        out += c.hour < 12 ? 'AM' : 'PM';
        break;
      case 'E':
        out += n >= 4 ? WEEKDAYS[c.weekday - 1]! : WEEKDAYS[c.weekday - 1]!.slice(0, 3);
        break;
      case 'e':
        out += n <= 2 ? pad(c.weekday, n) : n === 3 ? WEEKDAYS[c.weekday - 1]!.slice(0, 3) : WEEKDAYS[c.weekday - 1]!;
        break;
      case 'Z':
        out += n <= 3 ? offsetText(c.offsetMinutes, false, false) : `GMT${offsetText(c.offsetMinutes, true, false)}`;
        break;
      case 'X':
      case 'x': {
        const z = ch === 'X';
        if (n === 1) out += c.offsetMinutes === 0 && z ? 'Z' : offsetText(c.offsetMinutes, false, z).replace(/00$/, '');
        else out += offsetText(c.offsetMinutes, n >= 3, z);
        break;
      }
      case 'V':
        out += timeZone;
        break;
      default:
        return { ok: false, message: `the date format letter '${ch}' is not supported (in '${pattern}')` };
    }
  }
  return { ok: true, value: out };
}
