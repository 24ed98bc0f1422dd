// Workers: where executions run. A worker registers with its slots and the functions it can
// run (shell jobs run on any worker); the core hands each execution to one worker, counts slots
// per worker, and a lost worker is a command that ends exactly its executions.
//
// Agents: a job with an agentName runs on the workers whose `agents` include that name; a
// worker registered without agents is a catch-all that runs such a job only while no
// registered worker lists its agent (the embedded node registers without agents, so imported
// JS7 workflows, which all name an agent, run there). A job without agentName runs anywhere.
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
  /** Agents this worker serves; undefined: a catch-all for agents that no worker lists. */
  agents?: string[] | undefined;
  /** Raised by every registration of this id: an execution carries the lease it was given under. */
  lease: number;
  /** Derived: executions running here (order ids). */
  running: Set<string>;
}

/** A worker's id. */
export const WORKER_ID_PATTERN = /^[A-Za-z0-9_.:@#-]{1,128}$/;
/** At most this many agents per worker. */
export const WORKER_AGENTS_COUNT_MAX = 1_000;
/** Characters of one agent name (as a job's agentName). */
export const AGENT_NAME_CHARS_MAX = 128;

/** Whether some registered worker lists agent `name` (then catch-all workers do not run its jobs). */
export function agentServed(s: State, name: string): boolean {
  for (const w of s.workers.values()) if (w.agents?.includes(name)) return true;
  return false;
}

/** Whether `w` can run `job` at all (slots aside). */
export function canRun(s: State, w: WorkerState, job: Job | undefined): boolean {
  const exe = job?.executable;
  if (exe?.TYPE === 'FunctionExecutable' && !w.functions.includes(exe.functionName)) return false;
  const agent = job?.agentName;
  if (agent === undefined) return true;
  return w.agents ? w.agents.includes(agent) : !agentServed(s, agent);
}

/**
 * The worker for an execution of `job` now: `preferred` (the writer's own worker:
 * CoreOptions.preferredWorker) while it has a free slot and can run it; else the registered
 * worker with the most free slots that can run it (ties: the first registered). `undefined`
 * when none has room or can run it. `null` when no worker is registered at all (the node as a
 * whole runs it).
 */
export function pickWorker(s: State, job: Job | undefined, preferred?: string): WorkerState | undefined | null {
  if (!s.workersKnown) return null;
  if (preferred !== undefined) {
    const own = s.workers.get(preferred);
    if (own && own.running.size < own.slots && canRun(s, own, job)) return own;
  }
  let best: WorkerState | undefined;
  let bestFree = 0;
  for (const w of s.workers.values()) {
    if (w.running.size >= w.slots || !canRun(s, w, job)) continue;
    const free = w.slots - w.running.size;
    if (!best || free > bestFree) {
      best = w;
      bestFree = free;
    }
  }
  return best;
}

/** Whether some registered worker could ever run `job` (false: its orders wait for a worker). */
export function anyWorkerCanRun(s: State, job: Job | undefined): boolean {
  if (!s.workersKnown) return true;
  for (const w of s.workers.values()) if (canRun(s, w, job)) return true;
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

export function workerRegistered(s: State, e: { workerId: string; slots: number; functions: string[]; agents?: string[]; lease: number }): void {
  s.workersKnown = true;
  const agents = e.agents && [...e.agents];
  const w = s.workers.get(e.workerId);
  if (w) {
    w.slots = e.slots;
    w.functions = [...e.functions];
    w.agents = agents;
    w.lease = e.lease;
  } else s.workers.set(e.workerId, { id: e.workerId, slots: e.slots, functions: [...e.functions], agents, lease: e.lease, running: new Set() });
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
export function serializeWorkers(s: State): { id: string; slots: number; functions: string[]; agents?: string[]; lease: number }[] {
  return [...s.workers.values()]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((w) => ({ id: w.id, slots: w.slots, functions: w.functions, ...(w.agents ? { agents: w.agents } : {}), lease: w.lease }));
}
