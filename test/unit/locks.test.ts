// Semantics §3 (locks) and §4 (job parallelism), through the pure core.
import { describe, expect, it } from 'vitest';
import { evolve } from '../../src/core/evolve.js';
import { Core, exec, fn, lock, wf } from '../support/core-harness.js';

const L1 = { name: 'L', limit: 1 };

describe('§3.1 exclusive and shared demands', () => {
  it('exclusive is granted only when the lock has no holder at all, whatever its limit', () => {
    const c = new Core();
    c.deploy(
      [{ name: 'M', limit: 5 }],
      [wf('shared', [lock([{ lockName: 'M', count: 1 }], [exec('j')])]), wf('excl', [lock([{ lockName: 'M' }], [exec('j')])])],
    );
    c.add('s1', 'shared');
    c.add('x1', 'excl');
    expect(c.holders('M')).toEqual(['s1']);
    expect(c.o('x1').state).toBe('waiting');
    expect(c.o('x1').waitingFor).toEqual({ kind: 'locks', locks: ['M'] });
    c.finish('s1');
    expect(c.holders('M')).toEqual(['x1']);
    expect(c.inst('M').exclusive).toBe('x1');
  });

  it('shared weights add up to the limit and no further', () => {
    const c = new Core();
    c.deploy([{ name: 'M', limit: 5 }], [wf('w2', [lock([{ lockName: 'M', count: 2 }], [exec('j')])], { j: fn('noop', { parallelism: 10 }) })]);
    for (const id of ['a', 'b', 'c']) c.add(id, 'w2');
    expect(c.holders('M')).toEqual(['a', 'b']);
    expect(c.inst('M').weight).toBe(4);
    expect(c.o('c').state).toBe('waiting');
    c.finish('a');
    expect(c.holders('M')).toEqual(['b', 'c']);
  });

  it('limit 0 closes the lock: nothing is granted until it opens', () => {
    const c = new Core();
    c.deploy([{ name: 'G', limit: 0 }], [wf('w', [lock([{ lockName: 'G', count: 1 }], [exec('j')])])]);
    c.add('a', 'w');
    expect(c.o('a').state).toBe('waiting');
    c.deploy([{ name: 'G', limit: 1 }], []);
    expect(c.holders('G')).toEqual(['a']);
    expect(c.replayEquals()).toBe(true);
  });
});

describe('§3.2 several demands: all at once or not at all', () => {
  it('an order waiting for two locks holds neither until both are free', () => {
    const c = new Core();
    c.deploy(
      [
        { name: 'A', limit: 1 },
        { name: 'B', limit: 1 },
      ],
      [
        wf('a', [lock([{ lockName: 'A' }], [exec('j')])]),
        wf('ab', [lock([{ lockName: 'A' }, { lockName: 'B' }], [exec('j')])]),
      ],
    );
    c.add('holdsA', 'a');
    c.add('both', 'ab');
    expect(c.holders('B')).toEqual([]);
    expect(c.o('both').held).toEqual([]);
    c.finish('holdsA');
    expect(c.holders('A')).toEqual(['both']);
    expect(c.holders('B')).toEqual(['both']);
    expect(c.o('both').held[0]!.grants.map((g) => g.lock)).toEqual(['A', 'B']);
  });

  it('the same lock twice in one instruction is refused at deploy, naming the place', () => {
    const c = new Core();
    const p = c.refuse({ type: 'deploy', locks: [L1], workflows: [wf('w', [lock([{ lockName: 'L' }, { lockName: 'L' }], [])])] });
    expect(p.code).toBe('invalid');
    expect(p.problems?.[0]?.path).toContain('instructions[0].demands[1]');
  });

  it('count above the limit is refused at deploy with the documented message', () => {
    const c = new Core();
    const p = c.refuse({ type: 'deploy', locks: [{ name: 'pdSerialLockSingle', limit: 1 }], workflows: [wf('w', [lock([{ lockName: 'pdSerialLockSingle', count: 2 }], [])])] });
    expect(p.problems?.[0]).toEqual({
      path: 'workflows[0] (w).instructions[0].demands[0].count',
      message: 'must be ≤ limit 1 of lock pdSerialLockSingle',
    });
  });

  it('a demand that outgrows a lowered limit fails at the Lock instead of hanging', () => {
    const c = new Core();
    c.deploy([{ name: 'M', limit: 3 }], [wf('w', [lock([{ lockName: 'M', count: 3 }], [exec('j')])])]);
    c.add('a', 'w');
    c.add('b', 'w');
    c.deploy([{ name: 'M', limit: 2 }], []);
    expect(c.o('a').state).toBe('processing'); // nobody is evicted (§3.8)
    expect(c.o('b').state).toBe('failed');
    expect(c.o('b').outcome?.reason).toBe('lock-demand-exceeds-limit');
    c.add('c', 'w');
    expect(c.o('c').state).toBe('failed');
    expect(c.o('c').outcome?.message).toContain('exceeds limit 2');
  });
});

describe('§3.3 release', () => {
  it('leaving the block releases; the next waiter enters in the same step', () => {
    const c = new Core();
    c.deploy([L1], [wf('w', [lock([{ lockName: 'L' }], [exec('j')]), exec('j')], { j: fn('noop', { parallelism: 5 }) })]);
    c.add('a', 'w');
    c.add('b', 'w');
    const ev = c.finish('a');
    const types = ev.map((e) => e.type);
    expect(types.indexOf('OrderLocksReleased')).toBeLessThan(types.indexOf('OrderLocksAcquired'));
    expect(c.holders('L')).toEqual(['b']);
    expect(c.o('a').held).toEqual([]);
  });

  it('Finish inside a lock block releases every lock', () => {
    const c = new Core();
    c.deploy([L1], [wf('w', [lock([{ lockName: 'L' }], [{ TYPE: 'Finish', message: 'done early' }, exec('j')])])]);
    c.add('a', 'w');
    expect(c.o('a').state).toBe('finished');
    expect(c.o('a').outcome).toMatchObject({ type: 'succeeded', message: 'done early' });
    expect(c.holders('L')).toEqual([]);
  });
});

describe('§3.4 queue discipline', () => {
  it('fifo: a newcomer queues behind existing waiters even when the lock has room', () => {
    const c = new Core();
    c.deploy(
      [{ name: 'M', limit: 3 }],
      [wf('big', [lock([{ lockName: 'M', count: 3 }], [exec('j')])]), wf('small', [lock([{ lockName: 'M', count: 1 }], [exec('k')])], { k: fn() })],
    );
    c.add('s1', 'small');
    c.add('big', 'big'); // waits: s1 holds 1, needs 3
    c.add('s2', 'small'); // room for 1 more, but big is first in line
    expect(c.holders('M')).toEqual(['s1']);
    expect(c.queue('M')).toEqual(['big', 's2']);
    c.finish('s1');
    expect(c.holders('M')).toEqual(['big']);
    expect(c.queue('M')).toEqual(['s2']);
  });

  it('greedy: any waiter that fits is granted, in queue order (JS7 behaviour)', () => {
    const c = new Core();
    c.deploy(
      [{ name: 'M', limit: 3, policy: 'greedy' }],
      [wf('big', [lock([{ lockName: 'M', count: 3 }], [exec('j')])]), wf('small', [lock([{ lockName: 'M', count: 1 }], [exec('k')])], { k: fn('noop', { parallelism: 5 }) })],
    );
    c.add('s1', 'small');
    c.add('big', 'big');
    c.add('s2', 'small');
    expect(c.holders('M')).toEqual(['s1', 's2']);
    expect(c.queue('M')).toEqual(['big']);
  });

  it('fifo never lets a smaller multi-lock request overtake an earlier one on a shared lock', () => {
    const c = new Core();
    c.deploy(
      [
        { name: 'A', limit: 1 },
        { name: 'B', limit: 1 },
      ],
      [
        wf('b', [lock([{ lockName: 'B' }], [exec('j')])]),
        wf('ab', [lock([{ lockName: 'A' }, { lockName: 'B' }], [exec('j')])]),
        wf('a', [lock([{ lockName: 'A' }], [exec('k')])], { k: fn() }),
      ],
    );
    c.add('holdsB', 'b');
    c.add('wantsAB', 'ab');
    c.add('wantsA', 'a'); // A is free, but wantsAB is first in A's line
    expect(c.holders('A')).toEqual([]);
    expect(c.queue('A')).toEqual(['wantsAB', 'wantsA']);
    c.finish('holdsB');
    expect(c.holders('A')).toEqual(['wantsAB']);
  });

  it('waiters are ordered by priority, then arrival; changing priority re-sorts', () => {
    const c = new Core();
    c.deploy([L1], [wf('w', [lock([{ lockName: 'L' }], [exec('j')])])]);
    c.add('first', 'w');
    c.add('low', 'w', { priority: 0 });
    c.add('high', 'w', { priority: 5 });
    c.add('low2', 'w', { priority: 0 });
    expect(c.queue('L')).toEqual(['high', 'low', 'low2']);
    c.run({ type: 'changePriority', orderId: 'low2', priority: 9 });
    expect(c.queue('L')).toEqual(['low2', 'high', 'low']);
    c.run({ type: 'changePriority', orderId: 'low2', priority: 0 });
    expect(c.queue('L')).toEqual(['high', 'low', 'low2']); // keeps its arrival
    c.finish('first');
    expect(c.holders('L')).toEqual(['high']);
    expect(c.replayEquals()).toBe(true);
  });
});

describe('§3.5 wait limit', () => {
  it('on expiry the order leaves every queue and fails at the Lock with lock-wait-timeout', () => {
    const c = new Core();
    c.deploy([L1], [wf('w', [lock([{ lockName: 'L' }], [exec('j')], 10)])]);
    c.add('a', 'w');
    c.add('b', 'w');
    c.tick(9_999);
    expect(c.o('b').state).toBe('waiting');
    c.tick(1);
    expect(c.o('b').state).toBe('failed');
    expect(c.o('b').outcome?.reason).toBe('lock-wait-timeout');
    expect(c.o('b').position).toEqual([0]);
    expect(c.queue('L')).toEqual([]);
  });

  it('waitTimeout 0 means do not wait', () => {
    const c = new Core();
    c.deploy([L1], [wf('w', [lock([{ lockName: 'L' }], [exec('j')], 0)])]);
    c.add('a', 'w');
    c.add('b', 'w');
    expect(c.o('a').state).toBe('processing');
    expect(c.o('b').state).toBe('failed');
    expect(c.o('b').outcome?.reason).toBe('lock-wait-timeout');
  });

  it('a Try catches the timeout', () => {
    const c = new Core();
    c.deploy(
      [L1],
      [
        wf('holder', [lock([{ lockName: 'L' }], [exec('j')])]),
        wf('w', [{ TYPE: 'Try', try: { instructions: [lock([{ lockName: 'L' }], [exec('j')], 1)] }, catch: { instructions: [exec('k')] } }], { j: fn(), k: fn('other') }),
      ],
    );
    c.add('h', 'holder');
    c.add('b', 'w');
    c.tick(1000);
    expect(c.o('b').state).toBe('processing');
    expect(c.o('b').position).toEqual([0, 'catch+0', 0]);
  });
});

describe('§3.6 nesting and deadlock', () => {
  it('a deploy that closes a lock-order cycle is refused, naming the cycle and the workflows', () => {
    const c = new Core();
    const locks = [
      { name: 'A', limit: 1 },
      { name: 'B', limit: 1 },
    ];
    c.deploy(locks, [wf('ab', [lock([{ lockName: 'A' }], [lock([{ lockName: 'B' }], [exec('j')])])])]);
    const p = c.refuse({ type: 'deploy', locks: [], workflows: [wf('ba', [lock([{ lockName: 'B' }], [lock([{ lockName: 'A' }], [exec('j')])])])] });
    expect(p.code).toBe('lock-order-cycle');
    expect(p.message).toMatch(/A → B → A|B → A → B/);
    expect(p.message).toContain('ab');
    expect(p.message).toContain('ba');
    expect(c.s.workflows.has('ba')).toBe(false);
  });

  it('nesting a lock the order already holds is a validation error', () => {
    const c = new Core();
    const p = c.refuse({ type: 'deploy', locks: [L1], workflows: [wf('w', [lock([{ lockName: 'L' }], [lock([{ lockName: 'L' }], [])])])] });
    expect(p.code).toBe('invalid');
    expect(p.message).toContain('already held');
  });

  it('keyed locks: each key is its own instance; colliding keys fail at run time', () => {
    const c = new Core();
    c.deploy(
      [{ name: 'K', limit: 1, keyed: true }],
      [
        wf('w', [lock([{ lockName: 'K', key: '$customer' }], [exec('j')])], { j: fn('noop', { parallelism: 9 }) }),
        wf('nested', [lock([{ lockName: 'K', key: '$a' }], [lock([{ lockName: 'K', key: '$b' }], [exec('j')])])]),
      ],
    );
    c.add('x1', 'w', { arguments: { customer: 'acme' } });
    c.add('x2', 'w', { arguments: { customer: 'acme' } });
    c.add('y1', 'w', { arguments: { customer: 'globex' } });
    expect(c.holders('K[acme]')).toEqual(['x1']);
    expect(c.queue('K[acme]')).toEqual(['x2']);
    expect(c.holders('K[globex]')).toEqual(['y1']);
    c.finish('y1');
    expect(c.s.instances.has('K[globex]')).toBe(false); // gone when idle
    c.add('n', 'nested', { arguments: { a: 'same', b: 'same' } });
    expect(c.o('n').state).toBe('failed');
    expect(c.o('n').outcome?.reason).toBe('lock-key-collision');
    expect(c.holders('K[same]')).toEqual([]);
    c.add('m', 'w');
    expect(c.o('m').outcome?.reason).toBe('lock-key-missing');
  });
});

describe('§3.7 fencing tokens', () => {
  it('every grant increments the lock token; it never goes back, also across a snapshot', async () => {
    const { deserializeState, serializeState } = await import('../../src/core/state.js');
    const c = new Core();
    c.deploy([L1], [wf('w', [lock([{ lockName: 'L' }], [exec('j')])])]);
    c.add('a', 'w');
    c.add('b', 'w');
    expect(c.o('a').held[0]!.grants[0]!.token).toBe(1);
    c.finish('a');
    expect(c.o('b').held[0]!.grants[0]!.token).toBe(2);
    c.s = deserializeState(serializeState(c.s));
    c.finish('b');
    c.add('c', 'w');
    expect(c.o('c').held[0]!.grants[0]!.token).toBe(3);
    expect(c.s.locks.get('L')!.token).toBe(3);
  });
});

describe('§3.8 changing and deleting locks', () => {
  it('deleting a referenced lock is refused; an unreferenced idle one is deleted', () => {
    const c = new Core();
    c.deploy([L1, { name: 'Free', limit: 1 }], [wf('w', [lock([{ lockName: 'L' }], [exec('j')])])]);
    const p = c.refuse({ type: 'deleteLock', name: 'L' });
    expect(p.code).toBe('conflict');
    expect(p.message).toContain('referenced by workflow w');
    c.run({ type: 'deleteLock', name: 'Free' });
    expect(c.s.locks.has('Free')).toBe(false);
    expect(c.refuse({ type: 'deleteLock', name: 'Free' }).code).toBe('not-found');
  });

  it('redeploying an unchanged lock or workflow emits nothing', () => {
    const c = new Core();
    const w = wf('w', [lock([{ lockName: 'L' }], [exec('j')])]);
    expect(c.deploy([L1], [w]).length).toBe(2);
    expect(c.deploy([L1], [w]).length).toBe(0);
  });
});

describe('§4 job parallelism and worker slots', () => {
  it('at most parallelism executions of a job; the others wait FIFO within priority, keeping their locks', () => {
    const c = new Core();
    c.deploy([{ name: 'M', limit: 10 }], [wf('w', [lock([{ lockName: 'M', count: 1 }], [exec('j')])], { j: fn('noop', { parallelism: 2 }) })]);
    for (const id of ['a', 'b', 'c', 'd']) c.add(id, 'w');
    c.run({ type: 'changePriority', orderId: 'd', priority: 1 });
    expect(['a', 'b', 'c', 'd'].map((id) => c.o(id).state)).toEqual(['processing', 'processing', 'waiting', 'waiting']);
    expect(c.o('c').waitingFor).toEqual({ kind: 'job', job: 'w:j' });
    expect(c.holders('M')).toEqual(['a', 'b', 'c', 'd']); // waiting for a job slot keeps the locks
    c.finish('a');
    expect(c.o('d').state).toBe('processing'); // higher priority first
    expect(c.o('c').state).toBe('waiting');
  });

  it('a node runs at most `slots` executions; beyond that by priority, then arrival', () => {
    const c = new Core(2);
    c.deploy([], [wf('w', [exec('j')], { j: fn('noop', { parallelism: 100 }) }), wf('v', [exec('k')], { k: fn('noop', { parallelism: 100 }) })]);
    c.add('a', 'w');
    c.add('b', 'v');
    c.add('c', 'w');
    c.add('d', 'v', { priority: 3 });
    expect(c.s.running).toBe(2);
    c.finish('a');
    expect(c.o('d').state).toBe('processing');
    c.finish('b');
    expect(c.o('c').state).toBe('processing');
  });
});

describe('evolve guards the lock table (a decide bug stops the engine instead of corrupting it)', () => {
  const grant = (c: Core, orderId: string, g: { lock: string; token: number; count?: number }) =>
    evolve(c.s, { type: 'OrderLocksAcquired', at: c.now, orderId, grants: [g] });

  it('refuses shared weight over the limit', () => {
    const c = new Core();
    c.deploy([{ name: 'M', limit: 3 }], [wf('w', [lock([{ lockName: 'M', count: 2 }], [exec('j')])], { j: fn('noop', { parallelism: 10 }) })]);
    c.add('a', 'w');
    c.run({ type: 'addOrder', orderId: 'b', workflow: 'w' });
    expect(c.o('b').state).toBe('waiting');
    const token = c.s.locks.get('M')!.token + 1;
    expect(() => grant(c, 'b', { lock: 'M', token, count: 2 })).toThrow(/weight 4 over its limit 3/);
  });

  it('refuses an exclusive grant beside another holder', () => {
    const c = new Core();
    c.deploy([{ name: 'M', limit: 3 }], [wf('s', [lock([{ lockName: 'M', count: 1 }], [exec('j')])]), wf('x', [lock([{ lockName: 'M' }], [exec('j')])])]);
    c.add('a', 's');
    c.add('b', 'x');
    expect(() => grant(c, 'b', { lock: 'M', token: c.s.locks.get('M')!.token + 1 })).toThrow(/exclusive grant of busy lock M/);
  });

  it('refuses a fifo grant to a waiter that is not first in line, and to a newcomer past waiters', () => {
    const c = new Core();
    c.deploy([L1], [wf('w', [lock([{ lockName: 'L' }], [exec('j')])], { j: fn('noop', { parallelism: 10 }) })]);
    c.add('a', 'w');
    c.add('b', 'w');
    c.add('c', 'w');
    expect(c.queue('L')).toEqual(['b', 'c']);
    // Free the lock by hand, as a buggy decide might, then grant past the head.
    c.inst('L').holders.clear();
    c.inst('L').exclusive = undefined;
    const token = c.s.locks.get('L')!.token + 1;
    expect(() => grant(c, 'c', { lock: 'L', token })).toThrow(/fifo grant of L to c, not first in line/);
    c.s.orders.get('b')!.waitingFor = undefined; // b looks like a newcomer while c waits
    expect(() => grant(c, 'b', { lock: 'L', token })).toThrow(/fifo grant of L to newcomer b past 2 waiting/);
  });

  it('refuses a fencing token that does not grow', () => {
    const c = new Core();
    c.deploy([L1], [wf('w', [lock([{ lockName: 'L' }], [exec('j')])])]);
    c.add('a', 'w');
    c.finish('a');
    c.add('b', 'w');
    c.inst('L').holders.clear();
    c.inst('L').exclusive = undefined;
    expect(() => grant(c, 'b', { lock: 'L', token: c.s.locks.get('L')!.token })).toThrow(/fencing token of L went back/);
  });
});
