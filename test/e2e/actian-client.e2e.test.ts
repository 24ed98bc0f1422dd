// End to end: a client written only from Actian's Swagger documents (test/fixtures/actian)
// runs unchanged against a started `orderly serve` process, over real HTTP. Every JSON answer
// is checked against Actian's schema for that call. What the client does: login, product
// info, create a job config (with a package name Orderly does not use), PATCH blocking, start
// three jobs, poll pending and running, job info, log, stats, Basic auth, and a run through a
// job config alias with x-api-key. The set-up before it (a user, a workflow, the alias and its
// key) is Orderly's side: an Actian administrator makes those in Actian's console.
// Needs the build (dist/): `npm run build`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { actianSchemaErrors, type SPECS } from '../support/actian-schemas.js';
import { apiCall, startServe, type Served } from '../support/serve-process.js';

const root = mkdtempSync(join(tmpdir(), 'orderly-actian-client-'));
const ADMIN = 'e2e-admin-token-0123456789';
let server: Served | undefined;
let base = '';

beforeAll(async () => {
  server = await startServe(join(root, 'data'), ADMIN, ['--slots', '4']);
  base = server.base;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Orderly's side: what an administrator sets up (as in Actian's console). */
const admin = <T>(method: string, path: string, body?: unknown): Promise<T> => apiCall<T>(base, ADMIN, method, path, body);

// ---------------------------------------------------------------- the client (Actian's Swagger only)

type Spec = keyof typeof SPECS;
interface Call {
  method: string;
  /** The path as the Swagger document names it (for its schema), and the URL to call. */
  op: string;
  url: string;
  spec: Spec;
  status: number;
  /** The definition of the answer where the Swagger document gives the status no schema. */
  definition?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

class ActianClient {
  token = '';
  readonly checked: string[] = [];
  constructor(private readonly url: string) {}

  async call<T = Record<string, unknown>>(c: Call): Promise<T> {
    const headers: Record<string, string> = { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...c.headers };
    if (c.body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${this.url}/v2/api${c.url}`, { method: c.method, headers, ...(c.body !== undefined ? { body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) } : {}) });
    const text = await r.text();
    expect(r.status, `${c.method} ${c.url}: ${text}`).toBe(c.status);
    if (text === '') return undefined as T;
    if (!(r.headers.get('content-type') ?? '').includes('json')) return text as T;
    const body = JSON.parse(text) as T;
    const errs = actianSchemaErrors(c.spec, c.method, c.op, c.status, body, c.definition);
    if (errs) throw new Error(`${c.method} ${c.op} ${c.status}: not Actian's schema: ${errs}\n${text}`);
    this.checked.push(`${c.method} ${c.op}`);
    return body;
  }

  async login(username: string, password: string): Promise<void> {
    const r = await this.call<{ access_token: string; token_type: string }>({ method: 'POST', op: '/login', url: '/login', spec: 'configuration', status: 200, body: { username, password } });
    expect(r.token_type).toBe('Bearer');
    this.token = r.access_token;
  }

  /** Polls a list of job ids until `done` holds (each answer checked), at most `tries` times. */
  async pollIds(which: 'pending' | 'running', done: (ids: string[]) => boolean, tries = 200): Promise<string[]> {
    for (let i = 0; ; i++) {
      const ids = await this.call<string[]>({ method: 'GET', op: `/jobs/${which}`, url: `/jobs/${which}`, spec: 'execution', status: 200 });
      if (done(ids) || i >= tries) return ids;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('a client written from Actian’s Swagger, against orderly serve', () => {
  it('login, create, PATCH blocking, three runs (one running, two pending in order), stats, a log, Basic auth, an alias run with x-api-key', async () => {
    // Orderly's side: a user, the workflow the job config runs, an alias with its key.
    await admin('POST', '/api/v1/users', { name: 'ann', password: 'correct horse battery', role: 'admin' });
    await admin('PUT', '/api/v1/workflows/nightly-load', {
      TYPE: 'Workflow',
      instructions: [{ TYPE: 'Execute.Named', jobName: 'load' }],
      jobs: { load: { executable: { TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\nsleep 60\n' }, parallelism: 10 } },
    });
    await admin('PUT', '/api/v1/workflows/quick', {
      TYPE: 'Workflow',
      instructions: [{ TYPE: 'Execute.Named', jobName: 'hello' }],
      jobs: { hello: { executable: { TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\necho hello $ORDERLY_ARG_WHO\n' } } },
    });

    const client = new ActianClient(base);
    await client.login('ann', 'correct horse battery');
    const info = await client.call<{ name: string }>({ method: 'GET', op: '/product/info', url: '/product/info', spec: 'configuration', status: 200 });
    expect(info.name).toBe('Orderly');

    const jc = await client.call<{ id: string; blocking: boolean; runtimeConfig: { packageName?: string } }>({
      method: 'POST',
      op: '/jobconfigs',
      url: '/jobconfigs',
      spec: 'configuration',
      status: 201,
      body: { name: 'Nightly load', active: true, runtimeConfig: { entryPoint: 'nightly-load', packageName: 'nightly.djar', macros: [{ key: 'REGION', value: 'eu' }] } },
    });
    expect(jc.runtimeConfig.packageName).toBe('nightly.djar');
    const patched = await client.call<{ blocking: boolean }>({ method: 'PATCH', op: '/jobconfigs/{id}', url: `/jobconfigs/${jc.id}`, spec: 'configuration', status: 200, body: { blocking: true } });
    expect(patched.blocking).toBe(true);

    const jobs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const j = await client.call<{ id: string }>({ method: 'POST', op: '/jobconfigs/{id}/jobs', url: `/jobconfigs/${jc.id}/jobs`, spec: 'execution', status: 202, definition: 'JobResponse', body: {} });
      jobs.push(j.id);
    }
    const running = await client.pollIds('running', (ids) => ids.includes(jobs[0]!));
    expect(running.filter((id) => jobs.includes(id))).toEqual([jobs[0]]);
    const pending = await client.pollIds('pending', (ids) => jobs.slice(1).every((j) => ids.includes(j)));
    expect(pending.filter((id) => jobs.includes(id))).toEqual([jobs[1], jobs[2]]);
    const first = await client.call<{ status: string; jobConfig: { id: string } }>({ method: 'GET', op: '/jobs/{id}', url: `/jobs/${jobs[0]!}`, spec: 'execution', status: 200 });
    expect(first.status).toBe('running');
    const second = await client.call<{ status: string }>({ method: 'GET', op: '/jobs/{id}', url: `/jobs/${jobs[1]!}`, spec: 'execution', status: 200 });
    expect(second.status).toBe('waiting');
    const list = await client.call<{ items: { id: string }[] }>({ method: 'GET', op: '/jobconfigs/{id}/jobs', url: `/jobconfigs/${jc.id}/jobs`, spec: 'execution', status: 200 });
    expect(list.items.map((j) => j.id).sort()).toEqual([...jobs].sort());

    const stats = await client.call<{ queued: number; running: number; totalJobs: number }>({ method: 'GET', op: '/jobstats', url: `/jobstats?jobconfigid=${jc.id}`, spec: 'execution', status: 200, definition: 'JobStatsResponse' });
    expect(stats).toMatchObject({ queued: 2, running: 1, totalJobs: 3 });

    // Basic base64(user:password) instead of the token.
    const basic = new ActianClient(base);
    const viaBasic = await basic.call<{ id: string }>({
      method: 'GET',
      op: '/jobconfigs/{id}',
      url: `/jobconfigs/${jc.id}`,
      spec: 'configuration',
      status: 200,
      headers: { authorization: `Basic ${Buffer.from('ann:correct horse battery').toString('base64')}` },
    });
    expect(viaBasic.id).toBe(jc.id);

    // An alias run with the alias's api key only.
    const alias = await admin<{ apiKey: string }>('POST', `/v2/api/jobconfigs/${jc.id}/aliases`, { alias: 'nightly-hook' });
    const keyOnly = new ActianClient(base);
    const hooked = await keyOnly.call<{ id: string; status: string }>({
      method: 'POST',
      op: '/listener/{alias}',
      url: '/listener/nightly-hook',
      spec: 'execution',
      status: 202,
      definition: 'JobResponse',
      headers: { 'x-api-key': alias.apiKey, 'content-type': 'text/plain' },
      body: 'payload',
    });
    expect(hooked.status).toBe('waiting'); // blocking: after the three others
    expect((await fetch(`${base}/v2/api/jobs`, { headers: { 'x-api-key': alias.apiKey } })).status).toBe(401); // the key runs the alias, nothing else

    // Stop them all (the running one is killed).
    for (const id of [...jobs, hooked.id].reverse()) {
      await client.call({ method: 'DELETE', op: '/jobs/{id}', url: `/jobs/${id}`, spec: 'execution', status: 202, definition: 'JobResponse' });
    }

    // A short job's log, once it has finished (polling its status).
    const quick = await client.call<{ id: string }>({ method: 'POST', op: '/jobconfigs', url: '/jobconfigs', spec: 'configuration', status: 201, body: { name: 'Quick', runtimeConfig: { entryPoint: 'quick' } } });
    const q = await client.call<{ id: string }>({ method: 'POST', op: '/jobconfigs/{id}/jobs', url: `/jobconfigs/${quick.id}/jobs`, spec: 'execution', status: 202, definition: 'JobResponse', body: { runtimeConfig: { macros: [{ key: 'WHO', value: 'ann' }] } } });
    let status = '';
    for (let i = 0; i < 400 && status !== 'finished_ok'; i++) {
      status = (await client.call<{ status: string }>({ method: 'GET', op: '/jobs/{id}', url: `/jobs/${q.id}`, spec: 'execution', status: 200 })).status;
      if (status !== 'finished_ok') await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('finished_ok');
    const log = await client.call<string>({ method: 'GET', op: '/jobs/{id}/log', url: `/jobs/${q.id}/log`, spec: 'execution', status: 200 });
    expect(log).toContain('hello ann');
    expect(client.checked.length).toBeGreaterThan(10);
  }, 120_000);
});
