// Job configs with an inline `command` over real HTTP against a started `orderly serve`
// (with its examples, redeployed at every start): their generated workflow lives in the
// reserved `jobconfig:` namespace, never blocks a later deploy or a restart, goes with its job
// config, and its runs go in parallel unless the job config is blocking.
// Needs the build (dist/): `npm run build`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { apiCall, startServe, type Served } from '../support/serve-process.js';

const root = mkdtempSync(join(tmpdir(), 'orderly-command-jc-'));
const TOKEN = 'e2e-admin-token-0123456789';
let server: Served | undefined;
let base = '';

async function start(dataDir: string): Promise<void> {
  server = await startServe(dataDir, TOKEN, ['--slots', '8']);
  base = server.base;
}

async function stop(): Promise<void> {
  const s = server;
  server = undefined;
  await s?.stop();
}

afterEach(stop);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const call = <T = Record<string, unknown>>(method: string, path: string, body?: unknown, status?: number): Promise<T> => apiCall<T>(base, TOKEN, method, path, body, status);

const WORKFLOW = { TYPE: 'Workflow', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script: 'true' } } } };

describe('job configs with an inline command, against a server process', () => {
  it('do not block later deploys nor the restart; their workflow is listed only when asked for and goes with the job config', async () => {
    const dataDir = join(root, 'deploys');
    await start(dataDir);
    const jc = await call<{ id: string }>('POST', '/v2/api/jobconfigs', { name: 'c', command: 'true' }, 201);
    const generated = `jobconfig:${jc.id}`;
    // Every later deploy passes the re-check of the deployed workflows.
    await call('PUT', '/api/v1/locks/L', { TYPE: 'Lock', limit: 1 });
    await call('PUT', '/api/v1/workflows/w', WORKFLOW);
    const plain = await call<{ workflows: { name: string }[] }>('GET', '/api/v1/workflows');
    expect(plain.workflows.map((w) => w.name)).toContain('w');
    expect(plain.workflows.map((w) => w.name)).not.toContain(generated);
    const all = await call<{ workflows: { name: string; generated?: boolean }[] }>('GET', '/api/v1/workflows?generated=true');
    expect(all.workflows.find((w) => w.name === generated)).toMatchObject({ generated: true });
    // A workflow may not be deployed into the reserved namespace.
    const refused = await call<{ error: { problems: { path: string; message: string }[] } }>('PUT', `/api/v1/workflows/${generated}`, WORKFLOW, 400);
    expect(refused.error.problems[0]!.path).toMatch(/name/);
    // The restart redeploys the examples: it starts.
    await stop();
    await start(dataDir);
    await call('GET', `/api/v1/workflows/${generated}`);
    await call('PUT', '/api/v1/workflows/w2', WORKFLOW);
    // Deleting the job config removes its workflow.
    await call('DELETE', `/v2/api/jobconfigs/${jc.id}`, undefined, 204);
    await call('GET', `/api/v1/workflows/${generated}`, undefined, 404);
    const after = await call<{ workflows: { name: string }[] }>('GET', '/api/v1/workflows?generated=true');
    expect(after.workflows.map((w) => w.name)).not.toContain(generated);
  }, 90_000);

  it('runs of a non-blocking command job config go in parallel; PATCH blocking false releases the waiting ones', async () => {
    await start(join(root, 'parallel'));
    const jc = await call<{ id: string }>('POST', '/v2/api/jobconfigs', { name: 'sleeper', command: 'sleep 60' }, 201);
    const start3 = async (): Promise<string[]> => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await call<{ id: string }>('POST', `/v2/api/jobconfigs/${jc.id}/jobs`, {}, 202)).id);
      return ids;
    };
    // Each start answers after its run was committed and, with a free slot, started.
    const free = await start3();
    expect(await call<string[]>('GET', '/v2/api/jobs/running')).toEqual(expect.arrayContaining(free));
    for (const id of free) await call('POST', `/api/v1/orders/${id}/cancel`, { kill: true });

    await call('PATCH', `/v2/api/jobconfigs/${jc.id}`, { blocking: true });
    const serial = await start3();
    const running = await call<string[]>('GET', '/v2/api/jobs/running');
    expect(running).toContain(serial[0]);
    expect(running).not.toContain(serial[1]);
    expect(await call<string[]>('GET', '/v2/api/jobs/pending')).toEqual(expect.arrayContaining([serial[1], serial[2]]));

    await call('PATCH', `/v2/api/jobconfigs/${jc.id}`, { blocking: false });
    expect(await call<string[]>('GET', '/v2/api/jobs/running')).toEqual(expect.arrayContaining(serial));
  }, 90_000);
});
