// Refusals: 400 with paths, 404, 409 (duplicate id, referenced lock, cycle, state), 413, 415;
// a refused request changes nothing.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { harness, stateOf, type ErrorJson, type Harness } from './support.js';

let h: Harness;

beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

/** Sends the request, expects the status and that nothing changed; returns the error. */
async function refused(req: Parameters<Harness['call']>[0], status: number): Promise<ErrorJson['error']> {
  await h.orderly.engine.whenIdle();
  const before = await stateOf(h);
  const r = await h.call(req);
  expect(r.statusCode, r.body).toBe(status);
  expect(r.headers['content-type']).toContain('application/json');
  const body = r.json<ErrorJson>();
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error.code).toBe('string');
  expect(typeof body.error.message).toBe('string');
  await h.orderly.engine.whenIdle();
  expect(await stateOf(h)).toBe(before);
  return body.error;
}

const paths = (e: ErrorJson['error']): string[] => (e.problems ?? []).map((p) => p.path);

const lockedWorkflow = (outer: string, inner: string): Record<string, unknown> => ({
  TYPE: 'Workflow',
  instructions: [
    {
      TYPE: 'Lock',
      demands: [{ lockName: outer }],
      lockedWorkflow: {
        instructions: [{ TYPE: 'Lock', demands: [{ lockName: inner }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } }],
      },
    },
  ],
  jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script: 'true' } } },
});

describe('400 invalid names the path', () => {
  it('in an order body', async () => {
    const e = await refused({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', priority: 'high', color: 'red' } }, 400);
    expect(e.code).toBe('invalid');
    expect(e.problems).toEqual(
      expect.arrayContaining([
        { path: 'body.priority', message: expect.stringContaining('whole number') as unknown },
        { path: 'body.color', message: 'unknown field' },
      ]),
    );
    expect(e.message).toMatch(/^body\.\w+: /);
  });

  it('for a missing field, a bad id, a bad time, a non-integer priority', async () => {
    expect(paths(await refused({ method: 'POST', url: '/api/v1/orders', payload: {} }, 400))).toEqual(['body.workflow']);
    expect(paths(await refused({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id: 'has space' } }, 400))).toEqual(['body.id']);
    expect(paths(await refused({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', scheduledFor: 'tomorrow' } }, 400))).toEqual([
      'body.scheduledFor',
    ]);
    expect(paths(await refused({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', scheduledFor: '2030-13-45T99:00:00Z' } }, 400))).toEqual([
      'body.scheduledFor',
    ]);
    expect(paths(await refused({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', priority: 1.5 } }, 400))).toEqual(['body.priority']);
    expect(paths(await refused({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', arguments: { a: 1 } } }, 400))).toEqual([
      'body.arguments.a',
    ]);
  });

  it('for an undeployed workflow (judged by the engine)', async () => {
    const e = await refused({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'nope' } }, 400);
    expect(e.problems).toEqual([{ path: 'body.workflow', message: 'workflow nope is not deployed' }]);
  });

  it('inside a batch, which is refused as a whole', async () => {
    const e = await refused(
      { method: 'POST', url: '/api/v1/orders', payload: { orders: [{ workflow: 'pdSerialSingle', id: 'ok1' }, { workflow: 'pdSerialSingle', priority: 'x' }] } },
      400,
    );
    expect(paths(e)).toEqual(['body.orders[1].priority']);
    expect(paths(await refused({ method: 'POST', url: '/api/v1/orders', payload: { orders: [] } }, 400))).toEqual(['body.orders']);
    const many = Array.from({ length: 1001 }, () => ({ workflow: 'pdSerialSingle' }));
    expect(paths(await refused({ method: 'POST', url: '/api/v1/orders', payload: { orders: many } }, 400))).toEqual(['body.orders']);
  });

  it('in a workflow document, deep inside', async () => {
    const wf = {
      TYPE: 'Workflow',
      instructions: [
        {
          TYPE: 'Lock',
          demands: [{ lockName: 'pdSerialLockSingle', count: 2 }],
          lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] },
        },
      ],
      jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script: 'true' } } },
    };
    const e = await refused({ method: 'PUT', url: '/api/v1/workflows/bad', payload: wf }, 400);
    expect(e.problems).toEqual([{ path: 'body.instructions[0].demands[0].count', message: 'must be ≤ limit 1 of lock pdSerialLockSingle' }]);
    const e2 = await refused({ method: 'PUT', url: '/api/v1/workflows/bad', payload: { TYPE: 'Workflow', instructions: [{ TYPE: 'Sleep' }], jobs: {} } }, 400);
    expect(paths(e2)).toEqual(['body.instructions[0].duration']);
    const e3 = await refused({ method: 'PUT', url: '/api/v1/workflows/bad', payload: { TYPE: 'Workflow', jobs: {} } }, 400);
    expect(paths(e3)).toEqual(['body.instructions']);
  });

  it('in a lock, a query, a parameter', async () => {
    expect(paths(await refused({ method: 'PUT', url: '/api/v1/locks/l1', payload: { limit: -1 } }, 400))).toEqual(['body.limit']);
    expect(paths(await refused({ method: 'PUT', url: '/api/v1/locks/l1', payload: { limit: 1, name: 'other' } }, 400))).toEqual(['body.name']);
    expect(paths(await refused({ method: 'PUT', url: '/api/v1/locks/bad%20name', payload: { limit: 1 } }, 400))).toEqual(['params.name']);
    expect(paths(await refused({ method: 'GET', url: '/api/v1/orders?limit=5000' }, 400))).toEqual(['query.limit']);
    expect(paths(await refused({ method: 'GET', url: '/api/v1/orders?limit=ten' }, 400))).toEqual(['query.limit']);
    expect(paths(await refused({ method: 'GET', url: '/api/v1/orders?state=sleeping' }, 400))).toEqual(['query.state']);
    expect(paths(await refused({ method: 'GET', url: '/api/v1/orders?colour=red' }, 400))).toEqual(['query.colour']);
    expect(paths(await refused({ method: 'POST', url: '/api/v1/orders/x/resume', payload: { position: 'start' } }, 400))).toEqual(['body.position']);
  });

  it('for a body that is not JSON, or not an object', async () => {
    const e = await refused({ method: 'POST', url: '/api/v1/orders', payload: '{"workflow": ', headers: { 'content-type': 'application/json' } }, 400);
    expect(paths(e)).toEqual(['body']);
    const e2 = await refused({ method: 'POST', url: '/api/v1/orders', payload: '[1,2]', headers: { 'content-type': 'application/json' } }, 400);
    expect(e2.problems).toEqual([{ path: 'body', message: 'must be a JSON object' }]);
  });
});

describe('404 not-found', () => {
  it('for unknown orders, locks, workflows and routes', async () => {
    expect((await refused({ method: 'GET', url: '/api/v1/orders/nope' }, 404)).code).toBe('not-found');
    expect((await refused({ method: 'POST', url: '/api/v1/orders/nope/cancel', payload: {} }, 404)).code).toBe('not-found');
    expect((await refused({ method: 'GET', url: '/api/v1/orders/nope/log' }, 404)).code).toBe('not-found');
    expect((await refused({ method: 'GET', url: '/api/v1/locks/nope' }, 404)).code).toBe('not-found');
    expect((await refused({ method: 'DELETE', url: '/api/v1/locks/nope' }, 404)).code).toBe('not-found');
    expect((await refused({ method: 'GET', url: '/api/v1/workflows/nope' }, 404)).code).toBe('not-found');
    expect((await refused({ method: 'GET', url: '/api/v1/workflows/nope/versions' }, 404)).code).toBe('not-found');
    expect((await refused({ method: 'GET', url: '/api/v1/nothing-here' }, 404)).message).toBe('no route GET /api/v1/nothing-here');
  });
});

describe('409', () => {
  it('conflict for a duplicate order id', async () => {
    await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id: 'same' } });
    const e = await refused({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialShared', id: 'same' } }, 409);
    expect(e).toMatchObject({ code: 'conflict', message: 'order same exists already' });
  });

  it('conflict for deleting a referenced lock', async () => {
    const e = await refused({ method: 'DELETE', url: '/api/v1/locks/pdSerialLockSingle' }, 409);
    expect(e.code).toBe('conflict');
    expect(e.message).toContain('referenced by workflow');
  });

  it('lock-order-cycle for a deploy that would close a cycle', async () => {
    await h.call({ method: 'PUT', url: '/api/v1/locks/A', payload: { limit: 1 } });
    await h.call({ method: 'PUT', url: '/api/v1/locks/B', payload: { limit: 1 } });
    expect((await h.call({ method: 'PUT', url: '/api/v1/workflows/ab', payload: lockedWorkflow('A', 'B') })).statusCode).toBe(200);
    const e = await refused({ method: 'PUT', url: '/api/v1/workflows/ba', payload: lockedWorkflow('B', 'A') }, 409);
    expect(e.code).toBe('lock-order-cycle');
    expect(e.message).toContain('A → B → A');
    expect(e.message).toContain('ab');
  });

  it('state for a command the order cannot do now', async () => {
    await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id: 'st1' } });
    await h.call({ method: 'POST', url: '/api/v1/orders/st1/cancel' });
    const e = await refused({ method: 'POST', url: '/api/v1/orders/st1/resume' }, 409);
    expect(e.code).toBe('state');
  });
});

describe('413 and 415', () => {
  it('refuses a body over the limit', async () => {
    const small = await harness({ server: { bodyLimitBytes: 1000 } });
    try {
      const before = await stateOf(small);
      const r = await small.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', arguments: { a: 'x'.repeat(2000) } } });
      expect(r.statusCode).toBe(413);
      expect(r.json<ErrorJson>().error.code).toBe('too-large');
      expect(await stateOf(small)).toBe(before);
    } finally {
      await small.close();
    }
    // The default limit is 1 MiB.
    const e = await refused({ method: 'PUT', url: '/api/v1/workflows/big', payload: { TYPE: 'Workflow', title: 'x'.repeat(1024 * 1024), instructions: [], jobs: {} } }, 413);
    expect(e.code).toBe('too-large');
  });

  it('refuses a body that is not JSON by its content type', async () => {
    const e = await refused({ method: 'POST', url: '/api/v1/orders', payload: 'workflow=x', headers: { 'content-type': 'text/plain' } }, 415);
    expect(e.code).toBe('unsupported-media-type');
  });
});
