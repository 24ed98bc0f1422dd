// Properties of the lock table, driven through the core (decide), and of WaitQueue against
// a plain sorted array. Each order runs one workflow `Lock {demands} { job }`; slots and job
// parallelism are large, so an order that gets its locks runs its job at once and
// "release" = its job ends.

import fc from 'fast-check';
import { describe, it } from 'vitest';

import type { Command } from '../../src/core/commands.js';
import { decide } from '../../src/core/decide.js';
import type { Event } from '../../src/core/events.js';
import { evolve } from '../../src/core/evolve.js';
import type { Demand, LockDef, Order, QueuePolicy, Workflow } from '../../src/core/model.js';
import { WaitQueue } from '../../src/core/queue.js';
import { emptyState, type State } from '../../src/core/state.js';
import { checkEvent, fitsSpec, grantableNow, lineOrder } from './invariants.js';

const RUNS = Number(process.env['PROP_RUNS'] ?? 200);

interface LockSpec {
  limit: number;
  policy: QueuePolicy;
}

type Op =
  | { t: 'acquire'; set: number; priority: number }
  | { t: 'release'; pick: number }
  | { t: 'cancel'; pick: number }
  | { t: 'priority'; pick: number; priority: number };

const arbPriority = fc.integer({ min: -1, max: 2 });
function arbOps(weights: { acquire: number; release: number; cancel: number; priority: number }, maxLength: number): fc.Arbitrary<Op[]> {
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: weights.acquire, arbitrary: fc.record({ t: fc.constant('acquire' as const), set: fc.nat(), priority: arbPriority }) },
    { weight: weights.release, arbitrary: fc.record({ t: fc.constant('release' as const), pick: fc.nat() }) },
    { weight: weights.cancel, arbitrary: fc.record({ t: fc.constant('cancel' as const), pick: fc.nat() }) },
    { weight: weights.priority, arbitrary: fc.record({ t: fc.constant('priority' as const), pick: fc.nat(), priority: arbPriority }) },
  );
  // size 'max': long sequences (fast-check keeps arrays short by default), so lines build up.
  return fc.array(op, { minLength: 5, maxLength, size: 'max' });
}
const MIXED = { acquire: 5, release: 3, cancel: 1, priority: 2 };

/** Locks with random limits and policies, and demand sets over them (1..3 locks, exclusive or count ≤ limit). */
function arbWorld(policy?: QueuePolicy): fc.Arbitrary<{ locks: LockSpec[]; sets: Demand[][] }> {
  const arbLock = fc.record({ limit: fc.integer({ min: 1, max: 4 }), policy: policy ? fc.constant(policy) : fc.constantFrom<QueuePolicy>('fifo', 'greedy') });
  return fc.array(arbLock, { minLength: 1, maxLength: 3 }).chain((locks) => {
    const arbSet = fc
      .uniqueArray(fc.integer({ min: 0, max: locks.length - 1 }), { minLength: 1, maxLength: 3 })
      .chain((idx) =>
        fc.tuple(
          ...idx.map((i) =>
            fc.option(fc.integer({ min: 1, max: locks[i]!.limit }), { nil: undefined }).map((count): Demand => (count === undefined ? { lockName: `L${i}` } : { lockName: `L${i}`, count })),
          ),
        ),
      );
    return fc.record({ locks: fc.constant(locks), sets: fc.array(arbSet, { minLength: 1, maxLength: 4 }) });
  });
}

class Table {
  readonly s: State = emptyState();
  /** The same events applied one by one, to check each grant against the state just before it (fifo rule, fit, fencing). */
  readonly mirror: State = emptyState();
  private readonly tokens = new Map<string, number>();
  now = 1_000;
  private next = 1;

  constructor(locks: readonly LockSpec[], sets: readonly Demand[][]) {
    const defs: LockDef[] = locks.map((l, i) => ({ name: `L${i}`, limit: l.limit, policy: l.policy }));
    const workflows: Workflow[] = sets.map((demands, i) => ({
      name: `D${i}`,
      instructions: [{ TYPE: 'Lock', demands, lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } }],
      jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'f' }, parallelism: 10_000 } },
    }));
    this.run({ type: 'setSlots', slots: 10_000 });
    this.run({ type: 'deploy', locks: defs, workflows });
  }

  run(cmd: Command): Event[] {
    this.now += 10;
    const d = decide(this.s, cmd, this.now);
    if (!d.ok) throw new Error(`refused ${cmd.type}: ${d.problem.message}`);
    for (const e of d.events) {
      const problems = checkEvent(this.mirror, e, this.tokens);
      if (problems.length > 0) throw new Error(`${cmd.type}: ${problems.join('; ')}`);
      evolve(this.mirror, e);
    }
    return d.events;
  }

  orders(f: (o: Order) => boolean): Order[] {
    return [...this.s.orders.values()].filter(f).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Applies one op; returns the events (empty when the op had nothing to act on). */
  apply(op: Op, setCount: number): Event[] {
    const live = this.orders((o) => o.endedAt === undefined);
    switch (op.t) {
      case 'acquire':
        return this.run({ type: 'addOrder', orderId: `o${this.next++}`, workflow: `D${op.set % setCount}`, priority: op.priority });
      case 'release': {
        const running = live.filter((o) => o.state === 'processing');
        const o = running[op.pick % Math.max(1, running.length)];
        return o?.execution ? this.run({ type: 'jobFinished', orderId: o.id, executionId: o.execution.id, outcome: { type: 'succeeded' } }) : [];
      }
      case 'cancel': {
        const o = live[op.pick % Math.max(1, live.length)];
        if (!o) return [];
        const events = this.run({ type: 'cancelOrder', orderId: o.id, kill: true });
        // A killed job reports its end: then the order leaves its lock block.
        if (o.execution) events.push(...this.run({ type: 'jobFinished', orderId: o.id, executionId: o.execution.id, outcome: { type: 'failed', reason: 'killed' } }));
        return events;
      }
      case 'priority': {
        const waiting = live.filter((o) => o.state === 'waiting');
        const o = waiting[op.pick % Math.max(1, waiting.length)];
        return o ? this.run({ type: 'changePriority', orderId: o.id, priority: op.priority }) : [];
      }
    }
  }

  /** weight ≤ limit, an exclusive holder is alone; returns the first problem. */
  safety(): string | undefined {
    for (const inst of this.s.instances.values()) {
      const limit = this.s.locks.get(inst.family)!.def.limit;
      let weight = 0;
      let exclusive = 0;
      for (const h of inst.holders.values()) {
        if (h.count === undefined) exclusive++;
        else weight += h.count;
      }
      if (weight > limit) return `${inst.name}: held weight ${weight} > limit ${limit}`;
      if (exclusive > 0 && inst.holders.size > 1) return `${inst.name}: exclusive holder not alone (${[...inst.holders.keys()].join(', ')})`;
    }
    return undefined;
  }

  /** A waiter that may be granted now by the spec but still waits. */
  missedWakeup(): string | undefined {
    for (const o of this.orders((x) => x.state === 'waiting' && x.waitingFor?.kind === 'locks')) {
      if (grantableNow(this.s, o)) return `order ${o.id} could be granted ${JSON.stringify(o.demands)} but waits`;
    }
    return undefined;
  }
}

describe('lock table properties (through decide)', () => {
  it('weight ≤ limit and an exclusive holder is alone, after every command; fifo grants go to the first in line; no grantable waiter is left waiting', () => {
    fc.assert(
      fc.property(arbWorld(), arbOps(MIXED, 80), ({ locks, sets }, ops) => {
        const t = new Table(locks, sets);
        for (const op of ops) {
          t.apply(op, sets.length);
          const bad = t.safety() ?? t.missedWakeup();
          if (bad) throw new Error(`after ${JSON.stringify(op)}: ${bad}`);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('greedy: after a release no waiter whose demands all fit stays waiting', () => {
    fc.assert(
      fc.property(arbWorld('greedy'), arbOps(MIXED, 80), ({ locks, sets }, ops) => {
        const t = new Table(locks, sets);
        for (const op of ops) {
          const events = t.apply(op, sets.length);
          if (!events.some((e) => e.type === 'OrderLocksReleased')) continue;
          for (const o of t.orders((x) => x.state === 'waiting' && x.waitingFor?.kind === 'locks')) {
            const fits = (o.demands ?? []).every((d) => fitsSpec(t.s.instances.get(d.lock), d.count, t.s.locks.get(d.family)!.def.limit));
            if (fits) throw new Error(`after ${JSON.stringify(op)}: ${o.id} fits ${JSON.stringify(o.demands)} but waits`);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('fifo: exclusive single-lock waiters are granted in (priority desc, arrival asc) order', () => {
    // A model per lock: the holder and the line. Every grant the core makes must be the one the model predicts.
    const arbLocks = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 2 });
    fc.assert(
      fc.property(arbLocks, arbOps({ acquire: 4, release: 3, cancel: 1, priority: 3 }, 100), (limits, ops) => {
        const sets: Demand[][] = limits.map((_, i) => [{ lockName: `L${i}` }]);
        const t = new Table(
          limits.map((limit) => ({ limit, policy: 'fifo' })),
          sets,
        );
        interface Waiter {
          id: string;
          priority: number;
          arrival: number;
        }
        const model = limits.map(() => ({ holder: undefined as string | undefined, line: [] as Waiter[] }));
        let arrival = 0;
        const lockOf = (id: string): number => Number(t.s.orders.get(id)!.workflow.slice(1));
        const grantNext = (m: (typeof model)[number], expected: string[]): void => {
          if (m.holder !== undefined || m.line.length === 0) return;
          m.line.sort(lineOrder);
          const w = m.line.shift()!;
          m.holder = w.id;
          expected.push(w.id);
        };
        for (const op of ops) {
          const before = new Map([...t.s.orders.values()].map((o) => [o.id, { state: o.state, priority: o.priority }]));
          const events = t.apply(op, sets.length);
          const granted = events.filter((e) => e.type === 'OrderLocksAcquired').map((e) => e.orderId);
          const expected: string[] = [];
          // Replay the op on the model.
          const added = events.find((e) => e.type === 'OrderAdded');
          if (added) {
            const m = model[lockOf(added.orderId)]!;
            const w = { id: added.orderId, priority: op.t === 'acquire' ? op.priority : 0, arrival: arrival++ };
            if (m.holder === undefined && m.line.length === 0) {
              m.holder = w.id;
              expected.push(w.id);
            } else m.line.push(w);
          }
          for (const e of events) {
            if (e.type === 'OrderPriorityChanged') {
              for (const m of model) for (const w of m.line) if (w.id === e.orderId) w.priority = e.priority;
              model.forEach((m) => grantNext(m, expected));
            } else if (e.type === 'OrderLocksReleased') {
              const m = model[lockOf(e.orderId)]!;
              if (m.holder !== e.orderId) throw new Error(`model: ${e.orderId} released a lock it does not hold`);
              m.holder = undefined;
              grantNext(m, expected);
            } else if (e.type === 'OrderCancelled' && before.get(e.orderId)?.state === 'waiting') {
              const m = model[lockOf(e.orderId)]!;
              m.line = m.line.filter((w) => w.id !== e.orderId);
              grantNext(m, expected);
            }
          }
          if (JSON.stringify(granted) !== JSON.stringify(expected)) {
            throw new Error(`after ${JSON.stringify(op)}: core granted [${granted.join(', ')}], the (priority desc, arrival asc) model expects [${expected.join(', ')}]`);
          }
          const bad = t.safety();
          if (bad) throw new Error(bad);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

// ------------------------------------------------------------------------------ WaitQueue

type QOp =
  | { t: 'add'; priority: number }
  | { t: 'remove'; pick: number }
  | { t: 'removeHead' }
  | { t: 'reprioritise'; pick: number; priority: number }
  | { t: 'removeUnknown' };

const arbQOp: fc.Arbitrary<QOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('add' as const), priority: fc.integer({ min: -2, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ t: 'removeHead' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('reprioritise' as const), pick: fc.nat(), priority: fc.integer({ min: -2, max: 2 }) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'removeUnknown' as const }) },
);

interface Entry {
  id: string;
  priority: number;
  arrival: number;
}

/** The model: a plain array kept sorted by (priority desc, arrival asc). */
function compareWithModel(q: WaitQueue, model: readonly Entry[]): void {
  const sorted = [...model].sort(lineOrder);
  const got = [...q.inOrder()].join(' ');
  const want = sorted.map((e) => e.id).join(' ');
  if (got !== want) throw new Error(`line [${got}] ≠ model [${want}]`);
  if (q.size !== model.length) throw new Error(`size ${q.size} ≠ ${model.length}`);
  const h = q.headEntry();
  const m = sorted[0];
  if (q.head() !== m?.id || h?.orderId !== m?.id || h?.priority !== m?.priority || h?.arrival !== m?.arrival) {
    throw new Error(`head ${JSON.stringify(h)} ≠ model ${JSON.stringify(m)}`);
  }
  for (const e of model) if (!q.has(e.id)) throw new Error(`has(${e.id}) is false`);
}

describe('WaitQueue against a sorted array', () => {
  it('add / remove / re-prioritise keep (priority desc, arrival asc) order', () => {
    fc.assert(
      fc.property(fc.array(arbQOp, { maxLength: 200, size: 'max' }), (ops) => {
        const q = new WaitQueue();
        let model: Entry[] = [];
        let next = 0;
        for (const op of ops) {
          if (op.t === 'add') {
            const e = { id: `q${next}`, priority: op.priority, arrival: next++ };
            q.add(e.id, e.priority, e.arrival);
            model.push(e);
          } else if (op.t === 'remove' && model.length > 0) {
            const e = model[op.pick % model.length]!;
            if (!q.remove(e.id) || q.remove(e.id)) throw new Error(`remove(${e.id}) twice: true, then false`);
            model = model.filter((x) => x.id !== e.id);
          } else if (op.t === 'removeHead' && model.length > 0) {
            const id = q.head()!;
            if (!q.remove(id)) throw new Error(`remove(head ${id}) returned false`);
            model = model.filter((x) => x.id !== id);
          } else if (op.t === 'reprioritise' && model.length > 0) {
            // As evolve does on a priority change: add again with the same arrival.
            const e = model[op.pick % model.length]!;
            e.priority = op.priority;
            q.add(e.id, e.priority, e.arrival);
          } else if (op.t === 'removeUnknown') {
            if (q.remove('nobody')) throw new Error('remove(unknown) returned true');
          }
          compareWithModel(q, model);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('stays right across compaction of long-lived buckets (thousands of heads removed)', () => {
    const q = new WaitQueue();
    let model: Entry[] = [];
    let next = 0;
    const add = (priority: number): void => {
      const e = { id: `q${next}`, priority, arrival: next++ };
      q.add(e.id, e.priority, e.arrival);
      model.push(e);
    };
    for (let i = 0; i < 3000; i++) add(i % 7 === 0 ? 1 : 0);
    for (let round = 0; round < 2500; round++) {
      const id = q.head()!;
      q.remove(id);
      model = model.filter((x) => x.id !== id);
      if (round % 3 === 0) add(0);
      if (round % 250 === 0) {
        // A priority change of someone far back, re-inserted with its old arrival.
        const e = model[model.length - 1]!;
        e.priority = e.priority === 0 ? 1 : 0;
        q.add(e.id, e.priority, e.arrival);
        compareWithModel(q, model);
      }
    }
    compareWithModel(q, model);
  });
});
