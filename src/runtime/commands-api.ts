// The write side of the library API, written once: Orderly runs these commands through the
// engine; the command line's read-only journal access (src/cli/journal-api.ts) refuses them.

import { randomUUID } from 'node:crypto';
import { invalid, type Command } from '../core/commands.js';
import type { Event } from '../core/events.js';
import type { JobResourceDef, LockDef, NoticeBoardDef, Position, Workflow } from '../core/model.js';
import type { State } from '../core/state.js';
import { readInventoryDir } from '../formats/inventory-dir.js';
import { OrderlyError } from './errors.js';

export interface AddOrder {
  workflow: string;
  /** Caller-chosen id; an id that exists is refused. Default: a random UUID. */
  id?: string;
  arguments?: Record<string, string>;
  priority?: number;
  /** Start no earlier than this (Date or ms since the epoch). */
  scheduledFor?: Date | number;
}

export interface Deployed {
  locks: string[];
  /** Job resources deployed or changed (absent when none). */
  jobResources?: string[];
  workflows: { name: string; version: number }[];
}

export abstract class CommandsApi {
  /** Runs one command; resolves with its events once durable, throws OrderlyError when refused. */
  protected abstract run(cmd: Command): Promise<Event[]>;
  /** The state the commands act on (for reading deployed locks). */
  protected abstract get currentState(): State;

  /** Deploys locks, job resources, notice boards and workflows together: all or nothing. Unchanged ones are left as they are. */
  async deploy(inv: { locks?: LockDef[]; workflows?: Workflow[]; jobResources?: JobResourceDef[]; boards?: NoticeBoardDef[] }): Promise<Deployed> {
    const cmd: Command = { type: 'deploy', locks: inv.locks ?? [], workflows: inv.workflows ?? [] };
    if (inv.jobResources !== undefined && inv.jobResources.length > 0) cmd.jobResources = inv.jobResources;
    if (inv.boards && inv.boards.length > 0) cmd.boards = inv.boards;
    const events = await this.run(cmd);
    const out: Deployed = {
      locks: events.flatMap((e) => (e.type === 'LockDeployed' ? [e.lock.name] : [])),
      workflows: events.flatMap((e) => (e.type === 'WorkflowDeployed' ? [{ name: e.workflow.name, version: e.version }] : [])),
    };
    const resources = events.flatMap((e) => (e.type === 'JobResourceDeployed' ? [e.jobResource.name] : []));
    if (resources.length > 0) out.jobResources = resources;
    return out;
  }

  /** Deploys every `*.lock.json`, `*.jobresource.json` and `*.workflow.json` below a folder (JS7 inventory format). */
  async deployDir(dir: string): Promise<Deployed> {
    const deployed = new Map<string, LockDef>();
    for (const [name, fam] of this.currentState.locks) deployed.set(name, fam.def);
    const inv = readInventoryDir(dir, { locks: deployed, jobResources: this.currentState.jobResources });
    if (inv.problems.length > 0) throw new OrderlyError(invalid(inv.problems));
    return this.deploy(inv);
  }

  async addOrder(o: AddOrder): Promise<string> {
    const id = o.id ?? randomUUID();
    const cmd: Command = { type: 'addOrder', orderId: id, workflow: o.workflow };
    if (o.arguments) cmd.arguments = o.arguments;
    if (o.priority !== undefined) cmd.priority = o.priority;
    if (o.scheduledFor !== undefined) cmd.scheduledFor = o.scheduledFor instanceof Date ? o.scheduledFor.getTime() : o.scheduledFor;
    await this.run(cmd);
    return id;
  }

  async cancelOrder(id: string, opts: { kill?: boolean } = {}): Promise<void> {
    await this.run({ type: 'cancelOrder', orderId: id, ...(opts.kill !== undefined ? { kill: opts.kill } : {}) });
  }

  async suspendOrder(id: string, opts: { reset?: boolean } = {}): Promise<void> {
    await this.run({ type: 'suspendOrder', orderId: id, ...(opts.reset !== undefined ? { reset: opts.reset } : {}) });
  }

  async resumeOrder(id: string, opts: { position?: Position; asSucceeded?: boolean } = {}): Promise<void> {
    const cmd: Command = { type: 'resumeOrder', orderId: id };
    if (opts.position !== undefined) cmd.position = opts.position;
    if (opts.asSucceeded !== undefined) cmd.asSucceeded = opts.asSucceeded;
    await this.run(cmd);
  }

  /** Confirms the Prompt the order waits at: it goes on. */
  async confirmOrder(id: string): Promise<void> {
    await this.run({ type: 'confirmOrder', orderId: id });
  }

  async changePriority(id: string, priority: number): Promise<void> {
    await this.run({ type: 'changePriority', orderId: id, priority });
  }
}
