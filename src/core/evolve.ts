// evolve(state, event): the only place state changes. Total and deterministic: the same
// events give the same state, live, on replay, in the simulator.
//
// Its checks build their message only when they fail (`if (!cond) throw`, not `assert(cond,
// `...`)`): a template's text would be made on every event otherwise.

import { AssertionFailed } from './commands.js';
import { encloses, innermostCycle, nextPosition, samePosition } from './positions.js';
import type { Event } from './events.js';
import type { Order } from './model.js';
import { executionOffWorker, executionOnWorker, workerRegistered, workerRemoved } from './workers.js';
import { dropIfIdle, familyOfInstance, FIRES_KEPT, getInstance, getJob, jobConfigLockName, jobConfigWorkflowName, keyOfInstance, type State } from './state.js';

function order(s: State, id: string): Order {
  const o = s.orders.get(id);
  if (!o) throw new AssertionFailed(`evolve: unknown order ${id}`);
  return o;
}

// Fields are set to undefined rather than deleted: `delete` turns the object into a slow
// dictionary in V8, and these run for every order on every step. JSON drops undefined, so
// snapshots and the replay comparison are unaffected.
function clearWait(o: Order): void {
  o.waitingFor = undefined;
  o.arrival = undefined;
  o.demands = undefined;
  o.waitUntil = undefined;
  o.waitingSince = undefined;
  o.waitingImplicit = undefined;
}

/** Takes the order out of every queue it stands in. */
function leaveQueues(s: State, o: Order): void {
  const w = o.waitingFor;
  if (w?.kind === 'locks' && o.demands) {
    for (const d of o.demands) {
      const inst = s.instances.get(d.lock);
      if (inst) {
        inst.queue.remove(o.id);
        dropIfIdle(s, inst);
      }
    }
  } else if (w?.kind === 'job') {
    const j = getJob(s, w.job);
    j.queue.remove(o.id);
    if (j.queue.size === 0) s.jobsWaiting.delete(w.job);
  }
}

function end(s: State, o: Order, at: number): void {
  o.endedAt = at;
  o.suspendPending = undefined;
  o.cancelPending = undefined;
  o.suspended = false;
  // A Fork's child leaves with the join, not by retention.
  if (o.parent === undefined) s.ended.add(o.id);
}

export function evolve(s: State, e: Event): void {
  // The events of every order's run first, in one small switch (a small function is optimized
  // early and again soon after a deoptimization); the others in evolveOther.
  switch (e.type) {
    case 'OrderProcessingStarted': {
      const o = order(s, e.orderId);
      if (o.waitingFor) leaveQueues(s, o);
      clearWait(o);
      o.state = 'processing';
      if (e.worker === undefined) o.execution = { id: e.executionId, job: e.job, startedAt: e.at };
      else {
        const w = s.workers.get(e.worker);
        if (!(w && w.running.size < w.slots)) throw new AssertionFailed(`evolve: execution ${e.executionId} given to worker ${e.worker} without a free slot`);
        // One literal in the common case (the fields in the same order as when built one by one).
        if (e.lease !== undefined && e.attempt !== undefined) o.execution = { id: e.executionId, job: e.job, startedAt: e.at, worker: e.worker, lease: e.lease, attempt: e.attempt };
        else {
          o.execution = { id: e.executionId, job: e.job, startedAt: e.at, worker: e.worker };
          if (e.lease !== undefined) o.execution.lease = e.lease;
          if (e.attempt !== undefined) o.execution.attempt = e.attempt;
        }
        executionOnWorker(s, o);
      }
      o.executions++;
      getJob(s, e.job).running++;
      s.running++;
      return;
    }
    case 'OrderProcessed': {
      const o = order(s, e.orderId);
      if (!(o.execution?.id === e.executionId)) throw new AssertionFailed(`evolve: ${o.id} processed a stale execution`);
      getJob(s, o.execution.job).running--;
      s.running--;
      executionOffWorker(s, o);
      o.execution = undefined;
      if (e.outcome.type === 'failed' && e.outcome.reason === 'disrupted') o.lostAttempts = (o.lostAttempts ?? 0) + 1;
      else o.lostAttempts = undefined;
      o.state = 'ready';
      o.outcome = e.outcome;
      // A job that succeeded is behind the order: it stands at the next instruction.
      if (e.outcome.type === 'succeeded') o.position = nextPosition(o.position);
      return;
    }
    case 'OrderLocksAcquired': {
      const o = order(s, e.orderId);
      const waited = o.waitingFor?.kind === 'locks';
      // fifo (the default): a waiter is granted only when first in line at every lock it
      // demands, and a newcomer only where nobody waits.
      for (const g of e.grants) {
        const inst = s.instances.get(g.lock);
        if (!inst || s.locks.get(inst.family)?.def.policy === 'greedy') continue;
        if (waited) {
          if (inst.queue.head() !== o.id) throw new AssertionFailed(`evolve: fifo grant of ${g.lock} to ${o.id}, not first in line`);
        } else if (inst.queue.size !== 0) throw new AssertionFailed(`evolve: fifo grant of ${g.lock} to newcomer ${o.id} past ${inst.queue.size} waiting`);
      }
      if (waited) leaveQueues(s, o);
      for (const g of e.grants) {
        const inst = s.instances.get(g.lock) ?? getInstance(s, g.lock, familyOfInstance(g.lock), keyOfInstance(g.lock));
        const fam = s.locks.get(inst.family);
        if (!fam) throw new AssertionFailed(`evolve: grant of unknown lock ${g.lock}`);
        if (!(g.token > fam.token)) throw new AssertionFailed(`evolve: fencing token of ${g.lock} went back`);
        if (!(fam.def.limit > 0)) throw new AssertionFailed(`evolve: grant of closed lock ${g.lock} (limit 0)`);
        fam.token = g.token;
        if (g.count === undefined) {
          if (!(inst.holders.size === 0)) throw new AssertionFailed(`evolve: exclusive grant of busy lock ${g.lock}`);
          inst.exclusive = o.id;
          inst.holders.set(o.id, { orderId: o.id, token: g.token, since: e.at });
        } else {
          if (!(inst.exclusive === undefined)) throw new AssertionFailed(`evolve: shared grant of exclusively held ${g.lock}`);
          inst.weight += g.count;
          if (!(inst.weight <= fam.def.limit)) throw new AssertionFailed(`evolve: ${g.lock} weight ${inst.weight} over its limit ${fam.def.limit}`);
          inst.holders.set(o.id, { orderId: o.id, count: g.count, token: g.token, since: e.at });
        }
      }
      if (e.implicit) {
        // Around the whole run: an empty position encloses every position.
        o.held.push({ at: [], grants: e.grants, since: e.at });
      } else {
        o.held.push({ at: o.position, grants: e.grants, since: e.at });
        o.position = [...o.position, 'lock', 0];
      }
      o.state = 'ready';
      clearWait(o);
      return;
    }
    case 'OrderLocksReleased': {
      const o = order(s, e.orderId);
      const top = o.held.pop();
      if (!(top && top.grants.length === e.locks.length)) throw new AssertionFailed(`evolve: release does not match the lock stack of ${o.id}`);
      for (const g of top.grants) {
        const inst = s.instances.get(g.lock);
        if (!(inst && inst.holders.get(o.id))) throw new AssertionFailed(`evolve: ${o.id} releases ${g.lock} it does not hold`);
        inst.holders.delete(o.id);
        if (g.count === undefined) inst.exclusive = undefined;
        else inst.weight -= g.count;
        dropIfIdle(s, inst);
      }
      return;
    }
    case 'OrderMoved': {
      const o = order(s, e.orderId);
      o.position = e.to;
      o.state = 'ready';
      clearWait(o);
      return;
    }
    case 'OrderAdded': {
      const scheduled = e.scheduledFor !== undefined && e.scheduledFor > e.at;
      const o: Order = {
        id: e.orderId,
        workflow: e.workflow,
        version: e.version,
        arguments: e.arguments,
        priority: e.priority,
        addedAt: e.at,
        position: [0],
        state: scheduled ? 'scheduled' : 'ready',
        suspended: false,
        held: [],
        executions: 0,
      };
      if (e.scheduledFor !== undefined) o.scheduledFor = e.scheduledFor;
      if (e.jobConfig !== undefined) o.jobConfig = e.jobConfig;
      if (e.serialized) o.serialized = true;
      if (e.addedBy !== undefined) o.addedBy = e.addedBy;
      if (e.deleteWhenTerminated) o.deleteWhenTerminated = true;
      if (scheduled) {
        o.arrival = s.arrival++;
        s.timers.push({ at: e.scheduledFor!, orderId: o.id, kind: 'scheduled' });
      }
      s.orders.set(o.id, o);
      return;
    }
    case 'OrderFinished': {
      const o = order(s, e.orderId);
      if (!(o.held.length === 0)) throw new AssertionFailed(`evolve: ${o.id} finished holding locks`);
      o.state = 'finished';
      o.outcome = e.outcome;
      end(s, o, e.at);
      return;
    }
    case 'OrderDeleted':
      s.orders.delete(e.orderId);
      s.ended.delete(e.orderId);
      return;
    case 'OrderLocksQueued': {
      const o = order(s, e.orderId);
      o.state = 'waiting';
      o.waitingFor = { kind: 'locks', locks: e.demands.map((d) => d.lock) };
      o.demands = e.demands;
      o.arrival = s.arrival++;
      o.waitingSince = e.at;
      if (e.implicit) o.waitingImplicit = true;
      if (e.waitUntil !== undefined) {
        o.waitUntil = e.waitUntil;
        s.timers.push({ at: e.waitUntil, orderId: o.id, kind: 'lockWait' });
      }
      for (const d of e.demands) getInstance(s, d.lock, d.family, keyOfInstance(d.lock)).queue.add(o.id, o.priority, o.arrival);
      return;
    }
    case 'OrderJobQueued': {
      const o = order(s, e.orderId);
      o.state = 'waiting';
      o.waitingFor = { kind: 'job', job: e.job };
      o.arrival = s.arrival++;
      o.waitingSince = e.at;
      getJob(s, e.job).queue.add(o.id, o.priority, o.arrival);
      s.jobsWaiting.add(e.job);
      return;
    }
    case 'OrderDequeued': {
      const o = order(s, e.orderId);
      leaveQueues(s, o);
      clearWait(o);
      o.state = 'ready';
      return;
    }
    default:
      evolveOther(s, e);
      return;
  }
}

function evolveOther(s: State, e: Event): void {
  switch (e.type) {
    case 'LockDeployed': {
      const old = s.locks.get(e.lock.name);
      s.locks.set(e.lock.name, { def: e.lock, token: old?.token ?? s.retiredTokens.get(e.lock.name) ?? 0 });
      s.retiredTokens.delete(e.lock.name);
      if (!e.lock.keyed) getInstance(s, e.lock.name, e.lock.name);
      return;
    }
    case 'LockDeleted': {
      const fam = s.locks.get(e.name);
      if (fam && fam.token > 0) s.retiredTokens.set(e.name, fam.token);
      s.locks.delete(e.name);
      s.instances.delete(e.name);
      return;
    }
    case 'WorkflowDeployed': {
      let w = s.workflows.get(e.workflow.name);
      if (!w) {
        w = { latest: e.version, versions: new Map() };
        s.workflows.set(e.workflow.name, w);
      }
      w.versions.set(e.version, e.workflow);
      w.latest = e.version;
      return;
    }
    case 'JobResourceDeployed':
      s.jobResources.set(e.jobResource.name, e.jobResource);
      return;
    case 'SlotsSet':
      s.slots = e.slots;
      return;
    case 'LockTokensAdvanced':
      if (e.by > 0) {
        for (const fam of s.locks.values()) fam.token += e.by;
        for (const [name, token] of s.retiredTokens) s.retiredTokens.set(name, token + e.by);
      }
      s.tokenHeadroom = e.headroom;
      return;
    case 'WorkerRegistered':
      workerRegistered(s, e);
      return;
    case 'WorkerLost':
      if (!(s.workers.get(e.workerId)?.running.size === 0)) throw new AssertionFailed(`evolve: worker ${e.workerId} lost with executions left`);
      workerRemoved(s, e.workerId);
      return;
    case 'OrderAdmissionWaitStarted': {
      const o = order(s, e.orderId);
      o.state = 'waiting';
      o.waitingFor = e.until === undefined ? { kind: 'admission', job: e.job } : { kind: 'admission', job: e.job, until: e.until };
      o.arrival = s.arrival++;
      o.waitingSince = e.at;
      if (e.until !== undefined) s.timers.push({ at: e.until, orderId: o.id, kind: 'admission' });
      return;
    }
    case 'OrderCaught': {
      const o = order(s, e.orderId);
      o.position = e.to;
      o.state = 'ready';
      o.outcome = e.outcome;
      return;
    }
    case 'OrderRetryScheduled': {
      const o = order(s, e.orderId);
      o.position = e.to;
      o.state = 'waiting';
      o.waitingFor = { kind: 'retry', until: e.until };
      o.waitingSince = e.at;
      s.timers.push({ at: e.until, orderId: o.id, kind: 'retry' });
      return;
    }
    case 'OrderFailed': {
      const o = order(s, e.orderId);
      o.position = e.to;
      o.state = 'failed';
      o.outcome = e.outcome;
      o.suspendPending = undefined;
      return;
    }
    case 'OrderStopped': {
      const o = order(s, e.orderId);
      o.state = 'stopped';
      o.outcome = e.outcome;
      o.suspendPending = undefined;
      return;
    }
    case 'OrderSleepStarted': {
      const o = order(s, e.orderId);
      o.state = 'waiting';
      o.waitingFor = { kind: 'time', until: e.until };
      o.waitingSince = e.at;
      s.timers.push({ at: e.until, orderId: o.id, kind: 'retry' });
      return;
    }
    case 'OrderPrompted': {
      const o = order(s, e.orderId);
      o.state = 'prompting';
      o.prompt = e.question;
      o.waitingSince = e.at;
      return;
    }
    case 'OrderPromptAnswered': {
      const o = order(s, e.orderId);
      o.state = 'ready';
      o.prompt = undefined;
      o.waitingSince = undefined;
      o.position = nextPosition(o.position);
      return;
    }
    case 'OrderForked': {
      const o = order(s, e.orderId);
      o.state = 'forked';
      o.children = e.children.map((c) => c.orderId);
      o.waitingSince = e.at;
      for (const c of e.children) {
        s.orders.set(c.orderId, {
          id: c.orderId,
          workflow: o.workflow,
          version: o.version,
          arguments: c.arguments ? { ...o.arguments, ...c.arguments } : { ...o.arguments },
          priority: o.priority,
          addedAt: e.at,
          position: [...o.position, c.branch === undefined ? 'fork' : `fork+${c.branch}`, 0],
          state: 'ready',
          suspended: false,
          held: [],
          executions: 0,
          parent: o.id,
        });
      }
      return;
    }
    case 'OrderJoined': {
      const o = order(s, e.orderId);
      for (const id of o.children ?? []) {
        const c = s.orders.get(id);
        if (!(c && c.held.length === 0 && c.state !== 'processing')) throw new AssertionFailed(`evolve: ${o.id} joins child ${id} that holds locks or runs`);
        s.orders.delete(id);
        s.ended.delete(id);
      }
      o.children = undefined;
      o.waitingSince = undefined;
      o.state = 'ready';
      o.outcome = e.outcome;
      if (e.arguments) o.arguments = { ...o.arguments, ...e.arguments };
      if (e.outcome.type === 'succeeded') o.position = nextPosition(o.position);
      return;
    }
    case 'OrderCyclingPrepared':
    case 'OrderCycleFinished': {
      const o = order(s, e.orderId);
      // Between cycles the order stands at the Cycle; in a cycle, inside its block.
      const at = e.type === 'OrderCyclingPrepared' ? e.cycle.at : o.waitingFor?.kind === 'cycle' ? o.position : innermostCycle(o.position);
      if (!at) throw new AssertionFailed(`evolve: ${o.id} finishes a cycle outside a Cycle`);
      // The Cycles around this one stay; this one's state is replaced (or dropped at its end).
      const outer = (o.cycles ?? []).filter((c) => encloses(c.at, at));
      clearWait(o);
      if (e.cycle) {
        outer.push({ ...e.cycle, at: [...e.cycle.at] });
        o.position = at;
        o.state = 'waiting';
        o.waitingFor = { kind: 'cycle', until: e.cycle.next };
        o.waitingSince = e.at;
        s.timers.push({ at: e.cycle.next, orderId: o.id, kind: 'retry' });
      } else {
        o.position = nextPosition(at);
        o.state = 'ready';
      }
      o.cycles = outer.length > 0 ? outer : undefined;
      return;
    }
    case 'OrderCycleStarted': {
      const o = order(s, e.orderId);
      const cs = o.cycles?.[o.cycles.length - 1];
      if (!(cs && samePosition(cs.at, o.position))) throw new AssertionFailed(`evolve: ${o.id} starts a cycle it does not wait for`);
      clearWait(o);
      o.state = 'ready';
      o.position = [...o.position, 'cycle', 0];
      return;
    }
    case 'NoticeBoardDeployed': {
      const old = s.boards.get(e.board.name);
      s.boards.set(e.board.name, { def: e.board, notices: old?.notices ?? new Map() });
      return;
    }
    case 'NoticePosted': {
      const b = s.boards.get(e.board);
      if (!b) throw new AssertionFailed(`evolve: unknown notice board ${e.board}`);
      b.notices.set(e.noticeId, e.endOfLife);
      return;
    }
    case 'NoticeDeleted':
      s.boards.get(e.board)?.notices.delete(e.noticeId);
      return;
    case 'OrderNoticesExpected': {
      const o = order(s, e.orderId);
      clearWait(o);
      o.state = 'waiting';
      o.waitingFor = { kind: 'notice', notices: [...e.notices] };
      o.waitingSince = e.at;
      return;
    }
    case 'OrderNoticesReceived': {
      const o = order(s, e.orderId);
      clearWait(o);
      o.state = 'ready';
      o.position = nextPosition(o.position);
      return;
    }
    case 'OrderNoticesConsumptionStarted': {
      const o = order(s, e.orderId);
      clearWait(o);
      o.state = 'ready';
      o.position = [...o.position, 'consumeNotices', 0];
      return;
    }
    case 'OrderNoticesConsumed': {
      const o = order(s, e.orderId);
      const p = o.position;
      if (!(p[p.length - 2] === 'consumeNotices')) throw new AssertionFailed(`evolve: ${o.id} is not in a ConsumeNotices block`);
      o.position = nextPosition(p.slice(0, -2));
      o.state = 'ready';
      return;
    }
    case 'OrderCancelMarked':
      order(s, e.orderId).cancelPending = { kill: e.kill };
      return;
    case 'OrderCancelled': {
      const o = order(s, e.orderId);
      if (!(o.held.length === 0)) throw new AssertionFailed(`evolve: ${o.id} cancelled holding locks`);
      if (!(o.state !== 'processing')) throw new AssertionFailed(`evolve: ${o.id} cancelled while processing`);
      if (o.waitingFor) leaveQueues(s, o);
      clearWait(o);
      o.prompt = undefined;
      o.state = 'cancelled';
      end(s, o, e.at);
      return;
    }
    case 'OrderSuspendMarked':
      order(s, e.orderId).suspendPending = true;
      return;
    case 'OrderSuspended': {
      const o = order(s, e.orderId);
      o.suspended = true;
      o.suspendPending = undefined;
      return;
    }
    case 'OrderResumed': {
      const o = order(s, e.orderId);
      o.suspended = false;
      o.suspendPending = undefined;
      if (o.state === 'failed' || o.state === 'stopped') o.state = 'ready';
      if (e.to) o.position = e.to;
      return;
    }
    case 'OrderPriorityChanged': {
      const o = order(s, e.orderId);
      o.priority = e.priority;
      const w = o.waitingFor;
      if (w?.kind === 'locks' && o.demands) {
        for (const d of o.demands) s.instances.get(d.lock)?.queue.add(o.id, o.priority, o.arrival ?? 0);
      } else if (w?.kind === 'job') {
        getJob(s, w.job).queue.add(o.id, o.priority, o.arrival ?? 0);
      }
      return;
    }
    case 'JobTemplateSaved':
      s.jobTemplates.set(e.template.id, e.template);
      return;
    case 'JobTemplateDeleted':
      s.jobTemplates.delete(e.id);
      return;
    case 'JobConfigSaved': {
      const old = s.jobConfigs.get(e.jobConfig.id);
      const same = old !== undefined && JSON.stringify(old.def.schedule) === JSON.stringify(e.jobConfig.schedule) && old.def.active === e.jobConfig.active;
      s.jobConfigs.set(e.jobConfig.id, {
        def: e.jobConfig,
        fires: old?.fires ?? [],
        ...(old?.lastFireAt !== undefined ? { lastFireAt: old.lastFireAt } : {}),
        scheduleSince: same ? (old.scheduleSince ?? old.def.modified) : e.at,
        ...(old?.aliases !== undefined ? { aliases: old.aliases } : {}),
      });
      const name = jobConfigLockName(e.jobConfig.id);
      const fam = s.locks.get(name);
      const def = { name, limit: 1, title: `runs of job config ${e.jobConfig.name}` };
      s.locks.set(name, { def, token: fam?.token ?? s.retiredTokens.get(name) ?? 0, jobConfig: e.jobConfig.id });
      s.retiredTokens.delete(name);
      getInstance(s, name, name);
      if (e.jobConfig.command === undefined) dropGeneratedWorkflow(s, e.jobConfig.id);
      return;
    }
    case 'JobConfigDeleted': {
      s.jobConfigs.delete(e.id);
      dropGeneratedWorkflow(s, e.id);
      const name = jobConfigLockName(e.id);
      const fam = s.locks.get(name);
      if (fam && fam.token > 0) s.retiredTokens.set(name, fam.token);
      s.locks.delete(name);
      s.instances.delete(name);
      return;
    }
    case 'JobConfigAliasSet': {
      const c = s.jobConfigs.get(e.jobConfig);
      if (!c) throw new AssertionFailed(`evolve: alias of unknown job config ${e.jobConfig}`);
      const rest = (c.aliases ?? []).filter((a) => a.name !== e.alias.name);
      c.aliases = [...rest, e.alias];
      return;
    }
    case 'JobConfigAliasDeleted': {
      const c = s.jobConfigs.get(e.jobConfig);
      if (!c) throw new AssertionFailed(`evolve: alias of unknown job config ${e.jobConfig}`);
      const rest = (c.aliases ?? []).filter((a) => a.name !== e.name);
      if (rest.length > 0) c.aliases = rest;
      else delete c.aliases;
      return;
    }
    case 'ScheduleFired':
    case 'ScheduleFireSkipped': {
      const c = s.jobConfigs.get(e.jobConfig);
      if (!c) throw new AssertionFailed(`evolve: fire of unknown job config ${e.jobConfig}`);
      c.lastFireAt = Math.max(c.lastFireAt ?? e.fireAt, e.fireAt);
      if (e.type === 'ScheduleFired') c.fires.push({ fireAt: e.fireAt, orderId: e.orderId });
      else c.fires.push(e.count === undefined ? { fireAt: e.fireAt, skipped: e.reason } : { fireAt: e.fireAt, skipped: e.reason, count: e.count });
      if (c.fires.length > FIRES_KEPT) c.fires.splice(0, c.fires.length - FIRES_KEPT);
      return;
    }
  }
}

/** A job config's generated workflow goes with its command, once no run that has not ended uses it. */
function dropGeneratedWorkflow(s: State, id: string): void {
  const name = jobConfigWorkflowName(id);
  if (!s.workflows.has(name)) return;
  for (const o of s.orders.values()) if (o.workflow === name && o.endedAt === undefined) return;
  s.workflows.delete(name);
}
