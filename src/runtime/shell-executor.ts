// Runs ShellScriptExecutable jobs as processes in their own process group.
//
// - The script text is written once to `<scriptDir>/job-<sha256>` (mode 0700, atomic
//   rename) and executed directly, so its shebang counts; without `#!` it runs under /bin/sh.
// - Order arguments reach the job only through the environment (ORDERLY_*), never
//   spliced into the script text.
// - Timeout and kill(): SIGTERM to the whole group, SIGKILL after the grace time.
// - Leftovers: when the leader (the job's main process) exits while other processes of its
//   group still run (`sleep 60 & echo done`), they get SIGTERM, then SIGKILL after the grace
//   time, as on a timeout. The outcome is the leader's; the job's stderr log says what was
//   ended. The execution ends only once the group is gone, so the order's locks are never
//   released while a process of its job still runs.
// - `done` never rejects; it resolves after the leader exited, its group is gone and both
//   pipes closed, or at most `pipeCloseWaitMs` after the group is gone (a process that left
//   the group with setsid may hold the pipes), or `leftoverKillWaitMs` after SIGKILL when a
//   member of the group cannot be killed (uninterruptible sleep, another user's process).

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

import { envNameSuffix } from '../core/arguments.js';
import type { Outcome } from '../core/model.js';
import { BoundedBuffer, DEFAULT_LOG_BYTES_MAX } from './bounded-buffer.js';
import type { ExecutionRequest, ExecutionResult, RunningExecution } from './executor-types.js';
import { LiveOutput } from './live-output.js';
import { liveGroupMembers } from './orphans.js';
import { parseReturnCodeMeaning } from './return-codes.js';

export interface ShellExecutorOptions {
  scriptDir: string;
  engineId: string;
  /** Bytes kept per stream (the tail), default 256 KiB. */
  logBytesMax?: number;
  /** Default seconds between SIGTERM and SIGKILL when the job has no graceTimeout, default 15 s. */
  defaultGraceTimeoutMs?: number;
  extraEnv?: Record<string, string>;
  /** How long to wait for the pipes after the job's process group is gone, default 2000 ms. */
  pipeCloseWaitMs?: number;
  /** How long to wait for the group to be gone after SIGKILL before giving up on it, default 10 000 ms. */
  leftoverKillWaitMs?: number;
}

const DEFAULT_GRACE_MS = 15_000;
const DEFAULT_PIPE_CLOSE_WAIT_MS = 2_000;
const DEFAULT_LEFTOVER_KILL_WAIT_MS = 10_000;
/** Polling the group for leftovers: the first look after 10 ms, then twice as long each time, at most 250 ms. */
const GROUP_POLL_FIRST_MS = 10;
const GROUP_POLL_MAX_MS = 250;
const TIMER_MAX_MS = 2_147_483_647;
const ETXTBSY_RETRIES = 8;

export { envNameSuffix };

/** The environment of a job process. ORDERLY_* variables come last so nothing can spoof them. */
export function buildJobEnv(
  req: ExecutionRequest,
  engineId: string,
  extraEnv: Readonly<Record<string, string>> | undefined,
  base: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    // Never pass on ORDERLY_* of an enclosing run (stale arguments, another engine's id).
    if (v !== undefined && !k.startsWith('ORDERLY_')) env[k] = v;
  }
  if (extraEnv) Object.assign(env, extraEnv);
  if (req.env) Object.assign(env, req.env);
  env.ORDERLY_ORDER_ID = req.orderId;
  env.ORDERLY_WORKFLOW = req.workflow;
  env.ORDERLY_JOB = req.jobName;
  env.ORDERLY_EXECUTION_ID = req.executionId;
  env.ORDERLY_ARGUMENTS = JSON.stringify(req.arguments);
  for (const [name, value] of Object.entries(req.arguments)) env[`ORDERLY_ARG_${envNameSuffix(name)}`] = value;
  const tokens: Record<string, number> = {};
  for (const g of req.locks) {
    tokens[g.lock] = g.token;
    env[`ORDERLY_LOCK_TOKEN_${envNameSuffix(g.lock)}`] = String(g.token);
  }
  env.ORDERLY_LOCK_TOKENS = JSON.stringify(tokens);
  env.ORDERLY_ENGINE_ID = engineId;
  return env;
}

function errMessage(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

function errCode(e: unknown): string | undefined {
  return e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined;
}

function secondsToMs(s: number): number {
  if (!Number.isFinite(s) || s <= 0) return 0;
  return Math.min(Math.round(s * 1000), TIMER_MAX_MS);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ShellExecutor {
  private readonly scriptDir: string;
  private readonly engineId: string;
  private readonly logBytesMax: number;
  private readonly defaultGraceMs: number;
  private readonly extraEnv: Record<string, string> | undefined;
  private readonly pipeCloseWaitMs: number;
  private readonly leftoverKillWaitMs: number;
  private dirReady: Promise<void> | undefined;

  constructor(opts: ShellExecutorOptions) {
    this.scriptDir = opts.scriptDir;
    this.engineId = opts.engineId;
    this.logBytesMax = opts.logBytesMax ?? DEFAULT_LOG_BYTES_MAX;
    this.defaultGraceMs = opts.defaultGraceTimeoutMs ?? DEFAULT_GRACE_MS;
    this.extraEnv = opts.extraEnv;
    this.pipeCloseWaitMs = opts.pipeCloseWaitMs ?? DEFAULT_PIPE_CLOSE_WAIT_MS;
    this.leftoverKillWaitMs = opts.leftoverKillWaitMs ?? DEFAULT_LEFTOVER_KILL_WAIT_MS;
  }

  start(req: ExecutionRequest, hooks: ShellRunHooks = {}): RunningExecution {
    const run = new ShellRun(this, req, hooks);
    run.begin();
    return run;
  }

  /** Nothing to stop: the jobs are children of this process (the launcher's close() ends its process). */
  close(): void {}

  /** @internal */
  get settings(): {
    engineId: string;
    logBytesMax: number;
    defaultGraceMs: number;
    extraEnv: Record<string, string> | undefined;
    pipeCloseWaitMs: number;
    leftoverKillWaitMs: number;
  } {
    return {
      engineId: this.engineId,
      logBytesMax: this.logBytesMax,
      defaultGraceMs: this.defaultGraceMs,
      extraEnv: this.extraEnv,
      pipeCloseWaitMs: this.pipeCloseWaitMs,
      leftoverKillWaitMs: this.leftoverKillWaitMs,
    };
  }

  /** Writes the script once (content-addressed) and returns its path. @internal */
  async scriptFile(script: string): Promise<string> {
    const hash = createHash('sha256').update(script, 'utf8').digest('hex');
    const file = join(this.scriptDir, `job-${hash}`);
    try {
      const st = await stat(file);
      if (st.isFile() && (st.mode & 0o700) === 0o700) return file;
    } catch {
      // not there yet
    }
    this.dirReady ??= mkdir(this.scriptDir, { recursive: true, mode: 0o700 }).then(
      () => undefined,
      (e: unknown) => {
        this.dirReady = undefined;
        throw e;
      },
    );
    await this.dirReady;
    const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, script, { mode: 0o700, flag: 'wx' });
      await chmod(tmp, 0o700); // the umask may have taken bits away
      await rename(tmp, file);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    return file;
  }
}

export interface ShellRunHooks {
  /** Called once the job's process (the leader of its own process group) exists. */
  onSpawn?: (pid: number) => void;
}

type Termination = 'timeout' | 'killed';

class ShellRun implements RunningExecution {
  readonly done: Promise<ExecutionResult>;
  private resolveDone!: (r: ExecutionResult) => void;
  private readonly stdout: BoundedBuffer;
  private readonly stderr: BoundedBuffer;
  /** The output so far, as text, for watching the job while it runs. */
  readonly live = new LiveOutput();
  private readonly stdoutText = new StringDecoder('utf8');
  private readonly stderrText = new StringDecoder('utf8');
  private child: ChildProcess | undefined;
  private pid: number | undefined;
  private termination: Termination | undefined;
  private lastSignalSent: NodeJS.Signals | undefined;
  private leaderExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** The leader exited and no other process of its group runs any more. */
  private groupGone = false;
  private pipesClosed = false;
  private killSentAt: number | undefined;
  private settled = false;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private pipeTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private isSuccess: (rc: number) => boolean = (rc) => rc === 0;

  constructor(
    private readonly executor: ShellExecutor,
    private readonly req: ExecutionRequest,
    private readonly hooks: ShellRunHooks,
  ) {
    const max = executor.settings.logBytesMax;
    this.stdout = new BoundedBuffer(max);
    this.stderr = new BoundedBuffer(max);
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  begin(): void {
    this.prepareAndSpawn().catch((e: unknown) => this.finishWith({ type: 'failed', reason: 'start-failed', message: errMessage(e) }));
  }

  kill(): void {
    if (this.settled) return;
    if (this.leaderExit) {
      // The outcome is decided; what is left of the group is ended at once.
      if (!this.groupGone) this.note('killed: sent SIGKILL to the rest of the group');
      this.signalGroup('SIGKILL');
      return;
    }
    this.terminate('killed');
  }

  private async prepareAndSpawn(): Promise<void> {
    const exe = this.req.job.executable;
    if (exe.TYPE !== 'ShellScriptExecutable') {
      this.finishWith({ type: 'failed', reason: 'start-failed', message: `not a shell job: ${exe.TYPE}` });
      return;
    }
    try {
      this.isSuccess = parseReturnCodeMeaning(exe.returnCodeMeaning);
    } catch (e) {
      this.finishWith({ type: 'failed', reason: 'start-failed', message: errMessage(e) });
      return;
    }
    const env = buildJobEnv(this.req, this.executor.settings.engineId, this.executor.settings.extraEnv);
    const file = await this.executor.scriptFile(exe.script);
    if (this.termination) {
      this.finishWith({ type: 'failed', reason: this.termination, message: 'killed before it started' });
      return;
    }
    const [cmd, args] = exe.script.startsWith('#!') ? [file, [] as string[]] : ['/bin/sh', [file]];
    for (let attempt = 0; ; attempt++) {
      const err = await this.trySpawn(cmd, args, env);
      if (err === undefined) return;
      // ETXTBSY: another fork still held our script's write descriptor; it goes away at its exec.
      if (errCode(err) === 'ETXTBSY' && attempt < ETXTBSY_RETRIES) {
        await sleep(5 * (attempt + 1));
        if (this.termination) {
          this.finishWith({ type: 'failed', reason: this.termination, message: 'killed before it started' });
          return;
        }
        continue;
      }
      this.finishWith({ type: 'failed', reason: 'start-failed', message: `cannot start ${cmd}: ${errMessage(err)}` });
      return;
    }
  }

  /** Resolves undefined once running (or settled), or the spawn error. */
  private trySpawn(
    cmd: string,
    args: string[],
    env: Record<string, string>,
  ): Promise<unknown> {
    return new Promise<unknown>((resolve) => {
      let child: ChildProcess;
      try {
        child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
      } catch (e) {
        resolve(e);
        return;
      }
      let spawned = false;
      child.once('error', (e) => {
        if (!spawned) {
          resolve(e);
          return;
        }
        // After a successful spawn, errors come from kill() etc.: ignore.
      });
      child.once('spawn', () => {
        spawned = true;
        this.child = child;
        this.pid = child.pid;
        if (child.pid !== undefined) this.hooks.onSpawn?.(child.pid);
        child.stdout?.on('data', (b: Buffer) => {
          this.stdout.push(b);
          this.live.write('stdout', this.stdoutText.write(b));
        });
        child.stderr?.on('data', (b: Buffer) => {
          this.stderr.push(b);
          this.live.write('stderr', this.stderrText.write(b));
        });
        child.once('exit', (code, signal) => this.onExit(code, signal));
        child.once('close', () => {
          this.pipesClosed = true;
          this.finish();
        });
        const timeout = this.req.job.timeout;
        if (timeout !== undefined) {
          this.timeoutTimer = setTimeout(() => this.terminate('timeout'), secondsToMs(timeout));
        }
        // kill() may have come while spawning.
        if (this.termination && !this.lastSignalSent) this.sendTermination();
        resolve(undefined);
      });
    });
  }

  private terminate(why: Termination): void {
    if (this.termination) return;
    this.termination = why;
    clearTimeout(this.timeoutTimer);
    this.timeoutTimer = undefined;
    if (this.pid !== undefined) this.sendTermination();
  }

  /** SIGTERM to the group now, SIGKILL after the job's grace time if it still runs. */
  private sendTermination(): void {
    this.signalGroup('SIGTERM');
    const grace = this.req.job.graceTimeout;
    const graceMs = grace === undefined ? this.executor.settings.defaultGraceMs : secondsToMs(grace);
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      if (this.settled || this.groupGone) return;
      if (this.leaderExit && !this.termination) this.note('the rest of the group still ran after graceTimeout; sent SIGKILL');
      this.signalGroup('SIGKILL');
    }, Math.min(Math.max(0, graceMs), TIMER_MAX_MS));
  }

  private signalGroup(sig: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid === undefined) return;
    this.lastSignalSent = sig;
    if (sig === 'SIGKILL') this.killSentAt ??= Date.now();
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        if (!this.leaderExit) process.kill(pid, sig);
      } catch {
        // gone already
      }
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.leaderExit = { code, signal };
    clearTimeout(this.timeoutTimer);
    this.timeoutTimer = undefined;
    if (this.settled) return;
    void this.endLeftovers();
  }

  /** After the leader exited: ends what is left of its group, then waits until the group is gone. */
  private async endLeftovers(): Promise<void> {
    const pgid = this.pid!;
    const first = await liveGroupMembers(pgid);
    if (this.settled) return;
    if (first.length > 0) {
      this.note(`${first.length} process${first.length === 1 ? '' : 'es'} of the job's process group still ran after its main process ended; sent SIGTERM`);
      // After a timeout or kill() the group had its SIGTERM and its SIGKILL is due already.
      if (!this.termination) this.sendTermination();
      let waitMs = GROUP_POLL_FIRST_MS;
      for (;;) {
        await new Promise<void>((resolve) => {
          this.pollTimer = setTimeout(resolve, waitMs);
        });
        this.pollTimer = undefined;
        if (this.settled) return;
        const live = await liveGroupMembers(pgid);
        if (live.length === 0) break;
        if (this.killSentAt !== undefined && Date.now() - this.killSentAt >= this.executor.settings.leftoverKillWaitMs) {
          this.note(`${live.length} process${live.length === 1 ? '' : 'es'} of the group (${live.join(', ')}) outlived SIGKILL; the job ends without them`);
          break;
        }
        waitMs = Math.min(waitMs * 2, GROUP_POLL_MAX_MS);
      }
    }
    this.groupGone = true;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (this.pipesClosed) {
      this.finish();
      return;
    }
    // A process that left the group (setsid) may hold the pipes for ever: wait a little, then give up on them.
    this.pipeTimer = setTimeout(() => {
      this.pipeTimer = undefined;
      this.child?.stdout?.destroy();
      this.child?.stderr?.destroy();
      this.finish();
    }, this.executor.settings.pipeCloseWaitMs);
  }

  /** A line of Orderly's own in the job's stderr log. */
  private note(text: string): void {
    this.stderr.push(Buffer.from(`orderly: ${text}\n`, 'utf8'));
    this.live.write('stderr', `orderly: ${text}\n`);
  }

  private finish(): void {
    if (this.settled || !this.leaderExit || !this.groupGone) return;
    const { code, signal } = this.leaderExit;
    let outcome: Outcome;
    if (this.termination) {
      const timeout = this.req.job.timeout;
      const sig = signal ?? this.lastSignalSent;
      outcome = { type: 'failed', reason: this.termination };
      if (code !== null) outcome.returnCode = code;
      if (sig) outcome.signal = sig;
      outcome.message =
        this.termination === 'timeout' ? `timed out after ${timeout ?? 0} s${sig ? ` (${sig})` : ''}` : `killed${sig ? ` (${sig})` : ''}`;
    } else if (signal !== null) {
      const signo = osConstants.signals[signal] ?? 0;
      outcome = { type: 'failed', reason: 'returnCode', returnCode: 128 + signo, signal, message: `terminated by ${signal}` };
    } else {
      const rc = code ?? -1;
      outcome = this.isSuccess(rc)
        ? { type: 'succeeded', returnCode: rc }
        : { type: 'failed', reason: 'returnCode', returnCode: rc, message: `return code ${rc}` };
    }
    this.finishWith(outcome);
  }

  private finishWith(outcome: Outcome): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.graceTimer);
    clearTimeout(this.pipeTimer);
    clearTimeout(this.pollTimer);
    this.timeoutTimer = this.graceTimer = this.pipeTimer = this.pollTimer = undefined;
    this.live.write('stdout', this.stdoutText.end());
    this.live.write('stderr', this.stderrText.end());
    this.live.close();
    const out = this.stdout.finish();
    const err = this.stderr.finish();
    this.resolveDone({
      outcome,
      stdout: out.text,
      stderr: err.text,
      stdoutDroppedBytes: out.droppedBytes,
      stderrDroppedBytes: err.droppedBytes,
    });
  }
}
