// Every journal event has a golden JSON file: the stored form must not drift by accident,
// and what was written once must stay decodable (upcast). UPDATE_GOLDEN=1 rewrites them.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { upcast, type Event, type EventOf, type EventType } from '../../src/core/events.js';

const at = 1_795_000_000_000;
const wf = {
  name: 'w',
  instructions: [{ TYPE: 'Lock' as const, demands: [{ lockName: 'L' }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named' as const, jobName: 'j' }] } }],
  jobs: { j: { executable: { TYPE: 'ShellScriptExecutable' as const, script: '#!/bin/sh\necho hi\n' } } },
};

// A Record over EventType: the compiler refuses this table if an event type has no sample.
const samples: { [T in EventType]: EventOf<T> } = {
  LockDeployed: { type: 'LockDeployed', at, lock: { name: 'L', limit: 2, title: 'two at a time', policy: 'fifo' } },
  LockDeleted: { type: 'LockDeleted', at, name: 'L' },
  WorkflowDeployed: { type: 'WorkflowDeployed', at, workflow: wf, version: 3 },
  JobResourceDeployed: { type: 'JobResourceDeployed', at, jobResource: { name: 'env', arguments: { home: "'/srv'" }, env: { HOME_DIR: '$home' } } },
  SlotsSet: { type: 'SlotsSet', at, slots: 4 },
  LockTokensAdvanced: { type: 'LockTokensAdvanced', at, by: 2000, headroom: 2000 },
  WorkerRegistered: { type: 'WorkerRegistered', at, workerId: 'node-a:1', slots: 8, functions: ['hold', 'send'], lease: 2 },
  WorkerLost: { type: 'WorkerLost', at, workerId: 'node-a:1' },
  OrderAdded: { type: 'OrderAdded', at, orderId: 'o1', workflow: 'w', version: 3, arguments: { day: '2026-11-21' }, priority: 2, scheduledFor: at + 60_000, jobConfig: 'jc1', serialized: true },
  OrderMoved: { type: 'OrderMoved', at, orderId: 'o1', to: [0, 'lock', 1] },
  OrderLocksQueued: { type: 'OrderLocksQueued', at, orderId: 'o1', demands: [{ lock: 'K[acme]', family: 'K', count: 1 }, { lock: 'L', family: 'L' }], waitUntil: at + 10_000 },
  OrderLocksAcquired: { type: 'OrderLocksAcquired', at, orderId: 'o1', grants: [{ lock: 'K[acme]', count: 1, token: 7 }, { lock: 'L', token: 12 }] },
  // (the implicit run lock of a blocking job config: `implicit: true`, see the job config tests)
  OrderLocksReleased: { type: 'OrderLocksReleased', at, orderId: 'o1', locks: ['K[acme]', 'L'] },
  OrderDequeued: { type: 'OrderDequeued', at, orderId: 'o1' },
  OrderAdmissionWaitStarted: { type: 'OrderAdmissionWaitStarted', at, orderId: 'o1', job: 'w:j', until: at + 3_600_000 },
  OrderJobQueued: { type: 'OrderJobQueued', at, orderId: 'o1', job: 'w:j' },
  OrderProcessingStarted: { type: 'OrderProcessingStarted', at, orderId: 'o1', executionId: 'o1#1', job: 'w:j' },
  OrderProcessed: { type: 'OrderProcessed', at, orderId: 'o1', executionId: 'o1#1', outcome: { type: 'failed', reason: 'returnCode', returnCode: 3, message: 'return code 3' } },
  OrderCaught: { type: 'OrderCaught', at, orderId: 'o1', outcome: { type: 'failed', reason: 'timeout', signal: 'SIGTERM' }, to: [0, 'catch+0', 0] },
  OrderRetryScheduled: { type: 'OrderRetryScheduled', at, orderId: 'o1', until: at + 5_000, to: [0, 'try+1', 0] },
  OrderFailed: { type: 'OrderFailed', at, orderId: 'o1', outcome: { type: 'failed', reason: 'disrupted' }, to: [0] },
  OrderStopped: { type: 'OrderStopped', at, orderId: 'o1', outcome: { type: 'failed', reason: 'returnCode', returnCode: 3 } },
  OrderFinished: { type: 'OrderFinished', at, orderId: 'o1', outcome: { type: 'succeeded', returnCode: 0 } },
  OrderCancelMarked: { type: 'OrderCancelMarked', at, orderId: 'o1', kill: true },
  OrderCancelled: { type: 'OrderCancelled', at, orderId: 'o1' },
  OrderSuspendMarked: { type: 'OrderSuspendMarked', at, orderId: 'o1' },
  OrderSuspended: { type: 'OrderSuspended', at, orderId: 'o1' },
  OrderResumed: { type: 'OrderResumed', at, orderId: 'o1', to: [2], asSucceeded: false },
  OrderPriorityChanged: { type: 'OrderPriorityChanged', at, orderId: 'o1', priority: -1 },
  OrderSleepStarted: { type: 'OrderSleepStarted', at, orderId: 'o1', until: at + 60_000 },
  OrderPrompted: { type: 'OrderPrompted', at, orderId: 'o1', question: 'Continue?' },
  OrderPromptAnswered: { type: 'OrderPromptAnswered', at, orderId: 'o1' },
  OrderForked: { type: 'OrderForked', at, orderId: 'o1', children: [{ orderId: 'o1|a', branch: 'a' }, { orderId: 'o1|b', branch: 'b' }] },
  OrderJoined: { type: 'OrderJoined', at, orderId: 'o1', outcome: { type: 'succeeded' }, arguments: { total: '3' } },
  OrderCyclingPrepared: { type: 'OrderCyclingPrepared', at, orderId: 'o1', cycle: { at: [1], end: at + 86_400_000, schemeIndex: 0, periodIndex: 0, index: 1, next: at + 600_000 } },
  OrderCycleStarted: { type: 'OrderCycleStarted', at, orderId: 'o1' },
  OrderCycleFinished: { type: 'OrderCycleFinished', at, orderId: 'o1', cycle: { at: [1], end: at + 86_400_000, schemeIndex: 0, periodIndex: 0, index: 2, next: at + 1_200_000 } },
  NoticeBoardDeployed: {
    type: 'NoticeBoardDeployed',
    at,
    board: { name: 'dailyLoad', postOrderToNoticeId: "replaceAll($js7OrderId, '^#([0-9]{4}-[0-9]{2}-[0-9]{2})#.*$', '$1')", expectOrderToNoticeId: "replaceAll($js7OrderId, '^#([0-9]{4}-[0-9]{2}-[0-9]{2})#.*$', '$1')", endOfLife: '$js7EpochMilli + 86400000' },
  },
  NoticePosted: { type: 'NoticePosted', at, orderId: 'o1', board: 'dailyLoad', noticeId: '2026-12-07', endOfLife: at + 86_400_000 },
  NoticeDeleted: { type: 'NoticeDeleted', at, board: 'dailyLoad', noticeId: '2026-12-07' },
  OrderNoticesExpected: { type: 'OrderNoticesExpected', at, orderId: 'o2', notices: ['dailyLoad:2026-12-07'] },
  OrderNoticesReceived: { type: 'OrderNoticesReceived', at, orderId: 'o2' },
  OrderNoticesConsumptionStarted: { type: 'OrderNoticesConsumptionStarted', at, orderId: 'o2' },
  OrderNoticesConsumed: { type: 'OrderNoticesConsumed', at, orderId: 'o2' },
  OrderDeleted: { type: 'OrderDeleted', at, orderId: 'o1' },
  JobTemplateSaved: { type: 'JobTemplateSaved', at, template: { id: 't1', name: 'Nightly loads', active: true, blocking: true, timeout: 900 } },
  JobTemplateDeleted: { type: 'JobTemplateDeleted', at, id: 't1' },
  JobConfigSaved: {
    type: 'JobConfigSaved',
    at,
    jobConfig: {
      id: 'jc1',
      name: 'Load customers',
      workflow: 'w',
      defaultArguments: { region: 'eu' },
      timeout: 900,
      active: true,
      blocking: true,
      templateId: 't1',
      schedule: { type: 'cron', cron: '*/15 * * * *', timeZone: 'Europe/Berlin', overlap: 'skip', catchUp: 'latest' },
      created: at - 1000,
      modified: at,
    },
  },
  JobConfigDeleted: { type: 'JobConfigDeleted', at, id: 'jc1' },
  JobConfigAliasSet: {
    type: 'JobConfigAliasSet',
    at,
    jobConfig: 'jc1',
    alias: { name: 'load-hook', keyHash: 'a'.repeat(64), secretHash: 'b'.repeat(64), created: at },
  },
  JobConfigAliasDeleted: { type: 'JobConfigAliasDeleted', at, jobConfig: 'jc1', name: 'load-hook' },
  ScheduleFired: { type: 'ScheduleFired', at, jobConfig: 'jc1', fireAt: at - 100, orderId: 'jc1@1794999999900' },
  ScheduleFireSkipped: { type: 'ScheduleFireSkipped', at, jobConfig: 'jc1', fireAt: at - 100, reason: 'overlap skip: run jc1@1 still active' },
};

const dir = new URL('../golden/events/', import.meta.url);

describe('journal events: golden JSON', () => {
  for (const [type, event] of Object.entries(samples) as [EventType, Event][]) {
    it(`${type} (past tense) keeps its stored form`, () => {
      expect(type).toMatch(/^[A-Z][A-Za-z]+(ed|Set|Caught|Lost)$/);
      const file = new URL(`${type}.json`, dir);
      const text = `${JSON.stringify(event, null, 2)}\n`;
      if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
        if (process.env.CI) throw new Error(`golden file ${type}.json is missing`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, text);
      }
      const stored = readFileSync(file, 'utf8');
      expect(text).toBe(stored);
      expect(upcast(JSON.parse(stored))).toEqual(event);
    });
  }
});
