// Workers in the core: executions name their worker, lease and attempt; slots count per worker;
// function jobs run only where the function is registered; a lost worker ends exactly its executions.

import { describe, expect, it } from 'vitest';
import { deserializeState, serializeState } from '../../src/core/state.js';
import { AGENT_NAME_CHARS_MAX, WORKER_AGENTS_COUNT_MAX } from '../../src/core/workers.js';
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

  it('gives an execution to the preferred worker while it has a free slot, else to the worker with the most free slots (ties: the first registered)', () => {
    const c = core();
    c.run({ type: 'registerWorker', workerId: 'a', slots: 2, functions: [] });
    c.run({ type: 'registerWorker', workerId: 'b', slots: 2, functions: [] });
    c.run({ type: 'registerWorker', workerId: 'c', slots: 3, functions: [] });
    const on = (id: string): string | undefined => c.o(id).execution?.worker;
    // No preference: the most free slots (c), then on a tie the first registered (a).
    c.add('o1', 'sh');
    expect(on('o1')).toBe('c');
    c.add('o2', 'sh');
    expect(on('o2')).toBe('a');
    for (const id of ['o1', 'o2']) c.finish(id);
    // The preferred worker takes executions while it has a free slot, even against more free slots elsewhere...
    c.opts = { ...c.opts, preferredWorker: 'b' };
    c.add('o3', 'sh'); // c has 3 free, b 2: b all the same
    expect(on('o3')).toBe('b');
    c.add('o4', 'sh'); // b has 1 free: b
    expect(on('o4')).toBe('b');
    // ... and once it is full, the others by free slots: c has 3, a 2.
    c.add('o5', 'sh');
    expect(on('o5')).toBe('c');
    c.finish('o3'); // b has a free slot again
    c.add('o6', 'sh');
    expect(on('o6')).toBe('b');
    // A preferred worker that cannot run the job does not take it.
    for (const id of ['o4', 'o5', 'o6']) c.finish(id);
    c.run({ type: 'registerWorker', workerId: 'a', slots: 2, functions: ['hold'] });
    c.add('f1', 'f');
    expect(on('f1')).toBe('a');
    expect(c.replayEquals()).toBe(true);
  });

  it('a queued execution started when its job has room again goes to the preferred worker', () => {
    const c = new Core(100);
    c.deploy([], [wf('one', [exec('j')], { j: { ...shell, parallelism: 1 } })]);
    c.run({ type: 'registerWorker', workerId: 'x', slots: 1, functions: [] });
    c.run({ type: 'registerWorker', workerId: 'y', slots: 1, functions: [] });
    c.opts = { ...c.opts, preferredWorker: 'y' };
    c.add('p1', 'one');
    c.add('p2', 'one'); // queued: the job runs one at a time
    expect(c.o('p1').execution?.worker).toBe('y');
    expect(c.o('p2').state).toBe('waiting');
    c.finish('p1'); // x and y both free
    expect(c.o('p2').execution?.worker).toBe('y');
    c.opts = { ...c.opts, preferredWorker: 'x' };
    c.add('p3', 'one');
    c.finish('p2');
    expect(c.o('p3').execution?.worker).toBe('x');
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

  describe('agents', () => {
    const onAgent = (agentName: string) => ({ ...shell, agentName });
    function agentCore(): Core {
      const c = new Core(100);
      c.deploy([], [wf('any', [exec('j')], { j: shell }), wf('a', [exec('j')], { j: onAgent('A') }), wf('b', [exec('j')], { j: onAgent('B') })]);
      return c;
    }
    const on = (c: Core, id: string): string | undefined => c.o(id).execution?.worker;

    it('a job of agent A runs only on workers listing A; a job without agent runs anywhere', () => {
      const c = agentCore();
      c.run({ type: 'registerWorker', workerId: 'wa', slots: 10, functions: [], agents: ['A'] });
      c.run({ type: 'registerWorker', workerId: 'wb', slots: 10, functions: [], agents: ['B'] });
      for (let i = 0; i < 4; i++) c.add(`a${i}`, 'a');
      for (let i = 0; i < 4; i++) c.add(`b${i}`, 'b');
      for (let i = 0; i < 4; i++) c.add(`n${i}`, 'any');
      for (let i = 0; i < 4; i++) expect(on(c, `a${i}`)).toBe('wa');
      for (let i = 0; i < 4; i++) expect(on(c, `b${i}`)).toBe('wb');
      expect(new Set([0, 1, 2, 3].map((i) => on(c, `n${i}`)))).toEqual(new Set(['wa', 'wb']));
      expect(c.replayEquals()).toBe(true);
    });

    it('a job of an agent that no worker lists waits (no catch-all), and starts when a worker lists it', () => {
      const c = agentCore();
      c.run({ type: 'registerWorker', workerId: 'wb', slots: 10, functions: [], agents: ['B'] });
      c.add('x', 'a');
      expect(c.o('x').state).toBe('waiting');
      c.run({ type: 'registerWorker', workerId: 'wa', slots: 10, functions: [], agents: ['A'] });
      expect(on(c, 'x')).toBe('wa');
      expect(c.replayEquals()).toBe(true);
    });

    it('a worker without agents is a catch-all: it runs jobs of an agent only while no worker lists that agent', () => {
      const c = agentCore();
      c.run({ type: 'registerWorker', workerId: 'all', slots: 10, functions: [] });
      c.add('a1', 'a');
      c.add('b1', 'b');
      expect(on(c, 'a1')).toBe('all');
      expect(on(c, 'b1')).toBe('all');
      // A worker for A registers: A's jobs go there from now on, B's still to the catch-all.
      c.run({ type: 'registerWorker', workerId: 'wa', slots: 1, functions: [], agents: ['A'] });
      c.add('a2', 'a');
      c.add('a3', 'a');
      c.add('b2', 'b');
      expect(on(c, 'a2')).toBe('wa');
      // wa is full: a3 waits for it rather than going to the catch-all.
      expect(c.o('a3').state).toBe('waiting');
      expect(on(c, 'b2')).toBe('all');
      // Once A's worker is lost, the catch-all takes A's jobs again.
      c.run({ type: 'workerLost', workerId: 'wa' });
      expect(on(c, 'a3')).toBe('all');
      expect(c.replayEquals()).toBe(true);
    });

    it('registering again with other agents is a new registration; the same agents in another order is none', () => {
      const c = agentCore();
      expect(c.run({ type: 'registerWorker', workerId: 'w', slots: 1, functions: [], agents: ['B', 'A'] }).map((e) => e.type)).toEqual(['WorkerRegistered']);
      expect(c.run({ type: 'registerWorker', workerId: 'w', slots: 1, functions: [], agents: ['A', 'B', 'A'] })).toEqual([]);
      expect(c.s.workers.get('w')!.agents).toEqual(['A', 'B']);
      // Without agents: a catch-all now.
      expect(c.run({ type: 'registerWorker', workerId: 'w', slots: 1, functions: [] }).map((e) => e.type)).toEqual(['WorkerRegistered']);
      expect(c.s.workers.get('w')!.agents).toBeUndefined();
      c.run({ type: 'registerWorker', workerId: 'w', slots: 1, functions: [], agents: [] });
      expect(c.s.workers.get('w')!.agents).toEqual([]);
      // Snapshots keep the agents (and their absence).
      c.run({ type: 'registerWorker', workerId: 'v', slots: 1, functions: [] });
      const copy = deserializeState(serializeState(c.s));
      expect(copy.workers.get('w')!.agents).toEqual([]);
      expect(copy.workers.get('v')!.agents).toBeUndefined();
      expect(serializeState(copy)).toBe(serializeState(c.s));
      expect(c.replayEquals()).toBe(true);
    });

    it('a snapshot written before agents existed reads as catch-all workers', () => {
      const c = agentCore();
      c.run({ type: 'registerWorker', workerId: 'old', slots: 2, functions: [] });
      const text = serializeState(c.s);
      expect(text).not.toContain('agents');
      const copy = deserializeState(text);
      expect(copy.workers.get('old')!.agents).toBeUndefined();
    });

    it('refuses bad agents by name and limit', () => {
      const c = agentCore();
      const bad = (agents: unknown): string[] | undefined =>
        c.refuse({ type: 'registerWorker', workerId: 'w', slots: 1, functions: [], agents } as never).problems?.map((x) => x.path);
      expect(bad('A')).toEqual(['agents']);
      expect(bad([''])).toEqual(['agents']);
      expect(bad(['x'.repeat(AGENT_NAME_CHARS_MAX + 1)])).toEqual(['agents']);
      expect(bad(Array.from({ length: WORKER_AGENTS_COUNT_MAX + 1 }, (_, i) => `a${i}`))).toEqual(['agents']);
      expect(bad([1])).toEqual(['agents']);
    });
  });
});
