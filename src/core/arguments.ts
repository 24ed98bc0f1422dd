// Order arguments: names, values and the environment variables they become.
//
// Shell jobs see each argument as `ORDERLY_ARG_<NAME>` (NAME upper-cased, every character
// other than A-Z 0-9 _ as `_`). So an argument set is refused where it comes in (adding an
// order, saving a job config or template, deploying a workflow) when it could not be passed
// on at the job's start: a value with a NUL character (an environment cannot hold one), or
// two names that become one variable (`file.name` and `file_name`).

import type { ProblemItem } from './commands.js';

/** `ORDERLY_ARG_<NAME>` suffix: upper-cased, every char not [A-Z0-9_] → `_`. */
export function envNameSuffix(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

export const NUL_TEXT = 'must not contain a NUL character (\\u0000)';

/** True when `s` holds a NUL character. */
export function hasNul(s: string): boolean {
  return s.includes('\u0000');
}

/**
 * Problems of names that become the same environment variable: one per clash, at the later
 * name's path, naming both. `pathOf` gives a name's path.
 */
export function envClashes(names: Iterable<string>, pathOf: (name: string) => string): ProblemItem[] {
  const first = new Map<string, string>();
  const out: ProblemItem[] = [];
  for (const name of names) {
    const v = envNameSuffix(name);
    const other = first.get(v);
    if (other === undefined) first.set(v, name);
    else out.push({ path: pathOf(name), message: `${JSON.stringify(other)} and ${JSON.stringify(name)} both become the environment variable ORDERLY_ARG_${v}: use one name` });
  }
  return out;
}
