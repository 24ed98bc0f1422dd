// The README's library example runs as written, importing the package by its name.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('README library example', () => {
  it('serializes three loads through one exclusive lock, with growing fencing tokens', () => {
    const script = new URL('../../examples/library/quickstart.mjs', import.meta.url).pathname;
    const out = execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
    expect(out).toContain('2 orders wait for the warehouse lock');
    expect(out).toMatch(/loading a\.csv with token 1[\s\S]*loading b\.csv with token 2[\s\S]*loading c\.csv with token 3/);
    expect(out).toContain('c.csv finished');
  });
});
