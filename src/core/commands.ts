// Commands: what callers ask for, in the imperative. `decide` turns one into events or a Problem.

import type { JobConfig, JobResourceDef, JobTemplate, LockDef, NoticeBoardDef, Outcome, Position, Workflow } from './model.js';

export type Command =
  | { type: 'deployLock'; lock: LockDef }
  | { type: 'deleteLock'; name: string }
  /** Deploys several locks, job resources, notice boards and workflows at once: all or nothing. */
  | { type: 'deploy'; locks: LockDef[]; workflows: Workflow[]; jobResources?: JobResourceDef[]; boards?: NoticeBoardDef[] }
  | { type: 'setSlots'; slots: number }
  /**
   * The writer starts: every lock's token moves on past what a former writer may have shown to
   * jobs it started before their grants were committed (the headroom the journal holds), and
   * this writer may show up to `headroom` grants' tokens ahead of the journal (0: none).
   */
  | { type: 'setTokenHeadroom'; headroom: number }
  /**
   * A worker offers `slots` executions at once and these functions (shell jobs run on any worker).
   * `agents`: the agents it serves (jobs naming another agent do not run there); without it, it
   * runs jobs of any agent that no registered worker lists. Again: updates it.
   */
  | { type: 'registerWorker'; workerId: string; slots: number; functions: string[]; agents?: string[] }
  /** A worker is gone: each of its executions is lost (`disrupted`, or run again when the job is restartable). */
  | { type: 'workerLost'; workerId: string }
  | {
      type: 'addOrder';
      orderId: string;
      workflow: string;
      arguments?: Record<string, string>;
      priority?: number;
      scheduledFor?: number;
    }
  | { type: 'cancelOrder'; orderId: string; kill?: boolean }
  | { type: 'suspendOrder'; orderId: string; reset?: boolean }
  | { type: 'resumeOrder'; orderId: string; position?: Position; asSucceeded?: boolean }
  | { type: 'changePriority'; orderId: string; priority: number }
  /** Confirms the Prompt an order waits at: it goes on. */
  | { type: 'confirmOrder'; orderId: string }
  /** A job execution ended. Stale executions (not the order's current one) are ignored. */
  | { type: 'jobFinished'; orderId: string; executionId: string; outcome: Outcome }
  /** The process of an execution was lost (node died): `disrupted`, or rerun when restartable. */
  | { type: 'executionLost'; orderId: string; executionId: string }
  /** Time passed: fire due scheduled orders, retry delays and lock wait timeouts. */
  | { type: 'tick' }
  /** Creates or replaces a job template (whole; PATCH merges before). `create`: refuse an id that exists. */
  | { type: 'saveJobTemplate'; template: JobTemplate; create?: boolean }
  | { type: 'deleteJobTemplate'; id: string }
  /** Creates or replaces a job config (whole). `created`/`modified` are set by the core. */
  | { type: 'saveJobConfig'; jobConfig: Omit<JobConfig, 'created' | 'modified'>; create?: boolean }
  | { type: 'deleteJobConfig'; id: string }
  /** Sets (adds or replaces) an alias of a job config; alias names are unique over all job configs. */
  | { type: 'setJobConfigAlias'; id: string; alias: { name: string; keyHash: string; secretHash?: string } }
  | { type: 'deleteJobConfigAlias'; id: string; name: string }
  /** Starts a run of a job config: adds an order. */
  | {
      type: 'runJobConfig';
      id: string;
      orderId: string;
      arguments?: Record<string, string>;
      priority?: number;
      scheduledFor?: number;
    }
  /**
   * The schedule of a job config came due at these times (ascending; the runtime computes
   * them with the time zone). One time close to now is a normal fire; several, or one long
   * past, are missed fires handled by `catchUp`. Times at or before the last fire are ignored,
   * so a fire happens once however often it is reported.
   */
  /**
   * Due fires of a job config's schedule, newest ones one by one; `missed` sums up the older
   * ones that were not listed (`count` of them, the newest at `lastAt`), e.g. after downtime.
   */
  | { type: 'fireSchedule'; id: string; fireTimes: number[]; missed?: { count: number; lastAt: number } };

export type CommandType = Command['type'];

/** Where a problem is, for messages like `instructions[1].demands[0].count: must be ≤ 1`. */
export interface ProblemItem {
  path: string;
  message: string;
}

/** An expected refusal: a value, not an exception. */
export interface Problem {
  /** `unavailable`: the engine cannot commit now (its journal cannot be written); try again later. */
  code: 'invalid' | 'not-found' | 'conflict' | 'lock-order-cycle' | 'state' | 'unavailable';
  message: string;
  problems?: ProblemItem[];
}

export function problem(code: Problem['code'], message: string, problems?: ProblemItem[]): Problem {
  return problems ? { code, message, problems } : { code, message };
}

export function invalid(problems: ProblemItem[]): Problem {
  const first = problems[0];
  const head = first ? `${first.path}: ${first.message}` : 'invalid';
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return { code: 'invalid', message: head + more, problems };
}

export function formatProblem(p: Problem): string {
  if (!p.problems || p.problems.length <= 1) return p.message;
  return [p.message, ...p.problems.map((i) => `  ${i.path}: ${i.message}`)].join('\n');
}

/** Thrown for broken invariants only: crashes loudly, also in production. */
export class AssertionFailed extends Error {
  override name = 'AssertionFailed';
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionFailed(message);
}
