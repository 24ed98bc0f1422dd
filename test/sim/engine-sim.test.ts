// The engine simulated: the real engine loop over a fault-injecting store (slow, failing and
// torn appends), with fake executors, fake timers and a clock of the test's own, and a second
// worker that comes and goes (worker loss). Seeded; a failure prints its seed.
//
// Invariants, checked after every step:
// - readers never see an uncommitted event: every order readers see was added in the journal,
//   and the readers' seq never passes the journal's end; when the engine is idle and caught
//   up, what readers see equals the state the journal describes;
// - the core's invariants (test/sim/invariants.ts) on what readers see;
// - every caller is settled: at the end, once faults heal, no submitted command is left pending;
// - job configs (§5, §8) on the journal as it grows (JobConfigChecker): a blocking job config
//   whose `blocking` is toggled while runs are active and queued, its schedule fired by the
//   runtime's Scheduler on the fake clock (also after the clock jumps minutes ahead, as after
//   downtime); at the end every fire time since the job config was saved is recorded once.

import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/core/commands.js';
import type { Event } from '../../src/core/events.js';
import type { Outcome, Workflow } from '../../src/core/model.js';
import { familyOfInstance, serializeState } from '../../src/core/state.js';
import type { Dispatch, Dispatcher, WorkerOffer } from '../../src/runtime/dispatcher.js';
import { Engine, loadState, type Timers } from '../../src/runtime/engine.js';
import type { ExecutionResult, RunningExecution } from '../../src/runtime/executor-types.js';
import { FaultStore } from '../support/fault-store.js';
import { Scheduler } from '../../src/runtime/scheduler.js';
import { fireTimesBetween } from '../../src/schedule/cron.js';
import type { Schedule } from '../../src/core/model.js';
import { emptyState } from '../../src/core/state.js';
import { evolve } from '../../src/core/evolve.js';
import { checkState, firstDifference, JobConfigChecker } from './invariants.js';
import { Rng } from './rng.js';

const LOCAL = 'w1';
const REMOTE = 'w2';

const WORKFLOWS: Workflow[] = [
  {
    name: 'serial',
    instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'L' }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } }],
    jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'f' }, parallelism: 10 } },
  },
  {
    name: 'shared',
    instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'S', count: 1 }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } }],
    jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'f' }, parallelism: 10, restartable: true } },
  },
];

class FakeTimers implements Timers {
  private next = 1;
  readonly due = new Map<number, { at: number; f: () => void }>();
  constructor(private readonly now: () => number) {}
  setTimeout(f: () => void, ms: number): unknown {
    const h = this.next++;
    this.due.set(h, { at: this.now() + ms, f });
    return h;
  }
  clearTimeout(h: unknown): void {
    this.due.delete(h as number);
  }
  fire(): void {
    for (const [h, t] of [...this.due]) {
      if (t.at > this.now()) continue;
      this.due.delete(h);
      t.f();
    }
  }
}

const result = (outcome: Outcome): ExecutionResult => ({ outcome, stdout: '', stderr: '', stdoutDroppedBytes: 0, stderrDroppedBytes: 0 });

/** Runs executions of the local worker until the simulation ends them. */
class FakeDispatcher implements Dispatcher {
  readonly running = new Map<string, { orderId: string; locks: Dispatch['locks']; end: (o: Outcome) => void }>();
  /** Every fencing token a job was shown, by lock: the order it was shown to. */
  readonly shown = new Map<string, string>();
  /** Problems seen at a start: a token shown to two orders. */
  readonly problems: string[] = [];
  localWorkers(): readonly WorkerOffer[] {
    return [{ id: LOCAL, slots: 2, functions: ['f'] }];
  }
  onOfferChanged(): void {}
  close(): void {}
  dispatch(d: Dispatch): RunningExecution | undefined {
    if (d.worker !== LOCAL) return undefined;
    for (const g of d.locks) {
      const key = `${familyOfInstance(g.lock)}#${g.token}`;
      const before = this.shown.get(key);
      if (before !== undefined && before !== d.orderId) this.problems.push(`token ${g.token} of ${g.lock} shown to ${before} and to ${d.orderId}`);
      this.shown.set(key, d.orderId);
    }
    let end!: (o: Outcome) => void;
    const done = new Promise<ExecutionResult>((resolve) => (end = (o) => resolve(result(o))));
    this.running.set(d.executionId, {
      orderId: d.orderId,
      locks: d.locks,
      end: (o) => {
        this.running.delete(d.executionId);
        end(o);
      },
    });
    return { kill: () => this.running.get(d.executionId)?.end({ type: 'failed', reason: 'killed' }), done };
  }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Lock limits of the simulation (the job config's run lock is exclusive). */
const LIMIT: Record<string, number> = { L: 1, S: 2 };

/** What runs now keeps every lock's rule: an exclusive holder alone, shared weights within the limit. */
function runningProblems(d: FakeDispatcher): string[] {
  const byLock = new Map<string, { exclusive: number; weight: number; holders: number }>();
  for (const r of d.running.values()) {
    for (const g of r.locks) {
      const h = byLock.get(g.lock) ?? { exclusive: 0, weight: 0, holders: 0 };
      h.holders++;
      if (g.count === undefined) h.exclusive++;
      else h.weight += g.count;
      byLock.set(g.lock, h);
    }
  }
  const problems: string[] = [];
  for (const [lock, h] of byLock) {
    if (h.exclusive > 0 && h.holders > 1) problems.push(`${h.holders} running jobs hold ${lock}, one of them exclusively`);
    if (h.weight > (LIMIT[lock] ?? 1)) problems.push(`running jobs hold ${lock} with weight ${h.weight}`);
  }
  return problems;
}

async function simulate(seed: number, steps: number, earlyStarts = false): Promise<void> {
  const rng = new Rng(seed);
  let now = 1_800_000_000_000;
  const timers = new FakeTimers(() => now);
  const store = new FaultStore();
  const dispatcher = new FakeDispatcher();
  const engine = await Engine.open({ store, scriptDir: tmpdir(), clock: () => now, timers, dispatcher, slots: 4, retryMinMs: 10, retryMaxMs: 40, earlyStarts });
  const fail = (msg: string): never => {
    throw new Error(`seed ${seed}${earlyStarts ? ' (early starts)' : ''}: ${msg}`);
  };
  const calls: { cmd: Command; settled: boolean }[] = [];
  const submit = (cmd: Command): void => {
    const c = { cmd, settled: false };
    calls.push(c);
    engine.submit(cmd).then(
      () => (c.settled = true),
      () => (c.settled = true),
    );
  };
  // With early starts, the serial workflow's job is restartable too: early starts through an exclusive lock.
  const workflows = earlyStarts ? WORKFLOWS.map((w) => ({ ...w, jobs: { j: { ...w.jobs!.j!, restartable: true } } })) : WORKFLOWS;
  submit({ type: 'deploy', locks: [{ name: 'L', limit: 1 }, { name: 'S', limit: 2 }], workflows });
  // A job config on the shared workflow, blocking to start with, fired every second into a bounded queue.
  const schedule: Schedule = { type: 'interval', intervalSeconds: 1, overlap: 'queue', queueLimit: 2, catchUp: rng.pick(['none', 'latest', 'all']) };
  let blocking = true;
  const jobConfig = () => ({ id: 'jc', name: 'Job', workflow: 'shared', active: true, blocking, schedule });
  submit({ type: 'saveJobConfig', jobConfig: jobConfig() });
  const scheduler = new Scheduler(engine, () => now, false);
  let runs = 0;
  let n = 0;
  let remoteRegistered = false;
  // What the journal holds, read on as it grows.
  const journal: Event[] = [];
  const addedInJournal = new Set<string>();
  const tokens = new Map<string, number>();
  // The job config invariants, on a state evolved from the journal event by event.
  const jc = new JobConfigChecker();
  const mirror = emptyState();
  const readJournal = async (): Promise<void> => {
    const problems: string[] = [];
    for (const s of await store.inner.readAfter(journal.length, 100_000)) {
      journal.push(s.event);
      if (s.event.type === 'OrderAdded') addedInJournal.add(s.event.orderId);
      // The last token per lock family: of its last grant, moved on by every advance since.
      if (s.event.type === 'OrderLocksAcquired') for (const g of s.event.grants) tokens.set(familyOfInstance(g.lock), g.token);
      if (s.event.type === 'LockTokensAdvanced') for (const name of [...mirror.locks.keys(), ...mirror.retiredTokens.keys()]) tokens.set(name, (tokens.get(name) ?? 0) + s.event.by);
      problems.push(...jc.event(mirror, s.event));
      evolve(mirror, s.event);
    }
    problems.push(...jc.afterStep(mirror));
    if (problems.length > 0) fail(`job configs: ${problems.join('\n')}`);
  };
  const check = async (step: number): Promise<void> => {
    // What readers see now, before anything else runs (a commit may complete while we read the journal).
    const seen = engine.state;
    const seenText = serializeState(seen);
    const seenSeq = seen.seq;
    const seenIds = [...seen.orders.keys()];
    const running = engine.mode === 'running';
    const jobs = [...runningProblems(dispatcher), ...dispatcher.problems];
    if (jobs.length > 0) fail(`step ${step}: ${jobs.join('\n')}`);
    await readJournal();
    if (seenSeq > journal.length) fail(`step ${step}: readers at seq ${seenSeq}, the journal ends at ${journal.length}`);
    for (const id of seenIds) if (!addedInJournal.has(id)) fail(`step ${step}: readers see order ${id}, not in the journal`);
    if (running && seenSeq === journal.length) {
      if (seen.seq === seenSeq) {
        const problems = checkState(seen, { now, grandfathered: new Set(), tokens });
        if (problems.length > 0) fail(`step ${step}: ${problems.join('\n')}`);
      }
      const fromJournal = await loadState(store.inner);
      const a = serializeState(fromJournal);
      if (fromJournal.seq === seenSeq && a !== seenText) fail(`step ${step}: readers' state differs from the journal's: ${firstDifference(a, seenText)}`);
    }
  };

  for (let step = 0; step < steps; step++) {
    const r = rng.float();
    if (rng.bool(0.15)) {
      // Job configs: a run, `blocking` toggled (while runs are active and queued), the scheduler's timer.
      const k = rng.float();
      if (k < 0.3) submit({ type: 'runJobConfig', id: 'jc', orderId: `r${runs++}` });
      else if (k < 0.5) {
        blocking = !blocking;
        submit({ type: 'saveJobConfig', jobConfig: jobConfig() });
      } else {
        // Down for minutes (nothing polled meanwhile; over 1,000 fires give a summary record), or the next fires come due.
        now += k > 0.95 ? rng.int(60_000, 1_500_000) : rng.int(100, 2500);
        timers.fire();
        void scheduler.poll();
      }
    } else if (r < 0.3) submit({ type: 'addOrder', orderId: `o${n++}`, workflow: rng.bool() ? 'serial' : 'shared', priority: rng.int(0, 2) });
    else if (r < 0.45) {
      const runs = [...dispatcher.running.values()];
      if (runs.length > 0) runs[rng.int(0, runs.length - 1)]!.end(rng.bool(0.8) ? { type: 'succeeded', returnCode: 0 } : { type: 'failed', reason: 'returnCode', returnCode: 1 });
    } else if (r < 0.55) {
      // The remote worker reports a result (a command), for one of its executions.
      const mine = [...engine.state.orders.values()].filter((o) => o.execution?.worker === REMOTE);
      const o = mine[rng.int(0, Math.max(0, mine.length - 1))];
      if (o?.execution) submit({ type: 'jobFinished', orderId: o.id, executionId: o.execution.id, outcome: { type: 'succeeded', returnCode: 0 } });
    } else if (r < 0.62) {
      if (remoteRegistered) submit({ type: 'workerLost', workerId: REMOTE });
      else submit({ type: 'registerWorker', workerId: REMOTE, slots: rng.int(1, 3), functions: ['f'] });
      remoteRegistered = !remoteRegistered;
    } else if (r < 0.67) {
      const ids = [...engine.state.orders.keys()];
      if (ids.length > 0) submit({ type: 'cancelOrder', orderId: ids[rng.int(0, ids.length - 1)]!, kill: rng.bool() });
    } else if (r < 0.72) store.hold();
    else if (r < 0.8) store.release();
    else if (r < 0.84) store.failNext(rng.int(1, 3));
    else if (r < 0.87) store.tearNext(1);
    else if (r < 0.89) store.failWrites();
    else if (r < 0.93) store.heal();
    else {
      now += rng.int(1, 60);
      timers.fire();
    }
    for (let i = rng.int(0, 3); i > 0; i--) await turn();
    await check(step);
  }

  // Faults heal; everything runs out; every caller is settled.
  store.heal();
  store.release();
  store.failNext(0);
  store.tearNext(0);
  for (let i = 0; i < 20_000 && (calls.some((c) => !c.settled) || engine.mode !== 'running'); i++) {
    for (const run of [...dispatcher.running.values()]) run.end({ type: 'succeeded', returnCode: 0 });
    now += 50;
    timers.fire();
    await turn();
  }
  // The last fires, then every fire time since the save is recorded once (fired, skipped or counted).
  await scheduler.poll(); // one may still be under way from before (with the faults): then once more
  await scheduler.poll();
  await engine.whenIdle();
  await readJournal();
  const open = calls.filter((c) => !c.settled);
  if (open.length > 0) fail(`${open.length} callers never settled, e.g. ${JSON.stringify(open[0]!.cmd).slice(0, 200)}`);
  if (engine.mode !== 'running') fail(`engine ended ${engine.mode}: ${String(engine.cause)}`);
  await engine.whenIdle();
  // Everything committed: no grant is counted as ahead of the journal (early starts go on).
  const ahead = (engine as unknown as { earlyGrants: number }).earlyGrants;
  if (ahead !== 0) fail(`${ahead} grants still counted ahead of the journal`);
  await check(steps);
  // Every save of the job config may have met a failing store (its callers got the error): then nothing fired.
  const saved = journal.find((e) => e.type === 'JobConfigSaved');
  let recorded = 0;
  let lastFire = -Infinity;
  for (const e of journal) {
    if (e.type !== 'ScheduleFired' && e.type !== 'ScheduleFireSkipped') continue;
    recorded += e.type === 'ScheduleFireSkipped' ? (e.count ?? 1) : 1;
    lastFire = Math.max(lastFire, e.fireAt);
  }
  const lastDue = saved ? fireTimesBetween(schedule, saved.at, now, 1).times[0] : undefined;
  if (lastDue !== lastFire && !(lastDue === undefined && recorded === 0)) fail(`the last fire handled is ${lastFire}, the last due ${String(lastDue)}`);
  const due = saved && lastDue !== undefined ? fireTimesBetween(schedule, saved.at, lastDue, 0).more : 0;
  if (recorded !== due) fail(`${due} fire times since the job config was saved, ${recorded} recorded`);
  scheduler.stop();
  await engine.close();
}

describe('engine simulation (fault-injecting store, fake executors and timers, worker loss)', () => {
  const seeds = Number(process.env.ENGINE_SIM_SEEDS ?? 12);
  for (let seed = 1; seed <= seeds; seed++) {
    it(`seed ${seed}`, async () => {
      await expect(simulate(seed, 250)).resolves.toBeUndefined();
    });
  }
});

// Early starts: restartable jobs (the shared workflow's) start before their commit; a failed or
// torn commit kills them and they run again. What runs never breaks a lock's rule, and no token
// is shown to two orders.
describe('engine simulation with early starts', () => {
  const seeds = Number(process.env.ENGINE_SIM_SEEDS ?? 12);
  for (let seed = 1; seed <= seeds; seed++) {
    it(`seed ${seed}`, async () => {
      await expect(simulate(seed, 250, true)).resolves.toBeUndefined();
    });
  }
});
