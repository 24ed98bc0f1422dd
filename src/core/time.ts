// Time values: milliseconds since the epoch, within years 0000 to 9999 (UTC).
//
// Every time a caller gives (an order's `scheduledFor`, a run's, query windows) is checked
// against this range where it comes in, so that every time Orderly keeps can be written as
// ISO-8601 with a four-digit year. Readers still never trust a stored value: `clampTime` and
// `isoTime` render anything (a journal written before the range existed, NaN) without throwing.

/** 0000-01-01T00:00:00.000Z. */
export const TIME_MS_MIN = -62_167_219_200_000;
/** 9999-12-31T23:59:59.999Z. */
export const TIME_MS_MAX = 253_402_300_799_999;

export const TIME_RANGE_TEXT = 'a time in ms since the epoch between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z';

/** Why `v` is not a time Orderly accepts (undefined when it is). */
export function timeProblem(v: unknown): string | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v)) return `must be ${TIME_RANGE_TEXT}`;
  if (v < TIME_MS_MIN || v > TIME_MS_MAX) return `out of range: must be ${TIME_RANGE_TEXT}`;
  return undefined;
}

/** A stored time brought into the range (NaN and non-numbers become the epoch). */
export function clampTime(v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) return 0;
  return Math.min(TIME_MS_MAX, Math.max(TIME_MS_MIN, v));
}

/** ISO-8601 of a stored time; a value out of range is shown at the nearest bound. Never throws. */
export function isoTime(v: unknown): string {
  return new Date(clampTime(v)).toISOString();
}
