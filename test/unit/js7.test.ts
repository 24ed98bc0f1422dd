import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import type { Demand, Instruction, Job, LockDef, Workflow } from '../../src/core/model.js';
import { findLockOrderCycle } from '../../src/core/validate.js';
import { readInventoryDir, writeInventoryDir } from '../../src/formats/inventory-dir.js';
import {
  exportLockJson,
  exportWorkflowJson,
  importLockJson,
  importWorkflowJson,
} from '../../src/formats/js7.js';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');
const FOLDERS = ['serial-single', 'serial-shared', 'release-on-failure', 'stop-on-failure'];

const LOCKS: LockDef[] = [
  { name: 'pdSerialLockSingle', limit: 1, title: 'one order at a time' },
  { name: 'pdSerialLockMulti', limit: 10, title: 'at most ten orders in the outer section' },
  { name: 'K', limit: 3, keyed: true, policy: 'greedy' },
  { name: 'A', limit: 1 },
];
const ctx = { locks: new Map(LOCKS.map((l) => [l.name, l])) };

function ok<T>(r: { ok: true; value: T } | { ok: false; problems: unknown }): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.problems)}`);
  return r.value;
}

function importWorkflow(doc: unknown, name = 'w'): ReturnType<typeof importWorkflowJson> {
  return importWorkflowJson(JSON.stringify(doc), `${name}.workflow.json`, ctx);
}

const tmpRoots: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'orderly-js7-'));
  tmpRoots.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpRoots) rmSync(d, { recursive: true, force: true });
});

describe('the examples', () => {
  it.each(FOLDERS)('%s reads without problems and round-trips', (folder) => {
    const dir = join(EXAMPLES, folder);
    const inv = readInventoryDir(dir);
    expect(inv.problems).toEqual([]);
    expect(inv.workflows).toHaveLength(1);
    expect(inv.locks.length).toBeGreaterThanOrEqual(1);
    const locks = new Map(inv.locks.map((l) => [l.name, l]));
    for (const file of readdirSync(dir)) {
      const text = readFileSync(join(dir, file), 'utf8');
      if (file.endsWith('.lock.json')) {
        const l = ok(importLockJson(text, file));
        expect(l.name).toBe(file.slice(0, -'.lock.json'.length));
        expect(ok(importLockJson(exportLockJson(l), file))).toEqual(l);
      } else {
        const w = ok(importWorkflowJson(text, file, { locks }));
        expect(w.name).toBe(file.slice(0, -'.workflow.json'.length));
        const again = ok(importWorkflowJson(exportWorkflowJson(w), file, { locks }));
        expect(again).toEqual(w);
        expect(exportWorkflowJson(again)).toBe(exportWorkflowJson(w));
      }
    }
  });

  it('serial-single imports as the expected internal value', () => {
    const inv = readInventoryDir(join(EXAMPLES, 'serial-single'));
    expect(inv.locks).toEqual([{ name: 'pdSerialLockSingle', limit: 1, title: 'one order at a time' }]);
    const wf = inv.workflows[0]!;
    expect(wf.name).toBe('pdSerialSingle');
    expect(wf.instructions).toHaveLength(1);
    expect(wf.instructions[0]).toMatchObject({ TYPE: 'Lock', demands: [{ lockName: 'pdSerialLockSingle' }] });
    expect(Object.keys(wf.jobs)).toEqual(['job1', 'job2', 'job3']);
  });

  it('all/ holds the union: four workflows, two locks, no lock order cycle', () => {
    const inv = readInventoryDir(join(EXAMPLES, 'all'));
    expect(inv.problems).toEqual([]);
    expect(inv.locks.map((l) => l.name).sort()).toEqual(['pdSerialLockMulti', 'pdSerialLockSingle']);
    expect(inv.workflows.map((w) => w.name).sort()).toEqual([
      'pdErrorRelease',
      'pdErrorStop',
      'pdSerialShared',
      'pdSerialSingle',
    ]);
    expect(findLockOrderCycle(inv.workflows)).toBeUndefined();
    // The same as the folders together (read recursively; identical duplicates are fine).
    const everything = readInventoryDir(EXAMPLES);
    expect(everything.problems).toEqual([]);
    expect(everything.workflows.map((w) => w.name).sort()).toEqual(inv.workflows.map((w) => w.name).sort());
    for (const folder of FOLDERS) {
      for (const w of readInventoryDir(join(EXAMPLES, folder)).workflows) {
        expect(inv.workflows.find((x) => x.name === w.name)).toEqual(w);
      }
    }
  });

  it('parallelism: 1 of the JS7 file is the default and is dropped on import', () => {
    const wf = readInventoryDir(join(EXAMPLES, 'serial-shared')).workflows[0]!;
    expect(wf.jobs['job1']).toEqual({ executable: { TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\nsleep 1\n' } });
    expect(exportWorkflowJson(wf)).not.toContain('parallelism');
  });
});

describe('importLockJson', () => {
  it('takes the name from the file name', () => {
    expect(ok(importLockJson('{"TYPE":"Lock"}', 'some/folder/L1.lock.json'))).toEqual({ name: 'L1', limit: 1 });
    expect(importLockJson('{}', 'L1.json')).toEqual({
      ok: false,
      problems: [{ path: '$', message: 'file name must end with .lock.json' }],
    });
  });

  it('reports JSON syntax errors at $', () => {
    const r = importLockJson('{"TYPE": "Lock",', 'L.lock.json');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]!.path).toBe('$');
      expect(r.problems[0]!.message).toMatch(/^invalid JSON: /);
    }
  });

  it('drops JS7 bookkeeping fields, refuses other unknown ones', () => {
    expect(ok(importLockJson('{"TYPE":"Lock","limit":2,"version":"1.0.0","path":"/x/L"}', 'L.lock.json'))).toEqual({
      name: 'L',
      limit: 2,
    });
    expect(importLockJson('{"TYPE":"Lock","capacity":2}', 'L.lock.json')).toEqual({
      ok: false,
      problems: [{ path: 'capacity', message: 'unknown key (not part of a lock)' }],
    });
  });

  it('exports with TYPE, two-space indentation, no name', () => {
    const text = exportLockJson({ name: 'K', limit: 3, keyed: true, policy: 'greedy', title: 't' });
    expect(text).toBe('{\n  "TYPE": "Lock",\n  "limit": 3,\n  "title": "t",\n  "keyed": true,\n  "policy": "greedy"\n}\n');
    expect(ok(importLockJson(text, 'K.lock.json'))).toEqual({ name: 'K', limit: 3, keyed: true, policy: 'greedy', title: 't' });
  });
});

describe('importWorkflowJson', () => {
  const job = { executable: { TYPE: 'ShellScriptExecutable', script: 'echo' } };
  const inner = { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] };

  it('reads the older single-lock form as one demand', () => {
    const wf = ok(
      importWorkflow({
        TYPE: 'Workflow',
        instructions: [
          { TYPE: 'Lock', lockName: 'pdSerialLockMulti', count: 2, lockedWorkflow: {
            instructions: [
              { TYPE: 'Lock', lockId: 'pdSerialLockSingle', lockedWorkflow: inner },
            ],
          } },
          { TYPE: 'Try', try: { instructions: [{ TYPE: 'Lock', lockPath: '/folder/sub/A', lockedWorkflow: inner }] }, catch: { instructions: [] } },
          { TYPE: 'Options', block: { instructions: [{ TYPE: 'Lock', lockName: 'A', lockPath: '/x/A', lockedWorkflow: inner }] } },
        ],
        jobs: { j: job },
      }),
    );
    const j = { TYPE: 'Execute.Named', jobName: 'j' };
    expect(wf.instructions).toEqual([
      { TYPE: 'Lock', demands: [{ lockName: 'pdSerialLockMulti', count: 2 }], lockedWorkflow: {
        instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'pdSerialLockSingle' }], lockedWorkflow: { instructions: [j] } }],
      } },
      { TYPE: 'Try', try: { instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'A' }], lockedWorkflow: { instructions: [j] } }] }, catch: { instructions: [] } },
      { TYPE: 'Options', block: { instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'A' }], lockedWorkflow: { instructions: [j] } }] } },
    ]);
  });

  it('refuses the single-lock form mixed with demands, or naming two locks', () => {
    expect(
      importWorkflow({ instructions: [{ TYPE: 'Lock', lockName: 'A', demands: [{ lockName: 'A' }], lockedWorkflow: inner }], jobs: { j: job } }),
    ).toEqual({
      ok: false,
      problems: [{ path: 'instructions[0].lockName', message: 'give either demands or the single-lock form (lockName and count), not both' }],
    });
    expect(importWorkflow({ instructions: [{ TYPE: 'Lock', lockName: 'A', lockId: 'B', lockedWorkflow: inner }], jobs: { j: job } })).toEqual({
      ok: false,
      problems: [{ path: 'instructions[0].lockId', message: 'names a different lock than lockName' }],
    });
    // Problems found by validation refer to the normalised document.
    expect(importWorkflow({ instructions: [{ TYPE: 'Lock', lockName: 'pdSerialLockSingle', count: 2, lockedWorkflow: inner }], jobs: { j: job } })).toEqual({
      ok: false,
      problems: [{ path: 'instructions[0].demands[0].count', message: 'must be ≤ limit 1 of lock pdSerialLockSingle' }],
    });
  });

  it('moves returnCodeMeaning from the job into the executable', () => {
    const wf = ok(
      importWorkflow({
        instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }],
        jobs: { j: { returnCodeMeaning: { success: '0,3..5' }, executable: { TYPE: 'ShellScriptExecutable', script: 'x' } } },
      }),
    );
    expect(wf.jobs['j']).toEqual({
      executable: { TYPE: 'ShellScriptExecutable', script: 'x', returnCodeMeaning: { success: '0,3..5' } },
    });
    expect(
      importWorkflow({
        instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }],
        jobs: { j: { returnCodeMeaning: { success: '0' }, executable: { TYPE: 'ShellScriptExecutable', script: 'x', returnCodeMeaning: { failure: '1' } } } },
      }),
    ).toEqual({
      ok: false,
      problems: [
        { path: 'jobs.j.returnCodeMeaning', message: 'given both on the job and in its executable' },
      ],
    });
  });

  it('keeps the JS7 fields it implements, drops JOC locators and refuses the rest by path', () => {
    const kept = {
      failOnErrWritten: false,
      warnOnErrWritten: false,
      criticality: 'NORMAL',
      withSubagentClusterIdExpr: false,
      subagentClusterId: 'c',
      documentationName: 'd',
      title: 't',
      isNotRestartable: false,
    };
    const wf = ok(
      importWorkflow({
        TYPE: 'Workflow',
        version: '1.0.0',
        versionId: 'abc',
        path: '/x/w',
        documentationName: 'd',
        orderPreparation: { parameters: {} },
        instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }],
        jobs: { j: { ...job, ...kept } },
      }),
    );
    expect(wf).toEqual({
      name: 'w',
      documentationName: 'd',
      orderPreparation: { parameters: {} },
      instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }],
      jobs: { j: { ...job, ...kept } },
    });
    expect(importWorkflow({ instructions: [], jobs: {}, calendarPath: 'x' })).toEqual({
      ok: false,
      problems: [{ path: 'calendarPath', message: 'unknown key (not part of a workflow)' }],
    });
    const refused = importWorkflow({
      instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }],
      jobs: { j: { ...job, warnIfLonger: '10', notification: {} } },
    });
    expect(refused).toEqual({
      ok: false,
      problems: [
        { path: 'jobs.j.warnIfLonger', message: 'not supported: execution-time warnings are not implemented' },
        { path: 'jobs.j.notification', message: 'not supported: notifications are not implemented' },
      ],
    });
  });

  it('reports JSON syntax errors and bad file names at $', () => {
    const r = importWorkflowJson('[1,', 'w.workflow.json', ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.path)).toEqual(['$']);
    expect(importWorkflowJson('{}', 'w.lock.json', ctx)).toEqual({
      ok: false,
      problems: [{ path: '$', message: 'file name must end with .workflow.json' }],
    });
  });
});

describe('export', () => {
  const every: Workflow = {
    name: 'every',
    title: 'uses every instruction type',
    timeZone: 'Europe/Berlin',
    instructions: [
      { TYPE: 'Execute.Named', jobName: 'shell', label: 'start', defaultArguments: { x: "'1'" } },
      {
        TYPE: 'Options',
        stopOnFailure: true,
        label: 'opts',
        block: {
          instructions: [
            {
              TYPE: 'Lock',
              label: 'outer',
              demands: [{ lockName: 'pdSerialLockMulti', count: 2 }, { lockName: 'K', key: '$account' }],
              waitTimeout: 30,
              lockedWorkflow: {
                instructions: [
                  {
                    TYPE: 'Try',
                    maxTries: 3,
                    retryDelays: [1, 2.5],
                    try: {
                      instructions: [
                        { TYPE: 'Lock', demands: [{ lockName: 'pdSerialLockSingle' }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'fn' }] } },
                      ],
                    },
                    catch: { instructions: [{ TYPE: 'Retry', label: 'again' }] },
                  },
                  { TYPE: 'Fail', message: "'no'", outcome: { returnCode: 4 }, uncatchable: false },
                ],
              },
            },
          ],
        },
      },
      { TYPE: 'Finish', message: 'done', unsuccessful: true },
    ],
    jobs: {
      shell: {
        agentName: 'primaryAgent',
        executable: {
          TYPE: 'ShellScriptExecutable',
          script: '#!/bin/sh\necho "$X"\n',
          env: { X: '$x' },
          returnCodeMeaning: { success: '0,3..5' },
        },
        parallelism: 3,
        timeout: 300,
        graceTimeout: 1,
        defaultArguments: { x: "'value'" },
        restartable: true,
      },
      fn: { executable: { TYPE: 'FunctionExecutable', functionName: 'doIt', returnCodeMeaning: { failure: '1,2' } } },
    },
  };

  it('round-trips a workflow using every instruction type', () => {
    const text = exportWorkflowJson(every);
    expect(ok(importWorkflowJson(text, 'every.workflow.json', ctx))).toEqual(every);
  });

  it('writes TYPE, two-space indentation, agentName, no name, no parallelism 1', () => {
    const text = exportWorkflowJson({ ...every, jobs: { ...every.jobs, one: { executable: { TYPE: 'FunctionExecutable', functionName: 'f' }, parallelism: 1 } } });
    const doc = JSON.parse(text) as Record<string, unknown>;
    expect(text.startsWith('{\n  "TYPE": "Workflow",\n  "title"')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
    expect(doc).not.toHaveProperty('name');
    const jobs = doc['jobs'] as Record<string, Record<string, unknown>>;
    expect(jobs['shell']).toMatchObject({ agentName: 'primaryAgent', parallelism: 3 });
    expect(jobs['one']).toEqual({ executable: { TYPE: 'FunctionExecutable', functionName: 'f' } });
  });

  it('round-trips generated workflows (property)', () => {
    const label = fc.option(fc.stringMatching(/^[a-z]{1,6}$/), { nil: undefined });
    const withLabel = <T extends Instruction>(i: T, l: string | undefined): T => (l === undefined ? i : { ...i, label: l });
    const leaf: fc.Arbitrary<Instruction> = fc.oneof(
      fc.record({ TYPE: fc.constant('Execute.Named' as const), jobName: fc.constantFrom('j1', 'j2') }),
      fc.record(
        { TYPE: fc.constant('Fail' as const), message: fc.string({ maxLength: 20 }), uncatchable: fc.boolean() },
        { requiredKeys: ['TYPE'] },
      ),
      fc.record({ TYPE: fc.constant('Finish' as const), unsuccessful: fc.boolean() }, { requiredKeys: ['TYPE'] }),
    );
    const { instr } = fc.letrec<{ instr: Instruction; list: Instruction[] }>((tie) => ({
      list: fc.array(tie('instr'), { maxLength: 3 }),
      instr: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.record({ TYPE: fc.constant('Options' as const), stopOnFailure: fc.boolean(), block: fc.record({ instructions: tie('list') }) }),
        fc.record({
          TYPE: fc.constant('Try' as const),
          maxTries: fc.integer({ min: 1, max: 9 }),
          retryDelays: fc.array(fc.nat(100), { maxLength: 3 }),
          try: fc.record({ instructions: tie('list') }),
          catch: fc.record({ instructions: fc.constant<Instruction[]>([{ TYPE: 'Retry' }]) }),
        }),
        fc.record(
          {
            TYPE: fc.constant('Lock' as const),
            demands: fc.constant<Demand[]>([{ lockName: 'K', key: '$k' }]),
            waitTimeout: fc.nat(600),
            lockedWorkflow: fc.record({ instructions: tie('list') }),
          },
          { requiredKeys: ['TYPE', 'demands', 'lockedWorkflow'] },
        ),
      ),
    }));
    const jobArb: fc.Arbitrary<Job> = fc.record(
      {
        executable: fc.record({ TYPE: fc.constant('ShellScriptExecutable' as const), script: fc.string({ maxLength: 40 }) }),
        agentName: fc.constantFrom('a', 'b'),
        parallelism: fc.integer({ min: 2, max: 10 }),
        timeout: fc.integer({ min: 1, max: 1000 }),
        restartable: fc.boolean(),
      },
      { requiredKeys: ['executable'] },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(instr, label), { maxLength: 5 }), jobArb, jobArb, (items, j1, j2) => {
        // Labels must be unique: label only the top-level instructions, deduplicated.
        const seen = new Set<string>();
        const instructions = items.map(([i, l]) => {
          const fresh = l !== undefined && !seen.has(l) ? l : undefined;
          if (fresh !== undefined) seen.add(fresh);
          return withLabel(i, fresh);
        });
        const wf: Workflow = { name: 'gen', instructions, jobs: { j1, j2 } };
        const back = importWorkflowJson(exportWorkflowJson(wf), 'gen.workflow.json', ctx);
        expect(back).toEqual({ ok: true, value: wf });
      }),
      { numRuns: 200 },
    );
  });
});

describe('inventory folders', () => {
  it('prefixes problems with the relative file path and keeps going', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'L.lock.json'), '{"TYPE":"Lock","limit":1}');
    writeFileSync(join(dir, 'sub', 'bad.lock.json'), '{"TYPE":"Lock","limit":-1}');
    writeFileSync(join(dir, 'sub', 'broken.workflow.json'), '{');
    writeFileSync(join(dir, 'pdSerialSingle.workflow.json'), JSON.stringify({
      instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'Nope' }], lockedWorkflow: { instructions: [] } }],
      jobs: {},
    }));
    writeFileSync(join(dir, 'good.workflow.json'), JSON.stringify({
      instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'L' }, { lockName: 'Deployed' }], lockedWorkflow: { instructions: [] } }],
      jobs: {},
    }));
    writeFileSync(join(dir, 'notes.json'), '{');
    const r = readInventoryDir(dir, { locks: new Map([['Deployed', { name: 'Deployed', limit: 2 }]]) });
    expect(r.locks).toEqual([{ name: 'L', limit: 1 }]);
    expect(r.workflows.map((w) => w.name)).toEqual(['good']);
    expect(r.problems.map((p) => p.path)).toEqual([
      'sub/bad.lock.json: limit',
      'pdSerialSingle.workflow.json: instructions[0].demands[0].lockName',
      'sub/broken.workflow.json: $',
    ]);
    expect(r.problems[1]!.message).toBe('unknown lock Nope');
  });

  it('refuses two different definitions of one name', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'a', 'L.lock.json'), '{"TYPE":"Lock","limit":1}');
    writeFileSync(join(dir, 'b', 'L.lock.json'), '{"TYPE":"Lock","limit":2}');
    expect(readInventoryDir(dir).problems).toEqual([
      { path: 'b/L.lock.json: $', message: 'lock L is also defined, differently, in a/L.lock.json' },
    ]);
  });

  it('writes what it reads', () => {
    const inv = readInventoryDir(join(EXAMPLES, 'all'));
    const dir = join(tmp(), 'out');
    writeInventoryDir(dir, { locks: inv.locks, workflows: inv.workflows });
    expect(readdirSync(dir).sort()).toEqual(readdirSync(join(EXAMPLES, 'all')).sort());
    const again = readInventoryDir(dir);
    expect(again.problems).toEqual([]);
    expect(again.locks).toEqual(inv.locks);
    expect(again.workflows).toEqual(inv.workflows);
    expect(() => writeInventoryDir(dir, { locks: [{ name: '../x', limit: 1 }], workflows: [] })).toThrow(/cannot write lock/);
  });
});
