// What the runtime hands to an executor, and what comes back.

import type { Grant, Job, Outcome } from '../core/model.js';
import type { StepLog } from '../journal/types.js';
import type { LiveOutput } from './live-output.js';

export interface ExecutionRequest {
  executionId: string;
  orderId: string;
  workflow: string;
  jobName: string;
  job: Job;
  /** Order arguments merged with job and instruction default arguments. */
  arguments: Record<string, string>;
  /** Environment variables of the job (its executable's `env`, evaluated). */
  env?: Record<string, string>;
  /** Locks the order holds, with fencing tokens, outermost first. */
  locks: Grant[];
}

export interface ExecutionResult {
  outcome: Outcome;
  stdout: string;
  stderr: string;
  stdoutDroppedBytes: number;
  stderrDroppedBytes: number;
}

/** The step log of an execution that ended with `r` (what the journal's log part keeps). */
export function stepLogOf(orderId: string, executionId: string, job: string, r: ExecutionResult, at: number): StepLog {
  return { orderId, executionId, job, stdout: r.stdout, stderr: r.stderr, stdoutDroppedBytes: r.stdoutDroppedBytes, stderrDroppedBytes: r.stderrDroppedBytes, at };
}

export interface RunningExecution {
  /** Ends the execution: SIGTERM to the group, SIGKILL after the grace time (shell); abort (function). */
  kill(): void;
  readonly done: Promise<ExecutionResult>;
  /** The output so far while it runs (closed once `done` resolves); absent when it cannot be watched. */
  readonly live?: LiveOutput;
}
