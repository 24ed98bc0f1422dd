// The job config invariants (test/sim/invariants.ts: JobConfigChecker, checkFireCommand) catch
// bad event sequences: each case builds a real state with the core, then feeds the checker
// events that break one promise of §5 or §8 (what a broken core would emit).

import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/core/commands.js';
import type { Event } from '../../src/core/events.js';
import { evolve } from '../../src/core/evolve.js';
import { emptyState, jobConfigLockName, type State } from '../../src/core/state.js';
import { Core, exec, fn, wf } from '../support/core-harness.js';
import { checkFireCommand, JobConfigChecker } from './invariants.js';

const runLock = jobConfigLockName('jc');

/** A core with job config jc (workflow `load`: two jobs) and a checker that has seen its whole journal. */
function setup(extra: Record<string, unknown> = {}): { c: Core; checker: JobConfigChecker; mirror: State; feed: (events: Event[]) => string[] } {
  const c = new Core();
  c.deploy([], [wf('load', [exec('j'), exec('j')], { j: fn('noop', { parallelism: 10 }) })]);
  c.run({ type: 'saveJobConfig', jobConfig: { id: 'jc', name: 'Load', workflow: 'load', active: true, blocking: true, ...extra } });
  const checker = new JobConfigChecker();
  const mirror = emptyState();
  const feed = (events: Event[]): string[] => {
    const out: string[] = [];
    for (const e of events) {
      out.push(...checker.event(mirror, e));
      evolve(mirror, e);
    }
    out.push(...checker.afterStep(mirror));
    return out;
  };
  expect(feed(c.journal)).toEqual([]);
  return { c, checker, mirror, feed };
}

/** Runs a command on the core and feeds its events to the checker: a correct core gives no problems. */
function step(t: ReturnType<typeof setup>, cmd: Command): Event[] {
  const events = t.c.run(cmd);
  expect(t.feed(events)).toEqual([]);
  return events;
}

describe('JobConfigChecker: §5 blocking', () => {
  it('a correct core passes: blocking runs one at a time, toggling reaches only runs not started', () => {
    const t = setup();
    step(t, { type: 'runJobConfig', id: 'jc', orderId: 'r1' });
    step(t, { type: 'runJobConfig', id: 'jc', orderId: 'r2' });
    step(t, { type: 'saveJobConfig', jobConfig: { id: 'jc', name: 'Load', workflow: 'load', active: true, blocking: false } });
    step(t, { type: 'runJobConfig', id: 'jc', orderId: 'r3' });
    step(t, { type: 'saveJobConfig', jobConfig: { id: 'jc', name: 'Load', workflow: 'load', active: true, blocking: true } });
    step(t, { type: 'runJobConfig', id: 'jc', orderId: 'r4' }); // waits for r1 only
    expect(t.c.queue(runLock)).toEqual(['r4']);
    expect(t.checker.locked).toEqual(new Set(['r1']));
  });

  it('catches a second run starting beside the holder of a blocking job config', () => {
    const t = setup();
    step(t, { type: 'runJobConfig', id: 'jc', orderId: 'r1' });
    step(t, { type: 'runJobConfig', id: 'jc', orderId: 'r2' }); // waits for the run lock
    const at = t.c.now;
    const problems = t.feed([
      { type: 'OrderDequeued', at, orderId: 'r2' },
      { type: 'OrderProcessingStarted', at, orderId: 'r2', executionId: 'r2#1', job: 'load:j' },
    ]);
    expect(problems.join('\n')).toMatch(/\[blocking\] run r2 of job config jc starts with OrderProcessingStarted without its run lock although the job config is blocking \(run lock held by r1\)/);
  });

  it('catches a run that started under blocking and goes on without its run lock', () => {
    const t = setup();
    step(t, { type: 'runJobConfig', id: 'jc', orderId: 'r1' });
    const problems = t.feed([{ type: 'OrderLocksReleased', at: t.c.now, orderId: 'r1', locks: [runLock] }]);
    expect(problems.join('\n')).toMatch(/\[blocking\] run r1 started holding the run lock of job config jc and is processing without it/);
  });

  it('catches a run that started without the lock taking it later, and a waiter left in line when blocking is off', () => {
    const t = setup({ blocking: false });
    step(t, { type: 'runJobConfig', id: 'jc', orderId: 'r1' }); // started without the lock
    const late = t.feed([{ type: 'OrderLocksAcquired', at: t.c.now, orderId: 'r1', grants: [{ lock: runLock, token: 1 }], implicit: true }]);
    expect(late.join('\n')).toMatch(/\[blocking\] run r1 of job config jc takes the run lock after it started/);
    const u = setup({ blocking: false });
    step(u, { type: 'runJobConfig', id: 'jc', orderId: 'r1', scheduledFor: u.c.now + 1000 });
    const queued = u.feed([
      { type: 'OrderMoved', at: u.c.now, orderId: 'r1', to: [0] },
      { type: 'OrderLocksQueued', at: u.c.now, orderId: 'r1', demands: [{ lock: runLock, family: runLock }], implicit: true },
    ]);
    expect(queued.join('\n')).toMatch(/queues for the run lock of job config jc, which is not blocking/);
    expect(queued.join('\n')).toMatch(/\[blocking\] job config jc is not blocking but run\(s\) r1 wait for its run lock/);
  });
});

describe('JobConfigChecker: §8 fires and queueLimit', () => {
  const schedule = { type: 'interval', intervalSeconds: 60, overlap: 'queue', queueLimit: 1 };

  it('catches a fire handled twice', () => {
    const t = setup({ schedule });
    const at = Math.floor(t.c.now / 60_000) * 60_000 + 60_000;
    t.c.now = at + 10;
    const events = step(t, { type: 'fireSchedule', id: 'jc', fireTimes: [at] });
    const again = events.filter((e) => e.type === 'ScheduleFired' || e.type === 'OrderAdded').map((e) => ({ ...e, ...('orderId' in e ? { orderId: 'again' } : {}) }) as Event);
    expect(t.feed(again).join('\n')).toMatch(/\[fire-once\] fire of job config jc at \d+: fire times up to \d+ were handled already/);
  });

  it('catches a fired run beyond queueLimit, and a fire skipped for the limit when the run would have started at once', () => {
    const t = setup({ schedule });
    const base = Math.floor(t.c.now / 60_000) * 60_000;
    t.c.now = base + 60_010;
    step(t, { type: 'fireSchedule', id: 'jc', fireTimes: [base + 60_000] }); // runs
    t.c.now = base + 120_010;
    step(t, { type: 'fireSchedule', id: 'jc', fireTimes: [base + 120_000] }); // waits: 1 = queueLimit
    const at = base + 180_000;
    const over = t.feed([
      { type: 'ScheduleFired', at: at + 10, jobConfig: 'jc', fireAt: at, orderId: `jc@${at}` },
      { type: 'OrderAdded', at: at + 10, orderId: `jc@${at}`, workflow: 'load', version: 1, arguments: {}, priority: 0, jobConfig: 'jc', serialized: true },
      { type: 'OrderLocksQueued', at: at + 10, orderId: `jc@${at}`, demands: [{ lock: runLock, family: runLock }], implicit: true },
    ]);
    expect(over.join('\n')).toMatch(/\[queue-limit\] fire of job config jc at \d+: a run is added behind 1 run\(s\) waiting or not started \(jc@\d+\), queueLimit 1/);

    const idle = setup({ schedule: { ...schedule, queueLimit: 0 } });
    const skipped = idle.feed([{ type: 'ScheduleFireSkipped', at: at + 10, jobConfig: 'jc', fireAt: at, reason: 'queueLimit 0 reached (0 waiting)' }]);
    expect(skipped.join('\n')).toMatch(/\[queue-limit\] .*the new run would have started at once/);
  });

  it('checkFireCommand catches a lost fire, a missed fire run under catchUp none, and an on-time fire skipped as missed', () => {
    const t = setup({ blocking: false, schedule: { type: 'interval', intervalSeconds: 60, catchUp: 'none' } });
    const base = Math.floor(t.c.now / 60_000) * 60_000;
    const now = base + 10 * 60_000 + 5;
    const cmd = { type: 'fireSchedule' as const, id: 'jc', fireTimes: [base + 8 * 60_000, base + 10 * 60_000] };
    const pre = t.mirror;
    const fired = (fireAt: number): Event[] => [
      { type: 'ScheduleFired', at: now, jobConfig: 'jc', fireAt, orderId: `jc@${fireAt}` },
      { type: 'OrderAdded', at: now, orderId: `jc@${fireAt}`, workflow: 'load', version: 1, arguments: {}, priority: 0, jobConfig: 'jc' },
    ];
    const missedSkip: Event = { type: 'ScheduleFireSkipped', at: now, jobConfig: 'jc', fireAt: base + 8 * 60_000, reason: 'missed while not running (catchUp none)' };
    expect(checkFireCommand(pre, cmd, [missedSkip, ...fired(base + 10 * 60_000)], now)).toEqual([]);
    expect(checkFireCommand(pre, cmd, [missedSkip], now).join('\n')).toMatch(/\[fire-once\] job config jc: fire time \d+ reported, 0 records for it/);
    expect(checkFireCommand(pre, cmd, [...fired(base + 8 * 60_000), ...fired(base + 10 * 60_000)], now).join('\n')).toMatch(/\[catch-up\] .*should be skipped as missed, got a run/);
    const onTimeSkipped: Event = { type: 'ScheduleFireSkipped', at: now, jobConfig: 'jc', fireAt: base + 10 * 60_000, reason: 'missed while not running (catchUp none)' };
    expect(checkFireCommand(pre, cmd, [missedSkip, onTimeSkipped], now).join('\n')).toMatch(/\[catch-up\] .*should run but was skipped as missed/);
    // A summary of older missed fires must come with exactly one record and its count.
    const withSummary = { ...cmd, missed: { count: 5, lastAt: base + 7 * 60_000 } };
    expect(checkFireCommand(pre, withSummary, [missedSkip, ...fired(base + 10 * 60_000)], now).join('\n')).toMatch(/0 summary skip records, expected 1/);
  });
});
