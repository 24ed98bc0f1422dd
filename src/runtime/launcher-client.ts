// The engine's side of the job launcher (launcher.ts): shell jobs are started by a child
// process, so that forking them costs the engine's event loop nothing but two IPC messages.
//
// - The launcher is started at the first shell job and reused; it exits when the engine
//   closes the channel (or dies: the channel closes with it).
// - If the launcher dies while jobs run, their process groups are killed (their pids came in
//   `spawned` messages) and each execution ends as failed `killed`, "job launcher exited";
//   the next shell job starts a new launcher.

import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import type { ExecutionRequest, ExecutionResult, RunningExecution } from './executor-types.js';
import type { LauncherReply, LauncherRequest } from './launcher.js';
import { LiveOutput } from './live-output.js';
import { killMarked } from './orphans.js';
import type { ShellExecutorOptions } from './shell-executor.js';

/** Under the TypeScript sources (tests), the launcher runs through tsx; built, as plain JS. */
function launcherEntry(): { file: string; execArgv: string[] } {
  const self = import.meta.url;
  if (self.endsWith('.ts')) return { file: fileURLToPath(new URL('./launcher.ts', self)), execArgv: ['--import', 'tsx'] };
  return { file: fileURLToPath(new URL('./launcher.js', self)), execArgv: [] };
}

class RemoteRun implements RunningExecution {
  readonly done: Promise<ExecutionResult>;
  resolve!: (r: ExecutionResult) => void;
  pid: number | undefined;
  settled = false;
  /** The job's output so far, as the launcher sends it. */
  readonly live = new LiveOutput();

  constructor(
    private readonly client: LauncherShellExecutor,
    readonly id: string,
  ) {
    this.done = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  kill(): void {
    if (!this.settled) this.client.send({ t: 'kill', id: this.id });
  }

  settle(r: ExecutionResult): void {
    if (this.settled) return;
    this.settled = true;
    this.live.close();
    this.resolve(r);
  }
}

export class LauncherShellExecutor {
  private child: ChildProcess | undefined;
  /** Every job of the current launcher carries ORDERLY_LAUNCHER_ID=<this> in its environment. */
  private launcherId = '';
  private readonly runs = new Map<string, RemoteRun>();
  private closed = false;

  /**
   * `jobsDieWithEngine`: when this process dies (even by SIGKILL) the launcher kills the running
   * jobs instead of leaving them to the next engine (a cluster node: their locks may go to
   * another node once this one is reported lost).
   */
  constructor(
    private readonly opts: ShellExecutorOptions,
    private readonly launcherOpts: { jobsDieWithEngine?: boolean } = {},
  ) {}

  start(req: ExecutionRequest): RunningExecution {
    const run = new RemoteRun(this, req.executionId);
    if (this.closed) {
      run.settle(failed('start-failed', 'the engine is closing'));
      return run;
    }
    this.runs.set(run.id, run);
    this.send({ t: 'start', id: run.id, req });
    this.refresh();
    return run;
  }

  /** @internal */
  send(m: LauncherRequest): void {
    const child = this.launcher();
    if (!child) return;
    try {
      child.send(m, (err) => {
        if (err) this.lost(child, `cannot reach the job launcher: ${err.message}`);
      });
    } catch (err) {
      this.lost(child, `cannot reach the job launcher: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The running launcher, started if needed; undefined after close(). */
  private launcher(): ChildProcess | undefined {
    if (this.closed) return undefined;
    if (this.child) return this.child;
    const { file, execArgv } = launcherEntry();
    const child = fork(file, [], {
      execArgv,
      // The marker lets the next engine find this process too if it outlives us.
      env: { ...process.env, ORDERLY_ENGINE_ID: this.opts.engineId },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    const launcherId = randomUUID();
    this.launcherId = launcherId;
    child.on('message', (raw: unknown) => this.onMessage(raw as LauncherReply));
    child.on('error', (err) => this.lost(child, `job launcher: ${err.message}`));
    child.on('exit', (code, signal) => this.lost(child, `job launcher exited (${signal ?? code ?? 'unknown'})`));
    const opts = { ...this.opts, extraEnv: { ...this.opts.extraEnv, ORDERLY_LAUNCHER_ID: launcherId } };
    child.send({ t: 'init', opts, ...(this.launcherOpts.jobsDieWithEngine ? { jobsDieWithEngine: true } : {}) } satisfies LauncherRequest);
    // Idle launchers must not keep the embedding program alive.
    this.refresh();
    return child;
  }

  private onMessage(m: LauncherReply): void {
    const run = this.runs.get(m.id);
    if (!run) return;
    if (m.t === 'spawned') run.pid = m.pid;
    else if (m.t === 'output') {
      for (const c of m.chunks) run.live.writeAt(c.stream, c.fromChars, c.text);
    } else {
      this.runs.delete(m.id);
      run.settle(m.result);
      this.refresh();
    }
  }

  /** The launcher keeps the event loop alive only while it runs jobs for us. */
  private refresh(): void {
    const child = this.child;
    if (!child) return;
    const channel = (child as ChildProcess & { channel?: { ref(): void; unref(): void } }).channel;
    if (this.runs.size > 0) {
      child.ref();
      channel?.ref();
    } else {
      child.unref();
      channel?.unref();
    }
  }

  /** The launcher is gone: its jobs cannot be watched any more, so they are ended. */
  private lost(child: ChildProcess, why: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    child.removeAllListeners('message');
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const run of this.runs.values()) {
      if (run.pid !== undefined) {
        try {
          process.kill(-run.pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      run.settle(failed('killed', why));
    }
    // A job whose `spawned` message was still on its way has no known pid: find it by its mark.
    if (this.runs.size > 0) void killMarked(`ORDERLY_LAUNCHER_ID=${this.launcherId}`);
    this.runs.clear();
  }

  /** The launcher's pid while it runs (tests, diagnostics). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Closes the channel; the launcher exits. Running jobs (if any) are left alone. */
  close(): void {
    this.closed = true;
    const child = this.child;
    this.child = undefined;
    if (child?.connected) child.disconnect();
    for (const run of this.runs.values()) run.settle(failed('killed', 'the engine closed'));
    this.runs.clear();
  }
}

function failed(reason: 'start-failed' | 'killed', message: string): ExecutionResult {
  return { outcome: { type: 'failed', reason, message }, stdout: '', stderr: '', stdoutDroppedBytes: 0, stderrDroppedBytes: 0 };
}
