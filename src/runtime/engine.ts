// The runtime loop: commands in, `decide`, one journal commit per turn (group commit),
// then — and only then — effects: answers, event subscribers, job starts, kills, timers.
//
// A turn takes every command that arrived since the last one. If a commit fails the
// in-memory state is ahead of the journal: the engine stops (every later call rejects)
// and a restart recovers from the journal, which is the truth.

import { randomUUID } from 'node:crypto';
import { type Command, type Problem } from '../core/commands.js';
import { decide, nextDeadline } from '../core/decide.js';
import type { Event, Stamped } from '../core/events.js';
import { evolve } from '../core/evolve.js';
import type { Grant, Order } from '../core/model.js';
import { instructionAt } from '../core/positions.js';
import { DEFAULT_CORE_OPTIONS, deserializeState, emptyState, serializeState, snapshotSpacing, workflowOf, type CoreOptions, type State } from '../core/state.js';
import type { JournalStore } from '../journal/types.js';
import type { ExecutionRequest, RunningExecution } from './executor-types.js';
import { FunctionExecutor } from './function-executor.js';
import { LauncherShellExecutor } from './launcher-client.js';
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
  /** Called when the engine stops on an error it cannot recover from (a failed commit). */
  onFatal?: (err: unknown) => void;
}

/** One turn takes at most this many rounds of commands / ms before yielding to the event loop. */
const TURN_ROUNDS_MAX = 64;
const TURN_TIME_MAX_MS = 5;

export class CommandRefused extends Error {
  override name = 'CommandRefused';
  constructor(readonly problem: Problem) {
    super(problem.message);
  }
}

interface Pending {
  cmd: Command;
  resolve: (events: Event[]) => void;
  reject: (err: unknown) => void;
}

export type EventListener = (events: readonly Stamped[]) => void;

export class Engine {
  readonly state: State;
  readonly engineId: string;
  readonly functions: FunctionExecutor;
  private readonly shell: ShellExecutor | LauncherShellExecutor;
  private readonly clock: () => number;
  private readonly coreOptions: CoreOptions;
  private pending: Pending[] = [];
  private turnScheduled = false;
  private turning = false;
  private broken: unknown;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private readonly running = new Map<string, RunningExecution>();
  private readonly listeners = new Set<EventListener>();
  private eventsSinceSnapshot = 0;
  private readonly snapshotEveryEvents: number;
  private readonly idle = new Set<() => void>();

  private constructor(
    readonly store: JournalStore,
    state: State,
    engineId: string,
    private readonly opts: EngineOptions,
  ) {
    this.state = state;
    this.engineId = engineId;
    this.clock = opts.clock ?? Date.now;
    this.functions = opts.functions ?? new FunctionExecutor();
    this.coreOptions = { ...DEFAULT_CORE_OPTIONS, ...opts.core };
    this.snapshotEveryEvents = opts.snapshotEveryEvents ?? 50_000;
    const shellOpts: ConstructorParameters<typeof ShellExecutor>[0] = { scriptDir: opts.scriptDir, engineId };
    if (opts.logBytesMax !== undefined) shellOpts.logBytesMax = opts.logBytesMax;
    this.shell = opts.jobLauncher === 'inline' ? new ShellExecutor(shellOpts) : new LauncherShellExecutor(shellOpts);
  }

  /** Loads the newest snapshot, replays the journal after it, and recovers what a crash left. */
  static async open(opts: EngineOptions): Promise<Engine> {
    const store = opts.store;
    const state = await loadState(store);
    let engineId = await store.getMeta('engineId');
    if (!engineId) {
      engineId = randomUUID();
      await store.setMeta('engineId', engineId);
    }
    const engine = new Engine(store, state, engineId, opts);
    await engine.recover();
    return engine;
  }

  private async recover(): Promise<void> {
    // Job processes of a previous life of this engine are orphans: nobody waits for them.
    await killOrphans(this.engineId);
    const lost: Command[] = [];
    for (const o of this.state.orders.values()) {
      if (o.state === 'processing' && o.execution) lost.push({ type: 'executionLost', orderId: o.id, executionId: o.execution.id });
    }
    const slots = this.opts.slots ?? 4;
    const cmds: Command[] = [{ type: 'setSlots', slots }, ...lost, { type: 'tick' }];
    await Promise.all(cmds.map((c) => this.submit(c)));
  }

  // ------------------------------------------------------------ commands

  /** Runs a command; resolves with its events once they are durable, rejects with CommandRefused. */
  submit(cmd: Command): Promise<Event[]> {
    if (this.broken) return Promise.reject(this.fatalError());
    if (this.closed) return Promise.reject(new Error('engine is closed'));
    return new Promise<Event[]>((resolve, reject) => {
      this.pending.push({ cmd, resolve, reject });
      this.scheduleTurn();
    });
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
    if (this.turning || this.broken) return;
    this.turning = true;
    const started = performance.now();
    let rounds = 0;
    try {
      for (;;) {
        if (this.pending.length === 0 && this.running.size > 0 && rounds < TURN_ROUNDS_MAX && performance.now() - started < TURN_TIME_MAX_MS) {
          // In-process jobs often end within a few microtasks: take their results in this
          // turn instead of a trip through the event loop (bounded, so I/O is not starved).
          for (let i = 0; i < 8 && this.pending.length === 0; i++) await Promise.resolve();
        }
        if (this.pending.length === 0 || this.broken) break;
        rounds++;
        const batch = this.pending;
        this.pending = [];
        const now = this.clock();
        const all: Event[] = [];
        const results: { p: Pending; events?: Event[]; problem?: Problem }[] = [];
        for (const p of batch) {
          let d;
          try {
            d = decide(this.state, p.cmd, now, this.coreOptions);
          } catch (err) {
            // A broken invariant: the state can no longer be trusted.
            this.fail(err);
            p.reject(err);
            return;
          }
          if (d.ok) {
            all.push(...d.events);
            results.push({ p, events: d.events });
          } else results.push({ p, problem: d.problem });
        }
        let stamped: Stamped[] = [];
        if (all.length > 0) {
          try {
            const first = await this.store.append(all);
            stamped = all.map((event, i) => ({ seq: first + i, event }));
            this.state.seq = first + all.length - 1;
          } catch (err) {
            this.fail(err);
            for (const r of results) r.p.reject(this.fatalError());
            return;
          }
        }
        for (const r of results) {
          if (r.problem) r.p.reject(new CommandRefused(r.problem));
          else r.p.resolve(r.events!);
        }
        if (stamped.length > 0) {
          this.effects(all);
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
            if (this.eventsSinceSnapshot >= snapshotSpacing(this.state, this.snapshotEveryEvents)) await this.snapshot();
          }
        }
        this.armTimer();
      }
    } finally {
      this.turning = false;
      if (this.pending.length > 0 && !this.broken) this.scheduleTurn();
      else for (const f of this.idle) f();
    }
  }

  private fail(err: unknown): void {
    this.broken = err;
    for (const p of this.pending) p.reject(this.fatalError());
    this.pending = [];
    if (this.timer) clearTimeout(this.timer);
    this.opts.onFatal?.(err);
  }

  private fatalError(): Error {
    const msg = this.broken instanceof Error ? this.broken.message : String(this.broken);
    return new Error(`engine stopped after a fatal error: ${msg}`);
  }

  /** Writes a snapshot of the state now. */
  async snapshot(): Promise<void> {
    this.eventsSinceSnapshot = 0;
    await this.store.saveSnapshot({ seq: this.state.seq, state: serializeState(this.state), at: this.clock() });
  }

  // ------------------------------------------------------------ effects (after commit)

  private effects(events: readonly Event[]): void {
    for (const e of events) {
      if (e.type === 'OrderProcessingStarted') this.startExecution(e.orderId, e.executionId);
      else if (e.type === 'OrderCancelMarked' && e.kill) {
        const o = this.state.orders.get(e.orderId);
        if (o?.execution) this.running.get(o.execution.id)?.kill();
      }
    }
  }

  private startExecution(orderId: string, executionId: string): void {
    const o = this.state.orders.get(orderId);
    if (!o || o.execution?.id !== executionId) return;
    const wf = workflowOf(this.state, o);
    const instr = instructionAt(wf, o.position);
    if (instr?.TYPE !== 'Execute.Named') return;
    let job = wf.jobs[instr.jobName]!;
    if (job.timeout === undefined && o.jobConfig !== undefined) {
      // A job config's timeout holds for each job of its runs that has none of its own.
      const c = this.state.jobConfigs.get(o.jobConfig)?.def;
      const timeout = c?.timeout ?? (c?.templateId !== undefined ? this.state.jobTemplates.get(c.templateId)?.timeout : undefined);
      if (timeout !== undefined) job = { ...job, timeout };
    }
    const req: ExecutionRequest = {
      executionId,
      orderId,
      workflow: o.workflow,
      jobName: instr.jobName,
      job,
      arguments: { ...job.defaultArguments, ...instr.defaultArguments, ...o.arguments },
      locks: heldGrants(o),
    };
    const run = job.executable.TYPE === 'ShellScriptExecutable' ? this.shell.start(req) : this.functions.start(req);
    this.running.set(executionId, run);
    void run.done.then(async (r) => {
      this.running.delete(executionId);
      if (this.closed) return;
      if (r.stdout || r.stderr) {
        try {
          await this.store.putLog({
            orderId,
            executionId,
            job: instr.jobName,
            stdout: r.stdout,
            stderr: r.stderr,
            stdoutDroppedBytes: r.stdoutDroppedBytes,
            stderrDroppedBytes: r.stderrDroppedBytes,
            at: this.clock(),
          });
        } catch {
          // A lost log does not stop the order.
        }
      }
      this.submit({ type: 'jobFinished', orderId, executionId, outcome: r.outcome }).catch(() => undefined);
    });
  }

  private armTimer(): void {
    const at = nextDeadline(this.state);
    if (at === undefined || this.closed) return;
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    const delay = Math.max(0, Math.min(at - this.clock(), 2 ** 31 - 1));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.submit({ type: 'tick' }).catch(() => undefined);
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

  get runningExecutions(): number {
    return this.running.size;
  }

  /** Stops taking commands; kills running jobs when `killJobs` (their orders recover on restart). */
  async close(opts: { killJobs?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    await this.whenIdle();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (opts.killJobs !== false) {
      const runs = [...this.running.values()];
      for (const r of runs) r.kill();
      await Promise.all(runs.map((r) => r.done));
    }
    this.shell.close();
    if (!this.broken) await this.snapshot().catch(() => undefined);
    await this.store.close();
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
    for (const { seq, event } of batch) {
      evolve(state, event);
      state.seq = seq;
    }
  }
  return state;
}

export function heldGrants(o: Order): Grant[] {
  const out: Grant[] = [];
  for (const h of o.held) out.push(...h.grants);
  return out;
}
