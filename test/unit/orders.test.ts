// Semantics §6 (failure) and §7 (order commands), through the pure core.
import { describe, expect, it } from 'vitest';
import type { Instruction } from '../../src/core/model.js';
import { Core, exec, fn, lock, wf } from '../support/core-harness.js';

const locks = [
  { name: 'Outer', limit: 10 },
  { name: 'Inner', limit: 1 },
];
// Outer(shared 1) { j1; Inner(excl) { j2 }; j3 }
const nested = (wrap?: (i: Instruction[]) => Instruction[]): Instruction[] => {
  const body: Instruction[] = [lock([{ lockName: 'Outer', count: 1 }], [exec('j1'), lock([{ lockName: 'Inner' }], [exec('j2')]), exec('j3')])];
  return wrap ? wrap(body) : body;
};
const jobs = { j1: fn('a'), j2: fn('b'), j3: fn('c') };

describe('§6.2 uncaught failure: release and go back to the outermost Lock as failed', () => {
  it('releases innermost first, moves to the outermost Lock, wakes waiters, resume re-enters', () => {
    const c = new Core();
    c.deploy(locks, [wf('w', nested(), jobs)]);
    c.add('a', 'w');
    c.finish('a');
    expect(c.o('a').position).toEqual([0, 'lock', 1, 'lock', 0]);
    c.add('b', 'w');
    c.finish('b');
    expect(c.queue('Inner')).toEqual(['b']);
    const ev = c.failJob('a', 3);
    const released = ev.filter((e) => e.type === 'OrderLocksReleased').map((e) => (e.type === 'OrderLocksReleased' ? e.locks : []));
    expect(released).toEqual([['Inner'], ['Outer']]); // innermost first
    expect(c.o('a').state).toBe('failed');
    expect(c.o('a').position).toEqual([0]);
    expect(c.o('a').outcome).toMatchObject({ type: 'failed', returnCode: 3 });
    expect(c.holders('Inner')).toEqual(['b']); // woken at once
    c.run({ type: 'resumeOrder', orderId: 'a' });
    expect(c.holders('Outer')).toEqual(['a', 'b']);
    expect(c.o('a').state).toBe('processing');
    expect(c.replayEquals()).toBe(true);
  });

  it('a failure outside any lock stays where it failed', () => {
    const c = new Core();
    c.deploy([], [wf('w', [exec('j'), exec('j')])]);
    c.add('a', 'w');
    c.finish('a');
    c.failJob('a');
    expect(c.o('a').state).toBe('failed');
    expect(c.o('a').position).toEqual([1]);
  });
});

describe('§6.3 stopOnFailure: stopped in place, keeping every lock', () => {
  const stopWf = () => wf('w', nested((b) => [{ TYPE: 'Options', stopOnFailure: true, block: { instructions: b } }]), jobs);

  it('keeps both locks; others wait; resume retries the job', () => {
    const c = new Core();
    c.deploy(locks, [stopWf()]);
    c.add('a', 'w');
    c.finish('a');
    c.failJob('a', 3);
    expect(c.o('a').state).toBe('stopped');
    expect(c.o('a').position).toEqual([0, 'options', 0, 'lock', 1, 'lock', 0]);
    expect(c.holders('Outer')).toEqual(['a']);
    expect(c.holders('Inner')).toEqual(['a']);
    c.add('b', 'w');
    c.finish('b');
    expect(c.queue('Inner')).toEqual(['b']);
    c.run({ type: 'resumeOrder', orderId: 'a' });
    expect(c.o('a').state).toBe('processing');
    expect(c.o('a').position).toEqual([0, 'options', 0, 'lock', 1, 'lock', 0]);
    c.finish('a');
    expect(c.holders('Inner')).toEqual(['b']);
  });

  it('resume asSucceeded goes on after the failed step', () => {
    const c = new Core();
    c.deploy(locks, [stopWf()]);
    c.add('a', 'w');
    c.finish('a');
    c.failJob('a');
    c.run({ type: 'resumeOrder', orderId: 'a', asSucceeded: true });
    expect(c.o('a').position).toEqual([0, 'options', 0, 'lock', 2]); // j3, Inner released
    expect(c.holders('Inner')).toEqual([]);
    expect(c.holders('Outer')).toEqual(['a']);
  });

  it('cancel releases the locks', () => {
    const c = new Core();
    c.deploy(locks, [stopWf()]);
    c.add('a', 'w');
    c.finish('a');
    c.failJob('a');
    c.add('b', 'w');
    c.finish('b');
    c.run({ type: 'cancelOrder', orderId: 'a' });
    expect(c.o('a').state).toBe('cancelled');
    expect(c.holders('Inner')).toEqual(['b']);
    expect(c.holders('Outer')).toEqual(['b']);
  });

  it('the innermost Options decides', () => {
    const c = new Core();
    c.deploy([], [wf('w', [{ TYPE: 'Options', stopOnFailure: true, block: { instructions: [{ TYPE: 'Options', stopOnFailure: false, block: { instructions: [exec('j')] } }] } }])]);
    c.add('a', 'w');
    c.failJob('a');
    expect(c.o('a').state).toBe('failed');
  });
});

describe('§6.1 Try / catch / Retry', () => {
  it('locks inside the Try are released before the catch runs; enclosing locks stay', () => {
    const c = new Core();
    const w = wf(
      'w',
      [lock([{ lockName: 'Outer', count: 1 }], [{ TYPE: 'Try', try: { instructions: [lock([{ lockName: 'Inner' }], [exec('j1')])] }, catch: { instructions: [exec('j2')] } }])],
      jobs,
    );
    c.deploy(locks, [w]);
    c.add('a', 'w');
    c.failJob('a');
    expect(c.o('a').position).toEqual([0, 'lock', 0, 'catch+0', 0]);
    expect(c.o('a').state).toBe('processing');
    expect(c.holders('Inner')).toEqual([]);
    expect(c.holders('Outer')).toEqual(['a']);
    c.finish('a');
    expect(c.o('a').state).toBe('finished');
  });

  it('Retry restarts the try block after retryDelays, up to maxTries, then fails', () => {
    const c = new Core();
    c.deploy([], [wf('w', [{ TYPE: 'Try', maxTries: 3, retryDelays: [10, 20], try: { instructions: [exec('j')] }, catch: { instructions: [{ TYPE: 'Retry' }] } }])]);
    c.add('a', 'w');
    c.failJob('a');
    expect(c.o('a').state).toBe('waiting');
    expect(c.o('a').waitingFor).toEqual({ kind: 'retry', until: c.now + 10_000 });
    c.tick(9_999);
    expect(c.o('a').state).toBe('waiting');
    c.tick(1);
    expect(c.o('a').position).toEqual([0, 'try+1', 0]);
    expect(c.o('a').state).toBe('processing');
    c.failJob('a');
    expect(c.o('a').waitingFor).toEqual({ kind: 'retry', until: c.now + 20_000 });
    c.tick(20_000);
    expect(c.o('a').position).toEqual([0, 'try+2', 0]);
    c.failJob('a', 7);
    expect(c.o('a').state).toBe('failed');
    expect(c.o('a').outcome).toMatchObject({ reason: 'retries-exhausted', returnCode: 7 });
  });

  it('Fail is caught unless uncatchable', () => {
    const c = new Core();
    c.deploy(
      [],
      [
        wf('w', [{ TYPE: 'Try', try: { instructions: [{ TYPE: 'Fail', message: 'no' }] }, catch: { instructions: [exec('j')] } }]),
        wf('u', [{ TYPE: 'Try', try: { instructions: [{ TYPE: 'Fail', message: 'never', uncatchable: true }] }, catch: { instructions: [exec('j')] } }]),
      ],
    );
    c.add('a', 'w');
    expect(c.o('a').position).toEqual([0, 'catch+0', 0]);
    c.add('b', 'u');
    expect(c.o('b').state).toBe('failed');
    expect(c.o('b').outcome).toMatchObject({ reason: 'fail-instruction', message: 'never' });
  });

  it('Finish unsuccessful ends the order as finished with a failed outcome', () => {
    const c = new Core();
    c.deploy([], [wf('w', [{ TYPE: 'Finish', unsuccessful: true, message: 'nothing to do' }])]);
    c.add('a', 'w');
    expect(c.o('a').state).toBe('finished');
    expect(c.o('a').outcome).toMatchObject({ type: 'failed', message: 'nothing to do' });
  });
});

describe('§9 disrupted executions', () => {
  it('a lost execution fails the order as disrupted; a restartable job runs again', () => {
    const c = new Core();
    c.deploy([{ name: 'L', limit: 1 }], [wf('w', [lock([{ lockName: 'L' }], [exec('j')])]), wf('r', [exec('k')], { k: fn('noop', { restartable: true }) })]);
    c.add('a', 'w');
    c.add('b', 'w');
    c.run({ type: 'executionLost', orderId: 'a', executionId: c.o('a').execution!.id });
    expect(c.o('a').state).toBe('failed');
    expect(c.o('a').outcome?.reason).toBe('disrupted');
    expect(c.holders('L')).toEqual(['b']);
    c.add('r1', 'r');
    const first = c.o('r1').execution!.id;
    c.run({ type: 'executionLost', orderId: 'r1', executionId: first });
    expect(c.o('r1').state).toBe('processing');
    expect(c.o('r1').execution!.id).not.toBe(first);
  });

  it('a stale job result is ignored', () => {
    const c = new Core();
    c.deploy([], [wf('w', [exec('j')])]);
    c.add('a', 'w');
    expect(c.run({ type: 'jobFinished', orderId: 'a', executionId: 'a#99', outcome: { type: 'succeeded' } })).toEqual([]);
    expect(c.o('a').state).toBe('processing');
  });
});

describe('§7 order commands', () => {
  it('add refuses an id that exists and bad input, changing nothing', () => {
    const c = new Core();
    c.deploy([], [wf('w', [exec('j')])]);
    c.add('a', 'w');
    expect(c.refuse({ type: 'addOrder', orderId: 'a', workflow: 'w' }).code).toBe('conflict');
    const p = c.refuse({ type: 'addOrder', orderId: 'b c', workflow: 'nope', priority: 1.5, arguments: { x: 1 as unknown as string } });
    expect(p.problems?.map((i) => i.path)).toEqual(['id', 'workflow', 'arguments.x', 'priority']);
  });

  it('scheduledFor holds the order until its time', () => {
    const c = new Core();
    c.deploy([], [wf('w', [exec('j')])]);
    c.add('a', 'w', { scheduledFor: c.now + 5000 });
    expect(c.o('a').state).toBe('scheduled');
    c.tick(4999);
    expect(c.o('a').state).toBe('scheduled');
    c.tick(1);
    expect(c.o('a').state).toBe('processing');
  });

  it('cancel of a waiting order just leaves the queues; of a running one waits for the job unless kill', () => {
    const c = new Core();
    c.deploy([{ name: 'L', limit: 1 }], [wf('w', [lock([{ lockName: 'L' }], [exec('j')])])]);
    c.add('a', 'w');
    c.add('b', 'w');
    c.add('c', 'w');
    c.run({ type: 'cancelOrder', orderId: 'b' });
    expect(c.o('b').state).toBe('cancelled');
    expect(c.queue('L')).toEqual(['c']);
    const ev = c.run({ type: 'cancelOrder', orderId: 'a', kill: true });
    expect(ev).toEqual([{ type: 'OrderCancelMarked', at: c.now, orderId: 'a', kill: true }]);
    expect(c.holders('L')).toEqual(['a']);
    c.finish('a', { type: 'failed', reason: 'killed', signal: 'SIGTERM' });
    expect(c.o('a').state).toBe('cancelled');
    expect(c.holders('L')).toEqual(['c']);
    expect(c.refuse({ type: 'cancelOrder', orderId: 'a' }).code).toBe('state');
  });

  it('suspend takes effect at the next instruction boundary and keeps the locks', () => {
    const c = new Core();
    c.deploy([{ name: 'L', limit: 1 }], [wf('w', [lock([{ lockName: 'L' }], [exec('j'), exec('j')])])]);
    c.add('a', 'w');
    c.add('b', 'w');
    c.run({ type: 'suspendOrder', orderId: 'a' });
    expect(c.o('a').state).toBe('processing');
    c.finish('a');
    expect(c.o('a').suspended).toBe(true);
    expect(c.o('a').position).toEqual([0, 'lock', 1]);
    expect(c.holders('L')).toEqual(['a']);
    c.run({ type: 'resumeOrder', orderId: 'a' });
    expect(c.o('a').state).toBe('processing');
  });

  it('suspend reset takes a waiting order out of the queues; without reset it keeps its place', () => {
    const c = new Core();
    c.deploy([{ name: 'L', limit: 1 }], [wf('w', [lock([{ lockName: 'L' }], [exec('j')])])]);
    c.add('a', 'w');
    c.add('b', 'w');
    c.add('c', 'w');
    c.run({ type: 'suspendOrder', orderId: 'b', reset: true });
    expect(c.queue('L')).toEqual(['c']);
    expect(c.o('b').suspended).toBe(true);
    c.run({ type: 'suspendOrder', orderId: 'c' });
    expect(c.queue('L')).toEqual(['c']);
    c.finish('a');
    // c enters (the boundary is inside the block) and stops there, holding the lock
    expect(c.holders('L')).toEqual(['c']);
    expect(c.o('c').suspended).toBe(true);
    c.run({ type: 'resumeOrder', orderId: 'b' });
    expect(c.queue('L')).toEqual(['b']);
  });

  it('resume at a chosen position may not cross a lock block boundary', () => {
    const c = new Core();
    c.deploy([{ name: 'L', limit: 1 }], [wf('w', [exec('j'), lock([{ lockName: 'L' }], [exec('j'), exec('j')]), exec('j')])]);
    c.add('a', 'w');
    c.failJob('a');
    expect(c.refuse({ type: 'resumeOrder', orderId: 'a', position: [1, 'lock', 1] }).message).toContain('into or out of a lock block');
    expect(c.refuse({ type: 'resumeOrder', orderId: 'a', position: [7] }).code).toBe('invalid');
    c.run({ type: 'resumeOrder', orderId: 'a', position: [2] });
    expect(c.o('a').position).toEqual([2]);
    expect(c.o('a').state).toBe('processing');
  });

  it('ended orders beyond the retention limit are dropped, by an explicit event', async () => {
    const { decide } = await import('../../src/core/decide.js');
    const c = new Core();
    c.deploy([], [wf('w', [{ TYPE: 'Finish' }])]);
    for (let i = 0; i < 5; i++) {
      const d = decide(c.s, { type: 'addOrder', orderId: `o${i}`, workflow: 'w' }, c.now, { endedOrdersKeptMax: 3 });
      expect(d.ok).toBe(true);
      if (d.ok) c.journal.push(...d.events);
    }
    expect([...c.s.orders.keys()]).toEqual(['o2', 'o3', 'o4']);
    expect(c.journal.filter((e) => e.type === 'OrderDeleted').length).toBe(2);
    expect(c.replayEquals()).toBe(true);
  });
});

describe('order arguments at add', () => {
  it('a value is limited in UTF-8 bytes, not in characters, for orders and job configs alike', () => {
    const c = new Core();
    c.deploy([], [wf('w', [exec('j')])]);
    const euros = '€'.repeat(30_000); // 30,000 characters, 90,000 bytes
    expect(c.refuse({ type: 'addOrder', orderId: 'x', workflow: 'w', arguments: { v: euros } })).toMatchObject({
      code: 'invalid',
      problems: [{ path: 'arguments.v', message: 'longer than 65536 bytes (UTF-8)' }],
    });
    expect(
      c.refuse({ type: 'saveJobConfig', jobConfig: { id: 'jc', name: 'JC', workflow: 'w', active: true, defaultArguments: { v: euros } } }),
    ).toMatchObject({ code: 'invalid', problems: [{ path: 'defaultArguments.v', message: 'longer than 65536 bytes (UTF-8)' }] });
    c.add('ok', 'w', { arguments: { v: 'a'.repeat(65_536) } });
    expect(c.o('ok').arguments.v!.length).toBe(65_536);
  });
});
