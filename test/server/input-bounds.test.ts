// Bad input refused where it comes in: time values out of range, arguments that could not
// reach a job's environment. And a journal that already holds such a time still reads.

import { afterEach, describe, expect, it } from 'vitest';

import type { Event } from '../../src/core/events.js';
import { TIME_MS_MAX } from '../../src/core/time.js';
import { MemoryStore } from '../../src/journal/memory.js';
import { EMBEDDED_EPOCH } from '../../src/journal/types.js';
import { createOrderly } from '../../src/node/library.js';
import { OrderlyError } from '../../src/runtime/orderly.js';
import { EXAMPLES, harness, type ErrorJson, type Harness } from './support.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('time values have bounds', () => {
  it.each([8640000000000001, 1e21, 2 ** 63, TIME_MS_MAX + 1, -62_167_219_200_001])('POST /api/v1/orders refuses scheduledFor %s', async (t) => {
    h = await harness();
    const r = await h.call({ method: 'POST', url: '/api/v1/orders', payload: `{"workflow":"pdSerialSingle","id":"x","scheduledFor":${String(t)}}`, headers: { 'content-type': 'application/json' }, as: 'operator' });
    expect(r.statusCode).toBe(400);
    expect(r.json<ErrorJson>().error.problems?.[0]?.path).toBe('body.scheduledFor');
    expect(h.orderly.getOrder('x')).toBeUndefined();
  });

  it('refuses an ISO time that is out of range, and one at the bound is fine', async () => {
    h = await harness();
    let r = await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id: 'x', scheduledFor: '9999-12-31T23:59:59.999-01:00' }, as: 'operator' });
    expect(r.statusCode).toBe(400);
    expect(r.json<ErrorJson>().error.problems?.[0]).toMatchObject({ path: 'body.scheduledFor', message: expect.stringContaining('9999') });
    r = await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id: 'x', scheduledFor: TIME_MS_MAX }, as: 'operator' });
    expect(r.statusCode).toBe(201);
  });

  it('the library refuses it too', async () => {
    const o = await createOrderly();
    try {
      await o.deployDir(EXAMPLES);
      const err = await o.addOrder({ workflow: 'pdSerialSingle', scheduledFor: 8640000000000001 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OrderlyError);
      expect((err as OrderlyError).problems?.[0]?.path).toBe('scheduledFor');
    } finally {
      await o.close();
    }
  });

  it('a journal that already holds such a time is read everywhere without error', async () => {
    // A journal written before the bound existed: its OrderAdded carries 8640000000000001.
    const first = await createOrderly();
    await first.deployDir(EXAMPLES);
    await first.addOrder({ workflow: 'pdSerialSingle', id: 'ok1' });
    const events = (await first.engine.store.readAfter(0, 100_000)).map((s) => s.event);
    await first.close();
    const added = events.find((e) => e.type === 'OrderAdded')!;
    const store = new MemoryStore();
    await store.append([...events, { ...added, orderId: 'far', scheduledFor: 8640000000000001 } as Event], EMBEDDED_EPOCH);
    await store.append([{ ...added, orderId: 'farther', scheduledFor: 1e21 } as Event], EMBEDDED_EPOCH);
    h = await harness({ orderly: { store }, deploy: false });
    for (const url of ['/v2/api/jobs', '/v2/api/jobstats', '/v2/api/jobs/far', '/v2/api/jobs/farther', '/api/v1/orders', '/api/v1/orders/far']) {
      const r = await h.call({ method: 'GET', url, as: 'viewer' });
      expect(r.statusCode, `${url}: ${r.body}`).toBe(200);
    }
    const r = await h.call({ method: 'POST', url: '/api/v1/orders/far/cancel', as: 'operator' });
    expect(r.statusCode).toBe(200);
    expect((await h.call({ method: 'GET', url: '/v2/api/jobs/far', as: 'viewer' })).statusCode).toBe(200);
  });
});

describe('arguments are refused at add', () => {
  it('two names that become one environment variable: 400 naming both', async () => {
    h = await harness();
    const r = await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id: 'x', arguments: { 'file.name': 'a', file_name: 'b' } }, as: 'operator' });
    expect(r.statusCode).toBe(400);
    const p = r.json<ErrorJson>().error.problems!;
    expect(p).toHaveLength(1);
    expect(p[0]!.path).toBe('body.arguments.file_name');
    expect(p[0]!.message).toContain('"file.name" and "file_name"');
    expect(p[0]!.message).toContain('ORDERLY_ARG_FILE_NAME');
    expect(h.orderly.getOrder('x')).toBeUndefined();
  });

  it('a NUL byte in a value: 400', async () => {
    h = await harness();
    const r = await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id: 'x', arguments: { a: 'x\u0000y' } }, as: 'operator' });
    expect(r.statusCode).toBe(400);
    expect(r.json<ErrorJson>().error.problems).toEqual([{ path: 'body.arguments.a', message: expect.stringContaining('NUL') }]);
  });

  it('the library refuses both, and so do job configs and workflows', async () => {
    const o = await createOrderly();
    try {
      await o.deployDir(EXAMPLES);
      const e1 = await o.addOrder({ workflow: 'pdSerialSingle', arguments: { 'a-b': '1', a_b: '2' } }).catch((e: unknown) => e);
      expect((e1 as OrderlyError).problems?.[0]?.message).toContain('ORDERLY_ARG_A_B');
      const e2 = await o.saveJobConfig({ name: 'c', command: 'true', defaultArguments: { x: 'a\u0000' } }).catch((e: unknown) => e);
      expect((e2 as OrderlyError).problems?.[0]).toMatchObject({ path: 'defaultArguments.x', message: expect.stringContaining('NUL') });
      const e3 = await o.saveJobConfig({ name: 'c', command: 'echo \u0000' }).catch((e: unknown) => e);
      expect((e3 as OrderlyError).problems?.[0]?.path).toBe('command');
      const wf = {
        instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }],
        jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script: 'true' }, defaultArguments: { 'p.q': '1', P_Q: '2' } } },
      };
      const e4 = await o.deploy({ workflows: [{ name: 'w', ...wf } as never] }).catch((e: unknown) => e);
      expect(JSON.stringify((e4 as OrderlyError).problems)).toContain('ORDERLY_ARG_P_Q');
    } finally {
      await o.close();
    }
  });
});
