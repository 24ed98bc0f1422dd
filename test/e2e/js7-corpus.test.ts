// The JS7 corpus in test/fixtures/js7/: workflows in JS7's own export shape, one case per job
// field. Each is imported, exported and re-imported unchanged, deployed and run by the real
// engine with real shell jobs, and its behaviour asserted.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobResourceDef, LockDef, Workflow } from '../../src/core/model.js';
import { exportJobResourceJson, exportLockJson, exportWorkflowJson, importJobResourceJson, importWorkflowJson } from '../../src/formats/js7.js';
import { readInventoryDir } from '../../src/formats/inventory-dir.js';
import { createOrderly, type Orderly } from '../../src/index.js';
import { until } from '../support/orderly-wait.js';

const CORPUS = new URL('../fixtures/js7/', import.meta.url).pathname;

const open: Orderly[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

function ended(o: Orderly, id: string): () => boolean {
  return () => ['finished', 'failed', 'cancelled'].includes(o.getOrder(id)?.state ?? '');
}

async function engineWith(dir: string, clock?: () => number): Promise<Orderly> {
  const o = await createOrderly({ slots: 10, ...(clock ? { clock } : {}) });
  open.push(o);
  await o.deployDir(join(CORPUS, dir));
  return o;
}

async function stdoutOf(o: Orderly, id: string): Promise<string[]> {
  return (await o.logs(id)).map((l) => l.stdout);
}

/** The JSON of a fixture file without the fields that locate it in JOC Cockpit. */
function fileJson(path: string): unknown {
  const j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  for (const k of ['version', 'versionId', 'path']) delete j[k];
  return j;
}

const readable = readdirSync(CORPUS).filter((d) => d !== 'refused');

describe('JS7 corpus: import, export, re-import', () => {
  it.each(readable)('%s round-trips unchanged', (dir) => {
    const first = readInventoryDir(join(CORPUS, dir));
    expect(first.problems).toEqual([]);
    const locks = new Map<string, LockDef>(first.locks.map((l) => [l.name, l]));
    const jobResources = new Map<string, JobResourceDef>((first.jobResources ?? []).map((r) => [r.name, r]));
    // Export, then import what was exported: the same values.
    for (const l of first.locks) expect(JSON.parse(exportLockJson(l))).toMatchObject({ TYPE: 'Lock', limit: l.limit });
    for (const r of first.jobResources ?? []) {
      const again = importJobResourceJson(exportJobResourceJson(r), `${r.name}.jobresource.json`);
      expect(again).toEqual({ ok: true, value: r });
    }
    for (const w of first.workflows) expect(reimport(w, locks, jobResources)).toEqual(w);
  });

  it.each(['arguments', 'order-preparation', 'err-written', 'return-codes', 'executables', 'metadata', 'admission', 'job-resources'])(
    '%s: export writes back exactly what the file says',
    (dir) => {
      const inv = readInventoryDir(join(CORPUS, dir));
      expect(inv.problems).toEqual([]);
      for (const w of inv.workflows) {
        expect(JSON.parse(exportWorkflowJson(w))).toEqual(fileJson(join(CORPUS, dir, `${w.name}.workflow.json`)));
      }
      for (const r of inv.jobResources ?? []) {
        expect(JSON.parse(exportJobResourceJson(r))).toEqual(fileJson(join(CORPUS, dir, `${r.name}.jobresource.json`)));
      }
    },
  );

  it('skipIfNoAdmissionStartForOrderDay (the engine spelling) reads as skipIfNoAdmissionForOrderDay', () => {
    const inv = readInventoryDir(join(CORPUS, 'admission-skip'));
    expect(inv.problems).toEqual([]);
    const job = inv.workflows[0]!.jobs['cleanup']!;
    expect(job.skipIfNoAdmissionForOrderDay).toBe(true);
    expect(JSON.parse(exportWorkflowJson(inv.workflows[0]!)).jobs.cleanup).toMatchObject({ skipIfNoAdmissionForOrderDay: true });
  });

  it('spellings of older releases are read as the current ones', () => {
    const inv = readInventoryDir(join(CORPUS, 'spellings'));
    expect(inv.problems).toEqual([]);
    const w = inv.workflows[0]!;
    expect(w.jobs['job1']).toEqual({
      agentName: 'primaryAgent',
      executable: { TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\necho "$ORDERLY_ARG_N $ORDERLY_ARG_OK"\n' },
      parallelism: 3,
      graceTimeout: 5,
    });
    expect(w.jobs['job2']!.parallelism).toBe(2);
    expect(w.instructions[0]).toMatchObject({ TYPE: 'Lock', demands: [{ lockName: 'jsLegacyLock', count: 1 }] });
    expect(w.instructions[1]).toMatchObject({ TYPE: 'Lock', demands: [{ lockName: 'jsLegacyLock' }] });
    expect(inv.locks).toEqual([{ name: 'jsLegacyLock', limit: 2 }]);
  });

  it('refuses what it does not support, naming each field', () => {
    const inv = readInventoryDir(join(CORPUS, 'refused'));
    expect(inv.problems).toEqual([
      { path: 'jsRefused.workflow.json: jobResourceNames[1]', message: 'unknown job resource missing (deploy missing.jobresource.json with it)' },
      { path: 'jsRefused.workflow.json: jobs.java.warnIfLonger', message: 'not supported: execution-time warnings are not implemented' },
      {
        path: 'jsRefused.workflow.json: jobs.java.executable.TYPE',
        message:
          'not supported: InternalExecutable (a Java or JavaScript job run inside the JS7 agent); use ShellScriptExecutable, PathExecutable, CommandLineExecutable or FunctionExecutable',
      },
      {
        path: 'jsRefused.workflow.json: jobs.java.admissionTimeScheme.periods[0].TYPE',
        message: 'not supported: AlwaysPeriod (leave admissionTimeScheme out for a job admitted at any time)',
      },
      { path: 'jsRefused.workflow.json: jobs.java.killAtEndOfAdmissionPeriod', message: 'not supported: only false (a job started inside its admission period runs to its end)' },
    ]);
  });
});

function reimport(w: Workflow, locks: ReadonlyMap<string, LockDef>, jobResources: ReadonlyMap<string, JobResourceDef>): Workflow {
  const r = importWorkflowJson(exportWorkflowJson(w), `${w.name}.workflow.json`, { locks, jobResources });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.value;
}

describe('JS7 corpus: behaviour', () => {
  it('arguments: defaults are expressions; numbers and booleans are values; env sees them', async () => {
    const now = Date.UTC(2026, 11, 6, 23, 30); // 2026-12-07 00:30 in Berlin
    const o = await engineWith('arguments', () => now);
    await o.addOrder({ workflow: 'jsArguments', id: 'a1' });
    await until(o, ended(o, 'a1'));
    expect(o.getOrder('a1')!.state).toBe('finished');
    expect(await stdoutOf(o, 'a1')).toEqual(['A-VALUE|3|42|true|Orderly!|42|Orderly|Orderly!|2026-12-07|a1@jsArguments|job1|']);
    // An order argument wins over the defaults, and the defaults that use it see it.
    await o.addOrder({ workflow: 'jsArguments', id: 'a2', arguments: { name: 'Ada', count: '1' } });
    await until(o, ended(o, 'a2'));
    // `count` is not a declared Number here, so `$count + 1` fails: the job does not start.
    expect(o.getOrder('a2')!.state).toBe('failed');
    expect(o.getOrder('a2')!.outcome).toMatchObject({
      type: 'failed',
      reason: 'start-failed',
      message: 'instructions[0].defaultArguments.sum: expected a Number, got String (at position 1 of "$count + 1")',
    });
  });

  it('orderPreparation: required, typed, defaults, finals and undeclared arguments', async () => {
    const o = await engineWith('order-preparation');
    await expect(o.addOrder({ workflow: 'jsParams', id: 'p0' })).rejects.toMatchObject({
      problems: [{ path: 'arguments.customer', message: 'required: parameter customer (String) has no default' }],
    });
    await expect(
      o.addOrder({ workflow: 'jsParams', id: 'p0', arguments: { customer: 'acme', count: 'x', dryRun: 'yes', mode: 'half', items: '[{"id":"1"}]', stamp: 's', extra: '1' } }),
    ).rejects.toMatchObject({
      problems: [
        { path: 'arguments.customer', message: 'parameter customer (String): a capitalised name' },
        { path: 'arguments.count', message: 'parameter count (Number): must be a number' },
        { path: 'arguments.dryRun', message: 'parameter dryRun (Boolean): must be true or false' },
        { path: 'arguments.mode', message: 'parameter mode (String): must be one of "full", "delta"' },
        { path: 'arguments.items', message: 'parameter items (List): item 0: field id must be a Number' },
        { path: 'arguments.stamp', message: 'is final: its value is set by the workflow' },
        { path: 'arguments.extra', message: 'not a parameter of the workflow (and allowUndeclared is not true)' },
      ],
    });
    expect(o.getOrder('p0')).toBeUndefined();
    await o.addOrder({ workflow: 'jsParams', id: 'p1', arguments: { customer: 'Acme', items: '[{"id":1}]' } });
    expect(o.getOrder('p1')!.arguments).toEqual({
      customer: 'Acme',
      items: '[{"id":1}]',
      count: '6',
      dryRun: 'false',
      mode: 'full',
      options: '{}',
      stamp: 'run-p1',
    });
    await until(o, ended(o, 'p1'));
    // `$count + 1` in env: count is a declared Number.
    expect(await stdoutOf(o, 'p1')).toEqual(['Acme|6|false|full|[{"id":1}]|run-p1|7|']);
  });

  it('warnOnErrWritten succeeds with a warning; failOnErrWritten fails', async () => {
    const o = await engineWith('err-written');
    await o.addOrder({ workflow: 'jsErrWritten', id: 'e1' });
    await until(o, ended(o, 'e1'));
    const e1 = o.getOrder('e1')!;
    expect(e1.state).toBe('failed');
    expect(e1.position).toEqual([1]);
    expect(e1.outcome).toMatchObject({ type: 'failed', reason: 'stderr-written', returnCode: 0 });
    const history = await o.history('e1');
    const outcomes = history.flatMap(({ event: e }) => (e.type === 'OrderProcessed' ? [e.outcome] : []));
    expect(outcomes).toEqual([
      { type: 'succeeded', returnCode: 0, message: 'warning: the job wrote to stderr (warnOnErrWritten)' },
      { type: 'failed', reason: 'stderr-written', returnCode: 0, message: 'the job wrote to stderr (failOnErrWritten)' },
    ]);
  });

  it('returnCodeMeaning as an array: 0 and 3..5 succeed', async () => {
    const o = await engineWith('return-codes');
    for (const rc of [0, 2, 4, 6]) await o.addOrder({ workflow: 'jsReturnCodes', id: `rc${rc}`, arguments: { rc: String(rc) } });
    for (const rc of [0, 2, 4, 6]) await until(o, ended(o, `rc${rc}`));
    expect([0, 2, 4, 6].map((rc) => o.getOrder(`rc${rc}`)!.state)).toEqual(['finished', 'failed', 'finished', 'failed']);
  });

  it('PathExecutable and CommandLineExecutable run as shell with their env', async () => {
    const o = await engineWith('executables');
    await o.addOrder({ workflow: 'jsExecutables', id: 'x1' });
    await until(o, ended(o, 'x1'));
    expect(o.getOrder('x1')!.state).toBe('finished');
    const [path, command] = await stdoutOf(o, 'x1');
    expect(path!.split('\n')).toContain('FROM_PATH_JOB=via PathExecutable');
    expect(command).toBe('command line: yes\n');
  });

  it('older spellings run: lockPath/lockId locks, processLimit, number and boolean arguments', async () => {
    const o = await engineWith('spellings');
    await o.addOrder({ workflow: 'jsSpellings', id: 's1' });
    await until(o, ended(o, 's1'));
    expect(o.getOrder('s1')!.state).toBe('finished');
    expect(await stdoutOf(o, 's1')).toEqual(['7 false\n', 'job2\n']);
  });

  it('admissionTimeScheme: outside its periods the order waits, and runs when the next opens', async () => {
    let now = Date.UTC(2026, 11, 7, 7, 0); // Monday 08:00 in Berlin; the job is admitted 09:00–10:00
    const o = await engineWith('admission', () => now);
    await o.addOrder({ workflow: 'nightlyReport', id: 'r1' });
    const nine = Date.UTC(2026, 11, 7, 8, 0);
    expect(o.getOrder('r1')).toMatchObject({ state: 'waiting', waitingFor: { kind: 'admission', job: 'nightlyReport:report', until: nine } });
    // A tick before the period opens changes nothing.
    now = nine - 1;
    await o.engine.submit({ type: 'tick' });
    expect(o.getOrder('r1')!.state).toBe('waiting');
    now = nine;
    await o.engine.submit({ type: 'tick' });
    await until(o, ended(o, 'r1'));
    expect(o.getOrder('r1')!.state).toBe('finished');
    expect((await stdoutOf(o, 'r1'))[0]).toMatch(/^report at /);
    // Inside the period an order starts at once.
    now = nine + 30 * 60_000;
    await o.addOrder({ workflow: 'nightlyReport', id: 'r2' });
    expect(o.getOrder('r2')!.state).not.toBe('waiting');
    await until(o, ended(o, 'r2'));
    expect(o.getOrder('r2')!.state).toBe('finished');
  });

  it('skipIfNoAdmissionForOrderDay: an order whose day has no period skips the job; others wait for it', async () => {
    let now = Date.UTC(2026, 11, 7, 7, 0); // Monday; the cleanup is admitted Saturdays 06:00–08:00 Berlin
    const o = await engineWith('admission-skip', () => now);
    // A JS7 daily-plan order of Monday: no period starts on Monday, so the cleanup is skipped.
    await o.addOrder({ workflow: 'weekendCleanup', id: '#2026-12-07#P1' });
    await until(o, ended(o, '#2026-12-07#P1'));
    expect(o.getOrder('#2026-12-07#P1')!.state).toBe('finished');
    expect(await stdoutOf(o, '#2026-12-07#P1')).toEqual(['notified\n']);
    const moved = (await o.history('#2026-12-07#P1')).flatMap(({ event: e }) => (e.type === 'OrderMoved' && e.skipped ? [e] : []));
    expect(moved).toMatchObject([{ to: [1], skipped: 'no-admission-start' }]);
    // An order for Saturday (scheduledFor in the workflow's zone) runs the cleanup when it opens.
    const saturday = Date.UTC(2026, 11, 12, 5, 0); // 06:00 in Berlin
    await o.addOrder({ workflow: 'weekendCleanup', id: 'sat', scheduledFor: saturday - 3_600_000 });
    now = saturday - 3_600_000;
    await o.engine.submit({ type: 'tick' });
    expect(o.getOrder('sat')).toMatchObject({ state: 'waiting', waitingFor: { kind: 'admission', until: saturday } });
    now = saturday;
    await o.engine.submit({ type: 'tick' });
    await until(o, ended(o, 'sat'));
    expect(await stdoutOf(o, 'sat')).toEqual(['cleaned\n', 'notified\n']);
  });

  it('job resources supply arguments and env to the jobs that name them', async () => {
    const o = await engineWith('job-resources');
    await o.addOrder({ workflow: 'jsJobResources', id: 'j1' });
    await until(o, ended(o, 'j1'));
    expect(o.getOrder('j1')!.state).toBe('finished');
    // DB_URL and dbUrl from common; SHARED: a job resource's env wins over the job's, and the
    // job's own resources come before the workflow's; region from common (named first); site:
    // the job's default wins over the resource's argument; OWN reads JobResource:common:region.
    expect(await stdoutOf(o, 'j1')).toEqual(['jdbc:postgresql://db/app|from common|berlin|eu/full|jdbc:postgresql://db/app|eu|hamburg|full|']);
  });

  it('a workflow naming a job resource that is not deployed is refused, naming the path', async () => {
    const o = await createOrderly({ slots: 1 });
    open.push(o);
    const inv = readInventoryDir(join(CORPUS, 'job-resources'));
    await expect(o.deploy({ workflows: inv.workflows })).rejects.toMatchObject({
      problems: [
        { path: 'workflows[0] (jsJobResources).jobResourceNames[0]', message: 'unknown job resource site (deploy site.jobresource.json with it)' },
        { path: 'workflows[0] (jsJobResources).jobs.load.jobResourceNames[0]', message: 'unknown job resource common (deploy common.jobresource.json with it)' },
      ],
    });
    await o.deploy({ jobResources: inv.jobResources!, workflows: inv.workflows });
    expect(o.engine.state.jobResources.get('common')).toEqual(inv.jobResources![0]);
  });

  it('metadata fields are kept and the job runs', async () => {
    const o = await engineWith('metadata');
    await o.addOrder({ workflow: 'jsMetadata', id: 'm1' });
    await until(o, ended(o, 'm1'));
    expect(o.getOrder('m1')!.state).toBe('finished');
  });

  it('ForkList: a child per account runs its job with the element as arguments; the parent gets the results as lists', async () => {
    const o = await engineWith('fork-list');
    const accounts = JSON.stringify([{ accountId: 'DE01', amount: 120 }, { accountId: 'FR07', amount: 80 }]);
    await o.addOrder({ workflow: 'payAccounts', id: 'pay', arguments: { accounts } });
    await until(o, ended(o, 'pay'));
    expect(o.getOrder('pay')).toMatchObject({ state: 'finished', arguments: { paidAccounts: '["DE01","FR07"]', payReturnCodes: '[0,0]' } });
    expect(await stdoutOf(o, 'pay|1.DE01')).toEqual(['paying 120 to DE01\n']);
    expect(await stdoutOf(o, 'pay')).toEqual(['paid ["DE01","FR07"]\n']);
  });
});
