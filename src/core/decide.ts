// decide(state, command, now): the order machine and the lock table's grant logic.
//
// decide applies each event it emits through `evolve` at once (so that later decisions of
// the same command see earlier ones), and returns exactly those events: replaying them on
// the state as it was gives the state as it is. A refusal (Problem) is always found before
// the first event, so a refused command changes nothing. State is mutated in place: at
// tens of thousands of events a second a copy per command would cost more than the work.

import { AssertionFailed, invalid, problem, type Command, type Problem, type ProblemItem } from './commands.js';
import type { Event } from './events.js';
import { argumentProblems } from './checks.js';
import { evolve } from './evolve.js';
import type { Instruction, NoticeBoardDef, AddOrderInstr, CycleInstr, CycleState, ForkInstr, ForkListInstr, Grant, IfInstr, Job, JobConfig, JobResourceDef, JobTemplate, LockDef, Order, Outcome, Position, ResolvedDemand, Workflow } from './model.js';
import { admissionAt, hasAdmissionStartOn, orderDay, type Admission } from './admission.js';
import { isRestartable, LIMITS } from './model.js';
import { AGENT_NAME_CHARS_MAX, executionsOn, pickWorker, WORKER_AGENTS_COUNT_MAX, WORKER_ID_PATTERN, type WorkerState } from './workers.js';
import { prepareOrderArguments } from './order-preparation.js';
import {
  ancestors,
  branchIteration,
  enclosingLocks,
  encloses,
  ifThens,
  childBlocks,
  innermostCycle,
  instructionAt,
  isForkBranch,
  isValidPosition,
  jobAt,
  nextPosition,
  samePosition,
  thenBranch,
} from './positions.js';
import { typeName } from './expr/index.js';
import { formatInstant } from './expr/time-format.js';
import { commandWorkflow, effectiveBlocking, findAlias, validateAlias, holdsRunLock, isActiveRun, validateJobConfig, validateJobTemplate } from './jobconfigs.js';
import {
  DEFAULT_CORE_OPTIONS,
  instanceName,
  jobConfigLockName,
  jobConfigWorkflowName,
  isGeneratedWorkflowName,
  jobKey,
  workflowOf,
  type CoreOptions,
  type JobConfigState,
  type LockInstance,
  type State,
} from './state.js';
import { timeProblem } from './time.js';
import { boardFormula, findLockOrderCycle, lockReferences, validateJobResource, validateLockDef, validateNoticeBoard, validateWorkflow } from './validate.js';
import { asText, evaluate, evaluateSeconds, orderScope, type Value } from './instructions/expression.js';
import { cycleDue, initialCycleState, nextCycleState } from './instructions/cycle.js';

export type Decision = { ok: true; events: Event[] } | { ok: false; problem: Problem };

const ORDER_ID = /^[A-Za-z0-9_.:@#-]{1,128}$/;
const STEPS_PER_ADVANCE_MAX = 10_000;
/** A schedule fire reported within this of its time is on time; older ones are missed (catchUp). */
const ON_TIME_MS = 60_000;

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function decide(s: State, cmd: Command, now: number, opts: CoreOptions = DEFAULT_CORE_OPTIONS): Decision {
  return new Turn(s, now, opts.preferredWorker).decide(cmd, opts.endedOrdersKeptMax);
}

/** The earliest time at which a `tick` may have something to do. */
export function nextDeadline(s: State): number | undefined {
  return s.timers.peek()?.at;
}

/** Whether the lock instance `name` is among the demands resolved so far or held by the order already. */
function demandedTwice(s: State, resolved: readonly ResolvedDemand[], o: Order, name: string): boolean {
  for (const r of resolved) if (r.lock === name) return true;
  // A Fork's parent keeps its locks for the whole Fork: a child demanding one would wait for ever.
  for (let x: Order | undefined = o; x; x = x.parent === undefined ? undefined : s.orders.get(x.parent)) {
    for (const h of x.held) for (const g of h.grants) if (g.lock === name) return true;
  }
  return false;
}

/** The number of the AddOrder at `pos` among its workflow's AddOrders (in document order), as JOC Cockpit numbers them. */
function addOrderIndex(wf: Workflow, pos: Position): number {
  let n = 0;
  let found = -1;
  const target = pos.join('/');
  const walk = (instrs: readonly Instruction[], at: Position): void => {
    instrs.forEach((i, k) => {
      const here = [...at, k];
      if (i.TYPE === 'AddOrder') {
        if (here.join('/') === target) found = n;
        n++;
      }
      for (const [branch, block] of childBlocks(i)) walk(block.instructions, [...here, branch]);
    });
  };
  walk(wf.instructions, []);
  return found < 0 ? 0 : found;
}

function fits(inst: LockInstance, count: number | undefined, limit: number): boolean {
  if (limit === 0) return false;
  if (count === undefined) return inst.holders.size === 0;
  return inst.exclusive === undefined && inst.weight + count <= limit;
}

class Turn {
  readonly events: Event[] = [];
  private readonly ready: string[] = [];
  private readyAt = 0;
  /** Where `ready` starts since it was last drained (emptied only when long, to spare the work). */
  private readyBase = 0;
  /** Locks to look at for waiters to grant, in the order they became dirty; those from
   * `dirtyAt` on are still to look at, each there once. */
  private readonly dirtyLine: string[] = [];
  private dirtyAt = 0;
  /** The locks still to look at, once they are many (a few are found faster by looking through them). */
  private dirtyLocks: Set<string> | undefined;
  private jobsDirty = false;

  constructor(
    private readonly s: State,
    private readonly now: number,
    /** CoreOptions.preferredWorker: the worker that wins a tie of free slots. */
    private readonly preferredWorker: string | undefined,
  ) {}

  // ------------------------------------------------------------ plumbing

  private dirty(lock: string): void {
    const line = this.dirtyLine;
    if (this.dirtyAt === line.length && this.dirtyAt > 1024) {
      line.length = 0;
      this.dirtyAt = 0;
    }
    if (this.dirtyLocks) {
      if (this.dirtyLocks.has(lock)) return;
      this.dirtyLocks.add(lock);
    } else {
      for (let i = this.dirtyAt; i < line.length; i++) if (line[i] === lock) return;
      if (line.length - this.dirtyAt >= 8) this.dirtyLocks = new Set(line.slice(this.dirtyAt)).add(lock);
    }
    line.push(lock);
  }

  private emit(e: Event): void {
    const s = this.s;
    // Locks whose line changes when this order leaves it.
    if (e.type === 'OrderDequeued' || e.type === 'OrderLocksAcquired' || e.type === 'OrderPriorityChanged') {
      const o = s.orders.get(e.orderId);
      if (o?.waitingFor?.kind === 'locks' && o.demands) for (const d of o.demands) this.dirty(d.lock);
      if (o?.waitingFor?.kind === 'job') this.jobsDirty = true;
    }
    evolve(s, e);
    this.events.push(e);
    switch (e.type) {
      case 'OrderAdded':
      case 'OrderMoved':
      case 'OrderLocksAcquired':
      case 'OrderCaught':
        this.ready.push(e.orderId);
        break;
      case 'OrderLocksReleased':
        for (const l of e.locks) this.dirty(l);
        break;
      case 'OrderLocksQueued':
        // A newcomer with a higher priority sorts in front of the waiters: it may be first in line now.
        for (const d of e.demands) this.dirty(d.lock);
        break;
      case 'OrderProcessed':
      case 'SlotsSet':
        this.jobsDirty = true;
        break;
      case 'OrderFinished':
      case 'OrderCancelled': {
        // An order an AddOrder added with deleteWhenTerminated leaves at once.
        const o = s.orders.get(e.orderId);
        if (o?.deleteWhenTerminated && o.parent === undefined) this.emit({ type: 'OrderDeleted', at: this.now, orderId: o.id });
        break;
      }
      case 'LockDeployed':
        for (const inst of s.instances.values()) if (inst.family === e.lock.name) this.dirty(inst.name);
        break;
      default:
        break;
    }
  }

  private order(id: string): Order | Problem {
    const o = this.s.orders.get(id);
    return o ?? problem('not-found', `order ${id} not found`);
  }

  // ------------------------------------------------------------ commands

  /**
   * A command's whole run: the command, then the orders it made ready and the locks it freed
   * settled, then the ended orders beyond `keptMax` deleted. One method, on purpose larger than
   * V8 inlines (460 bytes of bytecode): the engine's loop calls it instead of taking it in, so
   * that a deoptimization here (a new kind of command or event, the first retained order
   * deleted) throws away this method's optimized code and not the loop's, and each compile of
   * the loop stays smaller.
   */
  decide(cmd: Command, keptMax: number): Decision {
    // The commands of every order's run first; the others in commandOther.
    let p: Problem | undefined;
    switch (cmd.type) {
      case 'jobFinished':
        this.jobFinished(cmd.orderId, cmd.executionId, cmd.outcome);
        break;
      case 'addOrder':
        if (typeof cmd.workflow === 'string' && cmd.workflow.startsWith('jobconfig:')) {
          p = invalid([{ path: 'workflow', message: 'runs of a job config are started through the job config' }]);
        } else p = this.addOrder(cmd);
        break;
      case 'tick':
        this.tick();
        break;
      default:
        p = this.commandOther(cmd);
    }
    if (p) {
      if (this.events.length !== 0) throw new AssertionFailed(`decide: ${cmd.type} refused after emitting events`);
      return { ok: false, problem: p };
    }
    // Settle: the orders made ready move on, the freed locks go to their waiters, the free
    // slots to the waiting jobs, until nothing is left to do.
    for (;;) {
      if (this.readyAt < this.ready.length) {
        const o = this.s.orders.get(this.ready[this.readyAt++]!);
        if (o) this.advance(o);
        continue;
      }
      if (this.readyAt > 1024) {
        this.ready.length = 0;
        this.readyAt = 0;
      }
      this.readyBase = this.readyAt;
      if (this.dirtyAt < this.dirtyLine.length) {
        const lock = this.dirtyLine[this.dirtyAt++]!;
        if (this.dirtyLocks) {
          if (this.dirtyAt === this.dirtyLine.length) this.dirtyLocks = undefined;
          else this.dirtyLocks.delete(lock);
        }
        this.grantWaiters(lock);
        continue;
      }
      if (this.jobsDirty) {
        this.jobsDirty = false;
        this.startExecutions();
        continue;
      }
      break;
    }
    // Retention: each OrderDeleted takes the order out of `ended`.
    const s = this.s;
    while (s.ended.size > keptMax) this.emit({ type: 'OrderDeleted', at: this.now, orderId: s.ended.oldest()! });
    return { ok: true, events: this.events };
  }

  private commandOther(cmd: Exclude<Command, { type: 'jobFinished' | 'addOrder' | 'tick' }>): Problem | undefined {
    switch (cmd.type) {
      case 'deployLock':
        return this.deploy([cmd.lock], []);
      case 'deploy':
        return this.deploy(cmd.locks, cmd.workflows, cmd.jobResources ?? [], cmd.boards ?? []);
      case 'deleteLock':
        return this.deleteLock(cmd.name);
      case 'setSlots': {
        // 0 = no worker here (a command-line process writing to the journal while no engine runs).
        if (!Number.isInteger(cmd.slots) || cmd.slots < 0 || cmd.slots > LIMITS.parallelismMax) {
          return invalid([{ path: 'slots', message: `must be a whole number from 0 to ${LIMITS.parallelismMax}` }]);
        }
        if (cmd.slots !== this.s.slots) this.emit({ type: 'SlotsSet', at: this.now, slots: cmd.slots });
        return undefined;
      }
      case 'setTokenHeadroom': {
        if (!Number.isInteger(cmd.headroom) || cmd.headroom < 0 || cmd.headroom > LIMITS.tokenHeadroomMax) {
          return invalid([{ path: 'headroom', message: `must be a whole number from 0 to ${LIMITS.tokenHeadroomMax}` }]);
        }
        const by = this.s.tokenHeadroom;
        if (by > 0 || cmd.headroom !== by) this.emit({ type: 'LockTokensAdvanced', at: this.now, by, headroom: cmd.headroom });
        return undefined;
      }
      case 'registerWorker':
        return this.registerWorker(cmd.workerId, cmd.slots, cmd.functions, cmd.agents);
      case 'workerLost': {
        const w = this.s.workers.get(cmd.workerId);
        if (!w) return problem('not-found', `worker ${String(cmd.workerId)} is not registered`);
        for (const o of executionsOn(this.s, w.id)) this.executionLost(o.id, o.execution!.id);
        this.emit({ type: 'WorkerLost', at: this.now, workerId: w.id });
        this.jobsDirty = true;
        return undefined;
      }
      case 'cancelOrder':
        return this.cancel(cmd.orderId, cmd.kill === true);
      case 'suspendOrder':
        return this.suspend(cmd.orderId, cmd.reset === true);
      case 'resumeOrder':
        return this.resume(cmd.orderId, cmd.position, cmd.asSucceeded === true);
      case 'changePriority': {
        const o = this.order(cmd.orderId);
        if ('code' in o) return o;
        if (!Number.isInteger(cmd.priority) || Math.abs(cmd.priority) > LIMITS.priorityAbsMax) {
          return invalid([{ path: 'priority', message: `must be a whole number from -${LIMITS.priorityAbsMax} to ${LIMITS.priorityAbsMax}` }]);
        }
        if (o.endedAt !== undefined) return problem('state', `order ${o.id} has ended (${o.state})`);
        if (o.priority !== cmd.priority) this.emit({ type: 'OrderPriorityChanged', at: this.now, orderId: o.id, priority: cmd.priority });
        return undefined;
      }
      case 'confirmOrder': {
        const o = this.order(cmd.orderId);
        if ('code' in o) return o;
        if (o.state !== 'prompting') return problem('state', `order ${o.id} is ${o.state}, not prompting`);
        this.emit({ type: 'OrderPromptAnswered', at: this.now, orderId: o.id });
        this.ready.push(o.id);
        return undefined;
      }
      case 'executionLost':
        this.executionLost(cmd.orderId, cmd.executionId);
        return undefined;
      case 'saveJobTemplate':
        if (cmd.create === true && typeof cmd.template?.id === 'string' && this.s.jobTemplates.has(cmd.template.id)) {
          return problem('conflict', `job template ${cmd.template.id} exists already`);
        }
        return this.saveJobTemplate(cmd.template);
      case 'deleteJobTemplate':
        return this.deleteJobTemplate(cmd.id);
      case 'saveJobConfig':
        if (cmd.create === true && typeof cmd.jobConfig?.id === 'string' && this.s.jobConfigs.has(cmd.jobConfig.id)) {
          return problem('conflict', `job config ${cmd.jobConfig.id} exists already`);
        }
        return this.saveJobConfig(cmd.jobConfig);
      case 'deleteJobConfig':
        return this.deleteJobConfig(cmd.id);
      case 'runJobConfig':
        return this.runJobConfig(cmd);
      case 'setJobConfigAlias':
        return this.setAlias(cmd.id, cmd.alias);
      case 'deleteJobConfigAlias': {
        const c = this.s.jobConfigs.get(cmd.id);
        if (!c) return problem('not-found', `job config ${cmd.id} not found`);
        if (!c.aliases?.some((a) => a.name === cmd.name)) return problem('not-found', `job config ${cmd.id} has no alias ${cmd.name}`);
        this.emit({ type: 'JobConfigAliasDeleted', at: this.now, jobConfig: cmd.id, name: cmd.name });
        return undefined;
      }
      case 'fireSchedule':
        return this.fireSchedule(cmd.id, cmd.fireTimes, cmd.missed);
    }
  }

  // ------------------------------------------------------------ job configs (§5) and schedules (§8)

  private saveJobTemplate(raw: unknown): Problem | undefined {
    const r = validateJobTemplate(raw);
    if (!r.ok) return invalid(r.problems);
    const t = r.value;
    for (const other of this.s.jobTemplates.values()) {
      if (other.id !== t.id && other.name === t.name) return problem('conflict', `a job template named ${t.name} exists already`);
    }
    const old = this.s.jobTemplates.get(t.id);
    if (old && JSON.stringify(old) === JSON.stringify(t)) return undefined;
    this.emit({ type: 'JobTemplateSaved', at: this.now, template: t });
    // A changed default `blocking` reaches every deriving job config's runs not yet started.
    for (const c of this.s.jobConfigs.values()) if (c.def.templateId === t.id && c.def.blocking === undefined) this.releaseUnstartedRuns(c.def.id);
    return undefined;
  }

  private deleteJobTemplate(id: string): Problem | undefined {
    if (!this.s.jobTemplates.has(id)) return problem('not-found', `job template ${id} not found`);
    const users = [...this.s.jobConfigs.values()].filter((c) => c.def.templateId === id).map((c) => c.def.name);
    if (users.length > 0) return problem('conflict', `job template ${id} is used by job config ${users.sort().join(', ')}`);
    this.emit({ type: 'JobTemplateDeleted', at: this.now, id });
    return undefined;
  }

  private saveJobConfig(raw: unknown): Problem | undefined {
    const s = this.s;
    const r = validateJobConfig(raw, s);
    if (!r.ok) return invalid(r.problems);
    const v = r.value;
    for (const other of s.jobConfigs.values()) {
      if (other.def.id !== v.id && other.def.name === v.name) return problem('conflict', `a job config named ${v.name} exists already`);
    }
    const old = s.jobConfigs.get(v.id);
    const jc = { ...v, created: old?.def.created ?? this.now, modified: this.now };
    if (old && JSON.stringify({ ...old.def, modified: 0 }) === JSON.stringify({ ...jc, modified: 0 })) return undefined;
    if (jc.command !== undefined) {
      const name = jobConfigWorkflowName(jc.id);
      const wf = commandWorkflow(name, jc);
      const w = s.workflows.get(name);
      if (!w || JSON.stringify(w.versions.get(w.latest)) !== JSON.stringify(wf)) {
        this.emit({ type: 'WorkflowDeployed', at: this.now, workflow: wf, version: (w?.latest ?? 0) + 1 });
      }
    }
    this.emit({ type: 'JobConfigSaved', at: this.now, jobConfig: jc });
    this.releaseUnstartedRuns(jc.id);
    return undefined;
  }

  /** Runs waiting in front of the run lock start at once when the job config stopped blocking. */
  private releaseUnstartedRuns(id: string): void {
    const c = this.s.jobConfigs.get(id);
    if (!c || effectiveBlocking(this.s, c.def)) return;
    const inst = this.s.instances.get(jobConfigLockName(id));
    if (!inst) return;
    for (const orderId of [...inst.queue.inOrder()]) {
      const o = this.s.orders.get(orderId)!;
      if (o.serialized) continue;
      this.emit({ type: 'OrderDequeued', at: this.now, orderId });
      this.ready.push(orderId);
    }
  }

  private deleteJobConfig(id: string): Problem | undefined {
    const s = this.s;
    if (!s.jobConfigs.has(id)) return problem('not-found', `job config ${id} not found`);
    const active = [...s.orders.values()].filter((o) => o.jobConfig === id && o.endedAt === undefined);
    if (active.length > 0) return problem('conflict', `job config ${id} has ${active.length} run(s) not ended: cancel them first`);
    this.emit({ type: 'JobConfigDeleted', at: this.now, id });
    return undefined;
  }

  private setAlias(id: string, raw: unknown): Problem | undefined {
    const c = this.s.jobConfigs.get(id);
    if (!c) return problem('not-found', `job config ${id} not found`);
    const r = validateAlias(raw);
    if (!r.ok) return invalid(r.problems);
    const other = findAlias(this.s, r.value.name);
    if (other && other.jobConfig !== id) return problem('conflict', `alias ${r.value.name} belongs to job config ${other.jobConfig}`);
    if (!other && (c.aliases?.length ?? 0) >= LIMITS.aliasesPerJobConfigMax) {
      return problem('conflict', `job config ${id} has ${LIMITS.aliasesPerJobConfigMax} aliases already (aliasesPerJobConfigMax)`);
    }
    this.emit({ type: 'JobConfigAliasSet', at: this.now, jobConfig: id, alias: { ...r.value, created: this.now } });
    return undefined;
  }

  private runJobConfig(cmd: Extract<Command, { type: 'runJobConfig' }>): Problem | undefined {
    const c = this.s.jobConfigs.get(cmd.id);
    if (!c) return problem('not-found', `job config ${cmd.id} not found`);
    if (!c.def.active) return problem('state', `job config ${c.def.name} is inactive`);
    return this.addOrder({
      type: 'addOrder',
      orderId: cmd.orderId,
      workflow: c.def.workflow ?? jobConfigWorkflowName(c.def.id),
      arguments: { ...this.templateOf(c.def.templateId)?.defaultArguments, ...c.def.defaultArguments, ...cmd.arguments },
      ...(cmd.priority !== undefined ? { priority: cmd.priority } : {}),
      ...(cmd.scheduledFor !== undefined ? { scheduledFor: cmd.scheduledFor } : {}),
    }, c.def.id);
  }

  private templateOf(id: string | undefined): JobTemplate | undefined {
    return id === undefined ? undefined : this.s.jobTemplates.get(id);
  }

  private fireSchedule(id: string, fireTimes: readonly number[], summary: { count: number; lastAt: number } | undefined): Problem | undefined {
    const s = this.s;
    const c = s.jobConfigs.get(id);
    if (!c) return problem('not-found', `job config ${id} not found`);
    if (!Array.isArray(fireTimes) || fireTimes.some((t) => typeof t !== 'number' || !Number.isFinite(t))) {
      return invalid([{ path: 'fireTimes', message: 'must be times in ms since the epoch' }]);
    }
    if (
      summary !== undefined &&
      (typeof summary !== 'object' || summary === null || !Number.isInteger(summary.count) || summary.count < 1 || !Number.isFinite(summary.lastAt) || fireTimes.some((t) => t <= summary.lastAt))
    ) {
      return invalid([{ path: 'missed', message: 'must be { count ≥ 1, lastAt } older than every fire time' }]);
    }
    const times = [...new Set(fireTimes)].filter((t) => t > (c.lastFireAt ?? -Infinity) && t <= this.now).sort((a, b) => a - b);
    if (summary && summary.lastAt > (c.lastFireAt ?? -Infinity) && summary.lastAt <= this.now) {
      // Too many to list (downtime): one skip record stands for them all; none of them runs.
      // Recorded after the listed fires, so that it stays among the newest records kept.
      const why = times.length > 0 ? `only the newest ${times.length} were handled one by one` : 'not handled one by one';
      const reason = `${summary.count} fires up to this one missed while not running (${why})`;
      this.fireListed(c, times);
      this.emit({ type: 'ScheduleFireSkipped', at: this.now, jobConfig: id, fireAt: summary.lastAt, count: summary.count, reason });
      return undefined;
    }
    this.fireListed(c, times);
    return undefined;
  }

  private fireListed(c: JobConfigState, times: readonly number[]): void {
    const id = c.def.id;
    if (times.length === 0) return;
    const skip = (fireAt: number, reason: string): void => this.emit({ type: 'ScheduleFireSkipped', at: this.now, jobConfig: id, fireAt, reason });
    const sched = c.def.schedule;
    if (!sched) {
      for (const t of times) skip(t, 'no schedule');
      return;
    }
    const onTime = times.filter((t) => this.now - t <= ON_TIME_MS);
    const missed = times.filter((t) => this.now - t > ON_TIME_MS);
    const catchUp = sched.catchUp ?? 'latest';
    const fire: number[] = [];
    if (catchUp === 'all') fire.push(...missed);
    else if (catchUp === 'latest' && onTime.length === 0 && missed.length > 0) fire.push(missed[missed.length - 1]!);
    fire.push(...onTime);
    for (const t of times) {
      if (!fire.includes(t)) {
        skip(t, `missed while not running (catchUp ${catchUp})`);
        continue;
      }
      if (!c.def.active) {
        skip(t, 'job config inactive');
        continue;
      }
      this.fireOnce(c.def, t);
    }
  }

  private fireOnce(def: JobConfig, fireAt: number): void {
    const s = this.s;
    const sched = def.schedule!;
    const blocking = effectiveBlocking(s, def);
    const overlap = sched.overlap ?? (blocking ? 'queue' : 'allow');
    const runs = [...s.orders.values()].filter((o) => o.jobConfig === def.id && isActiveRun(o));
    const skip = (reason: string): void => this.emit({ type: 'ScheduleFireSkipped', at: this.now, jobConfig: def.id, fireAt, reason });
    if (overlap === 'skip' && runs.length > 0) return skip(`overlap skip: run ${runs.map((o) => o.id).join(', ')} still active`);
    if (overlap === 'queue' && sched.queueLimit !== undefined) {
      // Runs that wait for the run lock, or have not started and will (added by this command too).
      const waiting = runs.filter((o) => o.waitingImplicit === true || ((o.state === 'ready' || o.state === 'scheduled') && o.held.length === 0 && o.position.length === 1 && o.position[0] === 0)).length;
      // A run that starts at once does not wait: `queueLimit: 0` still runs a fire when nothing is active.
      const inst = s.instances.get(jobConfigLockName(def.id));
      const startsAtOnce = waiting === 0 && (inst === undefined || (inst.holders.size === 0 && inst.queue.size === 0));
      if (!startsAtOnce && waiting >= sched.queueLimit) return skip(`queueLimit ${sched.queueLimit} reached (${waiting} waiting)`);
    }
    if (overlap === 'replace') {
      for (const o of runs) {
        if (o.state === 'processing') this.emit({ type: 'OrderCancelMarked', at: this.now, orderId: o.id, kill: true });
        // A forked run: its children are cancelled, the run at the join.
        else if (o.state === 'forked') this.cancel(o.id, true);
        else this.cancelNow(o);
      }
    }
    const orderId = `${def.id}@${fireAt}`;
    if (s.orders.has(orderId)) return skip(`order ${orderId} exists already`);
    const p = this.addOrder(
      {
        type: 'addOrder',
        orderId,
        workflow: def.workflow ?? jobConfigWorkflowName(def.id),
        arguments: { ...this.templateOf(def.templateId)?.defaultArguments, ...def.defaultArguments },
      },
      def.id,
      overlap === 'queue',
      { fireAt },
    );
    if (p) skip(p.message);
  }

  /** Blocking runs (and runs queued by their schedule) take the job config's lock around the whole run. */
  private needsRunLock(o: Order): boolean {
    if (o.jobConfig === undefined || holdsRunLock(o)) return false;
    if (o.serialized) return true;
    const c = this.s.jobConfigs.get(o.jobConfig);
    return c !== undefined && effectiveBlocking(this.s, c.def);
  }

  private lockRun(o: Order): void {
    const name = jobConfigLockName(o.jobConfig!);
    const inst = this.s.instances.get(name);
    const demands: ResolvedDemand[] = [{ lock: name, family: name }];
    if (inst && inst.holders.size === 0 && inst.queue.size === 0) return this.grant(o, demands, true);
    this.emit({ type: 'OrderLocksQueued', at: this.now, orderId: o.id, demands, implicit: true });
  }

  private deploy(rawLocks: readonly LockDef[], rawWorkflows: readonly Workflow[], rawJobResources: readonly JobResourceDef[] = [], rawBoards: readonly NoticeBoardDef[] = []): Problem | undefined {
    const s = this.s;
    const problems: ProblemItem[] = [];
    const jobResources = new Map<string, JobResourceDef>(s.jobResources);
    const newJobResources: JobResourceDef[] = [];
    if (!Array.isArray(rawJobResources)) return invalid([{ path: 'jobResources', message: 'must be a list of job resources' }]);
    rawJobResources.forEach((raw, i) => {
      const r = validateJobResource(raw);
      const where = `jobResources[${i}]${typeof raw?.name === 'string' ? ` (${raw.name})` : ''}`;
      if (!r.ok) {
        for (const p of r.problems) problems.push({ path: `${where}.${p.path}`, message: p.message });
        return;
      }
      if (newJobResources.some((j) => j.name === r.value.name)) problems.push({ path: `${where}.name`, message: `job resource ${r.value.name} is given twice` });
      newJobResources.push(r.value);
      jobResources.set(r.value.name, r.value);
    });
    const locks = new Map<string, LockDef>();
    for (const [name, fam] of s.locks) locks.set(name, fam.def);
    const newLocks: LockDef[] = [];
    rawLocks.forEach((raw, i) => {
      const r = validateLockDef(raw);
      const where = `locks[${i}]${typeof raw?.name === 'string' ? ` (${raw.name})` : ''}`;
      if (!r.ok) {
        for (const p of r.problems) problems.push({ path: `${where}.${p.path}`, message: p.message });
        return;
      }
      const lock = r.value;
      if (newLocks.some((l) => l.name === lock.name)) problems.push({ path: `${where}.name`, message: `lock ${lock.name} is given twice` });
      const old = s.locks.get(lock.name);
      if (old && Boolean(old.def.keyed) !== Boolean(lock.keyed) && this.lockInUse(lock.name)) {
        problems.push({ path: `${where}.keyed`, message: `cannot change keyed of lock ${lock.name} while it is held or waited for` });
      }
      newLocks.push(lock);
      locks.set(lock.name, lock);
    });
    const newBoards: NoticeBoardDef[] = [];
    const boardNames = new Set<string>(s.boards.keys());
    rawBoards.forEach((raw, i) => {
      const r = validateNoticeBoard(raw);
      const where = `boards[${i}]${typeof raw?.name === 'string' ? ` (${raw.name})` : ''}`;
      if (!r.ok) {
        for (const p of r.problems) problems.push({ path: `${where}.${p.path}`, message: p.message });
        return;
      }
      if (newBoards.some((b) => b.name === r.value.name)) problems.push({ path: `${where}.name`, message: `notice board ${r.value.name} is given twice` });
      newBoards.push(r.value);
      boardNames.add(r.value.name);
    });
    const newWorkflows: Workflow[] = [];
    // What an AddOrder may name: the workflows deployed and those deployed now.
    const workflowNames = new Set<string>(s.workflows.keys());
    for (const raw of rawWorkflows) if (typeof raw?.name === 'string') workflowNames.add(raw.name);
    rawWorkflows.forEach((raw, i) => {
      const name = typeof raw?.name === 'string' ? raw.name : '';
      const where = `workflows[${i}]${name ? ` (${name})` : ''}`;
      const r = validateWorkflow(raw, name, { locks, jobResources, workflows: workflowNames, boards: boardNames });
      if (!r.ok) {
        for (const p of r.problems) problems.push({ path: `${where}.${p.path}`, message: p.message });
        return;
      }
      if (newWorkflows.some((w) => w.name === r.value.name)) problems.push({ path: `${where}.name`, message: `workflow ${name} is given twice` });
      newWorkflows.push(r.value);
    });
    // Workflows already deployed must keep finding their locks with the new definitions.
    for (const [wfName, w] of s.workflows) {
      if (newWorkflows.some((n) => n.name === wfName)) continue;
      const wf = w.versions.get(w.latest)!;
      const r = validateWorkflow(wf, wfName, { locks, jobResources, checkCounts: false, generated: isGeneratedWorkflowName(wfName) });
      if (!r.ok) for (const p of r.problems) problems.push({ path: `deployed workflow ${wfName}.${p.path}`, message: p.message });
    }
    if (problems.length > 0) return invalid(problems);
    const cycle = findLockOrderCycle(this.workflowsInForce(newWorkflows));
    if (cycle) {
      return problem(
        'lock-order-cycle',
        `lock order cycle ${cycle.cycle.join(' → ')} (workflows ${cycle.workflows.join(', ')}): nested Lock blocks would deadlock`,
        [{ path: 'workflows', message: `cycle ${cycle.cycle.join(' → ')}` }],
      );
    }
    for (const r of newJobResources) {
      const old = s.jobResources.get(r.name);
      if (old && JSON.stringify(old) === JSON.stringify(r)) continue;
      this.emit({ type: 'JobResourceDeployed', at: this.now, jobResource: r });
    }
    for (const lock of newLocks) {
      const old = s.locks.get(lock.name);
      if (old && JSON.stringify(old.def) === JSON.stringify(lock)) continue;
      this.emit({ type: 'LockDeployed', at: this.now, lock });
      this.failOversizedWaiters(lock);
    }
    for (const board of newBoards) {
      const old = s.boards.get(board.name);
      if (old && JSON.stringify(old.def) === JSON.stringify(board)) continue;
      this.emit({ type: 'NoticeBoardDeployed', at: this.now, board });
    }
    for (const wf of newWorkflows) {
      const w = s.workflows.get(wf.name);
      if (w && JSON.stringify(w.versions.get(w.latest)) === JSON.stringify(wf)) continue;
      this.emit({ type: 'WorkflowDeployed', at: this.now, workflow: wf, version: (w?.latest ?? 0) + 1 });
    }
    return undefined;
  }

  /** Latest versions (with the new ones replacing theirs) plus older versions orders still run. */
  private workflowsInForce(replacing: readonly Workflow[]): Workflow[] {
    const s = this.s;
    const out: Workflow[] = [...replacing];
    const seen = new Set<string>();
    for (const [name, w] of s.workflows) {
      if (!replacing.some((r) => r.name === name)) {
        out.push(w.versions.get(w.latest)!);
        seen.add(`${name}@${w.latest}`);
      }
    }
    for (const o of s.orders.values()) {
      if (o.endedAt !== undefined) continue;
      const k = `${o.workflow}@${o.version}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(workflowOf(s, o));
    }
    return out;
  }

  private lockInUse(family: string): boolean {
    for (const inst of this.s.instances.values()) {
      if (inst.family === family && (inst.holders.size > 0 || inst.queue.size > 0)) return true;
    }
    return false;
  }

  /** After a limit change, waiters whose demand can never fit fail instead of hanging. */
  private failOversizedWaiters(lock: LockDef): void {
    if (lock.limit === 0) return;
    for (const o of [...this.s.orders.values()]) {
      if (o.waitingFor?.kind !== 'locks' || !o.demands) continue;
      const bad = o.demands.find((d) => d.family === lock.name && d.count !== undefined && d.count > lock.limit);
      if (!bad) continue;
      this.emit({ type: 'OrderDequeued', at: this.now, orderId: o.id });
      this.fail(o, {
        type: 'failed',
        reason: 'lock-demand-exceeds-limit',
        message: `demand ${bad.count} exceeds limit ${lock.limit} of lock ${lock.name}`,
      });
    }
  }

  private deleteLock(name: string): Problem | undefined {
    const s = this.s;
    if (!s.locks.has(name)) return problem('not-found', `lock ${name} not found`);
    const users = this.workflowsInForce([])
      .filter((wf) => lockReferences(wf).has(name))
      .map((wf) => wf.name);
    if (users.length > 0) return problem('conflict', `lock ${name} is referenced by workflow ${[...new Set(users)].sort().join(', ')}`);
    if (this.lockInUse(name)) return problem('conflict', `lock ${name} is held or waited for`);
    this.emit({ type: 'LockDeleted', at: this.now, name });
    return undefined;
  }

  private addOrder(
    cmd: Extract<Command, { type: 'addOrder' }>,
    jobConfig?: string,
    serialized = false,
    fired?: { fireAt: number },
  ): Problem | undefined {
    const s = this.s;
    const problems: ProblemItem[] = [];
    if (typeof cmd.orderId !== 'string' || !ORDER_ID.test(cmd.orderId)) {
      problems.push({ path: 'id', message: 'must be 1 to 128 characters of A-Z a-z 0-9 _ . : @ # -' });
    }
    const w = typeof cmd.workflow === 'string' ? s.workflows.get(cmd.workflow) : undefined;
    if (!w) problems.push({ path: 'workflow', message: `workflow ${String(cmd.workflow)} is not deployed` });
    const args = cmd.arguments ?? {};
    const argProblems = argumentProblems(args, 'arguments');
    if (argProblems.length > 0) problems.push(...argProblems);
    const priority = cmd.priority ?? 0;
    if (!Number.isInteger(priority) || Math.abs(priority) > LIMITS.priorityAbsMax) {
      problems.push({ path: 'priority', message: `must be a whole number from -${LIMITS.priorityAbsMax} to ${LIMITS.priorityAbsMax}` });
    }
    const timeMsg = cmd.scheduledFor !== undefined ? timeProblem(cmd.scheduledFor) : undefined;
    if (timeMsg !== undefined) problems.push({ path: 'scheduledFor', message: timeMsg });
    if (problems.length > 0) return invalid(problems);
    const wf = w!.versions.get(w!.latest)!;
    const prepared = prepareOrderArguments(wf.orderPreparation, args, {
      orderId: cmd.orderId,
      workflowPath: wf.name,
      timeZone: wf.timeZone,
      now: this.now,
      scheduledFor: cmd.scheduledFor,
    });
    if (!prepared.ok) return invalid(prepared.problems);
    if (s.orders.has(cmd.orderId)) return problem('conflict', `order ${cmd.orderId} exists already`);
    const e: Event = {
      type: 'OrderAdded',
      at: this.now,
      orderId: cmd.orderId,
      workflow: cmd.workflow,
      version: w!.latest,
      arguments: prepared.arguments,
      priority,
    };
    if (cmd.scheduledFor !== undefined) e.scheduledFor = cmd.scheduledFor;
    if (jobConfig !== undefined) e.jobConfig = jobConfig;
    if (serialized) e.serialized = true;
    if (fired) this.emit({ type: 'ScheduleFired', at: this.now, jobConfig: jobConfig!, fireAt: fired.fireAt, orderId: cmd.orderId });
    this.emit(e);
    return undefined;
  }

  private cancel(id: string, kill: boolean): Problem | undefined {
    const o = this.order(id);
    if ('code' in o) return o;
    if (o.endedAt !== undefined) return problem('state', `order ${id} has ended (${o.state})`);
    if (o.state === 'processing') {
      if (!o.cancelPending || (kill && !o.cancelPending.kill)) this.emit({ type: 'OrderCancelMarked', at: this.now, orderId: id, kill });
      return undefined;
    }
    if (o.state === 'forked') {
      // Its children are cancelled; the parent is cancelled at the join.
      if (!o.cancelPending || (kill && !o.cancelPending.kill)) this.emit({ type: 'OrderCancelMarked', at: this.now, orderId: id, kill });
      for (const c of [...(o.children ?? [])]) {
        const child = this.s.orders.get(c);
        if (child && child.endedAt === undefined) this.cancel(c, kill);
      }
      this.tryJoin(id);
      return undefined;
    }
    this.cancelNow(o);
    return undefined;
  }

  private cancelNow(o: Order): void {
    if (o.waitingFor?.kind === 'locks' || o.waitingFor?.kind === 'job') this.emit({ type: 'OrderDequeued', at: this.now, orderId: o.id });
    this.releaseOutside(o, []);
    this.emit({ type: 'OrderCancelled', at: this.now, orderId: o.id });
    if (o.parent !== undefined) this.tryJoin(o.parent);
  }

  private suspend(id: string, reset: boolean): Problem | undefined {
    const o = this.order(id);
    if ('code' in o) return o;
    if (o.endedAt !== undefined) return problem('state', `order ${id} has ended (${o.state})`);
    if (o.state === 'failed' || o.state === 'stopped') return problem('state', `order ${id} is ${o.state}: resume or cancel it`);
    if (o.suspended) return undefined;
    const w = o.waitingFor;
    if (reset && o.waitingImplicit === true && !(o.position.length === 1 && o.position[0] === 0)) {
      // A resumed failed run waiting for its run lock past its start: out of the line it would
      // later go on without the lock.
      return problem('state', `order ${id} waits for the run lock of job config ${String(o.jobConfig)} to go on at ${JSON.stringify(o.position)}: suspend it without reset`);
    }
    if (o.state === 'processing' || (w?.kind === 'locks' && !reset)) {
      if (!o.suspendPending) this.emit({ type: 'OrderSuspendMarked', at: this.now, orderId: id });
      return undefined;
    }
    if (w?.kind === 'locks' || w?.kind === 'job') this.emit({ type: 'OrderDequeued', at: this.now, orderId: id });
    this.emit({ type: 'OrderSuspended', at: this.now, orderId: id });
    return undefined;
  }

  private resume(id: string, position: Position | undefined, asSucceeded: boolean): Problem | undefined {
    const s = this.s;
    const o = this.order(id);
    if ('code' in o) return o;
    if (o.endedAt !== undefined) return problem('state', `order ${id} has ended (${o.state})`);
    const broken = o.state === 'failed' || o.state === 'stopped';
    if (!broken && (position !== undefined || asSucceeded)) {
      return problem('state', `order ${id} is ${o.state}: position and asSucceeded apply to failed or stopped orders`);
    }
    if (!broken && !o.suspended && !o.suspendPending) return problem('state', `order ${id} is ${o.state}, not suspended, failed or stopped`);
    if (position !== undefined && asSucceeded) return invalid([{ path: 'asSucceeded', message: 'give either a position or asSucceeded, not both' }]);
    if (position !== undefined) {
      const wf = workflowOf(s, o);
      if (!Array.isArray(position) || !isValidPosition(wf, position)) {
        return invalid([{ path: 'position', message: `no such position ${JSON.stringify(position)} in workflow ${o.workflow}` }]);
      }
      // A child of a Fork stays in its own branch (its locks are those inside it); no order
      // moves into a Fork branch: that is a child's.
      const parent = o.parent !== undefined ? s.orders.get(o.parent) : undefined;
      const start = parent ? parent.position.length + 1 : 0; // the branch's path, up to its name
      if (position.length <= start || !samePosition(position.slice(0, start), o.position.slice(0, start)) || position.slice(start).some((b) => isForkBranch(b))) {
        return invalid([{ path: 'position', message: parent ? `may not move child order ${id} out of its Fork branch ${JSON.stringify(o.position.slice(0, start))}` : 'may not move the order into a Fork branch' }]);
      }
      const want = enclosingLocks(position).filter((p) => p.length >= start);
      const have = o.held.filter((h) => h.at.length > 0).map((h) => h.at);
      if (want.length !== have.length || want.some((p, i) => !samePosition(p, have[i]!))) {
        return invalid([{ path: 'position', message: 'may not move the order into or out of a lock block' }]);
      }
    }
    const failed = o.state === 'failed';
    const e: Event = { type: 'OrderResumed', at: this.now, orderId: id };
    if (position !== undefined) e.to = position;
    if (asSucceeded) e.asSucceeded = true;
    this.emit(e);
    if (broken) {
      this.emit({ type: 'OrderMoved', at: this.now, orderId: id, to: asSucceeded ? nextPosition(o.position) : o.position });
      // A resumed failed run (it released its locks) starts again: a blocking one queues for
      // its run lock wherever it goes on (at [0] its start does that), so that `asSucceeded` or
      // a chosen position never lets it run beside the holder. A stopped run kept its locks.
      if (failed && o.state === 'ready' && !(o.position.length === 1 && o.position[0] === 0) && this.needsRunLock(o)) this.lockRun(o);
      return undefined;
    }
    // Back from a plain suspension: continue where it stood.
    if (o.state === 'ready') this.ready.push(id);
    else if (o.state === 'scheduled') this.timerDue(o, o.scheduledFor ?? this.now, 'scheduled');
    else if (o.waitingFor?.kind === 'retry' || o.waitingFor?.kind === 'time' || o.waitingFor?.kind === 'cycle') this.timerDue(o, o.waitingFor.until, 'retry');
    else if (o.waitingFor?.kind === 'admission') this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to: o.position }); // looks at the admission again
    else if (o.waitingFor?.kind === 'notice') this.expectNotices(o);
    return undefined;
  }

  /** A timer skipped while the order was suspended: fire now if due, else set it again. */
  private timerDue(o: Order, at: number, kind: 'scheduled' | 'retry'): void {
    if (at <= this.now) this.wake(o);
    else this.s.timers.push({ at, orderId: o.id, kind });
  }

  /** The wait of a scheduled, retrying or sleeping order is over: a Sleep is behind it. */
  private wake(o: Order): void {
    if (o.waitingFor?.kind === 'cycle') return this.cycleDue(o);
    const to = o.waitingFor?.kind === 'time' ? nextPosition(o.position) : o.position;
    this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to });
  }

  private jobFinished(id: string, executionId: string, outcome: Outcome): void {
    const o = this.s.orders.get(id);
    if (!o || o.state !== 'processing' || o.execution?.id !== executionId) return; // stale
    this.emit({ type: 'OrderProcessed', at: this.now, orderId: id, executionId, outcome }); // success moves it on
    if (o.cancelPending) return this.cancelNow(o);
    if (outcome.type === 'succeeded') this.ready.push(id);
    else this.fail(o, outcome);
  }

  private executionLost(id: string, executionId: string): void {
    const o = this.s.orders.get(id);
    if (!o || o.state !== 'processing' || o.execution?.id !== executionId) return;
    const job = jobAt(workflowOf(this.s, o), o.position)?.job;
    const outcome: Outcome = { type: 'failed', reason: 'disrupted', message: 'the process running the job was lost' };
    this.emit({ type: 'OrderProcessed', at: this.now, orderId: id, executionId, outcome });
    if (o.cancelPending) return this.cancelNow(o);
    if (job !== undefined && isRestartable(job)) this.emit({ type: 'OrderMoved', at: this.now, orderId: id, to: o.position });
    else this.fail(o, outcome);
  }

  private tick(): void {
    const s = this.s;
    const admitted: Order[] = [];
    for (;;) {
      const t = s.timers.peek();
      if (!t || t.at > this.now) break;
      s.timers.pop();
      const o = s.orders.get(t.orderId);
      if (!o) continue;
      if (t.kind === 'admission') {
        const w = o.waitingFor;
        if (o.state !== 'waiting' || w?.kind !== 'admission' || w.until !== t.at || o.suspended) continue;
        admitted.push(o);
      } else if (t.kind === 'scheduled') {
        if (o.state !== 'scheduled' || o.scheduledFor !== t.at || o.suspended) continue;
        this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to: o.position });
      } else if (t.kind === 'retry') {
        const w = o.waitingFor;
        if (o.state !== 'waiting' || (w?.kind !== 'retry' && w?.kind !== 'time' && w?.kind !== 'cycle') || w.until !== t.at || o.suspended) continue;
        this.wake(o);
      } else {
        if (o.waitingFor?.kind !== 'locks' || o.waitUntil !== t.at) continue;
        const locks = o.waitingFor.locks.join(', ');
        const waited = (t.at - (o.waitingSince ?? t.at)) / 1000;
        this.emit({ type: 'OrderDequeued', at: this.now, orderId: o.id });
        this.fail(o, { type: 'failed', reason: 'lock-wait-timeout', message: `waited ${waited}s for lock ${locks}` });
      }
    }
    // A period opened: its waiters go to the job in the order they came (by priority, then arrival).
    admitted.sort((a, b) => b.priority - a.priority || (a.arrival ?? 0) - (b.arrival ?? 0));
    for (const o of admitted) this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to: o.position });
  }

  // ------------------------------------------------------------ admission times (src/core/admission.ts)

  /** Admission of jobs at `now`, computed once per job in a turn (made on first use: most turns have none). */
  private admissions: Map<string, Admission> | undefined;

  private admission(o: Order, key: string, job: Job, wf: Workflow): Admission | undefined {
    if (job.admissionTimeScheme === undefined) return undefined;
    const versioned = `${key}@${o.version}`;
    this.admissions ??= new Map();
    let a = this.admissions.get(versioned);
    if (a === undefined) {
      a = admissionAt(job.admissionTimeScheme, wf.timeZone ?? 'Etc/UTC', this.now);
      this.admissions.set(versioned, a);
    }
    return a;
  }

  /** The order waits for the job's next admission period. */
  private awaitAdmission(o: Order, key: string, a: Admission): void {
    const e: Event = { type: 'OrderAdmissionWaitStarted', at: this.now, orderId: o.id, job: key };
    if (!a.admitted && a.next !== undefined) e.until = a.next;
    this.emit(e);
  }

  /** `skipIfNoAdmissionForOrderDay`: no period of the job starts on the order's day (a Fork's child has its parent's). */
  private noAdmissionOnOrderDay(o: Order, job: Job, wf: Workflow): boolean {
    if (job.skipIfNoAdmissionForOrderDay !== true || job.admissionTimeScheme === undefined) return false;
    let root = o;
    while (root.parent !== undefined) {
      const p = this.s.orders.get(root.parent);
      if (!p) break;
      root = p;
    }
    const day = orderDay({ id: root.id, scheduledFor: root.scheduledFor }, wf.timeZone ?? 'Etc/UTC');
    return day !== undefined && !hasAdmissionStartOn(job.admissionTimeScheme, day);
  }

  // ------------------------------------------------------------ the order machine

  private advance(o: Order): void {
    const s = this.s;
    for (let steps = 0; ; steps++) {
      if (o.state !== 'ready' || o.suspended) return;
      if (o.suspendPending) {
        this.emit({ type: 'OrderSuspended', at: this.now, orderId: o.id });
        return;
      }
      if (o.position.length === 1 && o.position[0] === 0 && this.needsRunLock(o)) {
        this.lockRun(o);
        return;
      }
      if (steps > STEPS_PER_ADVANCE_MAX) {
        this.fail(o, { type: 'failed', reason: 'step-limit', message: `more than ${STEPS_PER_ADVANCE_MAX} steps without waiting` }, true);
        return;
      }
      const wf = workflowOf(s, o);
      const pos = o.position;
      const instr = instructionAt(wf, pos);
      if (!instr) {
        if (this.leaveBlock(o)) return;
        continue;
      }
      // The instructions of every order's run here; the others in step (a small method is
      // optimized early and again soon after a deoptimization).
      switch (instr.TYPE) {
        case 'Execute.Named':
        case 'Execute.Anonymous':
          this.execute(o, wf);
          return;
        case 'Lock':
          this.lock(o, instr.demands, instr.waitTimeout);
          return;
        default:
          if (!this.step(o, wf, instr)) return;
      }
      if (this.ready.length - this.readyBase > 4096 && steps > 64) {
        // Let other ready orders move too; this one continues later in the same turn.
        this.ready.push(o.id);
        return;
      }
    }
  }

  /** One instruction other than a job or a lock: true when the order goes on from where it now stands. */
  private step(o: Order, wf: Workflow, instr: Exclude<Instruction, { TYPE: 'Execute.Named' | 'Execute.Anonymous' | 'Lock' }>): boolean {
    const pos = o.position;
    switch (instr.TYPE) {
      case 'Sleep': {
        const r = evaluateSeconds(instr.duration, orderScope(o, wf, this.now, instr.label), LIMITS.sleepSecondsMax);
        if (!r.ok) {
          this.fail(o, { type: 'failed', reason: 'expression-error', message: `Sleep: ${r.message}` });
          return false;
        }
        const ms = Math.round(r.value * 1000);
        if (ms > 0) {
          this.emit({ type: 'OrderSleepStarted', at: this.now, orderId: o.id, until: this.now + ms });
          return false;
        }
        this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to: nextPosition(pos) });
        return true;
      }
      case 'Prompt': {
        const r = evaluate(instr.question, orderScope(o, wf, this.now, instr.label));
        if (!r.ok) {
          this.fail(o, { type: 'failed', reason: 'expression-error', message: `Prompt: ${r.message}` });
          return false;
        }
        this.emit({ type: 'OrderPrompted', at: this.now, orderId: o.id, question: asText(r.value) });
        return false;
      }
      case 'StickySubagent':
        this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to: [...pos, 'stickySubagent', 0] });
        return true;
      case 'Fork':
        this.fork(o, instr);
        return false;
      case 'ForkList':
        this.forkList(o, wf, instr);
        return false;
      case 'AddOrder':
        return this.addOrderInstr(o, wf, instr);
      case 'PostNotices':
        return this.postNotices(o, wf, instr.noticeBoardNames, instr.label);
      case 'ExpectNotices':
      case 'ConsumeNotices':
        this.expectNotices(o);
        return true;
      case 'Cycle':
        this.enterCycle(o, wf, instr);
        return true;
      case 'Break': {
        const at = innermostCycle(pos);
        if (!at) throw new AssertionFailed(`order ${o.id}: Break outside a Cycle`);
        this.releaseOutside(o, nextPosition(at));
        this.emit({ type: 'OrderCycleFinished', at: this.now, orderId: o.id });
        return true;
      }
      case 'If': {
        const to = this.ifTarget(o, wf, instr);
        if (!to) return false;
        this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to });
        return true;
      }
      case 'Options':
        this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to: [...pos, 'options', 0] });
        return true;
      case 'Try':
        this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to: [...pos, 'try+0', 0] });
        return true;
      case 'Retry':
        this.retry(o);
        return false;
      case 'Fail': {
        const outcome: Outcome = { type: 'failed', reason: 'fail-instruction' };
        if (instr.message !== undefined) outcome.message = instr.message;
        const rc = instr.outcome?.returnCode ?? instr.namedValues?.['returnCode'];
        if (typeof rc === 'number') outcome.returnCode = rc;
        if (instr.namedValues !== undefined) outcome.namedValues = { ...instr.namedValues };
        this.fail(o, outcome, instr.uncatchable === true);
        return false;
      }
      case 'Finish': {
        this.releaseOutside(o, []);
        const failed = instr.unsuccessful === true || instr.outcome?.TYPE === 'Failed';
        const outcome: Outcome = failed ? { type: 'failed', reason: 'finish-instruction' } : { type: 'succeeded', reason: 'finish-instruction' };
        if (instr.message !== undefined) outcome.message = instr.message;
        const nv = instr.outcome?.namedValues;
        if (nv !== undefined) {
          outcome.namedValues = { ...nv };
          if (typeof nv['returnCode'] === 'number') outcome.returnCode = nv['returnCode'];
        }
        this.emit({ type: 'OrderFinished', at: this.now, orderId: o.id, outcome });
        return false;
      }
    }
  }

  /** Where an If sends the order: the first branch whose predicate is true, else `else`, else on. Undefined: it failed. */
  private ifTarget(o: Order, wf: Workflow, instr: IfInstr): Position | undefined {
    const scope = orderScope(o, wf, this.now, instr.label);
    const list = ifThens(instr);
    for (let i = 0; i < list.length; i++) {
      const r = evaluate(list[i]!.predicate, scope);
      if (!r.ok || typeof r.value !== 'boolean') {
        const why = r.ok ? `is ${typeName(r.value)}, not Boolean` : r.message;
        this.fail(o, { type: 'failed', reason: 'expression-error', message: `If predicate ${JSON.stringify(list[i]!.predicate)}: ${why}` });
        return undefined;
      }
      if (r.value) return [...o.position, thenBranch(i), 0];
    }
    return instr.else ? [...o.position, 'else', 0] : nextPosition(o.position);
  }

  /** Returns true when the order stops here (it ended, or a Fork's child reached its branch's end). */
  private leaveBlock(o: Order): boolean {
    const pos = o.position;
    if (o.parent !== undefined && isForkBranch(pos[pos.length - 2]) && this.isOwnBranch(o)) {
      this.tryJoin(o.parent);
      return true;
    }
    if (pos.length === 1) {
      this.releaseOutside(o, []); // the run lock of a blocking job config, if held
      if (o.held.length !== 0) throw new AssertionFailed(`order ${o.id} at the end holds locks`);
      const outcome: Outcome = o.outcome?.type === 'succeeded' ? o.outcome : { type: 'succeeded' };
      this.emit({ type: 'OrderFinished', at: this.now, orderId: o.id, outcome });
      return true;
    }
    if (pos[pos.length - 2] === 'consumeNotices') {
      this.consumed(o, pos.slice(0, -2));
      return false;
    }
    if (pos[pos.length - 2] === 'cycle') {
      this.cycleEnded(o, pos.slice(0, -2));
      return false;
    }
    const to = pos.slice(0, -2); // the enclosing instruction: the order moves on to the next
    if (pos[pos.length - 2] === 'lock') {
      const top = o.held[o.held.length - 1];
      if (!(top && samePosition(top.at, to))) throw new AssertionFailed(`order ${o.id} leaves a lock block it does not hold`);
      this.emit({ type: 'OrderLocksReleased', at: this.now, orderId: o.id, locks: top.grants.map((g) => g.lock) });
    }
    to[to.length - 1] = (to[to.length - 1] as number) + 1;
    this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to });
    return false;
  }

  // ------------------------------------------------------------ Cycle

  private cycleInstr(o: Order, at: Position): { instr: CycleInstr; timeZone: string } {
    const wf = workflowOf(this.s, o);
    const instr = instructionAt(wf, at);
    if (instr?.TYPE !== 'Cycle') throw new AssertionFailed(`order ${o.id}: no Cycle at ${JSON.stringify(at)}`);
    return { instr, timeZone: wf.timeZone ?? 'Etc/UTC' };
  }

  /** Cycling ends with the order's day: the day it was scheduled for, else today. */
  private firstCycleState(o: Order, at: Position, timeZone: string): CycleState {
    return initialCycleState(at, o.scheduledFor ?? this.now, timeZone);
  }

  private enterCycle(o: Order, wf: Workflow, instr: CycleInstr): void {
    const timeZone = wf.timeZone ?? 'Etc/UTC';
    const cs = nextCycleState(instr.schedule, instr.onlyOnePeriod === true, this.firstCycleState(o, o.position, timeZone), this.now, timeZone);
    if (!cs) {
      this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to: nextPosition(o.position) });
      return;
    }
    this.emit({ type: 'OrderCyclingPrepared', at: this.now, orderId: o.id, cycle: cs });
    if (cs.next <= this.now) this.cycleDue(o);
  }

  /** The order reached the end of a cycle's block: it waits for the next cycle, or goes on. */
  private cycleEnded(o: Order, at: Position): void {
    const { instr, timeZone } = this.cycleInstr(o, at);
    const cs = o.cycles?.find((c) => samePosition(c.at, at)) ?? this.firstCycleState(o, at, timeZone);
    const next = nextCycleState(instr.schedule, instr.onlyOnePeriod === true, cs, this.now, timeZone);
    if (!next) {
      this.emit({ type: 'OrderCycleFinished', at: this.now, orderId: o.id });
      return;
    }
    this.emit({ type: 'OrderCycleFinished', at: this.now, orderId: o.id, cycle: next });
    if (next.next <= this.now) this.cycleDue(o);
  }

  /** The time of the next cycle came (the order waits at the Cycle). */
  private cycleDue(o: Order): void {
    for (let i = 0; i < 8; i++) {
      const cs = o.cycles?.[o.cycles.length - 1];
      if (o.waitingFor?.kind !== 'cycle' || !cs || o.suspended) return;
      const { instr, timeZone } = this.cycleInstr(o, o.position);
      const d = cycleDue(instr.schedule, instr.onlyOnePeriod === true, cs, this.now, timeZone);
      switch (d.do) {
        case 'wait':
          return;
        case 'start':
          this.emit({ type: 'OrderCycleStarted', at: this.now, orderId: o.id });
          this.ready.push(o.id);
          return;
        case 'end':
          this.emit({ type: 'OrderCycleFinished', at: this.now, orderId: o.id });
          this.ready.push(o.id);
          return;
        case 'change':
          this.emit({ type: 'OrderCyclingPrepared', at: this.now, orderId: o.id, cycle: d.state });
          if (d.state.next > this.now) return;
      }
    }
  }

  /** Whether a child's position is in its own branch (one level below its parent's Fork). */
  private isOwnBranch(o: Order): boolean {
    const p = o.parent === undefined ? undefined : this.s.orders.get(o.parent);
    return p !== undefined && o.position.length === p.position.length + 2;
  }

  private fork(o: Order, instr: ForkInstr): void {
    const children = instr.branches.map((b) => ({ orderId: `${o.id}|${b.id}`, branch: b.id }));
    for (const c of children) {
      if (this.s.orders.has(c.orderId)) {
        return this.fail(o, { type: 'failed', reason: 'fail-instruction', message: `Fork: order ${c.orderId} exists already` });
      }
    }
    this.emit({ type: 'OrderForked', at: this.now, orderId: o.id, children });
    for (const c of children) this.ready.push(c.orderId);
  }

  // ------------------------------------------------------------ notices

  /** The notice id of `board` for the order (its post or expect expression), or a message. */
  private noticeId(o: Order, wf: Workflow, board: string, which: 'post' | 'expect'): { ok: true; id: string } | { ok: false; message: string } {
    const b = this.s.boards.get(board);
    if (!b) return { ok: false, message: `notice board ${board} is not deployed` };
    const r = evaluate(which === 'post' ? b.def.postOrderToNoticeId : b.def.expectOrderToNoticeId, orderScope(o, wf, this.now));
    if (!r.ok) return { ok: false, message: `notice board ${board}: ${r.message}` };
    const id = asText(r.value);
    if (id === '' || id.length > LIMITS.nameLengthMax * 2) return { ok: false, message: `notice board ${board}: the notice id ${JSON.stringify(id)} is empty or too long` };
    return { ok: true, id };
  }

  private noticeAlive(board: string, id: string): boolean {
    const end = this.s.boards.get(board)?.notices.get(id);
    return end !== undefined && end > this.now;
  }

  /** Returns false when the order failed. */
  private postNotices(o: Order, wf: Workflow, boards: readonly string[], label: string | undefined): boolean {
    const posts: { board: string; noticeId: string; endOfLife: number }[] = [];
    for (const board of boards) {
      const id = this.noticeId(o, wf, board, 'post');
      if (!id.ok) return this.noticeFailed(o, `PostNotices: ${id.message}`);
      const r = evaluate(this.s.boards.get(board)!.def.endOfLife, orderScope(o, wf, this.now, label));
      if (!r.ok || typeof r.value !== 'number' || !Number.isFinite(r.value)) {
        return this.noticeFailed(o, `PostNotices: notice board ${board}: endOfLife ${r.ok ? `is ${typeName(r.value)}, not a Number (ms)` : r.message}`);
      }
      posts.push({ board, noticeId: id.id, endOfLife: r.value });
    }
    for (const p of posts) {
      // Notices past their end of life leave when their board is posted to.
      for (const [id, end] of [...this.s.boards.get(p.board)!.notices]) {
        if (end <= this.now && id !== p.noticeId) this.emit({ type: 'NoticeDeleted', at: this.now, board: p.board, noticeId: id });
      }
      this.emit({ type: 'NoticePosted', at: this.now, orderId: o.id, ...p });
    }
    this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to: nextPosition(o.position) });
    // Orders waiting for one of these notices may go on.
    const posted = new Set(posts.map((p) => `${p.board}:${p.noticeId}`));
    for (const w of [...this.s.orders.values()]) {
      if (w.waitingFor?.kind === 'notice' && !w.suspended && w.waitingFor.notices.some((n) => posted.has(n))) this.expectNotices(w);
    }
    return true;
  }

  private noticeFailed(o: Order, message: string): false {
    this.fail(o, { type: 'failed', reason: 'expression-error', message });
    return false;
  }

  /** An order at an ExpectNotices or ConsumeNotices: goes on when its notices are there, else waits for them. */
  private expectNotices(o: Order): void {
    const wf = workflowOf(this.s, o);
    const instr = instructionAt(wf, o.position);
    if (instr?.TYPE !== 'ExpectNotices' && instr?.TYPE !== 'ConsumeNotices') return;
    const formula = boardFormula(instr.noticeBoardNames);
    if (!formula.ok) throw new AssertionFailed(`deployed ${instr.TYPE} has a bad noticeBoardNames`);
    const expected: string[] = [];
    const present = new Set<string>();
    for (const board of formula.boards) {
      const id = this.noticeId(o, wf, board, 'expect');
      if (!id.ok) return void this.noticeFailed(o, `${instr.TYPE}: ${id.message}`);
      expected.push(`${board}:${id.id}`);
      if (this.noticeAlive(board, id.id)) present.add(board);
    }
    if (formula.holds(present)) {
      this.emit({ type: instr.TYPE === 'ExpectNotices' ? 'OrderNoticesReceived' : 'OrderNoticesConsumptionStarted', at: this.now, orderId: o.id });
      this.ready.push(o.id);
      return;
    }
    const w = o.waitingFor;
    if (w?.kind === 'notice' && w.notices.length === expected.length && w.notices.every((n, i) => n === expected[i])) return;
    this.emit({ type: 'OrderNoticesExpected', at: this.now, orderId: o.id, notices: expected });
  }

  /** The end of a ConsumeNotices block: its notices that are there are deleted; the order goes on. */
  private consumed(o: Order, at: Position): void {
    const wf = workflowOf(this.s, o);
    const instr = instructionAt(wf, at);
    if (instr?.TYPE !== 'ConsumeNotices') throw new AssertionFailed(`order ${o.id}: no ConsumeNotices at ${JSON.stringify(at)}`);
    const formula = boardFormula(instr.noticeBoardNames);
    const deletes: { board: string; noticeId: string }[] = [];
    if (formula.ok) {
      const scopeOrder = { ...o, position: at };
      for (const board of formula.boards) {
        const id = this.noticeId(scopeOrder, wf, board, 'expect');
        if (id.ok && this.s.boards.get(board)?.notices.has(id.id)) deletes.push({ board, noticeId: id.id });
      }
    }
    for (const d of deletes) this.emit({ type: 'NoticeDeleted', at: this.now, ...d });
    this.emit({ type: 'OrderNoticesConsumed', at: this.now, orderId: o.id });
  }

  /** The AddOrder at the order's position adds its order; false when the adding order failed. */
  private addOrderInstr(o: Order, wf: Workflow, instr: AddOrderInstr): boolean {
    const s = this.s;
    const fail = (message: string): false => {
      this.fail(o, { type: 'failed', reason: 'add-order-failed', message: `AddOrder ${instr.workflowName}: ${message}` });
      return false;
    };
    const target = s.workflows.get(instr.workflowName);
    if (!target) return fail('the workflow is not deployed');
    const scope = orderScope(o, wf, this.now, instr.label);
    const args: Record<string, string> = {};
    for (const [k, expr] of Object.entries(instr.arguments ?? {})) {
      const r = evaluate(expr, scope);
      if (!r.ok) return fail(`argument ${k}: ${r.message}`);
      args[k] = asText(r.value);
    }
    const twf = target.versions.get(target.latest)!;
    const date = formatInstant(this.now, 'yyyy-MM-dd', wf.timeZone ?? 'Etc/UTC');
    const main = o.id.split('|')[0]!.replace(/^#\d{4}-\d{2}-\d{2}#[A-Z]\d*-/, '');
    const base = `#${date.ok ? date.value : '0000-00-00'}#D${String(addOrderIndex(wf, o.position) % 100).padStart(2, '0')}-${main}`.slice(0, 120);
    let orderId = base;
    for (let n = 2; s.orders.has(orderId); n++) orderId = `${base}.${n}`;
    if (!ORDER_ID.test(orderId)) return fail(`the order id ${orderId} is not valid`);
    const prepared = prepareOrderArguments(twf.orderPreparation, args, { orderId, workflowPath: twf.name, timeZone: twf.timeZone, now: this.now, scheduledFor: undefined });
    if (!prepared.ok) return fail(prepared.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    const e: Event = { type: 'OrderAdded', at: this.now, orderId, workflow: twf.name, version: target.latest, arguments: prepared.arguments, priority: o.priority, addedBy: o.id };
    if (instr.remainWhenTerminated !== true && instr.deleteWhenTerminated !== false) e.deleteWhenTerminated = true;
    this.emit(e);
    this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to: nextPosition(o.position) });
    return true;
  }

  private forkList(o: Order, wf: Workflow, instr: ForkListInstr): void {
    const fail = (message: string): void => this.fail(o, { type: 'failed', reason: 'expression-error', message: `ForkList: ${message}` });
    const scope = orderScope(o, wf, this.now, instr.label);
    const expr = /^[A-Za-z_][A-Za-z0-9_]*$/.test(instr.children) ? `$${instr.children}` : instr.children;
    const r = evaluate(expr, scope);
    if (!r.ok) return fail(`children ${JSON.stringify(instr.children)}: ${r.message}`);
    const list = r.value;
    if (!Array.isArray(list)) return fail(`children ${JSON.stringify(instr.children)} is ${typeName(list)}, not a List`);
    if (list.length > LIMITS.forkListChildrenMax) return fail(`${list.length} children are more than ${LIMITS.forkListChildrenMax} (forkListChildrenMax)`);
    const children: { orderId: string; arguments: Record<string, string> }[] = [];
    const ids = new Set<string>();
    for (let i = 0; i < list.length; i++) {
      const el = list[i]!;
      if (typeof el !== 'object' || el === null || Array.isArray(el)) return fail(`element ${i + 1} is ${typeName(el)}, not an object`);
      const idValue = (el as Record<string, typeof el>)[instr.childToId];
      const id = idValue === undefined ? '' : asText(idValue);
      if (id === '' || id.includes('|') || id.length > LIMITS.nameLengthMax) {
        return fail(`element ${i + 1}: field ${instr.childToId} must be 1 to ${LIMITS.nameLengthMax} characters without "|" (it names the child order)`);
      }
      const orderId = `${o.id}|${i + 1}.${id}`;
      if (ids.has(orderId) || this.s.orders.has(orderId)) return fail(`order ${orderId} exists already`);
      ids.add(orderId);
      const args: Record<string, string> = {};
      for (const [k, v] of Object.entries(el as Record<string, typeof el>)) args[k] = asText(v);
      const problems = argumentProblems(args, `element ${i + 1}`);
      if (problems.length > 0) return fail(`${problems[0]!.path}: ${problems[0]!.message}`);
      children.push({ orderId, arguments: args });
    }
    this.emit({ type: 'OrderForked', at: this.now, orderId: o.id, children });
    for (const c of children) this.ready.push(c.orderId);
    if (children.length === 0) this.tryJoin(o.id);
  }

  /** Joins the Fork of `parentId` once every child has ended (done, cancelled, or failed with joinIfFailed). */
  private tryJoin(parentId: string): void {
    const s = this.s;
    const p = s.orders.get(parentId);
    if (!p || p.state !== 'forked' || !p.children) return;
    const wf = workflowOf(s, p);
    const instr = instructionAt(wf, p.position);
    if (!(instr?.TYPE === 'Fork' || instr?.TYPE === 'ForkList')) throw new AssertionFailed(`order ${p.id} is forked but not at a Fork`);
    const failed: string[] = [];
    const args: Record<string, string> = {};
    // A ForkList's parent gets each result as a list of the children's values.
    const lists = new Map<string, Value[]>();
    if (instr.TYPE === 'ForkList') for (const name of Object.keys(instr.workflow.result ?? {})) lists.set(name, []);
    for (const id of p.children) {
      const c = s.orders.get(id);
      if (!c) throw new AssertionFailed(`child ${id} of ${p.id} is missing`);
      if (c.state === 'cancelled') failed.push(`${id} has been cancelled`);
      else if (c.state === 'failed' && instr.joinIfFailed === true) failed.push(`${id} failed${c.outcome?.message ? `: ${c.outcome.message}` : ''}`);
      else if (c.state === 'ready' && this.isOwnBranch(c) && instructionAt(wf, c.position) === undefined && !c.suspended) {
        const result = instr.TYPE === 'Fork' ? instr.branches.find((b) => `fork+${b.id}` === c.position[c.position.length - 2])?.workflow.result : instr.workflow.result;
        const scope = orderScope(c, wf, this.now, instr.label);
        for (const [name, expr] of Object.entries(result ?? {})) {
          const r = evaluate(expr, scope);
          if (!r.ok) failed.push(`${id} result ${name}: ${r.message}`);
          else if (instr.TYPE === 'ForkList') lists.get(name)!.push(r.value);
          else args[name] = asText(r.value);
        }
      } else return;
    }
    for (const [name, values] of lists) args[name] = asText(values);
    const outcome: Outcome = failed.length === 0 ? { type: 'succeeded' } : { type: 'failed', reason: 'child-failed', message: failed.join('; ') };
    const e: Event = { type: 'OrderJoined', at: this.now, orderId: p.id, outcome };
    if (failed.length === 0 && Object.keys(args).length > 0) e.arguments = args;
    this.emit(e);
    if (p.cancelPending) return this.cancelNow(p);
    if (failed.length > 0) this.fail(p, outcome);
    else this.ready.push(p.id);
  }

  private registerWorker(workerId: unknown, slots: unknown, functions: unknown, agents: unknown): Problem | undefined {
    const problems: ProblemItem[] = [];
    if (typeof workerId !== 'string' || !WORKER_ID_PATTERN.test(workerId)) problems.push({ path: 'workerId', message: 'must be 1 to 128 of A-Z a-z 0-9 _ . : @ # -' });
    if (!Number.isInteger(slots) || (slots as number) < 0 || (slots as number) > LIMITS.parallelismMax) {
      problems.push({ path: 'slots', message: `must be a whole number from 0 to ${LIMITS.parallelismMax}` });
    }
    if (!Array.isArray(functions) || functions.length > LIMITS.parallelismMax || !functions.every((f) => typeof f === 'string' && f.length > 0 && f.length <= 128)) {
      problems.push({ path: 'functions', message: `must be a list of at most ${LIMITS.parallelismMax} names of 1 to 128 characters` });
    }
    if (
      agents !== undefined &&
      (!Array.isArray(agents) ||
        agents.length > WORKER_AGENTS_COUNT_MAX ||
        !agents.every((a) => typeof a === 'string' && a.length > 0 && a.length <= AGENT_NAME_CHARS_MAX))
    ) {
      problems.push({ path: 'agents', message: `must be a list of at most ${WORKER_AGENTS_COUNT_MAX} agent names of 1 to ${AGENT_NAME_CHARS_MAX} characters` });
    }
    if (problems.length > 0) return invalid(problems);
    const id = workerId as string;
    const fns = [...new Set(functions as string[])].sort();
    const ags = agents === undefined ? undefined : [...new Set(agents as string[])].sort();
    const w = this.s.workers.get(id);
    if (w && w.slots === slots && sameNames(w.functions, fns) && (w.agents === undefined ? ags === undefined : ags !== undefined && sameNames(w.agents, ags))) return undefined;
    this.emit({
      type: 'WorkerRegistered',
      at: this.now,
      workerId: id,
      slots: slots as number,
      functions: fns,
      ...(ags ? { agents: ags } : {}),
      lease: (w?.lease ?? 0) + 1,
    });
    this.jobsDirty = true;
    return undefined;
  }

  private execute(o: Order, wf: Workflow): void {
    const s = this.s;
    const at = jobAt(wf, o.position)!;
    const key = jobKey(o.workflow, at.name);
    if (at.job.admissionTimeScheme !== undefined) {
      if (this.noAdmissionOnOrderDay(o, at.job, wf)) {
        this.emit({ type: 'OrderMoved', at: this.now, orderId: o.id, to: nextPosition(o.position), skipped: 'no-admission-start' });
        return;
      }
      const a = this.admission(o, key, at.job, wf)!;
      if (!a.admitted) return this.awaitAdmission(o, key, a);
    }
    const parallelism = at.job.parallelism ?? 1;
    const job = s.jobs.get(key);
    if (s.running < s.slots && (job?.running ?? 0) < parallelism && s.jobsWaiting.size === 0) {
      const worker = pickWorker(s, at.job, this.preferredWorker);
      if (worker !== undefined) return this.startExecution(o, key, worker);
    }
    this.emit({ type: 'OrderJobQueued', at: this.now, orderId: o.id, job: key });
    this.jobsDirty = true;
  }

  private startExecution(o: Order, key: string, worker: WorkerState | null): void {
    const executionId = `${o.id}#${o.executions + 1}`;
    if (worker === null) this.emit({ type: 'OrderProcessingStarted', at: this.now, orderId: o.id, executionId, job: key });
    else {
      const attempt = (o.lostAttempts ?? 0) + 1;
      this.emit({ type: 'OrderProcessingStarted', at: this.now, orderId: o.id, executionId, job: key, worker: worker.id, lease: worker.lease, attempt });
    }
  }

  /** Starts waiting executions while worker slots are free: best (priority, arrival) among jobs with room. */
  private startExecutions(): void {
    const s = this.s;
    while (s.running < s.slots && s.jobsWaiting.size > 0) {
      let best: { orderId: string; priority: number; arrival: number } | undefined;
      let bestKey = '';
      let bestWorker: WorkerState | null = null;
      let closed: { o: Order; key: string; a: Admission } | undefined;
      for (const key of s.jobsWaiting) {
        const j = s.jobs.get(key)!;
        const head = j.queue.headEntry();
        if (!head) continue;
        const o = s.orders.get(head.orderId)!;
        const wf = workflowOf(s, o);
        const job = jobAt(wf, o.position)?.job;
        const parallelism = job?.parallelism ?? 1;
        if (j.running >= parallelism) continue;
        const a = job === undefined ? undefined : this.admission(o, key, job, wf);
        if (a !== undefined && !a.admitted) {
          // Its admission period ended while it waited for a slot: it waits for the next one.
          closed = { o, key, a };
          break;
        }
        if (!best || head.priority > best.priority || (head.priority === best.priority && head.arrival < best.arrival)) {
          // Only a job that a worker with a free slot can run now (else its orders wait for one).
          const worker = pickWorker(s, job, this.preferredWorker);
          if (worker === undefined) continue;
          best = head; // the queue's own entry: read here, before anything changes the queue
          bestKey = key;
          bestWorker = worker;
        }
      }
      if (closed) {
        this.emit({ type: 'OrderDequeued', at: this.now, orderId: closed.o.id });
        this.awaitAdmission(closed.o, closed.key, closed.a);
        continue;
      }
      if (!best) return;
      this.startExecution(s.orders.get(best.orderId)!, bestKey, bestWorker);
    }
  }

  private lock(o: Order, demands: readonly { lockName: string; count?: number; key?: string }[], waitTimeout: number | undefined): void {
    const s = this.s;
    const resolved: ResolvedDemand[] = [];
    for (const d of demands) {
      const fam = s.locks.get(d.lockName);
      if (!fam) throw new AssertionFailed(`deployed workflow ${o.workflow} demands unknown lock ${d.lockName}`);
      let key: string | undefined;
      if (fam.def.keyed) {
        key = d.key?.startsWith('$') ? o.arguments[d.key.slice(1)] : d.key;
        if (key === undefined || key === '') {
          return this.fail(o, { type: 'failed', reason: 'lock-key-missing', message: `no key for lock ${d.lockName}: argument ${d.key ?? '?'} missing` });
        }
      }
      const name = instanceName(d.lockName, key);
      if (demandedTwice(s, resolved, o, name)) {
        return this.fail(o, { type: 'failed', reason: 'lock-key-collision', message: `lock ${name} is demanded twice` });
      }
      if (d.count !== undefined && fam.def.limit > 0 && d.count > fam.def.limit) {
        return this.fail(o, {
          type: 'failed',
          reason: 'lock-demand-exceeds-limit',
          message: `demand ${d.count} exceeds limit ${fam.def.limit} of lock ${d.lockName}`,
        });
      }
      const r: ResolvedDemand = { lock: name, family: d.lockName };
      if (d.count !== undefined) r.count = d.count;
      resolved.push(r);
    }
    // A newcomer is granted at once only where nobody waits in front (fifo) or it fits (greedy).
    let now = true;
    for (const r of resolved) {
      const inst = s.instances.get(r.lock);
      const fam = s.locks.get(r.family)!;
      if (!inst ? fam.def.limit > 0 : fits(inst, r.count, fam.def.limit) && (fam.def.policy === 'greedy' || inst.queue.size === 0)) continue;
      now = false;
      break;
    }
    if (now) return this.grant(o, resolved);
    if (waitTimeout === 0) {
      return this.fail(o, { type: 'failed', reason: 'lock-wait-timeout', message: `lock ${resolved.map((r) => r.lock).join(', ')} not available (waitTimeout 0)` });
    }
    const e: Event = { type: 'OrderLocksQueued', at: this.now, orderId: o.id, demands: resolved };
    if (waitTimeout !== undefined) e.waitUntil = this.now + Math.round(waitTimeout * 1000);
    this.emit(e);
  }

  private grant(o: Order, demands: readonly ResolvedDemand[], implicit = o.waitingImplicit === true): void {
    const grants: Grant[] = [];
    for (let i = 0; i < demands.length; i++) {
      const d = demands[i]!;
      // Instances of one family share its fencing tokens: each grant takes the next.
      let token = this.s.locks.get(d.family)!.token + 1;
      for (let j = 0; j < i; j++) if (demands[j]!.family === d.family) token++;
      const g: Grant = { lock: d.lock, token };
      if (d.count !== undefined) g.count = d.count;
      grants.push(g);
    }
    const e: Event = { type: 'OrderLocksAcquired', at: this.now, orderId: o.id, grants };
    if (implicit) e.implicit = true;
    this.emit(e);
  }

  private canGrant(o: Order): boolean {
    const s = this.s;
    if (!o.demands) return false;
    for (const d of o.demands) {
      const inst = s.instances.get(d.lock);
      const fam = s.locks.get(d.family);
      if (!inst || !fam) return false;
      if (!fits(inst, d.count, fam.def.limit)) return false;
      if (fam.def.policy !== 'greedy' && inst.queue.head() !== o.id) return false;
    }
    return true;
  }

  private grantWaiters(lockName: string): void {
    const s = this.s;
    const inst = s.instances.get(lockName);
    if (!inst || inst.queue.size === 0) return;
    const fam = s.locks.get(inst.family);
    if (!fam || fam.def.limit === 0) return;
    if (fam.def.policy === 'greedy') {
      for (const id of inst.queue.inOrder()) {
        if (inst.exclusive !== undefined || inst.weight >= fam.def.limit) return;
        const o = s.orders.get(id)!;
        if (this.canGrant(o)) this.grant(o, o.demands!);
      }
      return;
    }
    for (;;) {
      const id = inst.queue.head();
      if (id === undefined) return;
      const o = s.orders.get(id)!;
      if (!this.canGrant(o)) return;
      this.grant(o, o.demands!);
    }
  }

  private retry(o: Order): void {
    const s = this.s;
    const wf = workflowOf(s, o);
    const c = ancestors(o.position).find((a) => a.branch.startsWith('catch+'));
    const t = c ? instructionAt(wf, c.at) : undefined;
    if (!c || t?.TYPE !== 'Try') {
      return this.fail(o, { type: 'failed', reason: 'retry-outside-catch', message: 'Retry outside a catch block' }, true);
    }
    const n = branchIteration(c.branch);
    if (t.maxTries !== undefined && n + 1 >= t.maxTries) {
      const outcome: Outcome = { type: 'failed', reason: 'retries-exhausted', message: `maxTries ${t.maxTries} reached` };
      if (o.outcome?.returnCode !== undefined) outcome.returnCode = o.outcome.returnCode;
      return this.fail(o, outcome);
    }
    const delays = t.retryDelays ?? [];
    const delay = delays.length === 0 ? 0 : (delays[Math.min(n, delays.length - 1)] ?? 0);
    const to: Position = [...c.at, `try+${n + 1}`, 0];
    this.releaseOutside(o, to);
    // Through a timer even without delay, so a Try that fails at once cannot spin inside one turn.
    this.emit({ type: 'OrderRetryScheduled', at: this.now, orderId: o.id, until: this.now + Math.round(delay * 1000), to });
  }

  /** Releases, innermost first, the lock blocks that do not enclose `target`. */
  private releaseOutside(o: Order, target: Position): void {
    for (;;) {
      const top = o.held[o.held.length - 1];
      if (!top || encloses(top.at, target)) return;
      this.emit({ type: 'OrderLocksReleased', at: this.now, orderId: o.id, locks: top.grants.map((g) => g.lock) });
    }
  }

  /** Semantics §6: catch, stop in place, or fail at the outermost Lock. */
  private fail(o: Order, outcome: Outcome, uncatchable = false): void {
    const wf = workflowOf(this.s, o);
    let stop: boolean | undefined;
    for (const a of ancestors(o.position)) {
      // A Fork's child: what encloses the Fork is its parent's.
      if (isForkBranch(a.branch)) break;
      if (a.branch.startsWith('try+') && !uncatchable && stop !== true) {
        const to: Position = [...a.at, `catch+${branchIteration(a.branch)}`, 0];
        this.releaseOutside(o, to);
        this.emit({ type: 'OrderCaught', at: this.now, orderId: o.id, outcome, to });
        return;
      }
      if (a.branch === 'options' && stop === undefined) {
        const opt = instructionAt(wf, a.at);
        if (opt?.TYPE === 'Options' && opt.stopOnFailure !== undefined) stop = opt.stopOnFailure;
      }
    }
    if (stop === true) {
      this.emit({ type: 'OrderStopped', at: this.now, orderId: o.id, outcome });
      return;
    }
    // The outermost Lock; the run lock of a blocking job config encloses everything: the start.
    const outer = o.held[0];
    const to = outer ? (outer.at.length > 0 ? outer.at : [0]) : o.position;
    this.releaseOutside(o, []);
    this.emit({ type: 'OrderFailed', at: this.now, orderId: o.id, outcome, to });
    if (o.parent !== undefined) this.tryJoin(o.parent); // joinIfFailed: the failed child ends its branch
  }
}
