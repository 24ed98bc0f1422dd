// The dispatcher of a node in a cluster. An execution the core gave to this node's worker runs
// in this process (as the embedded node's LocalDispatcher does); one given to another node's
// worker becomes a row in `executions` (NOTIFY `<schema>.dispatch`), which that node's
// ClusterWorker claims, runs and answers in the same row. The rows of one engine turn (its
// dispatches come in one synchronous run of effects), and those that come while a statement is
// under way, go in one statement: one commit for many executions, one statement at a time.
//
// On the controller (`startControlling`) it also turns the answers into commands: each result
// row (NOTIFY `<schema>.results`) becomes the order's `jobFinished`, and the row is deleted once
// the engine took it (those taken while a delete is under way go in the next one, together);
// and it keeps the engine's workers in step with the live nodes (read at start, on NOTIFY
// `<schema>.nodes`, and just after the soonest expiry of another node's heartbeat, since an
// expiry is told by no one): a live node's worker that the engine lacks, or knows with another
// offer, is registered; a worker of no live node is reported lost (its executions end `disrupted`, or
// run again when restartable), and its rows are deleted.

import { escapeIdentifier, type Pool } from 'pg';
import type { Command } from '../core/commands.js';
import { LIMITS, type NamedValues, type Outcome, type OutcomeReason } from '../core/model.js';
import type { State } from '../core/state.js';
import { CONTROLLER_LEASE } from '../journal/postgres.js';
import type { PgListener } from '../journal/postgres-listener.js';
import { registerCommand, type Dispatch, type Dispatcher, type LocalWorker, type WorkerOffer } from '../runtime/dispatcher.js';
import { CommandRefused } from '../runtime/engine.js';
import type { RunningExecution } from '../runtime/executor-types.js';
import { Batches, sameEngineLength } from './batches.js';
import { clusterChannels, type ClusterChannels } from './channels.js';
import { readLiveNodes, type NodeHeartbeat, type NodeRow } from './heartbeat.js';
import { sameNames } from './limits.js';
import { retrying } from './retry.js';
import type { ExecutionReport, ResultNote } from './worker.js';

/** How long after another node's heartbeat expiry (the database's clock) the controller reads the nodes again. */
const MEMBERSHIP_SLACK_MS = 20;
/** Result rows read at once (more are read in further rounds). */
export const RESULTS_BATCH_MAX = 1_000;
/** Characters of a result row (its outcome as JSON). */
export const RESULT_CHARS_MAX = 1024 * 1024;
/** Rows one dispatch statement inserts at most (more go in the next). */
export const DISPATCH_BATCH_MAX = 1_000;
/** Characters of the requests one dispatch statement carries (a longer request goes alone). */
export const DISPATCH_BATCH_CHARS_MAX = 16 * 1024 * 1024;
/** Rows one statement deletes at most. */
export const REMOVE_BATCH_MAX = 1_000;

/** What the controller's engine offers the dispatcher (src/runtime/engine.ts). */
export interface ControlledEngine {
  submit(cmd: Command, opts: { keep: true }): Promise<unknown>;
  readonly state: State;
  readonly epoch: number;
}

export interface ClusterDispatcherOptions {
  pool: Pool;
  /** The journal's schema (unquoted). */
  schema: string;
  listener: PgListener;
  /** This node's worker (its id is the heartbeat's worker). */
  local: LocalWorker;
  heartbeat: NodeHeartbeat;
}

interface ResultRow {
  execution_id: string;
  order_id: string;
  result: string;
}

export class ClusterDispatcher implements Dispatcher {
  readonly channels: ClusterChannels;
  private readonly s: string;
  private readonly local: LocalWorker;
  private readonly heartbeat: NodeHeartbeat;
  private readonly offerListeners: ((offer: WorkerOffer) => void)[] = [];
  private engine: ControlledEngine | undefined;
  private closed = false;
  /** Dispatches to other workers before the engine is controlled (its recovery): sent by startControlling. */
  private waiting: Dispatch[] = [];
  private membershipTimer: NodeJS.Timeout | undefined;
  private readonly syncing = new Coalesced(() => this.syncMembers());
  private readonly reading = new Coalesced(() => this.readResults());
  /** Results submitted and not yet deleted. */
  private readonly taking = new Set<string>();
  /** Rows for other workers, inserted by one statement at a time, each with the engine (its epoch) that dispatched it. */
  private readonly outbox = new Batches<Outgoing>(
    (items) => this.send(items),
    (items) => dispatchBatchLength(items),
  );
  /** Rows of results the engine took, deleted by one statement at a time. */
  private readonly removals = new Batches<{ id: string; engine: ControlledEngine | undefined }>(
    (items) => this.removeNow(items),
    (items) => sameEngineLength(items, REMOVE_BATCH_MAX),
  );
  private listening: Promise<void> | undefined;
  /** Statements sent so far that insert dispatched rows, and that delete taken results (tests, metrics). */
  dispatchStatements = 0;
  removeStatements = 0;

  constructor(private readonly opts: ClusterDispatcherOptions) {
    this.s = escapeIdentifier(opts.schema);
    this.channels = clusterChannels(opts.schema);
    this.local = opts.local;
    this.heartbeat = opts.heartbeat;
    if (opts.heartbeat.workerId !== opts.local.id) {
      throw new RangeError(`cluster dispatcher: the local worker's id ${opts.local.id} is not the heartbeat's ${opts.heartbeat.workerId}`);
    }
    opts.local.functions.onRegister(() => {
      void this.heartbeat.setFunctions(this.local.functions.names()).catch(() => undefined);
      const offer = this.localOffer();
      for (const l of this.offerListeners) l(offer);
    });
  }

  // ------------------------------------------------------------ Dispatcher

  dispatch(d: Dispatch): RunningExecution | undefined {
    if (d.worker === undefined || d.worker === this.local.id) return this.local.start(d);
    if (this.closed) return undefined;
    if (this.engine) void this.outbox.add(outgoing(d, this.engine));
    else this.waiting.push(d);
    return undefined;
  }

  localWorkers(): readonly WorkerOffer[] {
    return [this.localOffer()];
  }

  onOfferChanged(listener: (offer: WorkerOffer) => void): void {
    this.offerListeners.push(listener);
  }

  /** Stops controlling. The LocalWorker's executors are the node's: it closes them. */
  close(): void {
    this.closed = true;
    this.stopControlling();
  }

  // ------------------------------------------------------------ the controller's part

  /**
   * Makes this node's dispatcher the controller's: sends the dispatches its recovery made,
   * takes results, and keeps the engine's workers in step with the live nodes. Resolves once it
   * listens and has read both once.
   */
  async startControlling(engine: ControlledEngine): Promise<void> {
    if (this.closed) throw new Error('cluster dispatcher: closed');
    this.engine = engine;
    this.listening ??= (async () => {
      this.opts.listener.onReconnect(() => {
        void this.reading.run();
        void this.syncing.run();
      });
      await this.opts.listener.listen(this.channels.results, (payload) => this.resultNoted(payload));
      await this.opts.listener.listen(this.channels.nodes, () => void this.syncing.run());
    })();
    await this.listening;
    const waiting = this.waiting;
    this.waiting = [];
    for (const d of waiting) void this.outbox.add(outgoing(d, engine));
    await Promise.all([this.syncing.run(), this.reading.run()]);
  }

  /** No longer the controller's (its engine stopped): results and membership are left to the next one. */
  stopControlling(): void {
    this.engine = undefined;
    if (this.membershipTimer) clearTimeout(this.membershipTimer);
    this.membershipTimer = undefined;
  }

  /** The workers of the other live nodes (the engine's recovery keeps them, and their executions). */
  async liveRemoteWorkers(): Promise<ReadonlySet<string>> {
    const nodes = await readLiveNodes(this.opts.pool, this.opts.schema);
    return new Set(nodes.map((n) => n.workerId).filter((id) => id !== this.local.id));
  }

  private localOffer(): WorkerOffer {
    const agents = this.heartbeat.agents;
    return { ...this.local.offer(), ...(agents ? { agents } : {}) };
  }

  /**
   * The rows for other nodes' workers, of one engine, in one statement fenced by its epoch
   * (inserted only while the controller lease has that epoch and is unexpired: all or none),
   * each worker told once; tried again while the database is away, until the engine is no
   * longer this dispatcher's. An execution inserted already is left as it is.
   */
  private async send(items: readonly Outgoing[]): Promise<void> {
    const engine = items[0]!.engine;
    const ids: string[] = [];
    const orders: string[] = [];
    const workers: string[] = [];
    const requests: string[] = [];
    const seen = new Set<string>();
    for (const o of items) {
      // Dispatched twice before it was sent: one row (ON CONFLICT cannot meet a row of the same statement).
      if (seen.has(o.id)) continue;
      seen.add(o.id);
      ids.push(o.id);
      orders.push(o.order);
      workers.push(o.worker);
      requests.push(o.request);
    }
    this.dispatchStatements++;
    await retrying(
      () =>
        this.opts.pool.query(
          `WITH ins AS (
             INSERT INTO ${this.s}.executions (execution_id, order_id, worker_id, epoch, request)
             SELECT r.execution_id, r.order_id, r.worker_id, $4, r.request
             FROM ${this.s}.leases l, unnest($1::text[], $2::text[], $3::text[], $5::text[]) WITH ORDINALITY AS r(execution_id, order_id, worker_id, request, i)
             WHERE l.name = '${CONTROLLER_LEASE}' AND l.epoch = $4 AND l.expires_at > now()
             ORDER BY r.i
             ON CONFLICT (execution_id) DO NOTHING
             RETURNING worker_id
           )
           SELECT pg_notify($6, w.worker_id) FROM (SELECT DISTINCT worker_id FROM ins) w`,
          [ids, orders, workers, engine.epoch, requests, this.channels.dispatch],
        ),
      () => this.engine !== engine,
    ).catch(() => undefined);
  }

  private async readResults(): Promise<void> {
    const engine = this.engine;
    if (!engine) return;
    for (;;) {
      const { rows } = await this.opts.pool.query<ResultRow>(
        `SELECT execution_id, order_id, result FROM ${this.s}.executions
         WHERE result IS NOT NULL AND execution_id <> ALL($1::text[]) ORDER BY reported_at LIMIT $2`,
        [[...this.taking], RESULTS_BATCH_MAX],
      );
      for (const r of rows) this.take(engine, r);
      if (rows.length < RESULTS_BATCH_MAX || this.engine !== engine) return;
    }
  }

  /**
   * A result was written (the notification comes after its commit): taken from the
   * notification when it carries it, else read from the table.
   */
  private resultNoted(payload: string): void {
    const engine = this.engine;
    if (!engine) return;
    const note = payload.startsWith('{') ? parseNote(payload) : undefined;
    if (note) this.take(engine, { execution_id: note.id, order_id: note.order, result: note.result });
    else void this.reading.run();
  }

  private take(engine: ControlledEngine, r: ResultRow): void {
    const id = r.execution_id;
    // Taken already (from a notification and a read both): the engine has it.
    if (this.taking.has(id)) return;
    this.taking.add(id);
    const outcome = parseReport(r.result);
    engine.submit({ type: 'jobFinished', orderId: r.order_id, executionId: id, outcome }, { keep: true }).then(
      () => this.remove(id),
      (err: unknown) => {
        // Refused (not this order's current execution): delete anyway. Stopped: the next controller takes it.
        if (err instanceof CommandRefused) this.remove(id);
        else this.taking.delete(id);
      },
    );
  }

  private remove(id: string): void {
    void this.removals.add({ id, engine: this.engine });
  }

  /** Deletes the rows of results the engine took, in one statement; tried again while the database is away. */
  private async removeNow(items: readonly { id: string; engine: ControlledEngine | undefined }[]): Promise<void> {
    const engine = items[0]!.engine;
    const ids = items.map((r) => r.id);
    this.removeStatements++;
    await retrying(
      () => this.opts.pool.query(`DELETE FROM ${this.s}.executions WHERE execution_id = ANY($1::text[])`, [ids]),
      () => this.engine !== engine,
    )
      .catch(() => undefined)
      .finally(() => {
        for (const id of ids) this.taking.delete(id);
      });
  }

  private syncAgainIn(ms: number): void {
    if (this.membershipTimer) clearTimeout(this.membershipTimer);
    this.membershipTimer = setTimeout(() => void this.syncing.run().catch(() => undefined), ms);
    this.membershipTimer.unref();
  }

  private async syncMembers(): Promise<void> {
    const engine = this.engine;
    if (!engine) return;
    let nodes: NodeRow[];
    try {
      nodes = await readLiveNodes(this.opts.pool, this.opts.schema);
    } catch (err) {
      // Asked again soon (and at once when the listener reconnects).
      if (this.engine === engine) this.syncAgainIn(this.heartbeat.renewEveryMs);
      throw err;
    }
    if (this.engine !== engine) return;
    // Read again just after the soonest expiry of another node (the database's clock): a node
    // that stops renewing is reported lost at once, and an idle cluster costs one read per
    // heartbeat time. Joins and stops are announced; the bound covers a notification missed.
    let nextMs = this.heartbeat.ttlMs;
    for (const n of nodes) if (n.workerId !== this.local.id) nextMs = Math.min(nextMs, n.expiresInMs + MEMBERSHIP_SLACK_MS);
    this.syncAgainIn(nextMs);
    const s = engine.state;
    const live = new Set<string>();
    const ops: Promise<unknown>[] = [];
    for (const n of nodes) {
      live.add(n.workerId);
      // This node's own worker is the engine's to register (localWorkers, onOfferChanged).
      if (n.workerId === this.local.id) continue;
      const offer: WorkerOffer = { id: n.workerId, slots: n.slots, functions: [...new Set(n.functions)].sort(), ...(n.agents ? { agents: [...new Set(n.agents)].sort() } : {}) };
      const w = s.workers.get(n.workerId);
      if (w && w.slots === offer.slots && sameNames(w.functions, offer.functions) && sameNames(w.agents, offer.agents)) continue;
      ops.push(engine.submit(registerCommand(offer), { keep: true }));
    }
    for (const w of s.workers.values()) {
      if (w.id === this.local.id || live.has(w.id)) continue;
      const id = w.id;
      ops.push(
        engine.submit({ type: 'workerLost', workerId: id }, { keep: true }).then(() =>
          // Its rows are of executions that ended with it.
          this.opts.pool.query(`DELETE FROM ${this.s}.executions WHERE worker_id = $1`, [id]),
        ),
      );
    }
    await Promise.allSettled(ops);
  }
}

/** A row for another node's worker, waiting for its statement. */
interface Outgoing {
  id: string;
  order: string;
  worker: string;
  request: string;
  engine: ControlledEngine;
}

function outgoing(d: Dispatch, engine: ControlledEngine): Outgoing {
  return { id: d.executionId, order: d.orderId, worker: d.worker!, request: JSON.stringify(d), engine };
}

/** The dispatches at the front that go in one statement: one engine, within the count and the characters. */
function dispatchBatchLength(items: readonly Outgoing[]): number {
  const n = sameEngineLength(items, DISPATCH_BATCH_MAX);
  let chars = 0;
  for (let i = 0; i < n; i++) {
    chars += items[i]!.request.length;
    if (chars > DISPATCH_BATCH_CHARS_MAX && i > 0) return i;
  }
  return n;
}

/** Runs `f` now, or once more after the run under way when asked meanwhile (never two at once). */
class Coalesced {
  private current: Promise<void> | undefined;
  private again = false;

  constructor(private readonly f: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.current) {
      this.again = true;
      return this.current;
    }
    this.current = (async () => {
      do {
        this.again = false;
        try {
          await this.f();
        } catch {
          // The database is away: the next notification, reconnect or period tries again.
        }
      } while (this.again);
      this.current = undefined;
    })();
    return this.current;
  }
}

/** A result notification that carries the result (src/cluster/worker.ts), or undefined. */
function parseNote(payload: string): ResultNote | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  const n = v as Partial<ResultNote> | null;
  if (typeof n !== 'object' || n === null || typeof n.id !== 'string' || typeof n.order !== 'string' || typeof n.result !== 'string') return undefined;
  return { id: n.id, order: n.order, result: n.result };
}

const REASONS: ReadonlySet<string> = new Set<OutcomeReason>([
  'returnCode',
  'exception',
  'timeout',
  'disrupted',
  'start-failed',
  'stderr-written',
  'killed',
]);

/** A worker's result as the core takes it; one that cannot be read fails the execution, saying why. */
export function parseReport(text: string): Outcome {
  const bad = (why: string): Outcome => ({ type: 'failed', reason: 'exception', message: `the worker's result cannot be read: ${why}` });
  if (text.length > RESULT_CHARS_MAX) return bad(`longer than ${RESULT_CHARS_MAX} characters`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return bad((err as Error).message);
  }
  const o = (body as Partial<ExecutionReport> | null)?.outcome as unknown;
  if (typeof o !== 'object' || o === null) return bad('no outcome');
  const r = o as Record<string, unknown>;
  if (r['type'] !== 'succeeded' && r['type'] !== 'failed') return bad('outcome.type must be succeeded or failed');
  const out: Outcome = { type: r['type'] };
  if (r['reason'] !== undefined) {
    if (typeof r['reason'] !== 'string' || !REASONS.has(r['reason'])) return bad('outcome.reason is not a job outcome');
    out.reason = r['reason'] as OutcomeReason;
  }
  if (r['returnCode'] !== undefined) {
    if (!Number.isInteger(r['returnCode'])) return bad('outcome.returnCode must be a whole number');
    out.returnCode = r['returnCode'] as number;
  }
  if (r['signal'] !== undefined) {
    if (typeof r['signal'] !== 'string' || r['signal'].length > LIMITS.nameLengthMax) return bad('outcome.signal must be a short text');
    out.signal = r['signal'];
  }
  if (r['message'] !== undefined) {
    if (typeof r['message'] !== 'string') return bad('outcome.message must be a text');
    out.message = r['message'].slice(0, LIMITS.messageLengthMax);
  }
  if (r['namedValues'] !== undefined) {
    const nv = r['namedValues'];
    if (typeof nv !== 'object' || nv === null || Array.isArray(nv) || Object.keys(nv).length > LIMITS.argumentsMax) {
      return bad(`outcome.namedValues must be an object of at most ${LIMITS.argumentsMax} values`);
    }
    for (const v of Object.values(nv)) if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return bad('outcome.namedValues holds a value that is not a text, number or boolean');
    out.namedValues = nv as NamedValues;
  }
  return out;
}
