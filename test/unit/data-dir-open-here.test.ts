// One writer per data dir also within one process: a second open of a data dir whose Orderly
// is not closed yet is refused with a clear error (the pid file alone cannot tell the two
// opens apart); after close, and after a start that failed, the data dir opens again.

import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createOrderly } from '../../src/index.js';
import { DataDirBusy } from '../../src/node/data-dir.js';
import { startNode } from '../../src/node/start.js';

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});
const fresh = (): string => (root = mkdtempSync(join(tmpdir(), 'orderly-open-here-')));

it('refuses a second open of the same data dir in this process, and reopens after close', async () => {
  const dir = join(fresh(), 'data');
  const first = await createOrderly({ dataDir: dir, jobLauncher: 'inline' });
  try {
    await first.deploy({ workflows: [{ name: 'w', instructions: [], jobs: {} }] });
    const second = createOrderly({ dataDir: dir, jobLauncher: 'inline' });
    await expect(second).rejects.toThrow(DataDirBusy);
    await expect(second).rejects.toThrow(/already open in this process/);
    // Through another path to the same dir (a symlink): the same dir, refused too.
    const link = join(root!, 'link');
    symlinkSync(dir, link);
    await expect(createOrderly({ dataDir: link, jobLauncher: 'inline' })).rejects.toThrow(/already open in this process/);
    // Refused, it changed nothing: the first goes on writing, and holds the lock.
    await first.addOrder({ id: 'a', workflow: 'w' });
    expect(existsSync(join(dir, 'engine.pid'))).toBe(true);
  } finally {
    await first.close();
  }
  expect(existsSync(join(dir, 'engine.pid'))).toBe(false);

  const again = await createOrderly({ dataDir: dir, jobLauncher: 'inline' });
  try {
    expect(again.getOrder('a')).toBeDefined();
  } finally {
    await again.close();
  }
});

it('of two opens at once, one gets the data dir and the other is refused', async () => {
  const dir = join(fresh(), 'data');
  const both = await Promise.allSettled([createOrderly({ dataDir: dir, jobLauncher: 'inline' }), createOrderly({ dataDir: dir, jobLauncher: 'inline' })]);
  const opened = both.filter((r) => r.status === 'fulfilled');
  const refused = both.filter((r) => r.status === 'rejected');
  expect(opened).toHaveLength(1);
  expect(refused).toHaveLength(1);
  expect(String(refused[0]!.reason)).toMatch(/already open in this process/);
  await opened[0]!.value.close();
});

it('a start that fails lets the data dir go, in this process too', async () => {
  const dir = join(fresh(), 'data');
  await expect(
    startNode({
      dataDir: dir,
      jobLauncher: 'inline',
      onEngine: () => {
        throw new Error('the caller failed');
      },
    }),
  ).rejects.toThrow('the caller failed');
  const again = await createOrderly({ dataDir: dir, jobLauncher: 'inline' });
  await again.close();
});

it('a pid file naming this process but held by no open here is stale (a pid reused after a crash)', async () => {
  const dir = join(fresh(), 'data');
  mkdirSync(dir);
  writeFileSync(join(dir, 'engine.pid'), `${process.pid}\n`);
  const o = await createOrderly({ dataDir: dir, jobLauncher: 'inline' });
  await o.close();
  expect(existsSync(join(dir, 'engine.pid'))).toBe(false);
});
