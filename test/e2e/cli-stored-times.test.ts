// A journal that holds a time beyond the accepted range (written before the range existed):
// `orderly orders` and `orderly order show` still answer.

import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import type { Event } from '../../src/core/events.js';
import { SqliteStore } from '../../src/journal/sqlite.js';
import { EMBEDDED_EPOCH } from '../../src/journal/types.js';
import { createOrderly } from '../../src/node/library.js';
import { cleanUp, cli, ROOT, tempDir } from '../support/cli-process.js';

afterAll(cleanUp);

it('orders and order show read a stored scheduledFor of 8640000000000001', async () => {
  const dir = tempDir('orderly-times-');
  const o = await createOrderly({ dataDir: dir });
  await o.deployDir(join(ROOT, 'examples/all'));
  await o.addOrder({ workflow: 'pdSerialSingle', id: 'near', scheduledFor: Date.now() + 3_600_000 });
  await o.close();
  const store = SqliteStore.open(join(dir, 'journal.sqlite'));
  const added = (await store.readAfter(0, 100_000)).map((s) => s.event).find((e) => e.type === 'OrderAdded')!;
  await store.append([{ ...added, orderId: 'far', scheduledFor: 8640000000000001 } as Event], EMBEDDED_EPOCH);
  await store.close();

  const list = await cli(['orders', '--data-dir', dir]);
  expect(list.stderr).not.toContain('RangeError');
  expect(list.code).toBe(0);
  expect(list.stdout).toContain('far');
  expect(list.stdout).toContain('9999-12-31T23:59:59.999Z');
  const show = await cli(['order', 'show', 'far', '--data-dir', dir]);
  expect(show.stderr).not.toContain('RangeError');
  expect(show.code).toBe(0);
  expect(show.stdout).toContain('9999-12-31T23:59:59.999Z');
});
