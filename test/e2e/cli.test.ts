// The `orderly` CLI as users run it: real processes of dist/cli/main.js (`npm test` builds
// first), a real engine in the background, its control socket, and the journal offline.

import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { LockView, OrderView } from '../../src/runtime/views.js';
import { cleanUp, cli, ROOT, startBackground, tempDir as sharedTempDir, type Background } from '../support/cli-process.js';

const SERIAL_SINGLE = join(ROOT, 'examples/serial-single');

function tempDir(): string {
  return sharedTempDir('orderly-cli-');
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  if (r.code !== 0) throw new Error(`orderly ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

type Engine = Background;

/** `orderly run` in the background; resolves once it says where its control socket is. */
function startEngine(args: string[], timeoutMs = 60_000): Promise<Engine> {
  return startBackground(['run', ...args], /control socket /, {}, timeoutMs);
}

async function stopEngine(e: Engine, timeoutMs = 60_000): Promise<number | null> {
  e.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`engine did not stop within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([e.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` until it gives a value; the time limit only ends a hung test. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

afterAll(cleanUp);

describe('orderly CLI', () => {
  it('offline: deploy and order add write the journal; orders --json shows the order; the next engine starts it', async () => {
    const data = join(tempDir(), 'data');
    await ok(['deploy', SERIAL_SINGLE, '--data-dir', data]);
    const add = await cli(['order', 'add', 'pdSerialSingle', '--data-dir', data, '--arg', 'who=offline', '--priority', '3']);
    expect(add.code).toBe(0);
    const id = add.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(add.stderr).toMatch(/no engine runs on/);

    const orders = JSON.parse(await ok(['orders', '--json', '--data-dir', data])) as OrderView[];
    expect(orders.map((o) => o.id)).toEqual([id]);
    expect(orders[0]).toMatchObject({ workflow: 'pdSerialSingle', priority: 3, arguments: { who: 'offline' } });
    // No worker ran it: it waits (holding its lock) instead of having been started and lost.
    expect(orders[0]!.state).toBe('waiting');

    const engine = await startEngine(['--data-dir', data, '--quiet']);
    const started = await until('the offline order to start', async () => {
      const r = JSON.parse(await ok(['order', 'show', id, '--json', '--data-dir', data])) as { order: OrderView };
      return r.order.state === 'processing' || r.order.state === 'finished' ? r.order : undefined;
    });
    expect(started.outcome?.type).not.toBe('failed');
    expect(await stopEngine(engine)).toBe(0);
  }, 180_000);

  it('offline: order confirm lets a prompting order go on; a second confirm is refused', async () => {
    const data = join(tempDir(), 'data');
    await ok(['deploy', join(ROOT, 'test/fixtures/js7/prompt'), '--data-dir', data]);
    await ok(['order', 'add', 'releaseGate', '--id', 'p1', '--data-dir', data]);
    const listed = await ok(['orders', '--data-dir', data]);
    expect(listed).toMatch(/prompting "Release to production\?"/);
    const confirm = await cli(['order', 'confirm', 'p1', '--data-dir', data]);
    expect(confirm.code).toBe(0);
    // No worker runs offline: the job after the prompt waits for a slot.
    expect(confirm.stdout).toMatch(/p1: waiting/);
    const again = await cli(['order', 'confirm', 'p1', '--data-dir', data]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/not prompting/);
  }, 30_000);

  describe('with an engine running examples/serial-single', () => {
    let data = '';
    let engine: Engine;

    it('starts, saying what it deployed and where its socket is', async () => {
      data = join(tempDir(), 'data');
      engine = await startEngine([SERIAL_SINGLE, '--data-dir', data]);
      expect(engine.output()).toMatch(/deployed lock pdSerialLockSingle, workflow pdSerialSingle v1/);
      expect(engine.output()).toContain(join(data, 'orderly.sock'));
    });

    it('order add ×3 over the socket: one holder, two waiters in order; cancel a waiter; order show', async () => {
      // Each job sleeps `seconds`: an hour, so q1 holds the lock until the engine stops, however
      // slow the machine (the engine kills the job when it stops).
      for (const id of ['q1', 'q2', 'q3']) {
        expect((await ok(['order', 'add', 'pdSerialSingle', '--id', id, '--arg', 'seconds=3600', '--data-dir', data])).trim()).toBe(id);
      }
      const locks = JSON.parse(await ok(['locks', '--json', '--data-dir', data])) as LockView[];
      expect(locks).toHaveLength(1);
      const lock = locks[0]!;
      expect(lock.name).toBe('pdSerialLockSingle');
      expect(lock.holders.map((h) => h.orderId)).toEqual(['q1']);
      expect(lock.holders[0]!.token).toBeGreaterThan(0);
      expect(lock.queue.map((w) => [w.orderId, w.place])).toEqual([
        ['q2', 1],
        ['q3', 2],
      ]);
      expect(lock.queue[0]!.reason).toMatch(/held by q1/);

      const cancel = await cli(['order', 'cancel', 'q2', '--data-dir', data]);
      expect(cancel.code).toBe(0);
      expect(cancel.stdout).toMatch(/q2: cancelled/);
      const after = JSON.parse(await ok(['locks', '--json', '--data-dir', data])) as LockView[];
      expect(after[0]!.queue.map((w) => w.orderId)).not.toContain('q2');

      const show = JSON.parse(await ok(['order', 'show', 'q1', '--json', '--data-dir', data])) as {
        order: OrderView;
        history: { seq: number; event: { type: string } }[];
        logs: unknown[];
      };
      expect(show.order.id).toBe('q1');
      expect(['processing', 'finished']).toContain(show.order.state);
      const types = show.history.map((h) => h.event.type);
      expect(types.slice(0, 3)).toEqual(['OrderAdded', 'OrderLocksAcquired', 'OrderProcessingStarted']);
      expect(Array.isArray(show.logs)).toBe(true);

      const q2 = JSON.parse(await ok(['order', 'show', 'q2', '--json', '--data-dir', data])) as { order: OrderView };
      expect(q2.order.state).toBe('cancelled');
      // The engine logged the events, one line each.
      expect(engine.output()).toMatch(/OrderCancelled\s+q2/);
    }, 180_000);

    it('refuses a second engine on the same data dir', async () => {
      const r = await cli(['run', SERIAL_SINGLE, '--data-dir', data]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`orderly: an engine is already running on ${data} (pid ${engine.child.pid})`);
    });

    it('refuses bad input with one line and the right exit code', async () => {
      const unknown = await cli(['order', 'add', 'noSuchWorkflow', '--data-dir', data]);
      expect(unknown.code).toBe(1);
      expect(unknown.stdout).toBe('');
      expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
      expect(unknown.stderr).toMatch(/^orderly: .*noSuchWorkflow/);

      const prio = await cli(['order', 'add', 'pdSerialSingle', '--priority', 'abc', '--data-dir', data]);
      expect(prio.code).toBe(2);
      expect(prio.stderr.trim().split('\n')).toHaveLength(1);
      expect(prio.stderr).toContain('--priority');

      const arg = await cli(['order', 'add', 'pdSerialSingle', '--arg', 'novalue', '--data-dir', data]);
      expect(arg.code).toBe(2);
      expect(arg.stderr).toContain('--arg');

      const missing = await cli(['order', 'show', 'nope', '--data-dir', data]);
      expect(missing.code).toBe(1);
      expect(missing.stderr.trim()).toBe('orderly: order nope not found');
    });

    it('stops cleanly on SIGTERM with exit code 0', async () => {
      expect(await stopEngine(engine)).toBe(0);
      expect(engine.output()).toMatch(/engine stopped/);
      // The socket is gone: commands go to the journal, which still knows every order.
      const orders = JSON.parse(await ok(['orders', '--json', '--data-dir', data])) as OrderView[];
      expect(orders.map((o) => o.id)).toEqual(['q1', 'q2', 'q3']);
    });
  });
});
