// Workers in the core: executions name their worker, lease and attempt; slots count per worker;
// function jobs run only where the function is registered; a lost worker ends exactly its executions.

import { describe, expect, it } from 'vitest';
import { deserializeState, serializeState } from '../../src/core/state.js';
import { exec, fn, wf, Core } from '../support/core-harness.js';

const shell = { executable: { TYPE: 'ShellScriptExecutable' as const, script: 'true' }, parallelism: 100 };

function core(): Core {
  const c = new Core(100);
  c.deploy([], [
    wf('sh', [exec('j')], { j: shell }),
    wf('f', [exec('j')], { j: fn('hold', { parallelism: 100 }) }),
    wf('r', [exec('j')], { j: fn('hold', { parallelism: 100, restartable: true }) }),
  ]);
  return c;
}

describe('workers', () => {
  it('hands each execution to a worker with its lease and attempt, counting slots per worker', () => {
    const c = core();
    c.run({ type: 'registerWorker', workerId: 'a', slots: 1, functions: [] });
    c.run({ type: 'registerWorker', workerId: 'b', slots: 2, functions: [] });
    for (const id of ['o1', 'o2', 'o3', 'o4']) c.add(id, 'sh');
    const on = (id: string): string | undefined => c.o(id).execution?.worker;
    expect([on('o1'), on('o2'), on('o3')].sort()).toEqual(['a', 'b', 'b']);
    expect(c.o('o4').state).toBe('waiting');
    expect(c.o('o1').execution).toMatchObject({ lease: 1, attempt: 1 });
    // A slot frees on a's worker: the waiting order goes there.
    const onA = ['o1', 'o2', 'o3'].find((id) => on(id) === 'a')!;
    c.finish(onA);
    expect(on('o4')).toBe('a');
    expect(c.replayEquals()).toBe(true);
  });

  it('runs a function job only on a worker that registered the function; until then the order waits', () => {
    const c = core();
    c.run({ type: 'registerWorker', workerId: 'a', slots: 4, functions: [] });
    c.add('x', 'f');
    expect(c.o('x').state).toBe('waiting');
    expect(c.o('x').waitingFor).toEqual({ kind: 'job', job: 'f:j' });
    // Shell jobs are not held up behind it.
    c.add('s', 'sh');
    expect(c.o('s').execution?.worker).toBe('a');
    c.run({ type: 'registerWorker', workerId: 'a', slots: 4, functions: ['hold'] });
    expect(c.o('x').execution).toMatchObject({ worker: 'a', lease: 2, attempt: 1 });
    expect(c.replayEquals()).toBe(true);
  });

  it('a lost worker fails exactly its executions, and reruns restartable ones elsewhere with the next attempt', () => {
    const c = core();
    c.run({ type: 'registerWorker', workerId: 'a', slots: 1, functions: ['hold'] });
    c.add('fa', 'f');
    c.add('ra', 'r');
    c.run({ type: 'registerWorker', workerId: 'b', slots: 1, functions: ['hold'] });
    expect(c.o('fa').execution?.worker).toBe('a');
    expect(c.o('ra').execution?.worker).toBe('b');
    c.add('rb', 'r'); // waits: no slot
    expect(c.o('rb').state).toBe('waiting');
    c.run({ type: 'workerLost', workerId: 'b' });
    expect(c.o('fa').state).toBe('processing');
    // ra was b's and is restartable: it waits for a slot and runs again as attempt 2.
    expect(c.o('ra').state).toBe('waiting');
    expect(c.s.workers.has('b')).toBe(false);
    c.finish('fa');
    const next = [c.o('ra'), c.o('rb')].find((o) => o.state === 'processing')!;
    expect(next.execution?.worker).toBe('a');
    if (next.id === 'ra') expect(next.execution?.attempt).toBe(2);
    c.run({ type: 'workerLost', workerId: 'a' });
    c.run({ type: 'registerWorker', workerId: 'c', slots: 4, functions: ['hold'] });
    expect(c.o('ra').execution).toMatchObject({ worker: 'c' });
    expect(c.o('ra').execution!.attempt).toBeGreaterThanOrEqual(2);
    // A lost worker whose job is not restartable: disrupted.
    c.add('f2', 'f');
    c.run({ type: 'workerLost', workerId: 'c' });
    expect(c.o('f2').outcome).toMatchObject({ type: 'failed', reason: 'disrupted' });
    expect(c.replayEquals()).toBe(true);
    // Snapshots keep the workers, and the running counts follow from the orders.
    const copy = deserializeState(serializeState(c.s));
    expect(serializeState(copy)).toBe(serializeState(c.s));
  });

  it('refuses a bad registration by name, and an unknown worker lost', () => {
    const c = core();
    const p = c.refuse({ type: 'registerWorker', workerId: 'a b', slots: -1, functions: [''] });
    expect(p.problems?.map((x) => x.path)).toEqual(['workerId', 'slots', 'functions']);
    expect(c.refuse({ type: 'workerLost', workerId: 'nobody' }).code).toBe('not-found');
  });
});
