// Semantics §5 (blocking job configs) and §8 (schedule policies), through the pure core.
import { describe, expect, it } from 'vitest';
import { jobConfigLockName } from '../../src/core/state.js';
import { lockViews } from '../../src/runtime/views.js';
import { Core, exec, fn, lock, wf } from '../support/core-harness.js';

const MIN = 60_000;

function setup(blocking: boolean | undefined, extra: Record<string, unknown> = {}): Core {
  const c = new Core();
  c.deploy([{ name: 'L', limit: 1 }], [wf('load', [exec('j'), exec('j')], { j: fn('noop', { parallelism: 10 }) })]);
  c.run({ type: 'saveJobConfig', jobConfig: { id: 'jc', name: 'Load', workflow: 'load', active: true, ...(blocking === undefined ? {} : { blocking }), ...extra } });
  return c;
}

const run = (c: Core, id: string) => c.run({ type: 'runJobConfig', id: 'jc', orderId: id });
const runLock = jobConfigLockName('jc');

describe('§5 blocking job configs', () => {
  it('blocking: true runs one at a time, the others wait in request order; non-blocking runs go in parallel', () => {
    const c = setup(true);
    for (const id of ['r1', 'r2', 'r3']) run(c, id);
    expect(c.holders(runLock)).toEqual(['r1']);
    expect(c.queue(runLock)).toEqual(['r2', 'r3']);
    expect(c.o('r2').state).toBe('waiting');
    expect(c.o('r2').waitingFor).toEqual({ kind: 'locks', locks: [runLock] });
    c.finish('r1');
    expect(c.holders(runLock)).toEqual(['r1']); // the lock spans the whole run, not one job
    c.finish('r1');
    expect(c.o('r1').state).toBe('finished');
    expect(c.holders(runLock)).toEqual(['r2']);
    const fresh = setup(false);
    for (const id of ['p1', 'p2', 'p3']) fresh.run({ type: 'runJobConfig', id: 'jc', orderId: id });
    expect(['p1', 'p2', 'p3'].map((id) => fresh.o(id).state)).toEqual(['processing', 'processing', 'processing']);
    expect(c.replayEquals()).toBe(true);
  });

  it('is shown in the lock listing as an implicit lock with holders, queue and fencing tokens', () => {
    const c = setup(true);
    run(c, 'r1');
    run(c, 'r2');
    const v = lockViews(c.s).find((l) => l.name === runLock)!;
    expect(v.holders.map((h) => [h.orderId, h.token])).toEqual([['r1', 1]]);
    expect(v.queue.map((q) => q.orderId)).toEqual(['r2']);
    expect(v.title).toBe('runs of job config Load');
  });

  it('changing blocking affects only runs not yet started', () => {
    const c = setup(true);
    run(c, 'r1');
    run(c, 'r2');
    c.run({ type: 'saveJobConfig', jobConfig: { id: 'jc', name: 'Load', workflow: 'load', active: true, blocking: false } });
    expect(c.o('r2').state).toBe('processing'); // had not started: goes now
    expect(c.holders(runLock)).toEqual(['r1']); // had started: keeps its lock to the end
    const d = setup(false);
    d.run({ type: 'runJobConfig', id: 'jc', orderId: 'later', scheduledFor: d.now + 1000 });
    d.run({ type: 'runJobConfig', id: 'jc', orderId: 'now' });
    d.run({ type: 'saveJobConfig', jobConfig: { id: 'jc', name: 'Load', workflow: 'load', active: true, blocking: true } });
    d.run({ type: 'runJobConfig', id: 'jc', orderId: 'next' });
    d.tick(1000);
    // Decided when a run starts: `now` started before the change and holds no run lock;
    // `next` took the lock, so `later` (due now) waits behind it.
    expect(d.holders(runLock)).toEqual(['next']);
    expect(d.queue(runLock)).toEqual(['later']);
    expect(d.o('now').held).toEqual([]);
  });

  it('blocking set on a template is the default of its job configs', () => {
    const c = new Core();
    c.deploy([], [wf('load', [exec('j')], { j: fn('noop', { parallelism: 10 }) })]);
    c.run({ type: 'saveJobTemplate', template: { id: 't', name: 'Serial template', active: true, blocking: true } });
    c.run({ type: 'saveJobConfig', jobConfig: { id: 'jc', name: 'Load', workflow: 'load', active: true, templateId: 't' } });
    run(c, 'r1');
    run(c, 'r2');
    expect(c.queue(runLock)).toEqual(['r2']);
    c.run({ type: 'saveJobConfig', jobConfig: { id: 'jc', name: 'Load', workflow: 'load', active: true, templateId: 't', blocking: false } });
    expect(c.o('r2').state).toBe('processing'); // its own setting wins
    expect(c.refuse({ type: 'deleteJobTemplate', id: 't' }).code).toBe('conflict');
  });

  it('two blocking job configs serialize independently of each other', () => {
    const c = setup(true);
    c.run({ type: 'saveJobConfig', jobConfig: { id: 'jc2', name: 'Other', workflow: 'load', active: true, blocking: true } });
    run(c, 'a1');
    run(c, 'a2');
    c.run({ type: 'runJobConfig', id: 'jc2', orderId: 'b1' });
    c.run({ type: 'runJobConfig', id: 'jc2', orderId: 'b2' });
    expect(c.holders(runLock)).toEqual(['a1']);
    expect(c.holders(jobConfigLockName('jc2'))).toEqual(['b1']);
    expect(c.o('b1').state).toBe('processing');
  });

  it('an uncaught failure releases the run lock and puts the run back at the start as failed', () => {
    const c = setup(true);
    run(c, 'r1');
    run(c, 'r2');
    c.finish('r1');
    c.failJob('r1', 2);
    expect(c.o('r1').state).toBe('failed');
    expect(c.o('r1').position).toEqual([0]);
    expect(c.holders(runLock)).toEqual(['r2']);
    c.run({ type: 'resumeOrder', orderId: 'r1' });
    expect(c.queue(runLock)).toEqual(['r1']); // waits its turn again
  });

  it('a failed run resumed asSucceeded or at a chosen position queues for the run lock again (found by the simulation)', () => {
    for (const how of [{ asSucceeded: true }, { position: [1] }]) {
      const c = setup(true);
      run(c, 'r1');
      run(c, 'r2');
      c.failJob('r1', 2); // back at [0], failed, the lock goes to r2
      expect(c.holders(runLock)).toEqual(['r2']);
      c.run({ type: 'resumeOrder', orderId: 'r1', ...how });
      expect(c.o('r1').position).toEqual([1]);
      expect(c.o('r1').state).toBe('waiting'); // not beside r2
      expect(c.queue(runLock)).toEqual(['r1']);
      // Out of the line it would go on without the lock: a suspend with reset is refused.
      expect(c.refuse({ type: 'suspendOrder', orderId: 'r1', reset: true }).code).toBe('state');
      c.finish('r2');
      c.finish('r2');
      expect(c.holders(runLock)).toEqual(['r1']);
      expect(c.o('r1').state).toBe('processing');
      expect(c.replayEquals()).toBe(true);
    }
    // Not blocking (any more): it goes on at once.
    const d = setup(true);
    run(d, 'r1');
    d.failJob('r1', 2);
    d.run({ type: 'saveJobConfig', jobConfig: { id: 'jc', name: 'Load', workflow: 'load', active: true, blocking: false } });
    d.run({ type: 'resumeOrder', orderId: 'r1', asSucceeded: true });
    expect(d.o('r1').state).toBe('processing');
    expect(d.holders(runLock)).toEqual([]);
  });

  it('a stopped run keeps its locks: resuming it takes no run lock it did not start with', () => {
    const c = new Core();
    c.deploy([], [wf('load', [{ TYPE: 'Options', stopOnFailure: true, block: { instructions: [exec('j'), exec('j')] } }], { j: fn('noop', { parallelism: 10 }) })]);
    c.run({ type: 'saveJobConfig', jobConfig: { id: 'jc', name: 'Load', workflow: 'load', active: true, blocking: false } });
    run(c, 'r1');
    c.failJob('r1', 2);
    expect(c.o('r1').state).toBe('stopped');
    c.run({ type: 'saveJobConfig', jobConfig: { id: 'jc', name: 'Load', workflow: 'load', active: true, blocking: true } });
    c.run({ type: 'resumeOrder', orderId: 'r1', asSucceeded: true });
    expect(c.o('r1').state).toBe('processing');
    expect(c.holders(runLock)).toEqual([]);
  });

  it('a run with an inline command gets a generated workflow', () => {
    const c = new Core();
    c.run({ type: 'saveJobConfig', jobConfig: { id: 'cmd', name: 'Echo', command: 'echo hello', active: true } });
    c.run({ type: 'runJobConfig', id: 'cmd', orderId: 'e1', arguments: { x: '1' } });
    expect(c.o('e1').workflow).toBe('jobconfig:cmd');
    expect(c.o('e1').state).toBe('processing');
    const w = c.s.workflows.get('jobconfig:cmd')!;
    expect(w.versions.get(1)!.jobs.command!.executable).toMatchObject({ TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\necho hello\n' });
  });

  it('refuses bad job configs as a whole, naming the place; inactive ones do not run', () => {
    const c = setup(true);
    const p = c.refuse({
      type: 'saveJobConfig',
      jobConfig: { id: 'bad id', name: '', workflow: 'nope', command: 'x', active: true, schedule: { type: 'cron', timeZone: 'Mars/Olympus', overlap: 'sometimes' } } as never,
    });
    expect(p.problems?.map((i) => i.path)).toEqual(['id', 'name', 'workflow', 'workflow', 'schedule.cron', 'schedule.timeZone', 'schedule.overlap']);
    c.run({ type: 'saveJobConfig', jobConfig: { id: 'jc', name: 'Load', workflow: 'load', active: false } });
    expect(c.refuse({ type: 'runJobConfig', id: 'jc', orderId: 'x' }).message).toContain('inactive');
    expect(c.refuse({ type: 'addOrder', orderId: 'y', workflow: 'jobconfig:jc' }).code).toBe('invalid');
  });

  it('deleting a job config with runs not ended is refused', () => {
    const c = setup(true);
    run(c, 'r1');
    expect(c.refuse({ type: 'deleteJobConfig', id: 'jc' }).code).toBe('conflict');
    c.run({ type: 'cancelOrder', orderId: 'r1', kill: true });
    c.finish('r1', { type: 'failed', reason: 'killed' });
    c.run({ type: 'deleteJobConfig', id: 'jc' });
    expect(c.s.jobConfigs.has('jc')).toBe(false);
    expect(c.s.instances.has(runLock)).toBe(false);
  });
});

describe('§8 schedule overlap and catch-up (the core side)', () => {
  const every15 = (overlap?: string, extra: Record<string, unknown> = {}) => ({
    type: 'cron',
    cron: '*/15 * * * *',
    ...(overlap ? { overlap } : {}),
    ...extra,
  });
  const fire = (c: Core, at: number) => c.run({ type: 'fireSchedule', id: 'jc', fireTimes: [at] });

  it('blocking + 15-minute schedule + a run longer than 15 minutes: fires queue, never overlap', () => {
    const c = setup(true, { schedule: every15() });
    fire(c, c.now);
    c.now += 15 * MIN;
    fire(c, c.now);
    c.now += 15 * MIN;
    fire(c, c.now);
    const runs = [...c.s.orders.values()].filter((o) => o.jobConfig === 'jc');
    expect(runs.map((o) => o.state)).toEqual(['processing', 'waiting', 'waiting']);
    expect(c.queue(runLock)).toEqual(runs.slice(1).map((o) => o.id));
  });

  it('overlap skip records the skipped fire with its reason', () => {
    const c = setup(true, { schedule: every15('skip') });
    fire(c, c.now);
    c.now += 15 * MIN;
    const ev = fire(c, c.now);
    expect(ev).toEqual([expect.objectContaining({ type: 'ScheduleFireSkipped', jobConfig: 'jc', fireAt: c.now })]);
    expect(c.s.jobConfigs.get('jc')!.fires.map((f) => f.skipped ?? f.orderId)).toEqual([`jc@${c.now - 15 * MIN}`, expect.stringContaining('overlap skip')]);
  });

  it('overlap allow runs in parallel; replace cancels the active run first', () => {
    const c = setup(false, { schedule: every15('allow') });
    fire(c, c.now);
    c.now += 15 * MIN;
    fire(c, c.now);
    expect([...c.s.orders.values()].map((o) => o.state)).toEqual(['processing', 'processing']);
    const r = setup(false, { schedule: every15('replace') });
    fire(r, r.now);
    const first = `jc@${r.now}`;
    r.now += 15 * MIN;
    fire(r, r.now);
    expect(r.o(first).cancelPending).toEqual({ kill: true });
  });

  it('queueLimit bounds the waiting runs', () => {
    const c = setup(true, { schedule: every15('queue', { queueLimit: 1 }) });
    for (let i = 0; i < 3; i++) {
      fire(c, c.now);
      c.now += 15 * MIN;
    }
    const fires = c.s.jobConfigs.get('jc')!.fires;
    expect(fires.filter((f) => f.orderId).length).toBe(2);
    expect(fires[2]!.skipped).toContain('queueLimit 1');
  });

  it('queueLimit 0: a fire runs when nothing is active, and is skipped when the run would wait (found by the simulation)', () => {
    const c = setup(true, { schedule: every15('queue', { queueLimit: 0 }) });
    fire(c, c.now);
    expect(c.o(`jc@${c.now}`).state).toBe('processing');
    c.now += 15 * MIN;
    fire(c, c.now);
    const fires = c.s.jobConfigs.get('jc')!.fires;
    expect(fires.map((f) => f.skipped ?? f.orderId)).toEqual([`jc@${c.now - 15 * MIN}`, expect.stringContaining('queueLimit 0')]);
    expect(c.queue(runLock)).toEqual([]);
  });

  it('a fire happens once, however often it is reported', () => {
    const c = setup(false, { schedule: every15() });
    const at = c.now;
    fire(c, at);
    expect(c.run({ type: 'fireSchedule', id: 'jc', fireTimes: [at] })).toEqual([]);
    expect(c.run({ type: 'fireSchedule', id: 'jc', fireTimes: [at - MIN] })).toEqual([]);
  });

  it('catchUp after downtime: none skips all, latest runs one, all runs every missed fire', () => {
    const missed = (c: Core) => [c.now - 60 * MIN, c.now - 45 * MIN, c.now - 30 * MIN];
    for (const [catchUp, fired] of [
      ['none', 0],
      ['latest', 1],
      ['all', 3],
    ] as const) {
      const c = setup(false, { schedule: every15('allow', { catchUp }) });
      c.run({ type: 'fireSchedule', id: 'jc', fireTimes: missed(c) });
      const fires = c.s.jobConfigs.get('jc')!.fires;
      expect(fires.filter((f) => f.orderId).length).toBe(fired);
      expect(fires.filter((f) => f.skipped?.includes(`catchUp ${catchUp}`)).length).toBe(3 - fired);
      if (catchUp === 'latest') expect(fires.find((f) => f.orderId)!.fireAt).toBe(c.now - 30 * MIN);
    }
  });

  it('fires too many to list are summed up in one skip record; a stale or bad summary changes nothing', () => {
    const c = setup(false, { schedule: every15('allow', { catchUp: 'latest' }) });
    c.run({ type: 'fireSchedule', id: 'jc', fireTimes: [c.now - 15 * MIN, c.now], missed: { count: 7000, lastAt: c.now - 30 * MIN } });
    const fires = c.s.jobConfigs.get('jc')!.fires;
    expect(fires[fires.length - 1]).toMatchObject({ fireAt: c.now - 30 * MIN, count: 7000, skipped: expect.stringContaining('7000 fires up to this one missed') });
    expect(fires.filter((f) => f.orderId).map((f) => f.fireAt)).toEqual([c.now]);
    expect(c.run({ type: 'fireSchedule', id: 'jc', fireTimes: [], missed: { count: 3, lastAt: c.now - 60 * MIN } })).toEqual([]);
    expect(c.refuse({ type: 'fireSchedule', id: 'jc', fireTimes: [c.now], missed: { count: 0, lastAt: c.now - MIN } })).toMatchObject({ code: 'invalid', problems: [{ path: 'missed' }] });
  });

  it('scheduled runs of a workflow with its own locks still respect them', () => {
    const c = new Core();
    c.deploy([{ name: 'L', limit: 1 }], [wf('w', [lock([{ lockName: 'L' }], [exec('j')])])]);
    c.run({ type: 'saveJobConfig', jobConfig: { id: 'a', name: 'A', workflow: 'w', active: true, schedule: { type: 'interval', intervalSeconds: 60 } } });
    c.run({ type: 'saveJobConfig', jobConfig: { id: 'b', name: 'B', workflow: 'w', active: true, schedule: { type: 'interval', intervalSeconds: 60 } } });
    c.run({ type: 'fireSchedule', id: 'a', fireTimes: [c.now] });
    c.run({ type: 'fireSchedule', id: 'b', fireTimes: [c.now] });
    expect(c.holders('L')).toEqual([`a@${c.now}`]);
    expect(c.queue('L')).toEqual([`b@${c.now}`]);
  });
});

describe('job configs with an inline command: the generated workflow', () => {
  const cmdConfig = (extra: Record<string, unknown> = {}) => ({ type: 'saveJobConfig' as const, jobConfig: { id: 'c', name: 'C', command: 'true', active: true, ...extra } });

  it('never blocks a later deploy; a deploy into the reserved namespace is refused', () => {
    const c = new Core();
    c.run(cmdConfig());
    expect(c.s.workflows.has('jobconfig:c')).toBe(true);
    c.deploy([{ name: 'L', limit: 1 }], [wf('w', [exec('j')])]);
    const p = c.refuse({ type: 'deploy', locks: [], workflows: [{ ...wf('x', [exec('j')]), name: 'jobconfig:c' }] });
    expect(p.problems?.some((i) => i.message.includes('reserved'))).toBe(true);
    expect(c.replayEquals()).toBe(true);
  });

  it('goes with its job config, and when the job config stops having a command', () => {
    const c = new Core();
    c.run(cmdConfig());
    c.run({ type: 'deleteJobConfig', id: 'c' });
    expect(c.s.workflows.has('jobconfig:c')).toBe(false);
    c.deploy([], [wf('w', [exec('j')])]);
    c.run(cmdConfig());
    c.run({ type: 'saveJobConfig', jobConfig: { id: 'c', name: 'C', workflow: 'w', active: true } });
    expect(c.s.workflows.has('jobconfig:c')).toBe(false);
    expect(c.replayEquals()).toBe(true);
  });

  it('runs of a non-blocking command job config go in parallel; blocking ones one at a time', () => {
    const c = new Core();
    c.run(cmdConfig());
    for (const id of ['r1', 'r2', 'r3']) c.run({ type: 'runJobConfig', id: 'c', orderId: id });
    expect(['r1', 'r2', 'r3'].map((id) => c.o(id).state)).toEqual(['processing', 'processing', 'processing']);
    c.run(cmdConfig({ blocking: true }));
    for (const id of ['b1', 'b2']) c.run({ type: 'runJobConfig', id: 'c', orderId: id });
    expect(['b1', 'b2'].map((id) => c.o(id).state)).toEqual(['processing', 'waiting']);
  });
});
