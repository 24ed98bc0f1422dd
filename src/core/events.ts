// Journal events: facts in the past tense. `evolve` applies them; nothing else changes state.
// Every event carries `at` (ms since the epoch, from the command that caused it).
// Each type has a golden JSON test (test/unit/events.golden.test.ts); renames get an upcast in `upcast`.

import type { CycleState, Grant, NoticeBoardDef, JobConfig, JobConfigAlias, JobResourceDef, JobTemplate, LockDef, Outcome, Position, ResolvedDemand, Workflow } from './model.js';

export type Event =
  | { type: 'LockDeployed'; at: number; lock: LockDef }
  | { type: 'LockDeleted'; at: number; name: string }
  | { type: 'WorkflowDeployed'; at: number; workflow: Workflow; version: number }
  /** A JS7 job resource deployed (replacing one of the name): jobs starting from now on use it. */
  | { type: 'JobResourceDeployed'; at: number; jobResource: JobResourceDef }
  | { type: 'SlotsSet'; at: number; slots: number }
  /**
   * Every lock's fencing token moved on by `by` (the headroom a former writer may have used
   * for jobs it started before their grants were committed), and this writer's own headroom.
   */
  | { type: 'LockTokensAdvanced'; at: number; by: number; headroom: number }
  | {
      type: 'OrderAdded';
      at: number;
      orderId: string;
      workflow: string;
      version: number;
      arguments: Record<string, string>;
      priority: number;
      scheduledFor?: number;
      jobConfig?: string;
      serialized?: boolean;
      /** Added by an AddOrder instruction of this order. */
      addedBy?: string;
      /** Deleted (OrderDeleted) as soon as it finishes or is cancelled. */
      deleteWhenTerminated?: true;
    }
  /** `skipped`: the order passed over the job there (`no-admission-start`: its day has no admission period of the job). */
  | { type: 'OrderMoved'; at: number; orderId: string; to: Position; skipped?: 'no-admission-start' }
  /** The job's admissionTimeScheme does not admit it now: it waits until the next period opens at `until` (absent: none ahead). */
  | { type: 'OrderAdmissionWaitStarted'; at: number; orderId: string; job: string; until?: number }
  /** `implicit`: the lock of a blocking job config, around the whole run. */
  | { type: 'OrderLocksQueued'; at: number; orderId: string; demands: ResolvedDemand[]; waitUntil?: number; implicit?: true }
  | { type: 'OrderLocksAcquired'; at: number; orderId: string; grants: Grant[]; implicit?: true }
  | { type: 'OrderLocksReleased'; at: number; orderId: string; locks: string[] }
  | { type: 'OrderDequeued'; at: number; orderId: string }
  | { type: 'OrderJobQueued'; at: number; orderId: string; job: string }
  /** `worker` (with its `lease`) runs it; absent when no worker is registered. `attempt`: 1, or more when the step is run again after its worker was lost. */
  | { type: 'OrderProcessingStarted'; at: number; orderId: string; executionId: string; job: string; worker?: string; lease?: number; attempt?: number }
  /** A worker (re-)registered: its slots, the functions it runs and the agents it serves (absent: a catch-all). */
  | { type: 'WorkerRegistered'; at: number; workerId: string; slots: number; functions: string[]; agents?: string[]; lease: number }
  /** A worker is gone (its executions were handled before this event). */
  | { type: 'WorkerLost'; at: number; workerId: string }
  /** A job execution ended; with a succeeded outcome the order stands at the next instruction. */
  | { type: 'OrderProcessed'; at: number; orderId: string; executionId: string; outcome: Outcome }
  | { type: 'OrderCaught'; at: number; orderId: string; outcome: Outcome; to: Position }
  | { type: 'OrderRetryScheduled'; at: number; orderId: string; until: number; to: Position }
  | { type: 'OrderFailed'; at: number; orderId: string; outcome: Outcome; to: Position }
  | { type: 'OrderStopped'; at: number; orderId: string; outcome: Outcome }
  | { type: 'OrderFinished'; at: number; orderId: string; outcome: Outcome }
  /** A Sleep: the order waits until `until` (ms), then moves on. */
  | { type: 'OrderSleepStarted'; at: number; orderId: string; until: number }
  /** A Prompt: the order waits for an operator's confirm. */
  | { type: 'OrderPrompted'; at: number; orderId: string; question: string }
  /** An operator confirmed the prompt: the order moves on. */
  | { type: 'OrderPromptAnswered'; at: number; orderId: string }
  /** A Fork: child orders start in each branch; the parent waits for them. */
  | {
      type: 'OrderForked';
      at: number;
      orderId: string;
      /** `branch`: of a Fork; absent for a ForkList's child, which gets `arguments` (its element's fields) over the parent's. */
      children: { orderId: string; branch?: string; arguments?: Record<string, string> }[];
    }
  /** All children of a Fork ended: they are removed; the parent goes on (succeeded) or fails at the Fork (failed). */
  | { type: 'OrderJoined'; at: number; orderId: string; outcome: Outcome; arguments?: Record<string, string> }
  /** A Cycle: the order waits (`waitingFor: cycle`) until its first cycle starts at `cycle.next`. */
  | { type: 'OrderCyclingPrepared'; at: number; orderId: string; cycle: CycleState }
  /** A cycle starts: the order enters the Cycle's block (branch `cycle`). */
  | { type: 'OrderCycleStarted'; at: number; orderId: string }
  /** A cycle ended: with `cycle` the order waits for the next one; without, it goes on after the Cycle (also by a Break). */
  | { type: 'OrderCycleFinished'; at: number; orderId: string; cycle?: CycleState }
  | { type: 'NoticeBoardDeployed'; at: number; board: NoticeBoardDef }
  /** A PostNotices posted (or posted again) a notice; it lives until `endOfLife` (ms). */
  | { type: 'NoticePosted'; at: number; orderId: string; board: string; noticeId: string; endOfLife: number }
  /** A notice is gone: consumed by a ConsumeNotices, or past its end of life. */
  | { type: 'NoticeDeleted'; at: number; board: string; noticeId: string }
  /** The order waits (`waitingFor: notice`) for these notices (`board:noticeId`). */
  | { type: 'OrderNoticesExpected'; at: number; orderId: string; notices: string[] }
  /** The notices an ExpectNotices waits for are there: the order goes on. */
  | { type: 'OrderNoticesReceived'; at: number; orderId: string }
  /** The notices of a ConsumeNotices are there: the order enters its block (branch `consumeNotices`). */
  | { type: 'OrderNoticesConsumptionStarted'; at: number; orderId: string }
  /** The block of a ConsumeNotices ended: the order goes on after it (its notices are deleted). */
  | { type: 'OrderNoticesConsumed'; at: number; orderId: string }
  | { type: 'OrderCancelMarked'; at: number; orderId: string; kill: boolean }
  | { type: 'OrderCancelled'; at: number; orderId: string }
  | { type: 'OrderSuspendMarked'; at: number; orderId: string }
  | { type: 'OrderSuspended'; at: number; orderId: string }
  | { type: 'OrderResumed'; at: number; orderId: string; to?: Position; asSucceeded?: boolean }
  | { type: 'OrderPriorityChanged'; at: number; orderId: string; priority: number }
  | { type: 'OrderDeleted'; at: number; orderId: string }
  | { type: 'JobTemplateSaved'; at: number; template: JobTemplate }
  | { type: 'JobTemplateDeleted'; at: number; id: string }
  | { type: 'JobConfigSaved'; at: number; jobConfig: JobConfig }
  | { type: 'JobConfigDeleted'; at: number; id: string }
  | { type: 'JobConfigAliasSet'; at: number; jobConfig: string; alias: JobConfigAlias }
  | { type: 'JobConfigAliasDeleted'; at: number; jobConfig: string; name: string }
  | { type: 'ScheduleFired'; at: number; jobConfig: string; fireAt: number; orderId: string }
  /** `count`: this record stands for that many fires, the newest at `fireAt` (missed ones not listed one by one). */
  | { type: 'ScheduleFireSkipped'; at: number; jobConfig: string; fireAt: number; reason: string; count?: number };

export type EventType = Event['type'];
export type EventOf<T extends EventType> = Extract<Event, { type: T }>;

/** An event as stored: with its journal sequence number. */
export interface Stamped {
  seq: number;
  event: Event;
}

/** Decodes an event read from a journal; old names are upcast here. */
export function upcast(raw: unknown): Event {
  const e = raw as { type?: unknown };
  if (typeof e !== 'object' || e === null || typeof e.type !== 'string') {
    throw new Error(`journal: not an event: ${JSON.stringify(raw)?.slice(0, 200)}`);
  }
  return e as Event;
}

/** The order an event is about, if any. */
export function orderIdOf(e: Event): string | undefined {
  return 'orderId' in e ? e.orderId : undefined;
}
