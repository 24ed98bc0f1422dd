// Actian compatibility (/v2/api): every answer of the listed Actian calls is checked against
// Actian's own Swagger 2.0 schemas (test/fixtures/actian), converted to JSON Schema for ajv.

import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { JobContext } from '../../src/runtime/function-executor.js';
import { ajv, responseSchema, validatorFor, type SPECS } from '../support/actian-schemas.js';
import { harness, stateOf, until, type ErrorJson, type Harness } from './support.js';

/** Checks the answer's status and body against Actian's schema of that operation; returns the body. */
function actian<T = Record<string, unknown>>(r: LightMyRequestResponse, spec: keyof typeof SPECS, method: string, path: string, status: number, definition?: string): T {
  expect(r.statusCode, r.body).toBe(status);
  const body = r.json<T>();
  const validate = validatorFor(spec, responseSchema(spec, method, path, status, definition));
  if (!validate(body)) throw new Error(`${method} ${path} ${status}: not Actian's schema: ${ajv.errorsText(validate.errors)}\n${r.body}`);
  return body;
}

/** An answer the spec gives no body for (204, 202 without a schema). */
function empty(r: LightMyRequestResponse, status: number): void {
  expect(r.statusCode, r.body).toBe(status);
  expect(r.body).toBe('');
}

// ---------------------------------------------------------------- the server

let h: Harness;
let gates: Map<string, () => void>;

beforeEach(async () => {
  gates = new Map();
  h = await harness({ orderly: { slots: 4 } });
  h.orderly.registerFunction('hold', (ctx: JobContext) => new Promise<void>((resolve) => void gates.set(ctx.orderId, resolve)));
  h.orderly.registerFunction('fail', () => ({ returnCode: 3 }));
  await h.orderly.deploy({
    workflows: [
      { name: 'hold', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'hold' }, parallelism: 10 } } },
      { name: 'fail', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'fail' } } } },
    ],
  });
});
afterEach(async () => {
  for (const release of gates.values()) release();
  await h.close();
});

const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, as: 'admin' | 'operator' | 'viewer' | null = 'admin') =>
  h.call({ method, url: `/v2/api${url}`, ...(payload !== undefined ? { payload: payload as object } : {}), as });
const problems = (r: LightMyRequestResponse) => r.json<ErrorJson>().error.problems ?? [];

async function createConfig(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  return actian(await call('POST', '/jobconfigs', body), 'configuration', 'POST', '/jobconfigs', 201);
}

describe('the converted schemas', () => {
  it('compile for every answer used, and refuse a wrong shape', () => {
    const v = validatorFor('configuration', responseSchema('configuration', 'GET', '/jobconfigs/{id}', 200));
    expect(v({ id: 'x', blocking: true, created: '2026-01-01T00:00:00.000Z', runtimeConfig: { macros: [{ key: 'a', value: 'b' }] } })).toBe(true);
    expect(v({ id: 1 })).toBe(false);
    expect(v({ blocking: 'yes' })).toBe(false);
    expect(v({ created: 'yesterday' })).toBe(false);
    expect(v({ runtimeConfig: { macros: [{ key: 1 }] } })).toBe(false);
    expect(v({ anExtension: { any: 'thing' } })).toBe(true); // Swagger 2.0: additional properties allowed
  });
});

describe('login and auth', () => {
  it('POST /login gives an AccessTokenResponse whose token works; everything else needs one', async () => {
    await h.auth.createUser({ name: 'ann', password: 'correct horse', role: 'operator' });
    const body = actian<{ access_token: string; token_type: string }>(
      await h.app.inject({ method: 'POST', url: '/v2/api/login', payload: { username: 'ann', password: 'correct horse' } }),
      'configuration',
      'POST',
      '/login',
      200,
    );
    expect(body.token_type).toBe('Bearer');
    const r = await h.app.inject({ method: 'GET', url: '/v2/api/jobs', headers: { authorization: `Bearer ${body.access_token}` } });
    actian(r, 'execution', 'GET', '/jobs', 200);
    const wrong = await h.app.inject({ method: 'POST', url: '/v2/api/login', payload: { username: 'ann', password: 'wrong password' } });
    expect(wrong.statusCode).toBe(401);
    expect((await call('GET', '/jobconfigs', undefined, null)).statusCode).toBe(401);
    expect((await call('GET', '/no/such/route', undefined, null)).statusCode).toBe(401);
    expect((await call('GET', '/jobs/pending', undefined, null)).statusCode).toBe(401);
    expect((await call('POST', '/jobconfigs', { name: 'x', workflow: 'hold' }, 'operator')).statusCode).toBe(403);
  });
});

describe('job templates', () => {
  it('create, list, get, patch in Actian’s shapes; macros are default arguments', async () => {
    const t = actian(
      await call('POST', '/jobtemplates', { name: 'Nightly', description: 'n', runtimeConfig: { macros: [{ key: 'env', value: 'prod' }] }, blocking: true, destinationId: 'ignored' }),
      'configuration',
      'POST',
      '/jobtemplates',
      201,
    );
    expect(t).toMatchObject({ name: 'Nightly', active: true, blocking: true, runtimeConfig: { macros: [{ key: 'env', value: 'prod', secure: false }] } });
    const id = t.id as string;
    expect(h.orderly.getJobTemplate(id)).toMatchObject({ defaultArguments: { env: 'prod' }, blocking: true });
    actian(await call('POST', '/jobtemplates', { name: 'Second' }), 'configuration', 'POST', '/jobtemplates', 201);

    const list = actian<{ items: { name: string }[]; totalRecords: number; totalPages: number }>(await call('GET', '/jobtemplates?size=1', undefined, 'viewer'), 'configuration', 'GET', '/jobtemplates', 200);
    expect(list).toMatchObject({ totalRecords: 2, totalPages: 2, pageNumber: 0, size: 1 });
    expect(list.items.map((x) => x.name)).toEqual(['Nightly']);
    const page1 = actian<{ items: { name: string }[]; links: { prev?: string } }>(await call('GET', '/jobtemplates?size=1&offset=1'), 'configuration', 'GET', '/jobtemplates', 200);
    expect(page1.items.map((x) => x.name)).toEqual(['Second']);
    expect(page1.links.prev).toBe('/v2/api/jobtemplates?size=1&offset=0');

    actian(await call('GET', `/jobtemplates/${id}`, undefined, 'viewer'), 'configuration', 'GET', '/jobtemplates/{id}', 200);
    const patched = actian(await call('PATCH', `/jobtemplates/${id}`, { blocking: null, description: 'changed' }), 'configuration', 'PATCH', '/jobtemplates/{id}', 200);
    expect(patched).toMatchObject({ name: 'Nightly', description: 'changed', runtimeConfig: { macros: [{ key: 'env', value: 'prod' }] } });
    expect(patched).not.toHaveProperty('blocking');
    expect((await call('GET', '/jobtemplates/nope')).statusCode).toBe(404);
    const replaced = actian(await call('PUT', `/jobtemplates/${id}`, { name: 'Nightly', active: false }), 'configuration', 'PUT', '/jobtemplates/{id}', 200);
    expect(replaced).toMatchObject({ name: 'Nightly', active: false, runtimeConfig: { macros: [] } });
    expect(replaced).not.toHaveProperty('description');
    await createConfig({ id: 'user', name: 'User', workflow: 'hold', jobTemplateId: id });
    expect((await call('DELETE', `/jobtemplates/${id}`)).statusCode).toBe(409);
    expect(problems(await call('DELETE', `/jobtemplates/${id}?cascade=true`)).map((p) => p.path)).toEqual(['query.cascade']);
    empty(await call('DELETE', '/jobconfigs/user'), 204);
    empty(await call('DELETE', `/jobtemplates/${id}`), 204);
    const bad = await call('POST', '/jobtemplates', { name: 'x', runtimeConfig: { macros: [{ key: 'pw', value: 's', secure: true }, { value: 'v' }] } });
    expect(problems(bad).map((p) => p.path)).toEqual(['body.runtimeConfig.macros[0].secure', 'body.runtimeConfig.macros[1].key']);
  });
});

describe('job configs', () => {
  it('create (entryPoint, workflow or command), get, list with paging, put, delete', async () => {
    await call('POST', '/jobtemplates', { id: 'tpl', name: 'Tpl' });
    const a = await createConfig({ name: 'Alpha', jobTemplateId: 'tpl', runtimeConfig: { entryPoint: 'hold', macros: [{ key: 'a', value: '1' }], packageName: 'ignored.djar' }, timeout: 60, tags: ['x'] });
    expect(a).toMatchObject({ name: 'Alpha', workflow: 'hold', blocking: false, active: true, timeout: 60, template: { id: 'tpl', name: 'Tpl' }, runtimeConfig: { entryPoint: 'hold', macros: [{ key: 'a', value: '1' }] } });
    expect(h.orderly.getJobConfig(a.id as string)).toMatchObject({ workflow: 'hold', templateId: 'tpl', defaultArguments: { a: '1' }, timeout: 60 });
    const b = await createConfig({ id: 'beta', name: 'Beta', command: 'echo hello', schedule: 'PT15M' });
    expect(b).toMatchObject({ id: 'beta', command: 'echo hello', schedule: 'PT15M' });
    expect(Date.parse(b.nextFireTime as string) % (15 * 60_000)).toBe(0);
    await createConfig({ name: 'Gamma', workflow: 'hold', active: false });

    const all = actian<{ items: { name: string }[]; totalRecords: number }>(await call('GET', '/jobconfigs', undefined, 'viewer'), 'configuration', 'GET', '/jobconfigs', 200);
    expect(all.items.map((c) => c.name)).toEqual(['Alpha', 'Beta', 'Gamma']);
    const page = actian<{ items: { name: string }[]; links: { next?: string } }>(await call('GET', '/jobconfigs?offset=1&size=1&sortby=name&direction=desc'), 'configuration', 'GET', '/jobconfigs', 200);
    expect(page.items.map((c) => c.name)).toEqual(['Beta']);
    expect(page.links.next).toContain('offset=2');
    const active = actian<{ items: { name: string }[] }>(await call('GET', '/jobconfigs?active=false'), 'configuration', 'GET', '/jobconfigs', 200);
    expect(active.items.map((c) => c.name)).toEqual(['Gamma']);
    expect(problems(await call('GET', '/jobconfigs?filter=x')).map((p) => p.path)).toEqual(['query.filter']);
    expect(problems(await call('GET', '/jobconfigs?sortby=color')).map((p) => p.path)).toEqual(['query.sortby']);

    actian(await call('GET', '/jobconfigs/beta', undefined, 'viewer'), 'configuration', 'GET', '/jobconfigs/{id}', 200);
    // PUT replaces (GET's answer can be sent back as it is); the schedule stays.
    const got = (await call('GET', '/jobconfigs/beta')).json<Record<string, unknown>>();
    const put = actian(await call('PUT', '/jobconfigs/beta', { ...got, description: 'now described' }), 'configuration', 'PUT', '/jobconfigs/{id}', 200);
    expect(put).toMatchObject({ description: 'now described', schedule: 'PT15M', command: 'echo hello' });
    const replaced = actian(await call('PUT', '/jobconfigs/beta', { name: 'Beta', runtimeConfig: { entryPoint: 'hold' } }), 'configuration', 'PUT', '/jobconfigs/{id}', 200);
    expect(replaced).toMatchObject({ workflow: 'hold', schedule: 'PT15M' });
    expect(replaced).not.toHaveProperty('description');
    expect((await call('PUT', '/jobconfigs/none', { name: 'x', workflow: 'hold' })).statusCode).toBe(404);

    empty(await call('DELETE', '/jobconfigs/beta'), 204);
    expect((await call('GET', '/jobconfigs/beta')).statusCode).toBe(404);
  });

  it('refuses what it cannot honour, with paths, changing nothing', async () => {
    const before = await stateOf(h);
    let r = await call('POST', '/jobconfigs', { name: 'x' });
    expect(problems(r)).toEqual([{ path: 'body.runtimeConfig.entryPoint', message: expect.stringContaining('workflow') }]);
    r = await call('POST', '/jobconfigs', { name: 'x', runtimeConfig: { entryPoint: 'notDeployed' } });
    expect(problems(r)).toEqual([{ path: 'body.runtimeConfig.entryPoint', message: 'workflow notDeployed is not deployed' }]);
    r = await call('POST', '/jobconfigs', { name: 'x', workflow: 'hold', jobTemplateId: 'none', macrosets: ['m'], blocking: 'yes' });
    expect(problems(r).map((p) => p.path)).toEqual(['body.blocking']);
    r = await call('POST', '/jobconfigs', { name: 'x', workflow: 'hold', jobTemplateId: 'none', macrosets: ['m'] });
    expect(problems(r).map((p) => p.path)).toEqual(['body.macrosets']);
    r = await call('POST', '/jobconfigs', { name: 'x', workflow: 'hold', jobTemplateId: 'none' });
    expect(problems(r).map((p) => p.path)).toEqual(['body.jobTemplateId']);
    r = await call('POST', '/jobconfigs', { name: 'x', workflow: 'hold', runtimeConfig: { macros: [{ key: '1bad', value: 'v' }] } });
    expect(problems(r).map((p) => p.path)).toEqual(['body.runtimeConfig.macros[0].key']);
    r = await call('POST', '/jobconfigs', { name: 'x', workflow: 'hold', schedule: 'PT1.5S' });
    expect(problems(r).map((p) => p.path)).toEqual(['body.schedule']);
    r = await call('POST', '/jobconfigs', { name: 'x', workflow: 'hold', schedule: '61 * * * *' });
    expect(problems(r).map((p) => p.path)).toEqual(['body.schedule']);
    expect(await stateOf(h)).toBe(before);
  });
});

describe('the documented call: PATCH /v2/api/jobconfigs/{id} {"blocking": true}', () => {
  it('answers 200 JobConfigResponse with blocking true, and runs started afterwards serialize', async () => {
    const c = await createConfig({ name: 'Serial', workflow: 'hold' });
    const id = c.id as string;
    expect(c.blocking).toBe(false);
    const token = h.tokens.admin;
    // Only the Authorization header, as documented (no Content-Type: the body is read as JSON anyway).
    const r = await h.app.inject({ method: 'PATCH', url: `/v2/api/jobconfigs/${id}`, headers: { Authorization: `Bearer ${token}` }, payload: '{"blocking": true}' });
    const body = actian(r, 'configuration', 'PATCH', '/jobconfigs/{id}', 200);
    expect(body.blocking).toBe(true);
    expect(body).toMatchObject({ id, name: 'Serial', workflow: 'hold' });
    expect(h.orderly.getJobConfig(id)).toMatchObject({ blocking: true, effectiveBlocking: true });
    const json = await h.app.inject({ method: 'PATCH', url: `/v2/api/jobconfigs/${id}`, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, payload: '{"blocking": true}' });
    expect(actian(json, 'configuration', 'PATCH', '/jobconfigs/{id}', 200).blocking).toBe(true);
    const notJson = await h.app.inject({ method: 'PATCH', url: `/v2/api/jobconfigs/${id}`, headers: { Authorization: `Bearer ${token}` }, payload: '{"blocking": tru' });
    expect(notJson.statusCode).toBe(400);
    expect(problems(notJson).map((p) => p.path)).toEqual(['body']);
    expect((await h.app.inject({ method: 'PATCH', url: `/v2/api/jobconfigs/${id}`, headers: { Authorization: `Bearer ${h.tokens.viewer}` }, payload: '{"blocking": true}' })).statusCode).toBe(403);

    const jobs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const job = actian(await call('POST', `/jobconfigs/${id}/jobs`, { runtimeConfig: { macros: [{ key: 'n', value: String(i) }] } }, 'operator'), 'execution', 'POST', '/jobconfigs/{id}/jobs', 202, 'JobResponse');
      jobs.push(job.id as string);
      expect(job).toMatchObject({ jobConfig: { id, name: 'Serial' }, entryPoint: 'hold' });
    }
    expect(h.orderly.getOrder(jobs[2]!)!.arguments).toEqual({ n: '2' });
    await until(() => gates.has(jobs[0]!), 'the first job to run');
    await h.orderly.engine.whenIdle();
    expect(actian(await call('GET', '/jobs/running', undefined, 'viewer'), 'execution', 'GET', '/jobs/running', 200)).toEqual([jobs[0]]);
    expect(actian(await call('GET', '/jobs/pending'), 'execution', 'GET', '/jobs/pending', 200)).toEqual([jobs[1], jobs[2]]);
    expect(actian(await call('GET', '/jobs/unfinished'), 'execution', 'GET', '/jobs/unfinished', 200)).toEqual(jobs);
    const second = actian(await call('GET', `/jobs/${jobs[1]}`), 'execution', 'GET', '/jobs/{id}', 200);
    expect(second).toMatchObject({ status: 'waiting', orderlyState: 'waiting' });
    expect(second).not.toHaveProperty('started');

    gates.get(jobs[0]!)!();
    await until(() => gates.has(jobs[1]!), 'the second job to run');
    expect(gates.has(jobs[2]!)).toBe(false);
    const first = actian(await call('GET', `/jobs/${jobs[0]}`), 'execution', 'GET', '/jobs/{id}', 200);
    expect(first).toMatchObject({ status: 'finished_ok' });
    expect(Date.parse(first.finished as string)).toBeGreaterThanOrEqual(Date.parse(first.started as string));
    expect(first.duration).toMatch(/^PT/);
    gates.get(jobs[1]!)!();
    await until(() => gates.has(jobs[2]!), 'the third job to run');
    gates.get(jobs[2]!)!();
    await h.orderly.awaitOrder(jobs[2]!, { timeoutMs: 5000 });
  });
});

describe('jobs', () => {
  it('a run started through /jobconfigs/{id}/jobs is 202 and running; DELETE /jobs/{id} cancels it', async () => {
    await createConfig({ id: 'c', name: 'C', workflow: 'hold' });
    const job = actian(await call('POST', '/jobconfigs/c/jobs?ordered=true', undefined, 'operator'), 'execution', 'POST', '/jobconfigs/{id}/jobs', 202, 'JobResponse');
    const id = job.id as string;
    await until(() => gates.has(id), 'the job to run');
    expect(actian(await call('GET', '/jobs/running'), 'execution', 'GET', '/jobs/running', 200)).toEqual([id]);
    const running = actian(await call('GET', `/jobs/${id}`), 'execution', 'GET', '/jobs/{id}', 200);
    expect(running).toMatchObject({ status: 'running', currentStep: 'j', href: `/v2/api/jobs/${id}` });
    expect(typeof running.started).toBe('string');

    expect((await call('DELETE', `/jobs/${id}`, undefined, 'viewer')).statusCode).toBe(403);
    const r = await call('DELETE', `/jobs/${id}`, undefined, 'operator');
    actian(r, 'execution', 'DELETE', '/jobs/{id}', 202, 'JobResponse');
    await h.orderly.awaitOrder(id, { timeoutMs: 5000 });
    const cancelled = actian(await call('GET', `/jobs/${id}`), 'execution', 'GET', '/jobs/{id}', 200);
    expect(cancelled).toMatchObject({ status: 'cancelled', orderlyState: 'cancelled' });
    expect(actian(await call('GET', '/jobs/running'), 'execution', 'GET', '/jobs/running', 200)).toEqual([]);
    expect((await call('DELETE', `/jobs/${id}`)).statusCode).toBe(409);
    expect((await call('DELETE', '/jobs/nope')).statusCode).toBe(404);
    expect((await call('GET', '/jobs/nope')).statusCode).toBe(404);
  });

  it('lists with filters and pages, stats, and the bulk stop of queued jobs', async () => {
    await createConfig({ id: 'serial', name: 'Serial', workflow: 'hold', blocking: true });
    await createConfig({ id: 'failing', name: 'Failing', workflow: 'fail' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await call('POST', '/jobconfigs/serial/jobs', { id: `s${i}` })).json<{ id: string }>().id);
    const failed = (await call('POST', '/jobconfigs/failing/jobs', {})).json<{ id: string }>().id;
    await until(() => gates.has('s0') && h.orderly.getOrder(failed)?.state === 'failed', 's0 running, the other failed');
    await h.orderly.engine.whenIdle();

    const all = actian<{ items: { id: string; status: string }[]; totalRecords: number }>(await call('GET', '/jobs', undefined, 'viewer'), 'execution', 'GET', '/jobs', 200);
    expect(all.totalRecords).toBe(4);
    expect(all.items[0]!.id).toBe(failed); // newest first
    const f = all.items.find((j) => j.id === failed)!;
    expect(f).toMatchObject({ status: 'finished_error', returnCode: '3' });
    expect(f).toHaveProperty('finished');
    const serial = actian<{ items: { id: string }[] }>(await call('GET', '/jobconfigs/serial/jobs?sortby=received&direction=asc&size=2&offset=0'), 'execution', 'GET', '/jobconfigs/{id}/jobs', 200);
    expect(serial.items.map((j) => j.id)).toEqual(['s0', 's1']);
    const waiting = actian<{ items: { id: string }[] }>(await call('GET', '/jobs?state=waiting&sortby=id'), 'execution', 'GET', '/jobs', 200);
    expect(waiting.items.map((j) => j.id)).toEqual(['s1', 's2']);
    const done = actian<{ items: { id: string }[] }>(await call('GET', '/jobs?state=finished_all'), 'execution', 'GET', '/jobs', 200);
    expect(done.items.map((j) => j.id)).toEqual([failed]);
    const byConfig = actian<{ totalRecords: number }>(await call('GET', '/jobs?jobconfigid=failing'), 'execution', 'GET', '/jobs', 200);
    expect(byConfig.totalRecords).toBe(1);
    const none = actian<{ totalRecords: number }>(await call('GET', `/jobs?startdate=${Date.now() + 60_000}`), 'execution', 'GET', '/jobs', 200);
    expect(none.totalRecords).toBe(0);
    expect(problems(await call('GET', '/jobs?state=done')).map((p) => p.path)).toEqual(['query.state']);
    expect(problems(await call('GET', '/jobs?userid=u')).map((p) => p.path)).toEqual(['query.userid']);
    expect(problems(await call('GET', '/jobs?startdate=soon')).map((p) => p.path)).toEqual(['query.startdate']);
    expect((await call('GET', '/jobconfigs/none/jobs')).statusCode).toBe(404);

    const stats = actian(await call('GET', '/jobstats'), 'execution', 'GET', '/jobstats', 200, 'JobStatsResponse');
    expect(stats).toMatchObject({ queued: 2, running: 1, finished: 0, error: 1, failed: 0, cancelled: 0, totalJobs: 4 });
    expect(stats.totalDuration).toMatch(/^PT/);
    expect(stats.window).toHaveProperty('windowBegins');
    const serialStats = actian(await call('GET', '/jobstats?jobconfigid=serial'), 'execution', 'GET', '/jobstats', 200, 'JobStatsResponse');
    expect(serialStats).toMatchObject({ totalJobs: 3 });

    // Bulk stop: only queued (pending) jobs; all or nothing.
    let r = await call('DELETE', '/jobs/stop', { recordIds: ['s1', 's0'] }, 'operator');
    expect(r.statusCode).toBe(409);
    expect(problems(r)).toEqual([{ path: 'body.recordIds[1]', message: 'job s0 is running, not pending' }]);
    r = await call('DELETE', '/jobs/stop', { recordIds: ['s1', 'nope'] }, 'operator');
    expect(r.statusCode).toBe(404);
    expect(h.orderly.getOrder('s1')!.state).toBe('waiting');
    empty(await call('DELETE', '/jobs/stop', { recordIds: ['s1', 's2'] }, 'operator'), 202);
    await h.orderly.engine.whenIdle();
    expect(['s1', 's2'].map((id) => h.orderly.getOrder(id)!.state)).toEqual(['cancelled', 'cancelled']);
    expect(actian(await call('GET', '/jobs/pending'), 'execution', 'GET', '/jobs/pending', 200)).toEqual([]);
    expect(problems(await call('DELETE', '/jobs/stop', {}, 'operator')).map((p) => p.path)).toEqual(['body.recordIds']);
  });

  it('GET /jobs/{id}/log gives the output as octet-stream, times in zoneid', async () => {
    await createConfig({ id: 'echo', name: 'Echo', command: 'echo hello from $0; echo oops >&2' });
    const job = actian(await call('POST', '/jobconfigs/echo/jobs', {}), 'execution', 'POST', '/jobconfigs/{id}/jobs', 202, 'JobResponse');
    const id = job.id as string;
    await h.orderly.awaitOrder(id, { timeoutMs: 10_000 });
    let r = await call('GET', `/jobs/${id}/log?zoneid=Asia/Kolkata`, undefined, 'viewer');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.body).toMatch(/^=== \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+05:30 job command \(execution [^)]+\) ===\nhello from/);
    expect(r.body).toContain('--- stderr ---\noops\n');
    r = await call('GET', `/jobs/${id}/log`);
    expect(r.body).toMatch(/^=== \S+Z job command/);
    expect(problems(await call('GET', `/jobs/${id}/log?zoneid=Mars/Base`)).map((p) => p.path)).toEqual(['query.zoneid']);
    expect((await call('GET', '/jobs/nope/log')).statusCode).toBe(404);
    const finished = actian(await call('GET', `/jobs/${id}`), 'execution', 'GET', '/jobs/{id}', 200);
    expect(finished).toMatchObject({ status: 'finished_ok', returnCode: '0', jobLog: { href: `/v2/api/jobs/${id}/log` } });
  });
});

describe('schedules', () => {
  it('round trip: POST, GET with nextFireTime, PUT (Quartz-style cron), DELETE', async () => {
    await createConfig({ id: 'sch', name: 'Scheduled', workflow: 'hold' });
    expect((await call('GET', '/jobconfigs/sch/schedule')).statusCode).toBe(404);
    const created = actian(
      await call('POST', '/jobconfigs/sch/schedule', { name: 'every 15 min', type: 'interval', intervalFrequency: 'PT15M', timeZone: { id: 'Europe/Berlin', displayName: 'ignored' }, overlap: 'skip' }),
      'configuration',
      'POST',
      '/jobconfigs/{id}/schedule',
      201,
    );
    expect(created).toMatchObject({
      name: 'every 15 min',
      type: 'interval',
      intervalFrequency: 'PT15M',
      timeZone: { id: 'Europe/Berlin', rawOffset: 3_600_000, dstsavings: 3_600_000 },
      resourceId: 'sch',
      overlap: 'skip',
    });
    expect(Date.parse(created.nextFireTime as string) % (15 * 60_000)).toBe(0);
    expect(Date.parse(created.nextFireTime as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(actian(await call('GET', '/jobconfigs/sch/schedule', undefined, 'viewer'), 'configuration', 'GET', '/jobconfigs/{id}/schedule', 200)).toEqual(created);
    expect((await call('POST', '/jobconfigs/sch/schedule', { type: 'interval', intervalFrequency: '60' })).statusCode).toBe(409);
    const cfg = actian(await call('GET', '/jobconfigs/sch'), 'configuration', 'GET', '/jobconfigs/{id}', 200);
    expect(cfg).toMatchObject({ schedule: 'PT15M', nextFireTime: created.nextFireTime });

    const updated = actian(await call('PUT', '/jobconfigs/sch/schedule', { type: 'cron', cronSchedule: '0 30 6 ? * MON-FRI', timeZone: 'America/New_York' }), 'configuration', 'PUT', '/jobconfigs/{id}/schedule', 200);
    expect(updated).toMatchObject({ type: 'cron', cronSchedule: '0 30 6 * * MON-FRI', timeZone: { id: 'America/New_York', rawOffset: -18_000_000 } });
    const next = Date.parse(updated.nextFireTime as string);
    expect(new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', weekday: 'short' }).format(next)).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 06:30$/);
    expect(h.orderly.getJobConfig('sch')!.schedule).toEqual({ type: 'cron', cron: '0 30 6 * * MON-FRI', timeZone: 'America/New_York' });

    let r = await call('PUT', '/jobconfigs/sch/schedule', { type: 'interval', intervalFrequency: 'P1M' });
    expect(problems(r).map((p) => p.path)).toEqual(['body.intervalFrequency']);
    r = await call('PUT', '/jobconfigs/sch/schedule', { type: 'cron', cronSchedule: '0 * * * *', timeZone: { id: 'Mars/Base' } });
    expect(problems(r).map((p) => p.path)).toEqual(['body.timeZone']);
    r = await call('PUT', '/jobconfigs/sch/schedule', { type: 'cron', cronSchedule: '0 * * * *', webhookConfig: { endpoint: 'http://x' } });
    expect(problems(r).map((p) => p.path)).toEqual(['body.webhookConfig']);
    r = await call('PUT', '/jobconfigs/sch/schedule', { description: 'no type' });
    expect(problems(r).map((p) => p.path)).toEqual(['body.type']);
    expect((await call('PUT', '/jobconfigs/sch/schedule', { type: 'interval', intervalFrequency: 900 }, 'operator')).statusCode).toBe(403);

    empty(await call('DELETE', '/jobconfigs/sch/schedule'), 204);
    expect((await call('GET', '/jobconfigs/sch/schedule')).statusCode).toBe(404);
    expect((await call('DELETE', '/jobconfigs/sch/schedule')).statusCode).toBe(404);
    const after = actian(await call('GET', '/jobconfigs/sch'), 'configuration', 'GET', '/jobconfigs/{id}', 200);
    expect(after).not.toHaveProperty('schedule');
    expect(after).not.toHaveProperty('nextFireTime');
  });
});

describe('more of Actian’s calls', () => {
  it('GET /product/info is an InstalledProductInfo', async () => {
    const info = actian(await call('GET', '/product/info'), 'configuration', 'GET', '/product/info', 200);
    expect(info).toMatchObject({ name: 'Orderly' });
  });

  it('keeps the fields a client sends that Orderly does not use, and returns them', async () => {
    const c = await createConfig({ name: 'kept', workflow: 'hold', destinationId: 'd1', tags: ['a'], runtimeConfig: { packageName: 'pkg.djar', logLevel: 'INFO', macros: [{ key: 'k', value: 'v' }] }, custom: { x: 1 } });
    expect(c).toMatchObject({ destinationId: 'd1', tags: ['a'], custom: { x: 1 }, runtimeConfig: { packageName: 'pkg.djar', logLevel: 'INFO', macros: [{ key: 'k', value: 'v', secure: false }] } });
    const id = c.id as string;
    const patched = actian(await call('PATCH', `/jobconfigs/${id}`, { runtimeConfig: { logLevel: null }, agentId: 'a7' }), 'configuration', 'PATCH', '/jobconfigs/{id}', 200);
    expect(patched).toMatchObject({ destinationId: 'd1', agentId: 'a7', runtimeConfig: { packageName: 'pkg.djar' } });
    expect((patched.runtimeConfig as Record<string, unknown>).logLevel).toBeUndefined();
    const t = actian(await call('POST', '/jobtemplates', { name: 'tpl', runtimeConfig: { packageName: 'p2' }, agentId: 'x' }), 'configuration', 'POST', '/jobtemplates', 201);
    expect(t).toMatchObject({ agentId: 'x', runtimeConfig: { packageName: 'p2' } });
  });

  it('bulk activate, deactivate and delete, all or nothing', async () => {
    const a = (await createConfig({ name: 'A', workflow: 'hold' })).id as string;
    const b = (await createConfig({ name: 'B', workflow: 'hold' })).id as string;
    const r = await call('PATCH', '/jobconfigs/deactivate', { recordIds: [a, b] });
    expect(r.statusCode, r.body).toBe(200);
    expect(h.orderly.getJobConfig(a)!.active).toBe(false);
    const before = await stateOf(h);
    const missing = await call('PATCH', '/jobconfigs/activate', { recordIds: [a, 'nope'] });
    expect(missing.statusCode).toBe(404);
    expect(problems(missing)).toEqual([{ path: 'body.recordIds[1]', message: 'job config nope not found' }]);
    expect(await stateOf(h)).toBe(before);
    expect((await call('PATCH', '/jobconfigs/activate', { recordIds: [a] })).statusCode).toBe(200);
    const run = await call('POST', `/jobconfigs/${a}/jobs`, {});
    expect(run.statusCode).toBe(202);
    const busy = await call('DELETE', '/jobconfigs/delete', { recordIds: [b, a] });
    expect(busy.statusCode).toBe(409);
    expect(problems(busy)[0]!.path).toBe('body.recordIds[1]');
    expect(h.orderly.getJobConfig(b)).toBeDefined();
    empty(await call('DELETE', '/jobconfigs/delete', { recordIds: [b] }), 204);
    expect(h.orderly.getJobConfig(b)).toBeUndefined();
  });

  it('clone a job config and a template', async () => {
    const c = await createConfig({ name: 'orig', workflow: 'hold', blocking: true, runtimeConfig: { macros: [{ key: 'k', value: 'v' }] } });
    const clone = actian(await call('POST', `/jobconfigs/${c.id as string}/clone`), 'configuration', 'POST', '/jobconfigs/{id}/clone', 201);
    expect(clone).toMatchObject({ name: 'orig (copy)', blocking: true, runtimeConfig: { macros: [{ key: 'k', value: 'v', secure: false }] } });
    expect(clone.id).not.toBe(c.id);
    const named = actian(await call('POST', `/jobconfigs/${c.id as string}/clone?name=second`), 'configuration', 'POST', '/jobconfigs/{id}/clone', 201);
    expect(named.name).toBe('second');
    expect((await call('POST', `/jobconfigs/${c.id as string}/clone?name=second`)).statusCode).toBe(409);
    const t = actian(await call('POST', '/jobtemplates', { name: 'T' }), 'configuration', 'POST', '/jobtemplates', 201);
    const tc = actian(await call('POST', `/jobtemplates/${t.id as string}/clone`), 'configuration', 'POST', '/jobtemplates/{id}/clone', 201);
    expect(tc.name).toBe('T (copy)');
  });

  it('macros are default arguments, on job configs and templates', async () => {
    const id = (await createConfig({ name: 'M', workflow: 'hold' })).id as string;
    const m = actian(await call('POST', `/jobconfigs/${id}/macros`, { name: 'region', value: 'eu', description: 'where' }), 'configuration', 'POST', '/jobconfigs/{id}/macros', 201);
    expect(m).toMatchObject({ name: 'region', value: 'eu', secure: false, description: 'where' });
    expect(h.orderly.getJobConfig(id)!.defaultArguments).toEqual({ region: 'eu' });
    expect((await call('POST', `/jobconfigs/${id}/macros`, { name: 'region', value: 'x' })).statusCode).toBe(409);
    expect((await call('POST', `/jobconfigs/${id}/macros`, { name: 's', value: 'x', secure: true })).statusCode).toBe(400);
    const list = actian<{ items: unknown[] }>(await call('GET', `/jobconfigs/${id}/macros`), 'configuration', 'GET', '/jobconfigs/{id}/macros', 200);
    expect(list.items).toHaveLength(1);
    actian(await call('GET', `/jobconfigs/${id}/macros/region`), 'configuration', 'GET', '/jobconfigs/{id}/macros/{name}', 200);
    const put = actian(await call('PUT', `/jobconfigs/${id}/macros/region`, { value: 'us' }), 'configuration', 'PUT', '/jobconfigs/{id}/macros/{name}', 200);
    expect(put).toMatchObject({ value: 'us', description: 'where' });
    const cfg = actian(await call('GET', `/jobconfigs/${id}`), 'configuration', 'GET', '/jobconfigs/{id}', 200);
    expect(cfg.macroDescriptions).toBeUndefined();
    empty(await call('DELETE', `/jobconfigs/${id}/macros/region`), 204);
    expect((await call('GET', `/jobconfigs/${id}/macros/region`)).statusCode).toBe(404);
    const t = actian(await call('POST', '/jobtemplates', { name: 'TM' }), 'configuration', 'POST', '/jobtemplates', 201);
    actian(await call('POST', `/jobtemplates/${t.id as string}/macros`, { name: 'a', value: '1' }), 'configuration', 'POST', '/jobtemplates/{id}/macros', 201);
    expect(h.orderly.getJobTemplate(t.id as string)!.defaultArguments).toEqual({ a: '1' });
    actian(await call('GET', `/jobtemplates/${t.id as string}/macros`), 'configuration', 'GET', '/jobtemplates/{id}/macros', 200);
    empty(await call('DELETE', `/jobtemplates/${t.id as string}/macros/a`), 204);
  });

  it('tags, export and import, a template’s job configs, a job’s out messages', async () => {
    const id = (await createConfig({ name: 'X', workflow: 'hold', tags: ['a'] })).id as string;
    const tagged = actian(await call('PUT', `/jobconfigs/${id}/tags`, ['b', 'a']), 'configuration', 'PUT', '/jobconfigs/{id}/tags', 200);
    expect(tagged).toEqual({ jobConfigId: id, tags: ['a', 'b'] });
    empty(await call('DELETE', `/jobconfigs/${id}/tags`, ['a']), 204);
    expect(actian(await call('GET', `/jobconfigs/${id}`), 'configuration', 'GET', '/jobconfigs/{id}', 200).tags).toEqual(['b']);
    const exported = actian(await call('POST', `/jobconfigs/${id}/export`), 'configuration', 'POST', '/jobconfigs/{id}/export', 200);
    expect((await call('POST', '/jobconfigs/import', exported)).statusCode).toBe(409); // the name is taken
    await call('DELETE', `/jobconfigs/${id}`);
    const imported = actian(await call('POST', '/jobconfigs/import', exported), 'configuration', 'POST', '/jobconfigs/import', 201);
    expect(imported).toMatchObject({ name: 'X', tags: ['b'] });
    const multipart = await h.call({ method: 'POST', url: '/v2/api/jobconfigs/import', headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--' });
    expect(multipart.statusCode).toBe(501);
    const t = actian(await call('POST', '/jobtemplates', { name: 'Tpl' }), 'configuration', 'POST', '/jobtemplates', 201);
    const tid = t.id as string;
    actian(await call('POST', `/jobtemplates/${tid}/jobconfigs`, { name: 'on-tpl', workflow: 'hold' }), 'configuration', 'POST', '/jobtemplates/{id}/jobconfigs', 201);
    const onTpl = actian<{ items: { name: string }[] }>(await call('GET', `/jobtemplates/${tid}/jobconfigs`), 'configuration', 'GET', '/jobtemplates/{id}/jobconfigs', 200);
    expect(onTpl.items.map((c) => c.name)).toEqual(['on-tpl']);
    const texp = actian(await call('POST', `/jobtemplates/${tid}/export?includejobconfigs=true`), 'configuration', 'POST', '/jobtemplates/{id}/export', 200);
    // The names are taken: rename the originals, then import.
    await call('PATCH', `/jobtemplates/${tid}`, { name: 'Tpl old' });
    const first = (await call('GET', `/jobtemplates/${tid}/jobconfigs`)).json<{ items: { id: string }[] }>().items[0]!.id;
    await call('PATCH', `/jobconfigs/${first}`, { name: 'on-tpl old' });
    const timp = actian(await call('POST', '/jobtemplates/import', texp), 'configuration', 'POST', '/jobtemplates/import', 201);
    expect(timp).toMatchObject({ name: 'Tpl', jobConfigs: [expect.objectContaining({ name: 'on-tpl' })] });
    const run = (await call('POST', `/jobconfigs/${imported.id as string}/jobs`, {})).json<{ id: string }>();
    actian(await call('GET', `/jobs/${run.id}/out`), 'execution', 'GET', '/jobs/{id}/out', 200);
    expect((await call('GET', '/jobs/nope/out')).statusCode).toBe(404);
  });

  it('answers 501 with a clear message for the calls Orderly does not provide', async () => {
    for (const [method, url] of [['GET', '/jobconfigs/dropdown'], ['POST', '/jobconfigs/x/favorites'], ['GET', '/jobconfigs/x/files'], ['GET', '/jobs/x/out/files'], ['POST', '/jobs/package'], ['GET', '/integrations/i/jobs']] as const) {
      const r = await call(method, url, method === 'POST' ? {} : undefined);
      expect(r.statusCode, `${method} ${url}`).toBe(501);
      expect(r.json<ErrorJson>().error.message).toMatch(/not provided/);
      expect((await call(method, url, method === 'POST' ? {} : undefined, null)).statusCode).toBe(401);
    }
  });
});
