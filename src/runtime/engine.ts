// The runtime loop: commands in, `decide`, one journal commit per turn (group commit),
// then — and only then — effects: answers, event subscribers, job starts, kills, timers.
//
// Two states: `decide` works on the working state; readers (`engine.state`) see the committed
// one. With a store that commits inside the call (SQLite, memory: SyncJournal) they are one
// object, since nothing can read between a decision and its commit. With a store that commits
// asynchronously, the committed state is a second copy that the committed events are applied
// to. A failed commit rolls the working state back (rebuilt from the journal, or copied from
// the committed state), rejects the callers whose commands were in it, and puts the engine in
// `refusing` mode (see EngineMode) until the journal can be written again.
//
// A turn takes every command that arrived since the last one.
//
// Early starts (EngineOptions.earlyStarts, a documented exception to "only then"): restartable
// jobs on this node's own worker start right after `decide`, their results are decided into the
// same commit, and while a commit is under way the next one is decided (one under way at a
// time). Readers and callers still see only what is committed; see docs/decisions.md.

import { randomUUID } from 'node:crypto';
import { AssertionFailed, type Command, type Problem } from '../core/commands.js';
import { decide, nextDeadline } from '../core/decide.js';
import type { Event, Stamped } from '../core/events.js';
import { evolve } from '../core/evolve.js';
import { nothingToEvaluate, outcomeAfterStderr, positionPath, prepareExecution, runnableExecutable } from '../core/job-execution.js';
import { typedOrderVariable } from '../core/order-preparation.js';
import type { ArgumentValue, Grant, Job, Order, Outcome, Position, Workflow } from '../core/model.js';
import { isRestartable, LIMITS } from '../core/model.js';
import { instructionAt, jobAt } from '../core/positions.js';
import { DEFAULT_CORE_OPTIONS, deserializeState, emptyState, serializeState, snapshotSpacing, workflowOf, type CoreOptions, type State } from '../core/state.js';
import { isSyncJournal, StaleEpoch, type JournalStore, type SyncJournal } from '../journal/types.js';
import { stepLogOf, type ExecutionResult, type RunningExecution } from './executor-types.js';
import type { LiveOutput } from './live-output.js';
import { FunctionExecutor } from './function-executor.js';
import { LauncherShellExecutor } from './launcher-client.js';
import { LocalDispatcher, LocalWorker, registerCommand, type Dispatcher } from './dispatcher.js';
import { killOrphans } from './orphans.js';
import { ShellExecutor } from './shell-executor.js';

export interface EngineOptions {
  store: JournalStore;
  /** Worker slots: executions at once on this node (Actian's "available concurrency"). */
  slots?: number;
  /** Folder for job script files; default: a temp folder per engine id. */
  scriptDir: string;
  functions?: FunctionExecutor;
  clock?: () => number;
  /** A snapshot is written after this many events (default 50,000). */
  snapshotEveryEvents?: number;
  /** Bytes of each output stream kept per job execution (default 256 KiB). */
  logBytesMax?: number;
  core?: Partial<CoreOptions>;
  /**
   * Where shell jobs are started: 'process' (default) = a job launcher child process, so that
   * forking costs the engine's event loop nothing; 'inline' = in this process.
   */
  jobLauncher?: 'process' | 'inline';
  /** Called when the engine stops on an error it cannot recover from (a broken invariant, a deposed writer). */
  onFatal?: (err: unknown) => void;
  /** Called on every change of mode (refusing while the journal cannot be written, and back). */
  onModeChange?: (mode: EngineMode, cause: unknown) => void;
  /** Where executions go (default: one worker in this process, running shell and the registered function jobs). */
  dispatcher?: Dispatcher;
  /** Timers (default: the platform's); the simulator brings its own clock and timers. */
  timers?: Timers;
  /** While refusing: first wait before checking the journal again (default 100 ms), doubled up to `retryMaxMs` (default 2,000 ms). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /**
   * The node's own job processes: killed at recovery when left by a former life of the node
   * (default: the engine id, when the engine builds its own executors; none with a dispatcher
   * of the caller's, whose node kills them).
   */
  orphansOf?: string;
  /**
   * Early starts (docs/decisions.md): a job marked restartable, on this node's own worker,
   * starts as soon as it is decided, before the commit that records its start and its locks'
   * grants, and its result may be decided into the same commit, so that one commit carries
   * several handoffs of a lock. A documented trade of journal-first (semantics §9) for speed:
   * if that commit is lost, the job ran though the journal does not say so, and it runs again
   * (which `restartable` allows). Tokens stay unique: the journal holds a headroom, and every
   * writer moves every token on by it first. Only with a store that commits asynchronously.
   */
  earlyStarts?: boolean;
}

/** What the journal's writer answered to a command another node sent it. */
export type ForwardAnswer =
  | { ok: true; events: Event[]; /** The journal holds the command's events once it reached this seq. */ seq: number }
  | { ok: false; problem: Problem }
  | { ok: false; unavailable: string };

/** How a follower's commands reach the journal's writer (a cluster's controller). */
export type Forward = (cmd: Command) => Promise<ForwardAnswer>;

/** One turn takes at most this many rounds of commands / ms before yielding to the event loop. */
const TURN_ROUNDS_MAX = 64;
/**
 * One commit takes at most this many commands: a flood of commands (a forwarded backlog, many
 * results at once) is journaled in several commits, each short enough to end well within a
 * cluster controller's lease.
 */
export const BATCH_COMMANDS_MAX = 2_000;
/** A follower reads at most this many events at once, and waits at most this long for more before asking again. */
const FOLLOW_BATCH_MAX = 10_000;
const FOLLOW_WAIT_MS = 5_000;
const TURN_TIME_MAX_MS = 5;
/** Grants that early starts may show to jobs ahead of the journal (the token headroom). */
export const EARLY_STARTS_HEADROOM = 10_000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;

/**
 * The engine's life, one mode at a time:
 *
 *     following ─→ starting ─→ running ⇄ refusing
 *         │           │          │          │
 *         └───────────┴──────────┴──→ stopping ─→ stopped
 *     any but stopped ─→ failed ─→ stopping
 *
 * - following: another node writes the journal (a cluster's stand-by): the state is the
 *   journal's as read, commands are sent to the writer (see Forward) and answered once this
 *   node has read their events, nothing runs here. `promote` makes it the writer.
 * - starting: recovering; takes the recovery's own commands (and callers' ones, queued).
 * - running: takes commands.
 * - refusing: the journal could not be written (a full disk): commands from callers are
 *   refused (EngineUnavailable, naming the cause); the engine's own (job results, timers) are
 *   kept; readers see the last committed state. The engine checks the journal by itself and
 *   goes back to running when it can write, then commits what it kept.
 * - stopping / stopped: close() was called.
 * - failed: a broken invariant or a deposed writer; every call is refused, readers still see
 *   the last committed state.
 */
export type EngineMode = 'following' | 'starting' | 'running' | 'refusing' | 'stopping' | 'stopped' | 'failed';

const TRANSITIONS: Readonly<Record<EngineMode, readonly EngineMode[]>> = {
  following: ['starting', 'stopping', 'failed'],
  starting: ['running', 'refusing', 'stopping', 'failed'],
  running: ['refusing', 'stopping', 'failed'],
  refusing: ['running', 'stopping', 'failed'],
  stopping: ['stopped'],
  stopped: [],
  failed: ['stopping'],
};

export class CommandRefused extends Error {
  override name = 'CommandRefused';
  constructor(readonly problem: Problem) {
    super(problem.message);
  }
}

/** The engine cannot commit now (the journal cannot be written); it goes on by itself when it can. */
export class EngineUnavailable extends Error {
  override name = 'EngineUnavailable';
  constructor(override readonly cause: unknown) {
    super(`the journal cannot be written (${causeText(cause)}); commands are refused until it can, reads answer the last committed state`);
  }
}

/** The engine was closed, or stopped on a fatal error. */
export class EngineStopped extends Error {
  override name = 'EngineStopped';
}

function causeText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** A commit under way (early starts decide on while it is). */
interface Commit {
  done: boolean;
  /** Resolves once it is done, either way. */
  settled: Promise<void>;
}

/** One commit's worth of decisions: its commands, their events and answers, its early starts. */
interface Round {
  batch: Pending[];
  all: Event[];
  results: Decided[];
  /** Executions started early in it. */
  early: string[];
  /** Grants in it, counted while early starts are on. */
  grants: number;
}

interface Decided {
  p: Pending;
  events?: Event[];
  problem?: Problem;
}

interface Pending {
  cmd: Command;
  resolve: (events: Event[]) => void;
  reject: (err: unknown) => void;
  /** The engine's own command (a job result, a timer, recovery): kept while refusing, committed later. */
  keep: boolean;
}

export interface SubmitOptions {
  /**
   * The engine's own kind of command, which must not be lost (a job's result, a timer): while
   * the journal cannot be written it is kept, and committed when it can. Callers' commands
   * are refused instead.
   */
  keep?: boolean;
}

export type EventListener = (events: readonly Stamped[]) => void;

export interface Timers {
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const PLATFORM_TIMERS: Timers = {
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface JobStartPlan {
  at: { name: string; job: Job; defaultArguments?: Record<string, ArgumentValue> };
  instruction: { label: string | undefined; defaultArguments: Record<string, ArgumentValue> | undefined };
  instructionPath: string;
  /** The path of an anonymous job (in its instruction); undefined for a named job. */
  jobPath: string | undefined;
  /** The job with its executable as the runtime runs it. */
  runnableJob: Job;
  /** Nothing to evaluate at start (no defaults, job resources or env): the order's arguments as they are. */
  plain: boolean;
}

const NOOP = (): void => undefined;

/** Job start plans of one deployed workflow by position, one level per element (looked up without building a key). */
interface PlanNode {
  plan?: JobStartPlan | null;
  next?: Map<string | number, PlanNode>;
}

export class Engine {
  /** What `decide` works on: ahead of the journal while a commit is under way. */
  private working: State;
  /** What readers see: the state as committed (the same object as `working` with a SyncJournal). */
  private committed: State;
  readonly engineId: string;
  readonly functions: FunctionExecutor;
  readonly dispatcher: Dispatcher;
  private readonly timers: Timers;
  private readonly clock: () => number;
  private readonly coreOptions: CoreOptions;
  private readonly sync: SyncJournal | undefined;
  private pending: Pending[] = [];
  /** The engine's own commands (a job's result, a timer's tick) submitted so far, and as many as had come when pending was last taken. */
  private ownSubmitted = 0;
  private ownTaken = 0;
  /** The engine's own commands kept while refusing, in order. */
  private kept: Pending[] = [];
  private turnScheduled = false;
  private turning = false;
  private currentMode: EngineMode = 'starting';
  private modeCause: unknown;
  private retryTimer: unknown;
  private retryMs: number;
  private timer: unknown;
  private timerAt = Infinity;
  private readonly running = new Map<string, RunningExecution>();
  private readonly jobStarts = new WeakMap<Workflow, PlanNode>();
  private readonly listeners = new Set<EventListener>();
  private readonly modeListeners = new Set<(mode: EngineMode) => void>();
  private eventsSinceSnapshot = 0;
  private readonly snapshotEveryEvents: number;
  private readonly idle = new Set<() => void>();
  /** Early starts: executions started before the commit under way (id → order). */
  private readonly early = new Map<string, string>();
  /** Grants made so far in the commit under way (early starts stop at the headroom). */
  private earlyGrants = 0;
  /** No early start until a commit has moved the tokens on (at the start, and after a failed commit). */
  private earlyBlocked = true;
  /** Early starts: called once when a command is pending (gather waits for one while a commit is under way). */
  private onPending: (() => void) | undefined;
  /** Early starts whose commit failed, still running: killed, their results dropped. */
  private readonly earlyOrphans = new Set<string>();
  /** Early starts whose commit failed: lost, once the journal is read again, if it holds them after all. */
  private earlyLost: { orderId: string; executionId: string }[] = [];
  private readonly earlyStarts: boolean;
  /** This node's own workers (early starts run only there). */
  private readonly localWorkerIds: ReadonlySet<string>;

  private constructor(
    readonly store: JournalStore,
    state: State,
    engineId: string,
    /** The writer's epoch, carried by every append (0 while following). */
    private writerEpoch: number,
    private readonly opts: EngineOptions,
    /** Set: the engine follows the journal (mode `following`) and sends commands here. */
    private readonly forward?: Forward,
  ) {
    this.sync = isSyncJournal(store) ? store : undefined;
    if (forward) {
      if (this.sync) throw new Error('engine: a journal that commits inside the call has one writer; it has no followers');
      this.currentMode = 'following';
    }
    if (opts.earlyStarts === true && this.sync) throw new Error('engine: early starts need a journal that commits asynchronously (PostgreSQL); this one commits inside the call');
    this.earlyStarts = opts.earlyStarts === true;
    this.working = state;
    this.committed = this.sync ? state : copyState(state);
    this.engineId = engineId;
    this.clock = opts.clock ?? Date.now;
    this.functions = opts.functions ?? new FunctionExecutor();
    this.snapshotEveryEvents = opts.snapshotEveryEvents ?? 50_000;
    this.retryMs = opts.retryMinMs ?? RETRY_MIN_MS;
    this.timers = opts.timers ?? PLATFORM_TIMERS;
    if (opts.dispatcher) this.dispatcher = opts.dispatcher;
    else {
      const shellOpts: ConstructorParameters<typeof ShellExecutor>[0] = { scriptDir: opts.scriptDir, engineId };
      if (opts.logBytesMax !== undefined) shellOpts.logBytesMax = opts.logBytesMax;
      const shell = opts.jobLauncher === 'inline' ? new ShellExecutor(shellOpts) : new LauncherShellExecutor(shellOpts);
      // The worker of this life of the node: a new id each start, so that recovery can tell the
      // executions of the former life (their worker is gone) from those of this one.
      const workerId = `${engineId}:${randomUUID().slice(0, 8)}`;
      this.dispatcher = new LocalDispatcher(new LocalWorker(workerId, opts.slots ?? 4, shell, this.functions));
    }
    // Of the workers with the most free slots, this node's own gets the execution: it starts
    // here, with no trip through the journal's database (a cluster's other workers).
    this.localWorkerIds = new Set(this.dispatcher.localWorkers().map((w) => w.id));
    const own = this.dispatcher.localWorkers()[0]?.id;
    this.coreOptions = { ...DEFAULT_CORE_OPTIONS, ...(own !== undefined ? { preferredWorker: own } : {}), ...opts.core };
    // A worker that offers more (a function registered after the start) registers again: orders
    // waiting for a worker that runs that function start then.
    this.dispatcher.onOfferChanged((offer) => {
      // While following, the node tells the writer itself (its dispatcher's business).
      if (this.currentMode === 'following' || this.currentMode === 'stopping' || this.currentMode === 'stopped' || this.currentMode === 'failed') return;
      this.submit(registerCommand(offer), { keep: true }).catch(() => undefined);
    });
  }

  /** Loads the newest snapshot, replays the journal after it, and recovers what a crash left. */
  static async open(opts: EngineOptions): Promise<Engine> {
    const store = opts.store;
    const epoch = await store.acquireWriter();
    const state = await loadState(store);
    let engineId = await store.getMeta('engineId');
    if (!engineId) {
      engineId = randomUUID();
      await store.setMeta('engineId', engineId);
    }
    const engine = new Engine(store, state, engineId, epoch, opts);
    await engine.recover();
    return engine;
  }

  /**
   * Opens the engine as a follower of a journal another node writes (a cluster's stand-by):
   * it reads the journal as it is appended, sends commands through `forward`, runs nothing,
   * until `promote`. Only for a store that commits asynchronously (a shared database).
   */
  static async openFollower(opts: EngineOptions, forward: Forward): Promise<Engine> {
    const store = opts.store;
    const state = await loadState(store);
    // The id is the journal's; a follower does not write it (its writer did, or will).
    const engineId = (await store.getMeta('engineId')) ?? 'unknown';
    const engine = new Engine(store, state, engineId, 0, opts, forward);
    engine.followLoop = engine.follow();
    return engine;
  }

  /** The writer's epoch, carried by every append (0 while following). */
  get epoch(): number {
    return this.writerEpoch;
  }

  // ------------------------------------------------------------ following

  private followLoop: Promise<void> | undefined;
  /** A read and its application, while one is under way: promote waits for it. */
  private followStep: Promise<void> = Promise.resolve();
  private promoting = false;
  /** Forwarded commands waiting until the state holds their events. */
  private seqWaiters: { seq: number; resolve: () => void }[] = [];

  /** Reads the journal on as it is appended, until promoted or closed. */
  private async follow(): Promise<void> {
    let backoffMs = this.opts.retryMinMs ?? RETRY_MIN_MS;
    while (this.currentMode === 'following' && !this.promoting) {
      try {
        let read = 0;
        this.followStep = (async () => {
          const batch = await this.store.readAfter(this.committed.seq, FOLLOW_BATCH_MAX);
          if (this.currentMode !== 'following' || this.promoting) return;
          read = batch.length;
          this.applyFollowed(batch);
        })();
        await this.followStep;
        backoffMs = this.opts.retryMinMs ?? RETRY_MIN_MS;
        if (read === 0 && this.currentMode === 'following' && !this.promoting) await this.store.waitForAppend(this.committed.seq, FOLLOW_WAIT_MS);
      } catch {
        // The database cannot be reached now: the reads are tried again, more slowly.
        if (this.currentMode !== 'following' || this.promoting) break;
        await new Promise<void>((r) => this.timers.setTimeout(r, backoffMs));
        backoffMs = Math.min(backoffMs * 2, this.opts.retryMaxMs ?? RETRY_MAX_MS);
      }
    }
  }

  /** Events read from the journal: into the state, then to subscribers. */
  private applyFollowed(batch: readonly Stamped[]): void {
    if (batch.length === 0) return;
    try {
      for (const { seq, event } of batch) {
        if (seq !== this.committed.seq + 1) throw new AssertionFailed(`engine: followed event ${seq} does not follow ${this.committed.seq}`);
        evolve(this.committed, event);
        this.committed.seq = seq;
      }
    } catch (err) {
      this.failHard(err);
      return;
    }
    for (const l of this.listeners) {
      try {
        l(batch);
      } catch {
        // A listener's error is its own.
      }
    }
    this.wakeSeqWaiters();
  }

  private wakeSeqWaiters(): void {
    if (this.seqWaiters.length === 0) return;
    const seq = this.committed.seq;
    const due = this.seqWaiters.filter((w) => w.seq <= seq);
    if (due.length === 0) return;
    this.seqWaiters = this.seqWaiters.filter((w) => w.seq > seq);
    for (const w of due) w.resolve();
  }

  /**
   * On a follower: resolves once its state holds every event the journal holds now, so that
   * what a client wrote through another node is read here. At once on the writer.
   */
  async catchUp(): Promise<void> {
    if (this.currentMode !== 'following') return;
    const last = await this.store.lastSeq();
    await this.untilSeq(last);
  }

  /** Resolves once the state holds event `seq` (or the engine stopped following for good). */
  private untilSeq(seq: number): Promise<void> {
    if (this.committed.seq >= seq) return Promise.resolve();
    return new Promise((resolve) => this.seqWaiters.push({ seq, resolve }));
  }

  /** A follower's command: the writer decides; answered once this node has read its events. */
  private async forwardCommand(cmd: Command): Promise<Event[]> {
    const a = await this.forward!(cmd);
    if (!a.ok) {
      if ('problem' in a) throw new CommandRefused(a.problem);
      throw new EngineUnavailable(new Error(a.unavailable));
    }
    await this.untilSeq(a.seq);
    if (this.currentMode === 'failed') throw this.fatalError();
    return a.events;
  }

  /**
   * A follower becomes the journal's writer with `epoch` (the node took the controller lease):
   * it reads what is left of the journal, then recovers as a writer does (the workers that are
   * gone lose their executions) and takes commands. Commands sent meanwhile are answered by
   * this engine once it writes.
   */
  async promote(epoch: number): Promise<void> {
    if (this.currentMode !== 'following') throw new AssertionFailed(`engine: promote while ${this.currentMode}`);
    this.promoting = true;
    await this.followStep.catch(() => undefined);
    for (;;) {
      const batch = await this.store.readAfter(this.committed.seq, FOLLOW_BATCH_MAX);
      if (batch.length === 0) break;
      this.applyFollowed(batch);
      if ((this.currentMode as EngineMode) === 'failed') throw this.fatalError();
    }
    this.writerEpoch = epoch;
    this.working = copyState(this.committed);
    this.setMode('starting');
    await this.recover();
  }

  /** The state as committed: what every reader sees. */
  get state(): State {
    return this.committed;
  }

  get mode(): EngineMode {
    return this.currentMode;
  }

  /** Why the engine is refusing or failed. */
  get cause(): unknown {
    return this.modeCause;
  }

  private setMode(to: EngineMode, cause?: unknown): void {
    const from = this.currentMode;
    if (from === to) return;
    if (!TRANSITIONS[from].includes(to)) throw new AssertionFailed(`engine: no way from ${from} to ${to}`);
    this.currentMode = to;
    this.modeCause = to === 'refusing' || to === 'failed' ? cause : undefined;
    for (const f of this.modeListeners) f(to);
    try {
      this.opts.onModeChange?.(to, cause);
    } catch {
      // the listener's own error
    }
  }

  private async recover(): Promise<void> {
    // Job processes of a previous life of this engine are orphans: nobody waits for them.
    const orphansOf = this.opts.orphansOf ?? (this.opts.dispatcher ? undefined : this.engineId);
    if (orphansOf !== undefined) await killOrphans(orphansOf);
    // Registered first, so that executions rerun after a loss find a worker.
    const local = this.dispatcher.localWorkers();
    // Workers of other nodes that are alive keep their executions (a cluster).
    const remote = (await this.dispatcher.liveRemoteWorkers?.()) ?? new Set<string>();
    const mine = new Set([...local.map((w) => w.id), ...remote]);
    const register: Command[] = local.map(registerCommand);
    // The workers of a former life are gone: exactly their executions are lost. Executions
    // started before workers were recorded name none: they are lost too.
    const lost: Command[] = [];
    for (const w of this.working.workers.values()) if (!mine.has(w.id)) lost.push({ type: 'workerLost', workerId: w.id });
    for (const o of this.working.orders.values()) {
      if (o.state === 'processing' && o.execution && o.execution.worker === undefined) lost.push({ type: 'executionLost', orderId: o.id, executionId: o.execution.id });
    }
    const slots = this.opts.slots ?? 4;
    // Tokens first move on past any a former writer showed ahead of the journal (early starts).
    const headroom: Command = { type: 'setTokenHeadroom', headroom: this.earlyStarts ? EARLY_STARTS_HEADROOM : 0 };
    const cmds: Command[] = [headroom, { type: 'setSlots', slots }, ...register, ...lost, { type: 'tick' }];
    // Open returns once recovery is committed, or once the journal turned out not writable (the
    // recovery is then kept and committed when it is).
    const refusing = new Promise<void>((resolve) => {
      const f = (m: EngineMode): void => {
        if (m === 'refusing' || m === 'failed') {
          this.modeListeners.delete(f);
          resolve();
        }
      };
      this.modeListeners.add(f);
    });
    await Promise.race([Promise.all(cmds.map((c) => this.submit(c, { keep: true }))), refusing]);
    if (this.currentMode === 'failed') throw new EngineStopped(`engine failed while recovering: ${causeText(this.modeCause)}`);
    if (this.currentMode === 'starting') this.setMode('running');
    // Executions of other live workers, given out by the writer before: handed to them again
    // (the dispatcher ignores one it has already; their results come back as commands).
    if (remote.size > 0) {
      for (const o of this.working.orders.values()) {
        const exe = o.execution;
        if (o.state === 'processing' && exe?.worker !== undefined && remote.has(exe.worker)) this.startExecution(o.id, exe.id);
      }
    }
  }

  // ------------------------------------------------------------ commands

  /** Runs a command; resolves with its events once they are durable, rejects with CommandRefused. */
  submit(cmd: Command, opts: SubmitOptions = {}): Promise<Event[]> {
    const keep = opts.keep === true;
    switch (this.currentMode) {
      case 'starting':
      case 'running':
        break;
      case 'refusing':
        if (keep) return new Promise<Event[]>((resolve, reject) => this.kept.push({ cmd, resolve, reject, keep }));
        return Promise.reject(new EngineUnavailable(this.modeCause));
      case 'failed':
        return Promise.reject(this.fatalError());
      case 'following':
        return this.forwardCommand(cmd);
      default:
        return Promise.reject(new EngineStopped('engine is closed'));
    }
    return new Promise<Event[]>((resolve, reject) => {
      this.pending.push({ cmd, resolve, reject, keep });
      this.scheduleTurn();
      this.onPending?.();
    });
  }

  /**
   * The engine's own command that nobody waits on (a job's result, a timer): as `submit` with
   * `keep`, without a promise to settle.
   */
  private submitOwn(cmd: Command): void {
    switch (this.currentMode) {
      case 'starting':
      case 'running':
        this.pending.push({ cmd, resolve: NOOP, reject: NOOP, keep: true });
        this.ownSubmitted++;
        this.scheduleTurn();
        this.onPending?.();
        return;
      case 'refusing':
        this.kept.push({ cmd, resolve: NOOP, reject: NOOP, keep: true });
        return;
      case 'following':
        this.forwardCommand(cmd).catch(NOOP);
        return;
      default:
        // failed, stopping, stopped: refused, and nobody to tell.
        return;
    }
  }

  private get taking(): boolean {
    return this.currentMode === 'running' || this.currentMode === 'starting';
  }

  private scheduleTurn(): void {
    if (this.turnScheduled || this.turning) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      void this.turn();
    });
  }

  private async turn(): Promise<void> {
    if (this.turning || !this.taking) return;
    this.turning = true;
    const started = performance.now();
    let rounds = 0;
    /** Early starts: what was decided while the last commit was under way, to commit next. */
    let carried: Round | undefined;
    try {
      for (;;) {
        let r: Round;
        if (carried !== undefined) {
          r = carried;
          carried = undefined;
        } else {
          if (
            this.ownSubmitted === this.ownTaken &&
            this.running.size > 0 &&
            (this.pending.length > 0 || (rounds < TURN_ROUNDS_MAX && performance.now() - started < TURN_TIME_MAX_MS))
          ) {
            // In-process jobs often end within a few microtasks: take their results in this
            // turn instead of a trip through the event loop (bounded when nothing else waits,
            // so I/O is not starved), and in this round with what came meanwhile: a job that
            // adds an order has the add and its result in one commit, not two.
            for (let i = 0; i < 8 && this.ownSubmitted === this.ownTaken; i++) await Promise.resolve();
          }
          if (this.pending.length === 0 || !this.taking) break;
          rounds++;
          const batch = this.takePending(BATCH_COMMANDS_MAX);
          r = { batch, all: [], results: [], early: [], grants: 0 };
          if (!this.decideInto(batch, batch, r.all, r.results)) return;
          // Early starts: jobs started before this commit whose results come within a few
          // microtasks are decided into it too, and the next jobs start at once.
          if (this.earlyStarts && this.startEarly(r, 0) > 0 && !(await this.gather(r))) return;
        }
        let stamped: Stamped[] = [];
        const all = r.all;
        const batch = r.batch;
        if (all.length > 0) {
          let first: number;
          try {
            if (this.sync) first = this.sync.appendSync(all, this.writerEpoch);
            else if (!this.earlyStarts) first = await this.store.append(all, this.writerEpoch);
            else {
              // While this commit is under way, what comes is decided and its restartable jobs
              // start: a handoff does not wait for the commit before it.
              const appended = this.store.append(all, this.writerEpoch);
              const commit: Commit = { done: false, settled: appended.then(NOOP, NOOP) };
              void commit.settled.then(() => (commit.done = true));
              const next: Round = { batch: [], all: [], results: [], early: [], grants: 0 };
              if (!(await this.gather(next, commit))) {
                // The engine failed meanwhile: nothing more is committed here.
                await commit.settled;
                this.settleFailed(batch);
                return;
              }
              if (next.batch.length > 0) carried = next;
              first = await appended;
            }
          } catch (err) {
            const uncommitted = carried === undefined ? batch : [...batch, ...carried.batch];
            carried = undefined;
            this.dropEarly(uncommitted);
            if (err instanceof StaleEpoch) this.failHard(err, uncommitted);
            else this.appendFailed(err, uncommitted);
            return;
          }
          if (this.currentMode === 'failed') {
            // Committed, but the engine was failed from outside meanwhile (a lost lease): it
            // starts nothing more; the next writer reads these events and recovers from them.
            this.dropEarly(carried?.batch);
            this.settleFailed(carried === undefined ? batch : [...batch, ...carried.batch]);
            return;
          }
          const last = first + all.length - 1;
          stamped = all.map((event, i) => ({ seq: first + i, event }));
          this.working.seq = last;
          if (this.committed !== this.working) applyCommitted(this.committed, all, last);
        }
        for (const x of r.results) {
          if (x.problem) x.p.reject(new CommandRefused(x.problem));
          else x.p.resolve(x.events!);
        }
        if (stamped.length > 0) {
          this.effects(all);
          // Committed: its early starts and its grants are no longer ahead of the journal.
          for (const id of r.early) this.early.delete(id);
          this.earlyGrants -= r.grants;
          if (this.earlyStarts && this.earlyBlocked && all.some((e) => e.type === 'LockTokensAdvanced')) this.earlyBlocked = false;
          for (const l of this.listeners) {
            try {
              l(stamped);
            } catch {
              // A listener's error is its own.
            }
          }
          // A store that snapshots by itself (the SQLite sidecar) needs none from this loop.
          if (!this.store.backgroundSnapshots) {
            this.eventsSinceSnapshot += stamped.length;
            if (this.eventsSinceSnapshot >= snapshotSpacing(this.working, this.snapshotEveryEvents)) await this.snapshot().catch(() => undefined);
          }
        }
        this.armTimer();
      }
    } finally {
      this.turning = false;
      if (this.pending.length > 0 && this.taking) this.scheduleTurn();
      else for (const f of this.idle) f();
    }
  }

  /** Up to `max` of the pending commands, in order. */
  private takePending(max: number): Pending[] {
    this.ownTaken = this.ownSubmitted;
    if (this.pending.length <= max) {
      const all = this.pending;
      this.pending = [];
      return all;
    }
    return this.pending.splice(0, max);
  }

  /** Decides `cmds` on the working state; false when an invariant broke (the engine failed, `batch` settled). */
  private decideInto(cmds: readonly Pending[], batch: Pending[], all: Event[], results: Decided[]): boolean {
    const now = this.clock();
    for (const p of cmds) {
      let d;
      try {
        d = decide(this.working, p.cmd, now, this.coreOptions);
      } catch (err) {
        // A broken invariant: the working state can no longer be trusted.
        this.dropEarly(batch);
        this.failHard(err, batch);
        return false;
      }
      if (d.ok) {
        if (d.events.length > 0) for (const e of d.events) all.push(e);
        results.push({ p, events: d.events });
      } else results.push({ p, problem: d.problem });
    }
    return true;
  }

  /**
   * Early starts: decides into `r` the commands that come (the results of jobs started early),
   * starting the next restartable jobs at once. With no commit under way, it takes what comes
   * within a few microtasks, bounded as a turn is (64 rounds, 5 ms), and returns. While `commit`
   * is under way it goes on until the commit is done (or BATCH_COMMANDS_MAX commands), letting
   * I/O in at each bound and waiting for a command when none is there: a handoff then never
   * waits for the commit before it. False when the engine failed meanwhile; `r`'s callers are
   * settled then.
   */
  private async gather(r: Round, commit?: Commit): Promise<boolean> {
    let since = performance.now();
    let rounds = 0;
    while (r.batch.length < BATCH_COMMANDS_MAX) {
      if (rounds >= TURN_ROUNDS_MAX || performance.now() - since >= TURN_TIME_MAX_MS) {
        if (commit === undefined) break;
        // The commit under way has its answer read (and other I/O runs) before going on.
        await new Promise<void>((resolve) => setImmediate(resolve));
        since = performance.now();
        rounds = 0;
      } else if (this.pending.length === 0) {
        for (let i = 0; i < 8 && this.pending.length === 0 && !(commit?.done ?? false); i++) await Promise.resolve();
        if (this.pending.length === 0 && commit !== undefined && !commit.done) {
          // Whichever comes first: a command (a job's result) or the commit's answer.
          await new Promise<void>((resolve) => {
            this.onPending = resolve;
            void commit.settled.then(resolve);
          });
          this.onPending = undefined;
        }
      }
      if ((this.currentMode as EngineMode) === 'failed') {
        // Failed from outside (a lost lease) meanwhile: nothing of this is committed.
        this.dropEarly();
        this.settleFailed(r.batch);
        return false;
      }
      if (commit?.done === true) break;
      if (this.pending.length === 0) {
        if (commit === undefined || !this.taking) break;
        continue;
      }
      rounds++;
      const next = this.takePending(BATCH_COMMANDS_MAX - r.batch.length);
      for (const p of next) r.batch.push(p);
      const from = r.all.length;
      if (!this.decideInto(next, r.batch, r.all, r.results)) return false;
      this.startEarly(r, from);
    }
    return true;
  }

  /**
   * Early starts of `r.all[from..]`: the executions of restartable jobs on this node's own
   * workers start now, while the grants made ahead of the journal stay within its committed
   * headroom (and not before this writer's own advance is committed). Returns how many started.
   */
  private startEarly(r: Round, from: number): number {
    const headroom = this.earlyBlocked ? -1 : this.committed.tokenHeadroom;
    let started = 0;
    const all = r.all;
    for (let i = from; i < all.length; i++) {
      const e = all[i]!;
      if (e.type === 'OrderLocksAcquired') {
        this.earlyGrants += e.grants.length;
        r.grants += e.grants.length;
      } else if (e.type === 'OrderProcessingStarted' && this.earlyGrants <= headroom && this.startsEarly(e.orderId, e.worker)) {
        this.early.set(e.executionId, e.orderId);
        r.early.push(e.executionId);
        this.startExecution(e.orderId, e.executionId);
        started++;
      }
    }
    return started;
  }

  private startsEarly(orderId: string, worker: string | undefined): boolean {
    if (worker === undefined || !this.localWorkerIds.has(worker)) return false;
    const o = this.working.orders.get(orderId);
    if (o === undefined) return false;
    const job = this.jobStartPlan(workflowOf(this.working, o), o.position)?.at.job;
    return job !== undefined && isRestartable(job);
  }

  /**
   * Nothing decided since the last commit will be committed (a commit failed, or the engine
   * failed): the early starts among it that still run are killed (their results dropped), the
   * results already in hand are dropped, and the journal, once read again, tells whether it
   * holds them after all (then they are lost executions, run again).
   */
  private dropEarly(batch?: Pending[]): void {
    this.earlyBlocked = true;
    this.earlyGrants = 0;
    if (this.early.size === 0) return;
    const isEarlyResult = (p: Pending): boolean => p.cmd.type === 'jobFinished' && this.early.has(p.cmd.executionId);
    if (batch) for (let i = batch.length - 1; i >= 0; i--) if (isEarlyResult(batch[i]!)) batch.splice(i, 1);
    this.pending = this.pending.filter((p) => !isEarlyResult(p));
    for (const [executionId, orderId] of this.early) {
      const run = this.running.get(executionId);
      if (run) {
        this.earlyOrphans.add(executionId);
        run.kill();
      }
      this.earlyLost.push({ orderId, executionId });
    }
    this.early.clear();
  }

  /**
   * The working state as committed: rebuilt from the journal (SyncJournal), or copied from the
   * committed state (read again from the journal before the engine goes on, see retry).
   */
  private rollBack(): void {
    if (this.sync) {
      this.working = loadStateSync(this.sync);
      this.committed = this.working;
    } else {
      this.working = copyState(this.committed);
    }
  }

  /** A commit failed: nothing of the batch happened. Callers are refused, the engine's own commands kept. */
  private appendFailed(err: unknown, batch: Pending[]): void {
    if (this.currentMode === 'failed') {
      // Failed meanwhile: it stays failed (no retry), and the batch's callers are told.
      this.settleFailed(batch);
      return;
    }
    try {
      this.rollBack();
    } catch (rebuildErr) {
      this.failHard(rebuildErr, batch);
      return;
    }
    this.setMode('refusing', err);
    this.stopTimer();
    const refused = new EngineUnavailable(err);
    for (const p of [...batch, ...this.pending]) {
      if (p.keep) this.kept.push(p);
      else p.reject(refused);
    }
    this.pending = [];
    this.retryMs = this.opts.retryMinMs ?? RETRY_MIN_MS;
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.currentMode !== 'refusing') return;
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = undefined;
      void this.retry();
    }, this.retryMs);
  }

  /** While refusing: is the journal writable again? Then commit what was kept, and take commands. */
  private async retry(): Promise<void> {
    if (this.currentMode !== 'refusing') return;
    if (this.earlyOrphans.size > 0) {
      // Early starts of the failed commit are still ending: nothing is granted again before.
      this.scheduleRetry();
      return;
    }
    try {
      await this.store.checkWritable();
      if (!this.sync) {
        // A failed commit may have been written all the same (the answer was lost on its way):
        // what the journal holds is the truth, read again before going on.
        const s = await loadState(this.store);
        this.committed = s;
        this.working = copyState(s);
      }
    } catch (err) {
      if (this.currentMode !== 'refusing') return;
      this.modeCause = err;
      this.retryMs = Math.min(this.retryMs * 2, this.opts.retryMaxMs ?? RETRY_MAX_MS);
      this.scheduleRetry();
      return;
    }
    if (this.currentMode !== 'refusing') return;
    this.setMode('running');
    // Tokens move on past any shown by early starts of the failed commit; those the journal
    // holds after all (a commit whose answer was lost) are lost executions, run again.
    const first: Pending[] = [{ cmd: { type: 'setTokenHeadroom', headroom: this.earlyStarts ? EARLY_STARTS_HEADROOM : 0 }, resolve: NOOP, reject: NOOP, keep: true }];
    for (const l of this.earlyLost) {
      const o = this.working.orders.get(l.orderId);
      if (o?.state === 'processing' && o.execution?.id === l.executionId) first.push({ cmd: { type: 'executionLost', orderId: l.orderId, executionId: l.executionId }, resolve: NOOP, reject: NOOP, keep: true });
    }
    this.earlyLost = [];
    this.pending = [...first, ...this.kept, ...this.pending];
    this.kept = [];
    // A tick too: timers that came due meanwhile, and the timer armed again.
    this.pending.push({ cmd: { type: 'tick' }, resolve: () => undefined, reject: () => undefined, keep: true });
    this.scheduleTurn();
  }

  /**
   * Stops taking commands for good (mode `failed`, every waiting caller settled with the
   * cause), as on a broken invariant: the node calls it when it learns it is no longer the
   * journal's writer (its PostgreSQL lease is lost) before any append is refused. Reads go on.
   */
  fail(cause: unknown): void {
    if (this.currentMode === 'stopping' || this.currentMode === 'stopped') return;
    this.failHard(cause);
  }

  /** Kills every job running here (a deposed writer's: their locks may soon be granted to others). */
  killRunning(): void {
    for (const r of this.running.values()) r.kill();
  }

  /** A broken invariant or a deposed writer: every caller is settled with the cause, and the engine stops. */
  private failHard(err: unknown, batch: Pending[] = []): void {
    if (this.currentMode === 'failed') {
      // Failed from outside (a lost lease) while this batch's commit was under way.
      this.settleFailed(batch);
      return;
    }
    try {
      this.rollBack();
    } catch {
      // Readers keep what they had; a restart recovers from the journal.
    }
    this.setMode('failed', err);
    const waiting = this.seqWaiters;
    this.seqWaiters = [];
    for (const w of waiting) w.resolve();
    const fatal = this.fatalError();
    for (const p of [...batch, ...this.pending, ...this.kept]) p.reject(fatal);
    this.pending = [];
    this.kept = [];
    this.stopTimer();
    if (this.retryTimer) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.opts.onFatal?.(err);
  }

  /** The callers of a batch that was in flight when the engine failed: refused with the fatal error. */
  private settleFailed(batch: Pending[]): void {
    const fatal = this.fatalError();
    for (const p of batch) p.reject(fatal);
  }

  private stopTimer(): void {
    if (this.timer) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private fatalError(): Error {
    return new EngineStopped(`engine stopped after a fatal error: ${causeText(this.modeCause)}`);
  }

  /** Writes a snapshot of the committed state now. */
  async snapshot(): Promise<void> {
    this.eventsSinceSnapshot = 0;
    await this.store.saveSnapshot({ seq: this.committed.seq, state: serializeState(this.committed), at: this.clock() });
  }

  // ------------------------------------------------------------ effects (after commit)

  private effects(events: readonly Event[]): void {
    for (const e of events) {
      if (e.type === 'OrderProcessingStarted') {
        if (!this.early.has(e.executionId)) this.startExecution(e.orderId, e.executionId);
      } else if (e.type === 'OrderCancelMarked' && e.kill) {
        const o = this.working.orders.get(e.orderId);
        if (o?.execution) this.running.get(o.execution.id)?.kill();
      }
    }
  }

  /**
   * What starting a job at `pos` of `wf` needs that does not depend on the order: the job, its
   * instruction's label and defaults, the paths for problems, the job with its runnable
   * executable. Kept per deployed workflow (a deployed version is never changed in place).
   */
  private jobStartPlan(wf: Workflow, pos: Position): JobStartPlan | undefined {
    let node = this.jobStarts.get(wf);
    if (node === undefined) {
      node = {};
      this.jobStarts.set(wf, node);
    }
    for (const p of pos) {
      node.next ??= new Map();
      let child = node.next.get(p);
      if (child === undefined) {
        child = {};
        node.next.set(p, child);
      }
      node = child;
    }
    let plan = node.plan;
    if (plan === undefined) {
      const at = jobAt(wf, pos);
      const instr = instructionAt(wf, pos);
      const instructionPath = positionPath(wf, pos);
      plan = at
        ? {
            at,
            instruction: { label: instr?.label, defaultArguments: at.defaultArguments },
            instructionPath,
            jobPath: instr?.TYPE === 'Execute.Anonymous' ? `${instructionPath}.job` : undefined,
            runnableJob: { ...at.job, executable: runnableExecutable(at.job.executable) },
            plain: nothingToEvaluate(at.job, { defaultArguments: at.defaultArguments }, wf),
          }
        : null;
      node.plan = plan;
    }
    return plan ?? undefined;
  }

  private startExecution(orderId: string, executionId: string): void {
    const o = this.working.orders.get(orderId);
    if (!o || o.execution?.id !== executionId) return;
    const wf = workflowOf(this.working, o);
    const plan = this.jobStartPlan(wf, o.position);
    if (!plan) return;
    const at = plan.at;
    let job = at.job;
    let runnableJob = plan.runnableJob;
    if (job.timeout === undefined && o.jobConfig !== undefined) {
      // A job config's timeout holds for each job of its runs that has none of its own.
      const c = this.working.jobConfigs.get(o.jobConfig)?.def;
      const timeout = c?.timeout ?? (c?.templateId !== undefined ? this.working.jobTemplates.get(c.templateId)?.timeout : undefined);
      if (timeout !== undefined) {
        job = { ...job, timeout };
        runnableJob = { ...runnableJob, timeout };
      }
    }
    let args: Record<string, string>;
    let env: Record<string, string>;
    if (plan.plain) {
      // What prepareExecution gives when there is nothing to evaluate, without building its input.
      args = { ...o.arguments };
      env = {};
    } else {
      const prepared = prepareExecution({
        order: o,
        workflow: wf,
        jobName: at.name,
        ...(plan.jobPath !== undefined ? { jobPath: plan.jobPath } : {}),
        job,
        instruction: plan.instruction,
        instructionPath: plan.instructionPath,
        now: this.clock(),
        env: (name) => process.env[name],
        typedVariable: (name) => typedOrderVariable(wf.orderPreparation, o.arguments, name),
        jobResources: this.working.jobResources,
      });
      if (!prepared.ok) {
        // An argument or env expression failed: the execution fails without starting.
        const outcome: Outcome = { type: 'failed', reason: 'start-failed', message: prepared.message.slice(0, LIMITS.messageLengthMax) };
        this.submitOwn({ type: 'jobFinished', orderId, executionId, outcome });
        return;
      }
      args = prepared.value.arguments;
      env = prepared.value.env;
    }
    const exe = o.execution;
    const run = this.dispatcher.dispatch({
      executionId,
      orderId,
      workflow: o.workflow,
      jobName: at.name,
      // The prepared executable is the job's own made runnable (the same for every start).
      job: runnableJob,
      arguments: args,
      env,
      locks: heldGrants(o),
      worker: exe.worker,
      lease: exe.lease,
      attempt: exe.attempt ?? 1,
    });
    if (!run) return; // another worker's: its result comes back as a command from there
    this.running.set(executionId, run);
    void run.done.then((r) => {
      this.running.delete(executionId);
      // An early start whose commit failed: it never happened as far as the journal knows.
      if (this.earlyOrphans.delete(executionId)) return;
      if (this.currentMode === 'stopping' || this.currentMode === 'stopped') return;
      if (r.stdout || r.stderr) return this.logThenFinish(orderId, executionId, job, at.name, r);
      this.submitOwn({ type: 'jobFinished', orderId, executionId, outcome: outcomeAfterStderr(job, r.outcome, r.stderrDroppedBytes > 0) });
    });
  }

  /** An execution that wrote output: its log is kept, then its result committed (a lost log does not stop the order). */
  private async logThenFinish(orderId: string, executionId: string, job: Job, jobName: string, r: ExecutionResult): Promise<void> {
    try {
      await this.store.putLog(stepLogOf(orderId, executionId, jobName, r, this.clock()));
    } catch {
      // A lost log does not stop the order.
    }
    const outcome = outcomeAfterStderr(job, r.outcome, r.stderr !== '' || r.stderrDroppedBytes > 0);
    this.submitOwn({ type: 'jobFinished', orderId, executionId, outcome });
  }

  private armTimer(): void {
    const at = nextDeadline(this.working);
    if (at === undefined || !this.taking) return;
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) this.timers.clearTimeout(this.timer);
    this.timerAt = at;
    const delay = Math.max(0, Math.min(at - this.clock(), 2 ** 31 - 1));
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.submitOwn({ type: 'tick' });
    }, delay);
  }

  // ------------------------------------------------------------ reading and waiting

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when no command is pending (for tests and orderly shutdown). */
  whenIdle(): Promise<void> {
    if (!this.turning && !this.turnScheduled && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const f = (): void => {
        this.idle.delete(f);
        resolve();
      };
      this.idle.add(f);
    });
  }

  /** The engine's own commands kept while refusing (committed once the journal can be written). */
  get commandsKept(): number {
    return this.kept.length;
  }

  get runningExecutions(): number {
    return this.running.size;
  }

  /** The output so far of an execution running here (undefined when it runs elsewhere or has ended). */
  liveOutput(executionId: string): LiveOutput | undefined {
    const live = this.running.get(executionId)?.live;
    return live?.isClosed === false ? live : undefined;
  }

  /** Stops taking commands; kills running jobs when `killJobs` (their orders recover on restart). */
  async close(opts: { killJobs?: boolean } = {}): Promise<void> {
    if (this.currentMode === 'stopping' || this.currentMode === 'stopped') return;
    if (this.taking) await this.whenIdle();
    const failed = this.currentMode === 'failed';
    const followed = this.currentMode === 'following';
    this.setMode('stopping');
    const waiting = this.seqWaiters;
    this.seqWaiters = [];
    for (const w of waiting) w.resolve();
    this.stopTimer();
    if (this.retryTimer) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const closed = new EngineStopped('engine is closed');
    for (const p of [...this.pending, ...this.kept]) p.reject(closed);
    this.pending = [];
    this.kept = [];
    if (opts.killJobs !== false) {
      const runs = [...this.running.values()];
      for (const r of runs) r.kill();
      await Promise.all(runs.map((r) => r.done));
    }
    this.dispatcher.close();
    // A follower writes nothing (the writer snapshots); its reads end with the store.
    if (!failed && !followed) await this.snapshot().catch(() => undefined);
    await this.store.close();
    await this.followLoop;
    this.setMode('stopped');
  }
}

/** The state a journal describes: the newest snapshot, then every event after it. */
export async function loadState(store: JournalStore): Promise<State> {
  const snap = await store.loadSnapshot();
  const state = snap ? deserializeState(snap.state) : emptyState();
  if (snap) state.seq = snap.seq;
  for (;;) {
    const batch = await store.readAfter(state.seq, 10_000);
    if (batch.length === 0) break;
    replay(state, batch);
  }
  return state;
}

/** loadState without yielding, for a journal that reads synchronously. */
export function loadStateSync(store: SyncJournal): State {
  const snap = store.loadSnapshotSync();
  const state = snap ? deserializeState(snap.state) : emptyState();
  if (snap) state.seq = snap.seq;
  for (;;) {
    const batch = store.readAfterSync(state.seq, 10_000);
    if (batch.length === 0) break;
    replay(state, batch);
  }
  return state;
}

function replay(state: State, batch: readonly Stamped[]): void {
  for (const { seq, event } of batch) {
    evolve(state, event);
    state.seq = seq;
  }
}

/** A state of its own, equal to `s`. */
function copyState(s: State): State {
  const copy = deserializeState(serializeState(s));
  copy.seq = s.seq;
  return copy;
}

/** Applies committed events to the readers' copy. The events are copied: the working state holds the originals. */
function applyCommitted(committed: State, events: readonly Event[], lastSeq: number): void {
  for (const e of events) evolve(committed, copyJson(e));
  committed.seq = lastSeq;
}

/**
 * A copy of a JSON value that shares no object with it, equal to what a JSON round trip gives
 * (undefined fields left out, undefined in arrays and numbers that are not finite as null, -0 as 0),
 * without writing and parsing the text.
 */
export function copyJson<T>(v: T): T {
  return copyValue(v) as T;
}

function copyValue(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v + 0 : null; // -0 as 0, as JSON writes it
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const out: unknown[] = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      out[i] = x === undefined || typeof x === 'function' || typeof x === 'symbol' ? null : copyValue(x);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    const x: unknown = (v as Record<string, unknown>)[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    if (k === '__proto__') Object.defineProperty(out, k, { value: copyValue(x), enumerable: true, writable: true, configurable: true });
    else out[k] = copyValue(x);
  }
  return out;
}

export function heldGrants(o: Order): Grant[] {
  const out: Grant[] = [];
  for (const h of o.held) for (const g of h.grants) out.push(g);
  return out;
}
