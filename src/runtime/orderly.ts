// The typed API over one engine. `Orderly.start` starts it on a journal store that is open
// already; the node start-up (src/node/start.ts) opens the data dir, takes its writer lock and
// opens the store first: `createOrderly` (the library), `orderly serve` and `orderly run` all
// go through it. The CLI, the control socket and the HTTP server are clients of this API.

import { randomUUID } from 'node:crypto';
import type { Command } from '../core/commands.js';
import { invalid, problem } from '../core/commands.js';
import { orderIdOf, type Event, type Stamped } from '../core/events.js';
import { ENDED_STATES, type OrderState, type Workflow } from '../core/model.js';
import { isGeneratedWorkflowName, type State } from '../core/state.js';
import type { JournalStore, StepLog } from '../journal/types.js';
import { CommandsApi, type AddOrder } from './commands-api.js';
import { CommandRefused, Engine, EngineStopped, EngineUnavailable, type Forward } from './engine.js';
import type { Dispatcher } from './dispatcher.js';
import { OrderlyError } from './errors.js';
import { FunctionExecutor, type JobFunction } from './function-executor.js';
import type { LiveChunk, LiveSnapshot } from './live-output.js';
import { effectiveBlocking, findAlias, isActiveRun } from '../core/jobconfigs.js';
import type { FireRecord, JobConfig, JobConfigAlias, JobTemplate, Schedule } from '../core/model.js';
import { validateCron } from '../schedule/cron.js';
import { OrderIndex, type OrderPageQuery } from './order-index.js';
import { Scheduler } from './scheduler.js';
import { lockPage, lockView, lockViews, orderView, type LockView, type OrderView } from './views.js';

export { OrderlyError } from './errors.js';
export type { AddOrder, Deployed } from './commands-api.js';

/** A job config as callers see it: with what follows from its template and schedule. */
export interface JobConfigView extends JobConfig {
  /** `blocking` as in force: its own, else its template's, else false. */
  effectiveBlocking: boolean;
  nextFireTime?: number;
  /** The newest schedule fires, fired (with the order) or skipped (with the reason). */
  fires: FireRecord[];
  /** Runs not ended. */
  activeRuns: number;
  /** Runs not started yet: waiting for the run lock, a job slot, or their time (no job executed, no lock held). */
  queuedRuns: number;
}

export type JobConfigInput = Omit<JobConfig, 'created' | 'modified' | 'id' | 'active'> & { id?: string; active?: boolean };
export type JobTemplateInput = Omit<JobTemplate, 'id' | 'active'> & { id?: string; active?: boolean };

/** How the engine runs: what the library's `createOrderly` takes besides where the journal is. */
export interface EngineRunOptions {
  /** Worker slots: job executions at once on this node (default 4). */
  slots?: number;
  /** Ended orders kept in memory for reading (default 10,000; older ones stay in the journal). */
  endedOrdersKeptMax?: number;
  /** A snapshot is written after this many events (default 50,000), or 10 per order in memory if more. */
  snapshotEveryEvents?: number;
  /** Bytes of each output stream kept per job execution (default 256 KiB). */
  logBytesMax?: number;
  /** Injected clock (ms since the epoch). */
  clock?: () => number;
  /**
   * Where shell jobs are started: 'process' (default) = a small job launcher child process, so
   * that forking them does not stall this process's event loop; 'inline' = in this process.
   */
  jobLauncher?: 'process' | 'inline';
  /** Called if the engine stops on a fatal error (a failed journal commit). */
  onFatal?: (err: unknown) => void;
  /** false: schedules fire only when you call `orderly.scheduler.poll()` (tests with an injected clock). */
  autoSchedule?: boolean;
}

/** What `Orderly.start` needs: an open journal store, where shell scripts go, and how to run. */
export interface OrderlyStart extends EngineRunOptions {
  store: JournalStore;
  scriptDir: string;
  /** Called once the engine is closed (and its store with it): the node releases the writer lock here. */
  afterClose?: () => void | Promise<void>;
  /** Where executions go (a cluster node's dispatcher); default: one worker in this process. */
  dispatcher?: Dispatcher;
  /** The function jobs' executor, when the caller's dispatcher runs them too. */
  functions?: FunctionExecutor;
  /** Job processes of a former life of this node to kill at recovery (see EngineOptions.orphansOf). */
  orphansOf?: string;
  /**
   * Restartable jobs on this node start before the commit of their start (EngineOptions.earlyStarts,
   * docs/decisions.md). Only with a journal that commits asynchronously (PostgreSQL). Default false.
   */
  earlyStarts?: boolean;
  /**
   * Start as a follower of a journal another node writes (a cluster's stand-by), sending
   * commands through this; `promote` makes the engine the writer.
   */
  follow?: Forward;
}

export interface OrderFilter {
  state?: OrderState;
  workflow?: string;
}

export class Orderly extends CommandsApi {
  readonly scheduler: Scheduler;
  /** Orders sorted by id (and by state, workflow), for pages that cost the same at any size. */
  readonly orderIndex: OrderIndex;
  private readonly unindex: () => void;
  private closing: Promise<void> | undefined;
  private constructor(
    readonly engine: Engine,
    clock: () => number,
    autoSchedule: boolean,
    private readonly afterClose: (() => void | Promise<void>) | undefined,
  ) {
    super();
    this.scheduler = new Scheduler(engine, clock, autoSchedule);
    this.orderIndex = new OrderIndex(() => engine.state.orders);
    this.unindex = engine.subscribe((events) => {
      // Nothing to keep current before the index is first used (it is built from the orders then).
      if (!this.orderIndex.isBuilt) return;
      for (const { event } of events) {
        const id = orderIdOf(event);
        if (id !== undefined) this.orderIndex.update(id);
      }
    });
  }

  protected get currentState(): State {
    return this.engine.state;
  }

  /** Checks the options `start` takes: problems name the option. */
  static checkOptions(opts: { jobLauncher?: unknown }): { path: string; message: string }[] {
    const problems: { path: string; message: string }[] = [];
    if (opts.jobLauncher !== undefined && opts.jobLauncher !== 'process' && opts.jobLauncher !== 'inline') {
      problems.push({ path: 'jobLauncher', message: "must be 'process' or 'inline'" });
    }
    return problems;
  }

  /** Opens the engine on `store` (recovering what a crash left) and starts the scheduler. */
  static async start(opts: OrderlyStart): Promise<Orderly> {
    const problems = Orderly.checkOptions(opts);
    if (problems.length > 0) throw new OrderlyError(invalid(problems));
    const functions = opts.functions ?? new FunctionExecutor(opts.logBytesMax !== undefined ? { logBytesMax: opts.logBytesMax } : {});
    const engineOpts: import('./engine.js').EngineOptions = {
      store: opts.store,
      scriptDir: opts.scriptDir,
      functions,
      ...(opts.slots !== undefined ? { slots: opts.slots } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.snapshotEveryEvents !== undefined ? { snapshotEveryEvents: opts.snapshotEveryEvents } : {}),
      ...(opts.logBytesMax !== undefined ? { logBytesMax: opts.logBytesMax } : {}),
      ...(opts.endedOrdersKeptMax !== undefined ? { core: { endedOrdersKeptMax: opts.endedOrdersKeptMax } } : {}),
      ...(opts.onFatal ? { onFatal: opts.onFatal } : {}),
      ...(opts.jobLauncher ? { jobLauncher: opts.jobLauncher } : {}),
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
      ...(opts.orphansOf !== undefined ? { orphansOf: opts.orphansOf } : {}),
      ...(opts.earlyStarts === true ? { earlyStarts: true } : {}),
    };
    const engine = opts.follow ? await Engine.openFollower(engineOpts, opts.follow) : await Engine.open(engineOpts);
    const orderly = new Orderly(engine, opts.clock ?? Date.now, opts.autoSchedule !== false, opts.afterClose);
    if (!opts.follow) await orderly.scheduler.start();
    return orderly;
  }

  /**
   * A follower becomes the journal's writer with `epoch` (its node took the controller lease):
   * it reads the rest of the journal, recovers, takes commands and fires the schedules.
   */
  async promote(epoch: number): Promise<void> {
    await this.engine.promote(epoch);
    await this.scheduler.start();
  }

  /** On a cluster's stand-by: reads the journal as far as it is now (see Engine.catchUp). At once elsewhere. */
  catchUp(): Promise<void> {
    return this.engine.catchUp();
  }

  protected async run(cmd: Command): Promise<Event[]> {
    try {
      return await this.engine.submit(cmd);
    } catch (err) {
      if (err instanceof CommandRefused) throw new OrderlyError(err.problem);
      if (err instanceof EngineUnavailable) throw new OrderlyError(problem('unavailable', err.message));
      // Failed (a fatal error, a lost writer's lease) or closed: no command is taken any more.
      if (err instanceof EngineStopped) throw new OrderlyError(problem('unavailable', err.message));
      throw err;
    }
  }

  // ------------------------------------------------------------ deploying

  async deleteLock(name: string): Promise<void> {
    await this.run({ type: 'deleteLock', name });
  }

  /** Registers a function for `FunctionExecutable` jobs with this `functionName`. */
  registerFunction(name: string, fn: JobFunction): this {
    this.engine.functions.register(name, fn);
    return this;
  }

  // ------------------------------------------------------------ orders

  /** Adds several orders in one journal commit; all or nothing is not promised: each is judged alone. */
  async addOrders(orders: AddOrder[]): Promise<({ id: string } | { error: OrderlyError })[]> {
    return Promise.all(
      orders.map((o) =>
        this.addOrder(o).then(
          (id) => ({ id }),
          (err: unknown) => {
            if (err instanceof OrderlyError) return { error: err };
            throw err;
          },
        ),
      ),
    );
  }

  // ------------------------------------------------------------ reading

  getOrder(id: string): OrderView | undefined {
    const o = this.engine.state.orders.get(id);
    return o ? orderView(o, this.engine.state) : undefined;
  }

  /** A page of orders sorted by id: after `after`, at most `limit`, filtered; `next` when more follow. */
  pageOrders(q: OrderPageQuery): { items: OrderView[]; next?: string } {
    const { ids, next } = this.orderIndex.page(q);
    const orders = this.engine.state.orders;
    const items = ids.flatMap((id) => {
      const o = orders.get(id);
      return o ? [orderView(o)] : [];
    });
    return next !== undefined ? { items, next } : { items };
  }

  listOrders(filter: OrderFilter = {}): OrderView[] {
    const out: OrderView[] = [];
    for (const o of this.engine.state.orders.values()) {
      if (filter.state && o.state !== filter.state) continue;
      if (filter.workflow && o.workflow !== filter.workflow) continue;
      out.push(orderView(o, this.engine.state));
    }
    return out;
  }

  /** One lock; its queue shows the first `waitersMax` waiters (all by default; `queueLength` counts them). */
  getLock(name: string, opts: { waitersMax?: number } = {}): LockView | undefined {
    return lockView(this.engine.state, name, opts.waitersMax);
  }

  /** Every lock, sorted by name; each queue shows its first `waitersMax` waiters (all by default). */
  listLocks(opts: { waitersMax?: number } = {}): LockView[] {
    return lockViews(this.engine.state, opts.waitersMax);
  }

  /** A page of locks by name (after `after`, at most `limit`), with `next` when more follow. */
  pageLocks(o: { after?: string; limit: number; waitersMax: number }): { locks: LockView[]; next?: string } {
    return lockPage(this.engine.state, o);
  }

  /**
   * The deployed workflows. The workflows generated for job configs with an inline command
   * (named `jobconfig:<id>`) are left out unless `generated` is true.
   */
  listWorkflows(opts: { generated?: boolean } = {}): { name: string; latest: number; versions: number[]; workflow: Workflow; generated?: true }[] {
    return [...this.engine.state.workflows.entries()].filter(([name]) => opts.generated === true || !isGeneratedWorkflowName(name)).map(([name, w]) => ({
      ...(isGeneratedWorkflowName(name) ? { generated: true as const } : {}),
      name,
      latest: w.latest,
      versions: [...w.versions.keys()],
      workflow: w.versions.get(w.latest)!,
    }));
  }

  /** The journal events about one order, oldest first. */
  history(id: string, limit = 1000): Promise<Stamped[]> {
    return this.engine.store.readOrder(id, limit);
  }

  logs(id: string): Promise<StepLog[]> {
    return this.engine.store.getLogs(id);
  }

  /** The output so far of the order's job while it runs here; undefined when none runs (or it runs on another node). */
  runningLog(id: string): RunningLog | undefined {
    const exe = this.engine.state.orders.get(id)?.execution;
    if (!exe) return undefined;
    const live = this.engine.liveOutput(exe.id);
    if (!live) return undefined;
    return { orderId: id, executionId: exe.id, job: exe.job, startedAt: exe.startedAt, ...live.snapshot() };
  }

  /**
   * Watches the output of the order's jobs while they run: `send` gets each running job's
   * output so far (`running`, also when the order's next job starts), then its new text
   * (`log`, batched and bounded as live-output.ts says). Returns the unsubscribe.
   */
  watchLog(id: string, send: (m: LiveLogMessage) => void): () => void {
    let current: string | undefined;
    let off: (() => void) | undefined;
    const attach = (): void => {
      const r = this.runningLog(id);
      if (!r || r.executionId === current) return;
      off?.();
      current = r.executionId;
      send({ type: 'running', running: r });
      off = this.engine.liveOutput(r.executionId)?.listen((chunks) => send({ type: 'log', executionId: r.executionId, chunks }));
    };
    attach();
    const unsubscribe = this.subscribe((events) => {
      if (events.some((s) => s.event.type === 'OrderProcessingStarted' && s.event.orderId === id)) attach();
    });
    return () => {
      unsubscribe();
      off?.();
    };
  }

  /** Calls `listener` with every batch of journal events after it is durable. Returns the unsubscribe. */
  subscribe(listener: (events: readonly Stamped[]) => void): () => void {
    return this.engine.subscribe(listener);
  }

  /** Resolves with the order once it is finished or cancelled (or, with `orSettled`, failed/stopped too). */
  awaitOrder(id: string, opts: { timeoutMs?: number; orSettled?: boolean } = {}): Promise<OrderView> {
    const done = (v: OrderView | undefined): boolean =>
      v !== undefined && (ENDED_STATES.has(v.state) || (opts.orSettled === true && (v.state === 'failed' || v.state === 'stopped')));
    const now = this.getOrder(id);
    if (!now) return Promise.reject(new OrderlyError({ code: 'not-found', message: `order ${id} not found` }));
    if (done(now)) return Promise.resolve(now);
    return new Promise((resolvePromise, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const unsubscribe = this.subscribe((events) => {
        if (!events.some((e) => 'orderId' in e.event && e.event.orderId === id)) return;
        const v = this.getOrder(id);
        if (done(v)) {
          unsubscribe();
          if (timer) clearTimeout(timer);
          resolvePromise(v!);
        }
      });
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          unsubscribe();
          reject(new Error(`order ${id} did not end within ${opts.timeoutMs} ms (state ${this.getOrder(id)?.state})`));
        }, opts.timeoutMs);
      }
    });
  }

  // ------------------------------------------------------------ job templates and job configs

  /** Creates (no id, or a new one) or replaces a job template; returns it. */
  async saveJobTemplate(t: JobTemplateInput, opts: { create?: boolean } = {}): Promise<JobTemplate> {
    const template = { ...t, id: t.id ?? randomUUID(), active: t.active ?? true } as JobTemplate;
    await this.run({ type: 'saveJobTemplate', template, ...(opts.create ? { create: true } : {}) });
    return this.getJobTemplate(template.id)!;
  }

  /** A copy of the job template (changing it changes nothing: save it). */
  getJobTemplate(id: string): JobTemplate | undefined {
    const t = this.engine.state.jobTemplates.get(id);
    return t ? copyTemplate(t) : undefined;
  }

  listJobTemplates(): JobTemplate[] {
    return [...this.engine.state.jobTemplates.values()].map(copyTemplate);
  }

  async deleteJobTemplate(id: string): Promise<void> {
    await this.run({ type: 'deleteJobTemplate', id });
  }

  /** Creates (no id, or a new one) or replaces a job config; `create` refuses an id that exists. */
  async saveJobConfig(c: JobConfigInput, opts: { create?: boolean } = {}): Promise<JobConfigView> {
    const jobConfig = { ...c, id: c.id ?? randomUUID(), active: c.active ?? true };
    const sched = jobConfig.schedule as Schedule | undefined;
    if (sched?.type === 'cron' && typeof sched.cron === 'string') {
      const problem = validateCron(sched.cron); // the time zone is the core's to check (schedule.timeZone)
      if (problem) throw new OrderlyError(invalid([{ path: 'schedule.cron', message: problem }]));
    }
    await this.run({ type: 'saveJobConfig', jobConfig, ...(opts.create ? { create: true } : {}) });
    return this.getJobConfig(jobConfig.id)!;
  }

  getJobConfig(id: string): JobConfigView | undefined {
    const s = this.engine.state;
    const c = s.jobConfigs.get(id);
    if (!c) return undefined;
    let activeRuns = 0;
    let queuedRuns = 0;
    for (const o of s.orders.values()) {
      if (o.jobConfig !== id || !isActiveRun(o)) continue;
      activeRuns++;
      if (o.state !== 'processing' && o.state !== 'stopped' && o.state !== 'forked' && o.executions === 0 && o.held.length === 0) queuedRuns++;
    }
    const v: JobConfigView = { ...structuredClone(c.def), effectiveBlocking: effectiveBlocking(s, c.def), fires: c.fires.map((f) => ({ ...f })), activeRuns, queuedRuns };
    const next = this.scheduler.nextFireTime(id);
    if (next !== undefined) v.nextFireTime = next;
    return v;
  }

  listJobConfigs(): JobConfigView[] {
    return [...this.engine.state.jobConfigs.keys()].map((id) => this.getJobConfig(id)!);
  }

  async deleteJobConfig(id: string): Promise<void> {
    await this.run({ type: 'deleteJobConfig', id });
  }

  /** Starts a run (an order) of a job config; returns the order id. */
  async runJobConfig(id: string, opts: { id?: string; arguments?: Record<string, string>; priority?: number } = {}): Promise<string> {
    const orderId = opts.id ?? randomUUID();
    const cmd: Command = { type: 'runJobConfig', id, orderId };
    if (opts.arguments) cmd.arguments = opts.arguments;
    if (opts.priority !== undefined) cmd.priority = opts.priority;
    await this.run(cmd);
    return orderId;
  }

  /** Sets (adds or replaces) an alias of a job config: only the hashes of its key and secret are kept. */
  async setJobConfigAlias(id: string, alias: { name: string; keyHash: string; secretHash?: string }): Promise<void> {
    await this.run({ type: 'setJobConfigAlias', id, alias });
  }

  async deleteJobConfigAlias(id: string, name: string): Promise<void> {
    await this.run({ type: 'deleteJobConfigAlias', id, name });
  }

  /** The aliases of a job config (undefined: no such job config). */
  listJobConfigAliases(id: string): JobConfigAlias[] | undefined {
    const c = this.engine.state.jobConfigs.get(id);
    return c ? (c.aliases ?? []).map((a) => ({ ...a })) : undefined;
  }

  /** The job config an alias runs, and the alias. */
  findJobConfigAlias(name: string): { jobConfig: string; alias: JobConfigAlias } | undefined {
    return findAlias(this.engine.state, name);
  }

  /** The runs of a job config still in memory (see endedOrdersKeptMax), oldest first. */
  listRuns(id: string): OrderView[] {
    const out: OrderView[] = [];
    for (const o of this.engine.state.orders.values()) if (o.jobConfig === id) out.push(orderView(o, this.engine.state));
    return out;
  }

  /** Stops the engine. Running jobs are killed; their orders are `disrupted` (or rerun) on the next start. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.unindex();
      this.scheduler.stop();
      try {
        await this.engine.close();
      } finally {
        await this.afterClose?.();
      }
    })());
  }
}

function copyTemplate(t: JobTemplate): JobTemplate {
  const c = { ...t };
  if (t.defaultArguments) c.defaultArguments = { ...t.defaultArguments };
  return c;
}

/** The output so far of a running job (positions in characters: live-output.ts). */
export interface RunningLog extends LiveSnapshot {
  orderId: string;
  executionId: string;
  job: string;
  startedAt: number;
}

export type LiveLogMessage = { type: 'running'; running: RunningLog } | { type: 'log'; executionId: string; chunks: LiveChunk[] };
