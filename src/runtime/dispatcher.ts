// Jobs leave the engine through this port. The core hands each execution to a worker (by id,
// with the worker's lease and the attempt number: src/core/workers.ts); the engine passes it,
// after the commit, to the dispatcher, which gets it to that worker. Results come back as
// commands (`jobFinished`), a worker that is gone as `workerLost`.
//
// The embedded node has one dispatcher with one worker in this process (LocalWorker). A
// cluster's dispatcher will hand executions of other workers to them through the database.

import type { Outcome } from '../core/model.js';
import type { ExecutionRequest, ExecutionResult, RunningExecution } from './executor-types.js';
import type { FunctionExecutor } from './function-executor.js';
import type { LauncherShellExecutor } from './launcher-client.js';
import type { ShellExecutor } from './shell-executor.js';

export interface Dispatch extends ExecutionRequest {
  /** The worker the core chose; undefined when it chose none (no worker registered). */
  worker: string | undefined;
  lease: number | undefined;
  attempt: number;
}

export interface Dispatcher {
  /** Starts an execution on its worker; resolves with its result (the engine turns it into `jobFinished`). */
  dispatch(d: Dispatch): RunningExecution | undefined;
  /** The workers of this dispatcher that run here, with what they offer (registered at start and on change). */
  localWorkers(): readonly WorkerOffer[];
  /** Called with a worker whose offer changed (a function was registered): the engine registers it again. */
  onOfferChanged(listener: (offer: WorkerOffer) => void): void;
  /** Workers of other nodes that are alive now (a cluster's): recovery keeps their executions. */
  liveRemoteWorkers?(): Promise<ReadonlySet<string>>;
  close(): void;
}

export interface WorkerOffer {
  id: string;
  slots: number;
  functions: string[];
  /** The agents it serves (a node of a cluster may name them); absent: a catch-all. */
  agents?: string[];
}

/** The command that registers a worker with its offer. */
export function registerCommand(offer: WorkerOffer): { type: 'registerWorker'; workerId: string; slots: number; functions: string[]; agents?: string[] } {
  return { type: 'registerWorker', workerId: offer.id, slots: offer.slots, functions: offer.functions, ...(offer.agents ? { agents: offer.agents } : {}) };
}

/** One worker in this process: shell jobs through the shell executor, function jobs through the registered functions. */
export class LocalWorker {
  constructor(
    readonly id: string,
    readonly slots: number,
    readonly shell: ShellExecutor | LauncherShellExecutor,
    readonly functions: FunctionExecutor,
  ) {}

  offer(): WorkerOffer {
    return { id: this.id, slots: this.slots, functions: this.functions.names() };
  }

  start(req: ExecutionRequest): RunningExecution {
    return req.job.executable.TYPE === 'ShellScriptExecutable' ? this.shell.start(req) : this.functions.start(req);
  }
}

/** The embedded node's dispatcher: every execution runs on its one local worker. */
export class LocalDispatcher implements Dispatcher {
  private readonly listeners: ((offer: WorkerOffer) => void)[] = [];

  constructor(readonly worker: LocalWorker) {
    worker.functions.onRegister(() => {
      for (const l of this.listeners) l(worker.offer());
    });
  }

  dispatch(d: Dispatch): RunningExecution | undefined {
    // An execution given to another worker (a former life of this node, or another node) is not ours to run.
    if (d.worker !== undefined && d.worker !== this.worker.id) return undefined;
    return this.worker.start(d);
  }

  localWorkers(): readonly WorkerOffer[] {
    return [this.worker.offer()];
  }

  onOfferChanged(listener: (offer: WorkerOffer) => void): void {
    this.listeners.push(listener);
  }

  close(): void {
    this.worker.shell.close();
  }
}

export type { ExecutionResult, Outcome };
