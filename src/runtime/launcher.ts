// The job launcher: a small child process of the engine that starts shell jobs.
//
// Starting a process (fork + exec) costs the forking process about 2–3 ms of CPU here, most of
// it while the event loop waits. Done in the engine's process, every shell job start would
// stall the engine's turns and the HTTP server; done here, on the other core, it costs the
// engine one IPC message each way. This process runs the same ShellExecutor the engine would
// run in-process (launcher-client.ts is the engine's side), so process groups, environment,
// bounded logs, timeouts and return-code meaning are the same either way.
//
// Protocol (JSON over the IPC channel, in order):
//   engine → launcher: {t:'init', opts} once, then {t:'start', id, req} and {t:'kill', id}
//   launcher → engine: {t:'spawned', id, pid} when a job's process group exists,
//                      {t:'output', id, chunks} the job's new output, batched (live-output.ts:
//                      at most one message per 100 ms and 64 Ki characters per stream),
//                      {t:'done', id, result} once per start, after its last output
// When the channel closes (the engine exited, however), the launcher exits; it leaves running
// jobs alone, as the engine itself would: the next engine kills them as orphans
// (ORDERLY_ENGINE_ID in their environment, and in this process's). With `jobsDieWithEngine`
// (a cluster node: another node may be granted their locks once this one is reported lost,
// so they must not outlive it) it SIGKILLs their process groups first.

import process from 'node:process';
import type { ExecutionRequest, ExecutionResult, RunningExecution } from './executor-types.js';
import type { LiveChunk } from './live-output.js';
import { killMarked } from './orphans.js';
import { ShellExecutor, type ShellExecutorOptions } from './shell-executor.js';

export type LauncherRequest =
  | { t: 'init'; opts: ShellExecutorOptions; jobsDieWithEngine?: boolean }
  | { t: 'start'; id: string; req: ExecutionRequest }
  | { t: 'kill'; id: string };

export type LauncherReply =
  | { t: 'spawned'; id: string; pid: number }
  | { t: 'output'; id: string; chunks: LiveChunk[] }
  | { t: 'done'; id: string; result: ExecutionResult };

function main(): void {
  const send = process.send?.bind(process);
  if (!send) {
    process.stderr.write('orderly job launcher: must be started by the engine (no IPC channel)\n');
    process.exit(2);
  }
  let executor: ShellExecutor | undefined;
  let jobsDieWithEngine = false;
  let launcherMark = '';
  const runs = new Map<string, RunningExecution>();
  /** The process group of each running job, once spawned. */
  const groups = new Map<string, number>();
  const reply = (m: LauncherReply): void => {
    // The engine may be gone or going (the channel closes under a pending send): nothing to tell.
    if (process.connected) send(m, undefined, undefined, () => undefined);
  };
  process.on('message', (raw: unknown) => {
    const m = raw as LauncherRequest;
    switch (m.t) {
      case 'init':
        executor = new ShellExecutor(m.opts);
        jobsDieWithEngine = m.jobsDieWithEngine === true;
        launcherMark = m.opts.extraEnv?.['ORDERLY_LAUNCHER_ID'] ?? '';
        break;
      case 'start': {
        if (!executor) throw new Error('orderly job launcher: start before init');
        const run = executor.start(m.req, {
          onSpawn: (pid) => {
            groups.set(m.id, pid);
            reply({ t: 'spawned', id: m.id, pid });
          },
        });
        runs.set(m.id, run);
        run.live?.listen((chunks) => reply({ t: 'output', id: m.id, chunks }));
        void run.done.then((result) => {
          runs.delete(m.id);
          groups.delete(m.id);
          reply({ t: 'done', id: m.id, result });
        });
        break;
      }
      case 'kill':
        runs.get(m.id)?.kill();
        break;
    }
  });
  process.on('disconnect', () => {
    if (!jobsDieWithEngine || runs.size === 0) process.exit(0);
    for (const pgid of groups.values()) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    // A job still being spawned has no group yet: found by its mark.
    const spawning = runs.size > groups.size && launcherMark !== '';
    void (spawning ? killMarked(`ORDERLY_LAUNCHER_ID=${launcherMark}`) : Promise.resolve(0)).finally(() => process.exit(0));
  });
  // The engine's terminal signals are not ours: the engine decides what happens to jobs.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => process.exit(0));
}

main();
