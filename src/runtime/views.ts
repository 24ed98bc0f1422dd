// Read models: what callers see of orders and locks (semantics §3.9: everything visible).

import type { Block, Demand, Instruction, Order, Position, Workflow } from '../core/model.js';
import { branchBlock, branchIteration, encloses, samePosition } from '../core/positions.js';
import type { State } from '../core/state.js';
import { anyWorkerCanRun } from '../core/workers.js';

/** Whether some registered worker can run the job `<workflow>:<name>` (at the order's workflow's latest version). */
function anyWorkerCanRunJob(s: State, key: string): boolean {
  if (!s.workersKnown) return true;
  for (const [name, w] of s.workflows) {
    if (!key.startsWith(`${name}:`)) continue;
    const job = w.versions.get(w.latest)?.jobs[key.slice(name.length + 1)];
    if (job) return anyWorkerCanRun(s, job);
  }
  return true;
}

export interface OrderView {
  id: string;
  workflow: string;
  /** The job config this order is a run of. */
  jobConfig?: string;
  version: number;
  state: Order['state'];
  suspended: boolean;
  position: Order['position'];
  arguments: Record<string, string>;
  priority: number;
  scheduledFor?: number;
  addedAt: number;
  endedAt?: number;
  /** `kind: 'worker'`: queued for a job that no registered worker can run (a function nobody registered yet). */
  waitingFor?: (NonNullable<Order['waitingFor']> | { kind: 'worker'; job: string }) & { since?: number; until?: number };
  /** Locks held, outermost first. */
  locks: { lock: string; count?: number; token: number; since: number }[];
  execution?: Order['execution'];
  /** A Fork's child: its parent order. */
  parent?: string;
  /** While forked: the child orders. */
  children?: string[];
  /** Added by an AddOrder instruction of this order. */
  addedBy?: string;
  /** In or between the cycles of a Cycle (the innermost): cycles started in the current period, the next start (ms), the end of cycling (ms). */
  cycle?: { index: number; next: number; end: number };
  /** While prompting: the question asked, since when. */
  prompt?: { question: string; since?: number };
  outcome?: Order['outcome'];
  pending?: { suspend?: true; cancel?: { kill: boolean } };
}

/**
 * A copy: nothing in it is shared with the live state (callers may keep or change it). With
 * the state, an order queued for a job no worker can run shows `waitingFor: worker`.
 */
export function orderView(o: Order, s?: State): OrderView {
  const v: OrderView = {
    id: o.id,
    workflow: o.workflow,
    version: o.version,
    state: o.state,
    suspended: o.suspended,
    position: [...o.position],
    arguments: { ...o.arguments },
    priority: o.priority,
    addedAt: o.addedAt,
    locks: o.held.flatMap((h) => h.grants.map((g) => ({ ...g, since: h.since }))),
  };
  if (o.jobConfig !== undefined) v.jobConfig = o.jobConfig;
  if (o.scheduledFor !== undefined) v.scheduledFor = o.scheduledFor;
  if (o.endedAt !== undefined) v.endedAt = o.endedAt;
  if (o.waitingFor) {
    const w = o.waitingFor;
    if (w.kind === 'job' && s !== undefined && !anyWorkerCanRunJob(s, w.job)) v.waitingFor = { kind: 'worker', job: w.job };
    else v.waitingFor = w.kind === 'locks' ? { ...w, locks: [...w.locks] } : w.kind === 'notice' ? { ...w, notices: [...w.notices] } : { ...w };
    if (o.waitingSince !== undefined) v.waitingFor.since = o.waitingSince;
    if (o.waitUntil !== undefined) v.waitingFor.until = o.waitUntil;
  }
  if (o.execution) v.execution = { ...o.execution };
  if (o.parent !== undefined) v.parent = o.parent;
  if (o.children !== undefined) v.children = [...o.children];
  if (o.addedBy !== undefined) v.addedBy = o.addedBy;
  const cs = o.cycles?.[o.cycles.length - 1];
  if (cs && o.endedAt === undefined && (samePosition(cs.at, o.position) || encloses(cs.at, o.position))) v.cycle = { index: cs.index, next: cs.next, end: cs.end };
  if (o.prompt !== undefined) v.prompt = o.waitingSince !== undefined ? { question: o.prompt, since: o.waitingSince } : { question: o.prompt };
  if (o.outcome) v.outcome = { ...o.outcome };
  if (o.suspendPending || o.cancelPending) {
    v.pending = {};
    if (o.suspendPending) v.pending.suspend = true;
    if (o.cancelPending) v.pending.cancel = { ...o.cancelPending };
  }
  return v;
}

export interface LockView {
  name: string;
  family: string;
  key?: string;
  limit: number;
  title?: string;
  policy: 'fifo' | 'greedy';
  keyed: boolean;
  /** Set for the implicit lock of a blocking job config (its runs, one at a time). */
  jobConfig?: string;
  fencingToken: number;
  state: 'available' | 'exclusive' | 'shared' | 'closed';
  heldWeight: number;
  holders: { orderId: string; count?: number; exclusive: boolean; since: number; token: number }[];
  /** The first waiters in line (all of them unless the reader bounds it: see queueLength). */
  queue: { orderId: string; place: number; demand: { count?: number; exclusive: boolean }; priority: number; since?: number; reason: string }[];
  /** How many wait in all. */
  queueLength: number;
}

/** Names of every lock to list: the live instances, and keyed families with none (idle), sorted. */
function lockNames(s: State): string[] {
  const names = new Set(s.instances.keys());
  const live = new Set<string>();
  for (const i of s.instances.values()) live.add(i.family);
  for (const [name, fam] of s.locks) if (fam.def.keyed && !live.has(name)) names.add(name);
  return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** An idle keyed family (no live instance). */
function idleFamilyView(s: State, name: string): LockView | undefined {
  const fam = s.locks.get(name);
  if (!fam?.def.keyed) return undefined;
  return {
    name,
    family: name,
    limit: fam.def.limit,
    ...(fam.def.title !== undefined ? { title: fam.def.title } : {}),
    policy: fam.def.policy ?? 'fifo',
    keyed: true,
    fencingToken: fam.token,
    state: fam.def.limit === 0 ? 'closed' : 'available',
    heldWeight: 0,
    holders: [],
    queue: [],
    queueLength: 0,
  };
}

/** Every lock, sorted by name; each queue shows its first `waitersMax` waiters (all by default). */
export function lockViews(s: State, waitersMax = Infinity): LockView[] {
  return lockPage(s, { limit: Infinity, waitersMax }).locks;
}

/**
 * A page of locks by name: those after `after`, at most `limit`, each queue cut to its first
 * `waitersMax` waiters (`queueLength` counts them all); `next` when more follow.
 */
export function lockPage(s: State, o: { after?: string; limit: number; waitersMax: number }): { locks: LockView[]; next?: string } {
  const names = lockNames(s).filter((n) => o.after === undefined || n > o.after);
  const locks: LockView[] = [];
  for (const name of names) {
    if (locks.length >= o.limit) break;
    const v = lockView(s, name, o.waitersMax) ?? idleFamilyView(s, name);
    if (v) locks.push(v);
  }
  const last = locks[locks.length - 1];
  return names.length > locks.length && last ? { locks, next: last.name } : { locks };
}

export function lockView(s: State, name: string, waitersMax = Infinity): LockView | undefined {
  const inst = s.instances.get(name);
  if (!inst) return undefined;
  const fam = s.locks.get(inst.family);
  if (!fam) return undefined;
  const limit = fam.def.limit;
  const v: LockView = {
    name,
    family: inst.family,
    limit,
    policy: fam.def.policy ?? 'fifo',
    keyed: fam.def.keyed === true,
    fencingToken: fam.token,
    state: limit === 0 ? 'closed' : inst.exclusive !== undefined ? 'exclusive' : inst.holders.size > 0 ? 'shared' : 'available',
    heldWeight: inst.weight,
    holders: [...inst.holders.values()].map((h) => ({
      orderId: h.orderId,
      ...(h.count !== undefined ? { count: h.count } : {}),
      exclusive: h.count === undefined,
      since: h.since,
      token: h.token,
    })),
    queue: [],
    queueLength: inst.queue.size,
  };
  if (inst.key !== undefined) v.key = inst.key;
  if (fam.def.title !== undefined) v.title = fam.def.title;
  if (fam.jobConfig !== undefined) v.jobConfig = fam.jobConfig;
  let place = 0;
  for (const id of inst.queue.inOrder()) {
    if (v.queue.length >= waitersMax) break;
    const o = s.orders.get(id);
    if (!o) continue;
    place++;
    const d = o.demands?.find((x) => x.lock === name);
    const entry: LockView['queue'][number] = {
      orderId: id,
      place,
      demand: { ...(d?.count !== undefined ? { count: d.count } : {}), exclusive: d?.count === undefined },
      priority: o.priority,
      reason: waitReason(s, o, name, place),
    };
    if (o.waitingSince !== undefined) entry.since = o.waitingSince;
    v.queue.push(entry);
  }
  return v;
}

/** Why a waiter waits: the first thing that stops its grant. */
function waitReason(s: State, o: Order, lock: string, place: number): string {
  for (const d of o.demands ?? []) {
    const inst = s.instances.get(d.lock);
    const fam = s.locks.get(d.family);
    if (!inst || !fam) continue;
    if (fam.def.limit === 0) return `lock ${d.lock} is closed (limit 0)`;
    if (d.count === undefined && inst.holders.size > 0) return `exclusive demand on ${d.lock}, held by ${[...inst.holders.keys()].join(', ')}`;
    if (inst.exclusive !== undefined) return `${d.lock} is held exclusively by ${inst.exclusive}`;
    if (d.count !== undefined && inst.weight + d.count > fam.def.limit) return `${d.lock}: held weight ${inst.weight} + ${d.count} > limit ${fam.def.limit}`;
    if (fam.def.policy !== 'greedy' && inst.queue.head() !== o.id) {
      return d.lock === lock ? `behind ${place - 1} earlier waiter(s) (fifo)` : `behind earlier waiters of ${d.lock} (fifo)`;
    }
  }
  return 'about to be granted';
}

/** One step of a position, named: the instruction and, for a block, the branch taken. */
export interface NamedStep {
  /** The position of this instruction. */
  position: Position;
  instruction: Instruction['TYPE'] | 'End';
  /** e.g. `Lock pdSerialLockMulti (shared, weight 1)`, `job job1`, `Try (catch, retry 2)`. */
  name: string;
}

function demandText(d: Demand): string {
  const key = d.key !== undefined ? `[${d.key}]` : '';
  return `${d.lockName}${key} (${d.count === undefined ? 'exclusive' : `shared, weight ${d.count}`})`;
}

/** A position as names: each enclosing instruction, outermost first, then the instruction there. */
export function positionNames(wf: Workflow, pos: Position): NamedStep[] {
  const out: NamedStep[] = [];
  let block: Block = wf;
  for (let i = 0; i < pos.length; i += 2) {
    const idx = pos[i];
    if (typeof idx !== 'number') break;
    const here = pos.slice(0, i + 1);
    const instr = block.instructions[idx];
    if (!instr) {
      out.push({ position: here, instruction: 'End', name: i === 0 ? 'end of the workflow' : 'end of the block' });
      break;
    }
    const branch = pos[i + 1];
    const label = instr.label !== undefined ? ` "${instr.label}"` : '';
    let name: string;
    switch (instr.TYPE) {
      case 'Execute.Named':
        name = `job ${instr.jobName}${instr.label !== undefined && instr.label !== instr.jobName ? label : ''}`;
        break;
      case 'Lock':
        name = `Lock ${instr.demands.map(demandText).join(', ')}`;
        break;
      case 'Try': {
        const tries = typeof branch === 'string' ? branchIteration(branch) : 0;
        name = `Try${label}${typeof branch === 'string' ? ` (${branch.startsWith('catch') ? 'catch' : 'try'}${tries > 0 ? `, retry ${tries}` : ''})` : ''}`;
        break;
      }
      default:
        name = `${instr.TYPE}${label}`;
    }
    out.push({ position: here, instruction: instr.TYPE, name });
    if (typeof branch !== 'string') break;
    const inner = branchBlock(instr, branch);
    if (!inner) break;
    block = inner;
  }
  return out;
}
