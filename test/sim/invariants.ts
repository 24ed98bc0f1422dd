// Invariants of the pure core, checked by the simulation after every step (checkState) and
// before every event is applied (checkEvent). Each returns messages `[code] text`; an empty
// list means all is well. They read the state only; nothing here changes it.
//
// The checks are written against semantics.md, not against the core's code: lock fitting,
// the fifo rule and the lock-block bookkeeping are computed independently here.

import type { Command } from '../../src/core/commands.js';
import type { Event, EventOf } from '../../src/core/events.js';
import type { Order, Position, Workflow } from '../../src/core/model.js';
import { ancestors, branchIteration, enclosingLocks, instructionAt, isForkBranch, isValidPosition, samePosition } from '../../src/core/positions.js';
import { familyOfInstance, jobConfigLockName, jobKey, type LockInstance, type State, type Timer } from '../../src/core/state.js';
import { canRun } from '../../src/core/workers.js';

export interface StepContext {
  /** The fake clock after the step (ms). */
  now: number;
  /** Lock instances allowed above their limit: the limit was lowered while they were held (§3.8: nobody is evicted). */
  grandfathered: ReadonlySet<string>;
  /** Last fencing token granted per lock family, as seen in the events. */
  tokens: ReadonlyMap<string, number>;
}

const pos = (p: Position): string => JSON.stringify(p);

function timersOf(s: State): Timer[] {
  // The heap's array is private; the invariants only read it.
  return (s.timers as unknown as { h: Timer[] }).h;
}

function workflowOf(s: State, o: Order): Workflow | undefined {
  return s.workflows.get(o.workflow)?.versions.get(o.version);
}

function isFifo(s: State, family: string): boolean {
  return (s.locks.get(family)?.def.policy ?? 'fifo') !== 'greedy';
}

/**
 * Where an order's own part of its position starts: a child of a Fork runs its branch only, so
 * its lock stack, Try and Options begin inside the branch (after the last `fork+ID`).
 */
export function ownStart(o: Pick<Order, 'parent' | 'position'>): number {
  if (o.parent === undefined) return 0;
  for (let i = o.position.length - 2; i >= 1; i -= 2) if (isForkBranch(o.position[i])) return i + 1;
  return 0;
}

/** The Lock blocks of the order's own part that enclose its position, outermost first. */
export function ownLocks(o: Pick<Order, 'parent' | 'position'>): Position[] {
  const start = ownStart(o);
  return enclosingLocks(o.position).filter((p) => p.length >= start);
}

function ownAncestors(o: Pick<Order, 'parent' | 'position'>): ReturnType<typeof ancestors> {
  const start = ownStart(o);
  return ancestors(o.position).filter((a) => a.at.length >= start);
}

/** Held shared weight, from the holders (not from `inst.weight`). */
function heldWeight(inst: LockInstance | undefined): number {
  let w = 0;
  if (inst) for (const h of inst.holders.values()) w += h.count ?? 0;
  return w;
}

function hasExclusiveHolder(inst: LockInstance | undefined): boolean {
  if (!inst) return false;
  for (const h of inst.holders.values()) if (h.count === undefined) return true;
  return false;
}

/** §3.1, written out independently of the core's `fits`. */
export function fitsSpec(inst: LockInstance | undefined, count: number | undefined, limit: number): boolean {
  if (limit === 0) return false;
  const holders = inst?.holders.size ?? 0;
  if (count === undefined) return holders === 0;
  return !hasExclusiveHolder(inst) && heldWeight(inst) + count <= limit;
}

/** Waiters of a queue, in line order. */
function line(inst: LockInstance | undefined): string[] {
  return inst ? [...inst.queue.inOrder()] : [];
}

/** (priority desc, arrival asc): negative when a is ahead of b. */
export function lineOrder(a: { priority: number; arrival: number }, b: { priority: number; arrival: number }): number {
  return b.priority - a.priority || a.arrival - b.arrival;
}

/** Whether a waiting order may be granted now by §3.1/§3.4 (all demands fit; first in line of each fifo lock). */
export function grantableNow(s: State, o: Order): boolean {
  if (!o.demands) return false;
  for (const d of o.demands) {
    const fam = s.locks.get(d.family);
    if (!fam) return false;
    const inst = s.instances.get(d.lock);
    if (!fitsSpec(inst, d.count, fam.def.limit)) return false;
    if (isFifo(s, d.family) && inst?.queue.head() !== o.id) return false;
  }
  return true;
}

// ------------------------------------------------------------------------------ per state

export function checkState(s: State, ctx: StepContext): string[] {
  const out: string[] = [];
  const timers = new Set(timersOf(s).map((t) => `${t.kind}|${t.orderId}|${t.at}`));
  checkLockTable(s, ctx, out);
  checkOrders(s, timers, out);
  checkJobs(s, out);
  checkLockWakeups(s, out);
  checkForks(s, out);
  const cycle = findDeadlock(s);
  if (cycle) {
    const who = cycle.slice(0, -1).map((id) => {
      const o = s.orders.get(id)!;
      return `${id} (p${o.priority} a${String(o.arrival)} ${o.workflow}@${o.version} at ${pos(o.position)}) holds ${o.held.flatMap((h) => h.grants.map((g) => g.lock)).join(',') || '-'}, waits for ${(o.demands ?? []).map((d) => `${d.lock}${d.count === undefined ? '' : `:${d.count}`}`).join(',')}`;
    });
    out.push(`[deadlock] lock waiters wait for each other in a cycle (no waitTimeout on it): ${cycle.join(' → ')}\n    ${who.join('\n    ')}`);
  }
  for (const [name, fam] of s.locks) {
    const last = ctx.tokens.get(name) ?? 0;
    if (fam.token !== last) out.push(`[fencing] lock ${name}: state token ${fam.token} but the last grant in the journal had token ${last}`);
  }
  return out;
}

function checkLockTable(s: State, ctx: StepContext, out: string[]): void {
  // Holders as the orders' lock stacks say.
  const derived = new Map<string, Map<string, { count: number | undefined; token: number; since: number }>>();
  for (const o of s.orders.values()) {
    for (const h of o.held) {
      for (const g of h.grants) {
        let m = derived.get(g.lock);
        if (!m) derived.set(g.lock, (m = new Map()));
        if (m.has(o.id)) out.push(`[holders] order ${o.id} holds ${g.lock} twice in its lock stack`);
        m.set(o.id, { count: g.count, token: g.token, since: h.since });
      }
    }
  }
  for (const [lock] of derived) {
    if (!s.instances.has(lock)) out.push(`[holders] lock instance ${lock} is held by orders ${[...derived.get(lock)!.keys()].join(', ')} but does not exist`);
  }
  for (const inst of s.instances.values()) {
    const fam = s.locks.get(inst.family);
    if (!fam) {
      out.push(`[lock-table] instance ${inst.name} of unknown lock ${inst.family}`);
      continue;
    }
    const limit = fam.def.limit;
    const weight = heldWeight(inst);
    let exclusive: string | undefined;
    for (const h of inst.holders.values()) if (h.count === undefined) exclusive = h.orderId;
    if (inst.weight !== weight) out.push(`[lock-table] ${inst.name}: recorded weight ${inst.weight} but holders' counts sum to ${weight}`);
    if (inst.exclusive !== exclusive) out.push(`[lock-table] ${inst.name}: recorded exclusive holder ${String(inst.exclusive)} but holders say ${String(exclusive)}`);
    if (exclusive !== undefined && inst.holders.size !== 1) {
      out.push(`[exclusive-alone] ${inst.name}: exclusive holder ${exclusive} is not alone (holders ${[...inst.holders.keys()].join(', ')})`);
    }
    if (weight > limit && !ctx.grandfathered.has(inst.name)) out.push(`[weight-limit] ${inst.name}: held weight ${weight} > limit ${limit}`);
    // Recorded holders = holders derived from the orders.
    const want = derived.get(inst.name) ?? new Map<string, { count: number | undefined; token: number; since: number }>();
    for (const [id, h] of inst.holders) {
      const d = want.get(id);
      if (!d) out.push(`[holders] ${inst.name}: records holder ${id} whose lock stack does not hold it`);
      else if (d.count !== h.count || d.token !== h.token || d.since !== h.since) {
        out.push(`[holders] ${inst.name}: holder ${id} recorded as ${JSON.stringify(h)} but its lock stack says ${JSON.stringify(d)}`);
      }
      if (h.token > fam.token) out.push(`[fencing] ${inst.name}: holder ${id} has token ${h.token} > family token ${fam.token}`);
    }
    for (const id of want.keys()) if (!inst.holders.has(id)) out.push(`[holders] ${inst.name}: order ${id} holds it in its lock stack but is not a recorded holder`);
    if (inst.key !== undefined && inst.holders.size === 0 && inst.queue.size === 0) out.push(`[lock-table] keyed instance ${inst.name} is idle but not gone`);
    // Everyone in line waits for this lock.
    const ids = line(inst);
    if (ids.length !== inst.queue.size) out.push(`[queue] ${inst.name}: queue size ${inst.queue.size} but ${ids.length} in line`);
    if (new Set(ids).size !== ids.length) out.push(`[queue] ${inst.name}: an order stands twice in line: ${ids.join(', ')}`);
    let prev: Order | undefined;
    for (const id of ids) {
      const o = s.orders.get(id);
      if (!o) {
        out.push(`[queue] ${inst.name}: unknown order ${id} in line`);
        continue;
      }
      if (o.state !== 'waiting' || o.waitingFor?.kind !== 'locks' || !o.demands?.some((d) => d.lock === inst.name)) {
        out.push(`[queue] ${inst.name}: order ${id} is in line but does not wait for it (${o.state} ${JSON.stringify(o.waitingFor)})`);
      }
      if (prev && lineOrder({ priority: prev.priority, arrival: prev.arrival ?? -1 }, { priority: o.priority, arrival: o.arrival ?? -1 }) > 0) {
        out.push(`[queue] ${inst.name}: line not in (priority desc, arrival asc) order: ${prev.id} (p${prev.priority} a${String(prev.arrival)}) before ${o.id} (p${o.priority} a${String(o.arrival)})`);
      }
      prev = o;
    }
  }
}

function checkOrders(s: State, timers: ReadonlySet<string>, out: string[]): void {
  for (const id of s.ended) {
    const o = s.orders.get(id);
    if (!o) out.push(`[ended] ended list names unknown order ${id}`);
    else if (o.endedAt === undefined) out.push(`[ended] order ${id} is in the ended list but has not ended (${o.state})`);
  }
  for (const o of s.orders.values()) {
    const where = `order ${o.id} (${o.state}${o.suspended ? ', suspended' : ''} at ${pos(o.position)})`;
    if (o.endedAt !== undefined || o.state === 'cancelled' || o.state === 'finished') {
      if (o.state !== 'cancelled' && o.state !== 'finished') out.push(`[ended] ${where}: has endedAt but state ${o.state}`);
      if (o.endedAt === undefined) out.push(`[ended] ${where}: ended state without endedAt`);
      // A child of a Fork that ended stays out of the ended list (no retention): the join removes it.
      if (o.parent === undefined && !s.ended.has(o.id)) out.push(`[ended] ${where}: not in the ended list`);
      if (o.parent !== undefined && s.ended.has(o.id)) out.push(`[ended] ${where}: a child of ${o.parent} in the ended list (retention could delete it before the join)`);
      if (o.held.length > 0) out.push(`[ended] ${where}: ended holding locks ${JSON.stringify(o.held)}`);
      if (o.execution || o.waitingFor || o.demands || o.suspended || o.suspendPending || o.cancelPending) {
        out.push(`[ended] ${where}: ended with leftovers ${JSON.stringify({ e: o.execution, w: o.waitingFor, d: o.demands, s: o.suspended, sp: o.suspendPending, cp: o.cancelPending })}`);
      }
      continue;
    }
    if (s.ended.has(o.id)) out.push(`[ended] ${where}: in the ended list but not ended`);
    const wf = workflowOf(s, o);
    if (!wf) {
      out.push(`[order] ${where}: unknown workflow ${o.workflow}@${o.version}`);
      continue;
    }
    if (!isValidPosition(wf, o.position)) {
      out.push(`[order] ${where}: position is not in workflow ${o.workflow}@${o.version}`);
      continue;
    }
    // The lock stack and the position agree: inside a lock block ⇔ holding its locks.
    // The run lock of a job config (`at` []) encloses the whole run, outside every block.
    const runLocked = o.held.length > 0 && o.held[0]!.at.length === 0;
    if (runLocked && (o.jobConfig === undefined || o.held[0]!.grants.length !== 1 || o.held[0]!.grants[0]!.lock !== jobConfigLockName(o.jobConfig) || o.held[0]!.grants[0]!.count !== undefined)) {
      out.push(`[lock-position] ${where}: holds ${JSON.stringify(o.held[0])} around the whole run, which is only for the exclusive run lock of its job config`);
    }
    if (o.held.slice(1).some((h) => h.at.length === 0)) out.push(`[lock-position] ${where}: holds a run lock inside other locks`);
    const inside = ownLocks(o);
    const held = o.held.filter((h) => h.at.length > 0).map((h) => h.at);
    if (inside.length !== held.length || inside.some((p, i) => !samePosition(p, held[i]!))) {
      out.push(`[lock-position] ${where}: position is inside the lock blocks ${JSON.stringify(inside)} but the order holds ${JSON.stringify(held)}`);
    }
    for (const h of o.held) {
      if (h.at.length === 0) continue;
      const instr = instructionAt(wf, h.at);
      if (instr?.TYPE !== 'Lock') {
        out.push(`[lock-position] ${where}: holds locks for ${pos(h.at)} which is not a Lock instruction`);
        continue;
      }
      const fams = h.grants.map((g) => `${familyOfInstance(g.lock)}/${String(g.count)}`).join(',');
      const want = instr.demands.map((d) => `${d.lockName}/${String(d.count)}`).join(',');
      if (fams !== want) out.push(`[lock-position] ${where}: grants ${fams} at ${pos(h.at)} do not match its demands ${want}`);
    }
    const instr = instructionAt(wf, o.position);
    if (o.state !== 'processing' && o.execution) out.push(`[order] ${where}: has an execution but is not processing`);
    if (o.state !== 'waiting' && (o.waitingFor || o.demands || o.waitUntil !== undefined)) {
      out.push(`[order] ${where}: not waiting but has wait data ${JSON.stringify({ w: o.waitingFor, d: o.demands, u: o.waitUntil })}`);
    }
    // A forked parent that is cancelled is cancelled at the join, once its children are.
    if (o.cancelPending && o.state !== 'processing' && o.state !== 'forked') out.push(`[order] ${where}: cancel pending but neither processing nor forked`);
    if (o.suspendPending && o.state !== 'processing' && o.waitingFor?.kind !== 'locks') out.push(`[order] ${where}: suspend pending but neither processing nor waiting for locks`);
    if (o.suspended && o.suspendPending) out.push(`[order] ${where}: suspended and suspend pending`);
    if (o.suspended && (o.state === 'processing' || o.waitingFor?.kind === 'locks' || o.waitingFor?.kind === 'job')) {
      out.push(`[order] ${where}: suspended but ${o.state === 'processing' ? 'processing' : `waiting for ${o.waitingFor?.kind}`}`);
    }
    const hasTimer = (kind: string, at: number): boolean => timers.has(`${kind}|${o.id}|${at}`);
    switch (o.state) {
      case 'ready':
        // A child at the end of its branch waits for its siblings (checkForks: the join comes when all have ended).
        if (o.parent !== undefined && instr === undefined && o.position.length === ownStart(o) + 1) break;
        if (!o.suspended) out.push(`[ready] ${where}: ready after a step, not suspended: nothing moves it on`);
        break;
      case 'processing':
        if (!o.execution) out.push(`[explain] ${where}: processing without an execution`);
        else if (instr?.TYPE !== 'Execute.Named' || jobKey(o.workflow, instr.jobName) !== o.execution.job) {
          out.push(`[explain] ${where}: processing job ${o.execution.job} at an instruction that is not that job (${instr?.TYPE})`);
        }
        break;
      case 'scheduled':
        if (o.scheduledFor === undefined) out.push(`[explain] ${where}: scheduled without scheduledFor`);
        else if (!o.suspended && !hasTimer('scheduled', o.scheduledFor)) out.push(`[explain] ${where}: no timer for scheduledFor ${o.scheduledFor}`);
        if (o.held.length > 0 || !samePosition(o.position, [0])) out.push(`[explain] ${where}: scheduled but already started`);
        break;
      case 'failed':
      case 'stopped':
        if (o.outcome?.type !== 'failed') out.push(`[explain] ${where}: ${o.state} without a failed outcome`);
        if (o.state === 'failed' && o.held.length > 0) out.push(`[explain] ${where}: failed but still holds locks (§6.2)`);
        break;
      case 'waiting': {
        const w = o.waitingFor;
        if (!w) {
          out.push(`[explain] ${where}: waiting for nothing`);
          break;
        }
        if (w.kind === 'locks') {
          if (o.waitingImplicit === true) {
            if (o.jobConfig === undefined || JSON.stringify(w.locks) !== JSON.stringify([jobConfigLockName(o.jobConfig)]) || o.held.length > 0) {
              out.push(`[explain] ${where}: waits for ${JSON.stringify(w.locks)} as a run lock (run of ${String(o.jobConfig)}, holding ${o.held.length})`);
            }
          } else if (instr?.TYPE !== 'Lock') out.push(`[explain] ${where}: waits for locks at a ${String(instr?.TYPE)} instruction`);
          if (!o.demands || o.arrival === undefined) {
            out.push(`[explain] ${where}: waits for locks without demands or place in line`);
            break;
          }
          if (JSON.stringify(w.locks) !== JSON.stringify(o.demands.map((d) => d.lock))) out.push(`[explain] ${where}: waitingFor ${JSON.stringify(w.locks)} ≠ demands`);
          for (const d of o.demands) {
            if (!s.instances.get(d.lock)?.queue.has(o.id)) out.push(`[explain] ${where}: waits for ${d.lock} but is not in its line`);
          }
          if (o.waitUntil !== undefined) {
            if (!hasTimer('lockWait', o.waitUntil)) out.push(`[explain] ${where}: no timer for its lock waitUntil ${o.waitUntil}`);
          }
        } else if (w.kind === 'job') {
          if (instr?.TYPE !== 'Execute.Named' || jobKey(o.workflow, instr.jobName) !== w.job) out.push(`[explain] ${where}: waits for job ${w.job} at another instruction`);
          if (!s.jobs.get(w.job)?.queue.has(o.id)) out.push(`[explain] ${where}: waits for job ${w.job} but is not in its line`);
          if (!s.jobsWaiting.has(w.job)) out.push(`[explain] ${where}: waits for job ${w.job} which is not marked as having waiters`);
        } else if (w.kind === 'admission') {
          if (!o.suspended && w.until !== undefined && !hasTimer('admission', w.until)) out.push(`[explain] ${where}: waits for admission until ${w.until} without a timer`);
        } else if (w.kind !== 'notice') {
          if (!o.suspended && !hasTimer('retry', w.until)) out.push(`[explain] ${where}: waits for ${w.kind} until ${w.until} without a timer`);
        }
        break;
      }
      case 'forked':
        if (instr?.TYPE !== 'Fork' && instr?.TYPE !== 'ForkList') out.push(`[fork] ${where}: forked at a ${String(instr?.TYPE)} instruction`);
        if (!o.children || o.children.length === 0) out.push(`[fork] ${where}: forked without children`);
        break;
      default:
        out.push(`[order] ${where}: unexpected state`);
    }
  }
}

/** Whether a child has ended its branch: done (at the end of it), cancelled, or failed under joinIfFailed. */
function childEnded(s: State, c: Order, joinIfFailed: boolean): boolean {
  if (c.state === 'cancelled') return true;
  if (c.state === 'failed') return joinIfFailed;
  const wf = workflowOf(s, c);
  return c.state === 'ready' && !c.suspended && wf !== undefined && instructionAt(wf, c.position) === undefined && c.position.length === ownStart(c) + 1;
}

/**
 * Fork: parent and children point at each other; a parent neither ends nor goes on while a
 * child is active, and once every child has ended it has joined; a child holds only locks of
 * its own branch (the parent's locks around the Fork stay the parent's), none once it ended.
 */
function checkForks(s: State, out: string[]): void {
  for (const o of s.orders.values()) {
    if (o.parent !== undefined) {
      const p = s.orders.get(o.parent);
      if (!p) out.push(`[fork] child ${o.id} of missing parent ${o.parent}`);
      else if (p.state !== 'forked' || !p.children?.includes(o.id)) out.push(`[fork] child ${o.id} (${o.state}) but its parent ${p.id} is ${p.state} with children ${JSON.stringify(p.children)}`);
      const start = ownStart(o);
      if (start === 0) out.push(`[fork] child ${o.id} at ${pos(o.position)} is outside every Fork branch`);
      for (const h of o.held) if (h.at.length > 0 && h.at.length < start) out.push(`[fork] child ${o.id} holds locks of ${pos(h.at)}, outside its branch`);
      if ((o.state === 'failed' || o.state === 'cancelled' || o.state === 'finished') && o.held.length > 0) out.push(`[fork] child ${o.id} is ${o.state} and still holds ${JSON.stringify(o.held.map((h) => h.at))}`);
    }
    if (o.children !== undefined && o.state !== 'forked') out.push(`[fork] order ${o.id} is ${o.state} with children ${JSON.stringify(o.children)}`);
    if (o.state !== 'forked' || !o.children) continue;
    const wf = workflowOf(s, o);
    const fork = wf && instructionAt(wf, o.position);
    const joinIfFailed = (fork?.TYPE === 'Fork' || fork?.TYPE === 'ForkList') && fork.joinIfFailed === true;
    let ended = 0;
    for (const id of o.children) {
      const c = s.orders.get(id);
      if (!c) out.push(`[lost] child ${id} of forked ${o.id} is missing`);
      else {
        if (c.parent !== o.id) out.push(`[fork] ${id}, child of ${o.id}, names parent ${String(c.parent)}`);
        if (childEnded(s, c, joinIfFailed)) ended++;
      }
    }
    if (ended === o.children.length) out.push(`[join] every child of ${o.id} (${o.children.join(', ')}) has ended but ${o.id} has not joined`);
    for (const h of o.held) if (h.at.length > 0 && !(h.at.length < o.position.length)) out.push(`[fork] forked ${o.id} holds locks of ${pos(h.at)}, not around its Fork`);
  }
}

/** A wait of an order that a `tick` at `now` must end: its deadline has come. */
export interface DueWait {
  orderId: string;
  what: string;
}

function dueKey(o: Order, now: number): string | undefined {
  if (o.suspended || o.endedAt !== undefined) return undefined;
  if (o.state === 'scheduled' && o.scheduledFor !== undefined && o.scheduledFor <= now) return `scheduledFor ${o.scheduledFor}`;
  if (o.state !== 'waiting') return undefined;
  const w = o.waitingFor;
  if ((w?.kind === 'retry' || w?.kind === 'time') && w.until <= now) return `${w.kind} until ${w.until} at ${pos(o.position)}`;
  if (w?.kind === 'locks' && o.waitUntil !== undefined && o.waitUntil <= now) return `locks (line a${String(o.arrival)}) until ${o.waitUntil}`;
  return undefined;
}

/** The waits that a tick at `now` must end (from the state before the tick). */
export function dueWaits(s: State, now: number): DueWait[] {
  const out: DueWait[] = [];
  for (const o of s.orders.values()) {
    const what = dueKey(o, now);
    if (what !== undefined) out.push({ orderId: o.id, what });
  }
  return out;
}

/** After the tick: none of those waits is still the same wait (timers fire when due, also after a restart). */
export function checkDueWaits(s: State, now: number, due: readonly DueWait[]): string[] {
  const out: string[] = [];
  for (const d of due) {
    const o = s.orders.get(d.orderId);
    if (o && dueKey(o, now) === d.what) out.push(`[timer] order ${o.id} (${o.state} at ${pos(o.position)}): ${d.what} was due at the tick (now ${now}) but still waits`);
  }
  return out;
}

function parallelismOf(s: State, o: Order, key: string): number {
  const wf = workflowOf(s, o);
  const jobName = key.slice(o.workflow.length + 1);
  return wf?.jobs[jobName]?.parallelism ?? 1;
}

function checkJobs(s: State, out: string[]): void {
  let running = 0;
  const perJob = new Map<string, number>();
  for (const o of s.orders.values()) {
    if (o.state === 'processing' && o.execution) {
      running++;
      perJob.set(o.execution.job, (perJob.get(o.execution.job) ?? 0) + 1);
    }
  }
  if (s.running !== running) out.push(`[jobs] state says ${s.running} executions run, the orders say ${running}`);
  // Slots per worker: a worker's executions are the orders that name it, never more than its slots.
  const perWorker = new Map<string, number>();
  for (const o of s.orders.values()) {
    const w = o.state === 'processing' ? o.execution?.worker : undefined;
    if (w === undefined) continue;
    perWorker.set(w, (perWorker.get(w) ?? 0) + 1);
    if (!s.workers.has(w)) out.push(`[workers] order ${o.id} runs on worker ${w}, which is not registered`);
  }
  for (const w of s.workers.values()) {
    const n = perWorker.get(w.id) ?? 0;
    if (w.running.size !== n) out.push(`[workers] worker ${w.id} records ${w.running.size} executions, the orders say ${n}`);
    if (n > w.slots && n > 0) out.push(`[workers] worker ${w.id} runs ${n} executions with ${w.slots} slots`);
  }
  for (const [key, n] of perJob) if ((s.jobs.get(key)?.running ?? 0) !== n) out.push(`[jobs] job ${key}: records ${s.jobs.get(key)?.running ?? 0} running, orders say ${n}`);
  for (const j of s.jobs.values()) {
    if (j.running !== (perJob.get(j.key) ?? 0)) out.push(`[jobs] job ${j.key}: records ${j.running} running, orders say ${perJob.get(j.key) ?? 0}`);
    const ids = [...j.queue.inOrder()];
    if (ids.length !== j.queue.size) out.push(`[jobs] job ${j.key}: queue size ${j.queue.size} but ${ids.length} in line`);
    for (const id of ids) {
      const o = s.orders.get(id);
      if (!o || o.state !== 'waiting' || o.waitingFor?.kind !== 'job' || o.waitingFor.job !== j.key) {
        out.push(`[jobs] job ${j.key}: order ${id} in line does not wait for it`);
      }
    }
    if ((j.queue.size > 0) !== s.jobsWaiting.has(j.key)) out.push(`[jobs] job ${j.key}: ${j.queue.size} waiters but jobsWaiting says ${s.jobsWaiting.has(j.key)}`);
  }
  for (const key of s.jobsWaiting) if (!s.jobs.has(key)) out.push(`[jobs] jobsWaiting names unknown job ${key}`);
  // §4: a free worker slot and a job with room never leave the first waiter of that job waiting.
  if (s.running < s.slots) {
    for (const key of s.jobsWaiting) {
      const j = s.jobs.get(key);
      const head = j?.queue.head();
      const o = head === undefined ? undefined : s.orders.get(head);
      // With workers: only when a worker that runs the job has a free slot.
      const job = o ? workflowOf(s, o)?.jobs[key.slice(o.workflow.length + 1)] : undefined;
      const workerFree = !s.workersKnown || [...s.workers.values()].some((w) => w.running.size < w.slots && canRun(s, w, job));
      if (j && o && workerFree && j.running < parallelismOf(s, o, key)) {
        out.push(`[job-wakeup] order ${o.id} waits for job ${key} (running ${j.running} < parallelism ${parallelismOf(s, o, key)}) while ${s.running} < ${s.slots} slots are busy`);
      }
    }
  }
}

/** §3.4: a waiter that could be granted now is granted now (greedy: any fitting; fifo: the first in line). */
function checkLockWakeups(s: State, out: string[]): void {
  for (const o of s.orders.values()) {
    if (o.state !== 'waiting' || o.waitingFor?.kind !== 'locks') continue;
    if (grantableNow(s, o)) {
      const detail = (o.demands ?? [])
        .map((d) => {
          const inst = s.instances.get(d.lock);
          return `${d.lock}(${d.count === undefined ? 'excl' : d.count}; limit ${s.locks.get(d.family)?.def.limit}, ${isFifo(s, d.family) ? 'fifo' : 'greedy'}, held ${[...(inst?.holders.values() ?? [])].map((h) => `${h.orderId}:${h.count ?? 'x'}`).join(' ') || '-'}, line ${line(inst).join(' ')})`;
        })
        .join(', ');
      out.push(`[lock-wakeup] order ${o.id} (p${o.priority}) could be granted now but still waits: ${detail}`);
    }
  }
}

/**
 * A cycle of lock waiters each of which waits for the next: for a holder of a lock it needs
 * and does not fit in, or (fifo) for a waiter in front of it. Cycles through an order with a
 * waitTimeout end by themselves and are not reported. Returns the cycle, or undefined.
 */
export function findDeadlock(s: State): string[] | undefined {
  const waiters = [...s.orders.values()].filter((o) => o.state === 'waiting' && o.waitingFor?.kind === 'locks');
  if (waiters.length < 2) return undefined;
  const isWaiter = new Set(waiters.map((o) => o.id));
  const edges = new Map<string, Set<string>>();
  for (const o of waiters) {
    const e = new Set<string>();
    for (const d of o.demands ?? []) {
      const inst = s.instances.get(d.lock);
      const fam = s.locks.get(d.family);
      if (!inst || !fam) continue;
      if (!fitsSpec(inst, d.count, fam.def.limit)) for (const h of inst.holders.keys()) if (isWaiter.has(h) && h !== o.id) e.add(h);
      if (isFifo(s, d.family)) {
        // Everyone in front of it; for the cycle search the one just in front and the nearest
        // one without a waitTimeout are enough (each of them waits for everyone in front of it).
        let prev: string | undefined;
        let prevUntimed: string | undefined;
        for (const id of inst.queue.inOrder()) {
          if (id === o.id) break;
          prev = id;
          if (s.orders.get(id)?.waitUntil === undefined) prevUntimed = id;
        }
        if (prev !== undefined) e.add(prev);
        if (prevUntimed !== undefined) e.add(prevUntimed);
      }
    }
    edges.set(o.id, e);
  }
  const timed = new Set(waiters.filter((o) => o.waitUntil !== undefined).map((o) => o.id));
  const colour = new Map<string, number>();
  for (const start of [...isWaiter].sort()) {
    if (colour.has(start)) continue;
    const stack: { id: string; next: string[] }[] = [{ id: start, next: [...(edges.get(start) ?? [])].sort() }];
    colour.set(start, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const n = top.next.shift();
      if (n === undefined) {
        colour.set(top.id, 2);
        stack.pop();
        continue;
      }
      const c = colour.get(n);
      if (c === 1) {
        const from = stack.findIndex((f) => f.id === n);
        const cycle = stack.slice(from).map((f) => f.id);
        if (!cycle.some((id) => timed.has(id))) return [...cycle, n];
      } else if (c === undefined) {
        colour.set(n, 1);
        stack.push({ id: n, next: [...(edges.get(n) ?? [])].sort() });
      }
    }
  }
  return undefined;
}

// ------------------------------------------------------------------------------ per event

/**
 * Checks one event against the state just before it is applied (the simulator keeps a
 * mirror state that it evolves event by event). `tokens` is updated with granted tokens.
 */
export function checkEvent(pre: State, e: Event, tokens: Map<string, number>): string[] {
  const out: string[] = [];
  if (e.type === 'OrderLocksAcquired') checkGrant(pre, e, tokens, out);
  else if (e.type === 'OrderProcessingStarted') checkStart(pre, e, out);
  else if (e.type === 'OrderCaught' || e.type === 'OrderStopped' || e.type === 'OrderFailed') checkFailureRoute(pre, e, out);
  else if (e.type === 'OrderRetryScheduled') {
    const o = pre.orders.get(e.orderId);
    const c = o && ownAncestors(o).find((a) => a.branch.startsWith('catch+'));
    const want = c && [...c.at, `try+${branchIteration(c.branch) + 1}`, 0];
    if (!o || !want || !samePosition(want, e.to)) out.push(`[retry] order ${e.orderId} retries to ${pos(e.to)}, expected ${want ? pos(want) : 'a Retry inside a catch block'}`);
  }
  else if (e.type === 'OrderJoined') {
    const p = pre.orders.get(e.orderId);
    if (!p || p.state !== 'forked' || !p.children) out.push(`[join] ${e.orderId} joins but is ${p ? p.state : 'missing'}`);
    else {
      const wf = workflowOf(pre, p);
      const fork = wf && instructionAt(wf, p.position);
      const joinIfFailed = (fork?.TYPE === 'Fork' || fork?.TYPE === 'ForkList') && fork.joinIfFailed === true;
      for (const id of p.children) {
        const c = pre.orders.get(id);
        if (!c) out.push(`[join] ${p.id} joins but its child ${id} is missing`);
        else if (!childEnded(pre, c, joinIfFailed)) out.push(`[join] ${p.id} joins while its child ${id} is still active (${c.state} at ${pos(c.position)})`);
        else if (c.held.length > 0) out.push(`[join] ${p.id} joins while its child ${id} holds ${JSON.stringify(c.held.map((h) => h.at))}`);
      }
    }
  } else if (e.type === 'OrderDeleted') {
    const o = pre.orders.get(e.orderId);
    if (!o || o.endedAt === undefined) out.push(`[retention] order ${e.orderId} deleted but it ${o ? `has not ended (${o.state})` : 'does not exist'}`);
  }
  return out;
}

function checkGrant(pre: State, e: EventOf<'OrderLocksAcquired'>, tokens: Map<string, number>, out: string[]): void {
  const o = pre.orders.get(e.orderId);
  if (!o) {
    out.push(`[grant] locks granted to unknown order ${e.orderId}`);
    return;
  }
  const where = `grant of ${e.grants.map((g) => g.lock).join(', ')} to order ${o.id} (p${o.priority})`;
  const waiting = o.state === 'waiting' && o.waitingFor?.kind === 'locks';
  if (!waiting && o.state !== 'ready') out.push(`[grant] ${where}: the order is ${o.state}, neither arriving at the Lock nor waiting for it`);
  if (o.suspended) out.push(`[grant] ${where}: the order is suspended`);
  const wf = workflowOf(pre, o);
  const instr = wf && instructionAt(wf, o.position);
  if (e.implicit === true) {
    // The run lock of a job config: exclusive, taken before anything else of the run.
    if (o.jobConfig === undefined || e.grants.length !== 1 || e.grants[0]!.lock !== jobConfigLockName(o.jobConfig) || e.grants[0]!.count !== undefined) {
      out.push(`[grant] ${where}: an implicit grant must be the exclusive run lock of the order's job config (${String(o.jobConfig)})`);
    }
    if (o.held.length > 0) out.push(`[grant] ${where}: the run lock is granted while the run holds other locks`);
  } else if (instr?.TYPE !== 'Lock') out.push(`[grant] ${where}: the order is not at a Lock instruction (${pos(o.position)})`);
  else {
    const got = e.grants.map((g) => `${familyOfInstance(g.lock)}/${String(g.count)}`).join(',');
    const want = instr.demands.map((d) => `${d.lockName}/${String(d.count)}`).join(',');
    if (got !== want) out.push(`[grant] ${where}: grants ${got} ≠ demands ${want} (all at once or not at all)`);
  }
  if (waiting && JSON.stringify(o.demands?.map((d) => d.lock)) !== JSON.stringify(e.grants.map((g) => g.lock))) {
    out.push(`[grant] ${where}: the order waits for ${JSON.stringify(o.demands?.map((d) => d.lock))}`);
  }
  for (const g of e.grants) {
    const family = familyOfInstance(g.lock);
    const fam = pre.locks.get(family);
    if (!fam) {
      out.push(`[grant] ${where}: unknown lock ${family}`);
      continue;
    }
    const inst = pre.instances.get(g.lock);
    const limit = fam.def.limit;
    if (!fitsSpec(inst, g.count, limit)) {
      const holders = [...(inst?.holders.values() ?? [])].map((h) => `${h.orderId}:${h.count ?? 'excl'}`).join(' ');
      const code = limit === 0 ? 'closed-lock' : g.count === undefined || hasExclusiveHolder(inst) ? 'exclusive-alone' : 'weight-limit';
      out.push(`[${code}] ${where}: ${g.lock} ${g.count === undefined ? 'exclusive' : `count ${g.count}`} does not fit (limit ${limit}, held by ${holders || 'nobody'})`);
    }
    if (isFifo(pre, family)) {
      const ids = line(inst);
      const ahead = ids.indexOf(o.id) < 0 ? ids : ids.slice(0, ids.indexOf(o.id));
      if (ahead.length > 0) out.push(`[fifo] ${where}: ${g.lock} is fifo and ${ahead.join(', ')} ${ahead.length > 1 ? 'wait' : 'waits'} in front of ${o.id}`);
    }
    const last = Math.max(tokens.get(family) ?? 0, fam.token);
    if (!(g.token > last)) out.push(`[fencing] ${where}: token ${g.token} of ${g.lock} does not exceed the last token ${last} of lock ${family}`);
    tokens.set(family, Math.max(last, g.token));
  }
}

/**
 * §6: an uncaught failure inside a Try goes to its catch block; else the innermost Options
 * with stopOnFailure decides: true = stopped in place, keeping the locks; otherwise the order
 * fails at its outermost enclosing Lock instruction (or where it is), holding nothing.
 */
function checkFailureRoute(pre: State, e: EventOf<'OrderCaught' | 'OrderStopped' | 'OrderFailed'>, out: string[]): void {
  const o = pre.orders.get(e.orderId);
  const wf = o && workflowOf(pre, o);
  if (!o || !wf) {
    out.push(`[failure] ${e.type} for unknown order ${e.orderId}`);
    return;
  }
  const here = instructionAt(wf, o.position);
  const uncatchable = here?.TYPE === 'Fail' && here.uncatchable === true;
  let expected: { type: string; to?: Position } | undefined;
  let stop: boolean | undefined;
  for (const a of ownAncestors(o)) {
    if (a.branch.startsWith('try+') && !uncatchable && stop !== true) {
      expected = { type: 'OrderCaught', to: [...a.at, `catch+${branchIteration(a.branch)}`, 0] };
      break;
    }
    if (a.branch === 'options' && stop === undefined) {
      const opt = instructionAt(wf, a.at);
      if (opt?.TYPE === 'Options' && opt.stopOnFailure !== undefined) stop = opt.stopOnFailure;
    }
  }
  if (e.outcome.message?.startsWith('more than ') === true) return; // the step limit: uncatchable by design
  // A run that held its job config's run lock (released just before) fails back at its start:
  // JobConfigChecker knows which runs held it and checks that.
  const runStart = o.jobConfig !== undefined && e.type === 'OrderFailed' && samePosition(e.to, [0]);
  expected ??= stop === true ? { type: 'OrderStopped' } : { type: 'OrderFailed', to: runStart ? [0] : (ownLocks(o)[0] ?? o.position) };
  const to = 'to' in e ? e.to : undefined;
  if (expected.type !== e.type || (expected.to && (!to || !samePosition(expected.to, to)))) {
    out.push(`[failure] order ${o.id} failed (${e.outcome.reason ?? '?'}) at ${pos(o.position)}: ${e.type}${to ? ` to ${pos(to)}` : ''}, expected ${expected.type}${expected.to ? ` to ${pos(expected.to)}` : ''}`);
  }
  if (e.type === 'OrderFailed' && o.held.length > 0) out.push(`[failure] order ${o.id} fails while still holding ${JSON.stringify(o.held.map((h) => h.at))} (§6.2: released first)`);
  if (e.type === 'OrderStopped' && o.held.filter((h) => h.at.length > 0).length !== ownLocks(o).length) out.push(`[failure] order ${o.id} stopped but gave up locks (§6.3 keeps them)`);
}

function checkStart(pre: State, e: EventOf<'OrderProcessingStarted'>, out: string[]): void {
  const o = pre.orders.get(e.orderId);
  if (!o) {
    out.push(`[job-start] execution started for unknown order ${e.orderId}`);
    return;
  }
  const where = `start of job ${e.job} for order ${o.id} (p${o.priority})`;
  const wf = workflowOf(pre, o);
  const instr = wf && instructionAt(wf, o.position);
  if (instr?.TYPE !== 'Execute.Named' || jobKey(o.workflow, instr.jobName) !== e.job) out.push(`[job-start] ${where}: the order is not at that job (${pos(o.position)})`);
  if (o.suspended) out.push(`[job-start] ${where}: the order is suspended`);
  if (pre.running >= pre.slots) out.push(`[slots] ${where}: ${pre.running} executions run already, slots ${pre.slots}`);
  const j = pre.jobs.get(e.job);
  const par = parallelismOf(pre, o, e.job);
  if ((j?.running ?? 0) >= par) out.push(`[parallelism] ${where}: ${j?.running ?? 0} executions of it run already, parallelism ${par}`);
  const waiting = o.state === 'waiting' && o.waitingFor?.kind === 'job';
  if (!waiting) {
    if (o.state !== 'ready') out.push(`[job-start] ${where}: the order is ${o.state}`);
    if (pre.jobsWaiting.size > 0) out.push(`[job-order] ${where}: a newcomer starts while orders wait for jobs ${[...pre.jobsWaiting].join(', ')}`);
    return;
  }
  const head = j?.queue.headEntry();
  if (head?.orderId !== o.id) {
    out.push(`[job-order] ${where}: ${String(head?.orderId)} is first in line for that job`);
    return;
  }
  for (const key of pre.jobsWaiting) {
    if (key === e.job) continue;
    const other = pre.jobs.get(key);
    const h = other?.queue.headEntry();
    const ho = h && pre.orders.get(h.orderId);
    if (!other || !h || !ho || other.running >= parallelismOf(pre, ho, key)) continue;
    if (lineOrder(h, head) < 0) out.push(`[job-order] ${where}: ${h.orderId} (p${h.priority} a${h.arrival}) waiting for ${key} with room is ahead of it (a${head.arrival})`);
  }
}

// ------------------------------------------------------------------------------ comparisons

/** Canonical text of the derived indexes (lock table, job table), to compare live, replayed and restored states. */
export function indexDump(s: State): string {
  const instances = [...s.instances.values()]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((i) => ({
      name: i.name,
      family: i.family,
      key: i.key ?? null,
      weight: i.weight,
      exclusive: i.exclusive ?? null,
      holders: [...i.holders.values()]
        .map((h) => [h.orderId, h.count ?? null, h.token, h.since])
        .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
      line: [...i.queue.inOrder()],
    }));
  const jobs = [...s.jobs.values()]
    .filter((j) => j.running > 0 || j.queue.size > 0)
    .sort((a, b) => (a.key < b.key ? -1 : 1))
    .map((j) => ({ key: j.key, running: j.running, line: [...j.queue.inOrder()] }));
  return JSON.stringify({ instances, jobs, jobsWaiting: [...s.jobsWaiting].sort(), running: s.running, slots: s.slots, arrival: s.arrival });
}

/** First difference between two texts, for messages. */
export function firstDifference(a: string, b: string, context = 120): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - context);
  return `at char ${i}:\n  A: …${a.slice(from, i + context)}…\n  B: …${b.slice(from, i + context)}…`;
}

// ------------------------------------------------------------------------------ job configs (§5, §8)

/** Whether the job config of a run blocks now (its own `blocking`, else its template's). */
function blocksNow(s: State, id: string): boolean {
  const c = s.jobConfigs.get(id);
  if (!c) return false;
  if (c.def.blocking !== undefined) return c.def.blocking;
  return (c.def.templateId !== undefined ? s.jobTemplates.get(c.def.templateId)?.blocking : undefined) ?? false;
}

function holdsLock(o: Order, lock: string): boolean {
  return o.held.some((h) => h.grants.some((g) => g.lock === lock));
}

/** A run that has not ended and is not failed (a failed run released its locks and waits for an operator). */
function isLive(o: Order): boolean {
  return o.endedAt === undefined && o.state !== 'failed';
}

/**
 * A run that has not started: it waits for its run lock, or stands at its start ([0]) holding
 * nothing, scheduled or ready (not yet moved on, or suspended there).
 */
export function notStarted(o: Order): boolean {
  if (!isLive(o) || o.held.length > 0) return false;
  if (o.state === 'waiting' && o.waitingImplicit === true) return true;
  return (o.state === 'ready' || o.state === 'scheduled') && samePosition(o.position, [0]);
}

/**
 * The events by which a run that has not started starts: it does what its workflow says (the
 * run lock's grant, when it needs it, comes first). A queue for the run lock, a move to the
 * start (a scheduled run comes due) and the move of a resume do not start it.
 */
const STARTS: ReadonlySet<Event['type']> = new Set([
  'OrderLocksAcquired',
  'OrderLocksQueued',
  'OrderMoved',
  'OrderProcessingStarted',
  'OrderJobQueued',
  'OrderSleepStarted',
  'OrderPrompted',
  'OrderForked',
]);

/**
 * §5 and §8 over a stream of events: feed it every event with the state just before it
 * (`event`), then the state after each step (`afterStep`). It remembers what the state does
 * not: which runs started holding the run lock, and which fires were handled.
 *
 * - A run starts (its first event past the gate: a grant, a move, a job, a wait of its
 *   workflow) holding the run lock exactly when its job config blocks at that moment (or the
 *   run was queued by its schedule, `serialized`). A failed run starts again when resumed.
 *   Changing `blocking` reaches only runs not started: a run started holding the lock keeps it
 *   until it fails or ends; a run started without it never takes it afterwards. So at most one
 *   run that started under `blocking` is live at any time, and runs starting under
 *   `blocking` never run beside each other (the run lock is exclusive).
 * - Each fire is handled once: per job config the fire times handled (fired or skipped)
 *   only grow; a fired run is the order `<id>@<fireAt>` of that job config.
 * - `queueLimit`: a fire of a `queue` schedule whose run would wait adds it only behind fewer
 *   than `queueLimit` runs waiting (for the run lock, or not started yet): so fires never make
 *   more than `queueLimit` runs wait. A fire is skipped for the limit only when its run would
 *   have had to wait and `queueLimit` runs wait already.
 */
export class JobConfigChecker {
  /** Runs that started holding the run lock and have not failed or ended since. */
  readonly locked = new Set<string>();
  /** The newest fire time handled, per job config. */
  private readonly lastFire = new Map<string, number>();
  /** Per job config: the newest fire handled before this step, and the oldest fire listed in it. */
  private readonly beforeStep = new Map<string, number>();
  private readonly listedInStep = new Map<string, number>();
  /** Failed runs just resumed: their next event is the move to where they go on. */
  private readonly resuming = new Set<string>();
  /** Fired runs whose OrderAdded is still to come in this step. */
  private readonly firedRuns = new Map<string, string>();

  event(pre: State, e: Event): string[] {
    const out: string[] = [];
    if (e.type === 'ScheduleFired' || e.type === 'ScheduleFireSkipped') this.fire(pre, e, out);
    else if (e.type === 'JobConfigDeleted') this.lastFire.delete(e.id);
    if (!('orderId' in e)) return out;
    if (e.type === 'OrderAdded') {
      const fired = this.firedRuns.get(e.orderId);
      if (fired !== undefined && e.jobConfig !== fired) out.push(`[fire] run ${e.orderId} of a fire of job config ${fired} is added as a run of ${String(e.jobConfig)}`);
      this.firedRuns.delete(e.orderId);
      return out;
    }
    const o = pre.orders.get(e.orderId);
    if (!o || o.jobConfig === undefined) return out;
    const runLock = jobConfigLockName(o.jobConfig);
    const implicitGrant = e.type === 'OrderLocksAcquired' && e.implicit === true;
    // A failed run starts again when resumed: after the move to where it goes on, its next event starts it.
    const resumed = this.resuming.has(o.id);
    if (resumed && e.type !== 'OrderMoved') this.resuming.delete(o.id);
    if (e.type === 'OrderResumed' && o.state === 'failed') this.resuming.add(o.id);
    const starting = notStarted(o) || resumed || this.resuming.has(o.id);
    if (starting) {
      const neutral =
        !STARTS.has(e.type) ||
        (e.type === 'OrderLocksQueued' && e.implicit === true) ||
        (e.type === 'OrderMoved' && (resumed || samePosition(e.to, [0]))); // a failed run's resume; a scheduled run comes due // the move of a failed run's resume
      if (!neutral) {
        this.resuming.delete(o.id);
        const must = blocksNow(pre, o.jobConfig) || o.serialized === true;
        const where = `run ${o.id} of job config ${o.jobConfig} starts with ${e.type}`;
        if (must && !(implicitGrant && e.grants.length === 1 && e.grants[0]!.lock === runLock)) {
          const holders = [...pre.orders.values()].filter((x) => x.jobConfig === o.jobConfig && holdsLock(x, runLock)).map((x) => x.id);
          out.push(`[blocking] ${where} without its run lock although ${o.serialized === true ? 'its schedule queues it' : 'the job config is blocking'} (run lock held by ${holders.join(', ') || 'nobody'})`);
        }
        if (!must && implicitGrant) out.push(`[blocking] ${where}: takes the run lock although the job config is not blocking`);
        if (implicitGrant) this.locked.add(o.id);
      } else if (e.type === 'OrderLocksQueued' && !blocksNow(pre, o.jobConfig) && o.serialized !== true) {
        out.push(`[blocking] run ${o.id} queues for the run lock of job config ${o.jobConfig}, which is not blocking`);
      }
    } else if (implicitGrant) {
      out.push(`[blocking] run ${o.id} of job config ${o.jobConfig} takes the run lock after it started`);
    }
    if (e.type === 'OrderFailed') {
      // The run lock encloses the whole run: a run holding it fails back at its start ([0]).
      const want = this.locked.has(o.id) ? [0] : (ownLocks(o)[0] ?? o.position);
      if (!starting && !samePosition(want, e.to)) out.push(`[failure] run ${o.id} of job config ${o.jobConfig} ${this.locked.has(o.id) ? 'held its run lock' : 'did not hold its run lock'} and fails to ${pos(e.to)}, expected ${pos(want)}`);
      this.locked.delete(o.id);
    } else if (e.type === 'OrderCancelled' || e.type === 'OrderFinished' || e.type === 'OrderDeleted') {
      this.locked.delete(o.id);
      this.resuming.delete(o.id);
    }
    return out;
  }

  private fire(pre: State, e: EventOf<'ScheduleFired' | 'ScheduleFireSkipped'>, out: string[]): void {
    const c = pre.jobConfigs.get(e.jobConfig);
    const what = `${e.type === 'ScheduleFired' ? 'fire' : 'skip record'} of job config ${e.jobConfig} at ${e.fireAt}`;
    if (!c) {
      out.push(`[fire] ${what}: unknown job config`);
      return;
    }
    if (!this.beforeStep.has(e.jobConfig)) this.beforeStep.set(e.jobConfig, this.lastFire.get(e.jobConfig) ?? -Infinity);
    if (e.type === 'ScheduleFireSkipped' && e.count !== undefined) {
      // A summary of older missed fires comes after the fires listed one by one in its step.
      const before = this.beforeStep.get(e.jobConfig)!;
      const listed = this.listedInStep.get(e.jobConfig) ?? Infinity;
      if (!(e.fireAt > before && e.fireAt < listed)) out.push(`[fire-once] ${what}: a summary of ${e.count} missed fires must lie after the fires handled before (${before}) and before those listed with it (${listed})`);
    } else {
      const last = this.lastFire.get(e.jobConfig);
      if (last !== undefined && e.fireAt <= last) out.push(`[fire-once] ${what}: fire times up to ${last} were handled already (duplicate or out of order)`);
      this.lastFire.set(e.jobConfig, Math.max(last ?? e.fireAt, e.fireAt));
      this.listedInStep.set(e.jobConfig, Math.min(this.listedInStep.get(e.jobConfig) ?? Infinity, e.fireAt));
    }
    if (e.fireAt > e.at) out.push(`[fire] ${what}: handled at ${e.at}, before it was due`);
    if (e.type === 'ScheduleFireSkipped') {
      if (e.count !== undefined && !(Number.isInteger(e.count) && e.count >= 1)) out.push(`[fire] ${what}: count ${e.count}`);
      if (e.reason.startsWith('queueLimit')) {
        const sched = c.def.schedule;
        const q = sched?.queueLimit;
        // Runs that wait for the run lock or have not started yet (they will wait for it).
        const waiting = [...pre.orders.values()].filter((x) => x.jobConfig === e.jobConfig && notStarted(x)).map((x) => x.id);
        if (q === undefined || (sched?.overlap ?? (blocksNow(pre, e.jobConfig) ? 'queue' : 'allow')) !== 'queue') out.push(`[queue-limit] ${what}: skipped for a queueLimit the schedule does not have (${e.reason})`);
        else if (!runLockBusy(pre, e.jobConfig) && waiting.length === 0) out.push(`[queue-limit] ${what}: skipped (${e.reason}) but the new run would have started at once (run lock free, nobody waits; runs ${runsOf(pre, e.jobConfig)})`);
        else if (waiting.length < q) out.push(`[queue-limit] ${what}: skipped (${e.reason}) with only ${waiting.length} run(s) waiting or not started (${waiting.join(', ') || '-'})`);
      }
      return;
    }
    if (e.orderId !== `${e.jobConfig}@${e.fireAt}`) out.push(`[fire] ${what}: run ${e.orderId}, expected ${e.jobConfig}@${e.fireAt}`);
    if (pre.orders.has(e.orderId)) out.push(`[fire] ${what}: run ${e.orderId} exists already`);
    this.firedRuns.set(e.orderId, e.jobConfig);
    const sched = c.def.schedule;
    const overlap = sched?.overlap ?? (blocksNow(pre, e.jobConfig) ? 'queue' : 'allow');
    if (overlap === 'queue' && sched?.queueLimit !== undefined) {
      // Its run would wait: then fewer than queueLimit may wait (or not have started) before it.
      const waiting = [...pre.orders.values()].filter((x) => x.jobConfig === e.jobConfig && notStarted(x)).map((x) => x.id);
      if ((waiting.length > 0 || runLockBusy(pre, e.jobConfig)) && waiting.length >= sched.queueLimit) {
        out.push(`[queue-limit] ${what}: a run is added behind ${waiting.length} run(s) waiting or not started (${waiting.join(', ') || 'the holder'}), queueLimit ${sched.queueLimit}`);
      }
    }
    if (overlap === 'skip') {
      const active = [...pre.orders.values()].filter((x) => x.jobConfig === e.jobConfig && x.id !== e.orderId && isActiveRunSpec(x));
      if (active.length > 0) out.push(`[overlap] ${what}: overlap skip, but run ${active.map((x) => x.id).join(', ')} is active`);
    }
  }

  /** After each step (the state after it). */
  afterStep(s: State): string[] {
    const out: string[] = [];
    const perConfig = new Map<string, string[]>();
    for (const id of this.locked) {
      const o = s.orders.get(id);
      if (!o || !isLive(o) || o.jobConfig === undefined) continue;
      if (!holdsLock(o, jobConfigLockName(o.jobConfig))) out.push(`[blocking] run ${id} started holding the run lock of job config ${o.jobConfig} and is ${o.state} without it`);
      perConfig.set(o.jobConfig, [...(perConfig.get(o.jobConfig) ?? []), id]);
    }
    for (const [c, ids] of perConfig) if (ids.length > 1) out.push(`[blocking] job config ${c}: ${ids.length} runs that started under blocking are active at once: ${ids.join(', ')}`);
    for (const c of s.jobConfigs.values()) {
      const runLock = jobConfigLockName(c.def.id);
      const holders = [...s.orders.values()].filter((o) => o.jobConfig === c.def.id && holdsLock(o, runLock) && o.endedAt === undefined);
      if (holders.length > 1) out.push(`[blocking] job config ${c.def.id}: ${holders.length} runs hold the run lock: ${holders.map((o) => o.id).join(', ')}`);
      if (!blocksNow(s, c.def.id)) {
        const stuck = runLockWaiters(s, c.def.id).filter((id) => s.orders.get(id)?.serialized !== true);
        if (stuck.length > 0) out.push(`[blocking] job config ${c.def.id} is not blocking but run(s) ${stuck.join(', ')} wait for its run lock`);
      }
    }
    this.beforeStep.clear();
    this.listedInStep.clear();
    for (const [id, c] of this.firedRuns) out.push(`[fire] a fire of job config ${c} names run ${id}, which was not added`);
    this.firedRuns.clear();
    return out;
  }
}

/** Active in the sense of §8 (docs/decisions.md): scheduled, ready, waiting, processing, prompting or stopped. */
function isActiveRunSpec(o: Order): boolean {
  return o.endedAt === undefined && o.state !== 'failed';
}

/** The live runs of a job config, for messages. */
function runsOf(s: State, jobConfig: string): string {
  return [...s.orders.values()].filter((o) => o.jobConfig === jobConfig && isLive(o)).map((o) => `${o.id} (${o.state}${o.suspended ? ' suspended' : ''} at ${pos(o.position)}, holds ${o.held.length})`).join(', ') || 'none';
}

/** Runs waiting for the run lock of a job config, in line. */
function runLockWaiters(s: State, jobConfig: string): string[] {
  return line(s.instances.get(jobConfigLockName(jobConfig)));
}

function runLockBusy(s: State, jobConfig: string): boolean {
  const inst = s.instances.get(jobConfigLockName(jobConfig));
  return inst !== undefined && (inst.holders.size > 0 || inst.queue.size > 0);
}

/**
 * §8 catch-up, for one `fireSchedule` command and the events it gave: a time more than 60 s
 * old when reported is missed; `none` skips every missed one, `latest` runs only the newest
 * missed one and only when no fire is on time, `all` runs them all. Fires to run are fired
 * or skipped for a reason other than being missed; a `missed` summary gives one skip record
 * with its count. Times at or before the last handled fire, or later than now, are ignored.
 */
export function checkFireCommand(pre: State, cmd: Extract<Command, { type: 'fireSchedule' }>, events: readonly Event[], now: number): string[] {
  const out: string[] = [];
  const c = pre.jobConfigs.get(cmd.id);
  if (!c) return out;
  const last = c.lastFireAt ?? -Infinity;
  const times = [...new Set(cmd.fireTimes)].filter((t) => t > last && t <= now).sort((a, b) => a - b);
  const catchUp = c.def.schedule?.catchUp ?? 'latest';
  const missed = times.filter((t) => now - t > 60_000);
  const onTime = times.filter((t) => now - t <= 60_000);
  const run = new Set(catchUp === 'all' ? times : catchUp === 'none' ? onTime : onTime.length > 0 ? onTime : missed.slice(-1));
  const records = events.filter((e): e is EventOf<'ScheduleFired' | 'ScheduleFireSkipped'> => (e.type === 'ScheduleFired' || e.type === 'ScheduleFireSkipped') && e.jobConfig === cmd.id);
  for (const t of times) {
    const r = records.filter((e) => e.fireAt === t && !(e.type === 'ScheduleFireSkipped' && e.count !== undefined));
    if (r.length !== 1) {
      out.push(`[fire-once] job config ${cmd.id}: fire time ${t} reported, ${r.length} records for it`);
      continue;
    }
    const e = r[0]!;
    const missedSkip = e.type === 'ScheduleFireSkipped' && e.reason.startsWith('missed');
    if (run.has(t) && missedSkip) out.push(`[catch-up] job config ${cmd.id}: fire ${t} (${now - t} ms late, catchUp ${catchUp}) should run but was skipped as missed`);
    if (!run.has(t) && !missedSkip) out.push(`[catch-up] job config ${cmd.id}: fire ${t} (${now - t} ms late, catchUp ${catchUp}) should be skipped as missed, got ${e.type === 'ScheduleFired' ? 'a run' : e.reason}`);
  }
  const summaries = records.filter((e) => e.type === 'ScheduleFireSkipped' && e.count !== undefined);
  const wantSummary = cmd.missed !== undefined && cmd.missed.lastAt > last && cmd.missed.lastAt <= now;
  if (summaries.length !== (wantSummary ? 1 : 0)) out.push(`[fire-once] job config ${cmd.id}: ${summaries.length} summary skip records, expected ${wantSummary ? 1 : 0}`);
  else if (wantSummary) {
    const s0 = summaries[0]!;
    if (s0.type !== 'ScheduleFireSkipped' || s0.count !== cmd.missed!.count || s0.fireAt !== cmd.missed!.lastAt) out.push(`[fire-once] job config ${cmd.id}: summary record ${JSON.stringify(s0)} for ${JSON.stringify(cmd.missed)}`);
  }
  if (records.length !== times.length + (wantSummary ? 1 : 0)) out.push(`[fire-once] job config ${cmd.id}: ${records.length} fire records for ${times.length} new fire time(s)${wantSummary ? ' and a summary' : ''}`);
  return out;
}
