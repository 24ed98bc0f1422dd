import { describe, expect, it } from 'vitest';

import type { ProblemItem } from '../../src/core/commands.js';
import type { LockDef, Workflow } from '../../src/core/model.js';
import { LIMITS } from '../../src/core/model.js';
import {
  findLockOrderCycle,
  lockOrderEdges,
  lockReferences,
  validateLockDef,
  validateWorkflow,
} from '../../src/core/validate.js';

const LOCKS: LockDef[] = [
  { name: 'pdSerialLockSingle', limit: 1 },
  { name: 'pdSerialLockMulti', limit: 10 },
  { name: 'K', limit: 2, keyed: true },
  { name: 'Closed', limit: 0 },
  { name: 'A', limit: 1 },
  { name: 'B', limit: 1 },
  { name: 'C', limit: 1 },
];
const ctx = { locks: new Map(LOCKS.map((l) => [l.name, l])) };

const shell = (script = '#!/bin/sh\necho hi\n') => ({ executable: { TYPE: 'ShellScriptExecutable', script } });
const exec = (jobName = 'job1', extra: Record<string, unknown> = {}) => ({ TYPE: 'Execute.Named', jobName, ...extra });
const lock = (demands: unknown[], instructions: unknown[] = [exec()], extra: Record<string, unknown> = {}) => ({
  TYPE: 'Lock',
  demands,
  lockedWorkflow: { instructions },
  ...extra,
});

/** A workflow document with `instructions` and one job `job1` (plus `jobs`). */
function doc(instructions: unknown[], jobs: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return { TYPE: 'Workflow', instructions, jobs: { job1: shell(), ...jobs }, ...extra };
}

function problemsOf(raw: unknown, name = 'w'): ProblemItem[] {
  const r = validateWorkflow(raw, name, ctx);
  if (r.ok) throw new Error(`expected problems, got ${JSON.stringify(r.value)}`);
  expect(r).not.toHaveProperty('value');
  return r.problems;
}

/** The one problem of a refused workflow. */
function oneProblem(raw: unknown): ProblemItem {
  const ps = problemsOf(raw);
  expect(ps).toHaveLength(1);
  return ps[0]!;
}

function okWorkflow(raw: unknown, name = 'w'): Workflow {
  const r = validateWorkflow(raw, name, ctx);
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.problems)}`);
  return r.value;
}

function lockProblems(raw: unknown, name?: string): ProblemItem[] {
  const r = validateLockDef(raw, name);
  if (r.ok) throw new Error(`expected problems, got ${JSON.stringify(r.value)}`);
  expect(r).not.toHaveProperty('value');
  return r.problems;
}

describe('validateLockDef', () => {
  it('accepts a lock, with limit 1 by default', () => {
    expect(validateLockDef({ TYPE: 'Lock' }, 'L')).toEqual({ ok: true, value: { name: 'L', limit: 1 } });
    expect(validateLockDef({ name: 'L', limit: 0, title: 't', keyed: true, policy: 'greedy' })).toEqual({
      ok: true,
      value: { name: 'L', limit: 0, title: 't', keyed: true, policy: 'greedy' },
    });
    expect(validateLockDef({ limit: LIMITS.lockLimitMax, policy: 'fifo' }, 'a.b-c_9').ok).toBe(true);
  });

  it('checks the name', () => {
    expect(lockProblems({}, 'a/b')).toEqual([
      { path: 'name', message: "lock name may contain only letters, digits, '_', '.' and '-'" },
    ]);
    expect(lockProblems({}, '')).toEqual([{ path: 'name', message: 'lock name must not be empty' }]);
    expect(lockProblems({}, 'x'.repeat(LIMITS.nameLengthMax + 1))).toEqual([
      { path: 'name', message: `lock name must be at most ${LIMITS.nameLengthMax} characters long` },
    ]);
    expect(lockProblems({})).toEqual([{ path: 'name', message: 'required' }]);
    expect(lockProblems({ name: 'A' }, 'B')).toEqual([
      { path: 'name', message: 'is "A" but the lock is named "B"' },
    ]);
  });

  it('checks limit, title, keyed, policy, TYPE and unknown keys, all at once', () => {
    expect(
      lockProblems(
        { TYPE: 'Workflow', limit: 1.5, title: 3, keyed: 'yes', policy: 'lifo', count: 1 },
        'L',
      ),
    ).toEqual([
      { path: 'count', message: 'unknown key (not part of a lock)' },
      { path: 'TYPE', message: 'must be "Lock"' },
      { path: 'limit', message: `must be a whole number between 0 and ${LIMITS.lockLimitMax}` },
      { path: 'title', message: 'must be a string' },
      { path: 'keyed', message: 'must be true or false' },
      { path: 'policy', message: 'must be "fifo" or "greedy"' },
    ]);
    expect(lockProblems({ limit: -1 }, 'L')).toEqual([
      { path: 'limit', message: `must be a whole number between 0 and ${LIMITS.lockLimitMax}` },
    ]);
    expect(lockProblems({ limit: LIMITS.lockLimitMax + 1 }, 'L')).toHaveLength(1);
    expect(lockProblems({ title: 'x'.repeat(LIMITS.messageLengthMax + 1) }, 'L')).toEqual([
      { path: 'title', message: `must be at most ${LIMITS.messageLengthMax} characters long` },
    ]);
  });

  it('refuses what is not an object', () => {
    expect(lockProblems([], 'L')).toEqual([{ path: '$', message: 'a lock must be a JSON object' }]);
    expect(lockProblems(null, 'L')).toHaveLength(1);
  });
});

describe('validateWorkflow: the document', () => {
  const example = doc([lock([{ lockName: 'pdSerialLockSingle' }], [exec('job1', { label: 'job1' })])], {}, { title: 'T' });

  it('accepts a valid workflow and returns a deep copy without defaults filled in', () => {
    const raw = structuredClone(example);
    const wf = okWorkflow(raw, 'pdSerialSingle');
    expect(wf).toEqual({
      name: 'pdSerialSingle',
      title: 'T',
      instructions: [
        {
          TYPE: 'Lock',
          demands: [{ lockName: 'pdSerialLockSingle' }],
          lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'job1', label: 'job1' }] },
        },
      ],
      jobs: { job1: { executable: { TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\necho hi\n' } } },
    });
    // A copy: changing the input later does not change the value.
    (raw.instructions[0] as { demands: Array<{ lockName: string }> }).demands[0]!.lockName = 'X';
    raw.jobs.job1.executable.script = 'changed';
    expect(wf.instructions[0]).toMatchObject({ demands: [{ lockName: 'pdSerialLockSingle' }] });
    expect(wf.jobs['job1']!.executable).toMatchObject({ script: '#!/bin/sh\necho hi\n' });
  });

  it('accepts a name in the document when it agrees, refuses it otherwise', () => {
    expect(okWorkflow({ ...example, name: 'w' }).name).toBe('w');
    expect(problemsOf({ ...example, name: 'v' })).toEqual([
      { path: 'name', message: 'is "v" but the workflow is named "w"' },
    ]);
    expect(problemsOf(example, 'bad name')).toEqual([
      { path: 'name', message: "workflow name may contain only letters, digits, '_', '.' and '-'" },
    ]);
  });

  it('checks TYPE, unknown keys, title and timeZone', () => {
    expect(problemsOf({ ...example, TYPE: 'Lock', version: '1', timeZone: 'Mars/Olympus' })).toEqual([
      { path: 'version', message: 'unknown key (not part of a workflow)' },
      { path: 'TYPE', message: 'must be "Workflow"' },
      { path: 'timeZone', message: 'unknown time zone "Mars/Olympus"' },
    ]);
    expect(okWorkflow({ ...example, timeZone: 'Europe/Berlin' }).timeZone).toBe('Europe/Berlin');
    expect(oneProblem({ ...example, title: 7 })).toEqual({ path: 'title', message: 'must be a string' });
  });

  it('refuses what is not an object, and missing instructions or jobs', () => {
    expect(problemsOf('x')).toEqual([{ path: '$', message: 'a workflow must be a JSON object' }]);
    expect(problemsOf({})).toEqual([
      { path: 'instructions', message: 'required' },
      { path: 'jobs', message: 'required' },
    ]);
    expect(problemsOf({ instructions: {}, jobs: [] })).toEqual([
      { path: 'instructions', message: 'must be an array of instructions' },
      { path: 'jobs', message: 'must be an object' },
    ]);
  });

  it('collects every problem at once', () => {
    const ps = problemsOf(
      doc(
        [
          exec('job1', { label: 'a' }),
          lock([{ lockName: 'pdSerialLockSingle', count: 2 }], [
            { TYPE: 'Retry' },
            exec('nope', { label: 'a' }),
          ]),
        ],
        { job2: { executable: { TYPE: 'ShellScriptExecutable' }, parallelism: 0 } },
      ),
    );
    expect(ps).toEqual([
      { path: 'instructions[1].demands[0].count', message: 'must be ≤ limit 1 of lock pdSerialLockSingle' },
      { path: 'instructions[1].lockedWorkflow.instructions[0]', message: 'Retry is only allowed inside a catch block' },
      { path: 'instructions[1].lockedWorkflow.instructions[1].label', message: 'duplicate label "a" (also at instructions[0])' },
      { path: 'jobs.job2.executable.script', message: 'required' },
      { path: 'jobs.job2.parallelism', message: 'must be a whole number between 1 and 100000' },
      { path: 'instructions[1].lockedWorkflow.instructions[1].jobName', message: 'unknown job nope' },
    ]);
  });
});

describe('validateWorkflow: instructions', () => {
  it('knows the instruction types', () => {
    expect(oneProblem(doc([{ TYPE: 'Jump' }]))).toEqual({
      path: 'instructions[0].TYPE',
      message: 'unknown instruction type "Jump"',
    });
    expect(oneProblem(doc([{ jobName: 'job1' }]))).toEqual({ path: 'instructions[0].TYPE', message: 'required' });
    expect(oneProblem(doc([42]))).toEqual({ path: 'instructions[0]', message: 'must be an object' });
  });

  it('refuses unknown keys in instructions, naming the key, but keeps label', () => {
    expect(oneProblem(doc([exec('job1', { label: 'x', arguments: {} })]))).toEqual({
      path: 'instructions[0].arguments',
      message: 'unknown key (not part of an Execute.Named instruction)',
    });
    expect(oneProblem(doc([lock([{ lockName: 'A' }], [exec()], { lockName: 'A' })]))).toEqual({
      path: 'instructions[0].lockName',
      message: 'unknown key (not part of a Lock instruction)',
    });
    expect(oneProblem(doc([lock([{ lockName: 'A', weight: 1 }])]))).toEqual({
      path: 'instructions[0].demands[0].weight',
      message: 'unknown key (not part of a demand)',
    });
    expect(oneProblem(doc([{ TYPE: 'Options', block: { instructions: [], x: 1 } }]))).toEqual({
      path: 'instructions[0].block.x',
      message: 'unknown key (not part of an options block)',
    });
  });

  it('checks labels: strings, unique within the whole workflow', () => {
    expect(oneProblem(doc([exec('job1', { label: 3 })]))).toEqual({
      path: 'instructions[0].label',
      message: 'must be a string',
    });
    expect(oneProblem(doc([exec('job1', { label: '' })]))).toEqual({
      path: 'instructions[0].label',
      message: 'must not be empty',
    });
    expect(
      oneProblem(doc([exec('job1', { label: 'x' }), { TYPE: 'Options', block: { instructions: [{ TYPE: 'Finish', label: 'x' }] } }])),
    ).toEqual({ path: 'instructions[1].block.instructions[0].label', message: 'duplicate label "x" (also at instructions[0])' });
  });

  it('checks that Execute.Named names a job', () => {
    expect(oneProblem(doc([exec('job9')]))).toEqual({ path: 'instructions[0].jobName', message: 'unknown job job9' });
    expect(oneProblem(doc([{ TYPE: 'Execute.Named' }]))).toEqual({ path: 'instructions[0].jobName', message: 'required' });
    expect(oneProblem(doc([exec('job1', { defaultArguments: { a: [1] } })]))).toEqual({
      path: 'instructions[0].defaultArguments.a',
      message: 'must be a string (an expression), a number or a boolean',
    });
    expect(oneProblem(doc([exec('job1', { defaultArguments: { a: 'plain text' } })]))).toEqual({
      path: 'instructions[0].defaultArguments.a',
      message: `not a valid expression: unknown name 'plain' (a variable is written $plain) (at position 1 of "plain text")`,
    });
    expect(okWorkflow(doc([exec('job1', { defaultArguments: { n: 1, b: true } })])).instructions[0]).toMatchObject({
      defaultArguments: { n: 1, b: true },
    });
    expect(okWorkflow(doc([exec('job1', { defaultArguments: { a: "'x'" } })])).instructions[0]).toEqual({
      TYPE: 'Execute.Named',
      jobName: 'job1',
      defaultArguments: { a: "'x'" },
    });
  });

  describe('Lock', () => {
    it('needs 1..16 demands and a lockedWorkflow', () => {
      expect(oneProblem(doc([lock([])]))).toEqual({ path: 'instructions[0].demands', message: 'must not be empty' });
      expect(oneProblem(doc([{ TYPE: 'Lock', lockedWorkflow: { instructions: [] } }]))).toEqual({
        path: 'instructions[0].demands',
        message: 'required',
      });
      const many = Array.from({ length: LIMITS.demandsPerLockMax + 1 }, () => ({ lockName: 'K', key: 'x' }));
      expect(oneProblem(doc([lock(many)]))).toEqual({
        path: 'instructions[0].demands',
        message: `must have at most ${LIMITS.demandsPerLockMax} demands`,
      });
      expect(oneProblem(doc([{ TYPE: 'Lock', demands: [{ lockName: 'A' }] }]))).toEqual({
        path: 'instructions[0].lockedWorkflow',
        message: 'required',
      });
    });

    it('names unknown locks', () => {
      expect(oneProblem(doc([lock([{ lockName: 'Nope' }])]))).toEqual({
        path: 'instructions[0].demands[0].lockName',
        message: 'unknown lock Nope',
      });
      expect(oneProblem(doc([lock([{}])]))).toEqual({ path: 'instructions[0].demands[0].lockName', message: 'required' });
    });

    it('refuses the same lock twice in one instruction', () => {
      expect(oneProblem(doc([lock([{ lockName: 'A' }, { lockName: 'B' }, { lockName: 'A', count: 1 }])]))).toEqual({
        path: 'instructions[0].demands[2]',
        message: 'lock A is demanded twice in this instruction (also at demands[0])',
      });
      expect(oneProblem(doc([lock([{ lockName: 'K', key: '$x' }, { lockName: 'K', key: '$x' }])]))).toEqual({
        path: 'instructions[0].demands[1]',
        message: 'lock K with key $x is demanded twice in this instruction (also at demands[0])',
      });
      // Different keys of a keyed lock are different instances.
      expect(okWorkflow(doc([lock([{ lockName: 'K', key: '$x' }, { lockName: 'K', key: 'lit' }])])).instructions).toHaveLength(1);
    });

    it('checks count: whole, ≥ 1, ≤ limit when the limit is > 0', () => {
      const at = (count: unknown, lockName = 'pdSerialLockSingle') =>
        problemsOf(doc([exec(), lock([{ lockName, count }])]));
      expect(at(2)).toEqual([
        { path: 'instructions[1].demands[0].count', message: 'must be ≤ limit 1 of lock pdSerialLockSingle' },
      ]);
      expect(at(11, 'pdSerialLockMulti')).toEqual([
        { path: 'instructions[1].demands[0].count', message: 'must be ≤ limit 10 of lock pdSerialLockMulti' },
      ]);
      for (const bad of [0, -1, 1.5, '1', null]) {
        expect(at(bad)).toEqual([
          { path: 'instructions[1].demands[0].count', message: `must be a whole number between 1 and ${LIMITS.lockLimitMax}` },
        ]);
      }
      expect(okWorkflow(doc([lock([{ lockName: 'pdSerialLockMulti', count: 10 }])])).instructions[0]).toMatchObject({
        demands: [{ lockName: 'pdSerialLockMulti', count: 10 }],
      });
      // A closed lock (limit 0) may be opened later: no check against its limit.
      expect(okWorkflow(doc([lock([{ lockName: 'Closed', count: 5 }])])).instructions).toHaveLength(1);
    });

    it('allows key only on keyed locks and requires it there', () => {
      expect(oneProblem(doc([lock([{ lockName: 'A', key: '$x' }])]))).toEqual({
        path: 'instructions[0].demands[0].key',
        message: 'lock A is not keyed: key is not allowed',
      });
      expect(oneProblem(doc([lock([{ lockName: 'K' }])]))).toEqual({
        path: 'instructions[0].demands[0].key',
        message: 'required for the keyed lock K',
      });
      expect(oneProblem(doc([lock([{ lockName: 'K', key: 5 }])]))).toEqual({
        path: 'instructions[0].demands[0].key',
        message: 'must be a string',
      });
      expect(oneProblem(doc([lock([{ lockName: 'K', key: '$' }])]))).toEqual({
        path: 'instructions[0].demands[0].key',
        message: 'must name an argument after $',
      });
      expect(okWorkflow(doc([lock([{ lockName: 'K', key: '$account', count: 2 }])])).instructions[0]).toMatchObject({
        demands: [{ lockName: 'K', key: '$account', count: 2 }],
      });
    });

    it('checks waitTimeout', () => {
      for (const bad of [-1, LIMITS.timeoutSecondsMax + 1, 'x']) {
        expect(oneProblem(doc([lock([{ lockName: 'A' }], [exec()], { waitTimeout: bad })]))).toEqual({
          path: 'instructions[0].waitTimeout',
          message: `must be a number between 0 and ${LIMITS.timeoutSecondsMax}`,
        });
      }
      expect(okWorkflow(doc([lock([{ lockName: 'A' }], [exec()], { waitTimeout: 0 })])).instructions[0]).toMatchObject({
        waitTimeout: 0,
      });
    });

    it('refuses a demand for a lock an enclosing Lock already holds, except keyed locks', () => {
      const nested = doc([
        lock([{ lockName: 'A' }, { lockName: 'B' }], [
          { TYPE: 'Options', block: { instructions: [
            { TYPE: 'Try', try: { instructions: [lock([{ lockName: 'C' }, { lockName: 'B', count: 1 }])] }, catch: { instructions: [] } },
          ] } },
        ]),
      ]);
      expect(oneProblem(nested)).toEqual({
        path: 'instructions[0].lockedWorkflow.instructions[0].block.instructions[0].try.instructions[0].demands[1]',
        message: 'lock B is already held by the enclosing Lock at instructions[0]',
      });
      // Keyed: allowed (the run time checks that the keys differ).
      expect(okWorkflow(doc([lock([{ lockName: 'K', key: '$a' }], [lock([{ lockName: 'K', key: '$b' }])])])).instructions).toHaveLength(1);
      // Siblings are not nested.
      expect(okWorkflow(doc([lock([{ lockName: 'A' }]), lock([{ lockName: 'A' }])])).instructions).toHaveLength(2);
    });

    it('reports a nested re-demand also when the enclosing Lock has other problems', () => {
      expect(problemsOf(doc([lock([{ lockName: 'A' }, { lockName: 'Nope' }], [lock([{ lockName: 'A' }])])]))).toEqual([
        { path: 'instructions[0].demands[1].lockName', message: 'unknown lock Nope' },
        { path: 'instructions[0].lockedWorkflow.instructions[0].demands[0]', message: 'lock A is already held by the enclosing Lock at instructions[0]' },
      ]);
    });
  });

  describe('Try and Retry', () => {
    const tryOf = (catchInstrs: unknown[], extra: Record<string, unknown> = {}) => ({
      TYPE: 'Try',
      try: { instructions: [exec()] },
      catch: { instructions: catchInstrs },
      ...extra,
    });

    it('allows Retry only inside a catch block', () => {
      expect(oneProblem(doc([{ TYPE: 'Retry' }]))).toEqual({
        path: 'instructions[0]',
        message: 'Retry is only allowed inside a catch block',
      });
      expect(oneProblem(doc([{ TYPE: 'Try', try: { instructions: [{ TYPE: 'Retry' }] }, catch: { instructions: [] } }]))).toEqual({
        path: 'instructions[0].try.instructions[0]',
        message: 'Retry is only allowed inside a catch block',
      });
      expect(okWorkflow(doc([tryOf([{ TYPE: 'Retry' }])])).instructions).toHaveLength(1);
      // At any depth below a catch block.
      expect(okWorkflow(doc([tryOf([lock([{ lockName: 'A' }], [{ TYPE: 'Retry' }])])])).instructions).toHaveLength(1);
    });

    it('checks maxTries and retryDelays', () => {
      expect(oneProblem(doc([tryOf([], { maxTries: 0 })]))).toEqual({
        path: 'instructions[0].maxTries',
        message: `must be a whole number between 1 and ${LIMITS.maxTriesMax}`,
      });
      expect(problemsOf(doc([tryOf([], { retryDelays: [1, -1, 'x'] })]))).toEqual([
        { path: 'instructions[0].retryDelays[1]', message: `must be a number between 0 and ${LIMITS.timeoutSecondsMax}` },
        { path: 'instructions[0].retryDelays[2]', message: `must be a number between 0 and ${LIMITS.timeoutSecondsMax}` },
      ]);
      expect(oneProblem(doc([tryOf([], { retryDelays: Array(LIMITS.retryDelaysMax + 1).fill(1) })]))).toEqual({
        path: 'instructions[0].retryDelays',
        message: `must have at most ${LIMITS.retryDelaysMax} entries`,
      });
      expect(oneProblem(doc([tryOf([], { retryDelays: 5 })]))).toEqual({
        path: 'instructions[0].retryDelays',
        message: 'must be an array of seconds',
      });
      expect(oneProblem(doc([{ TYPE: 'Try', try: { instructions: [] } }]))).toEqual({
        path: 'instructions[0].catch',
        message: 'required',
      });
      expect(okWorkflow(doc([tryOf([{ TYPE: 'Retry' }], { maxTries: 3, retryDelays: [0, 1.5] })])).instructions[0]).toMatchObject({
        maxTries: 3,
        retryDelays: [0, 1.5],
      });
    });
  });

  it('checks Fail and Finish', () => {
    expect(problemsOf(doc([{ TYPE: 'Fail', message: 1, outcome: { returnCode: 1.5, x: 1 }, uncatchable: 'no' }]))).toEqual([
      { path: 'instructions[0].message', message: 'must be a string' },
      { path: 'instructions[0].uncatchable', message: 'must be true or false' },
      { path: 'instructions[0].outcome.x', message: 'unknown key (not part of a Fail outcome)' },
      { path: 'instructions[0].outcome.returnCode', message: `must be a whole number between ${-(2 ** 31)} and ${2 ** 32 - 1}` },
    ]);
    expect(oneProblem(doc([{ TYPE: 'Fail', outcome: 1 }]))).toEqual({ path: 'instructions[0].outcome', message: 'must be an object' });
    expect(problemsOf(doc([{ TYPE: 'Finish', message: false, unsuccessful: 1 }]))).toEqual([
      { path: 'instructions[0].message', message: 'must be a string' },
      { path: 'instructions[0].unsuccessful', message: 'must be true or false' },
    ]);
    const wf = okWorkflow(
      doc([
        { TYPE: 'Fail', message: "'bad'", outcome: { returnCode: 3 }, uncatchable: true },
        { TYPE: 'Finish', message: 'done', unsuccessful: false },
      ]),
    );
    expect(wf.instructions).toEqual([
      { TYPE: 'Fail', message: "'bad'", outcome: { returnCode: 3 }, uncatchable: true },
      { TYPE: 'Finish', message: 'done', unsuccessful: false },
    ]);
  });

  it('checks Options', () => {
    expect(oneProblem(doc([{ TYPE: 'Options', stopOnFailure: 'yes', block: { instructions: [] } }]))).toEqual({
      path: 'instructions[0].stopOnFailure',
      message: 'must be true or false',
    });
    expect(oneProblem(doc([{ TYPE: 'Options' }]))).toEqual({ path: 'instructions[0].block', message: 'required' });
  });

  it('limits the nesting depth', () => {
    const nest = (levels: number): unknown => {
      let inner: unknown = exec();
      for (let i = 0; i < levels; i++) inner = { TYPE: 'Options', block: { instructions: [inner] } };
      return inner;
    };
    expect(okWorkflow(doc([nest(LIMITS.nestingDepthMax)])).instructions).toHaveLength(1);
    const deep = ['instructions[0]', ...Array(LIMITS.nestingDepthMax).fill('block.instructions[0]'), 'block'].join('.');
    expect(oneProblem(doc([nest(LIMITS.nestingDepthMax + 1)]))).toEqual({
      path: deep,
      message: `nesting deeper than ${LIMITS.nestingDepthMax} levels`,
    });
    // Very deep input is refused without overflowing the stack.
    expect(problemsOf(doc([nest(100_000)]))).toHaveLength(1);
  });

  it('limits the number of instructions', () => {
    const many = Array.from({ length: LIMITS.instructionsMax + 1 }, () => exec());
    expect(oneProblem(doc(many))).toEqual({
      path: 'instructions',
      message: `more than ${LIMITS.instructionsMax} instructions in the workflow`,
    });
    expect(okWorkflow(doc(many.slice(1))).instructions).toHaveLength(LIMITS.instructionsMax);
  });
});

describe('validateWorkflow: jobs', () => {
  const withJob = (job: unknown, name = 'job2') => doc([exec()], { [name]: job });

  it('checks the executable', () => {
    expect(oneProblem(withJob({ executable: { TYPE: 'InternalExecutable', className: 'x' } }))).toEqual({
      path: 'jobs.job2.executable.TYPE',
      message:
        'not supported: InternalExecutable (a Java or JavaScript job run inside the JS7 agent); use ShellScriptExecutable, PathExecutable, CommandLineExecutable or FunctionExecutable',
    });
    expect(oneProblem(withJob({ executable: {} }))).toEqual({ path: 'jobs.job2.executable.TYPE', message: 'required' });
    expect(oneProblem(withJob({}))).toEqual({ path: 'jobs.job2.executable', message: 'required' });
    expect(oneProblem(withJob({ executable: { TYPE: 'ShellScriptExecutable', script: 'x', login: {} } }))).toEqual({
      path: 'jobs.job2.executable.login',
      message: 'not supported: jobs run as the user of the Orderly process',
    });
    expect(oneProblem(withJob({ executable: { TYPE: 'ShellScriptExecutable', script: 'x'.repeat(LIMITS.scriptBytesMax + 1) } }))).toEqual({
      path: 'jobs.job2.executable.script',
      message: `must be at most ${LIMITS.scriptBytesMax} bytes long`,
    });
    // Bytes, not characters: 'é' is two bytes in UTF-8.
    expect(oneProblem(withJob({ executable: { TYPE: 'ShellScriptExecutable', script: 'é'.repeat(LIMITS.scriptBytesMax / 2 + 1) } }))).toMatchObject({
      path: 'jobs.job2.executable.script',
    });
    expect(oneProblem(withJob({ executable: { TYPE: 'FunctionExecutable' } }))).toEqual({
      path: 'jobs.job2.executable.functionName',
      message: 'required',
    });
    expect(okWorkflow(withJob({ executable: { TYPE: 'FunctionExecutable', functionName: 'f', returnCodeMeaning: { failure: '1' } } })).jobs['job2']).toEqual({
      executable: { TYPE: 'FunctionExecutable', functionName: 'f', returnCodeMeaning: { failure: '1' } },
    });
  });

  it('checks env names and values', () => {
    expect(problemsOf(withJob({ executable: { TYPE: 'ShellScriptExecutable', script: 'x', env: { '1A': 'a', 'B-C': 'b', OK: 3, _ok9: '$x' } } }))).toEqual([
      { path: 'jobs.job2.executable.env["1A"]', message: 'not a valid environment variable name (letters, digits, _; not starting with a digit)' },
      { path: 'jobs.job2.executable.env["B-C"]', message: 'not a valid environment variable name (letters, digits, _; not starting with a digit)' },
      { path: 'jobs.job2.executable.env.OK', message: 'must be a string' },
    ]);
    expect(oneProblem(withJob({ executable: { TYPE: 'ShellScriptExecutable', script: 'x', env: [] } }))).toEqual({
      path: 'jobs.job2.executable.env',
      message: 'must be an object of strings',
    });
  });

  it('checks returnCodeMeaning: exactly one of success and failure, a valid list', () => {
    const rcm = (m: unknown) => withJob({ executable: { TYPE: 'ShellScriptExecutable', script: 'x', returnCodeMeaning: m } });
    expect(oneProblem(rcm({ success: '0', failure: '1' }))).toEqual({
      path: 'jobs.job2.executable.returnCodeMeaning',
      message: 'must have exactly one of success and failure',
    });
    expect(oneProblem(rcm({}))).toEqual({
      path: 'jobs.job2.executable.returnCodeMeaning',
      message: 'must have exactly one of success and failure',
    });
    expect(oneProblem(rcm({ success: '0,5..3' }))).toEqual({
      path: 'jobs.job2.executable.returnCodeMeaning.success',
      message: 'empty return code range "5..3" (5 > 3)',
    });
    expect(oneProblem(rcm({ failure: 'x' }))).toEqual({
      path: 'jobs.job2.executable.returnCodeMeaning.failure',
      message: 'bad return code item "x" (expected N or A..B)',
    });
    expect(oneProblem(rcm({ success: '' }))).toEqual({
      path: 'jobs.job2.executable.returnCodeMeaning.success',
      message: 'empty return code list',
    });
    expect(okWorkflow(rcm({ success: '0,3..5' })).jobs['job2']!.executable.returnCodeMeaning).toEqual({ success: '0,3..5' });
  });

  it('checks parallelism, timeouts, defaultArguments, agentName, restartable and unknown keys', () => {
    expect(
      problemsOf(
        withJob({
          ...shell(),
          parallelism: 1.5,
          timeout: 0,
          graceTimeout: -1,
          defaultArguments: { a: null },
          agentName: 5,
          restartable: 'yes',
          returnCodeMeaning: { success: '0' },
        }),
      ),
    ).toEqual([
      { path: 'jobs.job2.returnCodeMeaning', message: 'unknown key (not part of a job)' },
      { path: 'jobs.job2.agentName', message: 'must be a string' },
      { path: 'jobs.job2.parallelism', message: `must be a whole number between 1 and ${LIMITS.parallelismMax}` },
      { path: 'jobs.job2.timeout', message: `must be a number > 0 and ≤ ${LIMITS.timeoutSecondsMax}` },
      { path: 'jobs.job2.graceTimeout', message: `must be a number between 0 and ${LIMITS.timeoutSecondsMax}` },
      { path: 'jobs.job2.defaultArguments.a', message: 'must be a string (an expression), a number or a boolean' },
      { path: 'jobs.job2.restartable', message: 'must be true or false' },
    ]);
    expect(oneProblem(withJob({ ...shell(), parallelism: LIMITS.parallelismMax + 1 }))).toMatchObject({ path: 'jobs.job2.parallelism' });
    expect(oneProblem(withJob({ ...shell(), timeout: LIMITS.timeoutSecondsMax + 1 }))).toMatchObject({ path: 'jobs.job2.timeout' });
    const job = {
      agentName: 'primaryAgent',
      ...shell(),
      parallelism: 4,
      timeout: 30,
      graceTimeout: 0,
      defaultArguments: { x: "'v'" },
      restartable: true,
    };
    expect(okWorkflow(withJob(job)).jobs['job2']).toEqual(job);
  });

  it('checks job names', () => {
    expect(oneProblem(withJob(shell(), 'bad job'))).toEqual({
      path: 'jobs["bad job"]',
      message: "job name may contain only letters, digits, '_', '.' and '-'",
    });
    expect(oneProblem(withJob(5))).toEqual({ path: 'jobs.job2', message: 'must be an object' });
  });
});

describe('lock order graph', () => {
  const wf = (name: string, instructions: unknown[]): Workflow => okWorkflow(doc(instructions), name);

  it('lockReferences lists every lock demanded', () => {
    const w = wf('w', [
      lock([{ lockName: 'A' }], [{ TYPE: 'Options', block: { instructions: [lock([{ lockName: 'B' }, { lockName: 'K', key: 'k' }])] } }]),
      { TYPE: 'Try', try: { instructions: [] }, catch: { instructions: [lock([{ lockName: 'C' }])] } },
    ]);
    expect([...lockReferences(w)].sort()).toEqual(['A', 'B', 'C', 'K']);
  });

  it('lockOrderEdges: from every enclosing lock to every inner one, none within one instruction, no keyed self-edge', () => {
    const w = wf('w', [
      lock([{ lockName: 'A' }, { lockName: 'K', key: '$a' }], [
        { TYPE: 'Options', block: { instructions: [lock([{ lockName: 'B' }], [lock([{ lockName: 'C' }, { lockName: 'K', key: '$b' }])])] } },
      ]),
    ]);
    const inner = 'instructions[0].lockedWorkflow.instructions[0].block.instructions[0]';
    const innermost = `${inner}.lockedWorkflow.instructions[0]`;
    expect(lockOrderEdges(w)).toEqual([
      { from: 'A', to: 'B', path: inner },
      { from: 'A', to: 'C', path: innermost },
      { from: 'A', to: 'K', path: innermost },
      { from: 'B', to: 'C', path: innermost },
      { from: 'B', to: 'K', path: innermost },
      { from: 'K', to: 'B', path: inner },
      { from: 'K', to: 'C', path: innermost },
    ]);
    expect(lockOrderEdges(wf('flat', [lock([{ lockName: 'A' }, { lockName: 'B' }])]))).toEqual([]);
  });

  it('findLockOrderCycle names the cycle and the workflows contributing it', () => {
    const w1 = wf('w1', [lock([{ lockName: 'A' }], [lock([{ lockName: 'B' }])])]);
    const w2 = wf('w2', [lock([{ lockName: 'B' }], [lock([{ lockName: 'A' }])])]);
    const w3 = wf('w3', [lock([{ lockName: 'C' }], [lock([{ lockName: 'A' }])])]);
    expect(findLockOrderCycle([w1])).toBeUndefined();
    expect(findLockOrderCycle([w1, w3])).toBeUndefined();
    expect(findLockOrderCycle([w3, w2, w1])).toEqual({ cycle: ['A', 'B', 'A'], workflows: ['w1', 'w2'] });
    expect(findLockOrderCycle([w1, w2, w3])).toEqual({ cycle: ['A', 'B', 'A'], workflows: ['w1', 'w2'] });
  });

  it('finds longer cycles, also within one workflow', () => {
    const a = wf('a', [lock([{ lockName: 'A' }], [lock([{ lockName: 'B' }])])]);
    const b = wf('b', [lock([{ lockName: 'B' }], [lock([{ lockName: 'C' }])])]);
    const c = wf('c', [lock([{ lockName: 'C' }], [lock([{ lockName: 'A' }])])]);
    expect(findLockOrderCycle([c, b, a])).toEqual({ cycle: ['A', 'B', 'C', 'A'], workflows: ['a', 'b', 'c'] });
    const self = wf('self', [
      lock([{ lockName: 'A' }], [lock([{ lockName: 'B' }])]),
      lock([{ lockName: 'B' }], [lock([{ lockName: 'A' }])]),
    ]);
    expect(findLockOrderCycle([self])).toEqual({ cycle: ['A', 'B', 'A'], workflows: ['self'] });
  });

  it('a keyed family nested in itself is no cycle', () => {
    const w = wf('w', [lock([{ lockName: 'K', key: '$a' }], [lock([{ lockName: 'K', key: '$b' }])])]);
    expect(lockOrderEdges(w)).toEqual([]);
    expect(findLockOrderCycle([w])).toBeUndefined();
  });

  it('a keyed family demanded together with another lock and nested in that block again is a cycle of the group', () => {
    // Under fifo: U holds A and K[x] and waits for K[y]; V, waiting for A and K[y] together,
    // stands before U in K[y]'s line and waits for A, which U holds.
    const w = wf('w', [lock([{ lockName: 'A' }, { lockName: 'K', key: '$a' }], [lock([{ lockName: 'K', key: '$b' }])])]);
    expect(findLockOrderCycle([w])).toEqual({ cycle: ['A+K', 'A+K'], workflows: ['w'] });
  });
});
