// The JS7 instruction cases in test/fixtures/js7/ (JS7's own export shape, a folder each):
// each is read, deployed, run through the core with a fake clock, exported, and re-imported
// unchanged; and what the instruction does is asserted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { readInventoryDir, writeInventoryDir, type Inventory } from '../../src/formats/inventory-dir.js';
import { Core } from '../support/core-harness.js';

const CASES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'js7');

const behaviour: Record<string, (c: Core) => void> = {
  sleep: (c) => {
    c.add('o1', 'sleepThenRun', { arguments: { delaySeconds: '30' } });
    expect(c.o('o1').waitingFor).toEqual({ kind: 'time', until: c.now + 60_000 });
    c.tick(60_000);
    expect(c.o('o1')).toMatchObject({ state: 'waiting', position: [1], waitingFor: { kind: 'time', until: c.now + 30_000 } });
    c.tick(30_000);
    expect(c.o('o1')).toMatchObject({ state: 'processing', position: [2] });
    c.finish('o1');
    expect(c.o('o1').state).toBe('finished');
  },
  prompt: (c) => {
    c.add('o1', 'releaseGate');
    c.add('o2', 'releaseGate');
    expect(c.o('o1')).toMatchObject({ state: 'prompting', prompt: 'Release to production?', position: [0, 'lock', 0] });
    expect(c.queue('releaseLock')).toEqual(['o2']);
    c.tick(86_400_000);
    expect(c.o('o1').state).toBe('prompting');
    c.run({ type: 'confirmOrder', orderId: 'o1' });
    expect(c.o('o1').state).toBe('processing');
    c.finish('o1');
    expect(c.o('o1').state).toBe('finished');
    expect(c.o('o2').state).toBe('prompting');
  },
  'execute-anonymous': (c) => {
    for (const id of ['o1', 'o2', 'o3']) c.add(id, 'inlineJob');
    expect(['o1', 'o2', 'o3'].map((id) => c.o(id).state)).toEqual(['processing', 'processing', 'waiting']);
    c.finish('o2');
    expect(c.o('o3').state).toBe('processing');
  },
  'sticky-subagent': (c) => {
    c.add('o1', 'sticky');
    expect(c.o('o1').position).toEqual([0, 'stickySubagent', 0]);
    c.finish('o1');
    expect(c.o('o1').position).toEqual([0, 'stickySubagent', 1]);
    c.finish('o1');
    expect(c.o('o1').state).toBe('finished');
  },
  'fail-named-values': (c) => {
    c.add('o1', 'failWithCode');
    expect(c.o('o1')).toMatchObject({ state: 'failed', outcome: { message: 'given up', returnCode: 5, namedValues: { returnCode: 5 } } });
    const caught = c.journal.find((e) => e.type === 'OrderCaught');
    expect(caught).toMatchObject({ outcome: { returnCode: 4, namedValues: { returnCode: 4, reason: 'missing' } } });
  },
  if: (c) => {
    c.add('eu', 'routeByRegion', { arguments: { region: 'EU', amount: '5' } });
    c.add('us', 'routeByRegion', { arguments: { region: 'US', amount: '5000' } });
    c.add('small', 'routeByRegion', { arguments: { region: 'US', amount: '10' } });
    expect(c.o('eu').position).toEqual([0, 'then', 0]);
    expect(c.o('us').position).toEqual([0, 'then+2', 0]);
    expect(c.o('small').position).toEqual([0, 'else', 0]);
    c.finish('eu', { type: 'succeeded', returnCode: 1 }); // success by returnCodeMeaning, but $returnCode is 1
    expect(c.o('eu')).toMatchObject({ state: 'failed', outcome: { message: 'last job failed' } });
    c.finish('us');
    expect(c.o('us')).toMatchObject({ state: 'finished', outcome: { message: 'all good' } });
  },
  fork: (c) => {
    c.add('o', 'parallelLoad');
    expect(c.o('o')).toMatchObject({ state: 'forked', children: ['o|customers', 'o|orders'] });
    expect(c.holders('warehouse')).toEqual(['o']);
    expect(c.holders('loader')).toEqual(['o|customers']);
    c.finish('o|customers', { type: 'succeeded', returnCode: 0 });
    expect(c.holders('loader')).toEqual(['o|orders']);
    c.finish('o|orders');
    expect(c.o('o')).toMatchObject({ state: 'processing', position: [0, 'lock', 1], arguments: { customersRc: '0', ordersDone: 'yes' } });
    expect(c.holders('warehouse')).toEqual(['o']);
    c.finish('o');
    expect(c.o('o').state).toBe('finished');
    expect(c.holders('warehouse')).toEqual([]);
  },
  cycle: (c) => {
    // 1970-01-01 00:16:40 UTC is 01:16:40 in Berlin: the 01:15 cycle is late and starts at once.
    c.add('o', 'pollInbox');
    expect(c.o('o')).toMatchObject({ state: 'processing', position: [0, 'cycle', 0], cycles: [{ index: 1, next: 15 * 60_000 }] });
    c.finish('o', { type: 'succeeded', returnCode: 0 });
    expect(c.o('o')).toMatchObject({ state: 'waiting', position: [0], waitingFor: { kind: 'cycle', until: 30 * 60_000 } });
    c.tick(30 * 60_000 - c.now);
    expect(c.o('o')).toMatchObject({ state: 'processing', position: [0, 'cycle', 0], cycles: [{ index: 2 }] });
    c.finish('o', { type: 'succeeded', returnCode: 3 }); // the file arrived: Break
    expect(c.o('o')).toMatchObject({ state: 'processing', position: [1] });
    c.finish('o');
    expect(c.o('o').state).toBe('finished');
    expect(c.journal.filter((e) => e.type === 'OrderCycleStarted')).toHaveLength(2);
  },
  'fork-list': (c) => {
    const accounts = JSON.stringify([{ accountId: 'DE01', amount: 120 }, { accountId: 'FR07', amount: 80 }, { accountId: 'NL33', amount: 5 }]);
    c.add('pay', 'payAccounts', { arguments: { accounts } });
    expect(c.o('pay')).toMatchObject({ state: 'forked', children: ['pay|1.DE01', 'pay|2.FR07', 'pay|3.NL33'] });
    expect(c.o('pay|2.FR07')).toMatchObject({ state: 'processing', position: [0, 'fork', 0], arguments: { accountId: 'FR07', amount: '80' } });
    c.finish('pay|3.NL33', { type: 'succeeded', returnCode: 0 });
    c.finish('pay|1.DE01', { type: 'succeeded', returnCode: 0 });
    expect(c.o('pay').state).toBe('forked');
    c.finish('pay|2.FR07', { type: 'succeeded', returnCode: 0 });
    expect(c.o('pay')).toMatchObject({ state: 'processing', position: [1], arguments: { paidAccounts: '["DE01","FR07","NL33"]', payReturnCodes: '[0,0,0]' } });
    c.finish('pay');
    expect(c.o('pay').state).toBe('finished');
  },
  admission: (c) => {
    // Friday 2026-12-11 10:30 in Berlin: the Friday period (09:00–10:00) is over; the next is
    // the month's last day (2026-12-31 22:00, 30 min), before Monday's 09:00.
    c.now = Date.UTC(2026, 11, 11, 9, 30);
    c.add('o1', 'nightlyReport', { priority: 0 });
    c.add('o2', 'nightlyReport', { priority: 5 });
    const opens = Date.UTC(2026, 11, 14, 8, 0); // Monday 09:00 CET
    expect(c.o('o1')).toMatchObject({ state: 'waiting', waitingFor: { kind: 'admission', job: 'nightlyReport:report', until: opens } });
    c.tick(opens - 1 - c.now);
    expect(c.o('o1').state).toBe('waiting');
    // Suspended while waiting: stays out; resumed inside the period it goes on at once.
    c.run({ type: 'suspendOrder', orderId: 'o1' });
    c.tick(1);
    // The higher priority goes first; parallelism 1 queues the other.
    expect(c.o('o2').state).toBe('processing');
    expect(c.o('o1')).toMatchObject({ state: 'waiting', suspended: true });
    c.run({ type: 'resumeOrder', orderId: 'o1' });
    expect(c.o('o1')).toMatchObject({ state: 'waiting', waitingFor: { kind: 'job' } });
    // The job runs past the period's end (JS7: killAtEndOfAdmissionPeriod false)…
    c.tick(2 * 3_600_000);
    expect(c.o('o2').state).toBe('processing');
    c.finish('o2');
    // …but an order still queued for it when the period has ended waits for the next one.
    expect(c.o('o1')).toMatchObject({ state: 'waiting', waitingFor: { kind: 'admission', until: Date.UTC(2026, 11, 15, 8, 0) } });
    expect(c.o('o2').state).toBe('finished');
    c.tick(Date.UTC(2026, 11, 15, 8, 0) - c.now);
    expect(c.o('o1').state).toBe('processing');
  },
  'admission-skip': (c) => {
    c.now = Date.UTC(2026, 11, 7, 7, 0); // Monday
    c.add('#2026-12-07#P1', 'weekendCleanup');
    expect(c.o('#2026-12-07#P1')).toMatchObject({ state: 'processing', position: [1] });
    expect(c.journal).toContainEqual(expect.objectContaining({ type: 'OrderMoved', orderId: '#2026-12-07#P1', to: [1], skipped: 'no-admission-start' }));
    // Saturday's order waits for Saturday's period; an order without a day is never skipped.
    c.add('#2026-12-12#P1', 'weekendCleanup');
    c.add('plain', 'weekendCleanup');
    const saturday6 = Date.UTC(2026, 11, 12, 5, 0);
    expect(c.o('#2026-12-12#P1')).toMatchObject({ state: 'waiting', waitingFor: { kind: 'admission', until: saturday6 } });
    expect(c.o('plain')).toMatchObject({ state: 'waiting', waitingFor: { kind: 'admission', until: saturday6 } });
  },
  'add-order': (c) => {
    c.add('batch1', 'nightlyBatch', { arguments: { batch: '0042' } });
    c.finish('batch1');
    const added = '#1970-01-01#D00-batch1';
    expect(c.o('batch1')).toMatchObject({ state: 'processing', position: [2] });
    expect(c.o(added)).toMatchObject({ workflow: 'archiveExport', state: 'processing', arguments: { folder: '/exports/0042', copies: '2' }, addedBy: 'batch1' });
    c.finish(added);
    expect(c.s.orders.has(added)).toBe(false); // deleted when terminated (remainWhenTerminated false)
    expect(c.journal.filter((e) => 'orderId' in e && e.orderId === added).map((e) => e.type)).toContain('OrderFinished');
    c.finish('batch1');
    expect(c.o('batch1').state).toBe('finished');
  },
  notices: (c) => {
    c.add('#2026-12-07#T1-report', 'dailyReport');
    expect(c.o('#2026-12-07#T1-report')).toMatchObject({ state: 'waiting', waitingFor: { kind: 'notice', notices: ['dailyLoadDone:2026-12-07'] } });
    c.add('#2026-12-07#T2-load', 'dailyLoad');
    c.finish('#2026-12-07#T2-load'); // posts the notice of 2026-12-07
    expect(c.o('#2026-12-07#T2-load').state).toBe('finished');
    expect(c.o('#2026-12-07#T1-report')).toMatchObject({ state: 'processing', position: [1] });
    c.finish('#2026-12-07#T1-report');
    expect(c.o('#2026-12-07#T1-report')).toMatchObject({ state: 'processing', position: [2, 'consumeNotices', 0] });
    c.finish('#2026-12-07#T1-report');
    expect(c.o('#2026-12-07#T1-report').state).toBe('finished');
    expect(c.s.boards.get('dailyLoadDone')!.notices.size).toBe(0); // consumed
    c.add('#2026-12-08#T3-report', 'dailyReport');
    expect(c.o('#2026-12-08#T3-report').state).toBe('waiting');
  },
  'finish-outcome': (c) => {
    c.add('o1', 'finishEarly');
    expect(c.o('o1')).toMatchObject({ state: 'finished', outcome: { type: 'succeeded', message: 'nothing to do', namedValues: { skipped: true } } });
  },
};

const tmpRoots: string[] = [];
afterAll(() => {
  for (const d of tmpRoots) rmSync(d, { recursive: true, force: true });
});

function read(dir: string): Inventory {
  const inv = readInventoryDir(dir);
  expect(inv.problems).toEqual([]);
  return inv.boards ? { locks: inv.locks, workflows: inv.workflows, boards: inv.boards } : { locks: inv.locks, workflows: inv.workflows };
}

describe('JS7 instruction cases', () => {
  it.each(Object.keys(behaviour))('%s: deploys, runs as JS7 does, exports and re-imports unchanged', (name) => {
    const inv = read(join(CASES, name));
    expect(inv.workflows.length).toBeGreaterThan(0);
    const c = new Core();
    c.run(inv.boards ? { type: 'deploy', locks: inv.locks, workflows: inv.workflows, boards: inv.boards } : { type: 'deploy', locks: inv.locks, workflows: inv.workflows });
    behaviour[name]!(c);
    expect(c.replayEquals()).toBe(true);

    const out = mkdtempSync(join(tmpdir(), 'orderly-js7-case-'));
    tmpRoots.push(out);
    writeInventoryDir(out, inv);
    expect(read(out)).toEqual(inv);
  });
});
