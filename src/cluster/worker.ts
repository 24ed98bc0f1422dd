// The worker of a node in a cluster: runs the executions the controller dispatched to this
// node's worker id through the `executions` table. It claims its rows (FOR UPDATE SKIP LOCKED)
// when told to (NOTIFY `<schema>.dispatch` with its worker id), once at start and after the
// listener reconnects — never by polling — and never more than its free slots. Each execution
// runs on the node's LocalWorker; its output goes to the step log and its outcome into the
// row (NOTIFY `<schema>.results`), which the controller turns into the order's jobFinished.
//
// When the node's heartbeat is lost the worker stops claiming and kills its running jobs at
// once, and reports none of them: the controller reports the worker lost (its orders fail
// `disrupted`, or run again when restartable) and may grant their locks to others, so a node
// cut off from the database must run nothing under them.

import { escapeIdentifier, type Pool } from 'pg';
import { LIMITS, type Outcome } from '../core/model.js';
import { outcomeAfterStderr } from '../core/job-execution.js';
import type { PgListener } from '../journal/postgres-listener.js';
import type { JournalStore } from '../journal/types.js';
import type { Dispatch, LocalWorker } from '../runtime/dispatcher.js';
import { stepLogOf, type ExecutionResult, type RunningExecution } from '../runtime/executor-types.js';
import { Batches } from './batches.js';
import { clusterChannels, type ClusterChannels } from './channels.js';
import type { NodeHeartbeat } from './heartbeat.js';
import { checkWorkerId } from './limits.js';
import { retrying } from './retry.js';

/** Bytes of one dispatched request (the job with its script, arguments, env and locks). */
export const REQUEST_BYTES_MAX = 16 * 1024 * 1024;
/**
 * Bytes of a result notification that carries the result itself (PostgreSQL's limit is 8,000):
 * the controller then needs no read of the row. A longer one carries the execution's id only.
 */
export const RESULT_NOTE_BYTES_MAX = 7_900;

export interface ClusterWorkerOptions {
  pool: Pool;
  /** The journal's schema (unquoted). */
  schema: string;
  listener: PgListener;
  workerId: string;
  /** Runs the executions (its slots bound how many at once). */
  local: LocalWorker;
  /** Where the step logs go. */
  store: Pick<JournalStore, 'putLog'>;
  /** The node's heartbeat: when it is lost, the worker stops claiming and kills its jobs. */
  heartbeat?: NodeHeartbeat | undefined;
  clock?: () => number;
}

/** What a worker writes into an execution's row (JSON). */
export interface ExecutionReport {
  outcome: Outcome;
}

/** A result notification's payload when it carries the result: the row's execution, order and `result` text. */
export interface ResultNote {
  id: string;
  order: string;
  result: string;
}

/** Results written by one statement at most (more go in the next). */
export const REPORT_BATCH_MAX = 500;

interface PendingReport {
  id: string;
  result: string;
  note: string;
}

interface ClaimedRow {
  execution_id: string;
  request: string;
}

export class ClusterWorker {
  readonly workerId: string;
  readonly channels: ClusterChannels;
  private readonly s: string;
  private readonly running = new Map<string, RunningExecution>();
  /**
   * Executions claimed by this worker whose result is not written yet. A claim commits without
   * waiting for its WAL flush (see claim), so after a crash of PostgreSQL its row may read as
   * unclaimed again: this worker, claiming it again, does not run it twice.
   */
  private readonly claimed = new Set<string>();
  private readonly clock: () => number;
  private state: 'new' | 'running' | 'halted' | 'closed' = 'new';
  /** A claim is under way. */
  private claiming = false;
  /** Rows may be waiting: a notification, a start, a reconnect, or a claim that filled every free slot. */
  private maybeWaiting = false;
  private readonly idleWaiters = new Set<() => void>();
  private claims = 0;
  private readonly reports = new Batches<PendingReport>(
    (batch) => this.reportNow(batch),
    () => REPORT_BATCH_MAX,
  );
  /** Statements sent so far that write results (tests, metrics). */
  reportStatements = 0;

  constructor(private readonly opts: ClusterWorkerOptions) {
    this.workerId = checkWorkerId('cluster worker', opts.workerId);
    if (opts.local.id !== this.workerId) throw new RangeError(`cluster worker: the local worker's id ${opts.local.id} is not ${this.workerId}`);
    this.s = escapeIdentifier(opts.schema);
    this.channels = clusterChannels(opts.schema);
    this.clock = opts.clock ?? Date.now;
    opts.heartbeat?.onLost(() => this.halt());
    // A function registered later: the node's row says so, and the controller registers the worker again.
    const hb = opts.heartbeat;
    if (hb) opts.local.functions.onRegister(() => void hb.setFunctions(opts.local.functions.names()).catch(() => undefined));
  }

  /** Executions running here now. */
  get runningCount(): number {
    return this.running.size;
  }

  /** Claims made so far (queries), for tests and metrics. */
  get claimCount(): number {
    return this.claims;
  }

  /** False once halted (heartbeat lost) or closed. */
  get active(): boolean {
    return this.state === 'running';
  }

  /** Listens for dispatches to this worker and claims what is waiting already. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`cluster worker ${this.workerId}: already started`);
    this.state = 'running';
    this.opts.listener.onReconnect(() => this.wake());
    await this.opts.listener.listen(this.channels.dispatch, (payload) => {
      if (payload === this.workerId) this.wake();
    });
    this.wake();
  }

  /**
   * Stops claiming and kills the running jobs at once, reporting none of them (the controller
   * reports this worker lost). Called when the node's heartbeat is lost.
   */
  halt(): void {
    if (this.state === 'closed' || this.state === 'halted') return;
    this.state = 'halted';
    for (const r of this.running.values()) r.kill();
  }

  /** Stops claiming, kills the running jobs and waits for them to end (their results are not reported). */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.halt();
    this.state = 'closed';
    const runs = [...this.running.values()];
    await Promise.all(runs.map((r) => r.done.catch(() => undefined)));
  }

  /** Resolves once no execution runs here and no claim is under way. */
  whenIdle(): Promise<void> {
    if (this.running.size === 0 && !this.claiming) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.add(resolve));
  }

  private wake(): void {
    this.maybeWaiting = true;
    void this.claim();
  }

  private async claim(): Promise<void> {
    if (this.claiming) return;
    this.claiming = true;
    try {
      while (this.state === 'running' && this.maybeWaiting) {
        const free = this.opts.local.slots - this.running.size;
        if (free <= 0) break; // a finishing job claims again
        this.maybeWaiting = false;
        let rows: ClaimedRow[];
        try {
          this.claims++;
          rows = (
            // The claim commits without waiting for its WAL flush (synchronous_commit off for
            // this transaction only): a claim lost in a crash of PostgreSQL leaves the row
            // unclaimed, which only this worker may claim, and it skips what it runs already
            // (`claimed`). Its result, a commit that waits, flushes the claim before it.
            await this.opts.pool.query<ClaimedRow>(
              `WITH c AS (SELECT set_config('synchronous_commit', 'off', true))
               UPDATE ${this.s}.executions SET claimed_at = now() FROM c
               WHERE execution_id IN (
                 SELECT execution_id FROM ${this.s}.executions
                 WHERE worker_id = $1 AND claimed_at IS NULL ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
               RETURNING execution_id, request`,
              [this.workerId, free],
            )
          ).rows;
        } catch {
          // The database cannot be reached: the listener's reconnect (or the next notification) claims again.
          this.maybeWaiting = true;
          break;
        }
        if (rows.length >= free) this.maybeWaiting = true;
        for (const row of rows) {
          if (this.claimed.has(row.execution_id)) continue; // claimed before a crash of PostgreSQL, and running or reporting here
          this.claimed.add(row.execution_id);
          this.run(row);
        }
      }
    } finally {
      this.claiming = false;
      this.checkIdle();
    }
  }

  private run(row: ClaimedRow): void {
    const parsed = parseRequest(row);
    if (this.state !== 'running') return; // halted meanwhile: nothing starts (the worker is reported lost)
    if (!parsed.ok) {
      void this.report(row.execution_id, undefined, { type: 'failed', reason: 'start-failed', message: parsed.message.slice(0, LIMITS.messageLengthMax) });
      return;
    }
    const d = parsed.dispatch;
    let run: RunningExecution;
    try {
      run = this.opts.local.start(d);
    } catch (err) {
      void this.report(d.executionId, d.orderId, { type: 'failed', reason: 'start-failed', message: String(err instanceof Error ? err.message : err).slice(0, LIMITS.messageLengthMax) });
      return;
    }
    this.running.set(d.executionId, run);
    void run.done
      .then(
        (r) => this.finished(d, r),
        (err: unknown) => this.finished(d, { outcome: { type: 'failed', reason: 'exception', message: String(err).slice(0, LIMITS.messageLengthMax) }, stdout: '', stderr: '', stdoutDroppedBytes: 0, stderrDroppedBytes: 0 }),
      )
      .finally(() => {
        this.running.delete(d.executionId);
        // A slot is free: rows that waited for one are claimed now.
        if (this.state === 'running' && this.maybeWaiting) void this.claim();
        this.checkIdle();
      });
  }

  private async finished(d: Dispatch, r: ExecutionResult): Promise<void> {
    // Halted: the controller reports this worker lost; nothing of its runs counts.
    if (this.state !== 'running') return;
    if (r.stdout || r.stderr) {
      try {
        await this.opts.store.putLog(stepLogOf(d.orderId, d.executionId, d.jobName, r, this.clock()));
      } catch {
        // A lost log does not stop the order.
      }
    }
    const outcome = outcomeAfterStderr(d.job, r.outcome, r.stderr !== '' || r.stderrDroppedBytes > 0);
    await this.report(d.executionId, d.orderId, outcome);
  }

  /**
   * Writes the result into the row and announces it, with the result in the notification when
   * it fits (`orderId` known) so the controller need not read the row; tried again while the
   * database cannot be reached. Nothing is announced unless the row was this worker's. Results
   * that end together (in one run of the event loop, or while a report is under way) are
   * written by one statement.
   */
  private report(executionId: string, orderId: string | undefined, outcome: Outcome): Promise<void> {
    const body: ExecutionReport = { outcome };
    const text = JSON.stringify(body);
    const full = orderId === undefined ? undefined : JSON.stringify({ id: executionId, order: orderId, result: text } satisfies ResultNote);
    const note = full !== undefined && Buffer.byteLength(full) <= RESULT_NOTE_BYTES_MAX ? full : executionId;
    return this.reports.add({ id: executionId, result: text, note }).finally(() => this.claimed.delete(executionId));
  }

  private async reportNow(batch: readonly PendingReport[]): Promise<void> {
    this.reportStatements++;
    await retrying(
      async () => {
        await this.opts.pool.query(
          `WITH r AS (
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS r(execution_id, result, note, i)
           ), u AS (
             UPDATE ${this.s}.executions e SET result = r.result, reported_at = now()
             FROM r WHERE e.execution_id = r.execution_id AND e.worker_id = $4
             RETURNING r.note, r.i
           )
           SELECT pg_notify($5, note) FROM (SELECT note FROM u ORDER BY i) n`,
          [batch.map((r) => r.id), batch.map((r) => r.result), batch.map((r) => r.note), this.workerId, this.channels.results],
        );
      },
      () => this.state !== 'running',
    ).catch(() => undefined);
  }

  private checkIdle(): void {
    if (this.running.size > 0 || this.claiming) return;
    for (const f of [...this.idleWaiters]) f();
    this.idleWaiters.clear();
  }
}

function parseRequest(row: ClaimedRow): { ok: true; dispatch: Dispatch } | { ok: false; message: string } {
  if (row.request.length > REQUEST_BYTES_MAX) return { ok: false, message: `the dispatched request is longer than ${REQUEST_BYTES_MAX} bytes` };
  let d: unknown;
  try {
    d = JSON.parse(row.request);
  } catch (err) {
    return { ok: false, message: `the dispatched request is not JSON: ${(err as Error).message}` };
  }
  const o = d as Partial<Dispatch> | null;
  if (
    typeof o !== 'object' ||
    o === null ||
    o.executionId !== row.execution_id ||
    typeof o.orderId !== 'string' ||
    typeof o.workflow !== 'string' ||
    typeof o.jobName !== 'string' ||
    typeof o.job !== 'object' ||
    o.job === null ||
    typeof o.job.executable !== 'object' ||
    typeof o.arguments !== 'object' ||
    !Array.isArray(o.locks)
  ) {
    return { ok: false, message: 'the dispatched request is not an execution of this row' };
  }
  return { ok: true, dispatch: o as Dispatch };
}
