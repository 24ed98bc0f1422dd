// startServe in-process: data dir, examples deploy, auth bootstrap, the control socket, close.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { requestSocket } from '../../src/node/control-client.js';
import { startServe, type Serving } from '../../src/node/serve.js';

let dir: string | undefined;
const open: Serving[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('startServe', () => {
  it('deploys the examples, bootstraps a token once, serves HTTP and the control socket; a restart keeps both', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orderly-serve-'));
    const dataDir = join(dir, 'data');
    const a = await startServe({ port: 0, dataDir });
    open.push(a);
    expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(a.adminToken).toMatch(/^oly_/);
    expect(a.deployed!.workflows.map((w) => w.name).sort()).toEqual(['pdErrorRelease', 'pdErrorStop', 'pdSerialShared', 'pdSerialSingle']);
    const headers = { authorization: `Bearer ${a.adminToken!}`, 'content-type': 'application/json' };
    const r = await fetch(`${a.url}/api/v1/orders`, { method: 'POST', headers, body: JSON.stringify({ workflow: 'pdSerialSingle', id: 'x1', scheduledFor: Date.now() + 3_600_000 }) });
    expect(r.status).toBe(201);
    // Journal commits are timed (the store is wrapped).
    const metrics = await (await fetch(`${a.url}/metrics`, { headers })).text();
    const commits = /^orderly_journal_commit_seconds_count (\d+)$/m.exec(metrics);
    expect(Number(commits?.[1])).toBeGreaterThan(0);
    // The CLI's control socket answers too.
    const viaSocket = await requestSocket(join(dataDir, 'orderly.sock'), 'GET', '/orders/x1');
    expect(viaSocket.status).toBe(200);

    // A second engine on the same data dir is refused (here in the same process; another process gets "already running").
    await expect(startServe({ port: 0, dataDir })).rejects.toThrow(/already open in this process/);

    await a.close();
    open.length = 0;
    const b = await startServe({ port: 0, dataDir });
    open.push(b);
    expect(b.adminToken).toBeUndefined();
    expect(b.deployed).toEqual({ locks: [], workflows: [] });
    const again = await fetch(`${b.url}/api/v1/orders/x1`, { headers });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { order: { state: string } }).order.state).toBe('scheduled');
  });

  it('refuses an examples folder that does not exist', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orderly-serve-'));
    await expect(startServe({ port: 0, dataDir: join(dir, 'data'), examples: join(dir, 'nope') })).rejects.toThrow(/no such folder/);
  });
});
