// Schedules through the library with an injected clock: no sleeps, the test moves time.
import { afterEach, describe, expect, it } from 'vitest';
import { createOrderly, type Orderly } from '../../src/index.js';
import { dueFires } from '../../src/runtime/scheduler.js';
import { Core, exec, fn, wf } from '../support/core-harness.js';

const MIN = 60_000;
const open: Orderly[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function setup(schedule: Record<string, unknown>, blocking = true) {
  let now = Date.parse('2026-11-23T10:00:00Z');
  const release: (() => void)[] = [];
  const o = await createOrderly({ clock: () => now, autoSchedule: false });
  open.push(o);
  // A job that runs until the test lets it end: "a run that takes longer than 15 minutes".
  o.registerFunction('long', () => new Promise<void>((resolve) => release.push(resolve)));
  await o.deploy({ workflows: [{ name: 'load', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: { parallelism: 10, executable: { TYPE: 'FunctionExecutable', functionName: 'long' } } } }] });
  await o.saveJobConfig({ id: 'every15', name: 'Every 15 minutes', workflow: 'load', blocking, schedule: { type: 'cron', cron: '*/15 * * * *', ...schedule } });
  const advance = async (ms: number) => {
    now += ms;
    await o.scheduler.poll();
    await o.engine.whenIdle();
  };
  return { o, advance, release, now: () => now };
}

describe('schedules (injected clock)', () => {
  it('a 15-minute schedule whose run takes longer, blocking on: runs queue and never overlap', async () => {
    const { o, advance, release } = await setup({});
    for (let i = 0; i < 4; i++) await advance(15 * MIN);
    const runs = o.listRuns('every15');
    expect(runs.length).toBe(4);
    expect(runs.filter((r) => r.state === 'processing').length).toBe(1);
    expect(runs.filter((r) => r.state === 'waiting').length).toBe(3);
    expect(o.getLock('jobconfig:every15')!.queue.map((q) => q.orderId)).toEqual(runs.slice(1).map((r) => r.id));
    release.shift()!();
    await o.awaitOrder(runs[0]!.id, { timeoutMs: 5000 });
    await o.engine.whenIdle();
    expect(o.listRuns('every15').filter((r) => r.state === 'processing').map((r) => r.id)).toEqual([runs[1]!.id]);
    for (const r of release.splice(0)) r();
  });

  it('with overlap skip, fires during a long run are recorded as skipped with the reason', async () => {
    const { o, advance, release } = await setup({ overlap: 'skip' });
    await advance(15 * MIN);
    await advance(15 * MIN);
    await advance(15 * MIN);
    const jc = o.getJobConfig('every15')!;
    expect(o.listRuns('every15').length).toBe(1);
    expect(jc.fires.map((f) => (f.orderId ? 'fired' : f.skipped!.slice(0, 12)))).toEqual(['fired', 'overlap skip', 'overlap skip']);
    for (const r of release.splice(0)) r();
  });

  it('next fire times are visible, in the schedule time zone', async () => {
    const { o } = await setup({ cron: '30 2 * * *', timeZone: 'Europe/Berlin' });
    // 2026-11-23 10:00Z → next 02:30 Berlin (CET, UTC+1) is 2026-11-24T01:30Z
    expect(new Date(o.getJobConfig('every15')!.nextFireTime!).toISOString()).toBe('2026-11-24T01:30:00.000Z');
  });

  it('after downtime catchUp latest runs the newest missed fire once and records the others', async () => {
    const { o, advance, release } = await setup({ overlap: 'allow' }, false);
    await advance(2 * 60 * MIN + 1000); // eight fires missed while "down"
    const fires = o.getJobConfig('every15')!.fires;
    expect(fires.filter((f) => f.orderId).length).toBe(1);
    expect(fires.filter((f) => f.skipped?.includes('catchUp latest')).length).toBe(7);
    expect(fires.find((f) => f.orderId)!.fireAt).toBe(Date.parse('2026-11-23T12:00:00Z'));
    for (const r of release.splice(0)) r();
  });

  it('after downtime longer than 1,000 fires, the older ones are one skip record with their count, not lost', async () => {
    const { o, advance, release } = await setup({ overlap: 'allow', catchUp: 'none' }, false);
    await advance(1500 * 15 * MIN + 1000); // 1,500 fires missed while "down"
    const fires = o.getJobConfig('every15')!.fires;
    const summary = fires.find((f) => f.count !== undefined);
    expect(summary).toMatchObject({ count: 500, skipped: expect.stringContaining('500 fires up to this one missed') });
    expect(fires[fires.length - 1]).toBe(summary);
    // The newest of the 500 not listed is the fire just before the 1,000 listed ones.
    const listedFirst = Date.parse('2026-11-23T10:00:00Z') + 501 * 15 * MIN;
    expect(summary!.fireAt).toBe(listedFirst - 15 * MIN);
    expect(o.listRuns('every15').length).toBe(1); // the newest fire, 1 s ago, is on time
    for (const r of release.splice(0)) r();
  });

  it('a bad cron string is refused, naming the place', async () => {
    const { o } = await setup({});
    await expect(o.saveJobConfig({ id: 'bad', name: 'Bad', workflow: 'load', schedule: { type: 'cron', cron: '61 * * * *' } })).rejects.toMatchObject({
      code: 'invalid',
      problems: [{ path: 'schedule.cron', message: expect.stringContaining('61') }],
    });
    expect(o.getJobConfig('bad')).toBeUndefined();
  });
});

describe('dueFires (what the scheduler reports, pure)', () => {
  it('a save that changes neither the schedule nor active loses no fire due before it (found by the simulation)', () => {
    const c = new Core();
    c.now = Date.parse('2026-11-23T10:00:00Z');
    c.deploy([], [wf('load', [exec('j')], { j: fn('noop', { parallelism: 10 }) })]);
    const def = { id: 'jc', name: 'Load', workflow: 'load', active: true, schedule: { type: 'cron' as const, cron: '*/15 * * * *' } };
    c.run({ type: 'saveJobConfig', jobConfig: def });
    // 10:15 is due; before the scheduler reports it, blocking is turned on.
    c.now = Date.parse('2026-11-23T10:15:00.300Z');
    c.run({ type: 'saveJobConfig', jobConfig: { ...def, blocking: true } });
    expect(dueFires(c.s, c.now)).toEqual([{ type: 'fireSchedule', id: 'jc', fireTimes: [Date.parse('2026-11-23T10:15:00Z')] }]);
    for (const cmd of dueFires(c.s, c.now)) c.run(cmd);
    expect(dueFires(c.s, c.now)).toEqual([]);
    // A changed schedule starts counting at its save: fires of the old one are not reported.
    c.now = Date.parse('2026-11-23T10:30:00.300Z');
    c.run({ type: 'saveJobConfig', jobConfig: { ...def, schedule: { type: 'cron', cron: '*/10 * * * *' } } });
    expect(dueFires(c.s, c.now)).toEqual([]);
    // So does reactivation: fires while inactive are not due.
    c.now = Date.parse('2026-11-23T10:40:00.300Z');
    expect(dueFires(c.s, c.now).map((f) => f.fireTimes)).toEqual([[Date.parse('2026-11-23T10:40:00Z')]]);
    c.run({ type: 'saveJobConfig', jobConfig: { ...def, schedule: { type: 'cron', cron: '*/10 * * * *' }, active: false } });
    c.now = Date.parse('2026-11-23T11:00:00.300Z');
    c.run({ type: 'saveJobConfig', jobConfig: { ...def, schedule: { type: 'cron', cron: '*/10 * * * *' } } });
    expect(dueFires(c.s, c.now)).toEqual([]);
    expect(c.replayEquals()).toBe(true);
  });
});
