// Actian's documented cases over real HTTP against a started `orderly serve` process.
// The server runs with the test clock (ORDERLY_TEST_CLOCK): schedules fire when the test
// moves time, while the jobs are real processes that run for real.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apiCall, startServe, type Served } from '../support/serve-process.js';

const root = mkdtempSync(join(tmpdir(), 'orderly-actian-'));
const TOKEN = 'e2e-admin-token-0123456789';
let server: Served | undefined;
let base = '';

beforeAll(async () => {
  server = await startServe(join(root, 'data'), TOKEN, ['--no-examples'], { env: { ORDERLY_TEST_CLOCK: '2026-11-23T10:00:00Z' } });
  base = server.base;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

const call = <T = Record<string, unknown>>(method: string, path: string, body?: unknown, status?: number): Promise<T> => apiCall<T>(base, TOKEN, method, path, body, status);

const advance = (minutes: number) => call('POST', '/api/v1/test/clock', { advanceSeconds: minutes * 60 });
const runsOf = async (id: string) => (await call<{ items: { id: string; state: string }[] }>('GET', `/api/v1/jobconfigs/${id}/runs`)).items;

/** A job config whose run takes "longer than 15 minutes": a real process that outlives every test step. */
async function longConfig(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const jc = await call<{ id: string }>('POST', '/v2/api/jobconfigs', { name, command: 'sleep 60', ...extra }, 201);
  return jc.id;
}

describe("Actian's documented cases, over HTTP against a server process", () => {
  it('PATCH /v2/api/jobconfigs/{id} {"blocking": true} with a Bearer token works verbatim', async () => {
    const id = await longConfig('patched');
    const r = await fetch(`${base}/v2/api/jobconfigs/${id}`, { method: 'PATCH', headers: { Authorization: `Bearer ${TOKEN}` }, body: '{"blocking": true}' });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ id, blocking: true });
  });

  it('a 15-minute schedule whose run takes longer than 15 minutes, blocking on: runs queue and never overlap', async () => {
    const id = await longConfig('every 15 minutes, blocking', { blocking: true });
    await call('POST', `/v2/api/jobconfigs/${id}/schedule`, { name: 'quarter-hourly', type: 'cron', cronSchedule: '*/15 * * * *', timeZone: { id: 'Europe/Berlin' } }, 201);
    for (let i = 0; i < 3; i++) {
      await advance(15); // answers after the fire is committed
      const runs = await runsOf(id);
      expect(runs.length).toBe(i + 1);
      expect(runs.filter((r) => r.state === 'processing').length).toBe(1); // never two at once
    }
    expect((await call<{ queuedRuns: number }>('GET', `/v2/api/jobconfigs/${id}`)).queuedRuns).toBe(2);
    const running = await call<string[]>('GET', '/v2/api/jobs/running');
    const runs = await runsOf(id);
    expect(running.filter((j) => runs.some((r) => r.id === j))).toEqual([runs[0]!.id]);
    const { locks } = await call<{ locks: { name: string; holders: { orderId: string }[]; queue: { orderId: string }[] }[] }>('GET', '/api/v1/locks');
    const runLock = locks.find((l) => l.name === `jobconfig:${id}`)!;
    expect(runLock.holders.map((h) => h.orderId)).toEqual([runs[0]!.id]);
    expect(runLock.queue.map((q) => q.orderId)).toEqual([runs[1]!.id, runs[2]!.id]);
  });

  it('with overlap skip, the fires during the long run are recorded as skipped, with the reason', async () => {
    const id = await longConfig('every 15 minutes, skip', { blocking: true });
    await call('POST', `/v2/api/jobconfigs/${id}/schedule`, { type: 'interval', intervalFrequency: 'PT15M', overlap: 'skip' }, 201);
    await advance(15);
    await advance(15);
    await advance(15);
    const jc = await call<{ fires: { fireAt: string; orderId?: string; skipped?: string }[] }>('GET', `/api/v1/jobconfigs/${id}`);
    expect(jc.fires.length).toBe(3);
    expect(jc.fires[0]!.orderId).toBeDefined();
    expect(jc.fires.slice(1).map((f) => f.skipped)).toEqual([expect.stringContaining('overlap skip'), expect.stringContaining('overlap skip')]);
    expect((await runsOf(id)).length).toBe(1);
    // Through /v2/api: the fires on the JobConfigResponse, their count on the JobStatsResponse.
    const actian = await call<{ fires: { skipped?: string; jobId?: string }[]; queuedRuns: number }>('GET', `/v2/api/jobconfigs/${id}`);
    expect(actian.fires.filter((f) => f.skipped?.includes('overlap skip')).length).toBe(2);
    expect(actian.fires[0]!.jobId).toBe((await runsOf(id))[0]!.id);
    expect((await call<{ skippedFires: number }>('GET', `/v2/api/jobstats?jobconfigid=${id}`)).skippedFires).toBe(2);
  });

  it('two blocking job configs serialize independently of each other', async () => {
    const a = await longConfig('A', { blocking: true });
    const b = await longConfig('B', { blocking: true });
    const started: string[] = [];
    for (const id of [a, a, b, b]) started.push((await call<{ id: string }>('POST', `/v2/api/jobconfigs/${id}/jobs`, {}, 202)).id);
    const running = await call<string[]>('GET', '/v2/api/jobs/running');
    expect(running).toContain(started[0]);
    expect(running).toContain(started[2]);
    expect(running).not.toContain(started[1]);
    expect(running).not.toContain(started[3]);
    const pending = await call<string[]>('GET', '/v2/api/jobs/pending');
    expect(pending).toEqual(expect.arrayContaining([started[1], started[3]]));
  });
});
