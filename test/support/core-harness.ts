// Drives the pure core directly: decide + a fake clock. For unit tests of semantics.
import { decide } from '../../src/core/decide.js';
import type { Command, Problem } from '../../src/core/commands.js';
import type { Event } from '../../src/core/events.js';
import { evolve } from '../../src/core/evolve.js';
import type { Instruction, Job, LockDef, Order, Outcome, Workflow } from '../../src/core/model.js';
import { DEFAULT_CORE_OPTIONS, emptyState, serializeState, type CoreOptions, type LockInstance, type State } from '../../src/core/state.js';

export const fn = (name = 'noop', extra: Partial<Job> = {}): Job => ({
  executable: { TYPE: 'FunctionExecutable', functionName: name },
  ...extra,
});
export const exec = (jobName: string): Instruction => ({ TYPE: 'Execute.Named', jobName });
export const lock = (demands: { lockName: string; count?: number; key?: string }[], instructions: Instruction[], waitTimeout?: number): Instruction =>
  waitTimeout === undefined
    ? { TYPE: 'Lock', demands, lockedWorkflow: { instructions } }
    : { TYPE: 'Lock', demands, lockedWorkflow: { instructions }, waitTimeout };
export const wf = (name: string, instructions: Instruction[], jobs: Record<string, Job> = { j: fn() }): Workflow => ({ name, instructions, jobs });

export class Core {
  s: State = emptyState();
  now = 1_000_000;
  journal: Event[] = [];
  /** What decide is given besides the state (the engine's CoreOptions). */
  opts: CoreOptions = DEFAULT_CORE_OPTIONS;

  constructor(slots = 100) {
    this.run({ type: 'setSlots', slots });
  }

  run(cmd: Command): Event[] {
    const d = decide(this.s, cmd, this.now, this.opts);
    if (!d.ok) throw new Error(`refused: ${d.problem.message}`);
    this.journal.push(...d.events);
    return d.events;
  }

  /** Expects a refusal and checks that it changed nothing. */
  refuse(cmd: Command): Problem {
    const before = serializeState(this.s);
    const d = decide(this.s, cmd, this.now, this.opts);
    if (d.ok) throw new Error(`expected ${cmd.type} to be refused, got ${d.events.map((e) => e.type).join(', ')}`);
    if (serializeState(this.s) !== before) throw new Error('a refused command changed the state');
    return d.problem;
  }

  deploy(locks: LockDef[], workflows: Workflow[]): Event[] {
    return this.run({ type: 'deploy', locks, workflows });
  }

  add(id: string, workflow: string, extra: { priority?: number; arguments?: Record<string, string>; scheduledFor?: number } = {}): Order {
    this.run({ type: 'addOrder', orderId: id, workflow, ...extra });
    return this.o(id);
  }

  o(id: string): Order {
    const o = this.s.orders.get(id);
    if (!o) throw new Error(`no order ${id}`);
    return o;
  }

  inst(name: string): LockInstance {
    const i = this.s.instances.get(name);
    if (!i) throw new Error(`no lock instance ${name}`);
    return i;
  }

  holders(name: string): string[] {
    return [...(this.s.instances.get(name)?.holders.keys() ?? [])].sort();
  }

  queue(name: string): string[] {
    return [...(this.s.instances.get(name)?.queue.inOrder() ?? [])];
  }

  /** Ends the order's running job. */
  finish(id: string, outcome: Outcome = { type: 'succeeded', returnCode: 0 }): Event[] {
    const o = this.o(id);
    if (o.state !== 'processing' || !o.execution) throw new Error(`order ${id} is ${o.state}, not processing`);
    return this.run({ type: 'jobFinished', orderId: id, executionId: o.execution.id, outcome });
  }

  failJob(id: string, returnCode = 1): Event[] {
    return this.finish(id, { type: 'failed', reason: 'returnCode', returnCode });
  }

  tick(ms: number): Event[] {
    this.now += ms;
    return this.run({ type: 'tick' });
  }

  /** State rebuilt from the journal alone equals the live state. */
  replayEquals(): boolean {
    const r = emptyState();
    for (const e of this.journal) evolve(r, e);
    return serializeState(r) === serializeState(this.s);
  }
}
