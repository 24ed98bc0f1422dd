// Runs FunctionExecutable jobs: functions registered by the embedding program.
//
// Hot path: a no-op function costs a microtask and a few allocations; the AbortController
// and the log buffer are created only when used, and timers only when a timeout is set.

import type { Grant, Outcome } from '../core/model.js';
import { LIMITS } from '../core/model.js';
import { BoundedBuffer, DEFAULT_LOG_BYTES_MAX } from './bounded-buffer.js';
import type { ExecutionRequest, ExecutionResult, RunningExecution } from './executor-types.js';
import { LiveOutput } from './live-output.js';
import { parseReturnCodeMeaning } from './return-codes.js';

export interface JobContext {
  readonly orderId: string;
  readonly executionId: string;
  readonly workflow: string;
  readonly jobName: string;
  readonly arguments: Readonly<Record<string, string>>;
  /** Locks the order holds, with fencing tokens, outermost first. */
  readonly locks: readonly Grant[];
  /** Aborted on timeout and kill(). */
  readonly signal: AbortSignal;
  /** A line of output (kept like a shell job's stdout, bounded). */
  log(line: string): void;
}

export type JobFunction = (ctx: JobContext) => unknown | Promise<unknown>;

export interface FunctionExecutorOptions {
  /** Bytes of log output kept (the tail), default 256 KiB. */
  logBytesMax?: number;
}

function truncate(s: string): string {
  return s.length > LIMITS.messageLengthMax ? `${s.slice(0, LIMITS.messageLengthMax - 1)}…` : s;
}

function startFailed(message: string): RunningExecution {
  const result: ExecutionResult = {
    outcome: { type: 'failed', reason: 'start-failed', message },
    stdout: '',
    stderr: '',
    stdoutDroppedBytes: 0,
    stderrDroppedBytes: 0,
  };
  return { kill: () => undefined, done: Promise.resolve(result) };
}

export class FunctionExecutor {
  private readonly fns = new Map<string, JobFunction>();
  private readonly logBytesMax: number;

  constructor(opts: FunctionExecutorOptions = {}) {
    this.logBytesMax = opts.logBytesMax ?? DEFAULT_LOG_BYTES_MAX;
  }

  private readonly registered: (() => void)[] = [];

  register(name: string, fn: JobFunction): this {
    const fresh = !this.fns.has(name);
    this.fns.set(name, fn);
    if (fresh) for (const f of this.registered) f();
    return this;
  }

  /** The names registered, sorted. */
  names(): string[] {
    return [...this.fns.keys()].sort();
  }

  /** Calls `f` whenever a new name is registered. */
  onRegister(f: () => void): void {
    this.registered.push(f);
  }

  has(name: string): boolean {
    return this.fns.has(name);
  }

  start(req: ExecutionRequest): RunningExecution {
    const exe = req.job.executable;
    if (exe.TYPE !== 'FunctionExecutable') return startFailed(`not a function job: ${exe.TYPE}`);
    const fn = this.fns.get(exe.functionName);
    if (fn === undefined) return startFailed(`unknown function ${JSON.stringify(exe.functionName)}`);
    let isSuccess: (rc: number) => boolean;
    try {
      isSuccess = parseReturnCodeMeaning(exe.returnCodeMeaning);
    } catch (e) {
      return startFailed(e instanceof Error ? e.message : String(e));
    }
    return new FunctionRun(req, fn, isSuccess, this.logBytesMax);
  }
}

class FunctionRun implements RunningExecution {
  readonly done: Promise<ExecutionResult>;
  private resolveDone!: (r: ExecutionResult) => void;
  private controller: AbortController | undefined;
  private out: BoundedBuffer | undefined;
  private err: BoundedBuffer | undefined;
  private liveOutput: LiveOutput | undefined;
  private timer: NodeJS.Timeout | undefined;
  private settled = false;
  private ended: 'timeout' | 'killed' | undefined;

  constructor(
    private readonly req: ExecutionRequest,
    private readonly fn: JobFunction,
    private readonly isSuccess: (rc: number) => boolean,
    private readonly logBytesMax: number,
  ) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    const timeout = req.job.timeout;
    if (timeout !== undefined) {
      const ms = Number.isFinite(timeout) && timeout > 0 ? Math.min(Math.round(timeout * 1000), 2_147_483_647) : 0;
      this.timer = setTimeout(() => this.abort('timeout', `timed out after ${timeout} s`), ms);
    }
    // Never run the function inside start(): the caller may be mid-update.
    queueMicrotask(() => this.run());
  }

  private getSignal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.ended && !this.controller.signal.aborted) this.controller.abort(new Error(this.ended));
    return this.controller.signal;
  }

  /** The lines logged so far (made when first asked for or logged to). */
  get live(): LiveOutput {
    this.liveOutput ??= new LiveOutput();
    if (this.settled) this.liveOutput.close();
    return this.liveOutput;
  }

  private log(line: string): void {
    if (this.settled) return;
    this.out ??= new BoundedBuffer(this.logBytesMax);
    const text = line.endsWith('\n') ? line : `${line}\n`;
    this.out.push(text);
    this.live.write('stdout', text);
  }

  kill(): void {
    this.abort('killed', 'killed');
  }

  private abort(why: 'timeout' | 'killed', message: string): void {
    if (this.settled) return;
    this.ended = why;
    this.settle({ type: 'failed', reason: why, message });
    if (this.controller && !this.controller.signal.aborted) {
      try {
        this.controller.abort(new Error(why));
      } catch {
        // a listener threw: not our problem
      }
    }
  }

  private run(): void {
    if (this.settled) return; // killed before it ran
    const req = this.req;
    const getSignal = (): AbortSignal => this.getSignal();
    const ctx: JobContext = {
      orderId: req.orderId,
      executionId: req.executionId,
      workflow: req.workflow,
      jobName: req.jobName,
      arguments: req.arguments,
      locks: req.locks,
      get signal() {
        return getSignal();
      },
      log: (line: string) => this.log(line),
    };
    let result: unknown;
    try {
      result = this.fn(ctx);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      (result as PromiseLike<unknown>).then(
        (v) => this.succeed(v),
        (e: unknown) => this.fail(e),
      );
    } else {
      this.succeed(result);
    }
  }

  private succeed(v: unknown): void {
    if (this.settled) return;
    if (v !== null && typeof v === 'object' && typeof (v as { returnCode?: unknown }).returnCode === 'number') {
      const rc = (v as { returnCode: number }).returnCode;
      this.settle(
        this.isSuccess(rc)
          ? { type: 'succeeded', returnCode: rc }
          : { type: 'failed', reason: 'returnCode', returnCode: rc, message: `return code ${rc}` },
      );
      return;
    }
    this.settle({ type: 'succeeded' });
  }

  private fail(e: unknown): void {
    if (this.settled) return;
    let message: string;
    if (e instanceof Error) {
      message = e.message || e.name;
      if (e.stack) {
        this.err ??= new BoundedBuffer(this.logBytesMax);
        this.err.push(`${e.stack}\n`);
      }
    } else {
      try {
        message = typeof e === 'string' ? e : JSON.stringify(e) ?? String(e);
      } catch {
        message = String(e);
      }
    }
    this.settle({ type: 'failed', reason: 'exception', message: truncate(message) });
  }

  private settle(outcome: Outcome): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.liveOutput?.close();
    const out = this.out?.finish();
    const err = this.err?.finish();
    this.resolveDone({
      outcome,
      stdout: out?.text ?? '',
      stderr: err?.text ?? '',
      stdoutDroppedBytes: out?.droppedBytes ?? 0,
      stderrDroppedBytes: err?.droppedBytes ?? 0,
    });
  }
}
