// Every route's happy path, over app.inject, with examples/all deployed.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { LockView, OrderView } from '../../src/runtime/views.js';
import { harness, type Harness } from './support.js';

let h: Harness;

beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

describe('health', () => {
  it('answers without a token', async () => {
    const r = await h.call({ method: 'GET', url: '/api/v1/health', as: null });
    expect(r.statusCode).toBe(200);
    const body = r.json<{ status: string; version: string; uptimeSeconds: number }>();
    expect(body.status).toBe('ok');
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof body.uptimeSeconds).toBe('number');
  });
});

describe('cluster', () => {
  it('any role: this embedded node is the controller, with its worker and slots', async () => {
    const r = await h.call({ method: 'GET', url: '/api/v1/cluster', as: 'viewer' });
    expect(r.statusCode).toBe(200);
    const body = r.json<{ controller: { node: string; epoch: number; since: number }; nodes: { name: string; role: string; agents: string[]; slots: number; running: number }[] }>();
    expect(body.controller.epoch).toBe(1);
    expect(body.nodes).toEqual([expect.objectContaining({ name: body.controller.node, role: 'controller', agents: [], slots: 0, running: 0 })]);
  });
});

describe('locks', () => {
  it('lists live state: one holder, the others queued in order with place and reason', async () => {
    for (const id of ['a1', 'a2', 'a3']) {
      const r = await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id }, as: 'operator' });
      expect(r.statusCode).toBe(201);
    }
    await h.orderly.engine.whenIdle();
    const r = await h.call({ method: 'GET', url: '/api/v1/locks', as: 'viewer' });
    expect(r.statusCode).toBe(200);
    const locks = r.json<{ locks: LockView[] }>().locks;
    const single = locks.find((l) => l.name === 'pdSerialLockSingle')!;
    expect(single.holders).toHaveLength(1);
    expect(single.holders[0]).toMatchObject({ orderId: 'a1', exclusive: true });
    expect(single.holders[0]!.token).toBeGreaterThan(0);
    expect(typeof single.holders[0]!.since).toBe('number');
    expect(single.queue.map((q) => [q.orderId, q.place])).toEqual([
      ['a2', 1],
      ['a3', 2],
    ]);
    expect(single.queue[0]!.demand).toEqual({ exclusive: true });
    expect(single.queue[0]!.reason).toContain('held by a1');
    expect(typeof single.queue[0]!.since).toBe('number');

    const one = await h.call({ method: 'GET', url: '/api/v1/locks/pdSerialLockSingle', as: 'viewer' });
    expect(one.statusCode).toBe(200);
    expect(one.json<LockView>()).toEqual(single);
  });

  it('deploys a lock (JS7 or plain), unchanged is no change, and deletes an unused one', async () => {
    let r = await h.call({ method: 'PUT', url: '/api/v1/locks/gate', payload: { TYPE: 'Lock', limit: 3, title: 'a gate', version: '1.0.0' } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ name: 'gate', changed: true });
    r = await h.call({ method: 'PUT', url: '/api/v1/locks/gate', payload: { limit: 3, title: 'a gate' } });
    expect(r.json()).toEqual({ name: 'gate', changed: false });
    r = await h.call({ method: 'PUT', url: '/api/v1/locks/gate', payload: { limit: 0, policy: 'greedy' } });
    expect(r.json()).toEqual({ name: 'gate', changed: true });
    const v = (await h.call({ method: 'GET', url: '/api/v1/locks/gate' })).json<LockView>();
    expect(v).toMatchObject({ name: 'gate', limit: 0, policy: 'greedy', state: 'closed' });
    r = await h.call({ method: 'DELETE', url: '/api/v1/locks/gate' });
    expect(r.statusCode).toBe(204);
    expect((await h.call({ method: 'GET', url: '/api/v1/locks/gate' })).statusCode).toBe(404);
  });

  it('shows a keyed family with its live instances', async () => {
    await h.call({ method: 'PUT', url: '/api/v1/locks/perCustomer', payload: { limit: 1, keyed: true } });
    const wf = {
      TYPE: 'Workflow',
      instructions: [
        {
          TYPE: 'Lock',
          demands: [{ lockName: 'perCustomer', key: '$customer' }],
          lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] },
        },
      ],
      jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script: 'true' } } },
    };
    expect((await h.call({ method: 'PUT', url: '/api/v1/workflows/keyedWf', payload: wf })).statusCode).toBe(200);
    await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'keyedWf', id: 'k1', arguments: { customer: 'acme' } } });
    await h.orderly.engine.whenIdle();
    const fam = (await h.call({ method: 'GET', url: '/api/v1/locks/perCustomer' })).json<LockView & { instances: string[] }>();
    expect(fam).toMatchObject({ name: 'perCustomer', keyed: true, instances: ['perCustomer[acme]'] });
    const inst = await h.call({ method: 'GET', url: `/api/v1/locks/${encodeURIComponent('perCustomer[acme]')}` });
    expect(inst.statusCode).toBe(200);
    expect(inst.json<LockView>().holders[0]!.orderId).toBe('k1');
  });
});

describe('workflows', () => {
  it('lists, exports JS7, and versions: a changed workflow is a new version, an identical one is not', async () => {
    let r = await h.call({ method: 'GET', url: '/api/v1/workflows', as: 'viewer' });
    expect(r.statusCode).toBe(200);
    const names = r.json<{ workflows: { name: string; latest: number; versions: number[] }[] }>().workflows.map((w) => w.name);
    expect(names).toEqual(['pdErrorRelease', 'pdErrorStop', 'pdSerialShared', 'pdSerialSingle']);

    r = await h.call({ method: 'GET', url: '/api/v1/workflows/pdSerialSingle', as: 'viewer' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-orderly-workflow-version']).toBe('1');
    const doc = r.json<{ TYPE: string; title: string; instructions: unknown[]; jobs: Record<string, unknown> }>();
    expect(doc.TYPE).toBe('Workflow');
    expect(Object.keys(doc.jobs)).toEqual(['job1', 'job2', 'job3']);

    // The export deployed again: nothing changes.
    r = await h.call({ method: 'PUT', url: '/api/v1/workflows/pdSerialSingle', payload: doc });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ name: 'pdSerialSingle', version: 1, changed: false });

    // Changed: version 2.
    r = await h.call({ method: 'PUT', url: '/api/v1/workflows/pdSerialSingle', payload: { ...doc, title: 'changed' } });
    expect(r.json()).toEqual({ name: 'pdSerialSingle', version: 2, changed: true });

    r = await h.call({ method: 'GET', url: '/api/v1/workflows/pdSerialSingle/versions', as: 'viewer' });
    expect(r.json()).toEqual({ name: 'pdSerialSingle', latest: 2, versions: [1, 2] });
    r = await h.call({ method: 'GET', url: '/api/v1/workflows/pdSerialSingle?version=1', as: 'viewer' });
    expect(r.json<{ title: string }>().title).toBe(doc.title);
    expect(r.headers['x-orderly-workflow-version']).toBe('1');
    r = await h.call({ method: 'GET', url: '/api/v1/workflows/pdSerialSingle', as: 'viewer' });
    expect(r.json<{ title: string }>().title).toBe('changed');
    expect((await h.call({ method: 'GET', url: '/api/v1/workflows/pdSerialSingle?version=3' })).statusCode).toBe(404);
  });

  it('deploys a new workflow from JS7 JSON (legacy single-lock form included)', async () => {
    const wf = {
      TYPE: 'Workflow',
      path: '/folder/fresh',
      instructions: [
        { TYPE: 'Lock', lockName: 'pdSerialLockSingle', lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } },
      ],
      jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script: 'echo hi' }, parallelism: 1 } },
    };
    const r = await h.call({ method: 'PUT', url: '/api/v1/workflows/fresh', payload: wf });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ name: 'fresh', version: 1, changed: true });
    const doc = (await h.call({ method: 'GET', url: '/api/v1/workflows/fresh' })).json<{ instructions: { demands: unknown[] }[] }>();
    expect(doc.instructions[0]!.demands).toEqual([{ lockName: 'pdSerialLockSingle' }]);
  });
});

describe('orders', () => {
  it('adds one order (201), shows it with its history, lists it', async () => {
    let r = await h.call({
      method: 'POST',
      url: '/api/v1/orders',
      payload: { workflow: 'pdSerialSingle', id: 'o1', arguments: { who: 'me' }, priority: 5 },
      as: 'operator',
    });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ id: 'o1' });
    r = await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle' }, as: 'operator' });
    expect(r.statusCode).toBe(201);
    expect(r.json<{ id: string }>().id).toMatch(/^[0-9a-f-]{36}$/);
    await h.orderly.engine.whenIdle();

    r = await h.call({ method: 'GET', url: '/api/v1/orders/o1', as: 'viewer' });
    expect(r.statusCode).toBe(200);
    const { order, history } = r.json<{ order: OrderView; history: { seq: number; event: { type: string } }[] }>();
    expect(order).toMatchObject({ id: 'o1', workflow: 'pdSerialSingle', arguments: { who: 'me' }, priority: 5 });
    expect(order.locks[0]!.lock).toBe('pdSerialLockSingle');
    expect(history.map((e) => e.event.type).slice(0, 2)).toEqual(['OrderAdded', 'OrderLocksAcquired']);
    expect(history[0]!.seq).toBeGreaterThan(0);
  });

  it('takes scheduledFor as ISO or ms', async () => {
    const at = Date.now() + 3_600_000;
    await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id: 's1', scheduledFor: at } });
    await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id: 's2', scheduledFor: new Date(at).toISOString() } });
    for (const id of ['s1', 's2']) {
      const o = (await h.call({ method: 'GET', url: `/api/v1/orders/${id}` })).json<{ order: OrderView }>().order;
      expect(o.state).toBe('scheduled');
      expect(o.scheduledFor).toBe(at);
    }
  });

  it('adds a batch with per-item results', async () => {
    await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id: 'dup' } });
    const r = await h.call({
      method: 'POST',
      url: '/api/v1/orders',
      payload: { orders: [{ workflow: 'pdSerialSingle', id: 'b1' }, { workflow: 'pdSerialSingle', id: 'dup' }, { workflow: 'nope', id: 'b3' }] },
      as: 'operator',
    });
    expect(r.statusCode).toBe(200);
    const { results } = r.json<{ results: ({ id: string } | { error: { code: string; problems?: { path: string }[] } })[] }>();
    expect(results[0]).toEqual({ id: 'b1' });
    expect(results[1]).toMatchObject({ error: { code: 'conflict' } });
    expect(results[2]).toMatchObject({ error: { code: 'invalid', problems: [{ path: 'body.orders[2].workflow' }] } });
    expect(h.orderly.getOrder('b1')).toBeDefined();
    expect(h.orderly.getOrder('b3')).toBeUndefined();
  });

  it('pages the list by id with a cursor, filtered by state and workflow', async () => {
    const ids = Array.from({ length: 7 }, (_, i) => `p${i}`).reverse();
    for (const id of ids) await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id } });
    await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialShared', id: 'x0' } });
    await h.orderly.engine.whenIdle();
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const url = `/api/v1/orders?workflow=pdSerialSingle&limit=3${after ? `&after=${after}` : ''}`;
      const r = await h.call({ method: 'GET', url, as: 'viewer' });
      expect(r.statusCode).toBe(200);
      const body = r.json<{ items: OrderView[]; next?: string }>();
      seen.push(...body.items.map((o) => o.id));
      if (!body.next) break;
      after = body.next;
    }
    expect(seen).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    const waiting = (await h.call({ method: 'GET', url: '/api/v1/orders?state=waiting' })).json<{ items: OrderView[] }>().items;
    expect(waiting.every((o) => o.state === 'waiting')).toBe(true);
    expect(waiting.length).toBeGreaterThan(0);
    const all = (await h.call({ method: 'GET', url: '/api/v1/orders' })).json<{ items: OrderView[]; next?: string }>();
    expect(all.items).toHaveLength(8);
    expect(all.next).toBeUndefined();
  });

  it('cancels, suspends, resumes and re-prioritises', async () => {
    for (const id of ['c1', 'c2', 'c3']) await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id } });
    await h.orderly.engine.whenIdle();

    let r = await h.call({ method: 'POST', url: '/api/v1/orders/c3/priority', payload: { priority: 10 }, as: 'operator' });
    expect(r.statusCode).toBe(200);
    expect(r.json<{ order: OrderView }>().order.priority).toBe(10);
    const queue = h.orderly.getLock('pdSerialLockSingle')!.queue.map((q) => q.orderId);
    expect(queue).toEqual(['c3', 'c2']);

    r = await h.call({ method: 'POST', url: '/api/v1/orders/c2/suspend', payload: { reset: true }, as: 'operator' });
    expect(r.statusCode).toBe(200);
    expect(r.json<{ order: OrderView }>().order.suspended).toBe(true);
    r = await h.call({ method: 'POST', url: '/api/v1/orders/c2/resume', as: 'operator' });
    expect(r.statusCode).toBe(200);
    expect(r.json<{ order: OrderView }>().order.suspended).toBe(false);

    // No body at all is fine for commands without required fields.
    r = await h.call({ method: 'POST', url: '/api/v1/orders/c3/cancel', as: 'operator' });
    expect(r.statusCode).toBe(200);
    expect(r.json<{ order: OrderView }>().order.state).toBe('cancelled');
    r = await h.call({ method: 'POST', url: '/api/v1/orders/c1/cancel', payload: { kill: true }, as: 'operator' });
    expect(r.statusCode).toBe(200);
  });

  it('confirms a prompting order (operator role), and refuses one that is not prompting', async () => {
    const wf = { TYPE: 'Workflow', instructions: [{ TYPE: 'Prompt', question: "'Ship it?'" }], jobs: {} };
    expect((await h.call({ method: 'PUT', url: '/api/v1/workflows/ask', payload: wf })).statusCode).toBe(200);
    await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'ask', id: 'p1' } });
    await h.orderly.engine.whenIdle();
    const shown = (await h.call({ method: 'GET', url: '/api/v1/orders/p1', as: 'viewer' })).json<{ order: OrderView }>().order;
    expect(shown.state).toBe('prompting');
    expect(shown.prompt?.question).toBe('Ship it?');
    expect((await h.call({ method: 'POST', url: '/api/v1/orders/p1/confirm', as: 'viewer' })).statusCode).toBe(403);
    expect((await h.call({ method: 'POST', url: '/api/v1/orders/p1/confirm', payload: { yes: true }, as: 'operator' })).statusCode).toBe(400);
    const r = await h.call({ method: 'POST', url: '/api/v1/orders/p1/confirm', as: 'operator' });
    expect(r.statusCode).toBe(200);
    expect(r.json<{ order: OrderView }>().order.state).toBe('finished');
    const again = await h.call({ method: 'POST', url: '/api/v1/orders/p1/confirm', as: 'operator' });
    expect(again.statusCode).toBe(409);
    expect(again.json<{ error: { message: string } }>().error.message).toBe('order p1 is finished, not prompting');
  });

  it('serves the step logs of an order', async () => {
    const live = await harness({ orderly: { slots: 2 } });
    try {
      const wf = {
        TYPE: 'Workflow',
        instructions: [{ TYPE: 'Execute.Named', jobName: 'hello' }],
        jobs: { hello: { executable: { TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\necho hello from the job\necho oops >&2\n' } } },
      };
      expect((await live.call({ method: 'PUT', url: '/api/v1/workflows/hello', payload: wf })).statusCode).toBe(200);
      await live.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'hello', id: 'h1' } });
      await live.orderly.awaitOrder('h1', { timeoutMs: 10_000 });
      const r = await live.call({ method: 'GET', url: '/api/v1/orders/h1/log', as: 'viewer' });
      expect(r.statusCode).toBe(200);
      const { logs } = r.json<{ logs: { stdout: string; stderr: string; job: string }[] }>();
      expect(logs).toHaveLength(1);
      expect(logs[0]!.stdout).toBe('hello from the job\n');
      expect(logs[0]!.stderr).toBe('oops\n');
      const metrics = (await live.call({ method: 'GET', url: '/metrics', as: 'viewer' })).body;
      expect(metrics).toMatch(/^orderly_job_duration_seconds_count\{job="hello:hello",outcome="succeeded"\} 1$/m);
    } finally {
      await live.close();
    }
  });
});

describe('metrics', () => {
  it('exposes orders by state, waiters per lock, and the histograms', async () => {
    for (const id of ['m1', 'm2', 'm3']) await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle', id } });
    await h.orderly.engine.whenIdle();
    await h.call({ method: 'POST', url: '/api/v1/orders/m1/cancel', payload: { kill: true } });
    await h.orderly.engine.whenIdle();
    const r = await h.call({ method: 'GET', url: '/metrics', as: 'viewer' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain');
    const text = r.body;
    expect(text).toMatch(/^orderly_orders\{state="waiting"\} 2$/m);
    expect(text).toMatch(/^orderly_orders\{state="cancelled"\} 1$/m);
    expect(text).toMatch(/^orderly_lock_waiters\{lock="pdSerialLockSingle"\} 1$/m);
    expect(text).toMatch(/^orderly_lock_holders\{lock="pdSerialLockSingle"\} 1$/m);
    // m2 waited in the queue and got the lock when m1 was cancelled.
    expect(text).toMatch(/^orderly_lock_wait_seconds_count\{lock="pdSerialLockSingle"\} 1$/m);
    expect(text).toContain('# TYPE orderly_job_duration_seconds histogram');
    expect(text).toContain('# TYPE orderly_journal_commit_seconds histogram');
    expect((await h.call({ method: 'GET', url: '/metrics', as: null })).statusCode).toBe(401);
  });
});

describe('job resources', () => {
  it('deploys one (JS7 JSON), unchanged is no change, reads it back; a workflow naming a missing one is refused by path', async () => {
    const wf = {
      TYPE: 'Workflow',
      jobResourceNames: ['db'],
      instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }],
      jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\necho "$DB_URL"\n' } } },
    };
    let r = await h.call({ method: 'PUT', url: '/api/v1/workflows/usesDb', payload: wf });
    expect(r.statusCode).toBe(400);
    expect(r.json<{ error: { problems: unknown[] } }>().error.problems).toEqual([{ path: 'body.jobResourceNames[0]', message: 'unknown job resource db (deploy db.jobresource.json with it)' }]);
    const body = { TYPE: 'JobResource', version: '2.7.2', variables: { url: "'postgres://db'" }, env: { DB_URL: '$url' } };
    r = await h.call({ method: 'PUT', url: '/api/v1/jobresources/db', payload: body });
    expect(r.json()).toEqual({ name: 'db', changed: true });
    r = await h.call({ method: 'PUT', url: '/api/v1/jobresources/db', payload: body });
    expect(r.json()).toEqual({ name: 'db', changed: false });
    r = await h.call({ method: 'PUT', url: '/api/v1/jobresources/bad', payload: { TYPE: 'JobResource', env: { '1X': "'a'" }, secrets: {} } });
    expect(r.statusCode).toBe(400);
    expect(r.json<{ error: { problems: { path: string }[] } }>().error.problems.map((p) => p.path)).toEqual(['body.secrets', 'body.env["1X"]']);
    r = await h.call({ method: 'GET', url: '/api/v1/jobresources/db', as: 'viewer' });
    expect(r.json()).toEqual({ TYPE: 'JobResource', arguments: { url: "'postgres://db'" }, env: { DB_URL: '$url' } });
    r = await h.call({ method: 'GET', url: '/api/v1/jobresources', as: 'viewer' });
    expect(r.json()).toEqual({ jobResources: [{ name: 'db' }] });
    r = await h.call({ method: 'PUT', url: '/api/v1/workflows/usesDb', payload: wf });
    expect(r.statusCode).toBe(200);
    r = await h.call({ method: 'GET', url: '/api/v1/workflows/usesDb', as: 'viewer' });
    expect(r.json()).toMatchObject({ jobResourceNames: ['db'] });
  });
});
