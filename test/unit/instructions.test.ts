// Sleep, Prompt, Execute.Anonymous, StickySubagent, and the outcomes of Fail and Finish.
import { describe, expect, it } from 'vitest';

import type { Instruction, Workflow } from '../../src/core/model.js';
import { jobAt } from '../../src/core/positions.js';
import { validateWorkflow } from '../../src/core/validate.js';
import { exportWorkflowJson, importWorkflowJson } from '../../src/formats/js7.js';
import { Core, exec, fn, lock, wf } from '../support/core-harness.js';

const sleep = (duration: number | string): Instruction => ({ TYPE: 'Sleep', duration });
const prompt = (question: string): Instruction => ({ TYPE: 'Prompt', question });

function roundTrip(w: Workflow): void {
  const text = exportWorkflowJson(w);
  const r = importWorkflowJson(text, `${w.name}.workflow.json`, { locks: new Map([['L', { name: 'L', limit: 1 }]]) });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  expect(r.value).toEqual(w);
  expect(exportWorkflowJson(r.value)).toBe(text);
}

describe('Sleep', () => {
  it('waits (waitingFor time) until the duration passed, then goes on', () => {
    const c = new Core();
    c.deploy([], [wf('w', [sleep(30), exec('j')])]);
    const o = c.add('o1', 'w');
    expect(o.state).toBe('waiting');
    expect(o.waitingFor).toEqual({ kind: 'time', until: c.now + 30_000 });
    expect(c.tick(29_999).map((e) => e.type)).toEqual([]);
    c.tick(1);
    expect(c.o('o1').state).toBe('processing');
    expect(c.o('o1').position).toEqual([1]);
    expect(c.replayEquals()).toBe(true);
  });

  it('reads its duration from an argument, and 0 does not wait', () => {
    const c = new Core();
    c.deploy([], [wf('w', [sleep('$delay'), sleep('0'), exec('j')])]);
    expect(c.add('o1', 'w', { arguments: { delay: '2.5' } }).waitingFor).toEqual({ kind: 'time', until: c.now + 2_500 });
    c.tick(2_500);
    expect(c.o('o1').state).toBe('processing');
  });

  it('fails the order (catchable) when the duration is no number of seconds', () => {
    const c = new Core();
    c.deploy([], [wf('w', [sleep('$delay')])]);
    const o = c.add('o1', 'w', { arguments: { delay: 'soon' } });
    expect(o.state).toBe('failed');
    expect(o.outcome).toMatchObject({ type: 'failed', reason: 'expression-error' });
    expect(c.add('o2', 'w').outcome?.message).toMatch(/no such named value: delay \(at position 1/);
  });

  it('a suspended sleeper does not wake; resumed after its time it goes on at once', () => {
    const c = new Core();
    c.deploy([], [wf('w', [sleep(10), exec('j')])]);
    c.add('o1', 'w');
    c.run({ type: 'suspendOrder', orderId: 'o1' });
    c.tick(20_000);
    expect(c.o('o1').state).toBe('waiting');
    c.run({ type: 'resumeOrder', orderId: 'o1' });
    expect(c.o('o1').state).toBe('processing');
    expect(c.replayEquals()).toBe(true);
  });

  it('holds its locks while sleeping; cancel releases them', () => {
    const c = new Core();
    c.deploy([{ name: 'L', limit: 1 }], [wf('w', [lock([{ lockName: 'L' }], [sleep(60)])])]);
    c.add('o1', 'w');
    c.add('o2', 'w');
    expect(c.holders('L')).toEqual(['o1']);
    c.run({ type: 'cancelOrder', orderId: 'o1' });
    expect(c.holders('L')).toEqual(['o2']);
    expect(c.replayEquals()).toBe(true);
  });

  it('refuses a duration out of range or an expression it cannot read, naming the place', () => {
    const bad = (duration: unknown) => validateWorkflow({ instructions: [{ TYPE: 'Sleep', duration }], jobs: {} }, 'w', { locks: new Map() });
    expect(bad(-1)).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].duration' }] });
    expect(bad('99999999999')).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].duration' }] });
    expect(bad('1 +')).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].duration', message: expect.stringMatching(/expression/) }] });
    expect(bad(undefined)).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].duration', message: 'required' }] });
  });
});

describe('Prompt', () => {
  it('waits prompting with its question until confirmed', () => {
    const c = new Core();
    c.deploy([], [wf('w', [prompt("'Go on?'"), exec('j')])]);
    const o = c.add('o1', 'w');
    expect(o.state).toBe('prompting');
    expect(o.prompt).toBe('Go on?');
    c.tick(3_600_000);
    expect(c.o('o1').state).toBe('prompting');
    expect(c.run({ type: 'confirmOrder', orderId: 'o1' }).map((e) => e.type)).toEqual(['OrderPromptAnswered', 'OrderProcessingStarted']);
    expect(c.o('o1').prompt).toBeUndefined();
    expect(c.o('o1').position).toEqual([1]);
    expect(c.replayEquals()).toBe(true);
  });

  it('refuses to confirm an order that is not prompting, and an unknown one', () => {
    const c = new Core();
    c.deploy([], [wf('w', [exec('j')])]);
    c.add('o1', 'w');
    expect(c.refuse({ type: 'confirmOrder', orderId: 'o1' })).toMatchObject({ code: 'state', message: 'order o1 is processing, not prompting' });
    expect(c.refuse({ type: 'confirmOrder', orderId: 'nope' }).code).toBe('not-found');
  });

  it('cancel answers no: the order ends and its locks go to the next', () => {
    const c = new Core();
    c.deploy([{ name: 'L', limit: 1 }], [wf('w', [lock([{ lockName: 'L' }], [prompt("'ok?'")])])]);
    c.add('o1', 'w');
    c.add('o2', 'w');
    c.run({ type: 'cancelOrder', orderId: 'o1' });
    expect(c.o('o1').state).toBe('cancelled');
    expect(c.o('o2').state).toBe('prompting');
    expect(c.holders('L')).toEqual(['o2']);
  });

  it('a suspended prompting order stays suspended after the confirm until resumed', () => {
    const c = new Core();
    c.deploy([], [wf('w', [prompt('$q'), exec('j')])]);
    c.add('o1', 'w', { arguments: { q: 'Release?' } });
    expect(c.o('o1').prompt).toBe('Release?');
    c.run({ type: 'suspendOrder', orderId: 'o1' });
    c.run({ type: 'confirmOrder', orderId: 'o1' });
    expect(c.o('o1')).toMatchObject({ state: 'ready', suspended: true, position: [1] });
    c.run({ type: 'resumeOrder', orderId: 'o1' });
    expect(c.o('o1').state).toBe('processing');
    expect(c.replayEquals()).toBe(true);
  });
});

describe('Execute.Anonymous and StickySubagent', () => {
  it('runs a job defined in place, with its own parallelism', () => {
    const c = new Core();
    const anon: Instruction = { TYPE: 'Execute.Anonymous', job: fn('f', { parallelism: 2 }), defaultArguments: { a: "'x'" } };
    const w = wf('w', [anon], {});
    c.deploy([], [w]);
    for (const id of ['o1', 'o2', 'o3']) c.add(id, 'w');
    expect(['o1', 'o2', 'o3'].map((id) => c.o(id).state)).toEqual(['processing', 'processing', 'waiting']);
    expect(c.o('o1').execution?.job).toBe('w:@0');
    expect(jobAt(w, [0])).toMatchObject({ name: '@0', defaultArguments: { a: "'x'" } });
    c.finish('o1');
    expect(c.o('o1').state).toBe('finished');
    expect(c.o('o3').state).toBe('processing');
    expect(c.replayEquals()).toBe(true);
  });

  it('StickySubagent runs its block in place', () => {
    const c = new Core();
    c.deploy([], [wf('w', [{ TYPE: 'StickySubagent', agentName: 'agent1', subworkflow: { instructions: [exec('j')] } }, exec('j')])]);
    c.add('o1', 'w');
    expect(c.o('o1').position).toEqual([0, 'stickySubagent', 0]);
    c.finish('o1');
    expect(c.o('o1').position).toEqual([1]);
    c.finish('o1');
    expect(c.o('o1').state).toBe('finished');
  });
});

describe('Fail and Finish outcomes', () => {
  it('Fail gives its namedValues and returnCode to the outcome', () => {
    const c = new Core();
    c.deploy([], [wf('w', [{ TYPE: 'Fail', message: 'no', namedValues: { returnCode: 7, why: 'bad' } }])]);
    expect(c.add('o1', 'w').outcome).toEqual({ type: 'failed', reason: 'fail-instruction', message: 'no', returnCode: 7, namedValues: { returnCode: 7, why: 'bad' } });
  });

  it('Finish with outcome Failed ends the order unsuccessfully, with its named values', () => {
    const c = new Core();
    c.deploy([], [wf('w', [{ TYPE: 'Finish', outcome: { TYPE: 'Failed', namedValues: { returnCode: 3 } } }, exec('j')])]);
    const o = c.add('o1', 'w');
    expect(o.state).toBe('finished');
    expect(o.outcome).toEqual({ type: 'failed', reason: 'finish-instruction', returnCode: 3, namedValues: { returnCode: 3 } });
  });

  it('refuses bad named values and a Finish contradicting itself', () => {
    const v = (i: unknown) => validateWorkflow({ instructions: [i], jobs: {} }, 'w', { locks: new Map() });
    expect(v({ TYPE: 'Fail', namedValues: { returnCode: 'x' } })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].namedValues.returnCode' }] });
    expect(v({ TYPE: 'Fail', namedValues: { a: [] } })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].namedValues.a' }] });
    expect(v({ TYPE: 'Finish', unsuccessful: false, outcome: { TYPE: 'Failed' } })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].unsuccessful' }] });
    expect(v({ TYPE: 'Finish', outcome: { TYPE: 'Maybe' } })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].outcome.TYPE' }] });
  });
});

describe('JS7 format', () => {
  it('exports and re-imports the new instructions unchanged', () => {
    roundTrip({
      name: 'all',
      instructions: [
        { TYPE: 'Sleep', duration: 5 },
        { TYPE: 'Sleep', duration: '$delay', label: 'nap' },
        { TYPE: 'Prompt', question: "'Go?'" },
        { TYPE: 'Execute.Anonymous', job: { executable: { TYPE: 'ShellScriptExecutable', script: 'echo hi' }, parallelism: 3 }, defaultArguments: { a: "'b'" } },
        { TYPE: 'StickySubagent', agentName: 'a1', subagentClusterIdExpr: "'cluster'", subworkflow: { instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'L' }], lockedWorkflow: { instructions: [] } }] } },
        { TYPE: 'Fail', namedValues: { returnCode: 2, x: true } },
        { TYPE: 'Finish', outcome: { TYPE: 'Succeeded', namedValues: { y: 'z' } } },
      ],
      jobs: {},
    });
  });
});

describe('expressions in instructions', () => {
  it('Sleep and Prompt evaluate JS7 expressions with the order in scope', () => {
    const c = new Core();
    c.deploy([], [wf('w', [sleep('$base * 2 + 1'), prompt("'Order ' ++ orderId ++ ' ready?'")])]);
    c.add('o1', 'w', { arguments: { base: '2' } });
    expect(c.o('o1').state).toBe('failed'); // '2' is text: arithmetic wants numbers
    c.deploy([], [wf('w', [sleep('toNumber($base) * 2 + 1'), prompt("'Order ' ++ orderId ++ ' ready?'")])]);
    c.add('o2', 'w', { arguments: { base: '2' } });
    expect(c.o('o2').waitingFor).toEqual({ kind: 'time', until: c.now + 5_000 });
    c.tick(5_000);
    expect(c.o('o2').prompt).toBe('Order o2 ready?');
  });
});

describe('If', () => {
  const iff = (predicate: string, then: Instruction[], els?: Instruction[]): Instruction =>
    els ? { TYPE: 'If', predicate, then: { instructions: then }, else: { instructions: els } } : { TYPE: 'If', predicate, then: { instructions: then } };

  it('takes then when true, else when false, goes on without else', () => {
    const c = new Core();
    c.deploy([], [wf('w', [iff('$n == "1"', [exec('j')], [{ TYPE: 'Finish' }]), iff('false', [exec('j')])])]);
    expect(c.add('a', 'w', { arguments: { n: '1' } }).position).toEqual([0, 'then', 0]);
    c.finish('a');
    expect(c.o('a').state).toBe('finished');
    expect(c.add('b', 'w', { arguments: { n: '2' } }).state).toBe('finished');
    expect(c.journal.filter((e) => e.type === 'OrderMoved' && e.orderId === 'b').map((e) => (e as { to: unknown }).to)).toEqual([[0, 'else', 0]]);
    expect(c.replayEquals()).toBe(true);
  });

  it('picks the first true of ifThens (then, then+2, …)', () => {
    const c = new Core();
    const w: Instruction = {
      TYPE: 'If',
      ifThens: [
        { predicate: '$x == "a"', then: { instructions: [exec('j')] } },
        { predicate: '$x == "b"', then: { instructions: [exec('j')] } },
        { predicate: 'true', then: { instructions: [exec('j')] } },
      ],
    };
    c.deploy([], [wf('w', [w])]);
    expect(c.add('a', 'w', { arguments: { x: 'a' } }).position).toEqual([0, 'then', 0]);
    expect(c.add('b', 'w', { arguments: { x: 'b' } }).position).toEqual([0, 'then+2', 0]);
    expect(c.add('c', 'w', { arguments: { x: 'c' } }).position).toEqual([0, 'then+3', 0]);
  });

  it('a predicate that is not Boolean, or fails, fails the order (catchable)', () => {
    const c = new Core();
    c.deploy([], [wf('w', [{ TYPE: 'Try', try: { instructions: [iff('$x', [exec('j')])] }, catch: { instructions: [{ TYPE: 'Finish', message: 'caught' }] } }])]);
    c.add('a', 'w', { arguments: { x: 'yes' } });
    expect(c.o('a').outcome).toMatchObject({ type: 'succeeded', message: 'caught' });
    const caught = c.journal.find((e) => e.type === 'OrderCaught');
    expect(caught).toMatchObject({ outcome: { reason: 'expression-error', message: expect.stringMatching(/is String, not Boolean/) } });
  });

  it('keeps locks taken inside a branch to that branch, and the lock order check sees into branches', () => {
    const c = new Core();
    const locks = [{ name: 'A', limit: 1 }, { name: 'B', limit: 1 }];
    c.deploy(locks, [wf('w', [iff('true', [lock([{ lockName: 'A' }], [exec('j')])])])]);
    c.add('a', 'w');
    expect(c.holders('A')).toEqual(['a']);
    c.finish('a');
    expect(c.holders('A')).toEqual([]);
    const ab = wf('ab', [lock([{ lockName: 'A' }], [iff('true', [lock([{ lockName: 'B' }], [exec('j')])])])]);
    const ba = wf('ba', [lock([{ lockName: 'B' }], [iff('true', [], [lock([{ lockName: 'A' }], [exec('j')])])])]);
    expect(c.refuse({ type: 'deploy', locks: [], workflows: [ab, ba] }).code).toBe('lock-order-cycle');
  });

  it('refuses both forms at once, an empty ifThens, and a predicate that does not parse', () => {
    const v = (i: unknown) => validateWorkflow({ instructions: [i], jobs: {} }, 'w', { locks: new Map() });
    const block = { instructions: [] };
    expect(v({ TYPE: 'If', predicate: 'true', then: block, ifThens: [{ predicate: 'true', then: block }] })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].predicate' }] });
    expect(v({ TYPE: 'If', ifThens: [] })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].ifThens' }] });
    expect(v({ TYPE: 'If', ifThens: [{ predicate: '1 +', then: block }] })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].ifThens[0].predicate', message: expect.stringMatching(/position/) }] });
    expect(v({ TYPE: 'If', predicate: 'true' })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].then', message: 'required' }] });
  });

  it('exports both forms as given', () => {
    roundTrip(wf('w', [iff('$a == 1', [], [exec('j')]), { TYPE: 'If', ifThens: [{ predicate: 'true', then: { instructions: [exec('j')] } }], else: { instructions: [] } }]));
  });
});

describe('Fork', () => {
  const fork = (branches: Record<string, Instruction[]>, extra: { joinIfFailed?: boolean; result?: Record<string, Record<string, string>> } = {}): Instruction => ({
    TYPE: 'Fork',
    branches: Object.entries(branches).map(([id, instructions]) => ({
      id,
      workflow: extra.result?.[id] ? { instructions, result: extra.result[id] } : { instructions },
    })),
    ...(extra.joinIfFailed !== undefined ? { joinIfFailed: extra.joinIfFailed } : {}),
  });

  it('runs each branch as a child order and joins with the merged result', () => {
    const c = new Core();
    c.deploy([], [wf('w', [fork({ a: [exec('j')], b: [exec('j')] }, { result: { a: { fromA: "'A:' ++ orderId" }, b: { rc: '$returnCode' } } }), exec('j')])]);
    c.add('o', 'w', { arguments: { x: '1' } });
    expect(c.o('o')).toMatchObject({ state: 'forked', children: ['o|a', 'o|b'] });
    expect(c.o('o|a')).toMatchObject({ state: 'processing', parent: 'o', position: [0, 'fork+a', 0], arguments: { x: '1' } });
    c.finish('o|a');
    expect(c.o('o').state).toBe('forked');
    c.finish('o|b', { type: 'succeeded', returnCode: 3 });
    expect(c.s.orders.has('o|a')).toBe(false);
    expect(c.o('o')).toMatchObject({ state: 'processing', position: [1], arguments: { x: '1', fromA: 'A:o|a', rc: '3' } });
    expect(c.replayEquals()).toBe(true);
  });

  it('a lock taken in a branch is released at its end; a lock around the Fork is the parent\'s for the whole Fork', () => {
    const c = new Core();
    const locks = [{ name: 'A', limit: 1 }, { name: 'B', limit: 1 }];
    c.deploy(locks, [wf('w', [lock([{ lockName: 'A' }], [fork({ x: [lock([{ lockName: 'B' }], [exec('j')]), exec('j')], y: [lock([{ lockName: 'B' }], [exec('j')])] })])])]);
    c.add('o', 'w');
    expect(c.holders('A')).toEqual(['o']);
    expect(c.holders('B')).toEqual(['o|x']);
    expect(c.queue('B')).toEqual(['o|y']);
    c.finish('o|x');
    expect(c.holders('B')).toEqual(['o|y']);
    expect(c.holders('A')).toEqual(['o']);
    c.finish('o|x');
    c.finish('o|y');
    expect(c.o('o').state).toBe('finished');
    expect(c.holders('A')).toEqual([]);
    expect(c.replayEquals()).toBe(true);
  });

  it('joinIfFailed: a failed child releases its locks and the parent fails at the Fork (catchable)', () => {
    const c = new Core();
    c.deploy([{ name: 'L', limit: 1 }], [wf('w', [{ TYPE: 'Try', try: { instructions: [fork({ b: [lock([{ lockName: 'L' }], [{ TYPE: 'Fail' }])], ok: [exec('j')] }, { joinIfFailed: true })] }, catch: { instructions: [exec('j')] } }])]);
    c.add('o', 'w');
    expect(c.o('o|b').state).toBe('failed');
    expect(c.holders('L')).toEqual([]);
    c.finish('o|ok');
    expect(c.o('o')).toMatchObject({ state: 'processing', position: [0, 'catch+0', 0] });
    const joined = c.journal.find((e) => e.type === 'OrderJoined');
    expect(joined).toMatchObject({ outcome: { type: 'failed', reason: 'child-failed', message: 'o|b failed' } });
  });

  it('without joinIfFailed a failed child waits for an operator; cancelling it fails the parent', () => {
    const c = new Core();
    c.deploy([], [wf('w', [fork({ b: [{ TYPE: 'Fail' }] })])]);
    c.add('o', 'w');
    expect(c.o('o|b').state).toBe('failed');
    expect(c.o('o').state).toBe('forked');
    c.run({ type: 'cancelOrder', orderId: 'o|b' });
    expect(c.o('o')).toMatchObject({ state: 'failed', outcome: { reason: 'child-failed', message: 'o|b has been cancelled' } });
  });

  it('resume at a chosen position keeps a child in its own branch and no order enters a Fork branch (found by the simulation)', () => {
    const c = new Core();
    c.deploy([{ name: 'A', limit: 1 }], [wf('w', [lock([{ lockName: 'A' }], [fork({ x: [exec('j'), exec('j')], y: [exec('j')] })]), exec('j')])]);
    c.add('o', 'w');
    c.finish('o|x', { type: 'failed', reason: 'returnCode', returnCode: 1 });
    expect(c.o('o|x').state).toBe('failed');
    // Out of its branch (the parent's part of the workflow) or into its sibling's: refused.
    expect(c.refuse({ type: 'resumeOrder', orderId: 'o|x', position: [1] }).message).toContain('out of its Fork branch');
    expect(c.refuse({ type: 'resumeOrder', orderId: 'o|x', position: [0, 'lock', 0, 'fork+y', 0] }).message).toContain('out of its Fork branch');
    // In its branch, the parent's lock around the Fork is not the child's: accepted.
    c.run({ type: 'resumeOrder', orderId: 'o|x', position: [0, 'lock', 0, 'fork+x', 1] });
    expect(c.o('o|x').position).toEqual([0, 'lock', 0, 'fork+x', 1]);
    c.finish('o|y');
    c.finish('o|x');
    c.finish('o', { type: 'failed', reason: 'returnCode', returnCode: 1 });
    expect(c.o('o').state).toBe('failed');
    expect(c.refuse({ type: 'resumeOrder', orderId: 'o', position: [0, 'lock', 0, 'fork+x', 0] }).message).toMatch(/into a Fork branch|lock block/);
    expect(c.replayEquals()).toBe(true);
  });

  it('cancelling the parent cancels the children, then the parent, releasing every lock', () => {
    const c = new Core();
    c.deploy([{ name: 'A', limit: 1 }, { name: 'B', limit: 1 }], [wf('w', [lock([{ lockName: 'A' }], [fork({ x: [lock([{ lockName: 'B' }], [exec('j')])], y: [{ TYPE: 'Prompt', question: "'?'" }] })])])]);
    c.add('o', 'w');
    c.run({ type: 'cancelOrder', orderId: 'o' });
    expect(c.o('o').state).toBe('forked'); // o|x's job runs
    c.finish('o|x');
    expect(c.o('o').state).toBe('cancelled');
    expect(c.holders('A')).toEqual([]);
    expect(c.holders('B')).toEqual([]);
    expect(c.s.orders.has('o|x')).toBe(false);
    expect(c.replayEquals()).toBe(true);
  });

  it('refuses a branch demanding a lock its parent holds around the Fork, and checks the lock order through branches', () => {
    const c = new Core();
    const locks = [{ name: 'A', limit: 1 }, { name: 'B', limit: 1 }];
    expect(c.refuse({ type: 'deploy', locks, workflows: [wf('w', [lock([{ lockName: 'A' }], [fork({ x: [lock([{ lockName: 'A' }], [])] })])])] }).message).toMatch(/already held by the enclosing Lock/);
    const ab = wf('ab', [lock([{ lockName: 'A' }], [fork({ x: [lock([{ lockName: 'B' }], [])] })])]);
    const ba = wf('ba', [lock([{ lockName: 'B' }], [lock([{ lockName: 'A' }], [])])]);
    expect(c.refuse({ type: 'deploy', locks, workflows: [ab, ba] }).code).toBe('lock-order-cycle');
  });

  it('a keyed lock held by the parent makes a child demanding the same key fail instead of waiting for ever', () => {
    const c = new Core();
    c.deploy([{ name: 'K', limit: 1, keyed: true }], [wf('w', [lock([{ lockName: 'K', key: '$k' }], [fork({ x: [lock([{ lockName: 'K', key: '$k2' }], [exec('j')])] }, { joinIfFailed: true })])])]);
    c.add('o', 'w', { arguments: { k: 'a', k2: 'a' } });
    expect(c.o('o')).toMatchObject({ state: 'failed', outcome: { reason: 'child-failed', message: expect.stringMatching(/demanded twice/) } });
    expect(c.holders('K[a]')).toEqual([]);
  });

  it('refuses duplicate branch ids and results given by two branches', () => {
    const v = (i: unknown) => validateWorkflow({ instructions: [i], jobs: {} }, 'w', { locks: new Map() });
    const b = (id: string, result?: Record<string, string>) => ({ id, workflow: result ? { instructions: [], result } : { instructions: [] } });
    expect(v({ TYPE: 'Fork', branches: [b('a'), b('a')] })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].branches[1].id' }] });
    expect(v({ TYPE: 'Fork', branches: [b('a', { r: '1' }), b('b', { r: '2' })] })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].branches[1].workflow.result.r' }] });
    expect(v({ TYPE: 'Fork', branches: [] })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].branches' }] });
  });

  it('exports and re-imports unchanged', () => {
    roundTrip(wf('w', [fork({ a: [exec('j')], b: [] }, { joinIfFailed: true, result: { a: { out: '$x' } } })]));
  });
});

describe('Cycle and Break', () => {
  const MIN = 60_000;
  const allDay = { admissionTimeScheme: { periods: [{ TYPE: 'DailyPeriod' as const, secondOfDay: 0, duration: 86_400 }] } };
  const cycle = (repeat: Extract<Instruction, { TYPE: 'Cycle' }>['schedule']['schemes'][number]['repeat'], instructions: Instruction[], extra: { onlyOnePeriod?: boolean; periods?: unknown[] } = {}): Instruction => ({
    TYPE: 'Cycle',
    schedule: { schemes: [{ admissionTimeScheme: extra.periods ? { periods: extra.periods as never } : allDay.admissionTimeScheme, repeat }] },
    cycleWorkflow: { instructions },
    ...(extra.onlyOnePeriod !== undefined ? { onlyOnePeriod: extra.onlyOnePeriod } : {}),
  });
  const breakIf3: Instruction = { TYPE: 'If', predicate: '$returnCode == 3', then: { instructions: [{ TYPE: 'Break' }] } };

  it('Periodic: a late start runs at once, then at each offset; Break leaves the Cycle', () => {
    const c = new Core(); // now = 1970-01-01T00:16:40Z
    c.deploy([], [wf('w', [cycle({ TYPE: 'Periodic', period: 600, offsets: [0] }, [exec('j'), breakIf3]), exec('j')])]);
    c.add('o', 'w');
    expect(c.o('o')).toMatchObject({ state: 'processing', position: [0, 'cycle', 0] });
    expect(c.o('o').cycles).toEqual([{ at: [0], end: 86_400_000, schemeIndex: 0, periodIndex: 0, index: 1, next: 10 * MIN }]);
    c.finish('o');
    expect(c.o('o')).toMatchObject({ state: 'waiting', position: [0], waitingFor: { kind: 'cycle', until: 20 * MIN } });
    expect(c.tick(20 * MIN - c.now - 1)).toEqual([]);
    c.tick(1);
    expect(c.o('o')).toMatchObject({ state: 'processing', position: [0, 'cycle', 0] });
    expect(c.o('o').cycles?.[0]?.index).toBe(2);
    c.finish('o', { type: 'succeeded', returnCode: 3 });
    expect(c.o('o')).toMatchObject({ state: 'processing', position: [1], cycles: undefined });
    expect(c.journal.filter((e) => e.type === 'OrderCycleStarted')).toHaveLength(2);
    c.finish('o');
    expect(c.o('o').state).toBe('finished');
    expect(c.replayEquals()).toBe(true);
  });

  it('Continuous: `limit` cycles per period, `pause` between them', () => {
    const c = new Core();
    c.deploy([], [wf('w', [cycle({ TYPE: 'Continuous', pause: 30, limit: 3 }, [exec('j')])])]);
    c.add('o', 'w');
    for (let n = 1; n <= 3; n++) {
      expect(c.o('o')).toMatchObject({ state: 'processing', cycles: [{ index: n }] });
      c.finish('o');
      if (n < 3) {
        expect(c.o('o').waitingFor).toEqual({ kind: 'cycle', until: c.now + 30_000 });
        c.tick(30_000);
      }
    }
    expect(c.o('o').state).toBe('finished');
    expect(c.replayEquals()).toBe(true);
  });

  it('Ticking skips the ticks missed while a cycle ran long', () => {
    const c = new Core();
    c.deploy([], [wf('w', [cycle({ TYPE: 'Ticking', interval: 60 }, [exec('j')])])]);
    c.add('o', 'w'); // the period began at midnight: ticks at every full minute, the last missed one at once
    expect(c.o('o').cycles?.[0]?.next).toBe(16 * MIN);
    c.tick(5 * MIN + 10_000); // 00:21:50: the ticks from 00:17 to 00:21 were missed; the one of 00:21 starts at once
    c.finish('o');
    expect(c.o('o')).toMatchObject({ state: 'processing', cycles: [{ index: 2, next: 21 * MIN }] });
    c.finish('o');
    expect(c.o('o').waitingFor).toEqual({ kind: 'cycle', until: 22 * MIN });
  });

  it('cycling ends with the order\'s day (in the workflow\'s time zone) and with its periods', () => {
    const c = new Core();
    c.now = Date.UTC(2026, 11, 7, 22, 0); // 23:00 in Berlin
    const berlin = (instructions: Instruction[]): Workflow => ({ ...wf('w', instructions), timeZone: 'Europe/Berlin' });
    c.deploy([], [berlin([cycle({ TYPE: 'Periodic', period: 1800, offsets: [0] }, [exec('j')])])]);
    c.add('o', 'w');
    c.finish('o'); // the 23:00 cycle; next 23:30 Berlin
    expect(c.o('o').waitingFor).toEqual({ kind: 'cycle', until: Date.UTC(2026, 11, 7, 22, 30) });
    c.tick(30 * MIN);
    c.finish('o'); // 24:00 Berlin is the next day
    expect(c.o('o').state).toBe('finished');
    // A period later in the day: the order waits for it; outside all periods of the day it goes on at once.
    const d = new Core();
    d.now = Date.UTC(2026, 11, 7, 6, 0); // 07:00 Berlin
    d.deploy([], [berlin([cycle({ TYPE: 'Periodic', period: 3600, offsets: [0, 1800] }, [exec('j')], { periods: [{ TYPE: 'DailyPeriod', secondOfDay: 8 * 3600, duration: 3600 }] })])]);
    d.add('o', 'w');
    expect(d.o('o')).toMatchObject({ state: 'waiting', waitingFor: { kind: 'cycle', until: Date.UTC(2026, 11, 7, 7, 0) } });
    d.tick(60 * MIN);
    d.finish('o');
    expect(d.o('o').waitingFor).toEqual({ kind: 'cycle', until: Date.UTC(2026, 11, 7, 7, 30) });
    d.tick(30 * MIN);
    d.finish('o'); // 09:00 is outside the period
    expect(d.o('o').state).toBe('finished');
    d.add('inPeriod', 'w'); // 08:30: in the period, the cycle of 08:30 starts at once
    expect(d.o('inPeriod')).toMatchObject({ state: 'processing', cycles: [{ next: Date.UTC(2026, 11, 7, 7, 30) }] });
    d.tick(31 * MIN);
    d.add('late', 'w'); // 09:01: no period left today
    expect(d.o('late').state).toBe('finished');
    expect(d.replayEquals()).toBe(true);
  });

  it('WeekdayPeriod and onlyOnePeriod', () => {
    const c = new Core();
    c.now = Date.UTC(2026, 11, 7, 10, 0); // Monday 10:00 UTC
    const periods = [
      { TYPE: 'WeekdayPeriod', secondOfWeek: 10 * 3600, duration: 600 }, // Monday 10:00–10:10
      { TYPE: 'WeekdayPeriod', secondOfWeek: 11 * 3600, duration: 600 }, // Monday 11:00–11:10
    ];
    c.deploy([], [wf('w', [cycle({ TYPE: 'Ticking', interval: 300 }, [exec('j')], { periods, onlyOnePeriod: true })]), wf('all', [cycle({ TYPE: 'Ticking', interval: 300 }, [exec('j')], { periods })])]);
    c.add('o', 'w');
    c.add('a', 'all');
    c.finish('o');
    c.finish('a');
    expect(c.o('o').waitingFor).toEqual({ kind: 'cycle', until: Date.UTC(2026, 11, 7, 10, 5) });
    c.tick(5 * MIN);
    c.finish('o');
    c.finish('a');
    expect(c.o('o').state).toBe('finished'); // the next period would be another one
    expect(c.o('a').waitingFor).toEqual({ kind: 'cycle', until: Date.UTC(2026, 11, 7, 11, 0) });
    c.tick(55 * MIN);
    expect(c.o('a')).toMatchObject({ state: 'processing', cycles: [{ periodIndex: 1, index: 1 }] });
  });

  it('Break inside a Lock in the cycle releases it; a Lock around the Cycle is kept; suspend and resume between cycles', () => {
    const c = new Core();
    c.deploy([{ name: 'A', limit: 1 }, { name: 'B', limit: 1 }], [wf('w', [lock([{ lockName: 'A' }], [cycle({ TYPE: 'Periodic', period: 600, offsets: [0] }, [lock([{ lockName: 'B' }], [exec('j'), breakIf3])])])])]);
    c.add('o', 'w');
    c.finish('o');
    expect(c.holders('B')).toEqual([]);
    expect(c.holders('A')).toEqual(['o']);
    c.run({ type: 'suspendOrder', orderId: 'o' });
    c.tick(60 * MIN);
    expect(c.o('o')).toMatchObject({ state: 'waiting', suspended: true });
    c.run({ type: 'resumeOrder', orderId: 'o' });
    expect(c.o('o')).toMatchObject({ state: 'processing', position: [0, 'lock', 0, 'cycle', 0, 'lock', 0] });
    expect(c.holders('B')).toEqual(['o']);
    c.finish('o', { type: 'succeeded', returnCode: 3 });
    expect(c.o('o').state).toBe('finished');
    expect(c.holders('A')).toEqual([]);
    expect(c.holders('B')).toEqual([]);
    expect(c.replayEquals()).toBe(true);
  });

  it('refuses a Break outside a Cycle (also across a Fork branch), bad schedules with their paths, and checks lock order through the Cycle', () => {
    const v = (i: unknown) => validateWorkflow({ instructions: [i], jobs: {} }, 'w', { locks: new Map() });
    expect(v({ TYPE: 'Break' })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0]', message: expect.stringMatching(/only allowed inside a Cycle/) }] });
    const inFork = cycle({ TYPE: 'Ticking', interval: 60 }, [{ TYPE: 'Fork', branches: [{ id: 'a', workflow: { instructions: [{ TYPE: 'Break' }] } }] }]);
    expect(v(inFork)).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].cycleWorkflow.instructions[0].branches[0].workflow.instructions[0]' }] });
    const sched = (repeat: unknown, periods: unknown[] = [{ TYPE: 'DailyPeriod', secondOfDay: 0, duration: 60 }]) => v({ TYPE: 'Cycle', schedule: { schemes: [{ admissionTimeScheme: { periods }, repeat }] }, cycleWorkflow: { instructions: [] } });
    expect(sched({ TYPE: 'Periodic', period: 60, offsets: [0, 60] })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].schedule.schemes[0].repeat.offsets[1]' }] });
    expect(sched({ TYPE: 'Continuous', pause: 0 })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].schedule.schemes[0].repeat.limit' }] });
    expect(sched({ TYPE: 'Ticking', interval: 60 }, [{ TYPE: 'MonthlyDatePeriod', secondOfMonth: 0, duration: 60 }])).toMatchObject({
      ok: false,
      problems: [{ path: 'instructions[0].schedule.schemes[0].admissionTimeScheme.periods[0].TYPE', message: expect.stringMatching(/not supported/) }],
    });
    expect(sched({ TYPE: 'Ticking', interval: 60 }, [{ TYPE: 'DailyPeriod', secondOfDay: 86_400, duration: 60 }])).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].schedule.schemes[0].admissionTimeScheme.periods[0].secondOfDay' }] });
    const c = new Core();
    const locks = [{ name: 'A', limit: 1 }, { name: 'B', limit: 1 }];
    const ab = wf('ab', [lock([{ lockName: 'A' }], [cycle({ TYPE: 'Ticking', interval: 60 }, [lock([{ lockName: 'B' }], [])])])]);
    const ba = wf('ba', [lock([{ lockName: 'B' }], [lock([{ lockName: 'A' }], [])])]);
    expect(c.refuse({ type: 'deploy', locks, workflows: [ab, ba] }).code).toBe('lock-order-cycle');
  });

  it('exports and re-imports unchanged', () => {
    roundTrip(wf('w', [cycle({ TYPE: 'Periodic', period: 3600, offsets: [0, 1800] }, [exec('j'), { TYPE: 'Break' }], { onlyOnePeriod: false }), cycle({ TYPE: 'Continuous', pause: 5, limit: 2 }, [])]));
  });
});

describe('ForkList', () => {
  const listParam = { allowUndeclared: true, parameters: { accounts: { type: 'List' as const, listParameters: { id: { type: 'String' as const }, amount: { type: 'Number' as const } } } } };
  const forkList = (instructions: Instruction[], extra: Partial<Extract<Instruction, { TYPE: 'ForkList' }>> = {}, result?: Record<string, string>): Instruction => ({
    TYPE: 'ForkList',
    children: 'accounts',
    childToId: 'id',
    workflow: result ? { instructions, result } : { instructions },
    ...extra,
  });
  const accounts = JSON.stringify([{ id: 'a', amount: 10 }, { id: 'b', amount: 32 }]);

  it('runs a child order per element with its fields, and joins with the results as lists', () => {
    const c = new Core();
    c.deploy([], [{ ...wf('w', [forkList([exec('j')], {}, { amounts: '$amount', who: "'child ' ++ $id" }), exec('j')], { j: fn('noop', { parallelism: 10 }) }), orderPreparation: listParam }]);
    c.add('o', 'w', { arguments: { accounts, region: 'eu' } });
    expect(c.o('o')).toMatchObject({ state: 'forked', children: ['o|1.a', 'o|2.b'] });
    expect(c.o('o|2.b')).toMatchObject({ state: 'processing', position: [0, 'fork', 0], arguments: { id: 'b', amount: '32', region: 'eu' } });
    c.finish('o|2.b');
    c.finish('o|1.a');
    expect(c.s.orders.has('o|1.a')).toBe(false);
    // Arguments are text: the children's `amount` fields are "10" and "32".
    expect(c.o('o')).toMatchObject({ state: 'processing', position: [1], arguments: { amounts: '["10","32"]', who: '["child a","child b"]' } });
    expect(c.replayEquals()).toBe(true);
  });

  it('an empty list joins at once; an expression may give the list', () => {
    const c = new Core();
    c.deploy([], [{ ...wf('w', [forkList([exec('j')], { children: '$accounts' }, { n: '$id' }), exec('j')]), orderPreparation: listParam }]);
    c.add('o', 'w', { arguments: { accounts: '[]' } });
    expect(c.o('o')).toMatchObject({ state: 'processing', position: [1], arguments: { n: '[]' } });
  });

  it('fails the parent (catchable) when the list or an element is wrong; joinIfFailed; locks in the branch are the child\'s', () => {
    const c = new Core();
    c.deploy([{ name: 'L', limit: 1 }], [
      { ...wf('w', [{ TYPE: 'Try', try: { instructions: [forkList([lock([{ lockName: 'L' }], [exec('j')])], { joinIfFailed: true })] }, catch: { instructions: [] } }]), orderPreparation: listParam },
      { ...wf('s', [forkList([], { children: '$region' })]), orderPreparation: { allowUndeclared: true } },
    ]);
    c.add('none', 's');
    expect(c.o('none').outcome).toMatchObject({ reason: 'expression-error', message: expect.stringMatching(/ForkList: children "\$region": no such named value/) });
    expect(c.add('str', 's', { arguments: { region: 'x' } }).outcome).toMatchObject({ reason: 'expression-error', message: 'ForkList: children "$region" is String, not a List' });
    c.add('o', 'w', { arguments: { accounts: '[{"id":"a","amount":1},{"id":"b","amount":2}]' } });
    expect(c.holders('L')).toEqual(['o|1.a']);
    expect(c.queue('L')).toEqual(['o|2.b']);
    c.failJob('o|1.a');
    expect(c.holders('L')).toEqual(['o|2.b']);
    c.finish('o|2.b');
    expect(c.o('o')).toMatchObject({ state: 'finished' });
    expect(c.journal.find((e) => e.type === 'OrderJoined' && e.orderId === 'o')).toMatchObject({ outcome: { reason: 'child-failed', message: expect.stringMatching(/^o\|1\.a failed/) } });
    // Two elements named a: 1.a and 2.a are distinct children.
    expect(c.add('dup', 'w', { arguments: { accounts: '[{"id":"a","amount":1},{"id":"a","amount":2}]' } }).children).toEqual(['dup|1.a', 'dup|2.a']);
    expect(c.replayEquals()).toBe(true);
  });

  it('refuses JS7 engine forms and subagent forking with their paths; checks the lock order through the children\'s block', () => {
    const v = (i: unknown) => validateWorkflow({ instructions: [i], jobs: {} }, 'w', { locks: new Map() });
    const base = { TYPE: 'ForkList', children: 'accounts', childToId: 'id', workflow: { instructions: [] } };
    expect(v({ ...base, childToArguments: '(x) => $x' })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].childToArguments' }] });
    expect(v({ ...base, childToId: '(x, i) => $i' })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].childToId' }] });
    expect(v({ ...base, subagentClusterIdExpr: "'c'" })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].subagentClusterIdExpr' }] });
    expect(v({ ...base, children: '$a +' })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].children' }] });
    expect(v({ ...base, workflow: { instructions: [], result: { ok: '1 +' } } })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].workflow.result.ok' }] });
    expect(v({ ...base, agentName: 'agentCluster' })).toMatchObject({ ok: true });
    const c = new Core();
    const locks = [{ name: 'A', limit: 1 }, { name: 'B', limit: 1 }];
    const ab = wf('ab', [lock([{ lockName: 'A' }], [forkList([lock([{ lockName: 'B' }], [])])])]);
    const ba = wf('ba', [lock([{ lockName: 'B' }], [lock([{ lockName: 'A' }], [])])]);
    expect(c.refuse({ type: 'deploy', locks, workflows: [ab, ba] }).code).toBe('lock-order-cycle');
  });

  it('exports and re-imports unchanged', () => {
    roundTrip(wf('w', [forkList([exec('j')], { joinIfFailed: false, agentName: 'agentCluster' }, { out: '$x' }), forkList([], { children: '$list' })]));
  });
});

describe('AddOrder', () => {
  const addOrder = (workflowName: string, args?: Record<string, string>, extra: { remainWhenTerminated?: boolean; deleteWhenTerminated?: boolean } = {}): Instruction => ({
    TYPE: 'AddOrder',
    workflowName,
    ...(args ? { arguments: args } : {}),
    ...extra,
  });
  const target = { ...wf('archive', [exec('j')], { j: fn('noop', { parallelism: 10 }) }), orderPreparation: { parameters: { folder: { type: 'String' as const }, count: { type: 'Number' as const, default: '1' } } } };

  it('adds an order with evaluated arguments; the adding order goes on; the added one is deleted when it finished', () => {
    const c = new Core();
    c.now = Date.UTC(2026, 11, 7, 10, 0);
    c.deploy([], [target, wf('w', [addOrder('archive', { folder: "'/data/' ++ $day", count: '2 + 1' }), exec('j')])]);
    c.add('o', 'w', { arguments: { day: 'mon' } });
    const id = '#2026-12-07#D00-o';
    expect(c.o('o')).toMatchObject({ state: 'processing', position: [1] });
    expect(c.o(id)).toMatchObject({ workflow: 'archive', state: 'processing', arguments: { folder: '/data/mon', count: '3' }, addedBy: 'o', deleteWhenTerminated: true });
    c.finish(id);
    expect(c.s.orders.has(id)).toBe(false);
    expect(c.journal.slice(-2).map((e) => e.type)).toEqual(['OrderFinished', 'OrderDeleted']);
    expect(c.replayEquals()).toBe(true);
  });

  it('remainWhenTerminated keeps the added order; a second add gets a new id; JOC numbering of AddOrders', () => {
    const c = new Core();
    c.deploy([], [target, wf('w', [addOrder('archive', { folder: "'a'" }), { TYPE: 'Try', try: { instructions: [addOrder('archive', { folder: "'b'" }, { remainWhenTerminated: true })] }, catch: { instructions: [] } }])]);
    c.add('o', 'w');
    c.add('#2026-01-01#T1-o', 'w');
    expect(c.o('#1970-01-01#D00-o').arguments.folder).toBe('a');
    expect(c.o('#1970-01-01#D01-o')).toMatchObject({ arguments: { folder: 'b' } });
    expect(c.o('#1970-01-01#D01-o').deleteWhenTerminated).toBeUndefined();
    expect(c.o('#1970-01-01#D00-o.2').addedBy).toBe('#2026-01-01#T1-o');
    c.finish('#1970-01-01#D01-o');
    expect(c.o('#1970-01-01#D01-o').state).toBe('finished');
  });

  it('fails the adding order (catchable) when the arguments do not fit the target', () => {
    const c = new Core();
    c.deploy([], [target, wf('w', [addOrder('archive', { folder: '$missing' })]), wf('v', [addOrder('archive', { nope: "'x'" })])]);
    expect(c.add('o', 'w').outcome).toMatchObject({ reason: 'add-order-failed', message: expect.stringMatching(/^AddOrder archive: argument folder: .*missing/) });
    expect(c.add('p', 'v').outcome).toMatchObject({ reason: 'add-order-failed', message: expect.stringMatching(/nope/) });
    expect([...c.s.orders.keys()].sort()).toEqual(['o', 'p']);
  });

  it('refuses at deploy a workflow that is not deployed, and the fields JS7 has that Orderly does not take', () => {
    const c = new Core();
    expect(c.refuse({ type: 'deploy', locks: [], workflows: [wf('w', [addOrder('nowhere')])] }).problems).toEqual([
      { path: 'workflows[0] (w).instructions[0].workflowName', message: 'workflow nowhere is not deployed (nor deployed with this one)' },
    ]);
    const v = (i: unknown) => validateWorkflow({ instructions: [i], jobs: {} }, 'w', { locks: new Map(), workflows: new Set(['a']) });
    expect(v({ TYPE: 'AddOrder', workflowName: 'a', startPosition: [1] })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].startPosition' }] });
    expect(v({ TYPE: 'AddOrder', workflowName: 'a', arguments: { x: '1 +' } })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].arguments.x' }] });
    expect(v({ TYPE: 'AddOrder', workflowName: 'a', remainWhenTerminated: true, deleteWhenTerminated: false })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].deleteWhenTerminated' }] });
  });

  it('exports and re-imports unchanged', () => {
    roundTrip(wf('w', [addOrder('other', { a: '$x' }, { remainWhenTerminated: false }), addOrder('w', undefined, { deleteWhenTerminated: true })]));
  });
});

describe('Notices', () => {
  const dayOf = "replaceAll($js7OrderId, '^#([0-9]{4}-[0-9]{2}-[0-9]{2})#.*$', '$1')";
  const board = (name: string, endOfLife = '$js7EpochMilli + 3600000') => ({ name, postOrderToNoticeId: dayOf, expectOrderToNoticeId: dayOf, endOfLife });
  const deploy = (c: Core, workflows: Workflow[]) =>
    c.run({ type: 'deploy', locks: [{ name: 'L', limit: 1 }], workflows: workflows.map((w) => ({ ...w, jobs: { j: fn('noop', { parallelism: 10 }) } })), boards: [board('A'), board('B')] });

  it('an order expecting a notice waits until it is posted; && waits for both, || for either', () => {
    const c = new Core();
    deploy(c, [wf('post', [{ TYPE: 'PostNotices', noticeBoardNames: ['A'] }]), wf('postB', [{ TYPE: 'PostNotices', noticeBoardNames: ['B'] }]), wf('both', [{ TYPE: 'ExpectNotices', noticeBoardNames: "'A' && 'B'" }, exec('j')]), wf('either', [{ TYPE: 'ExpectNotices', noticeBoardNames: "'A' || 'B'" }, exec('j')])]);
    c.add('#2026-12-07#T1-both', 'both');
    c.add('#2026-12-07#T2-either', 'either');
    expect(c.o('#2026-12-07#T1-both')).toMatchObject({ state: 'waiting', waitingFor: { kind: 'notice', notices: ['A:2026-12-07', 'B:2026-12-07'] } });
    c.add('#2026-12-06#T3-post', 'post'); // another day's notice
    expect(c.o('#2026-12-07#T2-either').state).toBe('waiting');
    c.add('#2026-12-07#T4-post', 'post');
    expect(c.o('#2026-12-07#T2-either')).toMatchObject({ state: 'processing', position: [1] });
    expect(c.o('#2026-12-07#T1-both').state).toBe('waiting');
    c.add('#2026-12-07#T5-postB', 'postB');
    expect(c.o('#2026-12-07#T1-both')).toMatchObject({ state: 'processing', position: [1] });
    expect(c.s.boards.get('A')!.notices.has('2026-12-07')).toBe(true); // ExpectNotices does not consume
    expect(c.replayEquals()).toBe(true);
  });

  it('ConsumeNotices runs its block and deletes the notices at its end; a notice past its end of life does not count', () => {
    const c = new Core();
    deploy(c, [wf('post', [{ TYPE: 'PostNotices', noticeBoardNames: ['A'] }]), wf('consume', [{ TYPE: 'ConsumeNotices', noticeBoardNames: "'A'", subworkflow: { instructions: [lock([{ lockName: 'L' }], [exec('j')])] } }, exec('j')])]);
    c.add('#2026-12-07#T1-post', 'post');
    c.add('#2026-12-07#T2-consume', 'consume');
    expect(c.o('#2026-12-07#T2-consume')).toMatchObject({ state: 'processing', position: [0, 'consumeNotices', 0, 'lock', 0] });
    c.finish('#2026-12-07#T2-consume');
    expect(c.o('#2026-12-07#T2-consume')).toMatchObject({ state: 'processing', position: [1] });
    expect(c.s.boards.get('A')!.notices.size).toBe(0);
    c.add('#2026-12-07#T3-consume', 'consume');
    expect(c.o('#2026-12-07#T3-consume').state).toBe('waiting');
    c.add('#2026-12-08#T4-post', 'post');
    c.now += 3_600_000; // the 2026-12-08 notice's end of life
    c.add('#2026-12-08#T5-consume', 'consume');
    expect(c.o('#2026-12-08#T5-consume').state).toBe('waiting');
    c.run({ type: 'suspendOrder', orderId: '#2026-12-07#T3-consume' });
    c.add('#2026-12-07#T6-post', 'post');
    expect(c.o('#2026-12-07#T3-consume').state).toBe('waiting');
    c.run({ type: 'resumeOrder', orderId: '#2026-12-07#T3-consume' });
    expect(c.o('#2026-12-07#T3-consume').state).toBe('processing');
    expect(c.replayEquals()).toBe(true);
  });

  it('refuses unknown boards and bad noticeBoardNames with their paths; checks the lock order through a ConsumeNotices block', () => {
    const c = new Core();
    expect(c.refuse({ type: 'deploy', locks: [], workflows: [wf('w', [{ TYPE: 'ExpectNotices', noticeBoardNames: "'X'" }])] }).problems).toEqual([
      { path: 'workflows[0] (w).instructions[0].noticeBoardNames', message: 'notice board X is not deployed (nor deployed with this workflow)' },
    ]);
    const v = (i: unknown) => validateWorkflow({ instructions: [i], jobs: {} }, 'w', { locks: new Map(), boards: new Set(['A']) });
    expect(v({ TYPE: 'ExpectNotices', noticeBoardNames: "'A' == 'A'" })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].noticeBoardNames' }] });
    expect(v({ TYPE: 'PostNotices', noticeBoardNames: ['A', 'B'] })).toMatchObject({ ok: false, problems: [{ path: 'instructions[0].noticeBoardNames[1]' }] });
    expect(c.refuse({ type: 'deploy', locks: [], workflows: [], boards: [{ ...board('A'), endOfLife: '1 +' }] }).problems).toMatchObject([{ path: 'boards[0] (A).endOfLife' }]);
    const locks = [{ name: 'A', limit: 1 }, { name: 'B', limit: 1 }];
    const ab = wf('ab', [lock([{ lockName: 'A' }], [{ TYPE: 'ConsumeNotices', noticeBoardNames: "'N'", subworkflow: { instructions: [lock([{ lockName: 'B' }], [])] } }])]);
    const ba = wf('ba', [lock([{ lockName: 'B' }], [lock([{ lockName: 'A' }], [])])]);
    expect(c.refuse({ type: 'deploy', locks, workflows: [ab, ba], boards: [board('N')] }).code).toBe('lock-order-cycle');
  });

  it('exports and re-imports unchanged', () => {
    roundTrip(wf('w', [{ TYPE: 'PostNotices', noticeBoardNames: ['A', 'B'] }, { TYPE: 'ExpectNotices', noticeBoardNames: "'A' && ('B' || 'C')" }, { TYPE: 'ConsumeNotices', noticeBoardNames: "'A'", subworkflow: { instructions: [exec('j')] } }]));
  });
});
