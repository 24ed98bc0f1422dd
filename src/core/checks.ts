// Checks shared by every boundary that takes the same kind of value: order arguments (orders,
// job configs, job templates), text sizes in bytes, IANA time zones.

import { envClashes, hasNul, NUL_TEXT } from './arguments.js';
import type { ProblemItem } from './commands.js';
import { LIMITS } from './model.js';

/** An argument name: it becomes part of an environment variable name (ORDERLY_ARG_<NAME>). */
export const ARGUMENT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** The length of `s` in UTF-8, without encoding it (the core has no Buffer). */
export function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** True for a time zone name this runtime knows (IANA, e.g. Europe/Berlin, or UTC). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * The problems of an arguments object (`{ name: "value" }`) at `path`: at most
 * LIMITS.argumentsMax names, each matching ARGUMENT_NAME, each value a string of at most
 * LIMITS.argumentValueBytesMax bytes in UTF-8 without a NUL character, and no two names that
 * become one environment variable (arguments.ts).
 */
export function argumentProblems(args: unknown, path: string): ProblemItem[] {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return [{ path, message: 'must be an object of strings' }];
  const keys = Object.keys(args);
  if (keys.length === 0) return [];
  const problems: ProblemItem[] = [];
  if (keys.length > LIMITS.argumentsMax) problems.push({ path, message: `at most ${LIMITS.argumentsMax} arguments` });
  for (const k of keys) {
    const v: unknown = (args as Record<string, unknown>)[k];
    const at = `${path}.${k}`;
    if (!ARGUMENT_NAME.test(k)) problems.push({ path: at, message: 'name must start with a letter or _ and use A-Z a-z 0-9 _ . -' });
    if (typeof v !== 'string') problems.push({ path: at, message: 'must be a string' });
    else if (v.length > LIMITS.argumentValueBytesMax / 3 && utf8Bytes(v) > LIMITS.argumentValueBytesMax) {
      problems.push({ path: at, message: `longer than ${LIMITS.argumentValueBytesMax} bytes (UTF-8)` });
    } else if (hasNul(v)) problems.push({ path: at, message: NUL_TEXT });
  }
  // Two names at least for a clash.
  if (keys.length > 1) problems.push(...envClashes(keys, (k) => `${path}.${k}`));
  return problems;
}
