// The library hands out copies: a caller that changes what it got changes nothing inside.
import { afterEach, describe, expect, it } from 'vitest';
import { createOrderly, type Orderly } from '../../src/index.js';

const open: Orderly[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

describe('library reads return copies', () => {
  it('orders, job templates and job configs', async () => {
    const o = await createOrderly({ autoSchedule: false });
    open.push(o);
    let release!: () => void;
    o.registerFunction('hold', () => new Promise<void>((r) => (release = r)));
    await o.deploy({ workflows: [{ name: 'w', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'hold' } } } }] });
    const id = await o.addOrder({ workflow: 'w', arguments: { a: '1' } });
    await o.engine.whenIdle();

    const v = o.getOrder(id)!;
    v.arguments.a = 'changed';
    v.position.push(99);
    if (v.execution) v.execution.job = 'changed';
    expect(o.getOrder(id)!.arguments).toEqual({ a: '1' });
    expect(o.getOrder(id)!.position).toEqual([0]);
    expect(o.getOrder(id)!.execution?.job).not.toBe('changed');
    o.listOrders()[0]!.arguments.a = 'changed';
    expect(o.getOrder(id)!.arguments.a).toBe('1');

    await o.saveJobTemplate({ id: 't', name: 'T', defaultArguments: { x: '1' } });
    const t = o.getJobTemplate('t')!;
    t.defaultArguments!.x = 'changed';
    t.name = 'changed';
    expect(o.getJobTemplate('t')).toMatchObject({ name: 'T', defaultArguments: { x: '1' } });
    o.listJobTemplates()[0]!.defaultArguments!.x = 'changed';
    expect(o.getJobTemplate('t')!.defaultArguments).toEqual({ x: '1' });

    await o.saveJobConfig({ id: 'c', name: 'C', workflow: 'w', defaultArguments: { y: '1' }, schedule: { type: 'interval', intervalSeconds: 60 } });
    const c = o.getJobConfig('c')!;
    c.defaultArguments!.y = 'changed';
    (c.schedule as { intervalSeconds: number }).intervalSeconds = 1;
    expect(o.getJobConfig('c')).toMatchObject({ defaultArguments: { y: '1' }, schedule: { intervalSeconds: 60 } });
    release();
    await o.awaitOrder(id, { timeoutMs: 60_000 });
  });
});
