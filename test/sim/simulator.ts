// A seeded, deterministic simulation of the pure core (decide/evolve): no runtime, no I/O,
// no real clock. One seed gives one run; `runSimulation(seed, {steps})` replays it exactly.
//
// World: random locks (limits 0..4, some keyed, fifo/greedy), random workflows (nested Lock
// blocks in one global lock order, Options, Try/Retry, Fail, Finish, Sleep, If over the order's
// argument `k`, Fork of 2..3 branches with Lock blocks of their own (some inside a Lock the parent
// holds for the whole Fork, some with joinIfFailed), Execute.Named of function jobs with
// parallelism 1..3), random worker slots. Then random steps: orders come
// and go, jobs end (or their process is lost), operators cancel/suspend/resume/re-prioritise,
// time passes (tick), limits change (also to 0 and back), workflows are redeployed, and the
// node crashes and restarts from a snapshot or from the journal.
// Job configs (§5, §8): blocking or not (own or from a job template), schedules (interval and
// cron) with every overlap policy, queueLimit and catchUp; runs are started, `blocking` is
// toggled while runs are active and queued, the scheduler's due fires (`dueFires`, what the
// runtime's Scheduler submits) are polled on the simulated clock, and the node goes down for
// minutes to hours (the clock jumps, nothing polls) and catches up when it comes back.
//
// Checked: every event before it is applied (checkEvent, on a mirror state evolved event by
// event), every state after every step (checkState), refusals change nothing, no order is
// lost, and replay of the journal gives the live state. Job configs: JobConfigChecker (run lock
// and blocking, each fire once, queueLimit) on every event and step, catch-up per fireSchedule
// (checkFireCommand), and after every poll no due fire is lost: every fire time of a schedule
// since it came into force is recorded once (fired, skipped, or counted in a summary record).

import { type Command } from '../../src/core/commands.js';
import { decide, nextDeadline, type Decision } from '../../src/core/decide.js';
import type { Event } from '../../src/core/events.js';
import { evolve } from '../../src/core/evolve.js';
import type { Demand, ForkInstr, IfInstr, Instruction, Job, JobConfig, LockDef, LockInstr, Order, Outcome, Position, QueuePolicy, Schedule, TryInstr, Workflow } from '../../src/core/model.js';
import { enclosingLocks, samePosition } from '../../src/core/positions.js';
import { deserializeState, emptyState, serializeState, type State } from '../../src/core/state.js';
import { lockReferences } from '../../src/core/validate.js';
import { dueFires } from '../../src/runtime/scheduler.js';
import { fireTimesBetween } from '../../src/schedule/cron.js';
import { checkDueWaits, checkEvent, checkFireCommand, checkState, dueWaits, firstDifference, indexDump, JobConfigChecker, lineOrder, ownStart, type DueWait } from './invariants.js';
import { Rng } from './rng.js';

export interface SimOptions {
  steps: number;
  /** Full replay of the journal from emptyState, compared with the live state, every this many steps (and at the end). */
  replayEvery?: number;
  /** Steps kept in the failure trace. */
  traceLength?: number;
}

export interface SimStats {
  seed: number;
  steps: number;
  events: number;
  refused: number;
  commands: Record<string, number>;
  eventTypes: Record<string, number>;
  outcomes: Record<string, number>;
  ordersAdded: number;
  maxLiveOrders: number;
  crashes: number;
  replays: number;
  locks: number;
  workflows: number;
  cycleRefusals: number;
  /** Saves of a job config that only flipped `blocking`, with runs of it active. */
  blockingToggles: number;
  downtimes: number;
  /** Forks started and joined (OrderForked, OrderJoined events). */
  forks: number;
  joins: number;
  /** Scheduler polls (each may submit several fireSchedule commands). */
  polls: number;
  /** FNV-1a of the final serialized state: equal runs give equal digests. */
  digest: string;
}

export type SimResult =
  | { ok: true; stats: SimStats }
  | { ok: false; seed: number; step: number; message: string; trace: string[] };

class SimFailure extends Error {
  override name = 'SimFailure';
}

const KEYS = ['a', 'b', 'c'] as const;
const NO_REFUSAL: ReadonlySet<Command['type']> = new Set(['tick', 'jobFinished', 'executionLost', 'fireSchedule']);
const JOB_CONFIGS = ['J0', 'J1', 'J2', 'J3'] as const;

interface GenContext {
  budget: number;
  jobs: string[];
  /** The innermost enclosing Lock demands this keyed family alone, with key `$k` (a nested demand of it collides at run time). */
  innermostKeyed?: string | undefined;
}

interface FifoWatch {
  orderId: string;
  lock: string;
  ahead: { id: string; arrival: number }[];
}

export function runSimulation(seed: number, opts: SimOptions): SimResult {
  const sim = new Simulation(seed, opts);
  try {
    sim.run();
    return { ok: true, stats: sim.stats };
  } catch (err) {
    const message = err instanceof SimFailure ? err.message : `unexpected exception: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    return { ok: false, seed, step: sim.step, message, trace: sim.trace.slice() };
  }
}

class Simulation {
  readonly rng: Rng;
  step = 0;
  now: number;
  live: State = emptyState();
  /** Evolved event by event with the same events, for checks against the state just before each event. */
  mirror: State = emptyState();
  readonly journal: Event[] = [];
  /** Last fencing token per lock family, from the events. */
  readonly tokens = new Map<string, number>();
  /** Lock instances above a lowered limit (allowed until their holders drain). */
  readonly grandfathered = new Set<string>();
  /** Orders added and not deleted. */
  readonly known = new Set<string>();
  readonly trace: string[] = [];
  readonly stats: SimStats;
  private readonly coreOpts: { endedOrdersKeptMax: number };
  private readonly replayEvery: number;
  private readonly traceLength: number;
  private lockNames: string[] = [];
  /** Group of each lock (by index): contiguous ranges. One Lock instruction demands locks of one group; nesting goes to higher groups. */
  private groups: number[] = [];
  private workflowNames: string[] = [];
  private nextOrder = 1;
  private snapshot: { text: string; seq: number } | undefined;
  readonly jc = new JobConfigChecker();
  private nextRun = 1;
  /** Per job config: since when its current schedule is in force (every fire after it must be recorded). */
  private readonly fireFrom = new Map<string, number>();
  /** Per job config: fire records (fired, skipped, summaries with their count) newer than fireFrom. */
  private readonly fireRecords = new Map<string, { fireAt: number; n: number }[]>();

  constructor(
    readonly seed: number,
    readonly opts: SimOptions,
  ) {
    this.rng = new Rng(seed);
    this.now = 1_700_000_000_000 + this.rng.int(0, 1_000_000) * 1000;
    this.coreOpts = { endedOrdersKeptMax: this.rng.int(3, 40) };
    this.replayEvery = opts.replayEvery ?? 250;
    this.traceLength = opts.traceLength ?? 60;
    this.stats = {
      seed,
      steps: 0,
      events: 0,
      refused: 0,
      commands: {},
      eventTypes: {},
      outcomes: {},
      ordersAdded: 0,
      maxLiveOrders: 0,
      crashes: 0,
      replays: 0,
      locks: 0,
      workflows: 0,
      cycleRefusals: 0,
      blockingToggles: 0,
      downtimes: 0,
      forks: 0,
      joins: 0,
      polls: 0,
      digest: '',
    };
  }

  run(): void {
    this.setup();
    for (this.step = 1; this.step <= this.opts.steps; this.step++) {
      this.randomStep();
      this.stats.steps = this.step;
      if (this.step % this.replayEvery === 0) this.checkReplay('periodic replay');
      if (this.step % 25 === 0) this.checkMirror();
      if (this.step % 400 === 0) this.snapshot = { text: serializeState(this.live), seq: this.journal.length };
    }
    this.checkReplay('final replay');
    this.checkMirror();
    this.stats.digest = fnv1a(serializeState(this.live));
  }

  // ---------------------------------------------------------------- failure and trace

  private fail(message: string): never {
    throw new SimFailure(`step ${this.step} (t=${this.now}): ${message}`);
  }

  private note(line: string): void {
    this.trace.push(line);
    if (this.trace.length > this.traceLength) this.trace.shift();
  }

  // ---------------------------------------------------------------- running commands

  /** Runs one command through decide and checks everything. `expectRefusal`/`expectNoEvents` sharpen the checks. */
  private exec(cmd: Command, expect: { refusedWith?: string; noEvents?: boolean; accepted?: boolean } = {}): Decision {
    this.stats.commands[cmd.type] = (this.stats.commands[cmd.type] ?? 0) + 1;
    const canRefuse = !NO_REFUSAL.has(cmd.type);
    const before = canRefuse ? serializeState(this.live) + indexDump(this.live) : '';
    let d: Decision;
    try {
      d = decide(this.live, cmd, this.now, this.coreOpts);
    } catch (err) {
      this.note(`#${this.step} ${summarize(cmd)} → THROWS`);
      this.fail(`decide threw on ${summarize(cmd)}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
    if (!d.ok) {
      this.note(`#${this.step} t=${this.now} ${summarize(cmd)} → refused ${d.problem.code}: ${d.problem.message.slice(0, 160)}`);
      this.stats.refused++;
      if (!canRefuse) this.fail(`[refusal] ${cmd.type} must never be refused, got ${d.problem.code}: ${d.problem.message}`);
      const after = serializeState(this.live) + indexDump(this.live);
      if (after !== before) this.fail(`[refusal] refused ${summarize(cmd)} changed the state ${firstDifference(before, after)}`);
      if (expect.accepted) this.fail(`[setup] expected ${summarize(cmd)} to be accepted: ${d.problem.message}`);
      if (expect.refusedWith !== undefined && d.problem.code !== expect.refusedWith) {
        this.fail(`[refusal] expected refusal ${expect.refusedWith} for ${summarize(cmd)}, got ${d.problem.code}: ${d.problem.message}`);
      }
      return d;
    }
    this.note(`#${this.step} t=${this.now} ${summarize(cmd)} → ${shortEvents(d.events)}`);
    if (expect.refusedWith !== undefined) this.fail(`[refusal] expected ${summarize(cmd)} to be refused with ${expect.refusedWith}, but it was accepted`);
    if (expect.noEvents && d.events.length > 0) this.fail(`[stale] ${summarize(cmd)} should change nothing but emitted ${d.events.map(shortEvent).join(' ')}`);
    const watches = cmd.type === 'changePriority' || cmd.type === 'deploy' || cmd.type === 'deployLock' ? [] : this.fifoWatches(d.events);
    const due = cmd.type === 'tick' ? dueWaits(this.mirror, this.now) : [];
    if (cmd.type === 'fireSchedule') {
      const problems = checkFireCommand(this.mirror, cmd, d.events, this.now);
      if (problems.length > 0) this.fail(`after ${summarize(cmd)}:\n  ${problems.join('\n  ')}`);
    }
    this.applyToMirror(d.events);
    for (const e of d.events) {
      this.journal.push(e);
      this.stats.eventTypes[e.type] = (this.stats.eventTypes[e.type] ?? 0) + 1;
      if (e.type === 'OrderFailed' || e.type === 'OrderStopped' || e.type === 'OrderCaught') {
        const k = `${e.type}:${e.outcome.reason ?? '-'}`;
        this.stats.outcomes[k] = (this.stats.outcomes[k] ?? 0) + 1;
      }
    }
    this.stats.events += d.events.length;
    this.live.seq = this.journal.length;
    this.mirror.seq = this.journal.length;
    this.checkAfter(cmd, watches, due);
    return d;
  }

  /** Applies the events to the mirror, checking each against the state just before it. */
  private applyToMirror(events: readonly Event[]): void {
    for (const e of events) {
      const problems = checkEvent(this.mirror, e, this.tokens);
      problems.push(...this.jc.event(this.mirror, e));
      this.recordFire(e);
      if (problems.length > 0) this.fail(`event ${shortEvent(e)} breaks an invariant:\n  ${problems.join('\n  ')}`);
      try {
        evolve(this.mirror, e);
      } catch (err) {
        this.fail(`evolve (mirror) threw on ${JSON.stringify(e)}: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (e.type === 'LockDeployed') {
        for (const inst of this.mirror.instances.values()) {
          if (inst.family !== e.lock.name) continue;
          let w = 0;
          for (const h of inst.holders.values()) w += h.count ?? 0;
          if (w > e.lock.limit) this.grandfathered.add(inst.name);
        }
      } else if (e.type === 'OrderAdded') {
        this.known.add(e.orderId);
        this.stats.ordersAdded++;
      } else if (e.type === 'OrderForked') {
        for (const c of e.children) this.known.add(c.orderId);
        this.stats.forks++;
      } else if (e.type === 'OrderJoined') {
        // The children end with the join (removed without OrderDeleted): no longer expected.
        for (const id of [...this.known]) if (id.startsWith(`${e.orderId}|`) && !this.mirror.orders.has(id)) this.known.delete(id);
        this.stats.joins++;
      } else if (e.type === 'OrderDeleted') this.known.delete(e.orderId);
    }
  }

  /**
   * The step-level fifo rule: for each fifo grant in this step, the orders that stood in front
   * of the grantee in that lock's line before the step. None of them may still wait for the
   * lock (with the same place in line) after the step.
   */
  private fifoWatches(events: readonly Event[]): FifoWatch[] {
    const out: FifoWatch[] = [];
    const pre = this.mirror;
    for (const e of events) {
      if (e.type !== 'OrderLocksAcquired') continue;
      const x = pre.orders.get(e.orderId);
      const added = events.find((a) => a.type === 'OrderAdded' && a.orderId === e.orderId);
      // A child forked in this step has its parent's priority (as it is after the step).
      const priority = x && !added ? x.priority : added?.type === 'OrderAdded' ? added.priority : (this.live.orders.get(e.orderId)?.priority ?? 0);
      for (const g of e.grants) {
        const fam = pre.locks.get(g.lock.includes('[') ? g.lock.slice(0, g.lock.indexOf('[')) : g.lock);
        if (!fam || fam.def.policy === 'greedy') continue;
        const inst = pre.instances.get(g.lock);
        if (!inst) continue;
        const ids = [...inst.queue.inOrder()];
        const at = x && !added ? ids.indexOf(x.id) : -1;
        const ahead: { id: string; arrival: number }[] = [];
        for (let i = 0; i < ids.length; i++) {
          const y = pre.orders.get(ids[i]!);
          if (!y || y.arrival === undefined) continue;
          if (at >= 0 ? i < at : lineOrder({ priority: y.priority, arrival: y.arrival }, { priority, arrival: Number.MAX_SAFE_INTEGER }) < 0) {
            ahead.push({ id: y.id, arrival: y.arrival });
          }
        }
        if (ahead.length > 0) out.push({ orderId: e.orderId, lock: g.lock, ahead });
      }
    }
    return out;
  }

  private checkAfter(cmd: Command, watches: readonly FifoWatch[], due: readonly DueWait[]): void {
    const s = this.live;
    for (const name of [...this.grandfathered]) {
      const inst = s.instances.get(name);
      const fam = inst && s.locks.get(inst.family);
      if (!inst || !fam || inst.weight <= fam.def.limit) this.grandfathered.delete(name);
    }
    const problems = checkState(s, { now: this.now, grandfathered: this.grandfathered, tokens: this.tokens });
    problems.push(...checkDueWaits(s, this.now, due));
    problems.push(...this.jc.afterStep(s));
    for (const w of watches) {
      for (const y of w.ahead) {
        const o = s.orders.get(y.id);
        if (o && o.state === 'waiting' && o.arrival === y.arrival && o.demands?.some((d) => d.lock === w.lock)) {
          problems.push(`[fifo] ${w.orderId} was granted fifo lock ${w.lock} while ${y.id}, in front of it before the step, still waits for it`);
        }
      }
    }
    for (const id of this.known) if (!s.orders.has(id)) problems.push(`[lost] order ${id} vanished without an OrderDeleted event`);
    if (s.orders.size !== this.known.size) {
      for (const id of s.orders.keys()) if (!this.known.has(id)) problems.push(`[lost] order ${id} exists but was never added`);
    }
    if (problems.length > 0) {
      const shown = problems.slice(0, 12);
      if (problems.length > shown.length) shown.push(`… and ${problems.length - shown.length} more`);
      this.fail(`after ${summarize(cmd)}:\n  ${shown.join('\n  ')}`);
    }
    let liveOrders = 0;
    for (const o of s.orders.values()) if (o.endedAt === undefined) liveOrders++;
    this.stats.maxLiveOrders = Math.max(this.stats.maxLiveOrders, liveOrders);
  }

  // ---------------------------------------------------------------- replay, snapshots, crashes

  private replayAll(): State {
    const s = emptyState();
    for (const e of this.journal) evolve(s, e);
    s.seq = this.journal.length;
    return s;
  }

  private compare(what: string, other: State, reference: State = this.live): void {
    const a = serializeState(reference);
    const b = serializeState(other);
    if (a !== b) this.fail(`[replay] ${what}: serialized state differs from the live state ${firstDifference(a, b)}`);
    const ia = indexDump(reference);
    const ib = indexDump(other);
    if (ia !== ib) this.fail(`[replay] ${what}: lock/job tables differ from the live state ${firstDifference(ia, ib)}`);
    const problems = checkState(other, { now: this.now, grandfathered: this.grandfathered, tokens: this.tokens });
    if (problems.length > 0) this.fail(`[replay] ${what} breaks invariants:\n  ${problems.slice(0, 12).join('\n  ')}`);
  }

  private checkReplay(what: string): void {
    this.stats.replays++;
    let replayed: State;
    try {
      replayed = this.replayAll();
    } catch (err) {
      this.fail(`[replay] ${what}: evolve threw: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.compare(`${what} (emptyState + ${this.journal.length} events)`, replayed);
  }

  private checkMirror(): void {
    this.compare('mirror (evolved event by event)', this.mirror);
  }

  /**
   * The node dies: restart from a fresh snapshot, from an older snapshot + journal tail, or from
   * the whole journal. `downMs`: how long it stays down (the clock jumps; nothing ticks or polls).
   */
  private crash(downMs = 0): void {
    this.stats.crashes++;
    const text = serializeState(this.live);
    const candidates: [string, State][] = [];
    let fromSnapshot: State;
    try {
      fromSnapshot = deserializeState(text);
    } catch (err) {
      this.fail(`[snapshot] deserializeState threw: ${err instanceof Error ? err.message : String(err)}`);
    }
    candidates.push(['snapshot', fromSnapshot]);
    candidates.push(['journal replay', this.replayAll()]);
    if (this.snapshot) {
      const old = deserializeState(this.snapshot.text);
      for (const e of this.journal.slice(this.snapshot.seq)) evolve(old, e);
      old.seq = this.journal.length;
      candidates.push([`snapshot@${this.snapshot.seq} + ${this.journal.length - this.snapshot.seq} events`, old]);
    }
    for (const [what, st] of candidates) this.compare(`crash restart from ${what}`, st);
    const [how, next] = this.rng.pick(candidates);
    this.now += downMs;
    this.note(`#${this.step} t=${this.now} CRASH${downMs > 0 ? ` (down ${downMs} ms)` : ''} → restart from ${how}`);
    this.live = next;
    this.mirror = deserializeState(text);
    if (this.rng.bool(0.5)) this.snapshot = { text, seq: this.journal.length };
    // What the runtime does on start: slots, the lost executions, a tick.
    this.exec({ type: 'setSlots', slots: this.rng.bool(0.7) ? this.live.slots : this.rng.int(1, 6) });
    const lost = [...this.live.orders.values()].filter((o) => o.state === 'processing' && o.execution);
    for (const o of lost) if (o.execution) this.exec({ type: 'executionLost', orderId: o.id, executionId: o.execution.id });
    this.exec({ type: 'tick' });
    // The scheduler starts with a poll: the fires missed while down are caught up.
    this.poll();
  }

  // ---------------------------------------------------------------- job configs and schedules

  /** A job config: a deployed workflow or one inline command, blocking or not, often with a schedule. */
  private genJobConfig(id: string): Omit<JobConfig, 'created' | 'modified'> {
    const rng = this.rng;
    const c: Omit<JobConfig, 'created' | 'modified'> = { id, name: `Job ${id}`, active: rng.bool(0.9) };
    if (rng.bool(0.3)) c.command = `echo ${id}`;
    else c.workflow = rng.pick(this.workflowNames);
    const b = rng.weighted({ on: 4, off: 3, template: 2 });
    if (b === 'template') c.templateId = 'T0';
    else c.blocking = b === 'on';
    if (rng.bool(0.8)) c.schedule = this.genSchedule();
    return c;
  }

  private genSchedule(): Schedule {
    const rng = this.rng;
    const kind = rng.weighted({ interval: 7, cron: 3 });
    const sched: Schedule =
      kind === 'interval'
        ? { type: 'interval', intervalSeconds: rng.pick([1, 2, 5, 10, 30, 60]) }
        : { type: 'cron', cron: rng.pick(['*/5 * * * * *', '*/20 * * * * *', '* * * * *', '*/2 * * * *']), timeZone: rng.pick(['Etc/UTC', 'Europe/Berlin', 'America/New_York']) };
    const overlap = rng.weighted({ none: 3, queue: 4, skip: 2, allow: 2, replace: 1 });
    if (overlap !== 'none') sched.overlap = overlap as NonNullable<Schedule['overlap']>;
    if (rng.bool(0.6)) sched.queueLimit = rng.int(0, 3);
    // Without a bound, fast schedules would pile up runs faster than the jobs end.
    else if (kind === 'interval' && (sched.overlap === undefined || sched.overlap === 'queue' || sched.overlap === 'allow')) sched.intervalSeconds = rng.pick([10, 30, 60]);
    const catchUp = rng.weighted({ none: 3, latest: 2, all: 1, default: 2 });
    // `all` after hours of per-second fires would add hundreds of runs: only where the overlap bounds them.
    const bounded = sched.overlap === 'skip' || sched.overlap === 'replace' || (sched.overlap === 'queue' && sched.queueLimit !== undefined);
    if (catchUp !== 'default' && (catchUp !== 'all' || bounded)) sched.catchUp = catchUp as NonNullable<Schedule['catchUp']>;
    return sched;
  }

  private jobConfigIds(): string[] {
    return [...this.live.jobConfigs.keys()];
  }

  /** Creates a job config, or changes one: mostly toggles `blocking`, while its runs are active and queued. */
  private saveJobConfig(): void {
    const rng = this.rng;
    const ids = this.jobConfigIds();
    const missing = JOB_CONFIGS.filter((id) => !this.live.jobConfigs.has(id));
    if (missing.length > 0 && (ids.length === 0 || rng.bool(0.1))) {
      this.exec({ type: 'saveJobConfig', jobConfig: this.genJobConfig(rng.pick(missing)), create: true }, { accepted: true });
      return;
    }
    const id = rng.pick(ids);
    const { created: _c, modified: _m, ...def } = this.live.jobConfigs.get(id)!.def;
    let next: Omit<JobConfig, 'created' | 'modified'> = { ...def };
    const what = rng.weighted({ blocking: 6, schedule: 2, queueLimit: 1, active: 1, template: 1, whole: 1 });
    if (what === 'blocking') {
      // Own blocking flipped (or set, when it came from the template).
      next.blocking = !(def.blocking ?? this.live.jobTemplates.get('T0')?.blocking ?? false);
      if (this.orders((o) => o.jobConfig === id && o.endedAt === undefined).length > 0) this.stats.blockingToggles++;
    } else if (what === 'schedule') {
      if (next.schedule && rng.bool(0.2)) delete next.schedule;
      else next.schedule = this.genSchedule();
    } else if (what === 'queueLimit' && next.schedule) {
      const sched = { ...next.schedule };
      if (rng.bool(0.3)) delete sched.queueLimit;
      else sched.queueLimit = rng.int(0, 3);
      if (sched.catchUp === 'all' && !(sched.overlap === 'skip' || sched.overlap === 'replace' || (sched.overlap === 'queue' && sched.queueLimit !== undefined))) delete sched.catchUp;
      next.schedule = sched;
    } else if (what === 'active') next.active = !def.active;
    else if (what === 'template') {
      if (def.templateId !== undefined) delete next.templateId;
      else next.templateId = 'T0';
      if (rng.bool(0.5)) delete next.blocking;
    } else if (what === 'whole') next = this.genJobConfig(id);
    this.exec({ type: 'saveJobConfig', jobConfig: next }, { accepted: true });
  }

  /** The template's `blocking` flips: job configs without their own follow it. */
  private toggleTemplate(): void {
    const t = this.live.jobTemplates.get('T0');
    if (!t) return;
    this.exec({ type: 'saveJobTemplate', template: { ...t, blocking: !(t.blocking ?? false) } }, { accepted: true });
  }

  private runJobConfig(): void {
    const rng = this.rng;
    const ids = this.jobConfigIds();
    if (ids.length === 0) return;
    const id = rng.bool(0.97) ? rng.pick(ids) : 'NoSuchJobConfig';
    const cmd: Command = { type: 'runJobConfig', id, orderId: `r${this.nextRun++}` };
    if (rng.bool(0.1)) cmd.scheduledFor = this.now + rng.int(-2000, 20_000);
    if (rng.bool(0.2)) cmd.priority = rng.int(-1, 2);
    const c = this.live.jobConfigs.get(id);
    this.exec(cmd, !c ? { refusedWith: 'not-found' } : !c.def.active ? { refusedWith: 'state' } : { accepted: true });
  }

  /** What the runtime's Scheduler does when its timer fires: submits the due fires. */
  private poll(): void {
    this.stats.polls++;
    const cmds = dueFires(this.live, this.now);
    for (const cmd of cmds) this.exec(cmd, { accepted: true });
    // The same fires reported again (a second node, a poll repeated after an error): nothing happens twice.
    if (cmds.length > 0 && this.rng.bool(0.15)) for (const cmd of cmds) this.exec(cmd, { noEvents: true });
    this.checkFireLedger();
  }

  /** Keeps the fire records (from the events) and when each job config's schedule came into force. */
  private recordFire(e: Event): void {
    if (e.type === 'JobConfigSaved') {
      const old = this.mirror.jobConfigs.get(e.jobConfig.id)?.def;
      if (!old || JSON.stringify(old.schedule) !== JSON.stringify(e.jobConfig.schedule) || old.active !== e.jobConfig.active) {
        this.fireFrom.set(e.jobConfig.id, e.at);
        this.fireRecords.set(e.jobConfig.id, []);
      }
    } else if (e.type === 'JobConfigDeleted') {
      this.fireFrom.delete(e.id);
      this.fireRecords.delete(e.id);
    } else if (e.type === 'ScheduleFired' || e.type === 'ScheduleFireSkipped') {
      this.fireRecords.get(e.jobConfig)?.push({ fireAt: e.fireAt, n: e.type === 'ScheduleFireSkipped' ? (e.count ?? 1) : 1 });
    }
  }

  /**
   * None lost: after a poll, every fire time of each active schedule since it came into force
   * (saved with this schedule, or activated) up to now is recorded exactly once.
   */
  private checkFireLedger(): void {
    for (const c of this.live.jobConfigs.values()) {
      const sched = c.def.schedule;
      const from = this.fireFrom.get(c.def.id);
      if (!sched || !c.def.active || from === undefined) continue;
      const { times, more } = fireTimesBetween(sched, from, this.now, 3);
      const expected = times.length + more;
      const records = (this.fireRecords.get(c.def.id) ?? []).filter((r) => r.fireAt > from && r.fireAt <= this.now);
      const got = records.reduce((a, r) => a + r.n, 0);
      if (got !== expected) {
        this.fail(`[fire-lost] job config ${c.def.id} (${JSON.stringify(sched)}): ${expected} fire times in (${from}, ${this.now}] (the last ${times.join(', ')}), ${got} recorded (the last ${records.slice(-3).map((r) => `${r.fireAt}×${r.n}`).join(', ')}); lastFireAt ${String(c.lastFireAt)}, modified ${c.def.modified}`);
      }
      // Checked up to now: start again from here.
      this.fireFrom.set(c.def.id, this.now);
      this.fireRecords.set(c.def.id, []);
    }
  }

  // ---------------------------------------------------------------- world

  private setup(): void {
    const rng = this.rng;
    this.step = 0;
    this.exec({ type: 'setSlots', slots: rng.int(1, 6) });
    const nLocks = rng.int(3, 6);
    const locks: LockDef[] = [];
    for (let i = 0; i < nLocks; i++) {
      const def: LockDef = { name: `L${i}`, limit: rng.bool(0.1) ? 0 : rng.int(1, 4) };
      if (rng.bool(0.3)) def.keyed = true;
      const p = rng.weighted({ fifo: 5, greedy: 3, none: 2 });
      if (p !== 'none') def.policy = p as QueuePolicy;
      locks.push(def);
    }
    this.lockNames = locks.map((l) => l.name);
    let g = 0;
    for (let i = 0; i < nLocks; ) {
      const size = rng.int(1, 3);
      for (let j = 0; j < size && i < nLocks; j++, i++) this.groups.push(g);
      g++;
    }
    const defs = new Map(locks.map((l) => [l.name, l]));
    const nWorkflows = rng.int(2, 5);
    this.workflowNames = Array.from({ length: nWorkflows }, (_, i) => `W${i}`);
    const workflows = this.workflowNames.map((name) => this.genWorkflow(name, defs));
    this.exec({ type: 'deploy', locks, workflows }, { accepted: true });
    this.exec({ type: 'saveJobTemplate', template: { id: 'T0', name: 'Template T0', active: true, blocking: rng.bool() } }, { accepted: true });
    for (let i = 0, n = rng.int(1, JOB_CONFIGS.length); i < n; i++) this.exec({ type: 'saveJobConfig', jobConfig: this.genJobConfig(JOB_CONFIGS[i]!) }, { accepted: true });
    this.stats.locks = nLocks;
    this.stats.workflows = nWorkflows;
    this.tryCycle();
  }

  private lockDef(name: string): LockDef {
    const f = this.live.locks.get(name);
    if (!f) this.fail(`[setup] lock ${name} is not deployed`);
    return f.def;
  }

  private genWorkflow(name: string, defs?: ReadonlyMap<string, LockDef>): Workflow {
    const rng = this.rng;
    const jobs: Record<string, Job> = {};
    const nJobs = rng.int(1, 3);
    for (let i = 0; i < nJobs; i++) {
      const job: Job = { executable: { TYPE: 'FunctionExecutable', functionName: `f${i}` } };
      if (rng.bool(0.8)) job.parallelism = rng.int(1, 3);
      if (rng.bool(0.1)) job.restartable = true;
      jobs[`j${i}`] = job;
    }
    const g: GenContext = { budget: rng.int(3, 12), jobs: Object.keys(jobs) };
    const def = (n: string): LockDef => defs?.get(n) ?? this.lockDef(n);
    const instructions = this.genBlock(g, 0, 0, def);
    return { name, instructions, jobs };
  }

  private genBlock(g: GenContext, depth: number, minLock: number, def: (n: string) => LockDef): Instruction[] {
    const n = this.rng.int(1, depth === 0 ? 4 : 3);
    const out: Instruction[] = [];
    for (let i = 0; i < n && g.budget > 0; i++) out.push(this.genInstr(g, depth, minLock, def));
    if (out.length === 0) out.push(this.execute(g));
    return out;
  }

  private execute(g: GenContext): Instruction {
    return { TYPE: 'Execute.Named', jobName: this.rng.pick(g.jobs) };
  }

  private genInstr(g: GenContext, depth: number, minLock: number, def: (n: string) => LockDef): Instruction {
    const rng = this.rng;
    g.budget--;
    const nLocks = this.lockNames.length;
    const deep = depth < 5;
    const kind = rng.weighted({
      exec: 40,
      lock: minLock < nLocks && deep ? 28 : 0,
      options: deep ? 8 : 0,
      try: deep ? 12 : 0,
      fail: 3,
      finish: 2,
      sleep: 3,
      if: deep ? 7 : 0,
      // Forks nest rarely: each child order can fork again.
      fork: depth < 3 ? 5 : 0,
      collide: g.innermostKeyed !== undefined ? 1.5 : 0,
    });
    const inner = g.innermostKeyed;
    switch (kind) {
      case 'exec':
        return this.execute(g);
      case 'lock':
        return this.genLock(g, depth, minLock, def);
      case 'if':
        return this.genIf(g, depth, minLock, def);
      case 'fork': {
        // Sometimes inside a Lock of its own, held by the parent for the whole Fork.
        if (minLock < nLocks && rng.bool(0.3)) return this.genLock(g, depth, minLock, def, (innerMin) => [this.genFork(g, depth + 1, innerMin, def)]);
        return this.genFork(g, depth, minLock, def);
      }
      case 'collide': {
        // The same keyed lock with the same key, nested: valid, fails at run time (lock-key-collision).
        g.innermostKeyed = undefined;
        const instr: LockInstr = { TYPE: 'Lock', demands: [{ lockName: inner!, key: '$k' }], lockedWorkflow: { instructions: [this.execute(g)] } };
        g.innermostKeyed = inner;
        return instr;
      }
      case 'options': {
        const r = rng.weighted({ stop: 45, go: 35, none: 20 });
        g.innermostKeyed = undefined;
        const block = { instructions: this.genBlock(g, depth + 1, minLock, def) };
        g.innermostKeyed = inner;
        return r === 'none' ? { TYPE: 'Options', block } : { TYPE: 'Options', stopOnFailure: r === 'stop', block };
      }
      case 'try': {
        g.innermostKeyed = undefined;
        const t: TryInstr = { TYPE: 'Try', try: { instructions: this.genBlock(g, depth + 1, minLock, def) }, catch: { instructions: [] } };
        const c = rng.weighted({ retry: 55, execRetry: 15, swallow: 15, fail: 10, lockRetry: minLock < nLocks ? 5 : 0 });
        if (c === 'retry') t.catch.instructions = [{ TYPE: 'Retry' }];
        else if (c === 'execRetry') t.catch.instructions = [this.execute(g), { TYPE: 'Retry' }];
        else if (c === 'fail') t.catch.instructions = [{ TYPE: 'Fail', message: 'rethrown' }];
        else if (c === 'lockRetry') {
          const i = rng.int(minLock, nLocks - 1);
          t.catch.instructions = [{ TYPE: 'Lock', demands: [this.demand(def(this.lockNames[i]!))], lockedWorkflow: { instructions: [this.execute(g), { TYPE: 'Retry' }] } }];
        }
        g.innermostKeyed = inner;
        if (rng.bool(0.7)) t.maxTries = rng.int(1, 4);
        if (rng.bool(0.5)) t.retryDelays = Array.from({ length: rng.int(1, 3) }, () => rng.pick([0, 0.5, 1, 3]));
        return t;
      }
      case 'sleep':
        // Holds the locks of its blocks while the clock moves on; 0 goes on at once.
        return { TYPE: 'Sleep', duration: rng.pick([0, 0.5, 1, 3]) };
      case 'fail': {
        const f: Instruction = { TYPE: 'Fail', message: 'boom' };
        if (rng.bool(0.3)) f.outcome = { returnCode: rng.int(1, 9) };
        if (rng.bool(0.15)) f.uncatchable = true;
        return f;
      }
      default: {
        const f: Instruction = { TYPE: 'Finish' };
        if (rng.bool(0.3)) f.unsuccessful = true;
        return f;
      }
    }
  }

  /** A Lock of demands from one group (≥ minLock); its block uses higher groups only. `body` builds the block instead of a random one. */
  private genLock(g: GenContext, depth: number, minLock: number, def: (n: string) => LockDef, body?: (innerMin: number) => Instruction[]): LockInstr {
    const rng = this.rng;
    const nLocks = this.lockNames.length;
    const inner = g.innermostKeyed;
    const k = Number(rng.weighted({ 1: 60, 2: 28, 3: 12 }));
    // Deployable: the demands come from one group (≥ minLock), inner blocks use higher groups
    // only (locks demanded together form one node of the lock order graph, see validate.ts).
    const group = this.groups[rng.int(minLock, nLocks - 1)]!;
    const from = this.groupMembers(group, minLock);
    const idx = rng.sample(from, k);
    const demands = idx.map((i) => this.demand(def(this.lockNames[i]!)));
    const top = Math.max(...idx);
    const innerMin = this.groups.lastIndexOf(this.groups[top]!) + 1;
    const last = demands[demands.length - 1]!;
    // Only a keyed family demanded alone: nested inside a Lock that demands it together with
    // other locks, a demand of it is refused at deploy (the group A+K would be nested in itself).
    g.innermostKeyed = demands.length === 1 && last.key === '$k' ? last.lockName : undefined;
    const instructions = body ? body(innerMin) : this.genBlock(g, depth + 1, innerMin, def);
    g.innermostKeyed = inner;
    const instr: LockInstr = { TYPE: 'Lock', demands, lockedWorkflow: { instructions } };
    if (rng.bool(0.25)) instr.waitTimeout = rng.pick([0, 1, 2, 5, 30]);
    return instr;
  }

  /**
   * An If over the order's argument `k` (the simulation gives most orders one of a, b, c;
   * without it `$k` fails the order, `variable` falls back to its default): then/else or ifThens.
   */
  private genIf(g: GenContext, depth: number, minLock: number, def: (n: string) => LockDef): IfInstr {
    const rng = this.rng;
    const pred = (): string => {
      const key = rng.pick(KEYS);
      return rng.bool(0.7) ? `$k == "${key}"` : `variable("k", default="${rng.pick(KEYS)}") != "${key}"`;
    };
    const block = (): { instructions: Instruction[] } => ({ instructions: this.genBlock(g, depth + 1, minLock, def) });
    if (rng.bool(0.3)) {
      const instr: IfInstr = { TYPE: 'If', ifThens: Array.from({ length: rng.int(1, 3) }, () => ({ predicate: pred(), then: block() })) };
      if (rng.bool(0.6)) instr.else = block();
      return instr;
    }
    const instr: IfInstr = { TYPE: 'If', predicate: pred(), then: block() };
    if (rng.bool(0.7)) instr.else = block();
    return instr;
  }

  /**
   * A Fork of 2 or 3 branches (child orders `<parent>|a` …), often with Lock blocks (exclusive
   * and shared) of groups above the locks held around the Fork; joinIfFailed sometimes.
   */
  private genFork(g: GenContext, depth: number, minLock: number, def: (n: string) => LockDef): ForkInstr {
    const rng = this.rng;
    const nLocks = this.lockNames.length;
    const inner = g.innermostKeyed;
    // A child is another order: a keyed lock of the parent is not its innermost one.
    g.innermostKeyed = undefined;
    const branches = ['a', 'b', 'c'].slice(0, rng.int(2, 3)).map((id) => {
      g.budget++;
      const instructions =
        minLock < nLocks && rng.bool(0.55) ? [...(rng.bool(0.3) ? [this.execute(g)] : []), this.genLock(g, depth + 1, minLock, def)] : this.genBlock(g, depth + 1, minLock, def);
      return { id, workflow: { instructions } };
    });
    g.innermostKeyed = inner;
    const instr: ForkInstr = { TYPE: 'Fork', branches };
    if (rng.bool(0.4)) instr.joinIfFailed = true;
    else if (rng.bool(0.2)) instr.joinIfFailed = false;
    return instr;
  }

  private groupMembers(group: number, minLock: number): number[] {
    const out: number[] = [];
    this.groups.forEach((g, i) => {
      if (g === group && i >= minLock) out.push(i);
    });
    return out;
  }

  private demand(def: LockDef): Demand {
    const rng = this.rng;
    const d: Demand = { lockName: def.name };
    if (rng.bool(0.6)) d.count = rng.int(1, def.limit > 0 ? def.limit : 2);
    if (def.keyed) d.key = rng.bool(0.85) ? '$k' : rng.pick(['a', 'b']);
    return d;
  }

  /** A deploy that nests two locks against an existing nesting must be refused (lock-order-cycle) and change nothing. */
  private tryCycle(): void {
    const s = this.live;
    // Find an existing nesting A → B in a deployed latest version.
    for (const [name, w] of s.workflows) {
      const wf = w.versions.get(w.latest);
      if (!wf) continue;
      const pair = findNesting(wf.instructions, []);
      if (!pair) continue;
      const [a, b] = pair;
      const demand = (n: string): Demand => (this.lockDef(n).keyed ? { lockName: n, key: '$k' } : { lockName: n });
      const cyc: Workflow = {
        name: `Cycle${this.rng.int(0, 9)}`,
        instructions: [{ TYPE: 'Lock', demands: [demand(b)], lockedWorkflow: { instructions: [{ TYPE: 'Lock', demands: [demand(a)], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } }] } }],
        jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'f' } } },
      };
      this.note(`#${this.step} cycle attempt ${b} → ${a} against ${name}`);
      this.exec({ type: 'deploy', locks: [], workflows: [cyc] }, { refusedWith: 'lock-order-cycle' });
      this.stats.cycleRefusals++;
      return;
    }
  }

  // ---------------------------------------------------------------- steps

  private orders(filter: (o: Order) => boolean): Order[] {
    const out: Order[] = [];
    for (const o of this.live.orders.values()) if (filter(o)) out.push(o);
    return out;
  }

  private anyOrderId(): string {
    const ids = [...this.live.orders.keys()];
    return ids.length > 0 && this.rng.bool(0.9) ? this.rng.pick(ids) : `o${this.rng.int(1, this.nextOrder + 2)}`;
  }

  private randomStep(): void {
    const rng = this.rng;
    if (rng.bool(0.6)) this.now += rng.int(0, 400);
    const s = this.live;
    const active = this.orders((o) => o.endedAt === undefined);
    const processing = active.filter((o) => o.state === 'processing');
    const n = active.length;
    const action = rng.weighted({
      add: n < 30 ? 16 : n < 70 ? 6 : 1,
      outcome: processing.length > 0 ? 30 : 0,
      tick: 14,
      // Schedules add runs by themselves: with many orders live, operators clear some.
      cancel: n < 80 ? 4 : 30,
      suspend: 4,
      resume: 7,
      priority: 4,
      slots: 1.5,
      limit: 1.5,
      redeploy: 0.7,
      crash: 0.5,
      cycle: 0.2,
      stale: 1.5,
      lockAdmin: 0.4,
      bogus: 0.5,
      jcSave: 2.5,
      jcRun: n < 70 ? 5 : 0.5,
      poll: 8,
      template: 0.4,
      downtime: 0.25,
    });
    const pickActive = (): string => (active.length > 0 && rng.bool(0.85) ? rng.pick(active).id : this.anyOrderId());
    switch (action) {
      case 'add': {
        // A duplicate of an order's id (not of a child's: `|` is not allowed in an added order's id).
        const taken = [...s.orders.keys()].filter((id) => !id.includes('|'));
        const dup = rng.bool(0.03) && taken.length > 0;
        const orderId = dup ? rng.pick(taken) : `o${this.nextOrder++}`;
        const bad = rng.bool(0.02);
        const cmd: Command = { type: 'addOrder', orderId, workflow: bad ? 'NoSuchWorkflow' : rng.pick(this.workflowNames) };
        if (rng.bool(0.88)) cmd.arguments = { k: rng.pick(KEYS) };
        const p = rng.pick([-1, 0, 0, 0, 0, 1, 2]);
        if (p !== 0 || rng.bool(0.2)) cmd.priority = p;
        if (rng.bool(0.15)) cmd.scheduledFor = this.now + rng.int(-2000, 20_000);
        this.exec(cmd, bad ? { refusedWith: 'invalid' } : dup ? { refusedWith: 'conflict' } : {});
        return;
      }
      case 'outcome': {
        const o = rng.pick(processing);
        const executionId = o.execution!.id;
        const r = rng.weighted({ ok: 72, failed: 22, lost: 6 });
        if (r === 'lost') this.exec({ type: 'executionLost', orderId: o.id, executionId });
        else {
          const outcome: Outcome = r === 'ok' ? { type: 'succeeded', returnCode: 0 } : { type: 'failed', reason: 'returnCode', returnCode: rng.int(1, 3) };
          this.exec({ type: 'jobFinished', orderId: o.id, executionId, outcome });
        }
        return;
      }
      case 'tick': {
        const next = nextDeadline(s);
        const r = rng.weighted({ none: 1, small: 4, big: 3, deadline: next !== undefined && next > this.now ? 3 : 0 });
        if (r === 'small') this.now += rng.int(0, 2000);
        else if (r === 'big') this.now += rng.int(0, 20_000);
        else if (r === 'deadline' && next !== undefined) this.now = next;
        this.exec({ type: 'tick' });
        if (rng.bool(0.5)) this.poll();
        return;
      }
      case 'cancel':
        this.exec({ type: 'cancelOrder', orderId: pickActive(), kill: rng.bool() });
        return;
      case 'suspend':
        this.exec({ type: 'suspendOrder', orderId: pickActive(), reset: rng.bool() });
        return;
      case 'resume':
        this.resume(active);
        return;
      case 'priority': {
        const priority = rng.bool(0.03) ? 2_000_000 : rng.int(-2, 3);
        this.exec({ type: 'changePriority', orderId: pickActive(), priority });
        return;
      }
      case 'slots':
        this.exec({ type: 'setSlots', slots: rng.bool(0.05) ? 0 : rng.int(1, 6) });
        return;
      case 'limit': {
        const def = this.lockDef(rng.pick(this.lockNames));
        const next: LockDef = { ...def, limit: def.limit === 0 && rng.bool(0.7) ? rng.int(1, 4) : rng.int(0, 4) };
        if (rng.bool(0.2)) {
          const p = rng.weighted({ fifo: 1, greedy: 1, none: 1 });
          if (p === 'none') delete next.policy;
          else next.policy = p as QueuePolicy;
        }
        this.exec({ type: 'deploy', locks: [next], workflows: [] });
        return;
      }
      case 'redeploy':
        this.exec({ type: 'deploy', locks: [], workflows: [this.genWorkflow(rng.pick(this.workflowNames))] });
        return;
      case 'crash':
        this.crash();
        return;
      case 'jcSave':
        this.saveJobConfig();
        return;
      case 'jcRun':
        this.runJobConfig();
        return;
      case 'poll':
        this.poll();
        return;
      case 'template':
        this.toggleTemplate();
        return;
      case 'downtime': {
        this.stats.downtimes++;
        const r = rng.weighted({ minutes: 6, hour: 3, hours: 1 });
        this.crash(r === 'minutes' ? rng.int(60_000, 600_000) : r === 'hour' ? rng.int(1_800_000, 3_600_000) : rng.int(3 * 3_600_000, 6 * 3_600_000));
        return;
      }
      case 'cycle':
        this.tryCycle();
        return;
      case 'stale': {
        // Results for executions that are not (or no longer) the order's current one change nothing.
        const o = s.orders.get(this.anyOrderId());
        const id = o?.id ?? 'nobody';
        const executionId = `${id}#${o ? (o.state === 'processing' ? o.executions - 1 : o.executions) : 1}`;
        if (rng.bool()) this.exec({ type: 'executionLost', orderId: id, executionId }, { noEvents: true });
        else this.exec({ type: 'jobFinished', orderId: id, executionId, outcome: { type: 'succeeded' } }, { noEvents: true });
        return;
      }
      case 'lockAdmin': {
        if (rng.bool()) {
          // Deleting a lock that workflows use is refused; an unused one comes and goes.
          const used = new Set<string>();
          for (const w of s.workflows.values()) for (const n of lockReferences(w.versions.get(w.latest)!)) used.add(n);
          const name = rng.pick(this.lockNames);
          const def = this.lockDef(name);
          // Not a lock that was ever granted: deleting and re-creating it resets its fencing token
          // (known core problem, see sim.test.ts).
          if (!used.has(name) && (this.tokens.get(name) ?? 0) > 0) return;
          this.exec({ type: 'deleteLock', name }, used.has(name) ? { refusedWith: 'conflict' } : {});
          if (!s.locks.has(name)) {
            // It was unused: deploy it again as it was, so that later workflows can use it.
            this.exec({ type: 'deployLock', lock: def }, { accepted: true });
          }
        } else {
          this.exec({ type: 'deployLock', lock: { name: 'Spare', limit: rng.int(0, 3) } }, { accepted: true });
          this.exec({ type: 'deleteLock', name: 'Spare' }, { accepted: true });
        }
        return;
      }
      default: {
        // Commands for unknown orders are refused.
        const orderId = `ghost${rng.int(1, 5)}`;
        this.exec(rng.pick<Command>([
          { type: 'cancelOrder', orderId },
          { type: 'suspendOrder', orderId },
          { type: 'resumeOrder', orderId },
          { type: 'changePriority', orderId, priority: 1 },
        ]), { refusedWith: 'not-found' });
      }
    }
  }

  private resume(active: readonly Order[]): void {
    const rng = this.rng;
    const candidates = active.filter((o) => o.state === 'failed' || o.state === 'stopped' || o.suspended || o.suspendPending);
    const o = candidates.length > 0 && rng.bool(0.9) ? rng.pick(candidates) : active.length > 0 ? rng.pick(active) : undefined;
    if (!o) return;
    const cmd: Command = { type: 'resumeOrder', orderId: o.id };
    const variant = rng.weighted({ plain: 60, asSucceeded: 25, position: 15 });
    if (variant === 'asSucceeded') cmd.asSucceeded = true;
    else if (variant === 'position') {
      const wf = this.live.workflows.get(o.workflow)?.versions.get(o.version);
      if (wf) {
        // A child of a Fork: positions in its own branch (its locks are those inside it).
        const start = ownStart(o);
        const branch = o.position.slice(0, start);
        const all = allPositions(wf.instructions, []).filter((p) => p.length > start && samePosition(p.slice(0, start), branch));
        const held = o.held.map((h) => h.at);
        const same = all.filter((p) => {
          const inside = enclosingLocks(p).filter((q) => q.length >= start);
          return inside.length === held.length && inside.every((q, i) => samePosition(q, held[i]!));
        });
        // (none when its Fork sits in a try or catch iteration allPositions does not list)
        if (all.length > 0) cmd.position = rng.bool(0.75) && same.length > 0 ? rng.pick(same) : rng.pick(all);
      }
    }
    this.exec(cmd);
  }
}

// ------------------------------------------------------------------------------ helpers

/** Every position of a block tree: each instruction and each block end; try/catch in iteration 0 or 1. */
function allPositions(list: readonly Instruction[], prefix: Position): Position[] {
  const out: Position[] = [];
  list.forEach((instr, i) => {
    const at = [...prefix, i];
    out.push(at);
    if (instr.TYPE === 'Lock') out.push(...allPositions(instr.lockedWorkflow.instructions, [...at, 'lock']));
    else if (instr.TYPE === 'Options') out.push(...allPositions(instr.block.instructions, [...at, 'options']));
    else if (instr.TYPE === 'Try') {
      out.push(...allPositions(instr.try.instructions, [...at, 'try+0']));
      out.push(...allPositions(instr.catch.instructions, [...at, 'catch+1']));
    } else if (instr.TYPE === 'If') {
      const thens = instr.ifThens ? instr.ifThens.map((t) => t.then) : instr.then ? [instr.then] : [];
      thens.forEach((b, n) => out.push(...allPositions(b.instructions, [...at, n === 0 ? 'then' : `then+${n + 1}`])));
      if (instr.else) out.push(...allPositions(instr.else.instructions, [...at, 'else']));
    } else if (instr.TYPE === 'Fork') {
      for (const b of instr.branches) out.push(...allPositions(b.workflow.instructions, [...at, `fork+${b.id}`]));
    }
  });
  out.push([...prefix, list.length]);
  return out;
}

/** A pair of different locks A, B where a Lock demanding B sits inside a Lock demanding A. */
function findNesting(list: readonly Instruction[], outer: readonly string[]): [string, string] | undefined {
  for (const instr of list) {
    if (instr.TYPE === 'Lock') {
      const names = instr.demands.map((d) => d.lockName);
      for (const a of outer) for (const b of names) if (a !== b) return [a, b];
      const r = findNesting(instr.lockedWorkflow.instructions, [...outer, ...names]);
      if (r) return r;
    } else if (instr.TYPE === 'Options') {
      const r = findNesting(instr.block.instructions, outer);
      if (r) return r;
    } else if (instr.TYPE === 'Try') {
      const r = findNesting(instr.try.instructions, outer) ?? findNesting(instr.catch.instructions, outer);
      if (r) return r;
    } else if (instr.TYPE === 'If' || instr.TYPE === 'Fork') {
      const blocks = instr.TYPE === 'Fork' ? instr.branches.map((b) => b.workflow) : [...(instr.ifThens ?? []).map((t) => t.then), ...(instr.then ? [instr.then] : []), ...(instr.else ? [instr.else] : [])];
      for (const b of blocks) {
        const r = findNesting(b.instructions, outer);
        if (r) return r;
      }
    }
  }
  return undefined;
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function summarize(cmd: Command): string {
  switch (cmd.type) {
    case 'deploy':
      return `deploy(locks ${JSON.stringify(cmd.locks)}, workflows ${cmd.workflows.map((w) => `${w.name}:${JSON.stringify(w.instructions)}`).join(' ') || '-'})`;
    case 'addOrder':
      return `addOrder(${cmd.orderId} ${cmd.workflow} ${JSON.stringify(cmd.arguments ?? {})} p${cmd.priority ?? 0}${cmd.scheduledFor !== undefined ? ` at ${cmd.scheduledFor}` : ''})`;
    case 'jobFinished':
      return `jobFinished(${cmd.orderId} ${cmd.executionId} ${cmd.outcome.type})`;
    case 'fireSchedule': {
      const t = cmd.fireTimes;
      const times = t.length <= 6 ? t.join(',') : `${t.slice(0, 3).join(',')},… ${t.length - 5} more …,${t.slice(-2).join(',')}`;
      return `fireSchedule(${cmd.id} [${times}]${cmd.missed ? ` missed ${cmd.missed.count} up to ${cmd.missed.lastAt}` : ''})`;
    }
    default: {
      const { type, ...rest } = cmd;
      return `${type}(${JSON.stringify(rest)})`;
    }
  }
}

/** The events of a step, long runs of one type shortened. */
function shortEvents(events: readonly Event[]): string {
  if (events.length === 0) return '(no events)';
  const out: string[] = [];
  for (let i = 0; i < events.length; ) {
    let j = i;
    while (j < events.length && events[j]!.type === events[i]!.type) j++;
    if (j - i > 4) out.push(shortEvent(events[i]!), `…${j - i - 2} more ${events[i]!.type}…`, shortEvent(events[j - 1]!));
    else for (let k = i; k < j; k++) out.push(shortEvent(events[k]!));
    i = j;
  }
  return out.join(' ');
}

function shortEvent(e: Event): string {
  switch (e.type) {
    case 'OrderLocksAcquired':
      return `Acquired(${e.orderId} ${e.grants.map((g) => `${g.lock}${g.count === undefined ? '' : `:${g.count}`}#${g.token}`).join(',')})`;
    case 'OrderLocksQueued':
      return `Queued(${e.orderId} ${e.demands.map((d) => `${d.lock}${d.count === undefined ? '' : `:${d.count}`}`).join(',')}${e.waitUntil !== undefined ? ` until ${e.waitUntil}` : ''})`;
    case 'OrderLocksReleased':
      return `Released(${e.orderId} ${e.locks.join(',')})`;
    case 'OrderMoved':
      return `Moved(${e.orderId} ${JSON.stringify(e.to)})`;
    case 'OrderFailed':
    case 'OrderCaught':
      return `${e.type.slice(5)}(${e.orderId} ${e.outcome.reason ?? ''} → ${JSON.stringify(e.to)})`;
    case 'OrderStopped':
      return `Stopped(${e.orderId} ${e.outcome.reason ?? ''})`;
    case 'OrderProcessingStarted':
      return `Started(${e.orderId} ${e.job})`;
    case 'ScheduleFired':
      return `Fired(${e.jobConfig}@${e.fireAt})`;
    case 'ScheduleFireSkipped':
      return `FireSkipped(${e.jobConfig}@${e.fireAt}${e.count !== undefined ? `×${e.count}` : ''}: ${e.reason.slice(0, 40)})`;
    case 'LockDeployed':
      return `LockDeployed(${JSON.stringify(e.lock)})`;
    case 'WorkflowDeployed':
      return `WorkflowDeployed(${e.workflow.name}@${e.version})`;
    default:
      return 'orderId' in e ? `${e.type.replace(/^Order/, '')}(${e.orderId})` : e.type;
  }
}
