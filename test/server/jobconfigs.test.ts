// Job templates, job configs, schedules and runs under /api/v1 (semantics §5, §8).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { JobContext } from '../../src/runtime/function-executor.js';
import type { LockView, OrderView } from '../../src/runtime/views.js';
import { harness, stateOf, until, type ErrorJson, type Harness } from './support.js';

let h: Harness;
/** Running `hold` jobs by order id: resolve to let the job end. */
let gates: Map<string, () => void>;

const holdFn = (ctx: JobContext): Promise<void> =>
  new Promise((resolve) => {
    gates.set(ctx.orderId, resolve);
  });

beforeEach(async () => {
  gates = new Map();
  h = await harness({ orderly: { slots: 4 } });
  h.orderly.registerFunction('hold', holdFn);
  await h.orderly.deploy({
    workflows: [
      {
        name: 'hold',
        instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }],
        jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'hold' }, parallelism: 10 } },
      },
    ],
  });
});
afterEach(async () => {
  for (const release of gates.values()) release();
  await h.close();
});

const post = (url: string, payload: unknown, as: 'admin' | 'operator' | 'viewer' = 'admin') => h.call({ method: 'POST', url, payload: payload as object, as });
const problems = (r: { json: <T>() => T }) => r.json<ErrorJson>().error.problems ?? [];

describe('job templates', () => {
  it('create, read, replace, patch, delete; roles', async () => {
    let r = await post('/api/v1/jobtemplates', { id: 't1', name: 'Nightly', blocking: true, defaultArguments: { env: 'prod' } });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ id: 't1', name: 'Nightly', active: true, blocking: true, defaultArguments: { env: 'prod' } });
    expect((await post('/api/v1/jobtemplates', { id: 't1', name: 'Other' })).statusCode).toBe(409);
    expect((await post('/api/v1/jobtemplates', { name: 'Nightly' })).statusCode).toBe(409); // name in use
    const made = await post('/api/v1/jobtemplates', { name: 'Generated id' });
    expect(made.json<{ id: string }>().id).toMatch(/^[0-9a-f-]{36}$/);

    expect((await post('/api/v1/jobtemplates', { name: 'x' }, 'operator')).statusCode).toBe(403);
    expect((await h.call({ method: 'GET', url: '/api/v1/jobtemplates/t1', as: 'viewer' })).json()).toMatchObject({ id: 't1' });
    const list = await h.call({ method: 'GET', url: '/api/v1/jobtemplates', as: 'viewer' });
    expect(list.json<{ jobTemplates: { id: string }[] }>().jobTemplates.map((t) => t.id)).toContain('t1');

    r = await h.call({ method: 'PATCH', url: '/api/v1/jobtemplates/t1', payload: { defaultArguments: { region: 'eu' }, blocking: null } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ id: 't1', name: 'Nightly', active: true, defaultArguments: { env: 'prod', region: 'eu' } });

    r = await h.call({ method: 'PUT', url: '/api/v1/jobtemplates/t1', payload: { name: 'Nightly', description: 'replaced' } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ id: 't1', name: 'Nightly', active: true, description: 'replaced' });
    r = await h.call({ method: 'PUT', url: '/api/v1/jobtemplates/t2', payload: { name: 'Second' } });
    expect(r.statusCode).toBe(201);

    expect((await h.call({ method: 'DELETE', url: '/api/v1/jobtemplates/t2' })).statusCode).toBe(204);
    expect((await h.call({ method: 'GET', url: '/api/v1/jobtemplates/t2' })).statusCode).toBe(404);
    expect((await h.call({ method: 'DELETE', url: '/api/v1/jobtemplates/t2' })).statusCode).toBe(404);
    expect((await h.call({ method: 'PATCH', url: '/api/v1/jobtemplates/nope', payload: { name: 'x' } })).statusCode).toBe(404);
  });

  it('refuses bad bodies with paths and changes nothing; deleting a template in use is 409', async () => {
    const before = await stateOf(h);
    let r = await post('/api/v1/jobtemplates', { name: '', defaultArguments: { a: 1 }, color: 'red', timeout: 0 });
    expect(r.statusCode).toBe(400);
    expect(problems(r).map((p) => p.path).sort()).toEqual(['body.color', 'body.defaultArguments.a', 'body.name', 'body.timeout']);
    r = await post('/api/v1/jobtemplates', { name: 'bad args', defaultArguments: { '1bad': 'x' } });
    expect(r.statusCode).toBe(400);
    expect(problems(r)[0]!.path).toBe('body.defaultArguments.1bad');
    r = await h.call({ method: 'PUT', url: '/api/v1/jobtemplates/t9', payload: { id: 'other', name: 'x' } });
    expect(problems(r)).toEqual([{ path: 'body.id', message: expect.stringContaining('URL') }]);
    expect(await stateOf(h)).toBe(before);

    await post('/api/v1/jobtemplates', { id: 'used', name: 'Used' });
    await post('/api/v1/jobconfigs', { id: 'c', name: 'C', workflow: 'hold', templateId: 'used' });
    r = await h.call({ method: 'DELETE', url: '/api/v1/jobtemplates/used' });
    expect(r.statusCode).toBe(409);
    expect(r.json<ErrorJson>().error).toMatchObject({ code: 'conflict', message: expect.stringContaining('C') });
  });
});

describe('job configs', () => {
  it('create, read, list, replace, patch (merge; null removes), delete', async () => {
    await post('/api/v1/jobtemplates', { id: 'serial', name: 'Serial', blocking: true });
    let r = await post('/api/v1/jobconfigs', { id: 'load', name: 'Load', workflow: 'hold', defaultArguments: { a: '1' }, templateId: 'serial', timeout: 30 });
    expect(r.statusCode).toBe(201);
    const v = r.json<Record<string, unknown>>();
    expect(v).toMatchObject({ id: 'load', name: 'Load', workflow: 'hold', active: true, effectiveBlocking: true, templateId: 'serial', activeRuns: 0, fires: [], timeout: 30 });
    expect(v.created).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(v.modified).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(v).not.toHaveProperty('nextFireTime');
    expect((await post('/api/v1/jobconfigs', { id: 'load', name: 'Again', workflow: 'hold' })).statusCode).toBe(409);

    r = await h.call({ method: 'PATCH', url: '/api/v1/jobconfigs/load', payload: { blocking: false, defaultArguments: { b: '2' } } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ blocking: false, effectiveBlocking: false, defaultArguments: { a: '1', b: '2' } });
    r = await h.call({ method: 'PATCH', url: '/api/v1/jobconfigs/load', payload: { blocking: null, timeout: null, command: 'echo hi' } });
    const patched = r.json<Record<string, unknown>>();
    expect(patched).toMatchObject({ effectiveBlocking: true, command: 'echo hi' });
    expect(patched).not.toHaveProperty('blocking');
    expect(patched).not.toHaveProperty('timeout');
    expect(patched).not.toHaveProperty('workflow'); // setting command drops workflow

    r = await h.call({ method: 'PUT', url: '/api/v1/jobconfigs/load', payload: { name: 'Load', workflow: 'hold' } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).not.toHaveProperty('defaultArguments');
    r = await h.call({ method: 'PUT', url: '/api/v1/jobconfigs/other', payload: { name: 'Other', command: 'true', active: false } });
    expect(r.statusCode).toBe(201);

    const list = await h.call({ method: 'GET', url: '/api/v1/jobconfigs', as: 'viewer' });
    expect(list.json<{ jobConfigs: { id: string }[] }>().jobConfigs.map((c) => c.id)).toEqual(['load', 'other']);
    expect((await h.call({ method: 'GET', url: '/api/v1/jobconfigs/load', as: 'viewer' })).json()).toMatchObject({ id: 'load' });
    expect((await h.call({ method: 'DELETE', url: '/api/v1/jobconfigs/other' })).statusCode).toBe(204);
    expect((await h.call({ method: 'GET', url: '/api/v1/jobconfigs/other' })).statusCode).toBe(404);
    expect((await h.call({ method: 'DELETE', url: '/api/v1/jobconfigs/other' })).statusCode).toBe(404);
  });

  it('roles: viewer reads, operator runs, admin writes', async () => {
    await post('/api/v1/jobconfigs', { id: 'c', name: 'C', workflow: 'hold' });
    for (const as of ['viewer', 'operator'] as const) {
      expect((await post('/api/v1/jobconfigs', { name: 'x', workflow: 'hold' }, as)).statusCode).toBe(403);
      expect((await h.call({ method: 'PATCH', url: '/api/v1/jobconfigs/c', payload: { blocking: true }, as })).statusCode).toBe(403);
      expect((await h.call({ method: 'PUT', url: '/api/v1/jobconfigs/c/schedule', payload: { type: 'interval', intervalSeconds: 60 }, as })).statusCode).toBe(403);
      expect((await h.call({ method: 'DELETE', url: '/api/v1/jobconfigs/c', as })).statusCode).toBe(403);
    }
    expect((await post('/api/v1/jobconfigs/c/runs', {}, 'viewer')).statusCode).toBe(403);
    expect((await post('/api/v1/jobconfigs/c/runs', {}, 'operator')).statusCode).toBe(202);
    expect((await h.call({ method: 'GET', url: '/api/v1/jobconfigs/c/runs', as: 'viewer' })).statusCode).toBe(200);
    expect((await h.call({ method: 'GET', url: '/api/v1/jobconfigs', as: null })).statusCode).toBe(401);
  });

  it('400 names every place; nothing changes', async () => {
    const before = await stateOf(h);
    let r = await post('/api/v1/jobconfigs', { name: 'x', workflow: 'hold', command: 'true' });
    expect(r.statusCode).toBe(400);
    expect(problems(r)[0]!.path).toBe('body.workflow');
    r = await post('/api/v1/jobconfigs', { name: 'x', workflow: 'notDeployed' });
    expect(problems(r)).toEqual([{ path: 'body.workflow', message: 'workflow notDeployed is not deployed' }]);
    r = await post('/api/v1/jobconfigs', { name: 'x', workflow: 'hold', templateId: 'none' });
    expect(problems(r)).toEqual([{ path: 'body.templateId', message: 'job template none not found' }]);
    r = await post('/api/v1/jobconfigs', { name: 'x', workflow: 'hold', schedule: { type: 'cron', cron: '61 * * * *' } });
    expect(problems(r)[0]!.path).toBe('body.schedule.cron');
    r = await post('/api/v1/jobconfigs', { name: 'x', workflow: 'hold', schedule: { type: 'cron', cron: '0 * * * *', timeZone: 'Mars/Olympus' } });
    expect(problems(r)[0]!.path).toBe('body.schedule.timeZone');
    r = await post('/api/v1/jobconfigs', { name: 'x', workflow: 'hold', schedule: { type: 'weekly' }, blocking: 'yes', extra: 1 });
    expect(problems(r).map((p) => p.path).sort()).toEqual(['body.blocking', 'body.extra', 'body.schedule.type']);
    r = await post('/api/v1/jobconfigs', { id: 'bad id!', name: 'x', workflow: 'hold' });
    expect(problems(r)[0]!.path).toBe('body.id');
    expect((await h.call({ method: 'GET', url: '/api/v1/jobconfigs/bad%20id' })).statusCode).toBe(400);
    expect(await stateOf(h)).toBe(before);
    expect((await h.call({ method: 'GET', url: '/api/v1/jobconfigs/missing' })).json<ErrorJson>().error.code).toBe('not-found');
  });

  it('schedule: set, read with nextFireTime, remove', async () => {
    await post('/api/v1/jobconfigs', { id: 's', name: 'S', workflow: 'hold' });
    expect((await h.call({ method: 'GET', url: '/api/v1/jobconfigs/s/schedule' })).statusCode).toBe(404);
    let r = await h.call({ method: 'PUT', url: '/api/v1/jobconfigs/s/schedule', payload: { type: 'cron', cron: '0 3 * * *', timeZone: 'Europe/Berlin', overlap: 'skip' } });
    expect(r.statusCode).toBe(200);
    const s = r.json<{ nextFireTime: string; cron: string }>();
    expect(s).toMatchObject({ type: 'cron', cron: '0 3 * * *', timeZone: 'Europe/Berlin', overlap: 'skip' });
    const next = Date.parse(s.nextFireTime);
    expect(next).toBeGreaterThan(Date.now());
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }).format(next)).toBe('03:00');
    expect((await h.call({ method: 'GET', url: '/api/v1/jobconfigs/s/schedule', as: 'viewer' })).json()).toEqual(s);
    expect((await h.call({ method: 'GET', url: '/api/v1/jobconfigs/s' })).json()).toMatchObject({ nextFireTime: s.nextFireTime, schedule: { cron: '0 3 * * *' } });

    r = await h.call({ method: 'PUT', url: '/api/v1/jobconfigs/s/schedule', payload: { type: 'interval', cron: '0 * * * *' } });
    expect(r.statusCode).toBe(400);
    expect(problems(r).map((p) => p.path).sort()).toEqual(['body.cron', 'body.intervalSeconds']);

    r = await h.call({ method: 'PATCH', url: '/api/v1/jobconfigs/s', payload: { schedule: { type: 'interval', cron: null, intervalSeconds: 900 } } });
    expect(r.json()).toMatchObject({ schedule: { type: 'interval', intervalSeconds: 900, timeZone: 'Europe/Berlin', overlap: 'skip' } });
    expect(Date.parse(r.json<{ nextFireTime: string }>().nextFireTime) % (900 * 1000)).toBe(0);

    expect((await h.call({ method: 'DELETE', url: '/api/v1/jobconfigs/s/schedule' })).statusCode).toBe(204);
    expect((await h.call({ method: 'DELETE', url: '/api/v1/jobconfigs/s/schedule' })).statusCode).toBe(404);
    const after = (await h.call({ method: 'GET', url: '/api/v1/jobconfigs/s' })).json<Record<string, unknown>>();
    expect(after).not.toHaveProperty('schedule');
    expect(after).not.toHaveProperty('nextFireTime');
  });
});

describe('runs', () => {
  it('start with arguments, priority and id; list a page at a time; 404, 409', async () => {
    await post('/api/v1/jobtemplates', { id: 't', name: 'T', defaultArguments: { a: 'template', b: 'template' } });
    await post('/api/v1/jobconfigs', { id: 'r', name: 'R', workflow: 'hold', templateId: 't', defaultArguments: { b: 'config' } });
    let r = await post('/api/v1/jobconfigs/r/runs', { id: 'run-1', arguments: { c: 'run' }, priority: 5 }, 'operator');
    expect(r.statusCode).toBe(202);
    expect(r.json()).toEqual({ orderId: 'run-1' });
    expect(h.orderly.getOrder('run-1')).toMatchObject({ jobConfig: 'r', arguments: { a: 'template', b: 'config', c: 'run' }, priority: 5 });
    expect((await post('/api/v1/jobconfigs/r/runs', { id: 'run-1' })).statusCode).toBe(409);
    r = await post('/api/v1/jobconfigs/r/runs', { priority: 'high', arguments: { x: 1 } });
    expect(problems(r).map((p) => p.path).sort()).toEqual(['body.arguments.x', 'body.priority']);
    expect((await post('/api/v1/jobconfigs/none/runs', {})).statusCode).toBe(404);
    await post('/api/v1/jobconfigs/r/runs', { id: 'run-2' });
    await post('/api/v1/jobconfigs/r/runs', { id: 'run-3' });

    let page = (await h.call({ method: 'GET', url: '/api/v1/jobconfigs/r/runs?limit=2', as: 'viewer' })).json<{ items: OrderView[]; next?: string }>();
    expect(page.items.map((o) => o.id)).toEqual(['run-1', 'run-2']);
    expect(page.next).toBe('run-2');
    page = (await h.call({ method: 'GET', url: `/api/v1/jobconfigs/r/runs?limit=2&after=${page.next}` })).json();
    expect(page.items.map((o) => o.id)).toEqual(['run-3']);
    expect(page.next).toBeUndefined();
    expect((await h.call({ method: 'GET', url: '/api/v1/jobconfigs/r/runs?limit=0' })).json<ErrorJson>().error.problems![0]!.path).toBe('query.limit');
    expect((await h.call({ method: 'GET', url: '/api/v1/jobconfigs/none/runs' })).statusCode).toBe(404);

    await h.call({ method: 'PATCH', url: '/api/v1/jobconfigs/r', payload: { active: false } });
    r = await post('/api/v1/jobconfigs/r/runs', {});
    expect(r.statusCode).toBe(409);
    expect(r.json<ErrorJson>().error.code).toBe('state');
  });

  it('a job config with runs not ended cannot be deleted (409)', async () => {
    await post('/api/v1/jobconfigs', { id: 'busy', name: 'Busy', workflow: 'hold' });
    await post('/api/v1/jobconfigs/busy/runs', { id: 'b1' });
    await until(() => gates.has('b1'), 'b1 to run');
    const r = await h.call({ method: 'DELETE', url: '/api/v1/jobconfigs/busy' });
    expect(r.statusCode).toBe(409);
    expect(r.json<ErrorJson>().error).toMatchObject({ code: 'conflict', message: expect.stringContaining('not ended') });
    gates.get('b1')!();
    await h.orderly.awaitOrder('b1', { timeoutMs: 5000 });
    expect((await h.call({ method: 'DELETE', url: '/api/v1/jobconfigs/busy' })).statusCode).toBe(204);
  });

  it('blocking: three runs go one at a time in request order, shown as lock jobconfig:<id>', async () => {
    await post('/api/v1/jobconfigs', { id: 'serial', name: 'Serial', workflow: 'hold', blocking: true });
    for (const id of ['s1', 's2', 's3']) expect((await post('/api/v1/jobconfigs/serial/runs', { id }, 'operator')).statusCode).toBe(202);
    await until(() => gates.has('s1'), 's1 to run');
    await h.orderly.engine.whenIdle();
    const states = () => ['s1', 's2', 's3'].map((id) => h.orderly.getOrder(id)!.state);
    expect(states()).toEqual(['processing', 'waiting', 'waiting']);
    const lock = (await h.call({ method: 'GET', url: '/api/v1/locks', as: 'viewer' })).json<{ locks: LockView[] }>().locks.find((l) => l.name === 'jobconfig:serial')!;
    expect(lock).toBeDefined();
    expect(lock.holders.map((x) => x.orderId)).toEqual(['s1']);
    expect(lock.queue.map((q) => [q.orderId, q.place])).toEqual([
      ['s2', 1],
      ['s3', 2],
    ]);
    const view = (await h.call({ method: 'GET', url: '/api/v1/jobconfigs/serial' })).json();
    expect(view).toMatchObject({ effectiveBlocking: true, activeRuns: 3 });
    const runs = (await h.call({ method: 'GET', url: '/api/v1/jobconfigs/serial/runs?state=waiting' })).json<{ items: OrderView[] }>();
    expect(runs.items.map((o) => o.id)).toEqual(['s2', 's3']);

    gates.get('s1')!();
    await until(() => gates.has('s2'), 's2 to run');
    expect(gates.has('s3')).toBe(false);
    expect(h.orderly.getOrder('s1')!.state).toBe('finished');
    gates.get('s2')!();
    await until(() => gates.has('s3'), 's3 to run');
    gates.get('s3')!();
    await h.orderly.awaitOrder('s3', { timeoutMs: 5000 });
  });

  it('two blocking job configs serialize independently', async () => {
    await post('/api/v1/jobconfigs', { id: 'a', name: 'A', workflow: 'hold', blocking: true });
    await post('/api/v1/jobconfigs', { id: 'b', name: 'B', workflow: 'hold', blocking: true });
    for (const id of ['a1', 'a2']) await post('/api/v1/jobconfigs/a/runs', { id });
    for (const id of ['b1', 'b2']) await post('/api/v1/jobconfigs/b/runs', { id });
    await until(() => gates.has('a1') && gates.has('b1'), 'a1 and b1 to run');
    await h.orderly.engine.whenIdle();
    expect(['a1', 'a2', 'b1', 'b2'].map((id) => h.orderly.getOrder(id)!.state)).toEqual(['processing', 'waiting', 'processing', 'waiting']);
    const locks = (await h.call({ method: 'GET', url: '/api/v1/locks' })).json<{ locks: LockView[] }>().locks;
    expect(locks.find((l) => l.name === 'jobconfig:a')!.queue.map((q) => q.orderId)).toEqual(['a2']);
    expect(locks.find((l) => l.name === 'jobconfig:b')!.queue.map((q) => q.orderId)).toEqual(['b2']);
    gates.get('b1')!();
    await until(() => gates.has('b2'), 'b2 to run');
    expect(h.orderly.getOrder('a2')!.state).toBe('waiting'); // a's queue did not move
    for (const id of ['a1', 'b2']) gates.get(id)!();
    await until(() => gates.has('a2'), 'a2 to run');
    gates.get('a2')!();
    await h.orderly.awaitOrder('a2', { timeoutMs: 5000 });
  });

  it('turning blocking on with PATCH serializes the runs started afterwards', async () => {
    await post('/api/v1/jobconfigs', { id: 'p', name: 'P', workflow: 'hold' });
    const r = await h.call({ method: 'PATCH', url: '/api/v1/jobconfigs/p', payload: { blocking: true } });
    expect(r.json()).toMatchObject({ blocking: true, effectiveBlocking: true });
    for (const id of ['p1', 'p2']) await post('/api/v1/jobconfigs/p/runs', { id });
    await until(() => gates.has('p1'), 'p1 to run');
    await h.orderly.engine.whenIdle();
    expect(h.orderly.getOrder('p2')!.state).toBe('waiting');
  });
});
