// The four documented scenarios in examples/, run by the real engine with real shell jobs.
import { afterEach, describe, expect, it } from 'vitest';
import { createOrderly, type Orderly } from '../../src/index.js';
import { until } from '../support/orderly-wait.js';

const open: Orderly[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function engineWith(dir: string): Promise<Orderly> {
  const o = await createOrderly({ slots: 20 });
  open.push(o);
  await o.deployDir(new URL(`../../examples/${dir}`, import.meta.url).pathname);
  return o;
}

describe('examples', () => {
  it('serial-single: with three orders exactly one is inside the lock and two wait in front', async () => {
    const o = await engineWith('serial-single');
    // Each job sleeps `seconds` (10 by default, for people watching): 1 s here.
    for (const id of ['o1', 'o2', 'o3']) await o.addOrder({ workflow: 'pdSerialSingle', id, arguments: { seconds: '1' } });
    await until(o, () => o.getOrder('o1')?.state === 'processing');
    const lock = o.getLock('pdSerialLockSingle')!;
    expect(lock.holders.map((h) => h.orderId)).toEqual(['o1']);
    expect(lock.queue.map((q) => q.orderId)).toEqual(['o2', 'o3']);
    expect(o.getOrder('o2')!.position).toEqual([0]); // in front of the Lock
    expect(o.getOrder('o2')!.waitingFor?.kind).toBe('locks');
    // The second enters only once the first left the block.
    await until(o, () => o.getOrder('o2')?.state === 'processing');
    expect(o.getOrder('o1')!.state).toBe('finished');
    expect(o.getLock('pdSerialLockSingle')!.holders.map((h) => h.orderId)).toEqual(['o2']);
    const logs = await o.logs('o1');
    expect(logs.map((l) => l.stdout.trim())).toEqual(['job1', 'job2', 'job3']);
  }, 180_000);

  it('serial-shared: the outer section admits up to 10 orders, the inner one order', async () => {
    const o = await engineWith('serial-shared');
    const ids = Array.from({ length: 12 }, (_, i) => `s${i}`);
    for (const id of ids) await o.addOrder({ workflow: 'pdSerialShared', id });
    // job1 has parallelism 1, so orders pass job1 one by one; wait for the inner lock to be taken.
    await until(o, () => (o.getLock('pdSerialLockSingle')?.holders.length ?? 0) === 1);
    const outer = o.getLock('pdSerialLockMulti')!;
    expect(outer.holders.length).toBe(10);
    expect(outer.heldWeight).toBe(10);
    expect(outer.queue.map((q) => q.orderId)).toEqual(['s10', 's11']);
    const inner = o.getLock('pdSerialLockSingle')!;
    expect(inner.holders.length).toBe(1);
    for (const id of ids) await o.cancelOrder(id, { kill: true });
  }, 180_000);

  it('release-on-failure: the failed order sits at the Lock as failed and the next order enters', async () => {
    const o = await engineWith('release-on-failure');
    await o.addOrder({ workflow: 'pdErrorRelease', id: 'f1' });
    await o.addOrder({ workflow: 'pdErrorRelease', id: 'f2' });
    await until(o, () => o.getOrder('f1')?.state === 'failed');
    const f1 = o.getOrder('f1')!;
    expect(f1.position).toEqual([0]);
    expect(f1.outcome).toMatchObject({ type: 'failed', returnCode: 3 });
    expect(f1.locks).toEqual([]);
    await until(o, () => (o.getLock('pdSerialLockSingle')?.holders[0]?.orderId ?? '') === 'f2' || o.getOrder('f2')?.state === 'failed');
    expect(['processing', 'failed']).toContain(o.getOrder('f2')!.state);
    expect((await o.logs('f1')).map((l) => l.job)).toEqual(['job1', 'job2']);
  }, 180_000);

  it('stop-on-failure: the stopped order keeps both locks, the others wait, cancel or resume frees them', async () => {
    const o = await engineWith('stop-on-failure');
    await o.addOrder({ workflow: 'pdErrorStop', id: 'x1' });
    await until(o, () => o.getOrder('x1')?.state === 'stopped');
    await o.addOrder({ workflow: 'pdErrorStop', id: 'x2' });
    await o.addOrder({ workflow: 'pdErrorStop', id: 'x3' });
    await until(o, () => o.getLock('pdSerialLockSingle')!.queue.length === 2);
    const x1 = o.getOrder('x1')!;
    expect(x1.locks.map((l) => l.lock)).toEqual(['pdSerialLockMulti', 'pdSerialLockSingle']);
    expect(x1.position).toEqual([0, 'options', 0, 'lock', 1, 'lock', 0]);
    expect(o.getLock('pdSerialLockSingle')!.queue.map((q) => q.orderId)).toEqual(['x2', 'x3']);
    expect(o.getLock('pdSerialLockMulti')!.holders.map((h) => h.orderId).sort()).toEqual(['x1', 'x2', 'x3']);

    // Cancel frees both locks: x2 enters the inner section (and stops at job2 in turn).
    await o.cancelOrder('x1');
    expect(o.getOrder('x1')!.state).toBe('cancelled');
    await until(o, () => o.getOrder('x2')?.state === 'stopped');
    expect(o.getLock('pdSerialLockSingle')!.holders.map((h) => h.orderId)).toEqual(['x2']);

    // Resume asSucceeded goes on past job2, leaves the inner block and frees it for x3.
    await o.resumeOrder('x2', { asSucceeded: true });
    await until(o, () => o.getOrder('x2')?.state === 'finished');
    await until(o, () => o.getOrder('x3')?.state === 'stopped');
    expect(o.getLock('pdSerialLockSingle')!.holders.map((h) => h.orderId)).toEqual(['x3']);
  }, 180_000);
});
