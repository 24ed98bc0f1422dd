// A library that reopens its data dir registers its functions after createOrderly resolves (as
// the README shows). Orders waiting for a function job wait for a worker that runs it, and
// never fail for want of it; the order whose execution ran in the former life is lost with its
// worker.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createOrderly } from '../../src/index.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setImmediate(r));
};

it('orders of a function job wait for a worker that registered it, across a reopen', async () => {
  dir = mkdtempSync(join(tmpdir(), 'orderly-reopen-'));
  const first = await createOrderly({ dataDir: dir, jobLauncher: 'inline' });
  first.registerFunction('hold', () => new Promise(() => undefined)); // never ends in this life
  await first.deploy({
    workflows: [{ name: 'w', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'hold' } } } }],
  });
  for (let i = 0; i < 10; i++) await first.addOrder({ id: `o${i}`, workflow: 'w' });
  expect(first.getOrder('o0')?.state).toBe('processing');
  expect(first.getOrder('o1')?.state).toBe('waiting');
  await first.close();

  const again = await createOrderly({ dataDir: dir, jobLauncher: 'inline' });
  try {
    // The former life's execution is lost with its worker; the others wait, for a worker.
    expect(again.getOrder('o0')?.outcome).toMatchObject({ type: 'failed', reason: 'disrupted' });
    for (let i = 1; i < 10; i++) {
      const o = again.getOrder(`o${i}`)!;
      expect(o.state).toBe('waiting');
      expect(o.waitingFor).toMatchObject({ kind: 'worker', job: 'w:j' });
    }
    again.registerFunction('hold', () => undefined);
    await until(() => again.listOrders({ state: 'finished' }).length === 9);
    expect(again.listOrders({ state: 'failed' }).map((o) => o.id)).toEqual(['o0']);
  } finally {
    await again.close();
  }
});
