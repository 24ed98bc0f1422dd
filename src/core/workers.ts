// Workers: where executions run. A worker registers with its slots and the functions it can
// run (shell jobs run on any worker); the core hands each execution to one worker, counts slots
// per worker, and a lost worker is a command that ends exactly its executions.
//
// Until a worker has ever registered (the core's own tests, journals from before workers)
// executions are handed to the node as a whole: the node's `slots` is the only bound and no
// worker is named. Once one has, executions go to workers only: with none left, orders wait.

import type { Job, Order } from './model.js';
import type { State } from './state.js';

export interface WorkerState {
  id: string;
  /** Executions at once on this worker. */
  slots: number;
  /** Functions this worker has registered (FunctionExecutable jobs run only where registered). */
  functions: string[];
  /** Raised by every registration of this id: an execution carries the lease it was given under. */
  lease: number;
  /** Derived: executions running here (order ids). */
  running: Set<string>;
}

/** Whether `w` can run `job` at all (slots aside). */
export function canRun(w: WorkerState, job: Job | undefined): boolean {
  const exe = job?.executable;
  if (exe?.TYPE === 'FunctionExecutable') return w.functions.includes(exe.functionName);
  return true;
}

/**
 * The worker for an execution of `job` now: the registered worker with the most free slots
 * that can run it (ties: the first registered); `undefined` when none has room or can run it.
 * `null` when no worker is registered at all (the node as a whole runs it).
 */
export function pickWorker(s: State, job: Job | undefined): WorkerState | undefined | null {
  if (!s.workersKnown) return null;
  let best: WorkerState | undefined;
  for (const w of s.workers.values()) {
    if (w.running.size >= w.slots || !canRun(w, job)) continue;
    if (!best || w.slots - w.running.size > best.slots - best.running.size) best = w;
  }
  return best;
}

/** Whether some registered worker could ever run `job` (false: its orders wait for a worker). */
export function anyWorkerCanRun(s: State, job: Job | undefined): boolean {
  if (!s.workersKnown) return true;
  for (const w of s.workers.values()) if (canRun(w, job)) return true;
  return false;
}

/** Orders whose execution runs on `workerId`, in the order they started. */
export function executionsOn(s: State, workerId: string): Order[] {
  const w = s.workers.get(workerId);
  if (!w) return [];
  const out: Order[] = [];
  for (const id of w.running) {
    const o = s.orders.get(id);
    if (o?.execution) out.push(o);
  }
  return out;
}

// ---------------------------------------------------------------- applied by evolve

export function workerRegistered(s: State, e: { workerId: string; slots: number; functions: string[]; lease: number }): void {
  s.workersKnown = true;
  const w = s.workers.get(e.workerId);
  if (w) {
    w.slots = e.slots;
    w.functions = [...e.functions];
    w.lease = e.lease;
  } else s.workers.set(e.workerId, { id: e.workerId, slots: e.slots, functions: [...e.functions], lease: e.lease, running: new Set() });
}

export function workerRemoved(s: State, workerId: string): void {
  s.workers.delete(workerId);
}

/** An execution started (or, rebuilding indexes, is running) on its worker. */
export function executionOnWorker(s: State, o: Order): void {
  const id = o.execution?.worker;
  if (id !== undefined) s.workers.get(id)?.running.add(o.id);
}

/** An execution ended: its slot is free. */
export function executionOffWorker(s: State, o: Order): void {
  const id = o.execution?.worker;
  if (id !== undefined) s.workers.get(id)?.running.delete(o.id);
}

/** Workers as snapshots keep them (running is derived from the orders). */
export function serializeWorkers(s: State): { id: string; slots: number; functions: string[]; lease: number }[] {
  return [...s.workers.values()]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((w) => ({ id: w.id, slots: w.slots, functions: w.functions, lease: w.lease }));
}
