// The engine's state: everything `evolve` builds from events. Some parts are derived
// indexes (lock instances, job queues, timers) rebuilt from orders when a snapshot loads.

import type { FireRecord, JobConfig, JobConfigAlias, JobResourceDef, JobTemplate, LockDef, NoticeBoardDef, Order, Workflow } from './model.js';
import { WaitQueue } from './queue.js';
import { executionOnWorker, serializeWorkers, workerRegistered, type WorkerState } from './workers.js';

export interface LockFamily {
  def: LockDef;
  /** Fencing token of the last grant: never goes back. Shared by a keyed family's instances. */
  token: number;
  /** The implicit lock of this job config (blocking runs), not a deployed lock. */
  jobConfig?: string;
}

export interface JobConfigState {
  def: JobConfig;
  /** The latest schedule fire handled (fired or skipped). */
  lastFireAt?: number;
  /**
   * Since when the schedule is in force as it is: the save that set it or made the job config
   * active. Saves that change neither (e.g. `blocking`) keep it, so that fires due before them
   * are still reported (undefined in snapshots written before: `def.modified` then).
   */
  scheduleSince?: number;
  /** The newest fires, newest last (at most FIRES_KEPT). */
  fires: FireRecord[];
  /** Its aliases (at most LIMITS.aliasesPerJobConfigMax), in the order they were set. */
  aliases?: JobConfigAlias[];
}

export const FIRES_KEPT = 50;

/**
 * Names starting with `jobconfig:` are reserved for what Orderly generates for job configs
 * (their run lock, and the workflow of a job config with an inline command). Deployed names
 * cannot contain ':', so the namespace never meets a user's name.
 */
export const GENERATED_PREFIX = 'jobconfig:';

/** The implicit lock of a job config: ':' cannot occur in deployed lock names. */
export function jobConfigLockName(id: string): string {
  return `${GENERATED_PREFIX}${id}`;
}

/** The generated workflow of a job config with an inline command. */
export function jobConfigWorkflowName(id: string): string {
  return `${GENERATED_PREFIX}${id}`;
}

/** Whether a workflow name is in the reserved namespace of generated workflows. */
export function isGeneratedWorkflowName(name: string): boolean {
  return name.startsWith(GENERATED_PREFIX);
}

export interface Holder {
  orderId: string;
  /** Absent = exclusive. */
  count?: number;
  token: number;
  since: number;
}

export interface LockInstance {
  name: string;
  family: string;
  key?: string;
  holders: Map<string, Holder>;
  /** Sum of shared weights held. */
  weight: number;
  /** The exclusive holder, if any. */
  exclusive?: string | undefined;
  queue: WaitQueue;
}

export interface JobState {
  key: string;
  running: number;
  queue: WaitQueue;
}

export interface WorkflowVersions {
  latest: number;
  versions: Map<number, Workflow>;
}

export type TimerKind = 'scheduled' | 'retry' | 'lockWait' | 'admission';

export interface Timer {
  at: number;
  orderId: string;
  kind: TimerKind;
}

/** A binary min-heap of timers; entries are checked against the order when popped. */
export class TimerHeap {
  private h: Timer[] = [];
  get size(): number {
    return this.h.length;
  }
  push(t: Timer): void {
    const h = this.h;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= t.at) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = t;
  }
  peek(): Timer | undefined {
    return this.h[0];
  }
  pop(): Timer | undefined {
    const h = this.h;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && h[r]!.at < h[l]!.at ? r : l;
        if (h[c]!.at >= last.at) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

/**
 * Ended orders, oldest first: a set of order ids that keeps the order they ended in (like a
 * Set's insertion order) and finds the oldest in O(1) amortised. A Set would do, but V8 keeps
 * deleted entries of a Set until it rehashes, so finding its first entry after dropping the
 * oldest thousands of times means skipping thousands of dead entries on every turn.
 */
export class EndedOrders implements Iterable<string> {
  /** Id → its place in `line` (counted from the first id ever added, so places never repeat). */
  private readonly place = new Map<string, number>();
  /** Ids in the order they were added; an entry is stale when its id left (or left and came back). */
  private line: string[] = [];
  private head = 0;
  /** The place of `line[0]`. */
  private base = 0;

  get size(): number {
    return this.place.size;
  }

  has(id: string): boolean {
    return this.place.has(id);
  }

  /** Adds `id` at the end; an id already present keeps its place. */
  add(id: string): this {
    if (!this.place.has(id)) {
      this.place.set(id, this.base + this.line.length);
      this.line.push(id);
    }
    return this;
  }

  delete(id: string): boolean {
    if (!this.place.delete(id)) return false;
    // Ids leave oldest first (retention), where `oldest` skips them; should many leave from
    // elsewhere in the line, it is rebuilt rather than left to hold their stale entries.
    if (this.line.length - this.head > 2 * this.place.size + 1024) this.compact();
    return true;
  }

  private compact(): void {
    const line: string[] = [];
    for (const id of this.place.keys()) {
      this.place.set(id, line.length); // an id present keeps its place in a Map's order
      line.push(id);
    }
    this.line = line;
    this.head = 0;
    this.base = 0;
  }

  /** The id added longest ago (still present). */
  oldest(): string | undefined {
    const line = this.line;
    let head = this.head;
    while (head < line.length && this.place.get(line[head]!) !== this.base + head) head++;
    if (head > 1024 && head * 2 > line.length) {
      this.line = line.slice(head);
      this.base += head;
      head = 0;
    }
    this.head = head;
    return this.line[head];
  }

  /** Ids, oldest first. */
  [Symbol.iterator](): Iterator<string> {
    return this.place.keys();
  }
}

export interface CoreOptions {
  /** Ended orders kept in memory (oldest dropped first; their events stay in the journal). */
  endedOrdersKeptMax: number;
  /**
   * The worker that gets an execution when several have the most free slots: the writer's own
   * (an execution there costs no trip through the journal's database). The choice is in the
   * event (OrderProcessingStarted's `worker`), so replay does not need it.
   */
  preferredWorker?: string;
}

export const DEFAULT_CORE_OPTIONS: CoreOptions = { endedOrdersKeptMax: 10_000 };

export interface State {
  locks: Map<string, LockFamily>;
  instances: Map<string, LockInstance>;
  workflows: Map<string, WorkflowVersions>;
  /** Deployed JS7 job resources by name. */
  jobResources: Map<string, JobResourceDef>;
  orders: Map<string, Order>;
  jobTemplates: Map<string, JobTemplate>;
  jobConfigs: Map<string, JobConfigState>;
  /** Fencing tokens of deleted locks: a lock deployed again under the name goes on from there. */
  retiredTokens: Map<string, number>;
  jobs: Map<string, JobState>;
  /** Jobs with at least one waiter (to pick the next execution among them). */
  jobsWaiting: Set<string>;
  /** Worker slots of the node: executions at once. */
  slots: number;
  /**
   * How many grants the writer may make ahead of the journal, for jobs it starts before their
   * commit (0: none). The next writer moves every token on by it (LockTokensAdvanced).
   */
  tokenHeadroom: number;
  /** Registered workers (src/core/workers.ts). */
  workers: Map<string, WorkerState>;
  /** A worker has registered once: from then on executions go to workers only. */
  workersKnown: boolean;
  running: number;
  /** Next arrival number: the place in line of the next waiter. */
  arrival: number;
  /** Ended orders, oldest first (for retention). */
  ended: EndedOrders;
  timers: TimerHeap;
  /** Notice boards, with their notices (id → end of life, ms). */
  boards: Map<string, { def: NoticeBoardDef; notices: Map<string, number> }>;
  /** Seq of the last event applied (set by the runtime/replay). */
  seq: number;
}

export function emptyState(): State {
  return {
    locks: new Map(),
    instances: new Map(),
    workflows: new Map(),
    jobResources: new Map(),
    orders: new Map(),
    jobTemplates: new Map(),
    jobConfigs: new Map(),
    retiredTokens: new Map(),
    jobs: new Map(),
    jobsWaiting: new Set(),
    slots: 4,
    tokenHeadroom: 0,
    workers: new Map(),
    workersKnown: false,
    running: 0,
    arrival: 0,
    ended: new EndedOrders(),
    timers: new TimerHeap(),
    boards: new Map(),
    seq: 0,
  };
}

export function jobKey(workflow: string, jobName: string): string {
  return `${workflow}:${jobName}`;
}

export function instanceName(family: string, key: string | undefined): string {
  return key === undefined ? family : `${family}[${key}]`;
}

export function getInstance(s: State, name: string, family: string, key?: string): LockInstance {
  let inst = s.instances.get(name);
  if (!inst) {
    inst = { name, family, holders: new Map(), weight: 0, queue: new WaitQueue() };
    if (key !== undefined) inst.key = key;
    s.instances.set(name, inst);
  }
  return inst;
}

/** Keyed instances vanish when idle; plain locks live as long as their definition. */
export function dropIfIdle(s: State, inst: LockInstance): void {
  if (inst.key !== undefined && inst.holders.size === 0 && inst.queue.size === 0) s.instances.delete(inst.name);
}

export function getJob(s: State, key: string): JobState {
  let j = s.jobs.get(key);
  if (!j) {
    j = { key, running: 0, queue: new WaitQueue() };
    s.jobs.set(key, j);
  }
  return j;
}

export function workflowOf(s: State, o: Order): Workflow {
  const wf = s.workflows.get(o.workflow)?.versions.get(o.version);
  if (!wf) throw new Error(`assertion: order ${o.id} has unknown workflow ${o.workflow}@${o.version}`);
  return wf;
}

// ---------------------------------------------------------------- serialization

interface Serialized {
  format: 1;
  seq: number;
  slots: number;
  tokenHeadroom?: number;
  workers?: { id: string; slots: number; functions: string[]; agents?: string[]; lease: number }[];
  workersKnown?: true;
  arrival: number;
  locks: { def: LockDef; token: number; jobConfig?: string }[];
  jobTemplates: JobTemplate[];
  jobConfigs: JobConfigState[];
  retiredTokens?: [string, number][];
  workflows: { name: string; latest: number; versions: { version: number; workflow: Workflow }[] }[];
  jobResources?: JobResourceDef[];
  orders: Order[];
  ended: string[];
  boards?: { def: NoticeBoardDef; notices: [string, number][] }[];
}

/** Every field of an Order, in the order snapshots write them (whatever order they were set
 * in); JSON leaves out those undefined. One literal shape, which V8 writes faster than an object
 * built key by key. The type makes the compiler refuse it when Order gains a field it lacks. */
function canonicalOrder(o: Order): Order {
  const out: { [K in keyof Order]-?: Order[K] | undefined } = {
    id: o.id,
    workflow: o.workflow,
    jobConfig: o.jobConfig,
    serialized: o.serialized,
    version: o.version,
    arguments: o.arguments,
    priority: o.priority,
    scheduledFor: o.scheduledFor,
    addedAt: o.addedAt,
    position: o.position,
    state: o.state,
    suspended: o.suspended,
    suspendPending: o.suspendPending,
    cancelPending: o.cancelPending,
    waitingFor: o.waitingFor,
    arrival: o.arrival,
    demands: o.demands,
    waitingSince: o.waitingSince,
    waitingImplicit: o.waitingImplicit,
    waitUntil: o.waitUntil,
    held: o.held,
    execution: o.execution,
    executions: o.executions,
    prompt: o.prompt,
    parent: o.parent,
    children: o.children,
    cycles: o.cycles,
    addedBy: o.addedBy,
    deleteWhenTerminated: o.deleteWhenTerminated,
    lostAttempts: o.lostAttempts,
    outcome: o.outcome,
    endedAt: o.endedAt,
  };
  return out as unknown as Order;
}

/** Snapshots are at least this many events apart per order in the state. */
const SNAPSHOT_EVENTS_PER_ORDER = 10;

/**
 * Events between two snapshots: at least `minEvents`, and 10 per order in the state. A snapshot
 * costs time in proportion to the state; spacing them in proportion too keeps its cost per
 * event flat however many orders wait (and replay after a crash at most ~10 events per order).
 */
export function snapshotSpacing(s: State, minEvents: number): number {
  return Math.max(minEvents, SNAPSHOT_EVENTS_PER_ORDER * s.orders.size);
}

/** Canonical JSON of the state: equal states give equal text (used for snapshots and replay checks). */
export function serializeState(s: State): string {
  const byName = <T>(m: Map<string, T>): [string, T][] => [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Serialized = {
    format: 1,
    seq: s.seq,
    slots: s.slots,
    ...(s.tokenHeadroom > 0 ? { tokenHeadroom: s.tokenHeadroom } : {}),
    ...(s.workersKnown ? { workers: serializeWorkers(s), workersKnown: true as const } : {}),
    arrival: s.arrival,
    locks: byName(s.locks).map(([, f]) => (f.jobConfig !== undefined ? { def: f.def, token: f.token, jobConfig: f.jobConfig } : { def: f.def, token: f.token })),
    jobTemplates: byName(s.jobTemplates).map(([, t]) => t),
    jobConfigs: byName(s.jobConfigs).map(([, c]) => c),
    retiredTokens: byName(s.retiredTokens),
    workflows: byName(s.workflows).map(([name, w]) => ({
      name,
      latest: w.latest,
      versions: [...w.versions.entries()].sort((a, b) => a[0] - b[0]).map(([version, workflow]) => ({ version, workflow })),
    })),
    ...(s.jobResources.size > 0 ? { jobResources: byName(s.jobResources).map(([, r]) => r) } : {}),
    orders: byName(s.orders).map(([, o]) => canonicalOrder(o)),
    ended: [...s.ended],
    ...(s.boards.size > 0 ? { boards: byName(s.boards).map(([, b]) => ({ def: b.def, notices: [...b.notices.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)) })) } : {}),
  };
  return JSON.stringify(out);
}

/** Rebuilds a state, with its derived indexes, from `serializeState` output. */
export function deserializeState(text: string): State {
  const d = JSON.parse(text) as Serialized;
  if (d.format !== 1) throw new Error(`snapshot: unknown format ${String(d.format)}`);
  const s = emptyState();
  s.seq = d.seq;
  s.slots = d.slots;
  s.tokenHeadroom = d.tokenHeadroom ?? 0;
  for (const w of d.workers ?? []) workerRegistered(s, { workerId: w.id, slots: w.slots, functions: w.functions, ...(w.agents ? { agents: w.agents } : {}), lease: w.lease });
  s.workersKnown = d.workersKnown === true;
  s.arrival = d.arrival;
  for (const t of d.jobTemplates) s.jobTemplates.set(t.id, t);
  for (const [name, token] of d.retiredTokens ?? []) s.retiredTokens.set(name, token);
  for (const c of d.jobConfigs) s.jobConfigs.set(c.def.id, c);
  for (const l of d.locks) {
    s.locks.set(l.def.name, l.jobConfig !== undefined ? { def: l.def, token: l.token, jobConfig: l.jobConfig } : { def: l.def, token: l.token });
    if (!l.def.keyed) getInstance(s, l.def.name, l.def.name);
  }
  for (const w of d.workflows) {
    s.workflows.set(w.name, { latest: w.latest, versions: new Map(w.versions.map((v) => [v.version, v.workflow])) });
  }
  for (const r of d.jobResources ?? []) s.jobResources.set(r.name, r);
  for (const o of d.orders) s.orders.set(o.id, o);
  for (const id of d.ended) s.ended.add(id);
  for (const b of d.boards ?? []) s.boards.set(b.def.name, { def: b.def, notices: new Map(b.notices) });
  rebuildIndexes(s);
  return s;
}

/** Lock holders, queues, job counts and timers follow from the orders. */
export function rebuildIndexes(s: State): void {
  const waiting: Order[] = [];
  for (const o of s.orders.values()) {
    for (const h of o.held) {
      for (const g of h.grants) {
        const family = familyOfInstance(g.lock);
        const inst = getInstance(s, g.lock, family, keyOfInstance(g.lock));
        const holder: Holder = { orderId: o.id, token: g.token, since: h.since };
        if (g.count === undefined) inst.exclusive = o.id;
        else {
          holder.count = g.count;
          inst.weight += g.count;
        }
        inst.holders.set(o.id, holder);
      }
    }
    if (o.state === 'processing' && o.execution) {
      getJob(s, o.execution.job).running++;
      s.running++;
      executionOnWorker(s, o);
    }
    if (o.state === 'waiting' || o.state === 'scheduled') waiting.push(o);
  }
  waiting.sort((a, b) => (a.arrival ?? 0) - (b.arrival ?? 0));
  for (const o of waiting) {
    const w = o.waitingFor;
    if (o.state === 'scheduled' && o.scheduledFor !== undefined) s.timers.push({ at: o.scheduledFor, orderId: o.id, kind: 'scheduled' });
    if (!w) continue;
    if (w.kind === 'locks' && o.demands) {
      // Each order once per queue, in line order: appended without a lookup by id.
      const locks = o.demands.length > 1 ? new Set(o.demands.map((d) => d.lock)) : undefined;
      for (const d of o.demands) {
        if (locks && !locks.delete(d.lock)) continue;
        getInstance(s, d.lock, d.family, keyOfInstance(d.lock)).queue.append(o.id, o.priority, o.arrival ?? 0);
      }
      if (o.waitUntil !== undefined) s.timers.push({ at: o.waitUntil, orderId: o.id, kind: 'lockWait' });
    } else if (w.kind === 'job') {
      getJob(s, w.job).queue.append(o.id, o.priority, o.arrival ?? 0);
      s.jobsWaiting.add(w.job);
    } else if (w.kind === 'retry' || w.kind === 'time' || w.kind === 'cycle') {
      s.timers.push({ at: w.until, orderId: o.id, kind: 'retry' });
    } else if (w.kind === 'admission' && w.until !== undefined) {
      s.timers.push({ at: w.until, orderId: o.id, kind: 'admission' });
    }
  }
}

export function familyOfInstance(name: string): string {
  const i = name.indexOf('[');
  return i < 0 ? name : name.slice(0, i);
}

export function keyOfInstance(name: string): string | undefined {
  const i = name.indexOf('[');
  return i < 0 ? undefined : name.slice(i + 1, -1);
}
