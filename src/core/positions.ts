// Positions are JS7-style paths: [1, "lock", 0] is the first instruction inside the lock
// block of top-level instruction 1. Branches: lock, options, try+N, catch+N (N counts retries),
// stickySubagent, then, then+N (N ≥ 2), else, fork+ID, fork (ForkList), cycle, consumeNotices.

import type { ArgumentValue, Block, IfInstr, IfThen, Instruction, Job, Position, Workflow } from './model.js';

export function samePosition(a: Position, b: Position): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `outer` is the position of an instruction whose block contains `inner`. */
export function encloses(outer: Position, inner: Position): boolean {
  if (inner.length <= outer.length) return false;
  for (let i = 0; i < outer.length; i++) if (outer[i] !== inner[i]) return false;
  return true;
}

export function branchBlock(instr: Instruction, branch: string): Block | undefined {
  switch (instr.TYPE) {
    case 'Lock':
      return branch === 'lock' ? instr.lockedWorkflow : undefined;
    case 'Options':
      return branch === 'options' ? instr.block : undefined;
    case 'Try':
      if (/^try\+\d+$/.test(branch)) return instr.try;
      if (/^catch\+\d+$/.test(branch)) return instr.catch;
      return undefined;
    case 'StickySubagent':
      return branch === 'stickySubagent' ? instr.subworkflow : undefined;
    case 'Fork':
      return branch.startsWith('fork+') ? instr.branches.find((b) => b.id === branch.slice(5))?.workflow : undefined;
    case 'ForkList':
      return branch === 'fork' ? instr.workflow : undefined;
    case 'ConsumeNotices':
      return branch === 'consumeNotices' ? instr.subworkflow : undefined;
    case 'Cycle':
      return branch === 'cycle' ? instr.cycleWorkflow : undefined;
    case 'If': {
      if (branch === 'else') return instr.else;
      const m = /^then(?:\+(\d+))?$/.exec(branch);
      if (!m || (m[1] !== undefined && Number(m[1]) < 2)) return undefined;
      return ifThens(instr)[m[1] === undefined ? 0 : Number(m[1]) - 1]?.then;
    }
    default:
      return undefined;
  }
}

/** The block holding the instruction at `pos` (undefined when the path is wrong). */
export function blockOf(wf: Workflow, pos: Position): Block | undefined {
  let block: Block = wf;
  for (let i = 0; i + 1 < pos.length; i += 2) {
    const idx = pos[i];
    const branch = pos[i + 1];
    if (typeof idx !== 'number' || typeof branch !== 'string') return undefined;
    const instr = block.instructions[idx];
    if (!instr) return undefined;
    const inner = branchBlock(instr, branch);
    if (!inner) return undefined;
    block = inner;
  }
  return block;
}

/** The instruction at `pos`; undefined at the end of a block or on a wrong path. */
export function instructionAt(wf: Workflow, pos: Position): Instruction | undefined {
  const idx = pos[pos.length - 1];
  if (typeof idx !== 'number') return undefined;
  return blockOf(wf, pos)?.instructions[idx];
}

/** Whether `pos` names an instruction or the end of an existing block. */
export function isValidPosition(wf: Workflow, pos: Position): boolean {
  if (pos.length % 2 !== 1) return false;
  const idx = pos[pos.length - 1];
  const block = blockOf(wf, pos);
  return block !== undefined && typeof idx === 'number' && Number.isInteger(idx) && idx >= 0 && idx <= block.instructions.length;
}

export function nextPosition(pos: Position): Position {
  const p = pos.slice();
  p[p.length - 1] = (p[p.length - 1] as number) + 1;
  return p;
}

export interface Ancestor {
  /** Position of the enclosing instruction. */
  at: Position;
  branch: string;
}

/** Enclosing instructions, innermost first. */
export function ancestors(pos: Position): Ancestor[] {
  const out: Ancestor[] = [];
  for (let i = pos.length - 2; i >= 1; i -= 2) {
    out.push({ at: pos.slice(0, i), branch: pos[i] as string });
  }
  return out;
}

/** Positions of the Lock instructions whose blocks enclose `pos`, outermost first. */
export function enclosingLocks(pos: Position): Position[] {
  const out: Position[] = [];
  for (let i = 1; i < pos.length; i += 2) if (pos[i] === 'lock') out.push(pos.slice(0, i));
  return out;
}

export function branchIteration(branch: string): number {
  const plus = branch.indexOf('+');
  return plus < 0 ? 0 : Number(branch.slice(plus + 1));
}

/** The job an order at `pos` runs: a named job, or one defined in place (named `@<position>`). */
export function jobAt(wf: Workflow, pos: Position): { name: string; job: Job; defaultArguments?: Record<string, ArgumentValue> } | undefined {
  const instr = instructionAt(wf, pos);
  if (instr?.TYPE === 'Execute.Named') {
    const job = wf.jobs[instr.jobName];
    if (!job) return undefined;
    return instr.defaultArguments ? { name: instr.jobName, job, defaultArguments: instr.defaultArguments } : { name: instr.jobName, job };
  }
  if (instr?.TYPE === 'Execute.Anonymous') {
    const name = `@${pos.join('/')}`;
    return instr.defaultArguments ? { name, job: instr.job, defaultArguments: instr.defaultArguments } : { name, job: instr.job };
  }
  return undefined;
}

/** The conditions of an If, in either of its forms. */
export function ifThens(instr: IfInstr): IfThen[] {
  if (instr.ifThens) return instr.ifThens;
  return instr.predicate !== undefined && instr.then ? [{ predicate: instr.predicate, then: instr.then }] : [];
}

/** The branch of the `i`-th (0-based) condition of an If: `then`, `then+2`, … */
export function thenBranch(i: number): string {
  return i === 0 ? 'then' : `then+${i + 1}`;
}

/** Position of the innermost Cycle whose block holds `pos`. */
export function innermostCycle(pos: Position): Position | undefined {
  for (let i = pos.length - 2; i >= 1; i -= 2) if (pos[i] === 'cycle') return pos.slice(0, i);
  return undefined;
}

/** A branch of a Fork (`fork+ID`) or ForkList (`fork`): what is in it is a child order's. */
export function isForkBranch(branch: string | number | undefined): boolean {
  return typeof branch === 'string' && (branch === 'fork' || branch.startsWith('fork+'));
}

/** The blocks of an instruction with their branch names (an If's conditions as `then`, `then+N`). */
export function childBlocks(i: Instruction): [string, Block][] {
  switch (i.TYPE) {
    case 'Lock':
      return [['lock', i.lockedWorkflow]];
    case 'Options':
      return [['options', i.block]];
    case 'Try':
      return [['try+0', i.try], ['catch+0', i.catch]];
    case 'StickySubagent':
      return [['stickySubagent', i.subworkflow]];
    case 'Fork':
      return i.branches.map((b) => [`fork+${b.id}`, b.workflow]);
    case 'ForkList':
      return [['fork', i.workflow]];
    case 'ConsumeNotices':
      return [['consumeNotices', i.subworkflow]];
    case 'Cycle':
      return [['cycle', i.cycleWorkflow]];
    case 'If': {
      const out: [string, Block][] = ifThens(i).map((t, n) => [thenBranch(n), t.then]);
      if (i.else) out.push(['else', i.else]);
      return out;
    }
    default:
      return [];
  }
}
