// A running job's output over HTTP while it runs: GET /orders/{id}/log has it as `running`,
// GET /orders/{id}/log/live streams it (Server-Sent Events). The job prints a line, waits on a
// fifo the test writes to, and prints more: the test sees the first line before it writes.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { SseClient, type Frame } from '../support/sse-client.js';
import { harness, type Harness } from './support.js';

/** An SSE client that assembles the live output as a dashboard would. */
class LogClient extends SseClient {
  /** Per execution and stream: the text so far and where it ends. */
  readonly text = new Map<string, { text: string; endChars: number }>();

  constructor(port: number, path: string, token: string) {
    super(port, path, { authorization: `Bearer ${token}` });
  }

  protected override onFrame(f: Frame): void {
    if (f.event === 'running') {
      const r = JSON.parse(f.data!) as { executionId: string; stdout: string; stderr: string; stdoutChars: number; stderrChars: number };
      this.text.set(`${r.executionId}/stdout`, { text: r.stdout, endChars: r.stdoutChars });
      this.text.set(`${r.executionId}/stderr`, { text: r.stderr, endChars: r.stderrChars });
    } else if (f.event === 'log') {
      const c = JSON.parse(f.data!) as { executionId: string; stream: string; fromChars: number; text: string };
      const t = this.text.get(`${c.executionId}/${c.stream}`)!;
      expect(c.fromChars).toBeLessThanOrEqual(t.endChars); // no gap at this pace
      t.text += c.text.slice(t.endChars - c.fromChars);
      t.endChars = c.fromChars + c.text.length;
    }
  }

  stream(name: 'stdout' | 'stderr'): string {
    return [...this.text.entries()].filter(([k]) => k.endsWith(`/${name}`)).map(([, v]) => v.text).join('');
  }
}

let h: Harness | undefined;
const clients: LogClient[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await h?.close();
  h = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const SCRIPT = '#!/bin/sh\necho "first <b>line</b>"\nread go < "$ORDERLY_ARG_FIFO"\necho "second line"\necho "to stderr" >&2\n';

async function setUp(): Promise<{ h: Harness; port: number; fifo: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'orderly-live-log-'));
  dirs.push(dir);
  const fifo = join(dir, 'gate');
  execFileSync('mkfifo', [fifo]);
  h = await harness({ orderly: { slots: 1 } });
  const res = await h.call({
    method: 'PUT',
    url: '/api/v1/workflows/talker',
    payload: { TYPE: 'Workflow', instructions: [{ TYPE: 'Execute.Named', jobName: 'talk' }], jobs: { talk: { executable: { TYPE: 'ShellScriptExecutable', script: SCRIPT } } } },
  });
  expect(res.statusCode, res.body).toBeLessThan(300);
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  return { h, port: (h.app.server.address() as AddressInfo).port, fifo };
}

describe('a running job’s output over HTTP', { timeout: 60_000 }, () => {
  it('streams the output while the job runs, and GET /log has it as `running` until the job ends', async () => {
    const { h, port, fifo } = await setUp();
    const c = new LogClient(port, '/api/v1/orders/L1/log/live', h.tokens.viewer);
    clients.push(c);
    await h.orderly.addOrder({ workflow: 'talker', id: 'L1', arguments: { FIFO: fifo } });
    await c.open();
    expect(c.status).toBe(200);
    await c.until(() => c.stream('stdout').includes('first <b>line</b>\n'));
    expect(c.frames.some((f) => f.event === 'running')).toBe(true);

    const mid = await h.call({ method: 'GET', url: '/api/v1/orders/L1/log', as: 'viewer' });
    expect(mid.statusCode).toBe(200);
    const midBody = mid.json<{ logs: unknown[]; running?: { job: string; stdout: string; stdoutFromChars: number; stdoutChars: number; executionId: string } }>();
    expect(midBody.logs).toEqual([]);
    expect(midBody.running).toMatchObject({ stdout: 'first <b>line</b>\n', stdoutFromChars: 0, stdoutChars: 18 });
    expect(midBody.running?.job).toContain('talk');
    expect(h.orderly.getOrder('L1')?.state).toBe('processing');

    writeFileSync(fifo, 'go\n');
    await c.until(() => c.stream('stdout').includes('second line') && c.stream('stderr').includes('to stderr'));
    expect(c.stream('stdout')).toBe('first <b>line</b>\nsecond line\n');
    await h.orderly.awaitOrder('L1', { orSettled: true });
    const end = (await h.call({ method: 'GET', url: '/api/v1/orders/L1/log', as: 'viewer' })).json<{ logs: { stdout: string; executionId: string }[]; running?: unknown }>();
    expect(end.running).toBeUndefined();
    expect(end.logs).toHaveLength(1);
    expect(end.logs[0]).toMatchObject({ stdout: 'first <b>line</b>\nsecond line\n', executionId: midBody.running?.executionId });
  });

  it('is role-checked like the log and answers 404 for an unknown order', async () => {
    const { h } = await setUp();
    expect((await h.call({ method: 'GET', url: '/api/v1/orders/L1/log/live', as: null })).statusCode).toBe(401);
    expect((await h.call({ method: 'GET', url: '/api/v1/orders/nope/log/live', as: 'viewer' })).statusCode).toBe(404);
    expect((await h.call({ method: 'GET', url: '/api/v1/orders/nope/log', as: 'viewer' })).statusCode).toBe(404);
    expect((await h.call({ method: 'GET', url: '/api/v1/orders/bad%20id/log/live', as: 'viewer' })).statusCode).toBe(400);
  });
});
