// The `orderly` CLI against `orderly serve` over HTTP (--server, --token): real processes of
// dist/cli/main.js (`npm test` builds first), a real server on a free port, tokens with roles.

import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { LockView, OrderView } from '../../src/runtime/views.js';
import { cleanUp, cli, startBackground, tempDir as sharedTempDir, type Background } from '../support/cli-process.js';

const ADMIN_TOKEN = 'cli-server-test-admin-token-0123456789';

function tempDir(): string {
  return sharedTempDir('orderly-cli-server-');
}

async function ok(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await cli(args, env);
  if (r.code !== 0) throw new Error(`orderly ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

interface Server extends Background {
  url: string;
}

/** `orderly serve --port 0` in the background; resolves once it prints where it listens (the timeout is a safety net). */
async function startServer(dataDir: string, timeoutMs = 90_000): Promise<Server> {
  const b = await startBackground(['serve', '--port', '0', '--data-dir', dataDir], /Orderly listening on (http:\/\/\S+)/, { ORDERLY_ADMIN_TOKEN: ADMIN_TOKEN }, timeoutMs);
  return { ...b, url: b.match[1]! };
}

/** A TCP port nothing listens on (bound, then closed again). */
function closedPort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolvePromise(port));
    });
  });
}

function writeJson(file: string, v: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(v, null, 2));
}

/** A workflow that holds `outer` and, inside it, `inner` (both exclusive), with no jobs. */
function nestedLocks(outer: string, inner: string): unknown {
  return {
    TYPE: 'Workflow',
    instructions: [
      {
        TYPE: 'Lock',
        demands: [{ lockName: outer }],
        lockedWorkflow: { instructions: [{ TYPE: 'Lock', demands: [{ lockName: inner }], lockedWorkflow: { instructions: [] } }] },
      },
    ],
    jobs: {},
  };
}

afterAll(cleanUp);

describe('orderly CLI with --server (orderly serve over HTTP)', () => {
  let server: Server;
  let admin: string[];

  beforeAll(async () => {
    server = await startServer(join(tempDir(), 'data'));
    admin = ['--server', server.url, '--token', ADMIN_TOKEN];
  });

  it('order add ×3: one holder, two waiters; orders, order show, order cancel', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).not.toMatch(/:0$/);
    for (const id of ['q1', 'q2', 'q3']) {
      const r = await cli(['order', 'add', 'pdSerialSingle', '--id', id, ...admin]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(id);
      // Not the offline path: nothing says "no engine runs".
      expect(r.stderr).toBe('');
    }

    const locks = JSON.parse(await ok(['locks', '--json', ...admin])) as LockView[];
    const lock = locks.find((l) => l.name === 'pdSerialLockSingle');
    expect(lock).toBeDefined();
    expect(lock!.holders.map((h) => h.orderId)).toEqual(['q1']);
    expect(lock!.holders[0]!.token).toBeGreaterThan(0);
    expect(lock!.queue.map((w) => [w.orderId, w.place])).toEqual([
      ['q2', 1],
      ['q3', 2],
    ]);
    expect(lock!.queue[0]!.reason).toMatch(/held by q1/);

    // The orders move on (each holds the lock for about 3 s): q3 waits longest, act on it first.
    const cancel = await cli(['order', 'cancel', 'q3', ...admin]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(/order q3: cancelled/);
    const prio = JSON.parse(await ok(['order', 'priority', 'q2', '7', '--json', ...admin])) as OrderView;
    expect(prio).toMatchObject({ id: 'q2', priority: 7 });
    const after = JSON.parse(await ok(['locks', '--json', ...admin])) as LockView[];
    expect(after.find((l) => l.name === 'pdSerialLockSingle')!.queue.map((w) => w.orderId)).not.toContain('q3');

    const table = await ok(['locks', ...admin]);
    expect(table).toMatch(/^NAME +LIMIT +POLICY +STATE +HOLDERS +QUEUE\n/);
    expect(table).toMatch(/\npdSerialLockSingle +1 +fifo /);

    const orders = JSON.parse(await ok(['orders', '--json', ...admin])) as OrderView[];
    expect(orders.map((o) => o.id)).toEqual(['q1', 'q2', 'q3']);
    expect(orders[2]!.state).toBe('cancelled');
    const cancelled = JSON.parse(await ok(['orders', '--json', '--state', 'cancelled', ...admin])) as OrderView[];
    expect(cancelled.map((o) => o.id)).toEqual(['q3']);
    expect(await ok(['orders', ...admin])).toMatch(/^ID +WORKFLOW +STATE +PRIO +POSITION +DETAIL\nq1 +pdSerialSingle v1 /);

    const show = JSON.parse(await ok(['order', 'show', 'q1', '--json', ...admin])) as {
      order: OrderView;
      history: { seq: number; event: { type: string } }[];
      logs: unknown[];
    };
    expect(show.order.id).toBe('q1');
    expect(show.history.map((h) => h.event.type).slice(0, 3)).toEqual(['OrderAdded', 'OrderLocksAcquired', 'OrderProcessingStarted']);
    expect(Array.isArray(show.logs)).toBe(true);
    expect(await ok(['order', 'show', 'q3', ...admin])).toMatch(/^order: +q3\nworkflow: +pdSerialSingle v1\nstate: +cancelled\n[^]*history \(\d+ events\):/);
  });

  it("refusals: the server's problems like local ones; unknown order; exit 1", async () => {
    const unknown = await cli(['order', 'add', 'noSuchWorkflow', ...admin]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('orderly: workflow: workflow noSuchWorkflow is not deployed\n');

    const badId = await cli(['order', 'add', 'pdSerialSingle', '--id', 'bad id!', ...admin]);
    expect(badId.code).toBe(1);
    expect(badId.stderr).toMatch(/^orderly: id: /);

    const missing = await cli(['order', 'show', 'nope', ...admin]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('orderly: order nope not found\n');
  });

  it('ORDERLY_SERVER and ORDERLY_TOKEN from the environment; flags win', async () => {
    const env = { ORDERLY_SERVER: server.url, ORDERLY_TOKEN: ADMIN_TOKEN };
    const orders = JSON.parse(await ok(['orders', '--json'], env)) as OrderView[];
    expect(orders.map((o) => o.id)).toContain('q1');
    const wrong = await cli(['orders', '--json', '--token', 'not-the-token-at-all'], env);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^orderly: 401 unauthorized: /);
    const right = await cli(['orders', '--json', '--token', ADMIN_TOKEN], { ORDERLY_SERVER: server.url, ORDERLY_TOKEN: 'wrong-token-in-env' });
    expect(right.code, right.stderr).toBe(0);
  });

  it('a bad token: exit 1 with one 401 line; no token: usage error, exit 2', async () => {
    const bad = await cli(['order', 'add', 'pdSerialSingle', '--server', server.url, '--token', 'wrong-token-0123456789']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^orderly: 401 unauthorized: unknown or expired token/);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);

    const none = await cli(['locks', '--server', server.url]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--token/);
    expect(none.stderr).toMatch(/ORDERLY_TOKEN/);

    const both = await cli(['locks', '--server', server.url, '--token', ADMIN_TOKEN, '--data-dir', tempDir()]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--data-dir or --server/);

    const notUrl = await cli(['locks', '--server', 'localhost-8080', '--token', ADMIN_TOKEN]);
    expect(notUrl.code).toBe(2);
    expect(notUrl.stderr).toMatch(/--server localhost-8080: not a URL/);
  });

  it('a viewer token reads but cannot add orders: 403', async () => {
    const res = await fetch(`${server.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cli-viewer', role: 'viewer' }),
    });
    expect(res.status).toBe(201);
    const { token } = (await res.json()) as { token: string };
    const viewer = ['--server', server.url, '--token', token];

    const locks = JSON.parse(await ok(['locks', '--json', ...viewer])) as LockView[];
    expect(locks.some((l) => l.name === 'pdSerialLockSingle')).toBe(true);

    const add = await cli(['order', 'add', 'pdSerialSingle', ...viewer]);
    expect(add.code).toBe(1);
    expect(add.stdout).toBe('');
    expect(add.stderr).toMatch(/^orderly: 403 forbidden: .*operator/);

    const dir = join(tempDir(), 'inv');
    writeJson(join(dir, 'viewerLock.lock.json'), { TYPE: 'Lock', limit: 1 });
    const deploy = await cli(['deploy', dir, ...viewer]);
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toMatch(/^orderly: 403 forbidden: .*admin.*viewerLock\.lock\.json; nothing was deployed/);
  });

  it('deploy DIR: PUTs each lock then each workflow; stops at the first refusal, naming the file', async () => {
    const dir = join(tempDir(), 'inv');
    writeJson(join(dir, 'cycA.lock.json'), { TYPE: 'Lock', limit: 1 });
    writeJson(join(dir, 'cycB.lock.json'), { TYPE: 'Lock', limit: 1 });
    writeJson(join(dir, 'sub', 'cycAB.workflow.json'), nestedLocks('cycA', 'cycB'));
    const first = await cli(['deploy', dir, ...admin]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(`deployed lock cycA, lock cycB, workflow cycAB v1 from ${dir}`);
    expect(JSON.parse(await ok(['deploy', dir, '--json', ...admin]))).toEqual({ locks: [], workflows: [] });

    // A folder checked against the server's locks: a demand over a deployed lock's limit is
    // refused before anything is sent.
    const local = join(tempDir(), 'inv');
    writeJson(join(local, 'over.workflow.json'), {
      TYPE: 'Workflow',
      instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'cycA', count: 2 }], lockedWorkflow: { instructions: [] } }],
      jobs: {},
    });
    const refused = await cli(['deploy', local, ...admin]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^orderly: over\.workflow\.json: instructions\[0\]\.demands\[0\]\.count: /);

    // The server refuses the second file (a lock order cycle with cycAB): the first stays.
    const second = join(tempDir(), 'inv');
    writeJson(join(second, 'cycC.lock.json'), { TYPE: 'Lock', limit: 2 });
    writeJson(join(second, 'deep', 'cycBA.workflow.json'), nestedLocks('cycB', 'cycA'));
    const cycle = await cli(['deploy', second, ...admin]);
    expect(cycle.code).toBe(1);
    expect(cycle.stderr).toMatch(/^orderly: deep\/cycBA\.workflow\.json: .*deployed before it: lock cycC; a deploy over --server is not atomic/);
    const locks = JSON.parse(await ok(['locks', '--json', ...admin])) as LockView[];
    expect(locks.map((l) => l.name)).toContain('cycC');
  });

  it('a server that does not answer: exit 1, cannot reach server', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await cli(['orders', '--server', url, '--token', ADMIN_TOKEN]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^orderly: cannot reach server ${url.replace(/\./g, '\\.')}: .*ECONNREFUSED`));
  });

  it('SIGTERM stops the server: exit 0', async () => {
    server.child.kill('SIGTERM');
    // Waits for the exit however long the shutdown takes; the test's timeout is the safety net.
    expect(await server.exited).toBe(0);
    expect(server.output()).toMatch(/orderly: stopped/);
  });
});
